/* rules: the rule compiler and evaluator — a Sigma-compatible subset, so the later
 * full Sigma engine can take the same files unchanged.  The format (selections,
 * modifiers including the `ioc` extension, conditions, event_count correlations,
 * `reason` templates) is documented for users in docs/rules.md.
 *
 * The compiled rule also records an "anchor": a field whose value the rule needs
 * to be one of a few literals (fortinet.firewall.subtype = ips).  detect.c indexes
 * rules by their anchor so an event only evaluates the rules that can match it. */
#include "detect_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SELS 256
#define MAX_DEPTH 64
#define MAX_VALUES 4096

enum { P_EQ, P_CONTAINS, P_STARTS, P_ENDS, P_GLOB };
enum { M_STR, M_NUM, M_CIDR, M_IOC, M_EXISTS, M_NULL };
enum { N_GT, N_GTE, N_LT, N_LTE };
enum { C_SEL, C_AND, C_OR, C_NOT, C_OF };

typedef struct pat {
    char *s;            /* lower-cased unless the match is cased; escapes resolved */
    uint32_t len;
    uint8_t op;         /* P_* */
    uint8_t *wild;      /* P_GLOB: per byte 0 literal, 1 '*', 2 '?' */
    int64_t num;
    mm_cidr cidr;
    mm_ip ip;
    bool is_ip;
} pat;

typedef struct mm_match {
    mm_fref f;
    uint8_t kind;       /* M_* */
    uint8_t numop;
    bool all, cased, neq, exists_want;
    unsigned ioc_types;
    int npats;
    pat *pats;
} mm_match;

typedef struct mm_map {
    int n;
    mm_match *m;
} mm_map;

typedef struct mm_sel {
    char *name;
    int nmaps;
    mm_map *maps;
    bool keywords;
    int nkw;
    pat *kw;
} mm_sel;

typedef struct mm_cond {
    uint8_t op;
    int a, b;           /* children; C_SEL: a = selection */
    int k, n;           /* C_OF: at least k of the n selections in sels */
    int *sels;
} mm_cond;

static const char *const levels[] = {"informational", "low", "medium", "high", "critical"};

static inline char lc(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

static char *xstrdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (!d) abort();
    memcpy(d, s, n + 1);
    return d;
}

static void *xcalloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz);
    if (!p) abort();
    return p;
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) abort();
    return q;
}

/* ---------------------------------------------------------------- fields */

bool mm_fref_resolve(const char *name, mm_fref *out, mm_err *err) {
    size_t len = strlen(name);
    out->name = name;
    out->id = MM_F_NONE;
    if (len == 0) {
        mm_err_set(err, "empty field name");
        return false;
    }
    mm_field f = mm_field_by_name(name, len);
    if (f != MM_F_NONE) {
        out->id = (uint16_t)f;
        return true;
    }
    const char *dot = memchr(name, '.', len);
    if (!dot) {
        mm_err_set(err, "unknown field '%s' (not an event field; vendor fields are written "
                        "<prefix>.<key>, e.g. fortinet.firewall.action)", name);
        return false;
    }
    size_t ns = (size_t)(dot - name);
    for (int i = 0; i < MM_F__COUNT; i++) {
        const char *k = mm_field_name((mm_field)i);
        if (k && strncmp(k, name, ns) == 0 && k[ns] == '.') {
            mm_err_set(err, "unknown field '%s' (the %.*s.* fields are: see src/core/fields.def)",
                       name, (int)ns, name);
            return false;
        }
    }
    return true;
}

static const mm_str *vendor_lookup(const mm_event *ev, const char *name) {
    const char *pre = ev->vendor_prefix;
    if (!pre || !ev->nvendor) return NULL;
    size_t pl = strlen(pre);
    if (strncmp(name, pre, pl) != 0 || name[pl] != '.') return NULL;
    return mm_event_vendor_get(ev, name + pl + 1);
}

void mm_fiter_init(mm_fiter *it, const mm_event *ev, const mm_fref *f) {
    it->ev = ev;
    it->v = NULL;
    it->vendor = NULL;
    it->started = false;
    it->f = *f;
}

bool mm_fiter_next(mm_fiter *it, mm_str *s, const mm_value **v) {
    if (it->f.id != MM_F_NONE) {
        const mm_value *x;
        if (!it->started) x = mm_event_get(it->ev, (mm_field)it->f.id);
        else x = it->v ? mm_event_next(it->ev, it->v) : NULL;
        it->started = true;
        it->v = x;
        if (!x) return false;
        *s = x->s;
        *v = x;
        return true;
    }
    if (it->started) return false;
    it->started = true;
    const mm_str *vs = vendor_lookup(it->ev, it->f.name);
    if (!vs) return false;
    *s = *vs;
    *v = NULL;
    return true;
}

static bool field_present(const mm_event *ev, const mm_fref *f) {
    if (f->id != MM_F_NONE) return mm_event_has(ev, (mm_field)f->id);
    return vendor_lookup(ev, f->name) != NULL;
}

/* ---------------------------------------------------------------- string matching */

static bool ieq(const char *a, const char *b, uint32_t n, bool cased) {
    if (cased) return memcmp(a, b, n) == 0;
    for (uint32_t i = 0; i < n; i++)
        if (lc(a[i]) != b[i]) return false;
    return true;
}

static bool icontains(mm_str h, const char *n, uint32_t nl, bool cased) {
    if (nl == 0) return true;
    if (h.len < nl) return false;
    char first = n[0];
    for (uint32_t i = 0; i + nl <= h.len; i++) {
        char c = cased ? h.p[i] : lc(h.p[i]);
        if (c == first && ieq(h.p + i + 1, n + 1, nl - 1, cased)) return true;
    }
    return false;
}

/* Wildcard match with single-star backtracking: linear for one star, at worst
 * O(n*m) for many, never exponential. */
static bool glob_match(mm_str h, const pat *p, bool cased) {
    uint32_t hi = 0, pi = 0, star_p = UINT32_MAX, star_h = 0;
    while (hi < h.len) {
        if (pi < p->len && p->wild[pi] == 2) {
            hi++, pi++;
        } else if (pi < p->len && p->wild[pi] == 1) {
            star_p = pi++;
            star_h = hi;
        } else if (pi < p->len && (cased ? h.p[hi] : lc(h.p[hi])) == p->s[pi]) {
            hi++, pi++;
        } else if (star_p != UINT32_MAX) {
            pi = star_p + 1;
            hi = ++star_h;
        } else {
            return false;
        }
    }
    while (pi < p->len && p->wild[pi] == 1) pi++;
    return pi == p->len;
}

static bool str_match(mm_str v, const pat *p, bool cased) {
    switch (p->op) {
    case P_EQ: return v.len == p->len && ieq(v.p, p->s, p->len, cased);
    case P_CONTAINS: return icontains(v, p->s, p->len, cased);
    case P_STARTS: return v.len >= p->len && ieq(v.p, p->s, p->len, cased);
    case P_ENDS: return v.len >= p->len && ieq(v.p + v.len - p->len, p->s, p->len, cased);
    default: return glob_match(v, p, cased);
    }
}

static bool value_int(mm_str s, const mm_value *v, const mm_fref *f, int64_t *out) {
    if (v && v->parsed && f->id != MM_F_NONE && mm_field_type((mm_field)f->id) == MM_T_INT) {
        *out = v->i;
        return true;
    }
    while (s.len && s.p[0] == ' ') s.p++, s.len--;
    while (s.len && s.p[s.len - 1] == ' ') s.len--;
    return s.len && s.len < 24 && mm_str_to_i64(s, out);
}

static bool value_ip(mm_str s, const mm_value *v, mm_ip *out) {
    if (v && v->parsed && v->ip.af) {
        *out = v->ip;
        return true;
    }
    return s.len && s.len <= 64 && mm_ip_parse(s, out);
}

/* One pattern against one value. */
static bool pat_match(const mm_match *m, const pat *p, mm_str s, const mm_value *v, mm_eval *cx) {
    switch (m->kind) {
    case M_STR:
        if (p->is_ip && v && v->parsed && v->ip.af) return mm_ip_eq(&v->ip, &p->ip);
        return str_match(s, p, m->cased);
    case M_NUM: {
        int64_t x;
        if (!value_int(s, v, &m->f, &x)) return false;
        switch (m->numop) {
        case N_GT: return x > p->num;
        case N_GTE: return x >= p->num;
        case N_LT: return x < p->num;
        default: return x <= p->num;
        }
    }
    case M_CIDR: {
        mm_ip ip;
        return value_ip(s, v, &ip) && mm_cidr_contains(&p->cidr, &ip);
    }
    default:
        return false;
    }
}

static bool ioc_value(const mm_match *m, mm_str s, const mm_value *v, const mm_event *ev, mm_eval *cx) {
    mm_ioc_hit hit;
    const mm_ip *ip = (v && v->parsed && v->ip.af) ? &v->ip : NULL;
    bool ok = false;
    /* url.domain + url.path first: a URL indicator says more than its domain */
    if (m->f.id == MM_F_URL_DOMAIN && (m->ioc_types & MM_IOC_URL) && mm_event_has(ev, MM_F_URL_PATH)) {
        const mm_value *pv = mm_event_get(ev, MM_F_URL_PATH);
        const mm_value *qv = mm_event_get(ev, MM_F_URL_QUERY);
        const mm_value *ptv = mm_event_get(ev, MM_F_URL_PORT);
        mm_str none = {NULL, 0};
        ok = mm_ioc_match_url_parts(cx->ioc, s, ptv ? ptv->s : none, pv->s, qv ? qv->s : none, &hit);
    }
    if (!ok) ok = mm_ioc_match(cx->ioc, s, ip, m->ioc_types, &hit);
    if (ok && !cx->ioc_hit) {
        cx->ioc_hit = true;
        cx->hit = hit;
        cx->hit_field = m->f.name;
        cx->hit_value = s;
    }
    return ok;
}

static bool match_eval(const mm_match *m, const mm_event *ev, mm_eval *cx) {
    if (m->kind == M_EXISTS) return field_present(ev, &m->f) == m->exists_want;
    if (m->kind == M_NULL) return !field_present(ev, &m->f);
    if (m->kind == M_IOC && (!cx->ioc || mm_ioc_count(cx->ioc) == 0)) return false;
    mm_fiter it;
    mm_str s;
    const mm_value *v;
    if (m->kind == M_IOC) {
        mm_fiter_init(&it, ev, &m->f);
        while (mm_fiter_next(&it, &s, &v))
            if (ioc_value(m, s, v, ev, cx)) return true;
        return false;
    }
    if (m->all && !m->neq) {
        for (int i = 0; i < m->npats; i++) {
            bool any = false;
            mm_fiter_init(&it, ev, &m->f);
            while (!any && mm_fiter_next(&it, &s, &v)) any = pat_match(m, &m->pats[i], s, v, cx);
            if (!any) return false;
        }
        return true;
    }
    bool seen = false;
    mm_fiter_init(&it, ev, &m->f);
    while (mm_fiter_next(&it, &s, &v)) {
        seen = true;
        for (int i = 0; i < m->npats; i++)
            if (pat_match(m, &m->pats[i], s, v, cx)) return !m->neq;
    }
    return m->neq && seen;
}

static bool sel_eval(const mm_sel *sel, const mm_event *ev, mm_eval *cx) {
    if (sel->keywords) {
        mm_str text = ev->raw;
        if (!text.len) {
            const mm_value *mv = mm_event_get(ev, MM_F_MESSAGE);
            if (mv) text = mv->s;
        }
        for (int i = 0; i < sel->nkw; i++) {
            const pat *p = &sel->kw[i];
            if (p->op == P_GLOB ? glob_match(text, p, false) : icontains(text, p->s, p->len, false))
                return true;
        }
        return false;
    }
    for (int i = 0; i < sel->nmaps; i++) {
        const mm_map *mp = &sel->maps[i];
        bool ok = true;
        for (int j = 0; ok && j < mp->n; j++) ok = match_eval(&mp->m[j], ev, cx);
        if (ok) return true;
    }
    return false;
}

static bool cond_eval(const mm_rule *r, int n, const mm_event *ev, mm_eval *cx, uint8_t *cache) {
    const mm_cond *c = &r->conds[n];
    switch (c->op) {
    case C_SEL:
        if (!cache[c->a]) cache[c->a] = sel_eval(&r->sels[c->a], ev, cx) ? 2 : 1;
        return cache[c->a] == 2;
    case C_AND: return cond_eval(r, c->a, ev, cx, cache) && cond_eval(r, c->b, ev, cx, cache);
    case C_OR: return cond_eval(r, c->a, ev, cx, cache) || cond_eval(r, c->b, ev, cx, cache);
    case C_NOT: return !cond_eval(r, c->a, ev, cx, cache);
    default: {
        int hits = 0;
        for (int i = 0; i < c->n; i++) {
            int s = c->sels[i];
            if (!cache[s]) cache[s] = sel_eval(&r->sels[s], ev, cx) ? 2 : 1;
            if (cache[s] == 2 && ++hits >= c->k) return true;
            if (hits + (c->n - i - 1) < c->k) return false;
        }
        return hits >= c->k;
    }
    }
}

bool mm_rule_match(const mm_rule *r, const mm_event *ev, mm_eval *cx) {
    if (r->corr_type || r->root < 0) return false;
    if (r->vendor_prefix) {
        if (!ev->vendor_prefix || strcmp(ev->vendor_prefix, r->vendor_prefix) != 0) return false;
    } else if (r->product) {
        if (!ev->src || !ev->src->format || strcasecmp(ev->src->format, r->product) != 0) return false;
    }
    uint8_t cache[MAX_SELS];
    memset(cache, 0, (size_t)r->nsels);
    return cond_eval(r, r->root, ev, cx, cache);
}

/* ---------------------------------------------------------------- compiling */

typedef struct cctx {
    const char *file;
    mm_err *err;
    mm_rule *r;
} cctx;

#define FAIL(cx, line, ...)                                                               \
    do {                                                                                  \
        char m_[1024];                                                                     \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                             \
        mm_err_set((cx)->err, "%s:%d: %s", (cx)->file, (line), m_);                       \
        return -1;                                                                        \
    } while (0)

static bool is_null_node(const mm_cnode *n) {
    if (!n) return true;
    if (n->type != MM_CN_SCALAR) return false;
    return !n->value || strcmp(n->value, "null") == 0 || strcmp(n->value, "~") == 0 ||
           strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}

static const char *scalar(const mm_cnode *n) {
    return (n && n->type == MM_CN_SCALAR) ? (n->value ? n->value : "") : NULL;
}

/* Resolve Sigma escapes; mark wildcards.  Returns true when any wildcard was seen. */
static bool unescape(const char *v, bool cased, bool wildcards, char **out, uint8_t **wild, uint32_t *len) {
    size_t n = strlen(v);
    char *s = xcalloc(n + 1, 1);
    uint8_t *w = xcalloc(n + 1, 1);
    uint32_t k = 0;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (wildcards && c == '\\' && i + 1 < n && (v[i + 1] == '*' || v[i + 1] == '?' || v[i + 1] == '\\')) {
            s[k] = cased ? v[i + 1] : lc(v[i + 1]);
            w[k++] = 0;
            i++;
        } else if (wildcards && (c == '*' || c == '?')) {
            s[k] = c;
            w[k++] = c == '*' ? 1 : 2;
            any = true;
        } else {
            s[k] = cased ? c : lc(c);
            w[k++] = 0;
        }
    }
    *out = s;
    *len = k;
    if (any) *wild = w;
    else { free(w); *wild = NULL; }
    return any;
}

/* Build one string pattern: op from the modifier, wildcards turn it into a glob. */
static void make_str_pat(pat *p, const char *v, int op, bool cased, mm_ftype ftype) {
    memset(p, 0, sizeof *p);
    uint8_t *w;
    char *s;
    uint32_t len;
    if (!unescape(v, cased, true, &s, &w, &len)) {
        p->s = s;
        p->len = len;
        p->op = (uint8_t)op;
        if (op == P_EQ && ftype == MM_T_IP && len <= 64 && mm_ip_parse((mm_str){s, len}, &p->ip)) p->is_ip = true;
        return;
    }
    /* wrap with stars for contains/startswith/endswith */
    bool pre = op == P_CONTAINS || op == P_ENDS;
    bool post = op == P_CONTAINS || op == P_STARTS;
    uint32_t nl = len + (pre ? 1 : 0) + (post ? 1 : 0);
    p->s = xcalloc(nl + 1, 1);
    p->wild = xcalloc(nl + 1, 1);
    uint32_t k = 0;
    if (pre) { p->s[k] = '*'; p->wild[k++] = 1; }
    memcpy(p->s + k, s, len);
    memcpy(p->wild + k, w, len);
    k += len;
    if (post) { p->s[k] = '*'; p->wild[k++] = 1; }
    p->len = k;
    p->op = P_GLOB;
    free(s);
    free(w);
}

static void pat_free(pat *p) {
    free(p->s);
    free(p->wild);
}

static int compile_match(cctx *cx, const char *key, const mm_cnode *val, int line, mm_match *m) {
    memset(m, 0, sizeof *m);
    char buf[256];
    if (strlen(key) >= sizeof buf) FAIL(cx, line, "field name too long");
    strcpy(buf, key);
    char *mods = strchr(buf, '|');
    if (mods) *mods++ = 0;
    if (!buf[0]) FAIL(cx, line, "a key needs a field name before '|'");
    mm_err ferr;
    char *fname = xstrdup(buf);
    if (!mm_fref_resolve(fname, &m->f, &ferr)) FAIL(cx, line, "%s", ferr.msg);   /* m owns fname */
    int op = P_EQ;
    bool num = false, cidr = false, ioc = false, exists = false;
    while (mods && *mods) {
        char *next = strchr(mods, '|');
        if (next) *next++ = 0;
        const char *md = mods;
        if (!strcmp(md, "contains") || !strcmp(md, "startswith") || !strcmp(md, "endswith")) {
            if (op != P_EQ) FAIL(cx, line, "only one of contains/startswith/endswith");
            op = md[0] == 'c' ? P_CONTAINS : md[0] == 's' ? P_STARTS : P_ENDS;
        } else if (!strcmp(md, "all")) m->all = true;
        else if (!strcmp(md, "cased")) m->cased = true;
        else if (!strcmp(md, "neq")) m->neq = true;
        else if (!strcmp(md, "exists")) exists = true;
        else if (!strcmp(md, "cidr")) cidr = true;
        else if (!strcmp(md, "ioc")) ioc = true;
        else if (!strcmp(md, "gt") || !strcmp(md, "gte") || !strcmp(md, "lt") || !strcmp(md, "lte")) {
            if (num) FAIL(cx, line, "only one numeric comparison per key");
            num = true;
            m->numop = !strcmp(md, "gt") ? N_GT : !strcmp(md, "gte") ? N_GTE : !strcmp(md, "lt") ? N_LT : N_LTE;
        } else if (!strcmp(md, "re") || !strcmp(md, "i") || !strcmp(md, "m") || !strcmp(md, "s")) {
            FAIL(cx, line, "modifier '%s': regular expressions are not supported yet "
                           "(use contains/startswith/endswith or wildcards)", md);
        } else if (!strcmp(md, "base64") || !strcmp(md, "base64offset") || !strcmp(md, "utf16") ||
                   !strcmp(md, "utf16le") || !strcmp(md, "utf16be") || !strcmp(md, "wide") ||
                   !strcmp(md, "windash") || !strcmp(md, "expand") || !strcmp(md, "fieldref") ||
                   !strcmp(md, "minute") || !strcmp(md, "hour") || !strcmp(md, "day") ||
                   !strcmp(md, "week") || !strcmp(md, "month") || !strcmp(md, "year")) {
            FAIL(cx, line, "modifier '%s' is not supported yet", md);
        } else {
            FAIL(cx, line, "unknown modifier '%s'", md);
        }
        mods = next;
    }
    int kinds = (num ? 1 : 0) + (cidr ? 1 : 0) + (ioc ? 1 : 0) + (exists ? 1 : 0) + (op != P_EQ ? 1 : 0);
    if (kinds > 1) FAIL(cx, line, "modifiers of '%s' cannot be combined", key);
    if ((exists || ioc) && (m->neq || m->all || m->cased))
        FAIL(cx, line, "'%s' cannot be combined with all/neq/cased", exists ? "exists" : "ioc");

    /* values: a scalar or a list of scalars */
    const mm_cnode *items[MAX_VALUES];
    int nitems = 0;
    if (val && val->type == MM_CN_MAP) FAIL(cx, line, "value of '%s' must be a value or a list", key);
    if (val && val->type == MM_CN_SEQ) {
        for (const mm_cnode *c = val->child; c; c = c->next) {
            if (c->type != MM_CN_SCALAR) FAIL(cx, c->line, "list of '%s' must hold plain values", key);
            if (is_null_node(c)) FAIL(cx, c->line, "null cannot be part of a list");
            if (nitems == MAX_VALUES) FAIL(cx, c->line, "too many values");
            items[nitems++] = c;
        }
        if (nitems == 0) FAIL(cx, line, "empty list for '%s'", key);
    } else if (is_null_node(val)) {
        if (num || cidr || ioc || exists || op != P_EQ || m->all || m->neq)
            FAIL(cx, line, "null cannot take modifiers");
        m->kind = M_NULL;
        return 0;
    } else {
        items[nitems++] = val;
    }

    mm_ftype ft = m->f.id != MM_F_NONE ? mm_field_type((mm_field)m->f.id) : MM_T_STR;
    if (exists) {
        if (nitems != 1) FAIL(cx, line, "exists takes true or false");
        const char *v = scalar(items[0]);
        if (!strcasecmp(v, "true") || !strcasecmp(v, "yes")) m->exists_want = true;
        else if (!strcasecmp(v, "false") || !strcasecmp(v, "no")) m->exists_want = false;
        else FAIL(cx, line, "exists takes true or false, not '%s'", v);
        m->kind = M_EXISTS;
        return 0;
    }
    if (ioc) {
        m->kind = M_IOC;
        for (int i = 0; i < nitems; i++) {
            unsigned t = mm_ioc_type_parse(scalar(items[i]));
            if (!t) FAIL(cx, items[i]->line, "ioc type '%s' (use any, ip, domain, url, hash, md5, sha1, sha256)",
                         scalar(items[i]));
            m->ioc_types |= t;
        }
        return 0;
    }
    m->pats = xcalloc((size_t)nitems, sizeof(pat));
    m->npats = nitems;
    for (int i = 0; i < nitems; i++) {
        const char *v = scalar(items[i]);
        pat *p = &m->pats[i];
        if (num) {
            m->kind = M_NUM;
            int64_t x;
            if (!mm_str_to_i64(mm_str_c(v), &x)) FAIL(cx, items[i]->line, "'%s' is not an integer", v);
            p->num = x;
        } else if (cidr) {
            m->kind = M_CIDR;
            if (!mm_cidr_parse(mm_str_c(v), &p->cidr)) FAIL(cx, items[i]->line, "'%s' is not a CIDR", v);
        } else {
            m->kind = M_STR;
            make_str_pat(p, v, op, m->cased, ft);
        }
    }
    return 0;
}

static void match_free(mm_match *m) {
    free((char *)m->f.name);
    for (int i = 0; i < m->npats; i++) pat_free(&m->pats[i]);
    free(m->pats);
}

static int compile_map(cctx *cx, const mm_cnode *map, mm_map *out) {
    int n = 0;
    for (const mm_cnode *c = map->child; c; c = c->next) n++;
    if (n == 0) FAIL(cx, map->line, "empty selection");
    out->m = xcalloc((size_t)n, sizeof(mm_match));
    out->n = 0;
    for (const mm_cnode *c = map->child; c; c = c->next) {
        if (!c->key) FAIL(cx, c->line, "selection entry without a key");
        if (compile_match(cx, c->key, c->child && c->type != MM_CN_SCALAR ? c : c, c->line, &out->m[out->n]) < 0) {
            match_free(&out->m[out->n]);
            return -1;
        }
        out->n++;
    }
    return 0;
}

static int compile_sel(cctx *cx, const mm_cnode *n, mm_sel *sel) {
    sel->name = xstrdup(n->key);
    if (n->type == MM_CN_MAP) {
        sel->maps = xcalloc(1, sizeof(mm_map));
        sel->nmaps = 1;
        return compile_map(cx, n, &sel->maps[0]);
    }
    const mm_cnode *items = n->type == MM_CN_SEQ ? n->child : n;
    if (n->type == MM_CN_SEQ && !items) FAIL(cx, n->line, "empty selection '%s'", n->key);
    if (n->type == MM_CN_SEQ && items->type == MM_CN_MAP) {
        int cnt = 0;
        for (const mm_cnode *c = items; c; c = c->next) {
            if (c->type != MM_CN_MAP) FAIL(cx, c->line, "selection '%s' mixes maps and values", n->key);
            cnt++;
        }
        sel->maps = xcalloc((size_t)cnt, sizeof(mm_map));
        for (const mm_cnode *c = items; c; c = c->next) {
            if (compile_map(cx, c, &sel->maps[sel->nmaps++]) < 0) return -1;
        }
        return 0;
    }
    /* keywords: a value or a list of values, searched in the raw record */
    sel->keywords = true;
    int cnt = 0;
    for (const mm_cnode *c = items; c; c = n->type == MM_CN_SEQ ? c->next : NULL) {
        if (c->type != MM_CN_SCALAR || is_null_node(c))
            FAIL(cx, c->line, "keyword selection '%s' must hold plain values", n->key);
        if (++cnt > MAX_VALUES) FAIL(cx, c->line, "too many keywords");
    }
    sel->kw = xcalloc((size_t)cnt, sizeof(pat));
    for (const mm_cnode *c = items; c; c = n->type == MM_CN_SEQ ? c->next : NULL)
        make_str_pat(&sel->kw[sel->nkw++], scalar(c), P_CONTAINS, false, MM_T_STR);
    return 0;
}

/* ---------------------------------------------------------------- condition */

enum { T_EOF, T_LP, T_RP, T_AND, T_OR, T_NOT, T_OF, T_ALL, T_ANY, T_THEM, T_NUM, T_ID, T_BAD };

typedef struct cparse {
    cctx *cx;
    const char *s;
    size_t pos;
    int line;
    int tok;
    char id[128];
    int num;
    int depth;
} cparse;

static bool id_char(char c) {
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == '*' || c == '?';
}

static void next_tok(cparse *p) {
    const char *s = p->s;
    while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' || s[p->pos] == '\r') p->pos++;
    char c = s[p->pos];
    if (!c) { p->tok = T_EOF; return; }
    if (c == '(') { p->pos++; p->tok = T_LP; return; }
    if (c == ')') { p->pos++; p->tok = T_RP; return; }
    if (!id_char(c)) { p->tok = T_BAD; p->id[0] = c; p->id[1] = 0; return; }
    size_t st = p->pos;
    while (id_char(s[p->pos])) p->pos++;
    size_t n = p->pos - st;
    if (n >= sizeof p->id) { p->tok = T_BAD; snprintf(p->id, sizeof p->id, "(identifier too long)"); return; }
    memcpy(p->id, s + st, n);
    p->id[n] = 0;
    bool digits = true;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)p->id[i])) digits = false;
    if (digits) {
        p->tok = T_NUM;
        p->num = n > 6 ? 1000000 : atoi(p->id);
        return;
    }
    if (!strcasecmp(p->id, "and")) p->tok = T_AND;
    else if (!strcasecmp(p->id, "or")) p->tok = T_OR;
    else if (!strcasecmp(p->id, "not")) p->tok = T_NOT;
    else if (!strcasecmp(p->id, "of")) p->tok = T_OF;
    else if (!strcasecmp(p->id, "all")) p->tok = T_ALL;
    else if (!strcasecmp(p->id, "any")) p->tok = T_ANY;
    else if (!strcasecmp(p->id, "them")) p->tok = T_THEM;
    else p->tok = T_ID;
}

static int new_cond(mm_rule *r, int op, int a, int b) {
    r->conds = xrealloc(r->conds, (size_t)(r->nconds + 1) * sizeof(mm_cond));
    mm_cond *c = &r->conds[r->nconds];
    memset(c, 0, sizeof *c);
    c->op = (uint8_t)op;
    c->a = a;
    c->b = b;
    return r->nconds++;
}

/* Selection-name pattern of "1 of sel*": '*' and '?', iterative (no blow-up). */
static bool name_glob(const char *pt, const char *s) {
    const char *star = NULL, *ss = NULL;
    while (*s) {
        if (*pt == '?' || (*pt && *pt != '*' && *pt == *s)) {
            pt++, s++;
        } else if (*pt == '*') {
            star = pt++;
            ss = s;
        } else if (star) {
            pt = star + 1;
            s = ++ss;
        } else {
            return false;
        }
    }
    while (*pt == '*') pt++;
    return !*pt;
}

static int parse_or(cparse *p);

#define CFAIL(p, ...) FAIL((p)->cx, (p)->line, __VA_ARGS__)

static int parse_primary(cparse *p) {
    mm_rule *r = p->cx->r;
    if (++p->depth > MAX_DEPTH) CFAIL(p, "condition nested too deeply");
    int res;
    if (p->tok == T_NOT) {
        next_tok(p);
        int a = parse_primary(p);
        if (a < 0) return -1;
        res = new_cond(r, C_NOT, a, -1);
    } else if (p->tok == T_LP) {
        next_tok(p);
        int a = parse_or(p);
        if (a < 0) return -1;
        if (p->tok != T_RP) CFAIL(p, "condition: missing ')'");
        next_tok(p);
        res = a;
    } else if (p->tok == T_NUM || p->tok == T_ALL || p->tok == T_ANY) {
        int k = p->tok == T_NUM ? p->num : p->tok == T_ANY ? 1 : -1;
        next_tok(p);
        if (p->tok != T_OF) CFAIL(p, "condition: expected 'of' after a count");
        next_tok(p);
        int *sels = xcalloc((size_t)(r->nsels ? r->nsels : 1), sizeof(int));
        int n = 0;
        if (p->tok == T_THEM) {
            for (int i = 0; i < r->nsels; i++)
                if (r->sels[i].name[0] != '_') sels[n++] = i;
        } else if (p->tok == T_ID) {
            for (int i = 0; i < r->nsels; i++)
                if (name_glob(p->id, r->sels[i].name)) sels[n++] = i;
        } else {
            free(sels);
            CFAIL(p, "condition: expected a selection pattern or 'them' after 'of'");
        }
        if (n == 0) {
            free(sels);
            CFAIL(p, "condition: '%s' matches no selection", p->tok == T_THEM ? "them" : p->id);
        }
        if (k == 0 || k > n) {
            free(sels);
            CFAIL(p, "condition: %d of %s: only %d selections match", k, p->tok == T_THEM ? "them" : p->id, n);
        }
        next_tok(p);
        res = new_cond(r, C_OF, -1, -1);
        r->conds[res].sels = sels;
        r->conds[res].n = n;
        r->conds[res].k = k < 0 ? n : k;
    } else if (p->tok == T_ID) {
        int found = -1;
        for (int i = 0; i < r->nsels; i++)
            if (!strcmp(r->sels[i].name, p->id)) found = i;
        if (found < 0) CFAIL(p, "condition: unknown selection '%s'", p->id);
        next_tok(p);
        res = new_cond(r, C_SEL, found, -1);
    } else if (p->tok == T_EOF) {
        CFAIL(p, "condition ends too early");
    } else if (p->tok == T_BAD && p->id[0] == '|') {
        CFAIL(p, "condition: aggregations ('| count() ...') are not supported; write a correlation rule");
    } else {
        CFAIL(p, "condition: unexpected '%s'", p->tok == T_RP ? ")" : p->id);
    }
    p->depth--;
    return res;
}

static int parse_and(cparse *p) {
    int a = parse_primary(p);
    while (a >= 0 && p->tok == T_AND) {
        next_tok(p);
        int b = parse_primary(p);
        if (b < 0) return -1;
        a = new_cond(p->cx->r, C_AND, a, b);
    }
    return a;
}

static int parse_or(cparse *p) {
    if (++p->depth > MAX_DEPTH) CFAIL(p, "condition nested too deeply");
    int a = parse_and(p);
    while (a >= 0 && p->tok == T_OR) {
        next_tok(p);
        int b = parse_and(p);
        if (b < 0) return -1;
        a = new_cond(p->cx->r, C_OR, a, b);
    }
    p->depth--;
    return a;
}

static int parse_condition(cctx *cx, const char *text, int line) {
    cparse p = {.cx = cx, .s = text, .line = line};
    next_tok(&p);
    int root = parse_or(&p);
    if (root < 0) return -1;
    if (p.tok == T_BAD && p.id[0] == '|')
        CFAIL(&p, "condition: aggregations ('| count() ...') are not supported; write a correlation rule");
    if (p.tok != T_EOF) CFAIL(&p, "condition: unexpected '%s' after the expression", p.tok == T_RP ? ")" : p.id);
    return root;
}

/* ---------------------------------------------------------------- anchors */

#define ANCH_VALS 32
#define ANCH_MAX 6

typedef struct cand {
    const mm_fref *f;
    int n;
    const pat *v[ANCH_VALS];
} cand;
typedef struct cands {
    int n;
    cand c[ANCH_MAX];
} cands;

static void cands_add(cands *cs, const cand *c) {
    for (int i = 0; i < cs->n; i++)
        if (!strcmp(cs->c[i].f->name, c->f->name)) {
            /* both required: keep the smaller set (either is a valid necessity) */
            if (c->n < cs->c[i].n) cs->c[i] = *c;
            return;
        }
    if (cs->n < ANCH_MAX) cs->c[cs->n++] = *c;
}

static void sel_cands(const mm_sel *s, cands *out) {
    out->n = 0;
    if (s->keywords || s->nmaps != 1) return;
    const mm_map *mp = &s->maps[0];
    for (int j = 0; j < mp->n; j++) {
        const mm_match *m = &mp->m[j];
        if (m->kind != M_STR || m->neq || (m->all && m->npats > 1) || m->npats > ANCH_VALS) continue;
        if (m->f.id != MM_F_NONE && mm_field_type((mm_field)m->f.id) != MM_T_STR) continue;
        bool ok = true;
        for (int i = 0; i < m->npats; i++)
            if (m->pats[i].op != P_EQ) ok = false;
        if (!ok) continue;
        cand c = {.f = &m->f, .n = m->npats};
        for (int i = 0; i < m->npats; i++) c.v[i] = &m->pats[i];
        cands_add(out, &c);
    }
}

/* a or b: a field both sides need, with the union of their values */
static void cands_or(const cands *a, const cands *b, cands *out) {
    out->n = 0;
    for (int i = 0; i < a->n; i++)
        for (int j = 0; j < b->n; j++) {
            if (strcmp(a->c[i].f->name, b->c[j].f->name) != 0) continue;
            if (a->c[i].n + b->c[j].n > ANCH_VALS) continue;
            cand c = a->c[i];
            for (int k = 0; k < b->c[j].n; k++) c.v[c.n++] = b->c[j].v[k];
            if (out->n < ANCH_MAX) out->c[out->n++] = c;
        }
}

static void cond_cands(const mm_rule *r, int n, cands *out, int depth) {
    out->n = 0;
    if (depth > 12) return;
    const mm_cond *c = &r->conds[n];
    cands a, b;
    switch (c->op) {
    case C_SEL: sel_cands(&r->sels[c->a], out); return;
    case C_AND:
        cond_cands(r, c->a, out, depth + 1);
        cond_cands(r, c->b, &b, depth + 1);
        for (int i = 0; i < b.n; i++) cands_add(out, &b.c[i]);
        return;
    case C_OR:
        cond_cands(r, c->a, &a, depth + 1);
        cond_cands(r, c->b, &b, depth + 1);
        cands_or(&a, &b, out);
        return;
    case C_NOT: return;
    default:
        if (c->k == c->n) {
            for (int i = 0; i < c->n; i++) {
                sel_cands(&r->sels[c->sels[i]], &b);
                for (int j = 0; j < b.n; j++) cands_add(out, &b.c[j]);
            }
        } else if (c->k == 1) {
            sel_cands(&r->sels[c->sels[0]], out);
            for (int i = 1; i < c->n && out->n; i++) {
                sel_cands(&r->sels[c->sels[i]], &b);
                a = *out;
                cands_or(&a, &b, out);
            }
        }
        return;
    }
}

/* Lower numbers are better index keys: most selective first. */
static int field_rank(const char *name) {
    size_t n = strlen(name);
#define ENDS(s) (n >= sizeof(s) - 1 && !strcmp(name + n - (sizeof(s) - 1), s))
    if (!strcmp(name, "event.code") || ENDS(".logid")) return 0;
    if (ENDS(".subtype")) return 1;
    if (ENDS(".eventtype")) return 2;
    if (!strcmp(name, "event.action") || ENDS(".action")) return 3;
    if (ENDS(".type")) return 5;
    if (!strncmp(name, "observer.", 9)) return 9;
    return 4;
#undef ENDS
}

static void pick_anchor(mm_rule *r) {
    cands cs;
    cond_cands(r, r->root, &cs, 0);
    int best = -1;
    for (int i = 0; i < cs.n; i++) {
        if (best < 0 || cs.c[i].n < cs.c[best].n ||
            (cs.c[i].n == cs.c[best].n && field_rank(cs.c[i].f->name) < field_rank(cs.c[best].f->name)))
            best = i;
    }
    if (best < 0) return;
    const cand *c = &cs.c[best];
    char **vals = xcalloc((size_t)c->n, sizeof(char *));
    int nv = 0;
    for (int i = 0; i < c->n; i++) {
        char *v = xcalloc(c->v[i]->len + 1, 1);
        for (uint32_t k = 0; k < c->v[i]->len; k++) v[k] = lc(c->v[i]->s[k]);
        bool dup = false;
        for (int j = 0; j < nv; j++)
            if (!strcmp(vals[j], v)) dup = true;
        if (dup) free(v);
        else vals[nv++] = v;
    }
    r->has_anchor = true;
    r->anchor.f.name = xstrdup(c->f->name);
    r->anchor.f.id = c->f->id;
    r->anchor.nvals = nv;
    r->anchor.vals = (const char *const *)vals;
}

/* ---------------------------------------------------------------- documents */

static const char *product_prefix(const char *product) {
    static const struct { const char *product, *prefix; } t[] = {
        {"fortigate", "fortinet.firewall"},
        {"fortios", "fortinet.firewall"},
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(t); i++)
        if (!strcasecmp(product, t[i].product)) return t[i].prefix;
    return NULL;
}

static void technique_from_tags(const mm_cnode *tags, char out[24]) {
    out[0] = 0;
    if (!tags || tags->type != MM_CN_SEQ) return;
    for (const mm_cnode *t = tags->child; t; t = t->next) {
        const char *v = scalar(t);
        if (!v || strncasecmp(v, "attack.t", 8) != 0) continue;
        const char *d = v + 8;
        int nd = 0;
        while (isdigit((unsigned char)d[nd])) nd++;
        if (nd != 4) continue;
        int len = 4;
        if (d[4] == '.') {
            int ns = 0;
            while (isdigit((unsigned char)d[5 + ns])) ns++;
            if (ns != 3 || d[8]) continue;
            len = 8;
        } else if (d[4]) {
            continue;
        }
        out[0] = 'T';
        memcpy(out + 1, d, (size_t)len);
        out[1 + len] = 0;
        return;
    }
}

static int compile_detection(cctx *cx, const mm_cnode *det) {
    mm_rule *r = cx->r;
    if (det->type != MM_CN_MAP) FAIL(cx, det->line, "detection must be a map");
    const mm_cnode *cond = NULL;
    int n = 0;
    for (const mm_cnode *c = det->child; c; c = c->next) {
        if (!c->key) FAIL(cx, c->line, "detection entry without a name");
        if (!strcmp(c->key, "condition")) cond = c;
        else if (!strcmp(c->key, "timeframe"))
            FAIL(cx, c->line, "'timeframe' belongs to the old aggregation syntax; write a correlation rule");
        else n++;
    }
    if (!cond) FAIL(cx, det->line, "detection has no condition");
    if (n == 0) FAIL(cx, det->line, "detection has no selection");
    if (n > MAX_SELS) FAIL(cx, det->line, "more than %d selections", MAX_SELS);
    r->sels = xcalloc((size_t)n, sizeof(mm_sel));
    for (const mm_cnode *c = det->child; c; c = c->next) {
        if (c == cond) continue;
        for (int i = 0; i < r->nsels; i++)
            if (!strcmp(r->sels[i].name, c->key)) FAIL(cx, c->line, "selection '%s' defined twice", c->key);
        int rc = compile_sel(cx, c, &r->sels[r->nsels]);
        r->nsels++;
        if (rc < 0) return -1;
    }
    int root = -1;
    if (cond->type == MM_CN_SCALAR && cond->value) {
        root = parse_condition(cx, cond->value, cond->line);
        if (root < 0) return -1;
    } else if (cond->type == MM_CN_SEQ && cond->child) {
        for (const mm_cnode *c = cond->child; c; c = c->next) {
            if (c->type != MM_CN_SCALAR || !c->value) FAIL(cx, c->line, "condition list must hold strings");
            int x = parse_condition(cx, c->value, c->line);
            if (x < 0) return -1;
            root = root < 0 ? x : new_cond(r, C_OR, root, x);
        }
    } else {
        FAIL(cx, cond->line, "condition must be a string or a list of strings");
    }
    r->root = root;
    pick_anchor(r);
    return 0;
}

static int compile_correlation(cctx *cx, const mm_cnode *c) {
    mm_rule *r = cx->r;
    if (c->type != MM_CN_MAP) FAIL(cx, c->line, "correlation must be a map");
    const mm_cnode *type = mm_cnode_get(c, "type"), *rules = mm_cnode_get(c, "rules"),
                   *group = mm_cnode_get(c, "group-by"), *span = mm_cnode_get(c, "timespan"),
                   *cond = mm_cnode_get(c, "condition"), *gen = mm_cnode_get(c, "generate");
    for (const mm_cnode *k = c->child; k; k = k->next)
        if (!k->key || (strcmp(k->key, "type") && strcmp(k->key, "rules") && strcmp(k->key, "group-by") &&
                        strcmp(k->key, "timespan") && strcmp(k->key, "condition") && strcmp(k->key, "generate") &&
                        strcmp(k->key, "aliases")))
            FAIL(cx, k->line, "unknown correlation key '%s'", k->key ? k->key : "?");
    if (!scalar(type)) FAIL(cx, c->line, "correlation needs a type");
    if (strcmp(scalar(type), "event_count") != 0)
        FAIL(cx, type->line, "correlation type '%s' is not supported yet (event_count is)", scalar(type));
    r->corr_type = MM_CORR_EVENT_COUNT;
    if (!rules) FAIL(cx, c->line, "correlation needs rules");
    if (scalar(rules)) {
        r->corr_refs = xcalloc(1, sizeof(char *));
        r->corr_refs[r->ncorr_refs++] = xstrdup(scalar(rules));
    } else if (rules->type == MM_CN_SEQ && rules->child) {
        int n = 0;
        for (const mm_cnode *k = rules->child; k; k = k->next) {
            if (!scalar(k) || !*scalar(k)) FAIL(cx, k->line, "correlation rules must be names or ids");
            n++;
        }
        r->corr_refs = xcalloc((size_t)n, sizeof(char *));
        for (const mm_cnode *k = rules->child; k; k = k->next) r->corr_refs[r->ncorr_refs++] = xstrdup(scalar(k));
    } else {
        FAIL(cx, rules->line, "correlation rules must be a list of rule names or ids");
    }
    if (group) {
        int n = 0;
        const mm_cnode *first = scalar(group) ? group : group->type == MM_CN_SEQ ? group->child : NULL;
        if (!first && group->type != MM_CN_SEQ) FAIL(cx, group->line, "group-by must be a list of fields");
        for (const mm_cnode *k = first; k; k = scalar(group) ? NULL : k->next) {
            if (!scalar(k)) FAIL(cx, k->line, "group-by must be a list of fields");
            if (++n > 8) FAIL(cx, k->line, "at most 8 group-by fields");
        }
        r->group = xcalloc((size_t)(n ? n : 1), sizeof(mm_fref));
        for (const mm_cnode *k = first; k; k = scalar(group) ? NULL : k->next) {
            mm_err fe;
            char *nm = xstrdup(scalar(k));
            if (!mm_fref_resolve(nm, &r->group[r->ngroup], &fe)) {
                free(nm);
                FAIL(cx, k->line, "%s", fe.msg);
            }
            r->ngroup++;
        }
        /* Records reach workers by a hash of their source address (the internal
         * host), so a window grouped by anything else only sees one worker's share. */
        bool by_source = false;
        for (int i = 0; i < r->ngroup; i++) by_source |= r->group[i].id == MM_F_SOURCE_IP;
        if (!by_source)
            mm_warn("%s:%d: correlation grouped without source.ip: with several workers each "
                    "counts only the events routed to it (workers: 1 counts exactly)",
                    cx->file, group->line);
    }
    if (!scalar(span)) FAIL(cx, c->line, "correlation needs a timespan (e.g. 5m)");
    if (!mm_duration_parse(scalar(span), &r->timespan_ns) || r->timespan_ns <= 0)
        FAIL(cx, span->line, "timespan '%s' (use e.g. 30s, 5m, 1h, 1d)", scalar(span));
    r->timespan_text = xstrdup(scalar(span));
    if (!cond || cond->type != MM_CN_MAP || !cond->child)
        FAIL(cx, c->line, "correlation condition must be a map such as {gte: 5}");
    r->threshold = 0;
    for (const mm_cnode *k = cond->child; k; k = k->next) {
        int64_t x;
        if (!scalar(k) || !mm_str_to_i64(mm_str_c(scalar(k)), &x))
            FAIL(cx, k->line, "correlation condition value must be an integer");
        if (!strcmp(k->key, "gte") || !strcmp(k->key, "eq")) r->threshold = x;
        else if (!strcmp(k->key, "gt")) r->threshold = x + 1;
        else FAIL(cx, k->line, "correlation condition '%s' is not supported (gte, gt, eq are)", k->key);
    }
    if (r->threshold < 1 || r->threshold > 1000)
        FAIL(cx, cond->line, "correlation threshold must be between 1 and 1000");
    if (gen) {
        const char *g = scalar(gen);
        if (!g || (strcasecmp(g, "true") && strcasecmp(g, "false")))
            FAIL(cx, gen->line, "generate must be true or false");
        r->generate = !strcasecmp(g, "true");
    }
    return 0;
}

int mm_rule_compile(const mm_cnode *doc, const char *file, int docno, mm_rule **out, mm_err *err) {
    *out = NULL;
    mm_rule *r = xcalloc(1, sizeof *r);
    r->root = -1;
    r->file = xstrdup(file ? file : "(rule)");
    r->line = doc ? doc->line : 0;
    cctx cx = {.file = r->file, .err = err, .r = r};
    int rc = -1;
#define BAIL(line, ...)                                                                   \
    do {                                                                                  \
        char m_[1024];                                                                     \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                             \
        mm_err_set(err, "%s:%d: %s", r->file, (line), m_);                                \
        goto out;                                                                         \
    } while (0)
    if (!doc || doc->type != MM_CN_MAP) BAIL(doc ? doc->line : 1, "a rule must be a YAML map");
    const mm_cnode *title = mm_cnode_get(doc, "title"), *id = mm_cnode_get(doc, "id"),
                   *name = mm_cnode_get(doc, "name"), *level = mm_cnode_get(doc, "level"),
                   *tags = mm_cnode_get(doc, "tags"), *ls = mm_cnode_get(doc, "logsource"),
                   *det = mm_cnode_get(doc, "detection"), *corr = mm_cnode_get(doc, "correlation"),
                   *reason = mm_cnode_get(doc, "reason"), *gen = mm_cnode_get(doc, "generate");
    if (!scalar(title) || !*scalar(title)) BAIL(doc->line, "rule has no title");
    r->title = xstrdup(scalar(title));
    if (id && !scalar(id)) BAIL(id->line, "id must be a string");
    if (name && !scalar(name)) BAIL(name->line, "name must be a string");
    if (name && *scalar(name)) r->name = xstrdup(scalar(name));
    if (id && *scalar(id)) r->id = xstrdup(scalar(id));
    else if (r->name) r->id = xstrdup(r->name);
    else {
        char b[600];
        const char *base = strrchr(r->file, '/');
        snprintf(b, sizeof b, "%s#%d", base ? base + 1 : r->file, docno);
        r->id = xstrdup(b);
    }
    r->level = "medium";
    if (level) {
        const char *lv = scalar(level);
        bool ok = false;
        for (size_t i = 0; lv && i < MM_ARRAY_LEN(levels); i++)
            if (!strcmp(lv, levels[i])) { r->level = levels[i]; ok = true; }
        if (!ok) BAIL(level->line, "level must be informational, low, medium, high or critical");
        r->level_set = true;
    }
    if (tags && tags->type != MM_CN_SEQ) BAIL(tags->line, "tags must be a list");
    technique_from_tags(tags, r->technique);
    if (reason) {
        if (!scalar(reason)) BAIL(reason->line, "reason must be a string");
        r->reason = xstrdup(scalar(reason));
    }
    if (ls) {
        if (ls->type != MM_CN_MAP) BAIL(ls->line, "logsource must be a map");
        const mm_cnode *pr = mm_cnode_get(ls, "product");
        if (pr) {
            if (!scalar(pr) || !*scalar(pr)) BAIL(pr->line, "logsource product must be a string");
            r->product = xstrdup(scalar(pr));
            r->vendor_prefix = product_prefix(r->product);
        }
    }
    if (det && corr) BAIL(doc->line, "a rule has either detection or correlation, not both");
    if (det) {
        if (compile_detection(&cx, det) < 0) goto out;
        if (gen) BAIL(gen->line, "generate belongs to a correlation rule");
    } else if (corr) {
        if (compile_correlation(&cx, corr) < 0) goto out;
        if (gen) {
            const char *g = scalar(gen);
            if (!g || (strcasecmp(g, "true") && strcasecmp(g, "false")))
                BAIL(gen->line, "generate must be true or false");
            r->generate = !strcasecmp(g, "true");
        }
    } else {
        BAIL(doc->line, "rule has neither detection nor correlation");
    }
    rc = 0;
out:
    if (rc < 0) {
        mm_rule_free(r);
        return MM_EINVAL;
    }
    *out = r;
    return 0;
#undef BAIL
}

void mm_rule_free(mm_rule *r) {
    if (!r) return;
    free(r->id);
    free(r->name);
    free(r->title);
    free(r->reason);
    free(r->file);
    free((char *)r->product);
    for (int i = 0; i < r->nsels; i++) {
        mm_sel *s = &r->sels[i];
        free(s->name);
        for (int j = 0; j < s->nmaps; j++) {
            for (int k = 0; k < s->maps[j].n; k++) match_free(&s->maps[j].m[k]);
            free(s->maps[j].m);
        }
        free(s->maps);
        for (int j = 0; j < s->nkw; j++) pat_free(&s->kw[j]);
        free(s->kw);
    }
    free(r->sels);
    for (int i = 0; i < r->nconds; i++) free(r->conds[i].sels);
    free(r->conds);
    if (r->has_anchor) {
        free((char *)r->anchor.f.name);
        for (int i = 0; i < r->anchor.nvals; i++) free((char *)r->anchor.vals[i]);
        free((void *)r->anchor.vals);
    }
    for (int i = 0; i < r->ncorr_refs; i++) free(r->corr_refs[i]);
    free(r->corr_refs);
    for (int i = 0; i < r->ngroup; i++) free((char *)r->group[i].name);
    free(r->group);
    free(r->timespan_text);
    free(r->corrs);
    free(r->bases);
    free(r);
}

/* ---------------------------------------------------------------- reasons */

/* Values from logs go into one line of text: controls become '?', long values are cut. */
static void put_clean(mm_buf *b, mm_str s) {
    uint32_t n = s.len > 200 ? 200 : s.len;
    for (uint32_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        mm_buf_putc(b, (c < 0x20 || c == 0x7f) ? '?' : (char)c);
    }
    if (s.len > n) mm_buf_puts(b, "...");
}

static void put_field(mm_buf *b, const mm_event *ev, const char *name) {
    mm_fref f;
    mm_err e;
    if (!mm_fref_resolve(name, &f, &e)) {
        mm_buf_putc(b, '-');
        return;
    }
    mm_fiter it;
    mm_str s;
    const mm_value *v;
    mm_fiter_init(&it, ev, &f);
    if (mm_fiter_next(&it, &s, &v) && s.len) put_clean(b, s);
    else mm_buf_putc(b, '-');
}

static bool field_has(const mm_event *ev, const char *name) {
    mm_fref f;
    mm_err e;
    return mm_fref_resolve(name, &f, &e) && field_present(ev, &f);
}

static void put_ioc(mm_buf *b, const mm_eval *cx) {
    mm_buf_puts(b, cx->hit_field);
    mm_buf_putc(b, ' ');
    put_clean(b, cx->hit_value);
    mm_buf_printf(b, " matches %s indicator %s (list %s", mm_ioc_type_name(cx->hit.type), cx->hit.indicator,
                  cx->hit.list);
    if (cx->hit.desc) {
        mm_buf_puts(b, ": ");
        put_clean(b, mm_str_c(cx->hit.desc));
    }
    mm_buf_putc(b, ')');
}

void mm_rule_reason(const mm_rule *r, const mm_event *ev, const mm_eval *cx, int64_t count,
                    const char *group, mm_buf *out) {
    if (!r->reason) {
        if (r->corr_type) {
            mm_buf_printf(out, "%lld events of %s", (long long)count, r->title);
            if (group && *group) mm_buf_printf(out, " from %s", group);
            mm_buf_printf(out, " within %s", r->timespan_text);
        } else if (cx && cx->ioc_hit) {
            put_ioc(out, cx);
        } else {
            mm_buf_puts(out, r->title);
            static const uint16_t keys[] = {MM_F_SOURCE_IP, MM_F_DESTINATION_IP, MM_F_USER_NAME};
            static const char *const names[] = {"source", "destination", "user"};
            for (size_t i = 0; i < MM_ARRAY_LEN(keys); i++) {
                const mm_value *v = mm_event_get(ev, (mm_field)keys[i]);
                if (!v) continue;
                mm_buf_printf(out, " %s ", names[i]);
                put_clean(out, v->s);
            }
        }
        return;
    }
    const char *t = r->reason;
    while (*t) {
        const char *o = strchr(t, '{');
        const char *c = o ? strchr(o, '}') : NULL;
        if (!o || !c) {
            mm_buf_puts(out, t);
            break;
        }
        mm_buf_put(out, t, (size_t)(o - t));
        char name[128];
        size_t nl = (size_t)(c - o - 1);
        if (nl == 0 || nl >= sizeof name) {
            mm_buf_put(out, o, (size_t)(c - o + 1));
            t = c + 1;
            continue;
        }
        memcpy(name, o + 1, nl);
        name[nl] = 0;
        bool hit = cx && cx->ioc_hit;
        if (!strcmp(name, "count")) mm_buf_printf(out, "%lld", (long long)count);
        else if (!strcmp(name, "timespan")) mm_buf_puts(out, r->timespan_text ? r->timespan_text : "-");
        else if (!strcmp(name, "group")) mm_buf_puts(out, group && *group ? group : "-");
        else if (!strcmp(name, "title")) mm_buf_puts(out, r->title);
        else if (!strcmp(name, "ioc")) { if (hit) put_ioc(out, cx); else mm_buf_putc(out, '-'); }
        else if (!strcmp(name, "ioc.indicator")) mm_buf_puts(out, hit ? cx->hit.indicator : "-");
        else if (!strcmp(name, "ioc.list")) mm_buf_puts(out, hit ? cx->hit.list : "-");
        else if (!strcmp(name, "ioc.field")) mm_buf_puts(out, hit ? cx->hit_field : "-");
        else if (!strcmp(name, "ioc.type")) mm_buf_puts(out, hit ? mm_ioc_type_name(cx->hit.type) : "-");
        else if (!strcmp(name, "ioc.value")) { if (hit) put_clean(out, cx->hit_value); else mm_buf_putc(out, '-'); }
        else if (!strcmp(name, "ioc.description")) mm_buf_puts(out, hit && cx->hit.desc ? cx->hit.desc : "-");
        else {
            /* {a|b}: the first of the fields the event has */
            char *alt = name, *bar;
            bool put = false;
            while (!put && alt) {
                bar = strchr(alt, '|');
                if (bar) *bar = 0;
                if (!bar || field_has(ev, alt)) {
                    put_field(out, ev, alt);
                    put = true;
                }
                alt = bar ? bar + 1 : NULL;
            }
        }
        t = c + 1;
    }
}
