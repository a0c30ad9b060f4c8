/* libFuzzer target: the SMTP analyzer (src/sensor/app_smtp.c, with mime.c and the
 * file API behind it), driven the way the sensor drives it.  The input is a list of
 * chunks: a control byte (bit 0: direction, bit 1: a gap instead of data), a length
 * byte, then the data.  Every event must be valid JSON-ish output of the builder;
 * the analyzer must survive any order of bytes, gaps and closes. */
#include "../sensor_harness.h"

static size_t emitted;

static void emit(void *ctx, const char *json, size_t len, int64_t ts) {
    if (len < 2 || json[0] != '{' || json[len - 1] != '}') abort();
    emitted += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!sh.s) {
        mm_sensor_opts o = sh_opts();
        o.flow_events = false;
        o.file_max = 1 << 20;
        sh.s = sh_sensor_make(&o, emit, NULL);
    }
    mm_flow *f = sh_flow_init(calloc(1, sizeof(mm_flow)), sh.s, "10.1.1.1", 50123, "10.2.2.2", 25, 6);
    sh_app(f, &mm_app_smtp, false);

    size_t i = 0;
    /* the probe sees the first chunk of each direction */
    mm_app_smtp.probe(f, data, size < 64 ? size : 64, data + size / 2, size - size / 2 < 64 ? size - size / 2 : 64);
    void *st = mm_app_smtp.open(f);
    if (!st) {
        free(f);
        return 0;
    }
    while (i + 2 <= size) {
        uint8_t ctl = data[i], len = data[i + 1];
        i += 2;
        int dir = ctl & 1 ? MM_S2C : MM_C2S;
        if (ctl & 2) {
            mm_app_smtp.gap(st, f, dir, (size_t)len * (ctl >> 2));
            continue;
        }
        size_t n = (size_t)len + 1;
        if (n > size - i) n = size - i;
        mm_app_smtp.data(st, f, dir, data + i, n);
        i += n;
        f->now_ns += 1000;
    }
    mm_app_smtp.close(st, f);
    free(f);
    return 0;
}
