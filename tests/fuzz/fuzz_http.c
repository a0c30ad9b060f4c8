/* libFuzzer target: the HTTP analyzer, driven like the sensor drives it.  The
 * input is a list of records: a header byte (bit 7: direction; low 7 bits: length
 * minus one, or 127 for a capture gap whose size is the next byte) then that many
 * bytes.  The first record's bytes also go to probe().  Every emitted event must
 * be valid JSON. */
#include "../sensor_harness.h"

static bool g_probed;
static void chunk(void *st, int dir, const uint8_t *c, size_t n) {
    mm_flow *f = &sh.fl.f;
    if (!c) {
        mm_app_http.gap(st, f, dir, n);
        return;
    }
    if (!g_probed) {
        mm_app_http.probe(f, dir ? NULL : c, dir ? 0 : n, dir ? c : NULL, dir ? n : 0);
        g_probed = true;
    }
    f->now_ns += 1000;
    mm_app_http.data(st, f, dir, c, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mm_flow *f = sh_fuzz_flow(80);
    f->id = 1;
    void *st = sh_app(f, &mm_app_http, true);
    if (!st) return 0;
    g_probed = false;
    sh_fuzz_chunks7(data, size, chunk, st);
    mm_app_http.close(st, f);
    return 0;
}
