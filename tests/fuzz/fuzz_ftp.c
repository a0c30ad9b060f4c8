/* libFuzzer target: the FTP control analyzer and the data-connection analyzer,
 * driven like the sensor drives them.  The input is a list of records: a header
 * byte (bit 7: direction; low 7 bits: length minus one, or 127 for a capture gap
 * whose size is the next byte) then that many bytes.  Records go to the control
 * analyzer and, when the first input byte is odd, to a data connection as well.
 * Expectations the control channel announces stay in the sensor's bounded table.
 * Every emitted event must be valid JSON. */
#include "sensor/sensor_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static mm_sensor *g_s;
static union {
    mm_flow f;
    char room[1 << 16];   /* the sensor reads its bookkeeping after mm_flow */
} g_fl, g_dl;

static void emit(void *ctx, const char *json, size_t len, int64_t ts) {
    json_error_t err;
    json_t *j = json_loadb(json, len, JSON_ALLOW_NUL, &err);
    if (!j) abort();
    json_decref(j);
}

static void flow_init(mm_flow *f, const mm_analyzer *a, uint16_t sport) {
    memset(f, 0, sizeof *f);
    f->s = g_s;
    f->id = sport;
    mm_ip_parse(mm_str_c("10.0.0.1"), &f->cli);
    mm_ip_parse(mm_str_c("10.0.0.2"), &f->srv);
    f->cport = 40000, f->sport = sport, f->proto = 6;
    f->now_ns = 1700000000LL * 1000000000LL;
    f->app = a;
    f->app_name = a->name;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_s) {
        mm_sensor_opts o;
        mm_sensor_opts_default(&o);
        mm_err err;
        if (mm_sensor_new(&g_s, &o, emit, NULL, &err) != 0) abort();
    }
    mm_flow *f = &g_fl.f, *d = &g_dl.f;
    flow_init(f, &mm_app_ftp, 21);
    flow_init(d, &mm_app_ftp_data, 30000);
    void *st = mm_app_ftp.open(f);
    void *dt = mm_app_ftp_data.open(d);
    bool with_data = size && (data[0] & 1);
    bool probed = false;
    size_t i = 0;
    while (i < size) {
        uint8_t h = data[i++];
        int dir = h >> 7;
        size_t n = (h & 0x7f) + 1u;
        if ((h & 0x7f) == 0x7f) {
            size_t g = i < size ? data[i++] : 1;
            if (st) mm_app_ftp.gap(st, f, dir, g);
            if (dt && with_data) mm_app_ftp_data.gap(dt, d, dir, g);
            continue;
        }
        if (n > size - i) n = size - i;
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, data + i, n);
        if (!probed) {
            mm_app_ftp.probe(f, dir ? NULL : c, dir ? 0 : n, dir ? c : NULL, dir ? n : 0);
            probed = true;
        }
        f->now_ns += 1000;
        d->now_ns += 1000;
        if (st) mm_app_ftp.data(st, f, dir, c, n);
        if (dt && with_data) mm_app_ftp_data.data(dt, d, dir, c, n);
        free(c);
        i += n;
    }
    if (st) mm_app_ftp.close(st, f);
    if (dt) mm_app_ftp_data.close(dt, d);
    return 0;
}
