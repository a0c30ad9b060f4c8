/* libFuzzer target: the HTTP analyzer, driven like the sensor drives it.  The
 * input is a list of records: a header byte (bit 7: direction; low 7 bits: length
 * minus one, or 127 for a capture gap whose size is the next byte) then that many
 * bytes.  The first record's bytes also go to probe().  Every emitted event must
 * be valid JSON. */
#include "sensor/sensor_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static mm_sensor *g_s;
static union {
    mm_flow f;
    char room[1 << 16];   /* the sensor reads its bookkeeping after mm_flow */
} g_fl;

static void emit(void *ctx, const char *json, size_t len, int64_t ts) {
    json_error_t err;
    json_t *j = json_loadb(json, len, JSON_ALLOW_NUL, &err);
    if (!j) abort();
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_s) {
        mm_sensor_opts o;
        mm_sensor_opts_default(&o);
        o.learn_ns = 0;
        mm_err err;
        if (mm_sensor_new(&g_s, &o, emit, NULL, &err) != 0) abort();
    }
    memset(&g_fl.f, 0, sizeof g_fl.f);
    mm_flow *f = &g_fl.f;
    f->s = g_s;
    f->id = 1;
    mm_ip_parse(mm_str_c("10.0.0.1"), &f->cli);
    mm_ip_parse(mm_str_c("10.0.0.2"), &f->srv);
    f->cport = 40000, f->sport = 80, f->proto = 6;
    f->now_ns = 1700000000LL * 1000000000LL;
    f->app = &mm_app_http;
    f->app_name = "http";
    void *st = mm_app_http.open(f);
    if (!st) return 0;
    bool probed = false;
    size_t i = 0;
    while (i < size) {
        uint8_t h = data[i++];
        int dir = h >> 7;
        size_t n = (h & 0x7f) + 1u;
        if ((h & 0x7f) == 0x7f) {
            size_t g = i < size ? data[i++] : 1;
            mm_app_http.gap(st, f, dir, g);
            continue;
        }
        if (n > size - i) n = size - i;
        uint8_t *c = malloc(n ? n : 1);   /* exact size: reads past the chunk are caught */
        memcpy(c, data + i, n);
        if (!probed) {
            mm_app_http.probe(f, dir ? NULL : c, dir ? 0 : n, dir ? c : NULL, dir ? n : 0);
            probed = true;
        }
        f->now_ns += 1000;
        mm_app_http.data(st, f, dir, c, n);
        free(c);
        i += n;
    }
    mm_app_http.close(st, f);
    return 0;
}
