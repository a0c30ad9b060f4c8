/* libFuzzer target: the correlation compiler and its windows.  The bytes are a YAML
 * document: a whole rule (its `correlation:` map is used) or the map itself.  What
 * compiles is bound, then fed hits drawn from a generator seeded by the input
 * (refs, groups, values, numbers, event times jittered around and beyond the
 * timespan, now and then at the ends of the int64 range), with a small key bound
 * so eviction runs, and swept.  Every alert must satisfy its own condition. */
#include "detect/correlate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rnd(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void check_fire(const mm_corr *c, const mm_corr_fire *f) {
    if (!mm_corr_cond_holds(c, f->value)) abort();
    if (f->first_ts > f->last_ts) abort();
    if (c->type == MM_CORR_T_VALUE_COUNT && f->distinct > MM_CORR_MAX_DISTINCT) abort();
    if (c->type == MM_CORR_T_EVENT_COUNT && f->events < 1) abort();
}

static void on_sweep(void *ctx, uint32_t idx, const char *key, size_t len, const mm_corr_fire *f) {
    check_fire(ctx, f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool quiet;
    if (!quiet) {
        mm_log_set_level(MM_LOG_ERROR);
        quiet = true;
    }
    mm_err err = {{0}};
    mm_cnode *root = mm_cnode_parse((const char *)data, size, "fuzz.yml", &err);
    if (!root) return 0;
    const mm_cnode *n = mm_cnode_get(root, "correlation");
    mm_corr *c = NULL;
    if (mm_corr_compile_file(n ? n : root, "fuzz.yml", &c, &err) < 0) {
        if (!err.msg[0]) abort();   /* a refusal always says why */
        mm_cnode_free(root);
        return 0;
    }
    mm_cnode_free(root);
    /* bind as if every ref were an id and the rules were named r0, r1... */
    const char *ids[MM_CORR_MAX_REFS], *names[MM_CORR_MAX_REFS];
    char nb[MM_CORR_MAX_REFS][8];
    for (int i = 0; i < c->nrefs; i++) {
        ids[i] = c->refs[i];
        snprintf(nb[i], sizeof nb[i], "r%d", i);
        names[i] = nb[i];
    }
    mm_corr_bind(c, ids, names, &err);   /* an unbound alias is an error; the rest stays usable */

    uint64_t x = mm_hash(data, size, 7) | 1;
    mm_corr_state *s = mm_corr_state_new((uint32_t)(rnd(&x) % 6) + 1);
    int64_t span = c->timespan_ns, t = 1700000000LL * 1000000000LL;
    for (int i = 0; i < 96; i++) {
        uint64_t r = rnd(&x);
        /* mostly dense (several hits per timespan and group), sometimes far apart */
        int64_t ts = t + (int64_t)(r % 16) * (span / 16) - span / 2;
        if (r % 23 == 0) ts -= 2 * span;
        if (r % 97 == 0) ts = INT64_MIN + (int64_t)(r % 3);
        if (r % 89 == 0) ts = INT64_MAX - (int64_t)(r % 3);
        t += (int64_t)((r >> 8) % 4) * (span / 32);
        if (r % 31 == 0) t += 3 * span;
        char g[8], v[8];
        int gl = snprintf(g, sizeof g, "g%d", (int)((r >> 16) % 3));
        snprintf(v, sizeof v, "v%d", (int)((r >> 24) % 9));
        mm_str val = (r >> 32) % 11 ? mm_str_c(v) : (mm_str){NULL, 0};
        double num = (r >> 40) % 13 ? (double)((int64_t)((r >> 44) % 4000) - 1000) : NAN;
        mm_corr_fire f;
        int rc = mm_corr_hit(s, c, (uint32_t)((r >> 48) % 2), (int)((r >> 52) % (uint64_t)c->nrefs), g,
                             (size_t)gl, val, num, ts, &f);
        if (rc < 0) abort();
        if (rc == 1) check_fire(c, &f);
        if (i == 48) {
            const mm_corr *corrs[] = {c, c};
            mm_corr_sweep(s, corrs, 2, t, on_sweep, c);
        }
    }
    mm_corr_stats st;
    mm_corr_state_stats(s, &st);
    const mm_corr *corrs[] = {c};
    mm_corr_sweep(s, corrs, 1, INT64_MAX, on_sweep, c);
    mm_corr_state_stats(s, &st);
    if (st.tracked != 0) abort();   /* index 1 is gone, index 0's windows are over */
    mm_corr_state_free(s);
    mm_corr_free(c);
    return 0;
}
