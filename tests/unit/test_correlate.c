/* Correlation rules: the compiler (every Sigma type, aliases, errors naming the
 * line) and the windows (each type fires exactly when it should and not before,
 * out-of-order hits, restart after firing, closing conditions, eviction, threads). */
#include "test.h"

#include "detect/correlate.h"

#include <math.h>
#include <pthread.h>

#define S_NS 1000000000LL
#define T0 (1763600000LL * S_NS)   /* 2025-11-20 */

static mm_err last_err;

/* Compile a correlation map; `text` may be a whole rule (its correlation key is
 * used) or the map itself. */
static mm_corr *comp(const char *text) {
    mm_err perr = {{0}};
    mm_cnode *root = mm_cnode_parse(text, strlen(text), "t.yml", &perr);
    if (!root) {
        last_err = perr;
        return NULL;
    }
    const mm_cnode *n = mm_cnode_get(root, "correlation");
    mm_corr *c = NULL;
    memset(&last_err, 0, sizeof last_err);
    if (mm_corr_compile(n ? n : root, &c, &last_err) < 0) c = NULL;
    mm_cnode_free(root);
    return c;
}

static int hit(mm_corr_state *s, const mm_corr *c, uint32_t idx, int ref, const char *key, int64_t ts,
               mm_corr_fire *f) {
    mm_corr_fire dummy;
    return mm_corr_hit(s, c, idx, ref, key, strlen(key), (mm_str){NULL, 0}, 0, ts, f ? f : &dummy);
}

static int vhit(mm_corr_state *s, const mm_corr *c, const char *key, const char *val, double num, int64_t ts,
                mm_corr_fire *f) {
    mm_corr_fire dummy;
    return mm_corr_hit(s, c, 0, 0, key, strlen(key), val ? mm_str_c(val) : (mm_str){NULL, 0}, num, ts,
                       f ? f : &dummy);
}

#define BRUTE                                                                                        \
    "correlation:\n  type: event_count\n  rules:\n    - failed_logon\n  group-by:\n    - user.name\n" \
    "  timespan: 5m\n  condition:\n    gte: 10\n"

/* ---------------------------------------------------------------- compile */

static void compile_event_count(void) {
    mm_corr *c = comp(BRUTE);
    CHECK(c);
    CHECK_INT(c->type, MM_CORR_T_EVENT_COUNT);
    CHECK_INT(c->nrefs, 1);
    CHECK_STR(c->refs[0], "failed_logon");
    CHECK_INT(c->ngroup, 1);
    CHECK_STR(c->group[0], "user.name");
    CHECK_STR(c->ref_group[0], "user.name");
    CHECK_INT(c->timespan_ns, 300 * S_NS);
    CHECK_STR(c->timespan_text, "5m");
    CHECK_INT(c->ncmp, 1);
    CHECK_INT(c->cmp[0].op, MM_CORR_GTE);
    CHECK(c->cmp[0].value == 10);
    CHECK(!c->closing);
    CHECK_INT(c->need, 10);
    CHECK_INT(c->nfields, 0);
    CHECK(!c->has_generate);
    mm_corr_free(c);
}

static void compile_forms(void) {
    /* a single rule as a string, gt, generate inside the map, no group-by */
    mm_corr *c = comp("type: event_count\nrules: one\ntimespan: 30s\ncondition: {gt: 4}\ngenerate: true\n");
    CHECK(c);
    CHECK_INT(c->nrefs, 1);
    CHECK_STR(c->refs[0], "one");
    CHECK_INT(c->ngroup, 0);
    CHECK_INT(c->need, 5);
    CHECK(c->has_generate && c->generate);
    mm_corr_free(c);
    /* value_count with field, a range (closing), several fields */
    c = comp("type: value_count\nrules: [a]\ngroup-by: [source.ip]\ntimespan: 1d\n"
             "condition:\n  field: [user.name, host.name]\n  gt: 100\n  lte: 200\n");
    CHECK(c);
    CHECK_INT(c->nfields, 2);
    CHECK_STR(c->fields[1], "host.name");
    CHECK_STR(c->ref_field[1], "host.name");
    CHECK(c->closing);
    CHECK_INT(c->ncmp, 2);
    mm_corr_free(c);
    /* temporal without condition: every rule */
    c = comp("type: temporal\nrules: [a, b, c]\ngroup-by: [host.name]\ntimespan: 5m\n");
    CHECK(c);
    CHECK_INT(c->ncmp, 1);
    CHECK_INT(c->cmp[0].op, MM_CORR_GTE);
    CHECK(c->cmp[0].value == 3);
    CHECK_INT(c->need, 3);
    mm_corr_free(c);
    /* value_avg accepts a decimal threshold */
    c = comp("type: value_avg\nrules: [a]\ntimespan: 24h\ncondition: {field: network.bytes, gt: 500.5}\n");
    CHECK(c);
    CHECK(c->cmp[0].value == 500.5);
    CHECK_INT(c->type, MM_CORR_T_VALUE_AVG);
    mm_corr_free(c);
}

/* Sigma's example: aliases resolve per referenced rule, others keep their name. */
static void compile_aliases(void) {
    mm_corr *c = comp("correlation:\n"
                      "  type: temporal\n"
                      "  rules:\n    - internal_error\n    - new_network_connection\n"
                      "  group-by:\n    - internal_ip\n    - remote_ip\n    - host.name\n"
                      "  timespan: 10s\n"
                      "  aliases:\n"
                      "    internal_ip:\n"
                      "      internal_error: destination.ip\n"
                      "      new_network_connection: source.ip\n"
                      "    remote_ip:\n"
                      "      internal_error: source.ip\n"
                      "      new_network_connection: destination.ip\n");
    CHECK(c);
    CHECK_INT(c->ngroup, 3);
    CHECK_STR(c->ref_group[0 * 3 + 0], "destination.ip");
    CHECK_STR(c->ref_group[0 * 3 + 1], "source.ip");
    CHECK_STR(c->ref_group[0 * 3 + 2], "host.name");
    CHECK_STR(c->ref_group[1 * 3 + 0], "source.ip");
    CHECK_STR(c->ref_group[1 * 3 + 1], "destination.ip");
    CHECK_STR(c->ref_group[1 * 3 + 2], "host.name");
    CHECK(mm_corr_bind(c, NULL, NULL, &last_err) == 0);
    mm_corr_free(c);
}

/* Rules listed by id, aliased by name: bound once the caller knows both. */
static void compile_bind(void) {
    mm_corr *c = comp("type: event_count\nrules: [5638f7c0, 9d1e]\ngroup-by: [ip]\ntimespan: 1m\n"
                      "condition: {gte: 2}\naliases:\n  ip:\n    fw_block: source.ip\n    web: client.ip\n");
    CHECK(c);
    CHECK_STR(c->ref_group[0], "ip");   /* not bound yet */
    uint64_t sig0 = c->sig;
    const char *ids[] = {"5638f7c0", "9d1e"};
    const char *names[] = {"fw_block", NULL};
    CHECK(mm_corr_bind(c, ids, names, &last_err) < 0);   /* "web" names no rule */
    CHECK(strstr(last_err.msg, "line 9:") != NULL);
    CHECK(strstr(last_err.msg, "'web'") != NULL);
    const char *names2[] = {"fw_block", "web"};
    CHECK(mm_corr_bind(c, ids, names2, &last_err) == 0);
    CHECK_STR(c->ref_group[0], "source.ip");
    CHECK_STR(c->ref_group[1], "client.ip");
    CHECK(c->sig != sig0);
    mm_corr_free(c);
}

static void compile_errors(void) {
    struct {
        const char *text, *want;
    } cases[] = {
        {"type: value_percentile\nrules: [a]\ntimespan: 1m\ncondition: {field: x, lte: 1}\n",
         "line 1: unsupported correlation type 'value_percentile'"},
        {"rules: [a]\ntype: nonsense\n", "line 2: unsupported correlation type 'nonsense'"},
        {"rules: [a]\ntimespan: 1m\n", "line 1: correlation needs a type"},
        {"type: event_count\ntimespan: 1m\ncondition: {gte: 2}\n", "correlation needs rules"},
        {"type: event_count\nrules: []\ntimespan: 1m\ncondition: {gte: 2}\n", "line 2: correlation rules must be"},
        {"type: event_count\nrules: [a, a]\ntimespan: 1m\ncondition: {gte: 2}\n", "'a' listed twice"},
        {"type: event_count\nrules: [a]\ncondition: {gte: 2}\n", "needs a timespan"},
        {"type: event_count\nrules: [a]\ntimespan: soon\ncondition: {gte: 2}\n", "line 3: timespan 'soon'"},
        {"type: event_count\nrules: [a]\ntimespan: 0s\ncondition: {gte: 2}\n", "timespan '0s'"},
        {"type: event_count\nrules: [a]\ntimespan: 400d\ncondition: {gte: 2}\n", "at most 366d"},
        {"type: event_count\nrules: [a]\ntimespan: 1m\n", "event_count needs a condition"},
        {"type: event_count\nrules: [a]\ntimespan: 1m\ncondition: 5\n", "condition must be a map"},
        {"type: event_count\nrules: [a]\ntimespan: 1m\ncondition:\n  between: 5\n",
         "line 5: correlation condition 'between' is not one of"},
        {"type: event_count\nrules: [a]\ntimespan: 1m\ncondition: {gte: many}\n", "gte needs a number"},
        {"type: event_count\nrules: [a]\ntimespan: 1m\ncondition: {gte: inf}\n", "gte needs a number"},
        {"type: event_count\nrules: [a]\ntimespan: 1m\ncondition: {gte: 2.5}\n", "needs a whole number"},
        {"type: event_count\nrules: [a]\ntimespan: 1m\ncondition: {field: x, gte: 2}\n",
         "condition field belongs to value_count"},
        {"type: value_count\nrules: [a]\ntimespan: 1m\ncondition: {gte: 2}\n", "value_count needs the condition's field"},
        {"type: value_count\nrules: [a]\ntimespan: 1m\ncondition: {field: x}\n", "needs a comparison"},
        {"type: value_count\nrules: [a]\ntimespan: 1m\ncondition: {field: u, gte: 5000}\n", "at most 4095"},
        {"type: value_sum\nrules: [a]\ntimespan: 1m\ncondition: {field: [a, b], gt: 1}\n", "one numeric field"},
        {"type: temporal\nrules: [a, b]\ntimespan: 1m\ncondition: {gte: 3}\n", "can never hold"},
        {"type: event_count\nrules: [a]\ntimespan: 1m\ncondition: {gte: 2}\nwindow: 5\n",
         "line 5: unknown correlation key 'window'"},
        {"type: event_count\nrules: [a]\ntimespan: 1m\ncondition: {gte: 2}\ngenerate: maybe\n", "generate must be true or false"},
        {"type: event_count\nrules: [a]\ntimespan: 1m\ncondition: {gte: 2}\naliases: [x]\n", "aliases must be a map"},
        {"type: event_count\nrules: [a]\ntimespan: 1m\ncondition: {gte: 2}\naliases:\n  ip: source.ip\n",
         "line 6: alias 'ip' must map rule names"},
        {"type: event_count\nrules: [a]\ngroup-by: {x: y}\ntimespan: 1m\ncondition: {gte: 2}\n", "group-by must be"},
        {"- a\n- b\n", "correlation must be a map"},
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(cases); i++) {
        mm_corr *c = comp(cases[i].text);
        if (c) mm_corr_free(c);
        if (c || !strstr(last_err.msg, cases[i].want)) {
            printf("  case %zu: got \"%s\", want \"%s\"\n", i, c ? "(compiled)" : last_err.msg, cases[i].want);
            CHECK(!"error case");
        }
    }
}

/* With a file name the error reads like rules.c's: file:line: why. */
static void compile_error_file(void) {
    const char *t = "title: x\ncorrelation:\n  type: value_percentile\n";
    mm_err perr;
    mm_cnode *root = mm_cnode_parse(t, strlen(t), "x.yml", &perr);
    CHECK(root);
    mm_corr *c = NULL;
    mm_err err = {{0}};
    CHECK(mm_corr_compile_file(mm_cnode_get(root, "correlation"), "rules/x.yml", &c, &err) < 0);
    CHECK_STR(err.msg, "rules/x.yml:3: unsupported correlation type 'value_percentile'");
    mm_cnode_free(root);
}

/* ---------------------------------------------------------------- event_count */

static void event_count_tenth_fires(void) {
    mm_corr *c = comp(BRUTE);
    CHECK(c);
    mm_corr_state *s = mm_corr_state_new(0);
    mm_corr_fire f;
    for (int i = 0; i < 9; i++) CHECK_INT(hit(s, c, 0, 0, "alice", T0 + i * 10 * S_NS, &f), 0);
    /* another user's events do not help alice's count */
    CHECK_INT(hit(s, c, 0, 0, "bob", T0 + 95 * S_NS, &f), 0);
    CHECK_INT(hit(s, c, 0, 0, "alice", T0 + 90 * S_NS, &f), 1);
    CHECK_INT(f.events, 10);
    CHECK(f.value == 10);
    CHECK_INT(f.first_ts, T0);
    CHECK_INT(f.last_ts, T0 + 90 * S_NS);
    mm_corr_stats st;
    mm_corr_state_stats(s, &st);
    CHECK_INT(st.tracked, 2);
    CHECK_INT(st.fired, 1);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* 40 s apart, a 5 minute window never holds more than 8. */
static void event_count_spread_out(void) {
    mm_corr *c = comp(BRUTE);
    mm_corr_state *s = mm_corr_state_new(0);
    for (int i = 0; i < 100; i++) CHECK_INT(hit(s, c, 0, 0, "alice", T0 + i * 40 * S_NS, NULL), 0);
    /* 37.5 s apart: exactly 9 intervals = 337.5 s > 5 min; 33 s apart: 297 s fires */
    mm_corr_free(c);
    c = comp(BRUTE);
    int fired = 0;
    for (int i = 0; i < 10; i++) fired += hit(s, c, 1, 0, "carol", T0 + i * 33 * S_NS, NULL);
    CHECK_INT(fired, 1);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* The window edge is inclusive: ten events exactly 5 minutes apart end to end fire. */
static void event_count_edge(void) {
    mm_corr *c = comp(BRUTE);
    mm_corr_state *s = mm_corr_state_new(0);
    int fired = 0;
    for (int i = 0; i < 9; i++) fired += hit(s, c, 0, 0, "a", T0 + i * S_NS, NULL);
    fired += hit(s, c, 0, 0, "a", T0 + 300 * S_NS, NULL);   /* first one is exactly 5m old */
    CHECK_INT(fired, 1);
    fired = 0;
    for (int i = 0; i < 9; i++) fired += hit(s, c, 0, 0, "b", T0 + i * S_NS, NULL);
    fired += hit(s, c, 0, 0, "b", T0 + 300 * S_NS + 1, NULL);   /* one ns too late */
    CHECK_INT(fired, 0);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* A sustained burst (one event per second for 20 minutes) raises one alert per
 * timespan, not one per event. */
static void event_count_restart(void) {
    mm_corr *c = comp(BRUTE);
    mm_corr_state *s = mm_corr_state_new(0);
    int fired = 0;
    int64_t when[8];
    for (int i = 0; i < 1200; i++) {
        mm_corr_fire f;
        if (hit(s, c, 0, 0, "alice", T0 + i * S_NS, &f)) {
            if (fired < 8) when[fired] = (f.last_ts - T0) / S_NS;
            fired++;
        }
    }
    CHECK_INT(fired, 4);
    CHECK_INT(when[0], 9);
    CHECK_INT(when[1], 309);
    CHECK_INT(when[2], 609);
    CHECK_INT(when[3], 909);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* Hits arrive in reverse order of their event times (two workers, two files):
 * within the window they still count. */
static void event_count_out_of_order(void) {
    mm_corr *c = comp(BRUTE);
    mm_corr_state *s = mm_corr_state_new(0);
    mm_corr_fire f;
    for (int i = 9; i >= 1; i--) CHECK_INT(hit(s, c, 0, 0, "alice", T0 + i * 20 * S_NS, &f), 0);
    CHECK_INT(hit(s, c, 0, 0, "alice", T0, &f), 1);
    CHECK_INT(f.first_ts, T0);
    CHECK_INT(f.last_ts, T0 + 180 * S_NS);
    /* a hit dated before newest - timespan is too late: dropped and counted */
    CHECK_INT(hit(s, c, 0, 0, "dave", T0 + 1000 * S_NS, &f), 0);
    CHECK_INT(hit(s, c, 0, 0, "dave", T0 + 1000 * S_NS - 301 * S_NS, &f), 0);
    mm_corr_stats st;
    mm_corr_state_stats(s, &st);
    CHECK_INT(st.late, 1);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* Two interleaved streams, each in order, together out of order, fed in small
 * batches: the count is the same as one sorted stream. */
static void event_count_interleaved_batches(void) {
    mm_corr *c = comp("type: event_count\nrules: [a]\ntimespan: 1m\ncondition: {gte: 30}\n");
    mm_corr_state *s = mm_corr_state_new(0);
    int fired = 0;
    int64_t at = 0;
    /* stream A: even seconds 0..58, stream B: odd seconds 1..59; batches of 4
     * alternate, B lagging A by one batch */
    for (int b = 0; b < 8; b++) {
        for (int k = 0; k < 4; k++) {
            int sa = (b * 4 + k) * 2;
            mm_corr_fire f;
            if (sa <= 58 && hit(s, c, 0, 0, "", T0 + sa * S_NS, &f)) fired++, at = f.events;
        }
        for (int k = 0; k < 4 && b > 0; k++) {
            int sb = ((b - 1) * 4 + k) * 2 + 1;
            mm_corr_fire f;
            if (sb <= 59 && hit(s, c, 0, 0, "", T0 + sb * S_NS, &f)) fired++, at = f.events;
        }
    }
    CHECK_INT(fired, 1);
    CHECK_INT(at, 30);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* Thresholds above MM_CORR_MAX_TIMES: exact while nothing leaves the window, and
 * never early when merged entries do. */
static void event_count_large_threshold(void) {
    mm_corr *c = comp("type: event_count\nrules: [a]\ntimespan: 10s\ncondition: {gte: 1000}\n");
    mm_corr_state *s = mm_corr_state_new(0);
    int fired = 0;
    mm_corr_fire f;
    int64_t events = 0;
    /* every 20 ms: 501 per 10 s window at most */
    for (int i = 0; i < 3000; i++) fired += hit(s, c, 0, 0, "slow", T0 + i * 20000000LL, &f);
    CHECK_INT(fired, 0);
    /* every 5 ms: the 1000th (at 4.995 s) fires */
    for (int i = 0; i < 1500; i++)
        if (hit(s, c, 0, 0, "fast", T0 + i * 5000000LL, &f)) {
            fired++;
            events = f.events;
            CHECK_INT(i, 999);
        }
    CHECK_INT(fired, 1);
    CHECK_INT(events, 1000);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* ---------------------------------------------------------------- value_count */

static void value_count_distinct(void) {
    mm_corr *c = comp("type: value_count\nrules: [failed]\ngroup-by: [source.ip]\ntimespan: 10m\n"
                      "condition: {field: user.name, gte: 3}\n");
    CHECK(c);
    mm_corr_state *s = mm_corr_state_new(0);
    mm_corr_fire f;
    for (int i = 0; i < 20; i++) CHECK_INT(vhit(s, c, "10.0.0.9", "alice", 0, T0 + i * S_NS, &f), 0);
    CHECK_INT(vhit(s, c, "10.0.0.9", "bob", 0, T0 + 30 * S_NS, &f), 0);
    CHECK_INT(vhit(s, c, "10.0.0.9", NULL, 0, T0 + 31 * S_NS, &f), 0);   /* no user: ignored */
    CHECK_INT(vhit(s, c, "10.0.0.9", "bob", 0, T0 + 32 * S_NS, &f), 0);
    CHECK_INT(vhit(s, c, "10.0.0.9", "carol", 0, T0 + 40 * S_NS, &f), 1);
    CHECK_INT(f.distinct, 3);
    CHECK(f.value == 3);
    CHECK_INT(f.events, 23);
    /* values seen longer ago than the timespan do not count */
    CHECK_INT(vhit(s, c, "10.0.0.7", "u1", 0, T0, &f), 0);
    CHECK_INT(vhit(s, c, "10.0.0.7", "u2", 0, T0 + 1 * S_NS, &f), 0);
    CHECK_INT(vhit(s, c, "10.0.0.7", "u3", 0, T0 + 601 * S_NS, &f), 0);
    CHECK_INT(vhit(s, c, "10.0.0.7", "u1", 0, T0 + 602 * S_NS, &f), 0);   /* u1 again: 2 distinct */
    CHECK_INT(vhit(s, c, "10.0.0.7", "u4", 0, T0 + 603 * S_NS, &f), 1);
    CHECK_INT(f.distinct, 3);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* A closing value_count beyond MM_CORR_MAX_DISTINCT saturates and counts overflow. */
static void value_count_overflow(void) {
    mm_corr *c = comp("type: value_count\nrules: [a]\ntimespan: 1h\ncondition: {field: u, lt: 100}\n");
    CHECK(c);
    CHECK(c->closing);
    mm_corr_state *s = mm_corr_state_new(0);
    char v[32];
    for (int i = 0; i < MM_CORR_MAX_DISTINCT + 10; i++) {
        snprintf(v, sizeof v, "user%d", i);
        CHECK_INT(vhit(s, c, "k", v, 0, T0 + i * 1000000LL, NULL), 0);
    }
    mm_corr_stats st;
    mm_corr_state_stats(s, &st);
    CHECK_INT(st.overflow, 10);
    /* closes: 4096 distinct is not < 100 */
    CHECK_INT(vhit(s, c, "k", "x", 0, T0 + 3601 * S_NS, NULL), 0);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* ---------------------------------------------------------------- temporal */

static void temporal_any_order(void) {
    mm_corr *c = comp("type: temporal\nrules: [recon_a, recon_b, recon_c]\ngroup-by: [host.name]\ntimespan: 5m\n");
    CHECK(c);
    mm_corr_state *s = mm_corr_state_new(0);
    mm_corr_fire f;
    CHECK_INT(hit(s, c, 0, 2, "pc1", T0, &f), 0);
    CHECK_INT(hit(s, c, 0, 0, "pc1", T0 + 10 * S_NS, &f), 0);
    CHECK_INT(hit(s, c, 0, 0, "pc1", T0 + 20 * S_NS, &f), 0);   /* a again: still two rules */
    CHECK_INT(hit(s, c, 0, 1, "pc2", T0 + 30 * S_NS, &f), 0);   /* other host */
    CHECK_INT(hit(s, c, 0, 1, "pc1", T0 + 40 * S_NS, &f), 1);
    CHECK(f.value == 3);
    CHECK_INT(f.first_ts, T0);
    CHECK_INT(f.last_ts, T0 + 40 * S_NS);
    /* spread over more than the timespan: a, b, then c 6 minutes after a */
    CHECK_INT(hit(s, c, 0, 0, "pc3", T0, &f), 0);
    CHECK_INT(hit(s, c, 0, 1, "pc3", T0 + 60 * S_NS, &f), 0);
    CHECK_INT(hit(s, c, 0, 2, "pc3", T0 + 360 * S_NS, &f), 0);
    /* ...until an a dated within 5 minutes of b and c arrives (late, out of order) */
    CHECK_INT(hit(s, c, 0, 0, "pc3", T0 + 100 * S_NS, &f), 1);
    CHECK_INT(f.first_ts, T0 + 60 * S_NS);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* temporal with a condition: any two of three rules. */
static void temporal_condition(void) {
    mm_corr *c = comp("type: temporal\nrules: [a, b, c]\ntimespan: 5m\ncondition: {gte: 2}\n");
    CHECK(c);
    mm_corr_state *s = mm_corr_state_new(0);
    CHECK_INT(hit(s, c, 0, 1, "", T0, NULL), 0);
    CHECK_INT(hit(s, c, 0, 1, "", T0 + S_NS, NULL), 0);
    CHECK_INT(hit(s, c, 0, 2, "", T0 + 2 * S_NS, NULL), 1);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

static void temporal_ordered_order(void) {
    mm_corr *c = comp("type: temporal_ordered\nrules: [many_failed, success]\ngroup-by: [user.name]\ntimespan: 1h\n");
    CHECK(c);
    mm_corr_state *s = mm_corr_state_new(0);
    mm_corr_fire f;
    /* wrong order: success, then failures */
    CHECK_INT(hit(s, c, 0, 1, "alice", T0, &f), 0);
    CHECK_INT(hit(s, c, 0, 0, "alice", T0 + 60 * S_NS, &f), 0);
    CHECK_INT(hit(s, c, 0, 0, "alice", T0 + 70 * S_NS, &f), 0);
    CHECK_INT(hit(s, c, 0, 0, "alice", T0 + 80 * S_NS, &f), 0);
    /* right order now: a success after the failures */
    CHECK_INT(hit(s, c, 0, 1, "alice", T0 + 120 * S_NS, &f), 1);
    CHECK(f.value == 2);
    CHECK_INT(f.first_ts, T0 + 80 * S_NS);   /* the latest failure before the success */
    CHECK_INT(f.last_ts, T0 + 120 * S_NS);
    /* by event time, not arrival: the success arrives first but happened later */
    CHECK_INT(hit(s, c, 0, 1, "bob", T0 + 50 * S_NS, &f), 0);
    CHECK_INT(hit(s, c, 0, 0, "bob", T0 + 40 * S_NS, &f), 1);
    /* and the reverse: the failure arrives last but happened after the success */
    CHECK_INT(hit(s, c, 0, 1, "carol", T0 + 40 * S_NS, &f), 0);
    CHECK_INT(hit(s, c, 0, 0, "carol", T0 + 50 * S_NS, &f), 0);
    /* too far apart */
    CHECK_INT(hit(s, c, 0, 0, "dave", T0, &f), 0);
    CHECK_INT(hit(s, c, 0, 1, "dave", T0 + 3601 * S_NS, &f), 0);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* Three steps; long runs of one step are compressed but still chain. */
static void temporal_ordered_chain(void) {
    mm_corr *c = comp("type: temporal_ordered\nrules: [a, b, c]\ntimespan: 1h\n");
    mm_corr_state *s = mm_corr_state_new(0);
    int64_t t = T0;
    CHECK_INT(hit(s, c, 0, 0, "", t, NULL), 0);            /* a at 0 */
    CHECK_INT(hit(s, c, 0, 1, "", t + 1 * S_NS, NULL), 0); /* b at 1 */
    for (int i = 0; i < 200; i++) CHECK_INT(hit(s, c, 0, 0, "", t + (2 + i) * S_NS, NULL), 0);   /* many a after */
    for (int i = 0; i < 10; i++) CHECK_INT(hit(s, c, 0, 2, "", t - (10 - i) * S_NS, NULL), 0);  /* c before a: no */
    mm_corr_fire f;
    CHECK_INT(hit(s, c, 0, 2, "", t + 300 * S_NS, &f), 1);   /* a(0) b(1) c(300) */
    CHECK(f.value == 3);
    CHECK_INT(f.first_ts, t);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* ---------------------------------------------------------------- sums */

static void value_sum_exfil(void) {
    mm_corr *c = comp("type: value_sum\nrules: [web]\ngroup-by: [source.ip]\ntimespan: 1h\n"
                      "condition: {field: source.bytes, gt: 1000000}\n");
    CHECK(c);
    mm_corr_state *s = mm_corr_state_new(0);
    mm_corr_fire f;
    for (int i = 0; i < 10; i++) CHECK_INT(vhit(s, c, "10.1.1.1", NULL, 100000, T0 + i * 60 * S_NS, &f), 0);
    CHECK_INT(vhit(s, c, "10.1.1.1", NULL, NAN, T0 + 601 * S_NS, &f), 0);   /* ignored */
    CHECK_INT(vhit(s, c, "10.1.1.1", NULL, 1, T0 + 602 * S_NS, &f), 1);
    CHECK(f.sum == 1000001);
    CHECK_INT(f.events, 11);
    /* the same volume spread over 2 hours never exceeds in one hour */
    for (int i = 0; i < 11; i++) CHECK_INT(vhit(s, c, "10.1.1.2", NULL, 100000, T0 + i * 720 * S_NS, &f), 0);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

static void value_avg(void) {
    mm_corr *c = comp("type: value_avg\nrules: [a]\ntimespan: 24h\ncondition: {field: b, gt: 500}\n");
    mm_corr_state *s = mm_corr_state_new(0);
    mm_corr_fire f;
    CHECK_INT(vhit(s, c, "h", NULL, 100, T0, &f), 0);
    CHECK_INT(vhit(s, c, "h", NULL, 400, T0 + S_NS, &f), 0);
    CHECK_INT(vhit(s, c, "h", NULL, 1000, T0 + 2 * S_NS, &f), 0);   /* avg 500: not > 500 */
    CHECK_INT(vhit(s, c, "h", NULL, 504, T0 + 3 * S_NS, &f), 1);    /* 2004 / 4 = 501 */
    CHECK(f.avg == 501);
    CHECK(f.value == 501);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* ---------------------------------------------------------------- closing */

typedef struct swept {
    int n;
    mm_corr_fire f;
    char key[64];
} swept;

static void on_sweep(void *ctx, uint32_t idx, const char *key, size_t len, const mm_corr_fire *f) {
    swept *w = ctx;
    w->n++;
    w->f = *f;
    snprintf(w->key, sizeof w->key, "%.*s", (int)len, key);
}

/* "fewer than 3 logons in 10 minutes": decided when the window is over, by the
 * next hit after it or by a sweep. */
static void closing_lt(void) {
    mm_corr *c = comp("type: event_count\nrules: [logon]\ngroup-by: [user.name]\ntimespan: 10m\ncondition: {lt: 3}\n");
    CHECK(c);
    CHECK(c->closing);
    mm_corr_state *s = mm_corr_state_new(0);
    mm_corr_fire f;
    CHECK_INT(hit(s, c, 0, 0, "rare", T0, &f), 0);
    CHECK_INT(hit(s, c, 0, 0, "rare", T0 + 60 * S_NS, &f), 0);
    /* the next hit after the window: the closed window held 2 */
    CHECK_INT(hit(s, c, 0, 0, "rare", T0 + 700 * S_NS, &f), 1);
    CHECK(f.value == 2);
    CHECK_INT(f.first_ts, T0);
    CHECK_INT(f.last_ts, T0 + 60 * S_NS);
    /* a late hit for the decided window is dropped, not counted twice */
    CHECK_INT(hit(s, c, 0, 0, "rare", T0 + 30 * S_NS, &f), 0);
    /* even where the open window [700s, 1300s] could slide back to it */
    CHECK_INT(hit(s, c, 0, 0, "rare", T0 + 590 * S_NS, &f), 0);
    /* the busy user never fires */
    for (int i = 0; i < 30; i++) CHECK_INT(hit(s, c, 0, 0, "busy", T0 + i * 60 * S_NS, &f), 0);
    /* sweep: the open windows end; "rare" holds 1 (fires), "busy" its last 0-9 hits */
    const mm_corr *corrs[] = {c};
    swept w = {0};
    CHECK_INT(mm_corr_sweep(s, corrs, 1, INT64_MAX, on_sweep, &w), 1);
    CHECK_INT(w.n, 1);
    CHECK_STR(w.key, "rare");
    CHECK(w.f.value == 1);
    mm_corr_stats st;
    mm_corr_state_stats(s, &st);
    CHECK_INT(st.tracked, 0);
    CHECK_INT(st.late, 2);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

static void closing_eq_range(void) {
    mm_corr *c = comp("type: event_count\nrules: [a]\ntimespan: 1m\ncondition: {eq: 3}\n");
    mm_corr_state *s = mm_corr_state_new(0);
    mm_corr_fire f;
    int fired = 0;
    /* window 1: 3 hits (fires when closed), window 2: 4 hits (does not) */
    for (int i = 0; i < 3; i++) fired += hit(s, c, 0, 0, "", T0 + i * S_NS, &f);
    CHECK_INT(fired, 0);
    fired += hit(s, c, 0, 0, "", T0 + 100 * S_NS, &f);
    CHECK_INT(fired, 1);
    CHECK(f.value == 3);
    for (int i = 1; i < 4; i++) fired += hit(s, c, 0, 0, "", T0 + (100 + i) * S_NS, &f);
    fired += hit(s, c, 0, 0, "", T0 + 300 * S_NS, &f);
    CHECK_INT(fired, 1);
    mm_corr_state_free(s);
    mm_corr_free(c);
    /* a range: more than 2, at most 4 */
    c = comp("type: event_count\nrules: [a]\ntimespan: 1m\ncondition: {gt: 2, lte: 4}\n");
    s = mm_corr_state_new(0);
    const mm_corr *corrs[] = {c};
    swept w = {0};
    for (int i = 0; i < 4; i++) hit(s, c, 0, 0, "x", T0 + i * S_NS, NULL);
    for (int i = 0; i < 5; i++) hit(s, c, 0, 0, "y", T0 + i * S_NS, NULL);
    CHECK_INT(mm_corr_sweep(s, corrs, 1, T0 + 30 * S_NS, on_sweep, &w), 0);   /* not over yet */
    CHECK_INT(mm_corr_sweep(s, corrs, 1, T0 + 61 * S_NS, on_sweep, &w), 1);
    CHECK_STR(w.key, "x");
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* A late hit before the window's start slides the window back when it can. */
static void closing_late_slide(void) {
    mm_corr *c = comp("type: event_count\nrules: [a]\ntimespan: 1m\ncondition: {lt: 10}\n");
    mm_corr_state *s = mm_corr_state_new(0);
    mm_corr_fire f;
    CHECK_INT(hit(s, c, 0, 0, "", T0 + 10 * S_NS, &f), 0);
    CHECK_INT(hit(s, c, 0, 0, "", T0 + 5 * S_NS, &f), 0);    /* slides to 5 */
    CHECK_INT(hit(s, c, 0, 0, "", T0 + 60 * S_NS, &f), 0);   /* inside [5, 65] */
    CHECK_INT(hit(s, c, 0, 0, "", T0 - 1 * S_NS, &f), 0);    /* would lose 60: late */
    CHECK_INT(hit(s, c, 0, 0, "", T0 + 66 * S_NS, &f), 1);   /* closes [5, 65] */
    CHECK(f.value == 3);
    CHECK_INT(f.first_ts, T0 + 5 * S_NS);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* ---------------------------------------------------------------- state */

static void eviction(void) {
    mm_corr *c = comp(BRUTE);
    mm_corr_state *s = mm_corr_state_new(4);
    char k[16];
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "u%d", i);
        hit(s, c, 0, 0, k, T0 + i * S_NS, NULL);
    }
    mm_corr_stats st;
    mm_corr_state_stats(s, &st);
    CHECK_INT(st.tracked, 4);
    CHECK_INT(st.evicted, 6);
    /* u9 was seen last: still there with its one hit; u0 was evicted and starts over */
    for (int i = 0; i < 8; i++) CHECK_INT(hit(s, c, 0, 0, "u9", T0 + 20 * S_NS, NULL), 0);
    CHECK_INT(hit(s, c, 0, 0, "u9", T0 + 20 * S_NS, NULL), 1);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

/* The same index with another version of the rule (reload) starts the group over. */
static void reload_restarts(void) {
    mm_corr *c1 = comp(BRUTE);
    mm_corr *c2 = comp("type: temporal_ordered\nrules: [a, b]\ngroup-by: [user.name]\ntimespan: 5m\n");
    mm_corr_state *s = mm_corr_state_new(0);
    for (int i = 0; i < 9; i++) hit(s, c1, 0, 0, "alice", T0 + i * S_NS, NULL);
    CHECK_INT(hit(s, c2, 0, 0, "alice", T0 + 10 * S_NS, NULL), 0);
    CHECK_INT(hit(s, c2, 0, 1, "alice", T0 + 11 * S_NS, NULL), 1);
    CHECK_INT(hit(s, c1, 0, 0, "alice", T0 + 12 * S_NS, NULL), 0);   /* 1, not 10 */
    /* a sweep without the correlation drops its groups */
    const mm_corr *none[] = {NULL};
    mm_corr_sweep(s, none, 1, T0, NULL, NULL);
    mm_corr_stats st;
    mm_corr_state_stats(s, &st);
    CHECK_INT(st.tracked, 0);
    CHECK(mm_corr_hit(s, c1, 0, 1, "x", 1, (mm_str){0}, 0, T0, NULL) == MM_EINVAL);   /* bad ref */
    mm_corr_state_free(s);
    mm_corr_free(c1);
    mm_corr_free(c2);
}

/* Very long group keys are cut but stay distinct. */
static void long_keys(void) {
    mm_corr *c = comp("type: event_count\nrules: [a]\ngroup-by: [x]\ntimespan: 1m\ncondition: {gte: 2}\n");
    mm_corr_state *s = mm_corr_state_new(0);
    char *k1 = malloc(5000), *k2 = malloc(5000);
    memset(k1, 'a', 5000);
    memset(k2, 'a', 5000);
    k2[4999] = 'b';
    mm_corr_fire f;
    CHECK_INT(mm_corr_hit(s, c, 0, 0, k1, 5000, (mm_str){0}, 0, T0, &f), 0);
    CHECK_INT(mm_corr_hit(s, c, 0, 0, k2, 5000, (mm_str){0}, 0, T0, &f), 0);
    CHECK_INT(mm_corr_hit(s, c, 0, 0, k1, 5000, (mm_str){0}, 0, T0, &f), 1);
    free(k1);
    free(k2);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

typedef struct targ {
    mm_corr_state *s;
    const mm_corr *c;
    int id, n, fired;
    int64_t events;
} targ;

static void *worker(void *p) {
    targ *a = p;
    for (int i = 0; i < a->n; i++) {
        mm_corr_fire f;
        /* both threads feed user "shared"; each also has its own users */
        int64_t ts = T0 + (int64_t)(i * 2 + a->id) * 1000000LL;
        if (mm_corr_hit(a->s, a->c, 0, 0, "shared", 6, (mm_str){0}, 0, ts, &f) == 1) {
            a->fired++;
            a->events = f.events;
        }
        char k[32];
        int kl = snprintf(k, sizeof k, "t%d-%d", a->id, i % 100);
        mm_corr_hit(a->s, a->c, 0, 0, k, (size_t)kl, (mm_str){0}, 0, ts, NULL);
    }
    return NULL;
}

/* Two workers hitting the same group: one state, one correct count. */
static void threads_same_group(void) {
    mm_corr *c = comp("type: event_count\nrules: [a]\ngroup-by: [user.name]\ntimespan: 1h\ncondition: {gte: 20000}\n");
    mm_corr_state *s = mm_corr_state_new(0);
    targ a[2] = {{s, c, 0, 10000, 0, 0}, {s, c, 1, 10000, 0, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, worker, &a[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK_INT(a[0].fired + a[1].fired, 1);
    CHECK_INT(a[0].events + a[1].events, 20000);
    mm_corr_stats st;
    mm_corr_state_stats(s, &st);
    CHECK_INT(st.tracked, 201);
    CHECK_INT(st.late, 0);
    mm_corr_state_free(s);
    mm_corr_free(c);
}

int main(void) {
    mm_log_set_level(MM_LOG_ERROR);
    TEST(compile_event_count);
    TEST(compile_forms);
    TEST(compile_aliases);
    TEST(compile_bind);
    TEST(compile_errors);
    TEST(compile_error_file);
    TEST(event_count_tenth_fires);
    TEST(event_count_spread_out);
    TEST(event_count_edge);
    TEST(event_count_restart);
    TEST(event_count_out_of_order);
    TEST(event_count_interleaved_batches);
    TEST(event_count_large_threshold);
    TEST(value_count_distinct);
    TEST(value_count_overflow);
    TEST(temporal_any_order);
    TEST(temporal_condition);
    TEST(temporal_ordered_order);
    TEST(temporal_ordered_chain);
    TEST(value_sum_exfil);
    TEST(value_avg);
    TEST(closing_lt);
    TEST(closing_eq_range);
    TEST(closing_late_slide);
    TEST(eviction);
    TEST(reload_restarts);
    TEST(long_keys);
    TEST(threads_same_group);
    TEST_MAIN_END();
}
