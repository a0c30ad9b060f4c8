/* The shared harness of the sensor's unit tests (tests/unit/test_sensor_*.c) and
 * fuzz targets (tests/fuzz/fuzz_*.c): a sensor whose events land in a list (each
 * kept raw and parsed with jansson), a flow made by hand, an analyzer fed c2s/s2c
 * bytes whole or in steps (every chunk an exact-size heap copy, so ASan sees any
 * read past it), getters of the flat dotted keys of an event, and for the fuzz
 * targets a sink that insists on one JSON object per event and the record loop
 * shared by the DNS, TLS, IRC and SSH targets.
 *
 * Include it by a relative path ("../sensor_harness.h") from either folder.  A test
 * file may define SH_MAXEV (how many events are kept; later ones are dropped)
 * before including it. */
#ifndef MM_SENSOR_HARNESS_H
#define MM_SENSOR_HARNESS_H

#include "core/core.h"
#include "sensor/sensor_int.h"

#include <jansson.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SH_MAXEV
#define SH_MAXEV 1024
#endif

#define SH_T0 (1700000000LL * 1000000000LL)   /* the hand-made flows' start */

/* ---- events ---- */

/* The events one sensor emitted, in order: raw text and the parsed object (NULL when
 * jansson refuses the text, e.g. for a \u0000; `bad` counts those, and `on_bad`
 * says what else happens). */
enum { SH_BAD_KEEP, SH_BAD_SAY /* print a FAIL line */, SH_BAD_ABORT };
typedef struct sh_events {
    char *raw[SH_MAXEV];
    json_t *ev[SH_MAXEV];
    int n;
    int bad;
    int on_bad;
} sh_events;

/* The sensor's emit callback; ctx is the sh_events. */
static inline void sh_collect(void *ctx, const char *json, size_t len, int64_t ts) {
    sh_events *e = ctx;
    json_t *j = json_loadb(json, len, 0, NULL);
    if (!j) {
        e->bad++;
        if (e->on_bad != SH_BAD_KEEP) printf("FAIL invalid JSON event: %.*s\n", (int)len, json);
        if (e->on_bad == SH_BAD_ABORT) abort();
    }
    if (e->n < SH_MAXEV) {
        e->raw[e->n] = strndup(json, len);
        e->ev[e->n++] = j;
    } else {
        json_decref(j);
    }
}

static inline void sh_events_reset(sh_events *e) {
    for (int i = 0; i < e->n; i++) json_decref(e->ev[i]), free(e->raw[i]);
    e->n = 0;
    e->bad = 0;
}

/* Getters of one event's flat keys: NULL / -1 / 0 when absent or of another type. */
static inline const char *sh_str(json_t *e, const char *k) {
    return json_string_value(json_object_get(e, k));
}
static inline long long sh_int(json_t *e, const char *k) {
    json_t *v = json_object_get(e, k);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}
static inline const char *sh_item(json_t *e, const char *k, size_t i) {
    return json_string_value(json_array_get(json_object_get(e, k), i));
}
static inline long long sh_item_int(json_t *e, const char *k, size_t i) {
    json_t *v = json_array_get(json_object_get(e, k), i);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}
static inline size_t sh_len(json_t *e, const char *k) { return json_array_size(json_object_get(e, k)); }

/* The nth (0-based) event of `e` whose event.action is `action`; how many there are;
 * the index of the first; whether any raw event holds `needle`. */
static inline json_t *sh_find_in(const sh_events *e, const char *action, int nth) {
    for (int i = 0; i < e->n; i++) {
        const char *a = sh_str(e->ev[i], "event.action");
        if (a && !strcmp(a, action) && nth-- == 0) return e->ev[i];
    }
    return NULL;
}
static inline int sh_count_in(const sh_events *e, const char *action) {
    int n = 0;
    while (sh_find_in(e, action, n)) n++;
    return n;
}
static inline int sh_index_in(const sh_events *e, const char *action) {
    for (int i = 0; i < e->n; i++) {
        const char *a = sh_str(e->ev[i], "event.action");
        if (a && !strcmp(a, action)) return i;
    }
    return -1;
}
static inline bool sh_raw_contains_in(const sh_events *e, const char *needle) {
    for (int i = 0; i < e->n; i++)
        if (e->raw[i] && strstr(e->raw[i], needle)) return true;
    return false;
}

/* ---- the sensor and the hand-made flow ---- */

/* A flow with zeroed room after it: the sensor core keeps its own data after the
 * mm_flow inside its flow entries and may read it. */
typedef union sh_flowbuf {
    mm_flow f;
    char room[1 << 16];
} sh_flowbuf;

/* The test's sensor, its events and its flow. */
static struct {
    mm_sensor *s;
    sh_events ev;
    sh_flowbuf fl;
} sh __attribute__((unused));

static inline mm_sensor_opts sh_opts(void) {
    mm_sensor_opts o;
    mm_sensor_opts_default(&o);
    return o;
}

/* A sensor emitting to `emit` (sh_collect with an sh_events, or a fuzz sink); exits
 * when it cannot be made. */
static inline mm_sensor *sh_sensor_make(const mm_sensor_opts *o, mm_sensor_emit_fn emit, void *ctx) {
    mm_sensor *s = NULL;
    mm_err err;
    if (mm_sensor_new(&s, o, emit, ctx, &err) != 0) {
        printf("mm_sensor_new: %s\n", err.msg);
        abort();
    }
    return s;
}

/* A fresh test sensor (o NULL: the defaults), its event list emptied. */
static inline mm_sensor *sh_sensor_new(const mm_sensor_opts *o) {
    sh_events_reset(&sh.ev);
    if (sh.s) mm_sensor_free(sh.s);
    mm_sensor_opts d = sh_opts();
    sh.s = sh_sensor_make(o ? o : &d, sh_collect, &sh.ev);
    return sh.s;
}
static inline void sh_sensor_free(void) {
    sh_events_reset(&sh.ev);
    if (sh.s) mm_sensor_free(sh.s);
    sh.s = NULL;
}
static inline uint64_t sh_app_errors(void) {
    mm_sensor_stats st;
    mm_sensor_stats_get(sh.s, &st);
    return st.app_errors;
}

/* The test sensor's events. */
static inline int sh_nev(void) { return sh.ev.n; }
static inline json_t *sh_ev(int i) { return i >= 0 && i < sh.ev.n ? sh.ev.ev[i] : NULL; }
static inline const char *sh_raw(int i) { return i >= 0 && i < sh.ev.n ? sh.ev.raw[i] : NULL; }
static inline json_t *sh_find(const char *action, int nth) { return sh_find_in(&sh.ev, action, nth); }
static inline int sh_count(const char *action) { return sh_count_in(&sh.ev, action); }
static inline int sh_index_of(const char *action) { return sh_index_in(&sh.ev, action); }
static inline bool sh_raw_contains(const char *needle) { return sh_raw_contains_in(&sh.ev, needle); }

/* Fill *f (zeroed first) as a flow of sensor s from cli:cport to srv:sport,
 * starting at SH_T0. */
static inline mm_flow *sh_flow_init(mm_flow *f, mm_sensor *s, const char *cli, uint16_t cport, const char *srv,
                                    uint16_t sport, uint8_t proto) {
    memset(f, 0, sizeof *f);
    f->s = s;
    mm_ip_parse(mm_str_c(cli), &f->cli);
    mm_ip_parse(mm_str_c(srv), &f->srv);
    f->cport = cport;
    f->sport = sport;
    f->proto = proto;
    f->first_ns = f->now_ns = SH_T0;
    return f;
}

/* The harness's flow (all of its room zeroed) on the test sensor. */
static inline mm_flow *sh_flow(const char *cli, uint16_t cport, const char *srv, uint16_t sport, uint8_t proto) {
    memset(&sh.fl, 0, sizeof sh.fl);
    return sh_flow_init(&sh.fl.f, sh.s, cli, cport, srv, sport, proto);
}

/* Set the flow's analyzer; open it too when `open` (the state lands in f->app_state
 * and is returned). */
static inline void *sh_app(mm_flow *f, const mm_analyzer *a, bool open) {
    f->app = a;
    f->app_name = a->name;
    if (open) f->app_state = a->open(f);
    return f->app_state;
}

/* The capture at `path` through sensor s, then mm_sensor_finish; false (the reason
 * in eb, PCAP_ERRBUF_SIZE bytes) when it cannot be opened. */
static inline bool sh_pcap(mm_sensor *s, const char *path, char *eb) {
    pcap_t *p = pcap_open_offline(path, eb);
    if (!p) return false;
    struct pcap_pkthdr *h;
    const u_char *d;
    int lt = pcap_datalink(p);
    while (pcap_next_ex(p, &h, &d) == 1)
        mm_sensor_packet(s, lt, (int64_t)h->ts.tv_sec * 1000000000LL + (int64_t)h->ts.tv_usec * 1000, d, h->caplen,
                         h->len);
    mm_sensor_finish(s);
    pcap_close(p);
    return true;
}

/* A fresh test sensor (o NULL: the defaults) fed the capture <corpora>/pcap/<rel>;
 * false when it cannot be opened (said as "SKIP rel: why" when `say_skip`). */
static inline bool sh_sensor_pcap(const char *corpora, const char *rel, const mm_sensor_opts *o, bool say_skip) {
    char path[1024], eb[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/pcap/%s", corpora, rel);
    sh_sensor_new(o);
    if (sh_pcap(sh.s, path, eb)) return true;
    if (say_skip) printf("SKIP %s: %s\n", rel, eb);
    return false;
}

/* ---- feeding an analyzer ---- */

/* n bytes to analyzer a (state st) in one direction, `step` bytes at a time (0: in
 * one call, even an empty one), each chunk an exact-size heap copy. */
static inline void sh_feed(const mm_analyzer *a, void *st, mm_flow *f, int dir, const void *p, size_t n,
                           size_t step) {
    const uint8_t *b = p;
    size_t i = 0;
    do {   /* step 0: one call, even with no bytes */
        size_t k = step && n - i > step ? step : n - i;
        if (step && !k) break;
        uint8_t *c = malloc(k ? k : 1);
        if (k) memcpy(c, b + i, k);
        a->data(st, f, dir, c, k);
        free(c);
        i += k;
    } while (i < n);
}
/* The same through the flow's own analyzer and state, `step` bytes at a time. */
static inline void sh_send(mm_flow *f, int dir, const char *s, size_t step) {
    sh_feed(f->app, f->app_state, f, dir, s, strlen(s), step);
}

/* A script: steps of bytes in one direction each, ended by SH_END. */
typedef struct sh_step {
    int dir;
    const char *s;
    size_t n;   /* 0: strlen */
} sh_step;
#define SH_C(x) {MM_C2S, x, 0}
#define SH_S(x) {MM_S2C, x, 0}
#define SH_END {-1, NULL, 0}

/* Each step (empty ones skipped) to the flow's analyzer, `step` bytes at a time
 * (0: each step whole). */
static inline void sh_run(mm_flow *f, const sh_step *script, size_t step) {
    for (int i = 0; script[i].dir >= 0; i++) {
        size_t n = script[i].n ? script[i].n : strlen(script[i].s);
        if (n) sh_feed(f->app, f->app_state, f, script[i].dir, script[i].s, n, step);
    }
}

/* ---- fuzz targets ---- */

static size_t sh_fuzz_events __attribute__((unused));

/* Every event must be one valid JSON object, whatever the input held. */
static inline void sh_fuzz_sink(void *ctx, const char *json, size_t len, int64_t ts) {
    if (!len || json[0] != '{' || json[len - 1] != '}') abort();
    json_t *j = json_loadb(json, len, JSON_ALLOW_NUL, NULL);
    if (!j || !json_is_object(j)) abort();
    json_decref(j);
    sh_fuzz_events++;
}

/* The harness's flow from 10.0.0.1:40000 to 10.0.0.2:sport over TCP, on a sensor
 * made once with no learning period whose events go to sh_fuzz_sink. */
static inline mm_flow *sh_fuzz_flow(uint16_t sport) {
    if (!sh.s) {
        mm_sensor_opts o = sh_opts();
        o.learn_ns = 0;
        sh.s = sh_sensor_make(&o, sh_fuzz_sink, NULL);
    }
    return sh_flow("10.0.0.1", 40000, "10.0.0.2", sport, IPPROTO_TCP);
}

/* Analyzer a on flow f driven as the sensor drives it by a list of records: a
 * control byte (bit 0: direction, 1 = server to client; bit 1: a gap of `len` bytes
 * instead of data), a 2-byte big-endian length, then the bytes.  The probe sees the
 * first bytes of each direction; then open, the records a millisecond apart, close. */
static inline void sh_fuzz_records(const mm_analyzer *a, mm_flow *f, const uint8_t *data, size_t size) {
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

    if (!sh_app(f, a, true)) return;
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
        f->pkts[ctl & 1]++;
        f->bytes[ctl & 1] += len + 40;
        sh_feed(a, f->app_state, f, ctl & 1, data + i, len, 0);
        i += len;
    }
    a->close(f->app_state, f);
}

/* The HTTP / FTP targets' records: a header byte (bit 7: direction; low 7 bits:
 * length minus one, or 127 for a capture gap whose size is the next byte) then that
 * many bytes.  Calls fn with each chunk (an exact-size heap copy), or with p NULL and
 * the gap's size. */
typedef void (*sh_chunk_fn)(void *ctx, int dir, const uint8_t *p, size_t n);
static inline void sh_fuzz_chunks7(const uint8_t *data, size_t size, sh_chunk_fn fn, void *ctx) {
    size_t i = 0;
    while (i < size) {
        uint8_t h = data[i++];
        int dir = h >> 7;
        size_t n = (h & 0x7f) + 1u;
        if ((h & 0x7f) == 0x7f) {
            fn(ctx, dir, NULL, i < size ? data[i++] : 1);
            continue;
        }
        if (n > size - i) n = size - i;
        uint8_t *c = malloc(n ? n : 1);   /* exact size: reads past the chunk are caught */
        memcpy(c, data + i, n);
        fn(ctx, dir, c, n);
        free(c);
        i += n;
    }
}

#endif
