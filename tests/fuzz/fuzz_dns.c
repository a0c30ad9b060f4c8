/* libFuzzer target: the DNS analyzer (src/sensor/app_dns.c) driven as the sensor
 * drives it.  The input is a list of records: a control byte (bit 0: direction,
 * 1 = server to client; bit 1: a gap of `len` bytes instead of data; the first
 * record's bit 2 makes the flow UDP, one datagram per record), a 2-byte big-endian
 * length, then the bytes.  The probe sees the first bytes of each direction; every
 * event emitted must be one valid JSON object. */
#include "core/core.h"
#include "sensor/sensor_int.h"

#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static void emit(void *ctx, const char *json, size_t len, int64_t ts) {
    json_t *j = json_loadb(json, len, JSON_ALLOW_NUL, NULL);
    if (!j || !json_is_object(j)) abort();
    json_decref(j);
}

/* The sensor core keeps its own data after the mm_flow inside its flow entries and
 * may read it; a zeroed block larger than that keeps a hand-made flow safe. */
static union {
    mm_flow f;
    char pad[8192];
} g_fl;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static mm_sensor *s;
    if (!s) {
        mm_sensor_opts o;
        mm_sensor_opts_default(&o);
        o.learn_ns = 0;
        mm_err err;
        if (mm_sensor_new(&s, &o, emit, NULL, &err) != 0) abort();
    }
    const mm_analyzer *a = &mm_app_dns;
    memset(&g_fl, 0, sizeof g_fl);
    mm_flow *f = &g_fl.f;
    f->s = s;
    mm_ip_parse(MM_STR("10.0.0.1"), &f->cli);
    mm_ip_parse(MM_STR("10.0.0.2"), &f->srv);
    f->cport = 40000;
    f->sport = 53;
    f->proto = IPPROTO_TCP;
    f->first_ns = f->now_ns = 1700000000LL * 1000000000LL;
    if (size && (data[0] & 4)) f->proto = IPPROTO_UDP;
    /* the probe, on the first chunk of each direction */
    const uint8_t *first[2] = {NULL, NULL};
    size_t nfirst[2] = {0, 0};
    for (size_t i = 0; i + 3 <= size;) {
        size_t len = (size_t)data[i + 1] << 8 | data[i + 2];
        int dir = data[i] & 1;
        i += 3;
        if (len > size - i) len = size - i;
        if (!(data[i - 3] & 2) && !first[dir]) first[dir] = data + i, nfirst[dir] = len;
        if (!(data[i - 3] & 2)) i += len;
    }
    int r = a->probe(f, first[0], nfirst[0], first[1], nfirst[1]);
    if (r != MM_PROBE_NO && r != MM_PROBE_MAYBE && r != MM_PROBE_YES) abort();

    f->app = a;
    f->app_name = a->name;
    f->app_state = a->open(f);
    if (!f->app_state) return 0;
    for (size_t i = 0; i + 3 <= size;) {
        uint8_t ctl = data[i];
        size_t len = (size_t)data[i + 1] << 8 | data[i + 2];
        i += 3;
        f->now_ns += 1000000;   /* a millisecond per chunk */
        if (ctl & 2) {
            if (a->gap) a->gap(f->app_state, f, ctl & 1, len);
            continue;
        }
        if (len > size - i) len = size - i;
        /* exact-size copy: ASan sees any read past the chunk */
        uint8_t *p = malloc(len ? len : 1);
        if (len) memcpy(p, data + i, len);
        f->pkts[ctl & 1]++;
        f->bytes[ctl & 1] += len + 40;
        a->data(f->app_state, f, ctl & 1, p, len);
        free(p);
        i += len;
    }
    a->close(f->app_state, f);
    return 0;
}
