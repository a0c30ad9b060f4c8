/* prefilter: which rules can an event possibly match?  Thousands of Sigma rules share
 * one log source (a thousand process_creation rules all want Sysmon event 1), so the
 * anchor index cannot separate them; their string conditions can.  rules.c reduces
 * each rule to a set of literals of which one must occur in a given field
 * (CommandLine contains "-encodedcommand", Image ends with "\\rundll32.exe"...).  Here
 * those literals become one Hyperscan literal database per field; scanning an
 * event's values once names the few candidate rules that are then evaluated exactly.
 *
 * Caseless literal matching is a superset of every string modifier (equality,
 * startswith, endswith, wildcards by their longest literal run), so the prefilter
 * never hides a match; it only saves evaluations. */
#include "detect_int.h"

#include <hs.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct pf_field {
    char *name;               /* event field name as rules name it */
    mm_fref f;                /* resolved (id for ECS fields) */
    hs_database_t *db;
    int **rules;              /* per pattern id: rule indexes, -1 terminated */
    int npat;
} pf_field;

struct mm_prefilter {
    pf_field *fs;
    int nfs;
    int by_id[MM_F__COUNT];   /* ECS field -> index+1 into fs */
    /* vendor and bare keys: open addressing over names */
    uint32_t *slot;
    uint32_t mask;
    int patterns;
    int raw;                  /* index+1 of the "@raw" field: keywords over the record */
    bool bare;                /* some field is a bare key (no vendor prefix) */
    uint64_t gen;             /* unique per build: scratch sized for it is reused */
};

static _Atomic uint64_t pf_gens;

static void *xcalloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz);
    if (!p) abort();
    return p;
}

static uint64_t nhash(const char *p, size_t n) { return mm_hash(p, n, 0x9e3779b9); }

static int field_find(const mm_prefilter *pf, const char *name, size_t n) {
    if (!pf->slot) return -1;
    for (uint32_t i = (uint32_t)nhash(name, n) & pf->mask;; i = (i + 1) & pf->mask) {
        uint32_t x = pf->slot[i];
        if (!x) return -1;
        const char *k = pf->fs[x - 1].name;
        if (strlen(k) == n && !memcmp(k, name, n)) return (int)x - 1;
    }
}

/* Literals collected while building: one entry per (field, literal). */
typedef struct blit {
    int field;
    const char *s;
    uint32_t len;
    int *rules;
    int nrules;
} blit;

typedef struct build {
    blit *l;
    int n, cap;
} build;

static int field_get(mm_prefilter *pf, const mm_fref *f) {
    for (int i = 0; i < pf->nfs; i++)
        if (!strcmp(pf->fs[i].name, f->name)) return i;
    pf->fs = realloc(pf->fs, (size_t)(pf->nfs + 1) * sizeof *pf->fs);
    if (!pf->fs) abort();
    pf_field *x = &pf->fs[pf->nfs];
    memset(x, 0, sizeof *x);
    x->name = strdup(f->name);
    if (!x->name) abort();
    x->f = *f;
    x->f.name = x->name;
    return pf->nfs++;
}

static void lit_put(build *b, int field, const mm_lit *l, int rule) {
    for (int i = 0; i < b->n; i++) {
        blit *x = &b->l[i];
        if (x->field == field && x->len == l->len && !memcmp(x->s, l->s, l->len)) {
            if (x->nrules && x->rules[x->nrules - 1] == rule) return;
            x->rules = realloc(x->rules, (size_t)(x->nrules + 1) * sizeof(int));
            if (!x->rules) abort();
            x->rules[x->nrules++] = rule;
            return;
        }
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->l = realloc(b->l, (size_t)b->cap * sizeof *b->l);
        if (!b->l) abort();
    }
    blit *x = &b->l[b->n++];
    x->field = field;
    x->s = l->s;
    x->len = l->len;
    x->rules = xcalloc(1, sizeof(int));
    x->rules[0] = rule;
    x->nrules = 1;
}

mm_prefilter *mm_prefilter_build(mm_rule *const *rules, const int *which, int n, mm_err *err) {
    mm_prefilter *pf = xcalloc(1, sizeof *pf);
    build b = {0};
    mm_lit *lits = xcalloc(MM_LIT_MAX, sizeof(mm_lit));
    for (int i = 0; i < n; i++) {
        int q;
        int nl = mm_rule_literals(rules[which[i]], lits, &q);
        for (int k = 0; k < nl; k++) lit_put(&b, field_get(pf, lits[k].f), &lits[k], which[i]);
    }
    free(lits);
    int rc = 0;
    for (int fi = 0; fi < pf->nfs && rc == 0; fi++) {
        int np = 0;
        for (int i = 0; i < b.n; i++) np += b.l[i].field == fi;
        const char **ex = xcalloc((size_t)np, sizeof(char *));
        unsigned *flags = xcalloc((size_t)np, sizeof(unsigned));
        unsigned *ids = xcalloc((size_t)np, sizeof(unsigned));
        size_t *lens = xcalloc((size_t)np, sizeof(size_t));
        pf_field *f = &pf->fs[fi];
        f->rules = xcalloc((size_t)np, sizeof(int *));
        int k = 0;
        for (int i = 0; i < b.n; i++) {
            if (b.l[i].field != fi) continue;
            ex[k] = b.l[i].s;
            lens[k] = b.l[i].len;
            flags[k] = HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH;
            ids[k] = (unsigned)k;
            int *rl = xcalloc((size_t)b.l[i].nrules + 1, sizeof(int));
            memcpy(rl, b.l[i].rules, (size_t)b.l[i].nrules * sizeof(int));
            rl[b.l[i].nrules] = -1;
            f->rules[k++] = rl;
        }
        f->npat = np;
        pf->patterns += np;
        hs_compile_error_t *ce = NULL;
        if (hs_compile_lit_multi(ex, flags, ids, lens, (unsigned)np, HS_MODE_BLOCK, NULL, &f->db, &ce) !=
            HS_SUCCESS) {
            mm_err_set(err, "prefilter for field %s: %s", f->name, ce && ce->message ? ce->message : "failed");
            if (ce) hs_free_compile_error(ce);
            rc = -1;
        }
        free(ex);
        free(flags);
        free(ids);
        free(lens);
    }
    for (int i = 0; i < b.n; i++) free(b.l[i].rules);
    free(b.l);
    if (rc < 0) {
        mm_prefilter_free(pf);
        return NULL;
    }
    pf->gen = ++pf_gens;
    /* lookup: ECS fields by id, vendor/bare keys by name */
    uint32_t cap = 16;
    while (cap < (uint32_t)pf->nfs * 2 + 2) cap *= 2;
    pf->slot = xcalloc(cap, sizeof(uint32_t));
    pf->mask = cap - 1;
    for (int i = 0; i < pf->nfs; i++) {
        if (!strcmp(pf->fs[i].name, MM_RAW_FIELD)) {
            pf->raw = i + 1;
            continue;
        }
        if (pf->fs[i].f.id != MM_F_NONE) {
            pf->by_id[pf->fs[i].f.id] = i + 1;
            continue;
        }
        const char *nm = pf->fs[i].name;
        if (pf->fs[i].f.raw) pf->bare = true;
        uint32_t j = (uint32_t)nhash(nm, strlen(nm)) & pf->mask;
        while (pf->slot[j]) j = (j + 1) & pf->mask;
        pf->slot[j] = (uint32_t)i + 1;
    }
    return pf;
}

void mm_prefilter_free(mm_prefilter *pf) {
    if (!pf) return;
    for (int i = 0; i < pf->nfs; i++) {
        for (int k = 0; k < pf->fs[i].npat; k++) free(pf->fs[i].rules[k]);
        free(pf->fs[i].rules);
        if (pf->fs[i].db) hs_free_database(pf->fs[i].db);
        free(pf->fs[i].name);
    }
    free(pf->fs);
    free(pf->slot);
    free(pf);
}

int mm_prefilter_patterns(const mm_prefilter *pf) { return pf ? pf->patterns : 0; }
int mm_prefilter_fields(const mm_prefilter *pf) { return pf ? pf->nfs : 0; }

void mm_prefilter_scratch_free(void *scratch) {
    if (scratch) hs_free_scratch(scratch);
}

typedef struct scan_ctx {
    const pf_field *f;
    void (*hit)(void *ctx, int rule);
    void *ctx;
} scan_ctx;

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *c) {
    (void)from, (void)to, (void)flags;
    scan_ctx *sc = c;
    for (const int *r = sc->f->rules[id]; *r >= 0; r++) sc->hit(sc->ctx, *r);
    return 0;
}

static void scan_one(const pf_field *f, hs_scratch_t *scr, mm_str v, scan_ctx *sc) {
    if (!v.len || !f->db) return;
    sc->f = f;
    hs_scan(f->db, v.p, v.len, 0, scr, on_match, sc);
}

void mm_prefilter_scan(const mm_prefilter *pf, void **scratch, uint64_t *scratch_gen, const mm_event *ev,
                       void (*hit)(void *ctx, int rule), void *ctx) {
    if (!pf || !pf->nfs) return;
    hs_scratch_t *scr = *scratch;
    if (*scratch_gen != pf->gen) {
        /* scratch must fit every database of this prefilter (a reload brings new ones) */
        for (int i = 0; i < pf->nfs; i++)
            if (pf->fs[i].db && hs_alloc_scratch(pf->fs[i].db, &scr) != HS_SUCCESS) return;
        *scratch = scr;
        *scratch_gen = pf->gen;
    }
    scan_ctx sc = {.hit = hit, .ctx = ctx};
    if (pf->raw) {
        mm_str text = ev->raw;
        const mm_value *mv = text.len ? NULL : mm_event_get(ev, MM_F_MESSAGE);
        if (mv) text = mv->s;
        scan_one(&pf->fs[pf->raw - 1], scr, text, &sc);
    }
    for (int id = 0; id < MM_F__COUNT; id++) {
        if (!pf->by_id[id] || !ev->idx[id]) continue;
        const pf_field *f = &pf->fs[pf->by_id[id] - 1];
        for (const mm_value *v = mm_event_get(ev, (mm_field)id); v; v = mm_event_next(ev, v)) scan_one(f, scr, v->s, &sc);
    }
    if (!pf->slot || !ev->nvendor) return;
    const char *pre = ev->vendor_prefix;
    size_t pl = pre ? strlen(pre) : 0;
    char name[512];
    if (pl + 2 >= sizeof name) return;
    if (pre) {
        memcpy(name, pre, pl);
        name[pl] = '.';
    }
    for (uint16_t i = 0; i < ev->nvendor; i++) {
        const mm_kv *kv = &ev->vendor[i];
        int fi = pf->bare ? field_find(pf, kv->key.p, kv->key.len) : -1;   /* bare key */
        if (fi >= 0) scan_one(&pf->fs[fi], scr, kv->val, &sc);
        if (!pre || pl + 1 + kv->key.len >= sizeof name) continue;
        memcpy(name + pl + 1, kv->key.p, kv->key.len);
        fi = field_find(pf, name, pl + 1 + kv->key.len);
        if (fi >= 0) scan_one(&pf->fs[fi], scr, kv->val, &sc);
    }
}
