/* prefilter: which rules can an event possibly match?  Thousands of Sigma rules share
 * one log source (a thousand process_creation rules all want Sysmon event 1), so the
 * anchor index cannot separate them; their string conditions can.  rules.c reduces
 * each rule to a set of (field, literal) of which one must occur for the rule to
 * match (CommandLine contains "-encodedcommand", Image ends with "\\rundll32.exe"...).
 *
 * Here every literal of every rule goes into one Hyperscan literal database.  Per
 * event, the values of the fields some rule names are laid end to end in one buffer
 * (remembering which field each segment is) and scanned once; a match counts for a
 * rule only when it lies inside a segment of the field the rule named.  One scan
 * per event instead of one per field: Hyperscan's per-call cost dominated on short
 * values.
 *
 * Caseless literal matching is a superset of every string modifier (equality,
 * startswith, endswith, wildcards by their longest literal run, regular expressions
 * by a literal they require), so the prefilter never hides a match; it only saves
 * evaluations. */
#include "detect_int.h"

#include <hs.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct pf_field {
    char *name;               /* event field name as rules name it */
    mm_fref f;                /* resolved (id for ECS fields) */
    const char *key;          /* vendor fields: the key after the prefix (in name) */
    uint32_t keylen;
    const char *prefix;       /* vendor fields: the prefix (a copy), NULL for bare keys */
    uint32_t prefixlen;
} pf_field;

/* A literal (pattern id) and where it counts: rules[k] when found in field[k]. */
typedef struct pf_lit {
    uint32_t len;
    int n;
    int *field;
    int **rules;              /* each -1 terminated */
} pf_lit;

struct mm_prefilter {
    pf_field *fs;
    int nfs;
    pf_lit *lits;
    int nlits;
    hs_database_t *db;        /* literals of fields */
    hs_database_t *rawdb;     /* literals of keywords (the whole record) */
    int by_id[MM_F__COUNT];   /* ECS field -> index+1 into fs */
    uint32_t *slot;           /* vendor and bare keys by key, open addressing */
    uint32_t mask;
    int raw;                  /* index+1 of the "@raw" field: keywords over the record */
    uint64_t gen;             /* unique per build: scratch sized for it is reused */
};

static _Atomic uint64_t pf_gens;

static uint64_t khash(const char *p, size_t n) { return mm_hash(p, n, 0x9e3779b9); }

/* Every field of vendor key `key` in an event whose vendor prefix is `prefix` (NULL:
 * none): the prefixed one and a bare one may both exist.  Hashes the key only; the
 * prefix is compared on a hit. */
static void fields_of_key(const mm_prefilter *pf, const char *prefix, size_t pl, const char *key, size_t n,
                          void (*fn)(void *ctx, int field), void *ctx) {
    for (uint32_t i = (uint32_t)khash(key, n) & pf->mask;; i = (i + 1) & pf->mask) {
        uint32_t x = pf->slot[i];
        if (!x) return;
        const pf_field *f = &pf->fs[x - 1];
        if (f->keylen != n || memcmp(f->key, key, n) != 0) continue;
        if (!f->prefix || (prefix && f->prefixlen == pl && !memcmp(f->prefix, prefix, pl))) fn(ctx, (int)x - 1);
    }
}

static int field_get(mm_prefilter *pf, const mm_fref *f) {
    for (int i = 0; i < pf->nfs; i++)
        if (!strcmp(pf->fs[i].name, f->name)) return i;
    pf->fs = mm_xrealloc(pf->fs, (size_t)(pf->nfs + 1) * sizeof *pf->fs);
    pf_field *x = &pf->fs[pf->nfs];
    memset(x, 0, sizeof *x);
    x->name = strdup(f->name);
    if (!x->name) abort();
    x->f = *f;
    x->f.name = x->name;
    if (f->id == MM_F_NONE && strcmp(f->name, MM_RAW_FIELD) != 0) {
        size_t nl = strlen(x->name);
        size_t split = f->raw ? 0 : f->vsplit;
        x->key = x->name + (split ? split + 1 : 0);
        x->keylen = (uint32_t)(nl - (size_t)(x->key - x->name));
        if (split) {
            x->prefix = x->name;
            x->prefixlen = (uint32_t)split;
        }
    }
    return pf->nfs++;
}

/* Build-time list of literals, caseless-unique, each with its (field, rules). */
typedef struct blit {
    char *s;                  /* lower-cased */
    uint32_t len;
    int n;
    int *field;
    int **rules;
    int *nrules;
} blit;

/* The literal's index, or -(free slot)-1. */
static int blit_find(const blit *b, const char *s, uint32_t len, uint64_t h, const uint32_t *slot, uint32_t mask) {
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        if (!slot[i]) return -(int)i - 1;
        const blit *x = &b[slot[i] - 1];
        if (x->len == len && !memcmp(x->s, s, len)) return (int)slot[i] - 1;
    }
}

mm_prefilter *mm_prefilter_build(mm_rule *const *rules, const int *which, int n, mm_err *err) {
    mm_prefilter *pf = mm_xcalloc(1, sizeof *pf);
    mm_lit *lits = mm_xcalloc(MM_LIT_MAX, sizeof(mm_lit));
    blit *bl = NULL;
    int nbl = 0, capbl = 0;
    uint32_t smask = (1u << 16) - 1, *sl = mm_xcalloc(smask + 1, sizeof(uint32_t));
    char *low = NULL;
    size_t lowcap = 0;
    for (int i = 0; i < n; i++) {
        int q;
        int nl = mm_rule_literals(rules[which[i]], lits, &q);
        for (int k = 0; k < nl; k++) {
            if (lits[k].len + 1 > lowcap) {
                lowcap = lits[k].len + 1;
                low = mm_xrealloc(low, lowcap);
            }
            for (uint32_t c = 0; c < lits[k].len; c++) {
                char ch = lits[k].s[c];
                low[c] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
            }
            int field = field_get(pf, lits[k].f);
            int at = blit_find(bl, low, lits[k].len, khash(low, lits[k].len), sl, smask);
            if (at < 0) {
                if ((uint32_t)nbl * 2 >= smask) {   /* grow the set: rebuild its slots */
                    smask = smask * 2 + 1;
                    free(sl);
                    sl = mm_xcalloc(smask + 1, sizeof(uint32_t));
                    for (int j = 0; j < nbl; j++) {
                        int p = blit_find(bl, bl[j].s, bl[j].len, khash(bl[j].s, bl[j].len), sl, smask);
                        sl[-p - 1] = (uint32_t)j + 1;
                    }
                    at = blit_find(bl, low, lits[k].len, khash(low, lits[k].len), sl, smask);
                }
                if (nbl == capbl) {
                    capbl = capbl ? capbl * 2 : 1024;
                    bl = mm_xrealloc(bl, (size_t)capbl * sizeof *bl);
                }
                sl[-at - 1] = (uint32_t)nbl + 1;
                blit *x = &bl[nbl];
                memset(x, 0, sizeof *x);
                x->s = mm_xcalloc(lits[k].len + 1, 1);
                memcpy(x->s, low, lits[k].len);
                x->len = lits[k].len;
                at = nbl++;
            }
            blit *x = &bl[at];
            int fi = -1;
            for (int j = 0; j < x->n; j++)
                if (x->field[j] == field) fi = j;
            if (fi < 0) {
                x->field = mm_xrealloc(x->field, (size_t)(x->n + 1) * sizeof(int));
                x->rules = mm_xrealloc(x->rules, (size_t)(x->n + 1) * sizeof(int *));
                x->nrules = mm_xrealloc(x->nrules, (size_t)(x->n + 1) * sizeof(int));
                x->field[x->n] = field;
                x->rules[x->n] = NULL;
                x->nrules[x->n] = 0;
                fi = x->n++;
            }
            int *nr = &x->nrules[fi];
            if (*nr && x->rules[fi][*nr - 1] == which[i]) continue;
            x->rules[fi] = mm_xrealloc(x->rules[fi], (size_t)(*nr + 2) * sizeof(int));
            x->rules[fi][(*nr)++] = which[i];
            x->rules[fi][*nr] = -1;
        }
    }
    free(lits);
    free(low);
    free(sl);
    /* two databases: the fields' literals, scanned over the event's values laid end
     * to end, and the keywords', scanned over the record and every vendor value */
    int rc = 0, rawf = -1;
    for (int i = 0; i < pf->nfs; i++)
        if (!strcmp(pf->fs[i].name, MM_RAW_FIELD)) rawf = i;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        const char **ex = mm_xcalloc((size_t)nbl, sizeof(char *));
        unsigned *flags = mm_xcalloc((size_t)nbl, sizeof(unsigned)), *ids = mm_xcalloc((size_t)nbl, sizeof(unsigned));
        size_t *lens = mm_xcalloc((size_t)nbl, sizeof(size_t));
        unsigned m = 0;
        for (int i = 0; i < nbl; i++) {
            bool in_raw = false, in_fields = false;
            for (int k = 0; k < bl[i].n; k++) {
                if (bl[i].field[k] == rawf) in_raw = true;
                else in_fields = true;
            }
            if (pass == 0 ? !in_fields : !in_raw) continue;
            ex[m] = bl[i].s;
            lens[m] = bl[i].len;
            /* keywords: one field, and a literal spanning two texts is only a false
             * candidate, so the first occurrence is enough */
            flags[m] = HS_FLAG_CASELESS | (pass == 1 ? HS_FLAG_SINGLEMATCH : 0);
            ids[m++] = (unsigned)i;
        }
        hs_compile_error_t *ce = NULL;
        if (m && hs_compile_lit_multi(ex, flags, ids, lens, m, HS_MODE_BLOCK, NULL, pass ? &pf->rawdb : &pf->db,
                                      &ce) != HS_SUCCESS) {
            mm_err_set(err, "prefilter: %s", ce && ce->message ? ce->message : "Hyperscan compile failed");
            if (ce) hs_free_compile_error(ce);
            rc = -1;
        }
        free(ex);
        free(flags);
        free(ids);
        free(lens);
    }
    pf->lits = mm_xcalloc((size_t)nbl, sizeof(pf_lit));
    pf->nlits = nbl;
    for (int i = 0; i < nbl; i++) {
        pf->lits[i] = (pf_lit){bl[i].len, bl[i].n, bl[i].field, bl[i].rules};
        free(bl[i].s);
        free(bl[i].nrules);
    }
    free(bl);
    if (rc < 0) {
        mm_prefilter_free(pf);
        return NULL;
    }
    pf->gen = ++pf_gens;
    /* lookup: ECS fields by id, the record, vendor/bare keys by key */
    uint32_t cap = 16;
    while (cap < (uint32_t)pf->nfs * 2 + 2) cap *= 2;
    pf->slot = mm_xcalloc(cap, sizeof(uint32_t));
    pf->mask = cap - 1;
    for (int i = 0; i < pf->nfs; i++) {
        pf_field *f = &pf->fs[i];
        if (!strcmp(f->name, MM_RAW_FIELD)) pf->raw = i + 1;
        else if (f->f.id != MM_F_NONE) pf->by_id[f->f.id] = i + 1;
        else {
            uint32_t j = (uint32_t)khash(f->key, f->keylen) & pf->mask;
            while (pf->slot[j]) j = (j + 1) & pf->mask;
            pf->slot[j] = (uint32_t)i + 1;
        }
    }
    return pf;
}

void mm_prefilter_free(mm_prefilter *pf) {
    if (!pf) return;
    for (int i = 0; i < pf->nlits; i++) {
        for (int k = 0; k < pf->lits[i].n; k++) free(pf->lits[i].rules[k]);
        free(pf->lits[i].rules);
        free(pf->lits[i].field);
    }
    free(pf->lits);
    if (pf->db) hs_free_database(pf->db);
    if (pf->rawdb) hs_free_database(pf->rawdb);
    for (int i = 0; i < pf->nfs; i++) free(pf->fs[i].name);
    free(pf->fs);
    free(pf->slot);
    free(pf);
}


/* A worker's scan state: Hyperscan scratch, and the buffer of one event's values. */
typedef struct seg {
    uint32_t start, end;
    int field;
} seg;

typedef struct pf_scratch {
    hs_scratch_t *hs;
    char *buf;
    uint32_t len, cap;
    seg *segs;
    int nseg, capseg;
} pf_scratch;

void mm_prefilter_scratch_free(void *scratch) {
    pf_scratch *s = scratch;
    if (!s) return;
    if (s->hs) hs_free_scratch(s->hs);
    free(s->buf);
    free(s->segs);
    free(s);
}

static void put_value(pf_scratch *s, int field, mm_str v) {
    if (!v.len) return;
    if ((uint64_t)s->len + v.len + 1 > UINT32_MAX) return;
    if (s->len + v.len + 1 > s->cap) {
        s->cap = (s->len + v.len + 1) * 2;
        s->buf = mm_xrealloc(s->buf, s->cap);
    }
    if (s->nseg == s->capseg) {
        s->capseg = s->capseg ? s->capseg * 2 : 64;
        s->segs = mm_xrealloc(s->segs, (size_t)s->capseg * sizeof(seg));
    }
    s->segs[s->nseg++] = (seg){s->len, s->len + v.len, field};
    memcpy(s->buf + s->len, v.p, v.len);
    s->len += v.len;
    s->buf[s->len++] = '\n';   /* a separator; matches across it are refused by offsets */
}

typedef struct kv_put {
    pf_scratch *s;
    mm_str val;
} kv_put;

static void put_kv(void *ctx, int field) {
    kv_put *k = ctx;
    put_value(k->s, field, k->val);
}

typedef struct scan_ctx {
    const mm_prefilter *pf;
    const pf_scratch *s;
    void (*hit)(void *ctx, int rule);
    void *ctx;
} scan_ctx;

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *c) {
    (void)from, (void)flags;
    scan_ctx *sc = c;
    const pf_lit *l = &sc->pf->lits[id];
    if (to < l->len) return 0;
    uint32_t start = (uint32_t)(to - l->len);
    /* the segment holding start: segments are in buffer order */
    int lo = 0, hi = sc->s->nseg - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (sc->s->segs[mid].start <= start) lo = mid;
        else hi = mid - 1;
    }
    const seg *g = &sc->s->segs[lo];
    if (start < g->start || to > g->end) return 0;
    for (int k = 0; k < l->n; k++)
        if (l->field[k] == g->field)
            for (const int *r = l->rules[k]; *r >= 0; r++) sc->hit(sc->ctx, *r);
    return 0;
}

static int on_match_raw(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *c) {
    (void)from, (void)to, (void)flags;
    scan_ctx *sc = c;
    const pf_lit *l = &sc->pf->lits[id];
    for (int k = 0; k < l->n; k++)
        if (l->field[k] == sc->pf->raw - 1)
            for (const int *r = l->rules[k]; *r >= 0; r++) sc->hit(sc->ctx, *r);
    return 0;
}

void mm_prefilter_scan(const mm_prefilter *pf, void **scratch, uint64_t *scratch_gen, const mm_event *ev,
                       void (*hit)(void *ctx, int rule), void *ctx) {
    if (!pf || (!pf->db && !pf->rawdb)) return;
    pf_scratch *s = *scratch;
    if (!s) {
        s = mm_xcalloc(1, sizeof *s);
        *scratch = s;
    }
    if (*scratch_gen != pf->gen) {   /* sized for this prefilter (a reload brings a new one) */
        if ((pf->db && hs_alloc_scratch(pf->db, &s->hs) != HS_SUCCESS) ||
            (pf->rawdb && hs_alloc_scratch(pf->rawdb, &s->hs) != HS_SUCCESS))
            return;
        *scratch_gen = pf->gen;
    }
    scan_ctx sc = {pf, s, hit, ctx};
    s->len = 0;
    s->nseg = 0;
    if (pf->rawdb) {
        mm_str text = ev->raw;
        const mm_value *mv = text.len ? NULL : mm_event_get(ev, MM_F_MESSAGE);
        if (mv) text = mv->s;
        put_value(s, pf->raw - 1, text);
        for (uint16_t i = 0; i < ev->nvendor; i++) put_value(s, pf->raw - 1, ev->vendor[i].val);   /* as rules.c */
        if (s->len) hs_scan(pf->rawdb, s->buf, s->len, 0, s->hs, on_match_raw, &sc);
        s->len = 0;
        s->nseg = 0;
    }
    if (!pf->db) return;
    for (int id = 0; id < MM_F__COUNT; id++) {
        if (!pf->by_id[id] || !ev->idx[id]) continue;
        for (const mm_value *v = mm_event_get(ev, (mm_field)id); v; v = mm_event_next(ev, v))
            put_value(s, pf->by_id[id] - 1, v->s);
    }
    const char *pre = ev->vendor_prefix;
    size_t pl = pre ? strlen(pre) : 0;
    for (uint16_t i = 0; pf->slot && i < ev->nvendor; i++) {
        const mm_kv *kv = &ev->vendor[i];
        kv_put kp = {s, kv->val};
        fields_of_key(pf, pre, pl, kv->key.p, kv->key.len, put_kv, &kp);
    }
    if (s->len) hs_scan(pf->db, s->buf, s->len, 0, s->hs, on_match, &sc);
}
