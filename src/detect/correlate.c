/* correlate: the Sigma `correlation:` compiler and the windows behind it.  The
 * semantics (sliding windows for rising conditions, tumbling windows for closing
 * ones, restart and quiet time after firing) are described once, in correlate.h.
 *
 * Layout: compile (YAML map -> mm_corr), then the per-type window structures (time
 * entries for counts and sums, a small hash set of value hashes for value_count,
 * last times for temporal, an ordered hit list for temporal_ordered), then the
 * sharded group table the workers share. */
#include "correlate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_KEYS 65536
#define MAX_ALIASES 32
#define MAX_ALIAS_ENTRIES 64
/* Spans beyond a year are certainly a typo; refusing them also keeps every
 * ts +/- span sum far from int64 overflow for real event times. */
#define MAX_SPAN_NS (366LL * 86400 * 1000000000)
/* Thresholds stay where doubles are exact integers. */
#define MAX_THRESHOLD 1e15

static int64_t sub_sat(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_sub_overflow(a, b, &r) ? (b > 0 ? INT64_MIN : INT64_MAX) : r;
}

static int64_t add_sat(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

/* ================================================================ compile */

struct mm_corr_alias {
    char *name;
    int line;
    int n;
    char **rule;     /* rule name or id as written */
    char **field;
    int *lines;
};

static const struct {
    const char *name;
    mm_corr_type type;
} type_names[] = {
    {"event_count", MM_CORR_T_EVENT_COUNT},   {"value_count", MM_CORR_T_VALUE_COUNT},
    {"temporal", MM_CORR_T_TEMPORAL},         {"temporal_ordered", MM_CORR_T_TEMPORAL_ORDERED},
    {"value_sum", MM_CORR_T_VALUE_SUM},       {"value_avg", MM_CORR_T_VALUE_AVG},
};

static const char *const op_names[] = {"gt", "gte", "lt", "lte", "eq", "neq"};

const char *mm_corr_type_name(mm_corr_type t) {
    for (size_t i = 0; i < MM_ARRAY_LEN(type_names); i++)
        if (type_names[i].type == t) return type_names[i].name;
    return "?";
}

static bool counts_type(mm_corr_type t) {
    return t == MM_CORR_T_EVENT_COUNT || t == MM_CORR_T_VALUE_COUNT || t == MM_CORR_T_TEMPORAL ||
           t == MM_CORR_T_TEMPORAL_ORDERED;
}

static bool temporal_type(mm_corr_type t) { return t == MM_CORR_T_TEMPORAL || t == MM_CORR_T_TEMPORAL_ORDERED; }

static bool field_type(mm_corr_type t) {
    return t == MM_CORR_T_VALUE_COUNT || t == MM_CORR_T_VALUE_SUM || t == MM_CORR_T_VALUE_AVG;
}

typedef struct cctx {
    const char *file;
    mm_err *err;
} cctx;

static int fail(cctx *cx, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(cctx *cx, int line, const char *fmt, ...) {
    char m[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (cx->file) mm_err_set(cx->err, "%s:%d: %s", cx->file, line, m);
    else mm_err_set(cx->err, "line %d: %s", line, m);
    return MM_EINVAL;
}

static const char *scalar(const mm_cnode *n) {
    return (n && n->type == MM_CN_SCALAR) ? (n->value ? n->value : "") : NULL;
}

/* A string or a list of strings (Sigma writes both for `rules` and `field`). */
static int str_list(cctx *cx, const mm_cnode *n, const char *what, int max, char ***out, int *nout) {
    const mm_cnode *first = scalar(n) ? n : (n->type == MM_CN_SEQ ? n->child : NULL);
    if (!first) return fail(cx, n->line, "%s must be a name or a non-empty list of names", what);
    int cnt = 0;
    for (const mm_cnode *k = first; k; k = scalar(n) ? NULL : k->next) {
        const char *v = scalar(k);
        if (!v || !*v) return fail(cx, k->line, "%s must be a name or a non-empty list of names", what);
        if (++cnt > max) return fail(cx, k->line, "%s: at most %d entries", what, max);
        for (int i = 0; i < *nout; i++)
            if (!strcmp((*out)[i], v)) return fail(cx, k->line, "%s: '%s' listed twice", what, v);
        *out = mm_xrealloc(*out, (size_t)(*nout + 1) * sizeof(char *));
        (*out)[(*nout)++] = mm_xstrdup(v);
    }
    return 0;
}

/* A plain decimal number (no inf, nan or hex, which strtod would take). */
static bool parse_number(const char *s, double *out) {
    if (!s || !*s || strlen(s) > 40) return false;
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789+-.eE", *p)) return false;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v) || fabs(v) > MAX_THRESHOLD) return false;
    *out = v;
    return true;
}

static int parse_aliases(cctx *cx, mm_corr *c, const mm_cnode *al) {
    if (al->type != MM_CN_MAP) return fail(cx, al->line, "aliases must be a map: alias -> {rule: field}");
    for (const mm_cnode *a = al->child; a; a = a->next) {
        if (c->naliases >= MAX_ALIASES) return fail(cx, a->line, "at most %d aliases", MAX_ALIASES);
        if (a->type != MM_CN_MAP || !a->child)
            return fail(cx, a->line, "alias '%s' must map rule names to field names", a->key);
        c->aliases = mm_xrealloc(c->aliases, (size_t)(c->naliases + 1) * sizeof *c->aliases);
        mm_corr_alias *x = &c->aliases[c->naliases++];
        memset(x, 0, sizeof *x);
        x->name = mm_xstrdup(a->key);
        x->line = a->line;
        for (const mm_cnode *e = a->child; e; e = e->next) {
            const char *f = scalar(e);
            if (!f || !*f) return fail(cx, e->line, "alias '%s': the field for rule '%s' must be a name", a->key, e->key);
            if (!*e->key) return fail(cx, e->line, "alias '%s': empty rule name", a->key);
            if (x->n >= MAX_ALIAS_ENTRIES) return fail(cx, e->line, "alias '%s': too many rules", a->key);
            x->rule = mm_xrealloc(x->rule, (size_t)(x->n + 1) * sizeof(char *));
            x->field = mm_xrealloc(x->field, (size_t)(x->n + 1) * sizeof(char *));
            x->lines = mm_xrealloc(x->lines, (size_t)(x->n + 1) * sizeof(int));
            x->rule[x->n] = mm_xstrdup(e->key);
            x->field[x->n] = mm_xstrdup(f);
            x->lines[x->n] = e->line;
            x->n++;
        }
    }
    return 0;
}

static bool ref_is(const mm_corr *c, int r, const char *key, const char *const *ids, const char *const *names) {
    return !strcmp(c->refs[r], key) || (ids && ids[r] && !strcmp(ids[r], key)) ||
           (names && names[r] && !strcmp(names[r], key));
}

static const char *resolve_for(const mm_corr *c, const char *name, int r, const char *const *ids,
                               const char *const *names) {
    for (int a = 0; a < c->naliases; a++) {
        const mm_corr_alias *x = &c->aliases[a];
        if (strcmp(x->name, name)) continue;
        for (int e = 0; e < x->n; e++)
            if (ref_is(c, r, x->rule[e], ids, names)) return x->field[e];
    }
    return name;
}

/* Fill ref_group / ref_field from the aliases; strict: every alias entry must name
 * one of the referenced rules. */
static int resolve_refs(cctx *cx, mm_corr *c, const char *const *ids, const char *const *names, bool strict) {
    if (strict)
        for (int a = 0; a < c->naliases; a++)
            for (int e = 0; e < c->aliases[a].n; e++) {
                bool found = false;
                for (int r = 0; r < c->nrefs && !found; r++) found = ref_is(c, r, c->aliases[a].rule[e], ids, names);
                if (!found)
                    return fail(cx, c->aliases[a].lines[e], "alias '%s': rule '%s' is not one of the correlation's rules",
                                c->aliases[a].name, c->aliases[a].rule[e]);
            }
    for (int r = 0; r < c->nrefs; r++) {
        for (int g = 0; g < c->ngroup; g++) c->ref_group[r * c->ngroup + g] = resolve_for(c, c->group[g], r, ids, names);
        for (int k = 0; k < c->nfields; k++) c->ref_field[r * c->nfields + k] = resolve_for(c, c->fields[k], r, ids, names);
    }
    return 0;
}

static uint64_t hmix(uint64_t h, const void *p, size_t n) { return mm_hash(p, n, h); }
static uint64_t hstr(uint64_t h, const char *s) { return hmix(h, s, strlen(s) + 1); }

static void compute_sig(mm_corr *c) {
    uint64_t h = 0x636f7272;
    int32_t t = c->type;
    h = hmix(h, &t, sizeof t);
    for (int i = 0; i < c->nrefs; i++) h = hstr(h, c->refs[i]);
    h = hstr(h, "|");
    for (int i = 0; i < c->nrefs * c->ngroup; i++) h = hstr(h, c->ref_group[i]);
    h = hstr(h, "|");
    for (int i = 0; i < c->nrefs * c->nfields; i++) h = hstr(h, c->ref_field[i]);
    h = hmix(h, &c->timespan_ns, sizeof c->timespan_ns);
    for (int i = 0; i < c->ncmp; i++) {
        int32_t op = c->cmp[i].op;
        h = hmix(h, &op, sizeof op);
        h = hmix(h, &c->cmp[i].value, sizeof(double));
    }
    h = hmix(h, &c->need, sizeof c->need);
    h = hmix(h, &c->closing, sizeof c->closing);
    c->sig = h;
}

static int parse_condition(cctx *cx, mm_corr *c, const mm_cnode *cond) {
    if (cond->type != MM_CN_MAP || !cond->child)
        return fail(cx, cond->line, "correlation condition must be a map such as {gte: 5}");
    for (const mm_cnode *k = cond->child; k; k = k->next) {
        if (!strcmp(k->key, "field")) {
            if (!field_type(c->type))
                return fail(cx, k->line, "condition field belongs to value_count, value_sum and value_avg");
            if (str_list(cx, k, "condition field", MM_CORR_MAX_FIELDS, &c->fields, &c->nfields) < 0) return MM_EINVAL;
            if (c->type != MM_CORR_T_VALUE_COUNT && c->nfields > 1)
                return fail(cx, k->line, "%s sums one numeric field", mm_corr_type_name(c->type));
            continue;
        }
        int op = -1;
        for (size_t i = 0; i < MM_ARRAY_LEN(op_names); i++)
            if (!strcmp(k->key, op_names[i])) op = (int)i;
        if (op < 0)
            return fail(cx, k->line, "correlation condition '%s' is not one of gt, gte, lt, lte, eq, neq, field", k->key);
        double v;
        if (!parse_number(scalar(k), &v))
            return fail(cx, k->line, "correlation condition %s needs a number", k->key);
        if (counts_type(c->type) && v != floor(v))
            return fail(cx, k->line, "a %s condition counts: %s needs a whole number", mm_corr_type_name(c->type), k->key);
        c->cmp[c->ncmp].op = (mm_corr_op)op;
        c->cmp[c->ncmp].value = v;
        c->ncmp++;   /* YAML refuses duplicate keys, so at most six */
    }
    if (!c->ncmp) return fail(cx, cond->line, "correlation condition needs a comparison (gt, gte, lt, lte, eq or neq)");
    return 0;
}

static int compile(cctx *cx, const mm_cnode *n, mm_corr *c) {
    if (!n || n->type != MM_CN_MAP) return fail(cx, n ? n->line : 1, "correlation must be a map");
    c->line = n->line;
    static const char *const keys[] = {"type", "rules", "group-by", "timespan", "condition", "aliases", "generate"};
    for (const mm_cnode *k = n->child; k; k = k->next) {
        bool ok = false;
        for (size_t i = 0; i < MM_ARRAY_LEN(keys); i++) ok |= !strcmp(k->key, keys[i]);
        if (!ok) return fail(cx, k->line, "unknown correlation key '%s'", k->key);
    }
    const mm_cnode *type = mm_cnode_get(n, "type"), *rules = mm_cnode_get(n, "rules"),
                   *group = mm_cnode_get(n, "group-by"), *span = mm_cnode_get(n, "timespan"),
                   *cond = mm_cnode_get(n, "condition"), *al = mm_cnode_get(n, "aliases"),
                   *gen = mm_cnode_get(n, "generate");
    if (!type) return fail(cx, n->line, "correlation needs a type");
    if (!scalar(type)) return fail(cx, type->line, "correlation type must be a name");
    for (size_t i = 0; i < MM_ARRAY_LEN(type_names); i++)
        if (!strcmp(scalar(type), type_names[i].name)) c->type = type_names[i].type;
    if (!c->type) {
        char t[64];
        snprintf(t, sizeof t, "%s", scalar(type));
        return fail(cx, type->line, "unsupported correlation type '%s'", t);
    }
    if (!rules) return fail(cx, n->line, "correlation needs rules");
    if (str_list(cx, rules, "correlation rules", MM_CORR_MAX_REFS, &c->refs, &c->nrefs) < 0) return MM_EINVAL;
    /* Sigma makes group-by mandatory; without it the whole stream is one group,
     * which is what a reader would expect, so it is accepted. */
    if (group && str_list(cx, group, "group-by", MM_CORR_MAX_GROUP, &c->group, &c->ngroup) < 0) return MM_EINVAL;
    if (!span) return fail(cx, n->line, "correlation needs a timespan (e.g. 5m)");
    if (!scalar(span) || !mm_duration_parse(scalar(span), &c->timespan_ns) || c->timespan_ns <= 0 ||
        c->timespan_ns > MAX_SPAN_NS)
        return fail(cx, span->line, "timespan '%.40s' (use e.g. 30s, 5m, 1h, 1d; at most 366d)",
                    scalar(span) ? scalar(span) : "");
    c->timespan_text = mm_xstrdup(scalar(span));
    if (cond) {
        if (parse_condition(cx, c, cond) < 0) return MM_EINVAL;
    } else if (!temporal_type(c->type)) {
        return fail(cx, n->line, "%s needs a condition such as {gte: 5}", mm_corr_type_name(c->type));
    } else {
        /* temporal types without a condition: every referenced rule */
        c->cmp[0] = (mm_corr_cmp){MM_CORR_GTE, (double)c->nrefs};
        c->ncmp = 1;
    }
    if (field_type(c->type) && !c->nfields)
        return fail(cx, cond->line, "%s needs the condition's field", mm_corr_type_name(c->type));
    if (al && parse_aliases(cx, c, al) < 0) return MM_EINVAL;
    if (gen) {
        const char *g = scalar(gen);
        if (!g || (strcasecmp(g, "true") && strcasecmp(g, "false")))
            return fail(cx, gen->line, "generate must be true or false");
        c->has_generate = true;
        c->generate = !strcasecmp(g, "true");
    }

    /* What kind of window, and the smallest count a rising window fires at. */
    int cline = cond ? cond->line : n->line;
    double need = -INFINITY;
    for (int i = 0; i < c->ncmp; i++) {
        double v = c->cmp[i].value;
        switch (c->cmp[i].op) {
        case MM_CORR_GTE: need = fmax(need, v); break;
        case MM_CORR_GT: need = fmax(need, counts_type(c->type) ? v + 1 : v); break;
        default: c->closing = true; break;
        }
    }
    if (counts_type(c->type)) {
        c->need = need < 1 ? 1 : (int64_t)need;
        if (temporal_type(c->type))
            for (int i = 0; i < c->ncmp; i++) {
                double v = c->cmp[i].value;
                bool never = (c->cmp[i].op == MM_CORR_GTE || c->cmp[i].op == MM_CORR_EQ) ? v > c->nrefs
                             : c->cmp[i].op == MM_CORR_GT                                  ? v >= c->nrefs
                                                                                           : false;
                if (never)
                    return fail(cx, cline, "condition can never hold: the correlation references %d rule%s",
                                c->nrefs, c->nrefs == 1 ? "" : "s");
            }
        if (c->type == MM_CORR_T_VALUE_COUNT)
            for (int i = 0; i < c->ncmp; i++)
                if (c->cmp[i].value >= MM_CORR_MAX_DISTINCT)
                    return fail(cx, cline, "value_count counts at most %d distinct values: %s %.0f is too high",
                                MM_CORR_MAX_DISTINCT - 1, op_names[c->cmp[i].op], c->cmp[i].value);
    }
    c->ref_group = mm_xcalloc((size_t)(c->nrefs * c->ngroup), sizeof(char *));
    c->ref_field = mm_xcalloc((size_t)(c->nrefs * c->nfields), sizeof(char *));
    resolve_refs(cx, c, NULL, NULL, false);
    compute_sig(c);
    return 0;
}

int mm_corr_compile_file(const mm_cnode *correlation, const char *file, mm_corr **out, mm_err *err) {
    *out = NULL;
    mm_corr *c = mm_xcalloc(1, sizeof *c);
    cctx cx = {.file = file, .err = err};
    if (compile(&cx, correlation, c) < 0) {
        mm_corr_free(c);
        return MM_EINVAL;
    }
    *out = c;
    return 0;
}

int mm_corr_compile(const mm_cnode *correlation, mm_corr **out, mm_err *err) {
    return mm_corr_compile_file(correlation, NULL, out, err);
}

int mm_corr_bind(mm_corr *c, const char *const *ids, const char *const *names, mm_err *err) {
    cctx cx = {.file = NULL, .err = err};
    if (resolve_refs(&cx, c, ids, names, true) < 0) return MM_EINVAL;
    compute_sig(c);
    return 0;
}

void mm_corr_free(mm_corr *c) {
    if (!c) return;
    for (int i = 0; i < c->nrefs; i++) free(c->refs[i]);
    free(c->refs);
    for (int i = 0; i < c->ngroup; i++) free(c->group[i]);
    free(c->group);
    for (int i = 0; i < c->nfields; i++) free(c->fields[i]);
    free(c->fields);
    free(c->ref_group);
    free(c->ref_field);
    free(c->timespan_text);
    for (int a = 0; a < c->naliases; a++) {
        mm_corr_alias *x = &c->aliases[a];
        for (int e = 0; e < x->n; e++) {
            free(x->rule[e]);
            free(x->field[e]);
        }
        free(x->rule);
        free(x->field);
        free(x->lines);
        free(x->name);
    }
    free(c->aliases);
    free(c);
}

bool mm_corr_cond_holds(const mm_corr *c, double v) {
    for (int i = 0; i < c->ncmp; i++) {
        double x = c->cmp[i].value;
        bool ok;
        switch (c->cmp[i].op) {
        case MM_CORR_GT: ok = v > x; break;
        case MM_CORR_GTE: ok = v >= x; break;
        case MM_CORR_LT: ok = v < x; break;
        case MM_CORR_LTE: ok = v <= x; break;
        case MM_CORR_EQ: ok = v == x; break;
        default: ok = v != x; break;
        }
        if (!ok) return false;
    }
    return true;
}

/* ================================================================ windows */

/* event_count / value_sum / value_avg: hits by event time, equal times folded. */
typedef struct tent {
    int64_t ts;
    uint32_t n;
    double sum;
} tent;

/* value_count: one distinct value (its 64-bit hash) and when it was last seen.
 * Entries are chained oldest-first by last-seen time so expiry pops the head. */
typedef struct vent {
    uint64_t vh;
    int64_t t;
    uint16_t prev, next;   /* index + 1, 0: none */
} vent;

typedef struct vset {
    vent *e;
    uint16_t *slot;        /* open addressing, index + 1 */
    uint32_t n, cap, mask;
    uint16_t head, tail, freel;
} vset;

/* temporal_ordered: one hit, kept sorted by (ts, ref). */
typedef struct oent {
    int64_t ts;
    uint32_t ref;
} oent;

typedef struct grp {
    struct grp *hnext;                 /* bucket chain */
    struct grp *lprev, *lnext;         /* shard LRU, head = most recently seen */
    uint64_t h, sig;
    uint32_t corr, klen;
    int type, nrefs;
    bool saturated;
    /* rising */
    bool has_newest, quiet;
    int64_t newest, quiet_until;
    /* closing */
    bool open, has_closed;
    int64_t win_start, win_end, closed_end, wfirst, wlast;
    int64_t hits;                      /* accepted since the window (re)started */
    /* per type */
    tent *t;
    uint32_t nt, capt;
    uint64_t tevents;                  /* sum of t[].n */
    vset *vs;
    int64_t *last;                     /* temporal: per ref */
    uint64_t seen;                     /* temporal: bit per ref */
    oent *o;
    uint32_t no, capo;
    char key[];
} grp;

/* ---- time entries */

static void t_drop_front(grp *g, uint32_t k) {
    if (!k) return;
    for (uint32_t i = 0; i < k; i++) g->tevents -= g->t[i].n;
    memmove(g->t, g->t + k, (size_t)(g->nt - k) * sizeof(tent));
    g->nt -= k;
}

/* Fold the two closest neighbours onto the older time: the window then loses them
 * together as soon as the older one leaves it, so a count or a sum can only come
 * out lower than the exact one (no early alert), never higher. */
static void t_merge_closest(grp *g) {
    uint32_t best = 0;
    uint64_t gap = UINT64_MAX;
    for (uint32_t i = 0; i + 1 < g->nt; i++) {
        uint64_t d = (uint64_t)g->t[i + 1].ts - (uint64_t)g->t[i].ts;
        if (d < gap) {
            gap = d;
            best = i;
        }
    }
    g->t[best].n += g->t[best + 1].n;
    g->t[best].sum += g->t[best + 1].sum;
    memmove(g->t + best + 1, g->t + best + 2, (size_t)(g->nt - best - 2) * sizeof(tent));
    g->nt--;
    g->saturated = true;
}

static void t_add(grp *g, int64_t ts, double x, int64_t need) {
    uint32_t i = g->nt;
    while (i > 0 && g->t[i - 1].ts > ts) i--;
    if (i > 0 && g->t[i - 1].ts == ts) {
        g->t[i - 1].n++;
        g->t[i - 1].sum += x;
    } else {
        if (g->nt == g->capt) {
            g->capt = g->capt ? g->capt * 2 : 8;
            if (g->capt > MM_CORR_MAX_TIMES + 1) g->capt = MM_CORR_MAX_TIMES + 1;
            g->t = mm_xrealloc(g->t, (size_t)g->capt * sizeof(tent));
        }
        memmove(g->t + i + 1, g->t + i, (size_t)(g->nt - i) * sizeof(tent));
        g->t[i] = (tent){ts, 1, x};
        g->nt++;
    }
    g->tevents++;
    /* "at least need in the window" only depends on the newest `need` hits */
    if (need > 0) {
        uint32_t k = 0;
        uint64_t left = g->tevents;
        while (k < g->nt && left - g->t[k].n >= (uint64_t)need) left -= g->t[k++].n;
        t_drop_front(g, k);
    }
    if (g->nt > MM_CORR_MAX_TIMES) t_merge_closest(g);
}

static void t_expire(grp *g, int64_t lower) {
    uint32_t k = 0;
    while (k < g->nt && g->t[k].ts < lower) k++;
    t_drop_front(g, k);
}

/* ---- distinct values */

static void vs_free(vset *v) {
    if (!v) return;
    free(v->e);
    free(v->slot);
    free(v);
}

static uint32_t vs_find(const vset *v, uint64_t vh) {
    if (!v->slot) return 0;
    for (uint32_t i = (uint32_t)vh & v->mask;; i = (i + 1) & v->mask) {
        uint32_t x = v->slot[i];
        if (!x || v->e[x - 1].vh == vh) return x;
    }
}

static void vs_unlink(vset *v, uint32_t x) {
    vent *e = &v->e[x - 1];
    if (e->prev) v->e[e->prev - 1].next = e->next;
    else v->head = e->next;
    if (e->next) v->e[e->next - 1].prev = e->prev;
    else v->tail = e->prev;
    e->prev = e->next = 0;
}

/* Link in last-seen order; arrivals are nearly in time order, so walk from the tail. */
static void vs_link(vset *v, uint32_t x) {
    vent *e = &v->e[x - 1];
    uint32_t after = v->tail;
    while (after && v->e[after - 1].t > e->t) after = v->e[after - 1].prev;
    e->prev = (uint16_t)after;
    e->next = after ? v->e[after - 1].next : v->head;
    if (e->next) v->e[e->next - 1].prev = (uint16_t)x;
    else v->tail = (uint16_t)x;
    if (after) v->e[after - 1].next = (uint16_t)x;
    else v->head = (uint16_t)x;
}

static void vs_slot_put(vset *v, uint32_t x) {
    uint32_t i = (uint32_t)v->e[x - 1].vh & v->mask;
    while (v->slot[i]) i = (i + 1) & v->mask;
    v->slot[i] = (uint16_t)x;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void vs_slot_del(vset *v, uint32_t x) {
    uint32_t i = (uint32_t)v->e[x - 1].vh & v->mask;
    while (v->slot[i] != x) i = (i + 1) & v->mask;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & v->mask;
        uint32_t y = v->slot[j];
        if (!y) break;
        uint32_t home = (uint32_t)v->e[y - 1].vh & v->mask;
        bool move = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (move) {
            v->slot[i] = (uint16_t)y;
            i = j;
        }
    }
    v->slot[i] = 0;
}

static void vs_remove(vset *v, uint32_t x) {
    vs_slot_del(v, x);
    vs_unlink(v, x);
    v->e[x - 1].next = v->freel;
    v->freel = (uint16_t)x;
    v->n--;
}

static void vs_grow(vset *v) {
    uint32_t ncap = v->cap ? v->cap * 2 : 8;
    if (ncap > MM_CORR_MAX_DISTINCT) ncap = MM_CORR_MAX_DISTINCT;
    v->e = mm_xrealloc(v->e, (size_t)ncap * sizeof(vent));
    for (uint32_t i = ncap; i > v->cap; i--) {   /* new entries onto the free list */
        v->e[i - 1].next = v->freel;
        v->freel = (uint16_t)i;
    }
    v->cap = ncap;
    free(v->slot);
    v->slot = mm_xcalloc((size_t)ncap * 2, sizeof(uint16_t));
    v->mask = ncap * 2 - 1;
    for (uint32_t x = v->head; x; x = v->e[x - 1].next) vs_slot_put(v, x);
}

/* Record value vh seen at t; at most cap values are kept (the most recently seen).
 * Returns true when a value had to be refused or pushed out to respect cap. */
static bool vs_add(vset *v, uint64_t vh, int64_t t, uint32_t cap) {
    uint32_t x = vs_find(v, vh);
    if (x) {
        if (t > v->e[x - 1].t) {
            vs_unlink(v, x);
            v->e[x - 1].t = t;
            vs_link(v, x);
        }
        return false;
    }
    bool over = false;
    if (v->n >= cap) {
        if (t < v->e[v->head - 1].t) return true;   /* older than everything kept */
        vs_remove(v, v->head);
        over = true;
    }
    if (!v->freel) vs_grow(v);
    x = v->freel;
    v->freel = v->e[x - 1].next;
    v->e[x - 1] = (vent){vh, t, 0, 0};
    vs_slot_put(v, x);
    vs_link(v, x);
    v->n++;
    return over;
}

static void vs_expire(vset *v, int64_t lower) {
    while (v->head && v->e[v->head - 1].t < lower) vs_remove(v, v->head);
}

/* ---- ordered hits */

static void o_add(grp *g, int64_t ts, uint32_t ref) {
    uint32_t i = g->no;
    while (i > 0 && (g->o[i - 1].ts > ts || (g->o[i - 1].ts == ts && g->o[i - 1].ref > ref))) i--;
    if (i > 0 && g->o[i - 1].ts == ts && g->o[i - 1].ref == ref) return;   /* adds nothing */
    if (g->no == g->capo) {
        g->capo = g->capo ? g->capo * 2 : 8;
        if (g->capo > MM_CORR_MAX_ORDERED + 1) g->capo = MM_CORR_MAX_ORDERED + 1;
        g->o = mm_xrealloc(g->o, (size_t)g->capo * sizeof(oent));
    }
    memmove(g->o + i + 1, g->o + i, (size_t)(g->no - i) * sizeof(oent));
    g->o[i] = (oent){ts, ref};
    g->no++;
    /* In a run of hits of one rule with no other rule's hit between them, any
     * member can stand for the others in a chain; keeping the first and the last
     * still lets a later out-of-order hit split the run on either side. */
    uint32_t a = i, b = i;
    while (a > 0 && g->o[a - 1].ref == ref) a--;
    while (b + 1 < g->no && g->o[b + 1].ref == ref) b++;
    if (b - a + 1 >= 3) {
        memmove(g->o + a + 1, g->o + b, (size_t)(g->no - b) * sizeof(oent));
        g->no -= b - a - 1;
    }
    if (g->no > MM_CORR_MAX_ORDERED) {
        memmove(g->o, g->o + 1, (size_t)(g->no - 1) * sizeof(oent));
        g->no--;
        g->saturated = true;
    }
}

static void o_expire(grp *g, int64_t lower) {
    uint32_t k = 0;
    while (k < g->no && g->o[k].ts < lower) k++;
    if (!k) return;
    memmove(g->o, g->o + k, (size_t)(g->no - k) * sizeof(oent));
    g->no -= k;
}

/* ---- the group's window, whatever its type */

static void grp_clear(grp *g) {
    g->nt = 0;
    g->tevents = 0;
    if (g->vs) {
        vs_free(g->vs);
        g->vs = NULL;
    }
    g->seen = 0;
    g->no = 0;
    g->hits = 0;
    g->saturated = false;
}

static void grp_release(grp *g) {
    free(g->t);
    g->t = NULL;
    g->nt = g->capt = 0;
    vs_free(g->vs);
    g->vs = NULL;
    free(g->last);
    g->last = NULL;
    free(g->o);
    g->o = NULL;
    g->no = g->capo = 0;
}

/* (Re)start a group for correlation c: a new group, or one left by another
 * version of the rule after a reload. */
static void grp_init(grp *g, const mm_corr *c) {
    grp_release(g);
    grp_clear(g);
    g->type = c->type;
    g->sig = c->sig;
    g->has_newest = g->quiet = false;
    g->open = g->has_closed = false;
    g->nrefs = c->nrefs;
    if (c->type == MM_CORR_T_TEMPORAL) g->last = mm_xcalloc((size_t)c->nrefs, sizeof(int64_t));
}

/* Returns true when the hit could not be fully kept (value_count overflow). */
static bool grp_add(grp *g, const mm_corr *c, int ref, uint64_t vh, double num, int64_t ts) {
    g->hits++;
    switch (c->type) {
    case MM_CORR_T_EVENT_COUNT: t_add(g, ts, 0, c->closing ? 0 : c->need); return false;
    case MM_CORR_T_VALUE_SUM:
    case MM_CORR_T_VALUE_AVG: t_add(g, ts, num, 0); return false;
    case MM_CORR_T_VALUE_COUNT: {
        if (!g->vs) g->vs = mm_xcalloc(1, sizeof(vset));
        /* rising: the `need` most recently seen values decide "at least need" */
        uint32_t cap = c->closing ? MM_CORR_MAX_DISTINCT : (uint32_t)c->need;
        bool over = vs_add(g->vs, vh, ts, cap);
        if (over && c->closing) {
            g->saturated = true;
            return true;
        }
        return false;
    }
    case MM_CORR_T_TEMPORAL: {
        uint64_t bit = 1ULL << ref;
        if (!(g->seen & bit) || ts > g->last[ref]) g->last[ref] = ts;
        g->seen |= bit;
        return false;
    }
    case MM_CORR_T_TEMPORAL_ORDERED: o_add(g, ts, (uint32_t)ref); return false;
    }
    return false;
}

static void grp_expire(grp *g, int64_t lower) {
    if (g->t) t_expire(g, lower);
    if (g->vs) vs_expire(g->vs, lower);
    if (g->o) o_expire(g, lower);
}

typedef struct agg {
    double value;
    int64_t events;
    uint32_t distinct;
    double sum, avg;
    int64_t first, last;
} agg;

/* The aggregate the condition compares, over what the window holds at or after
 * `lower` (temporal keeps only last times, so it filters here; the other types
 * have expired their entries already). */
static void grp_agg(const grp *g, const mm_corr *c, int64_t lower, agg *a) {
    memset(a, 0, sizeof *a);
    a->events = g->hits;
    switch (c->type) {
    case MM_CORR_T_EVENT_COUNT:
    case MM_CORR_T_VALUE_SUM:
    case MM_CORR_T_VALUE_AVG:
        a->events = (int64_t)g->tevents;
        for (uint32_t i = 0; i < g->nt; i++) a->sum += g->t[i].sum;
        a->avg = g->tevents ? a->sum / (double)g->tevents : 0;
        if (g->nt) {
            a->first = g->t[0].ts;
            a->last = g->t[g->nt - 1].ts;
        }
        a->value = c->type == MM_CORR_T_EVENT_COUNT ? (double)g->tevents
                   : c->type == MM_CORR_T_VALUE_SUM ? a->sum
                                                    : a->avg;
        break;
    case MM_CORR_T_VALUE_COUNT:
        if (g->vs && g->vs->n) {
            a->distinct = g->vs->n;
            a->first = g->vs->e[g->vs->head - 1].t;
            a->last = g->vs->e[g->vs->tail - 1].t;
        }
        a->value = a->distinct;
        break;
    case MM_CORR_T_TEMPORAL: {
        int k = 0;
        for (int r = 0; r < c->nrefs; r++) {
            if (!(g->seen & (1ULL << r)) || g->last[r] < lower) continue;
            if (!k || g->last[r] < a->first) a->first = g->last[r];
            if (!k || g->last[r] > a->last) a->last = g->last[r];
            k++;
        }
        a->value = k;
        break;
    }
    case MM_CORR_T_TEMPORAL_ORDERED: {
        /* S[r]: the latest start of a chain refs[0..r] in order among the hits so
         * far (a later start is never worse); E[r]: where that chain ended. */
        int64_t S[MM_CORR_MAX_REFS] = {0}, E[MM_CORR_MAX_REFS] = {0};
        uint64_t have = 0;
        for (uint32_t i = 0; i < g->no; i++) {
            uint32_t r = g->o[i].ref;
            int64_t ts = g->o[i].ts;
            if (ts < lower) continue;
            if (r == 0) {
                S[0] = E[0] = ts;
                have |= 1;
            } else if ((have & (1ULL << (r - 1))) && (!(have & (1ULL << r)) || S[r - 1] > S[r])) {
                S[r] = S[r - 1];
                E[r] = ts;
                have |= 1ULL << r;
            }
        }
        int p = 0;
        while (p < c->nrefs && (have & (1ULL << p))) p++;
        if (p) {
            a->first = S[p - 1];
            a->last = E[p - 1];
        }
        a->value = p;
        break;
    }
    }
}

static void fill_fire(const grp *g, const agg *a, mm_corr_fire *out) {
    if (!out) return;
    out->value = a->value;
    out->events = a->events;
    out->distinct = a->distinct;
    out->sum = a->sum;
    out->avg = a->avg;
    out->first_ts = a->first;
    out->last_ts = a->last;
    out->saturated = g->saturated;
}

/* ================================================================ shared state */

typedef struct shard {
    pthread_mutex_t mu;
    grp **b;
    uint32_t nb, n;
    grp *head, *tail;
    char pad[64];          /* keep neighbouring shards' locks off one cache line */
} shard;

struct mm_corr_state {
    uint32_t nshards, shift, max_keys;
    uint64_t seed;
    _Atomic uint64_t total, evicted, late, overflow, fired;
    shard *sh;
};

mm_corr_state *mm_corr_state_new(uint32_t max_keys) {
    mm_corr_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->max_keys = max_keys ? max_keys : DEFAULT_MAX_KEYS;
    /* Small bounds (tests, tiny configs) get one shard and so an exact LRU; large
     * ones 64 shards of at least 256 groups, where the uneven spread of groups
     * over shards no longer matters. */
    s->nshards = 1;
    while (s->nshards < 64 && (uint64_t)s->nshards * 2 * 256 <= s->max_keys) s->nshards *= 2;
    s->shift = 64;
    for (uint32_t n = s->nshards; n > 1; n >>= 1) s->shift--;
    /* an unpredictable seed keeps attacker-chosen group keys (user names) from
     * piling into one bucket */
    s->seed = mm_hash(&s, sizeof s, (uint64_t)mm_mono_ns() ^ (uint64_t)mm_now_ns());
    s->sh = calloc(s->nshards, sizeof(shard));
    if (!s->sh) {
        free(s);
        return NULL;
    }
    for (uint32_t i = 0; i < s->nshards; i++) pthread_mutex_init(&s->sh[i].mu, NULL);
    return s;
}

static void grp_free(grp *g) {
    grp_release(g);
    free(g);
}

void mm_corr_state_free(mm_corr_state *s) {
    if (!s) return;
    for (uint32_t i = 0; i < s->nshards; i++) {
        shard *sh = &s->sh[i];
        for (grp *g = sh->head, *nx; g; g = nx) {
            nx = g->lnext;
            grp_free(g);
        }
        free(sh->b);
        pthread_mutex_destroy(&sh->mu);
    }
    free(s->sh);
    free(s);
}

void mm_corr_state_stats(mm_corr_state *s, mm_corr_stats *out) {
    memset(out, 0, sizeof *out);
    if (!s) return;
    out->tracked = atomic_load(&s->total);
    out->evicted = atomic_load(&s->evicted);
    out->late = atomic_load(&s->late);
    out->overflow = atomic_load(&s->overflow);
    out->fired = atomic_load(&s->fired);
}

static void lru_unlink(shard *sh, grp *g) {
    if (g->lprev) g->lprev->lnext = g->lnext;
    else sh->head = g->lnext;
    if (g->lnext) g->lnext->lprev = g->lprev;
    else sh->tail = g->lprev;
    g->lprev = g->lnext = NULL;
}

static void lru_front(shard *sh, grp *g) {
    g->lprev = NULL;
    g->lnext = sh->head;
    if (sh->head) sh->head->lprev = g;
    sh->head = g;
    if (!sh->tail) sh->tail = g;
}

/* Unlink g from its shard (table and LRU) and free it; the caller adjusts total. */
static void shard_drop(shard *sh, grp *g) {
    grp **pp = &sh->b[g->h & (sh->nb - 1)];
    while (*pp != g) pp = &(*pp)->hnext;
    *pp = g->hnext;
    lru_unlink(sh, g);
    sh->n--;
    grp_free(g);
}

static void shard_grow(shard *sh) {
    uint32_t nb = sh->nb ? sh->nb * 2 : 16;
    grp **b = mm_xcalloc(nb, sizeof *b);
    for (uint32_t i = 0; i < sh->nb; i++)
        for (grp *g = sh->b[i], *nx; g; g = nx) {
            nx = g->hnext;
            g->hnext = b[g->h & (nb - 1)];
            b[g->h & (nb - 1)] = g;
        }
    free(sh->b);
    sh->b = b;
    sh->nb = nb;
}

static grp *shard_get(mm_corr_state *s, shard *sh, uint64_t h, uint32_t corr, const char *key, uint32_t klen,
                      const mm_corr *c) {
    if (sh->b)
        for (grp *g = sh->b[h & (sh->nb - 1)]; g; g = g->hnext)
            if (g->h == h && g->corr == corr && g->klen == klen && !memcmp(g->key, key, klen)) {
                if (g != sh->head) {
                    lru_unlink(sh, g);
                    lru_front(sh, g);
                }
                return g;
            }
    /* Reserve a place in the global bound, or make one by evicting this shard's
     * least recently seen group. */
    uint64_t cur = atomic_load(&s->total);
    for (;;) {
        if (cur >= s->max_keys) {
            if (sh->tail) {
                shard_drop(sh, sh->tail);
                atomic_fetch_add(&s->evicted, 1);
                mm_count(MM_C_BURST_EVICTIONS, 1);
                mm_warn("detect: correlation windows full (%u groups): evicted the least recently seen",
                        s->max_keys);
            } else {
                atomic_fetch_add(&s->total, 1);   /* the documented per-shard overshoot */
            }
            break;
        }
        if (atomic_compare_exchange_weak(&s->total, &cur, cur + 1)) break;
    }
    if (!sh->b || sh->n + 1 > sh->nb * 2) shard_grow(sh);
    grp *g = mm_xcalloc(1, sizeof *g + klen);
    g->h = h;
    g->corr = corr;
    g->klen = klen;
    memcpy(g->key, key, klen);
    grp_init(g, c);
    g->hnext = sh->b[h & (sh->nb - 1)];
    sh->b[h & (sh->nb - 1)] = g;
    sh->n++;
    lru_front(sh, g);
    return g;
}

static int hit_rising(mm_corr_state *s, grp *g, const mm_corr *c, int ref, uint64_t vh, double num, int64_t ts,
                      mm_corr_fire *out) {
    int64_t span = c->timespan_ns;
    if (g->has_newest && ts < sub_sat(g->newest, span)) {
        atomic_fetch_add(&s->late, 1);
        return 0;
    }
    if (!g->has_newest || ts > g->newest) g->newest = ts;
    g->has_newest = true;
    int64_t lower = sub_sat(g->newest, span);
    if (grp_add(g, c, ref, vh, num, ts)) atomic_fetch_add(&s->overflow, 1);
    grp_expire(g, lower);
    if (g->quiet && g->newest < g->quiet_until) return 0;
    agg a;
    grp_agg(g, c, lower, &a);
    if (!mm_corr_cond_holds(c, a.value)) return 0;
    fill_fire(g, &a, out);
    grp_clear(g);
    g->quiet = true;
    g->quiet_until = add_sat(g->newest, span);
    atomic_fetch_add(&s->fired, 1);
    return 1;
}

/* Evaluate the open tumbling window and close it. */
static int close_window(mm_corr_state *s, grp *g, const mm_corr *c, mm_corr_fire *out) {
    agg a;
    grp_agg(g, c, INT64_MIN, &a);
    a.first = g->wfirst;
    a.last = g->wlast;
    int fired = 0;
    if (mm_corr_cond_holds(c, a.value)) {
        fill_fire(g, &a, out);
        atomic_fetch_add(&s->fired, 1);
        fired = 1;
    }
    grp_clear(g);
    g->open = false;
    g->has_closed = true;
    g->closed_end = g->win_end;
    return fired;
}

static int hit_closing(mm_corr_state *s, grp *g, const mm_corr *c, int ref, uint64_t vh, double num, int64_t ts,
                       mm_corr_fire *out) {
    int64_t span = c->timespan_ns;
    int fired = 0;
    if (g->open && ts > g->win_end) fired = close_window(s, g, c, out);
    if (g->has_closed && ts <= g->closed_end) {   /* belongs to a window already decided */
        atomic_fetch_add(&s->late, 1);
        return fired;
    }
    if (!g->open) {
        g->open = true;
        g->win_start = g->wfirst = g->wlast = ts;
        g->win_end = add_sat(ts, span);
    } else if (ts < g->win_start) {
        /* slide the window back to the late hit if its newest hit stays inside */
        if (sub_sat(g->wlast, span) > ts) {
            atomic_fetch_add(&s->late, 1);
            return fired;
        }
        g->win_start = ts;
        g->win_end = add_sat(ts, span);
    }
    if (ts < g->wfirst) g->wfirst = ts;
    if (ts > g->wlast) g->wlast = ts;
    if (grp_add(g, c, ref, vh, num, ts)) atomic_fetch_add(&s->overflow, 1);
    return fired;
}

static uint64_t key_hash(const mm_corr_state *s, uint32_t corr, const char *key, size_t len) {
    return mm_hash(key, len, s->seed ^ ((uint64_t)corr * 0x9e3779b97f4a7c15ULL));
}

int mm_corr_hit(mm_corr_state *s, const mm_corr *c, uint32_t corr_index, int ref_no, const char *group_key,
                size_t group_len, mm_str value, double num, int64_t ts_ns, mm_corr_fire *out) {
    if (!s || !c || ref_no < 0 || ref_no >= c->nrefs || (!group_key && group_len)) return MM_EINVAL;
    if (out) memset(out, 0, sizeof *out);
    uint64_t vh = 0;
    if (c->type == MM_CORR_T_VALUE_COUNT) {
        if (!value.p) return 0;
        vh = mm_hash(value.p, value.len, s->seed ^ 0x76616c7565ULL);
    }
    if ((c->type == MM_CORR_T_VALUE_SUM || c->type == MM_CORR_T_VALUE_AVG) && !isfinite(num)) return 0;
    /* A key too long to keep whole is cut and told apart by the whole key's hash. */
    char cut[MM_CORR_MAX_KEY];
    const char *key = group_key ? group_key : "";
    if (group_len > MM_CORR_MAX_KEY) {
        size_t keep = MM_CORR_MAX_KEY - 18;   /* + '#' + 16 hex digits + NUL */
        memcpy(cut, key, keep);
        snprintf(cut + keep, sizeof cut - keep, "#%016llx",
                 (unsigned long long)mm_hash(group_key, group_len, 0x6b6579));
        key = cut;
        group_len = keep + 17;
    }
    uint64_t h = key_hash(s, corr_index, key, group_len);
    shard *sh = &s->sh[s->nshards > 1 ? (uint32_t)(h >> s->shift) : 0];
    pthread_mutex_lock(&sh->mu);
    grp *g = shard_get(s, sh, h, corr_index, key, (uint32_t)group_len, c);
    if (g->sig != c->sig || g->type != (int)c->type || g->nrefs != c->nrefs) grp_init(g, c);
    int rc = c->closing ? hit_closing(s, g, c, ref_no, vh, num, ts_ns, out)
                        : hit_rising(s, g, c, ref_no, vh, num, ts_ns, out);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

int mm_corr_sweep(mm_corr_state *s, const mm_corr *const *corrs, uint32_t ncorrs, int64_t watermark_ns,
                  mm_corr_fire_fn fn, void *ctx) {
    if (!s) return 0;
    /* INT64_MAX: the end of the stream (batch ingest), even for windows whose end
     * saturated at INT64_MAX */
    bool all = watermark_ns == INT64_MAX;
    int fired = 0;
    for (uint32_t i = 0; i < s->nshards; i++) {
        shard *sh = &s->sh[i];
        pthread_mutex_lock(&sh->mu);
        for (grp *g = sh->tail, *pv; g; g = pv) {
            pv = g->lprev;
            const mm_corr *c = g->corr < ncorrs && corrs ? corrs[g->corr] : NULL;
            bool drop;
            if (!c || c->sig != g->sig) {
                drop = true;
            } else if (c->closing) {
                if (g->open && (all || g->win_end < watermark_ns)) {
                    mm_corr_fire f;
                    memset(&f, 0, sizeof f);
                    if (close_window(s, g, c, &f)) {
                        fired++;
                        if (fn) fn(ctx, g->corr, g->key, g->klen, &f);
                    }
                }
                drop = !g->open;
            } else {
                int64_t until = g->has_newest ? add_sat(g->newest, c->timespan_ns) : INT64_MIN;
                if (g->quiet && g->quiet_until > until) until = g->quiet_until;
                drop = all || until < watermark_ns;
            }
            if (drop) {
                shard_drop(sh, g);
                atomic_fetch_sub(&s->total, 1);
            }
        }
        pthread_mutex_unlock(&sh->mu);
    }
    return fired;
}
