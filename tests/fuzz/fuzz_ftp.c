/* libFuzzer target: the FTP control analyzer and the data-connection analyzer,
 * driven like the sensor drives them.  The input is a list of records: a header
 * byte (bit 7: direction; low 7 bits: length minus one, or 127 for a capture gap
 * whose size is the next byte) then that many bytes.  Records go to the control
 * analyzer and, when the first input byte is odd, to a data connection as well.
 * Expectations the control channel announces stay in the sensor's bounded table.
 * Every emitted event must be valid JSON. */
#include "../sensor_harness.h"

static sh_flowbuf g_dl;   /* the data connection */
static void *g_st, *g_dt;
static bool g_with_data, g_probed;

static void chunk(void *ctx, int dir, const uint8_t *c, size_t n) {
    mm_flow *f = &sh.fl.f, *d = &g_dl.f;
    if (!c) {
        if (g_st) mm_app_ftp.gap(g_st, f, dir, n);
        if (g_dt && g_with_data) mm_app_ftp_data.gap(g_dt, d, dir, n);
        return;
    }
    if (!g_probed) {
        mm_app_ftp.probe(f, dir ? NULL : c, dir ? 0 : n, dir ? c : NULL, dir ? n : 0);
        g_probed = true;
    }
    f->now_ns += 1000;
    d->now_ns += 1000;
    if (g_st) mm_app_ftp.data(g_st, f, dir, c, n);
    if (g_dt && g_with_data) mm_app_ftp_data.data(g_dt, d, dir, c, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!sh.s) {
        mm_sensor_opts o = sh_opts();
        sh.s = sh_sensor_make(&o, sh_fuzz_sink, NULL);
    }
    mm_flow *f = sh_flow("10.0.0.1", 40000, "10.0.0.2", 21, 6);
    mm_flow *d = sh_flow_init(&g_dl.f, sh.s, "10.0.0.1", 40000, "10.0.0.2", 30000, 6);
    f->id = 21, d->id = 30000;
    g_st = sh_app(f, &mm_app_ftp, true);
    g_dt = sh_app(d, &mm_app_ftp_data, true);
    g_with_data = size && (data[0] & 1);
    g_probed = false;
    sh_fuzz_chunks7(data, size, chunk, NULL);
    if (g_st) mm_app_ftp.close(g_st, f);
    if (g_dt) mm_app_ftp_data.close(g_dt, d);
    return 0;
}
