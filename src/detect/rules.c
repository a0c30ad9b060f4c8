/* rules: the rule compiler and evaluator — a Sigma-compatible subset, so the later
 * full Sigma engine can take the same files unchanged.  The format (selections,
 * modifiers including the `ioc` extension, conditions, event_count correlations,
 * `reason` templates) is documented for users in docs/rules.md.
 *
 * The compiled rule also records an "anchor": a field whose value the rule needs
 * to be one of a few literals (fortinet.firewall.subtype = ips).  detect.c indexes
 * rules by their anchor so an event only evaluates the rules that can match it. */
#define _GNU_SOURCE   /* memmem */
#include "detect_int.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SELS MM_MAX_SELS
#define MAX_DEPTH 64
#define MAX_VALUES 65536

enum { P_EQ, P_CONTAINS, P_STARTS, P_ENDS, P_GLOB, P_RE };
enum { M_STR, M_NUM, M_CIDR, M_IOC, M_EXISTS, M_NULL, M_FIELDREF, M_TIME };
enum { N_GT, N_GTE, N_LT, N_LTE, N_EQ };
enum { C_SEL, C_AND, C_OR, C_NOT, C_OF };
enum { T_MINUTE = 1, T_HOUR, T_DAY, T_WEEK, T_MONTH, T_YEAR };

typedef struct pat {
    char *s;            /* lower-cased unless the match is cased; escapes resolved */
    uint32_t len;
    uint8_t op;         /* P_* */
    uint8_t *wild;      /* P_GLOB: per byte 0 literal, 1 '*', 2 '?' */
    int64_t num;
    mm_cidr cidr;
    mm_ip ip;
    bool is_ip;
    pcre2_code *re;     /* P_RE */
    char *relit;        /* P_RE: a literal every match contains (for the prefilter), or NULL */
    uint32_t relitlen;
    mm_fref *ref;       /* M_FIELDREF: the other field and its mapped alternatives */
    int nref;
    int group;          /* the value it came from: windash/base64offset/expand make
                         * several patterns of one value, and `all` wants each value */
} pat;

/* One `field|modifiers: values` entry.  A Sigma field may map to several event
 * fields (Image is NewProcessName in Security 4688): f is the first, alt the rest,
 * and the values of all of them are tried. */
typedef struct mm_match {
    mm_fref f;
    mm_fref *alt;
    int nalt;
    uint8_t kind;       /* M_* */
    uint8_t numop;
    uint8_t timepart;   /* M_TIME: T_* */
    bool all, cased, neq, exists_want;
    bool or_null;       /* the value list held null: a missing field matches too */
    bool kw;            /* keys like '|all': keywords with modifiers, searched in the record */
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

/* ---------------------------------------------------------------- fields */

bool mm_fref_resolve(const char *name, mm_fref *out, mm_err *err) {
    size_t len = strlen(name);
    out->name = name;
    out->id = MM_F_NONE;
    out->raw = false;
    out->vsplit = 0;
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
        /* A bare name (Sigma's CommandLine, c-uri) that no mapping turned into an
         * event field: looked up as a vendor key of that name.  An event without it
         * simply does not match. */
        out->raw = true;
        return true;
    }
    /* a typo in a known namespace (source.ipp) is an error; a vendor key under a
     * prefix no known field uses (winlog.event_data.X, fortinet.firewall.X) is fine */
    size_t ns = len - 1;
    while (name[ns] != '.') ns--;
    out->vsplit = (uint16_t)(ns < UINT16_MAX ? ns : 0);
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

static const mm_str *vendor_lookup(const mm_event *ev, const mm_fref *f) {
    if (!ev->nvendor) return NULL;
    if (f->raw) return mm_event_vendor_get(ev, f->name);
    const char *pre = ev->vendor_prefix;
    size_t pl = f->vsplit;
    /* strncmp stops at the end of a shorter prefix before pre[pl] is read */
    if (!pre || !pl || strncmp(f->name, pre, pl) != 0 || pre[pl]) return NULL;
    return mm_event_vendor_get(ev, f->name + pl + 1);
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
    const mm_str *vs = vendor_lookup(it->ev, &it->f);
    if (!vs) return false;
    *s = *vs;
    *v = NULL;
    return true;
}

static bool field_present(const mm_event *ev, const mm_fref *f) {
    if (f->id != MM_F_NONE) return mm_event_has(ev, (mm_field)f->id);
    return vendor_lookup(ev, f) != NULL;
}

static inline const mm_fref *mfield(const mm_match *m, int i) { return i == 0 ? &m->f : &m->alt[i - 1]; }

static bool any_present(const mm_match *m, const mm_event *ev) {
    for (int i = 0; i <= m->nalt; i++)
        if (field_present(ev, mfield(m, i))) return true;
    return false;
}

/* Values of a match's fields, all of them in turn. */
typedef struct miter {
    const mm_match *m;
    const mm_fref *refs;   /* when iterating a fieldref target instead */
    int nrefs;
    int i;
    mm_fiter it;
} miter;

static void miter_init(miter *mi, const mm_event *ev, const mm_match *m) {
    mi->m = m;
    mi->refs = NULL;
    mi->nrefs = 1 + m->nalt;
    mi->i = 0;
    mm_fiter_init(&mi->it, ev, &m->f);
}

static void miter_refs(miter *mi, const mm_event *ev, const mm_fref *refs, int n) {
    mi->m = NULL;
    mi->refs = refs;
    mi->nrefs = n;
    mi->i = 0;
    mm_fiter_init(&mi->it, ev, &refs[0]);
}

static bool miter_next(miter *mi, mm_str *s, const mm_value **v) {
    for (;;) {
        if (mm_fiter_next(&mi->it, s, v)) return true;
        if (++mi->i >= mi->nrefs) return false;
        mm_fiter_init(&mi->it, mi->it.ev, mi->refs ? &mi->refs[mi->i] : mfield(mi->m, mi->i));
    }
}

/* ---------------------------------------------------------------- string matching */

static bool ieq(const char *a, const char *b, uint32_t n, bool cased) {
    if (cased) return memcmp(a, b, n) == 0;
    for (uint32_t i = 0; i < n; i++)
        if (lc(a[i]) != b[i]) return false;
    return true;
}

/* n (lower-cased unless cased) inside h.  The first byte is found with memchr, in
 * both cases, so long values (command lines) are skipped through at memchr speed. */
static bool icontains(mm_str h, const char *n, uint32_t nl, bool cased) {
    if (nl == 0) return true;
    if (h.len < nl) return false;
    if (cased) return memmem(h.p, h.len, n, nl) != NULL;
    char lo = n[0], up = (lo >= 'a' && lo <= 'z') ? (char)(lo - 32) : lo;
    const char *p = h.p, *end = h.p + (h.len - nl) + 1;   /* last possible start + 1 */
    while (p < end) {
        const char *a = memchr(p, lo, (size_t)(end - p));
        const char *b = up != lo ? memchr(p, up, (size_t)((a ? a : end) - p)) : NULL;
        const char *c = b ? b : a;
        if (!c) return false;
        if (ieq(c + 1, n + 1, nl - 1, false)) return true;
        p = c + 1;
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

/* Regular expressions: one match context for everyone (read-only once made) caps
 * backtracking, so a pathological value costs a bounded amount of work. */
static pcre2_match_context *re_mctx;
static pthread_once_t re_once = PTHREAD_ONCE_INIT;
static void re_init(void) {
    re_mctx = pcre2_match_context_create(NULL);
    if (!re_mctx) abort();
    pcre2_set_match_limit(re_mctx, 200000);
    pcre2_set_depth_limit(re_mctx, 5000);
}

void *mm_re_md_new(void) { return pcre2_match_data_create(1, NULL); }
void mm_re_md_free(void *md) { pcre2_match_data_free(md); }

static bool re_match(const pat *p, mm_str v, mm_eval *cx) {
    pcre2_match_data *md = cx ? cx->re_md : NULL;
    bool own = !md;
    if (own) md = pcre2_match_data_create(1, NULL);
    if (!md) return false;
    int rc = pcre2_match(p->re, (PCRE2_SPTR)(v.p ? v.p : ""), v.len, 0, 0, md, re_mctx);
    if (own) pcre2_match_data_free(md);
    return rc >= 0;
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
    if (s.len > 2 && s.len <= 17 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {   /* <= 15 digits: fits */
        int64_t x = 0;
        for (uint32_t i = 2; i < s.len; i++) {
            char c = lc(s.p[i]);
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) return false;
            x = x * 16 + d;
        }
        *out = x;
        return true;
    }
    return s.len && s.len < 24 && mm_str_to_i64(s, out);
}

static bool value_ip(mm_str s, const mm_value *v, mm_ip *out) {
    if (v && v->parsed && v->ip.af) {
        *out = v->ip;
        return true;
    }
    return s.len && s.len <= 64 && mm_ip_parse(s, out);
}

static bool num_cmp(int op, int64_t x, int64_t want) {
    switch (op) {
    case N_GT: return x > want;
    case N_GTE: return x >= want;
    case N_LT: return x < want;
    case N_LTE: return x <= want;
    default: return x == want;
    }
}

/* Sigma's time modifiers: one part of a date value (UTC). */
static bool time_part(mm_str s, const mm_value *v, int part, int64_t *out) {
    int64_t ns;
    if (v && v->parsed && mm_field_type((mm_field)v->field) == MM_T_TIME) ns = v->i;
    else if (!mm_time_parse(s, &ns)) return false;
    time_t t = (time_t)(ns / 1000000000LL - (ns % 1000000000LL < 0 ? 1 : 0));
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return false;
    switch (part) {
    case T_MINUTE: *out = tm.tm_min; break;
    case T_HOUR: *out = tm.tm_hour; break;
    case T_DAY: *out = tm.tm_mday; break;
    case T_WEEK: {
        char b[8];
        strftime(b, sizeof b, "%V", &tm);
        *out = atoi(b);
        break;
    }
    case T_MONTH: *out = tm.tm_mon + 1; break;
    default: *out = tm.tm_year + 1900; break;
    }
    return true;
}

/* o inside s at byte `at`, or anywhere when at < 0. */
static bool sub_at(mm_str s, mm_str o, bool cased, int64_t at) {
    if (o.len > s.len) return false;
    uint32_t from = at < 0 ? 0 : (uint32_t)at, to = at < 0 ? s.len - o.len : (uint32_t)at;
    for (uint32_t i = from; i <= to; i++) {
        if (cased) {
            if (!memcmp(s.p + i, o.p, o.len)) return true;
            continue;
        }
        uint32_t k = 0;   /* byte by byte: strncasecmp would stop at a NUL */
        while (k < o.len && lc(s.p[i + k]) == lc(o.p[k])) k++;
        if (k == o.len) return true;
    }
    return false;
}

static bool fieldref_match(const mm_match *m, const pat *p, mm_str s, const mm_event *ev) {
    miter mi;
    miter_refs(&mi, ev, p->ref, p->nref);
    mm_str o;
    const mm_value *ov;
    while (miter_next(&mi, &o, &ov)) {
        bool ok;
        switch (p->op) {
        case P_CONTAINS: ok = sub_at(s, o, m->cased, -1); break;
        case P_STARTS: ok = sub_at(s, o, m->cased, 0); break;
        case P_ENDS: ok = s.len >= o.len && sub_at(s, o, m->cased, (int64_t)(s.len - o.len)); break;
        default: ok = s.len == o.len && sub_at(s, o, m->cased, 0);
        }
        if (ok) return true;
    }
    return false;
}

/* One pattern against one value. */
static bool pat_match(const mm_match *m, const pat *p, mm_str s, const mm_value *v, const mm_fref *f,
                      const mm_event *ev, mm_eval *cx) {
    switch (m->kind) {
    case M_STR:
        if (p->op == P_RE) return re_match(p, s, cx);
        if (p->is_ip && v && v->parsed && v->ip.af) return mm_ip_eq(&v->ip, &p->ip);
        return str_match(s, p, m->cased);
    case M_NUM: {
        int64_t x;
        return value_int(s, v, f, &x) && num_cmp(m->numop, x, p->num);
    }
    case M_TIME: {
        int64_t x;
        return time_part(s, v, m->timepart, &x) && num_cmp(m->numop, x, p->num);
    }
    case M_CIDR: {
        mm_ip ip;
        return value_ip(s, v, &ip) && mm_cidr_contains(&p->cidr, &ip);
    }
    case M_FIELDREF: return fieldref_match(m, p, s, ev);
    default:
        return false;
    }
}

static bool ioc_value(const mm_match *m, const mm_fref *f, mm_str s, const mm_value *v, const mm_event *ev,
                      mm_eval *cx) {
    mm_ioc_hit hit;
    const mm_ip *ip = (v && v->parsed && v->ip.af) ? &v->ip : NULL;
    bool ok = false;
    /* url.domain + url.path first: a URL indicator says more than its domain */
    if (f->id == MM_F_URL_DOMAIN && (m->ioc_types & MM_IOC_URL) && mm_event_has(ev, MM_F_URL_PATH)) {
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
        cx->hit_field = f->name;
        cx->hit_value = s;
    }
    return ok;
}

static mm_str record_text(const mm_event *ev) {
    mm_str text = ev->raw;
    if (!text.len) {
        const mm_value *mv = mm_event_get(ev, MM_F_MESSAGE);
        if (mv) text = mv->s;
    }
    return text;
}

/* Keywords search the record as received and every vendor value as decoded: the
 * record's encoding can hide a value (JSON doubles backslashes, XML writes &quot;). */
static int text_count(const mm_event *ev) { return 1 + ev->nvendor; }
static mm_str text_at(const mm_event *ev, int i) { return i == 0 ? record_text(ev) : ev->vendor[i - 1].val; }

static bool kw_in_texts(const mm_match *m, const pat *p, const mm_event *ev, mm_eval *cx) {
    for (int t = 0; t < text_count(ev); t++)
        if (pat_match(m, p, text_at(ev, t), NULL, &m->f, ev, cx)) return true;
    return false;
}

static bool match_eval(const mm_match *m, const mm_event *ev, mm_eval *cx) {
    if (m->kw) {
        if (!m->all) {
            for (int i = 0; i < m->npats; i++)
                if (kw_in_texts(m, &m->pats[i], ev, cx)) return true;
            return false;
        }
        for (int i = 0; i < m->npats;) {   /* all: each value (group of variants) somewhere */
            int g = m->pats[i].group, j = i;
            bool any = false;
            for (; j < m->npats && m->pats[j].group == g; j++) any = any || kw_in_texts(m, &m->pats[j], ev, cx);
            if (!any) return false;
            i = j;
        }
        return true;
    }
    if (m->kind == M_EXISTS) return any_present(m, ev) == m->exists_want;
    if (m->kind == M_NULL) return !any_present(m, ev);
    if (m->kind == M_IOC && (!cx->ioc || mm_ioc_count(cx->ioc) == 0)) return false;
    miter it;
    mm_str s;
    const mm_value *v;
    if (m->kind == M_IOC) {
        miter_init(&it, ev, m);
        while (miter_next(&it, &s, &v))
            if (ioc_value(m, mfield(m, it.i), s, v, ev, cx)) return true;
        return false;
    }
    if (m->all && !m->neq) {
        /* every value must match; a value's variants (windash, base64offset,
         * expand) are one group, any of which will do */
        for (int i = 0; i < m->npats;) {
            int g = m->pats[i].group, j = i;
            bool any = false;
            for (; j < m->npats && m->pats[j].group == g; j++) {
                miter_init(&it, ev, m);
                while (!any && miter_next(&it, &s, &v))
                    any = pat_match(m, &m->pats[j], s, v, mfield(m, it.i), ev, cx);
            }
            if (!any) return false;
            i = j;
        }
        return true;
    }
    bool seen = false;
    miter_init(&it, ev, m);
    while (miter_next(&it, &s, &v)) {
        seen = true;
        for (int i = 0; i < m->npats; i++)
            if (pat_match(m, &m->pats[i], s, v, mfield(m, it.i), ev, cx)) return !m->neq;
    }
    if (!seen && m->or_null) return true;
    return m->neq && seen;
}

static bool sel_eval(const mm_sel *sel, const mm_event *ev, mm_eval *cx) {
    if (sel->keywords) {
        for (int t = 0; t < text_count(ev); t++) {
            mm_str text = text_at(ev, t);
            for (int i = 0; i < sel->nkw; i++) {
                const pat *p = &sel->kw[i];
                if (p->op == P_GLOB ? glob_match(text, p, false) : icontains(text, p->s, p->len, false))
                    return true;
            }
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

static bool rule_eval(const mm_rule *r, const mm_event *ev, mm_eval *cx) {
    if (r->vendor_prefix) {
        if (!ev->vendor_prefix || strcmp(ev->vendor_prefix, r->vendor_prefix) != 0) return false;
    } else if (r->product && !r->mapped) {
        if (!ev->src || !ev->src->format || strcasecmp(ev->src->format, r->product) != 0) return false;
    }
    uint8_t local[MAX_SELS + 1];
    uint8_t *cache = cx && cx->selc && !r->is_filter ? cx->selc : local;
    memset(cache, 0, (size_t)r->nsels);
    bool ok = cond_eval(r, r->root, ev, cx, cache);
    if (cache != local) cx->sel_rule = ok ? r : NULL;
    return ok;
}

bool mm_rule_match(const mm_rule *r, const mm_event *ev, mm_eval *cx) {
    if (r->corr_type || r->root < 0 || r->inactive || r->is_filter) return false;
    if (!rule_eval(r, ev, cx)) return false;
    /* Sigma filters: site tuning that removes matches of the rules they name */
    for (int i = 0; i < r->nfilters; i++)
        if (rule_eval(r->filters[i], ev, cx)) return false;
    return true;
}

/* ---------------------------------------------------------------- compiling */

typedef struct cctx {
    const char *file;
    mm_err *err;
    mm_rule *r;
    const mm_lsentry *ls;      /* the rule's log source mapping, or NULL */
    mm_rule_env *env;          /* may be NULL */
    const mm_cnode **items;    /* scratch: the values of one key */
} cctx;

#define FAIL(cx, line, ...)                                                               \
    do {                                                                                  \
        char m_[1024];                                                                     \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                             \
        mm_err_set((cx)->err, "%s:%d: %s", (cx)->file, (line), m_);                       \
        return -1;                                                                        \
    } while (0)
/* The same, naming the category counted by `mamori rules check`. */
#define FAILR(cx, why, line, ...)                                                         \
    do {                                                                                  \
        if ((cx)->env) (cx)->env->skip_reason = (why);                                    \
        FAIL(cx, line, __VA_ARGS__);                                                      \
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
static bool unescape(const char *v, size_t n, bool cased, bool wildcards, char **out, uint8_t **wild,
                     uint32_t *len) {
    char *s = mm_xcalloc(n + 1, 1);
    uint8_t *w = mm_xcalloc(n + 1, 1);
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

/* Build one string pattern: op from the modifier, wildcards turn it into a glob.
 * Encoded values (base64, utf16) are plain bytes: no wildcards in them. */
static void make_str_pat(pat *p, const char *v, size_t vlen, int op, bool cased, mm_ftype ftype, bool wildcards) {
    memset(p, 0, sizeof *p);
    uint8_t *w;
    char *s;
    uint32_t len;
    if (!unescape(v, vlen, cased, wildcards, &s, &w, &len)) {
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
    p->s = mm_xcalloc(nl + 1, 1);
    p->wild = mm_xcalloc(nl + 1, 1);
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
    if (p->re) pcre2_code_free(p->re);
    free(p->relit);
    for (int i = 0; i < p->nref; i++) free((char *)p->ref[i].name);
    free(p->ref);
}

/* A Sigma field name through the rule's log source mapping: the first event field
 * in *first, further ones (several fields carry it) appended to *alt. */
static int resolve_fields(cctx *cx, const char *name, int line, mm_fref *first, mm_fref **alt, int *nalt) {
    const char *names[8];
    char buf[2048];
    int n = cx->ls ? mm_lsmap_field(cx->ls, name, names, 8, buf, sizeof buf) : 0;
    if (n == 0) {
        names[0] = name;
        n = 1;
    }
    for (int i = 0; i < n; i++) {
        mm_err ferr;
        mm_fref fr;
        char *nm = mm_xstrdup(names[i]);
        if (!mm_fref_resolve(nm, &fr, &ferr)) {
            free(nm);
            FAILR(cx, "unknown field", line, "%s", ferr.msg);
        }
        if (i == 0) {
            *first = fr;
        } else {
            *alt = mm_xrealloc(*alt, (size_t)(*nalt + 1) * sizeof(mm_fref));
            (*alt)[(*nalt)++] = fr;
        }
    }
    return 0;
}

static const struct { const char *name; uint8_t part; } time_mods[] = {
    {"minute", T_MINUTE}, {"hour", T_HOUR}, {"day", T_DAY}, {"week", T_WEEK}, {"month", T_MONTH}, {"year", T_YEAR},
};

/* The longest literal run every match of a regular expression must contain, found
 * conservatively: only at the top level (never inside a group, class or after a
 * top-level alternation), a character followed by ?, * or {0 is not required.
 * Lower-cased: the prefilter matches caselessly. */
/* Index of the ']' closing the class opened at v[i] ('[', '[^', a leading ']' is literal). */
static size_t class_end(const char *v, size_t n, size_t i) {
    i++;
    if (i < n && v[i] == '^') i++;
    if (i < n && v[i] == ']') i++;
    while (i < n && v[i] != ']') {
        if (v[i] == '[' && i + 1 < n && (v[i + 1] == ':' || v[i + 1] == '.' || v[i + 1] == '=')) {
            const char *e = strstr(v + i + 2, v[i + 1] == ':' ? ":]" : v[i + 1] == '.' ? ".]" : "=]");
            i = e ? (size_t)(e - v) + 2 : n;   /* [:digit:] and friends */
            continue;
        }
        i += v[i] == '\\' ? 2 : 1;
    }
    return i;
}

/* Constructs whose effect on what a match contains is not worth modelling: verbs
 * ((*ACCEPT)), comments, extended mode, callouts, conditionals, recursion... Only
 * plain groups, lookarounds and flag groups without x are understood. */
static bool regex_unmodelled(const char *v, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (v[i] == '\\') {
            i++;
            continue;
        }
        if (v[i] != '(') continue;
        if (v[i + 1] == '*') return true;
        if (v[i + 1] != '?') continue;
        char c = i + 2 < n ? v[i + 2] : 0;
        if (c == ':' || c == '=' || c == '!' || (c == '<' && i + 3 < n && (v[i + 3] == '=' || v[i + 3] == '!')))
            continue;
        for (size_t k = i + 2; k < n && v[k] != ')' && v[k] != ':'; k++)   /* flag group: (?i) (?i-s:...) */
            if (!strchr("imsn-^", v[k])) return true;   /* x, #, P, R, digits, (, |, &, C... */
    }
    return false;
}

static void regex_literal(const char *v, uint32_t flags, pat *p) {
    size_t n = strlen(v);
    int depth = 0;
    if (regex_unmodelled(v, n)) return;
    /* caseless Unicode matching folds k with KELVIN SIGN and s with LONG S: the
     * bytes of a match need not hold them, so under i they end a literal run */
    bool caseless = (flags & PCRE2_CASELESS) || strstr(v, "(?i") != NULL;
    for (size_t i = 0; i < n; i++) {   /* a top-level | makes nothing required */
        if (v[i] == '\\') i++;
        else if (v[i] == '[') i = class_end(v, n, i);
        else if (v[i] == '(') depth++;
        else if (v[i] == ')') depth--;
        else if (v[i] == '|' && depth == 0) return;
    }
    char *run = mm_xcalloc(n + 1, 1), *best = mm_xcalloc(n + 1, 1);
    size_t rl = 0, bl = 0;
    depth = 0;
#define END_RUN() do { if (rl > bl) { memcpy(best, run, rl); bl = rl; } rl = 0; } while (0)
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        int lit = -1;   /* the literal byte at i, or -1 */
        size_t next = i + 1;
        if (depth > 0) {
            if (c == '\\') i++;
            else if (c == '(') depth++;
            else if (c == ')') depth--;
            else if (c == '[') i = class_end(v, n, i);
            continue;
        }
        if (c == '\\' && i + 1 < n) {
            char e = v[i + 1];
            next = i + 2;
            if (strchr("xpPkgcuoNQE0123456789", e)) {   /* escapes longer than two bytes: give up */
                free(run);
                free(best);
                return;
            }
            if (!isalnum((unsigned char)e) && !((unsigned char)e & 0x80)) lit = e;   /* \. \\ \/ \- ... */
        } else if (c == '(') {
            depth++;
        } else if (c == '[') {
            i = class_end(v, n, i);
        } else if (!strchr(".^$*+?{}|)", c) && !((unsigned char)c & 0x80)) {
            lit = (unsigned char)c;   /* ASCII only: a quantifier after a UTF-8 character covers all its bytes */
        }
        if (lit < 0) {
            END_RUN();
            if (c == '\\') i++;
            if (c == '{')
                while (i < n && v[i] != '}') i++;   /* a quantifier's bounds are not text */
            continue;
        }
        char q = next < n ? v[next] : 0;
        if (caseless && (lc((char)lit) == 'k' || lc((char)lit) == 's')) {
            END_RUN();   /* a following quantifier is then read as any non-literal */
        } else if (q == '?' || q == '*' || (q == '{' && next + 1 < n && (v[next + 1] == '0' || v[next + 1] == ','))) {
            END_RUN();   /* optional: not required */
        } else {
            run[rl++] = lc((char)lit);
            if (q == '+' || q == '{') END_RUN();   /* repeated: required once, but the run stops */
        }
        i = next - 1;
    }
    END_RUN();
#undef END_RUN
    free(run);
    if (bl >= 3) {
        p->relit = best;
        p->relitlen = (uint32_t)bl;
    } else {
        free(best);
    }
}

static int compile_regex(cctx *cx, pat *p, const char *v, uint32_t flags, int line) {
    int ec;
    PCRE2_SIZE eo;
    pthread_once(&re_once, re_init);
    p->op = P_RE;
    p->re = pcre2_compile((PCRE2_SPTR)v, PCRE2_ZERO_TERMINATED, flags | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec,
                          &eo, NULL);
    if (!p->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        FAILR(cx, "invalid regular expression", line, "regular expression '%s' at offset %zu: %s", v, (size_t)eo,
              (const char *)msg);
    }
    pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter if unavailable */
    regex_literal(v, flags, p);
    p->s = mm_xstrdup(v);
    p->len = (uint32_t)strlen(v);
    return 0;
}

static int compile_match(cctx *cx, const char *key, const mm_cnode *val, int line, mm_match *m) {
    memset(m, 0, sizeof *m);
    char buf[256];
    if (strlen(key) >= sizeof buf) FAIL(cx, line, "field name too long");
    strcpy(buf, key);
    char *mods = strchr(buf, '|');
    if (mods) *mods++ = 0;
    int op = P_EQ;
    if (!buf[0]) {
        /* '|all': [...] — keywords with modifiers: searched in the whole record */
        if (!mods) FAIL(cx, line, "a key needs a field name");
        m->kw = true;
        m->f.name = mm_xstrdup("");
        op = P_CONTAINS;
    } else if (resolve_fields(cx, buf, line, &m->f, &m->alt, &m->nalt) < 0) {
        return -1;
    }
    bool num = false, cidr = false, ioc = false, exists = false, re = false, fieldref = false;
    uint32_t re_flags = 0;
    int xforms[8], nx = 0;   /* value transformations in the order written */
    while (mods && *mods) {
        char *next = strchr(mods, '|');
        if (next) *next++ = 0;
        const char *md = mods;
        int xf = 0;
        if (!strcmp(md, "contains") || !strcmp(md, "startswith") || !strcmp(md, "endswith")) {
            if (op != P_EQ && !m->kw)
                FAILR(cx, "invalid modifier combination", line, "only one of contains/startswith/endswith");
            op = md[0] == 'c' ? P_CONTAINS : md[0] == 's' ? P_STARTS : P_ENDS;
        } else if (!strcmp(md, "all")) m->all = true;
        else if (!strcmp(md, "cased")) m->cased = true;
        else if (!strcmp(md, "neq")) m->neq = true;
        else if (!strcmp(md, "exists")) exists = true;
        else if (!strcmp(md, "cidr")) cidr = true;
        else if (!strcmp(md, "ioc")) ioc = true;
        else if (!strcmp(md, "re")) re = true;
        else if (!strcmp(md, "fieldref")) fieldref = true;
        else if (!strcmp(md, "i") || !strcmp(md, "m") || !strcmp(md, "s")) {
            if (!re) FAILR(cx, "invalid modifier combination", line, "modifier '%s' only follows 're'", md);
            re_flags |= md[0] == 'i' ? PCRE2_CASELESS : md[0] == 'm' ? PCRE2_MULTILINE : PCRE2_DOTALL;
        } else if (!strcmp(md, "gt") || !strcmp(md, "gte") || !strcmp(md, "lt") || !strcmp(md, "lte")) {
            if (num) FAILR(cx, "invalid modifier combination", line, "only one numeric comparison per key");
            num = true;
            m->numop = !strcmp(md, "gt") ? N_GT : !strcmp(md, "gte") ? N_GTE : !strcmp(md, "lt") ? N_LT : N_LTE;
        } else if (!strcmp(md, "wide") || !strcmp(md, "utf16le")) xf = MM_SV_UTF16LE;
        else if (!strcmp(md, "utf16be")) xf = MM_SV_UTF16BE;
        else if (!strcmp(md, "utf16")) xf = MM_SV_UTF16BOM;
        else if (!strcmp(md, "base64")) xf = MM_SV_BASE64;
        else if (!strcmp(md, "base64offset")) xf = MM_SV_BASE64OFF;
        else if (!strcmp(md, "windash")) xf = MM_SV_WINDASH;
        else if (!strcmp(md, "expand")) xf = MM_SV_EXPAND;
        else {
            bool tm = false;
            for (size_t i = 0; i < MM_ARRAY_LEN(time_mods); i++)
                if (!strcmp(md, time_mods[i].name)) {
                    if (m->timepart) FAILR(cx, "invalid modifier combination", line, "only one time part per key");
                    m->timepart = time_mods[i].part;
                    tm = true;
                }
            if (!tm) FAILR(cx, "unknown modifier", line, "unknown modifier '%s'", md);
        }
        if (xf) {
            if (nx == (int)MM_ARRAY_LEN(xforms)) FAILR(cx, "invalid modifier combination", line, "too many modifiers");
            xforms[nx++] = xf;
        }
        mods = next;
    }
    if (m->timepart && !num) m->numop = N_EQ;
    int kinds = ((num && !m->timepart) ? 1 : 0) + (cidr ? 1 : 0) + (ioc ? 1 : 0) + (exists ? 1 : 0) +
                (re ? 1 : 0) + (m->timepart ? 1 : 0) + ((op != P_EQ && !fieldref && !m->kw) ? 1 : 0);
    if (m->kw && (num || cidr || ioc || exists || fieldref || m->timepart || m->neq))
        FAILR(cx, "invalid modifier combination", line, "keywords take only all/cased/re and encodings");
    if (kinds > 1 || (fieldref && (num || cidr || ioc || exists || re || nx)) || (re && nx) ||
        ((num || cidr || exists || ioc) && nx))
        FAILR(cx, "invalid modifier combination", line, "modifiers of '%s' cannot be combined", key);
    if ((exists || ioc) && (m->neq || m->all || m->cased))
        FAILR(cx, "invalid modifier combination", line, "'%s' cannot be combined with all/neq/cased",
              exists ? "exists" : "ioc");

    /* values: a scalar or a list of scalars; null in a list means "or missing" */
    const mm_cnode *one[1], **items = one;
    int nitems = 0;
    if (val && val->type == MM_CN_SEQ) {
        int n = 0;
        for (const mm_cnode *c = val->child; c; c = c->next) n++;
        if (n > MAX_VALUES) FAIL(cx, line, "more than %d values", MAX_VALUES);
        items = cx->items = mm_xrealloc(cx->items, (size_t)(n ? n : 1) * sizeof *items);
    }
    if (val && val->type == MM_CN_MAP) FAIL(cx, line, "value of '%s' must be a value or a list", key);
    if (val && val->type == MM_CN_SEQ) {
        for (const mm_cnode *c = val->child; c; c = c->next) {
            if (c->type != MM_CN_SCALAR) FAIL(cx, c->line, "list of '%s' must hold plain values", key);
            if (is_null_node(c)) {
                m->or_null = true;
                continue;
            }
            items[nitems++] = c;
        }
        if (nitems == 0 && !m->or_null) FAIL(cx, line, "empty list for '%s'", key);
        if (nitems == 0) {
            m->kind = M_NULL;
            return 0;
        }
    } else if (is_null_node(val)) {
        if (num || cidr || ioc || exists || op != P_EQ || m->all || m->neq || re || nx || fieldref)
            FAIL(cx, line, "null cannot take modifiers");
        m->kind = M_NULL;
        return 0;
    } else {
        items[nitems++] = val;
    }

    mm_ftype ft = m->f.id != MM_F_NONE && !m->nalt ? mm_field_type((mm_field)m->f.id) : MM_T_STR;
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
        cx->r->uses_ioc = true;
        for (int i = 0; i < nitems; i++) {
            unsigned t = mm_ioc_type_parse(scalar(items[i]));
            if (!t) FAIL(cx, items[i]->line, "ioc type '%s' (use any, ip, domain, url, hash, md5, sha1, sha256, ja3, email, filename, user-agent)",
                         scalar(items[i]));
            m->ioc_types |= t;
        }
        return 0;
    }
    if (nx) {
        /* transformed values: each item may become several byte strings (its group) */
        bool literal = false;   /* encodings make bytes, not patterns */
        for (int i = 0; i < nx; i++)
            if (xforms[i] != MM_SV_WINDASH && xforms[i] != MM_SV_EXPAND) literal = true;
        m->kind = M_STR;
        for (int g = 0; g < nitems; g++) {
            mm_svals sv = {0};
            const char *v = scalar(items[g]);
            mm_svals_add(&sv, v, strlen(v));
            for (int i = 0; i < nx; i++) {
                char why[512];
                int rc = mm_svals_apply(&sv, xforms[i], cx->env ? cx->env->placeholders : NULL, why, sizeof why);
                if (rc < 0) {
                    mm_svals_free(&sv);
                    FAILR(cx, rc == -1 ? "undefined placeholder" : "too many values", line, "%s", why);
                }
            }
            if (m->npats + sv.n > MM_SV_MAX) {
                mm_svals_free(&sv);
                FAILR(cx, "too many values", line, "the modifiers turn the values into more than %d values", MM_SV_MAX);
            }
            m->pats = mm_xrealloc(m->pats, (size_t)(m->npats + sv.n) * sizeof(pat));
            for (int i = 0; i < sv.n; i++) {
                make_str_pat(&m->pats[m->npats], sv.s[i], sv.len[i], op, m->cased, ft, !literal);
                m->pats[m->npats++].group = g;
            }
            mm_svals_free(&sv);
        }
        return 0;
    }
    m->pats = mm_xcalloc((size_t)nitems, sizeof(pat));
    m->npats = nitems;
    for (int i = 0; i < nitems; i++) {
        const char *v = scalar(items[i]);
        pat *p = &m->pats[i];
        p->group = i;
        if (m->timepart) {
            m->kind = M_TIME;
            if (!mm_str_to_i64(mm_str_c(v), &p->num)) FAIL(cx, items[i]->line, "'%s' is not an integer", v);
        } else if (num) {
            m->kind = M_NUM;
            int64_t x;
            if (!mm_str_to_i64(mm_str_c(v), &x)) FAIL(cx, items[i]->line, "'%s' is not an integer", v);
            p->num = x;
        } else if (cidr) {
            m->kind = M_CIDR;
            if (!mm_cidr_parse(mm_str_c(v), &p->cidr))
                FAILR(cx, "invalid value", items[i]->line, "'%s' is not a CIDR", v);
        } else if (re) {
            m->kind = M_STR;
            if (compile_regex(cx, p, v, re_flags, items[i]->line) < 0) return -1;
        } else if (fieldref) {
            m->kind = M_FIELDREF;
            p->op = (uint8_t)op;
            p->ref = mm_xcalloc(1, sizeof(mm_fref));
            mm_fref *alt = NULL;
            int nalt = 0;
            if (resolve_fields(cx, v, items[i]->line, &p->ref[0], &alt, &nalt) < 0) {
                free(alt);
                return -1;
            }
            p->nref = 1;
            if (nalt) {
                p->ref = mm_xrealloc(p->ref, (size_t)(1 + nalt) * sizeof(mm_fref));
                memcpy(p->ref + 1, alt, (size_t)nalt * sizeof(mm_fref));
                p->nref += nalt;
            }
            free(alt);
        } else {
            m->kind = M_STR;
            make_str_pat(p, v, strlen(v), op, m->cased, ft, true);
            p->group = i;
        }
    }
    return 0;
}

static void match_free(mm_match *m) {
    free((char *)m->f.name);
    for (int i = 0; i < m->nalt; i++) free((char *)m->alt[i].name);
    free(m->alt);
    for (int i = 0; i < m->npats; i++) pat_free(&m->pats[i]);
    free(m->pats);
}

static int compile_map(cctx *cx, const mm_cnode *map, mm_map *out) {
    int n = 0;
    for (const mm_cnode *c = map->child; c; c = c->next) n++;
    if (n == 0) FAIL(cx, map->line, "empty selection");
    out->m = mm_xcalloc((size_t)n, sizeof(mm_match));
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
    sel->name = mm_xstrdup(n->key);
    if (n->type == MM_CN_MAP) {
        sel->maps = mm_xcalloc(1, sizeof(mm_map));
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
        sel->maps = mm_xcalloc((size_t)cnt, sizeof(mm_map));
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
    sel->kw = mm_xcalloc((size_t)cnt, sizeof(pat));
    for (const mm_cnode *c = items; c; c = n->type == MM_CN_SEQ ? c->next : NULL)
        make_str_pat(&sel->kw[sel->nkw++], scalar(c), strlen(scalar(c)), P_CONTAINS, false, MM_T_STR, true);
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
    r->conds = mm_xrealloc(r->conds, (size_t)(r->nconds + 1) * sizeof(mm_cond));
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

#define CFAIL(p, ...) FAILR((p)->cx, "invalid condition", (p)->line, __VA_ARGS__)

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
        int *sels = mm_xcalloc((size_t)(r->nsels ? r->nsels : 1), sizeof(int));
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

/* Evaluation recurses along and/or chains: a condition is capped in size. */
#define MAX_CONDS 1024

static int parse_and(cparse *p) {
    int a = parse_primary(p);
    while (a >= 0 && p->tok == T_AND) {
        next_tok(p);
        int b = parse_primary(p);
        if (b < 0) return -1;
        a = new_cond(p->cx->r, C_AND, a, b);
        if (p->cx->r->nconds > MAX_CONDS) CFAIL(p, "condition too long (more than %d terms)", MAX_CONDS);
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
        if (p->cx->r->nconds > MAX_CONDS) CFAIL(p, "condition too long (more than %d terms)", MAX_CONDS);
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

static void map_cands(const mm_map *mp, cands *out) {
    out->n = 0;
    for (int j = 0; j < mp->n; j++) {
        const mm_match *m = &mp->m[j];
        if (m->kind != M_STR || m->neq || m->kw || m->nalt || m->or_null || (m->all && m->npats > 1) ||
            m->npats > ANCH_VALS)
            continue;
        if (m->f.id != MM_F_NONE && mm_field_type((mm_field)m->f.id) != MM_T_STR) continue;
        bool ok = true;
        for (int i = 0; i < m->npats; i++)   /* anchor values are C strings: no NUL (utf16 values) */
            if (m->pats[i].op != P_EQ || memchr(m->pats[i].s, 0, m->pats[i].len)) ok = false;
        if (!ok) continue;
        cand c = {.f = &m->f, .n = m->npats};
        for (int i = 0; i < m->npats; i++) c.v[i] = &m->pats[i];
        cands_add(out, &c);
    }
}

static void cands_or(const cands *a, const cands *b, cands *out);

/* A selection is an OR of maps: what every map needs, with the union of values
 * (the process_creation log source: Sysmon 1 or Security 4688 -> event.code 1|4688). */
static void sel_cands(const mm_sel *s, cands *out) {
    out->n = 0;
    if (s->keywords || s->nmaps < 1) return;
    map_cands(&s->maps[0], out);
    for (int i = 1; i < s->nmaps && out->n; i++) {
        cands b, a = *out;
        map_cands(&s->maps[i], &b);
        cands_or(&a, &b, out);
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
    if (!strcmp(name, "winlog.channel")) return 8;   /* one channel holds all of Sysmon */
    return 4;
#undef ENDS
}

static void pick_anchor(mm_rule *r) {
    cands cs;
    cond_cands(r, r->root, &cs, 0);
    int best = -1;
    /* a few values of a selective field (event.code 17|18) beat one value of a
     * broad one (the Sysmon channel); otherwise fewer values win */
    for (int i = 0; i < cs.n; i++) {
        int ri = field_rank(cs.c[i].f->name), rb = best < 0 ? 0 : field_rank(cs.c[best].f->name);
        int si = cs.c[i].n <= 8 ? ri * 16 + cs.c[i].n : 1000 + cs.c[i].n;
        int sb = best < 0 ? 1 << 30 : cs.c[best].n <= 8 ? rb * 16 + cs.c[best].n : 1000 + cs.c[best].n;
        if (si < sb) best = i;
    }
    if (best < 0) return;
    const cand *c = &cs.c[best];
    char **vals = mm_xcalloc((size_t)c->n, sizeof(char *));
    int nv = 0;
    for (int i = 0; i < c->n; i++) {
        char *v = mm_xcalloc(c->v[i]->len + 1, 1);
        for (uint32_t k = 0; k < c->v[i]->len; k++) v[k] = lc(c->v[i]->s[k]);
        bool dup = false;
        for (int j = 0; j < nv; j++)
            if (!strcmp(vals[j], v)) dup = true;
        if (dup) free(v);
        else vals[nv++] = v;
    }
    r->has_anchor = true;
    r->anchor.f = *c->f;
    r->anchor.f.name = mm_xstrdup(c->f->name);
    r->anchor.nvals = nv;
    r->anchor.vals = (const char *const *)vals;
}

/* ---------------------------------------------------------------- literals */

/* The prefilter's view of a condition: a set of (field, literal) of which at least
 * one must occur for the condition to hold.  n < 0: no such set (anything may
 * match).  AND keeps the better side, OR needs both sides and unites them. */
typedef struct litset {
    int n;
    int q;          /* shortest literal */
    mm_lit *l;      /* MM_LIT_MAX entries, owned by the caller's buffer */
} litset;

#define LIT_NONE(ls) ((ls)->n = -1)

/* Keyword selections search the whole record: their literals belong to "@raw". */
static const mm_fref raw_fref = {.name = MM_RAW_FIELD, .id = MM_F_NONE};

static void lit_add(litset *ls, const mm_fref *f, const char *s, uint32_t len) {
    if (ls->n < 0) return;
    if (ls->n == MM_LIT_MAX) {
        ls->n = -1;
        return;
    }
    for (int i = 0; i < ls->n; i++)
        if (ls->l[i].f == f && ls->l[i].len == len && !memcmp(ls->l[i].s, s, len)) return;
    ls->l[ls->n++] = (mm_lit){f, s, len};
    if (ls->q < 0 || (int)len < ls->q) ls->q = (int)len;
}

/* The longest run without wildcards of a pattern (the whole value when it has none). */
static bool pat_literal(const pat *p, const char **s, uint32_t *len) {
    if (p->is_ip) return false;   /* compared as addresses: 2001:db8::1 is 2001:db8:0:0:0:0:0:1 */
    if (p->op == P_RE) {
        *s = p->relit;
        *len = p->relitlen;
        return p->relit != NULL;
    }
    if (p->op != P_GLOB) {
        *s = p->s;
        *len = p->len;
        return p->len > 0;
    }
    uint32_t best = 0, bs = 0, run = 0;
    for (uint32_t i = 0; i <= p->len; i++) {
        if (i < p->len && !p->wild[i]) {
            run++;
            continue;
        }
        if (run > best) {
            best = run;
            bs = i - run;
        }
        run = 0;
    }
    *s = p->s + bs;
    *len = best;
    return best > 0;
}

static void match_lits(const mm_match *m, litset *out) {
    out->n = 0;
    out->q = -1;
    if (m->kind != M_STR || m->neq || m->or_null) {
        LIT_NONE(out);
        return;
    }
    /* all: every value must occur, so any one value's variants are a requirement:
     * the group whose shortest literal is longest */
    int from = 0, to = m->npats;
    if (m->all && m->pats[m->npats - 1].group != m->pats[0].group) {
        int best = -1;
        uint32_t bq = 0;
        for (int i = 0; i < m->npats;) {
            int g = m->pats[i].group, j = i;
            uint32_t q = UINT32_MAX;
            for (; j < m->npats && m->pats[j].group == g; j++) {
                const char *ls;
                uint32_t l;
                if (!pat_literal(&m->pats[j], &ls, &l)) l = 0;
                if (l < q) q = l;
            }
            if (q > bq && q != UINT32_MAX) {
                bq = q;
                best = i;
            }
            i = j;
        }
        if (best < 0) {
            LIT_NONE(out);
            return;
        }
        from = best;
        to = best;
        while (to < m->npats && m->pats[to].group == m->pats[best].group) to++;
    }
    for (int i = from; i < to && out->n >= 0; i++) {
        const char *s;
        uint32_t l;
        if (!pat_literal(&m->pats[i], &s, &l)) {
            LIT_NONE(out);
            return;
        }
        if (m->kw) lit_add(out, &raw_fref, s, l);
        else for (int k = 0; k <= m->nalt; k++) lit_add(out, mfield(m, k), s, l);
    }
}

static bool lit_better(const litset *a, const litset *b) {
    if (a->n < 0) return false;
    if (b->n < 0) return true;
    int qa = a->q > 8 ? 8 : a->q, qb = b->q > 8 ? 8 : b->q;
    return qa != qb ? qa > qb : a->n < b->n;
}

static void lit_union(litset *a, const litset *b) {
    if (a->n < 0) return;
    if (b->n < 0) {
        LIT_NONE(a);
        return;
    }
    for (int i = 0; i < b->n; i++) lit_add(a, b->l[i].f, b->l[i].s, b->l[i].len);
}

static void sel_lits(const mm_sel *s, litset *out, mm_lit *tmp) {
    out->n = 0;
    out->q = -1;
    if (!strcmp(s->name, "__logsource")) {
        LIT_NONE(out);
        return;
    }
    if (s->keywords) {
        for (int i = 0; i < s->nkw && out->n >= 0; i++) {
            const char *ks;
            uint32_t kl;
            if (!pat_literal(&s->kw[i], &ks, &kl)) LIT_NONE(out);
            else lit_add(out, &raw_fref, ks, kl);
        }
        return;
    }
    mm_lit *mine = mm_xrealloc(NULL, MM_LIT_MAX * sizeof(mm_lit));
    for (int i = 0; i < s->nmaps && out->n >= 0; i++) {
        litset best = {.n = -1, .q = -1, .l = tmp};
        for (int j = 0; j < s->maps[i].n; j++) {
            litset x = {.l = mine};
            match_lits(&s->maps[i].m[j], &x);
            if (lit_better(&x, &best)) {
                memcpy(tmp, mine, (size_t)(x.n > 0 ? x.n : 0) * sizeof(mm_lit));
                best = x;
                best.l = tmp;
            }
        }
        lit_union(out, &best);
    }
    free(mine);
}

static void cond_lits(const mm_rule *r, int n, litset *out, int depth) {
    out->n = 0;
    out->q = -1;
    if (depth > 32) {
        LIT_NONE(out);
        return;
    }
    const mm_cond *c = &r->conds[n];
    mm_lit *buf = mm_xrealloc(NULL, MM_LIT_MAX * 3 * sizeof(mm_lit));
    mm_lit *scratch = buf + 2 * MM_LIT_MAX;
    litset a = {.l = buf}, b = {.l = buf + MM_LIT_MAX};
    switch (c->op) {
    case C_SEL: sel_lits(&r->sels[c->a], out, scratch); break;
    case C_NOT: LIT_NONE(out); break;
    case C_AND:
    case C_OR:
        cond_lits(r, c->a, &a, depth + 1);
        cond_lits(r, c->b, &b, depth + 1);
        if (c->op == C_AND) {
            const litset *w = lit_better(&b, &a) ? &b : &a;
            if (w->n < 0) LIT_NONE(out);
            else for (int i = 0; i < w->n; i++) lit_add(out, w->l[i].f, w->l[i].s, w->l[i].len);
        } else if (a.n < 0) {
            LIT_NONE(out);
        } else {
            for (int i = 0; i < a.n; i++) lit_add(out, a.l[i].f, a.l[i].s, a.l[i].len);
            lit_union(out, &b);
        }
        break;
    default: /* k of n selections */
        if (c->k == c->n) {
            litset best = {.n = -1, .q = -1, .l = buf};
            for (int i = 0; i < c->n; i++) {
                sel_lits(&r->sels[c->sels[i]], &b, scratch);
                if (lit_better(&b, &best)) {
                    memcpy(buf, b.l, (size_t)b.n * sizeof(mm_lit));
                    best = b;
                    best.l = buf;
                }
            }
            if (best.n < 0) LIT_NONE(out);
            else for (int i = 0; i < best.n; i++) lit_add(out, best.l[i].f, best.l[i].s, best.l[i].len);
        } else {
            for (int i = 0; i < c->n && out->n >= 0; i++) {
                sel_lits(&r->sels[c->sels[i]], &b, scratch);
                lit_union(out, &b);
            }
        }
    }
    free(buf);
}

int mm_rule_literals(const mm_rule *r, mm_lit *out, int *quality) {
    *quality = 0;
    if (r->corr_type || r->root < 0 || r->is_filter) return 0;
    litset ls = {.l = out};
    cond_lits(r, r->root, &ls, 0);
    if (ls.n <= 0) return 0;
    *quality = ls.q;
    return ls.n;
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
            FAILR(cx, "aggregation (timeframe)", c->line,
                  "'timeframe' belongs to the old aggregation syntax; write a correlation rule");
        else if (r->is_filter && !strcmp(c->key, "rules")) continue;
        else n++;
    }
    if (!cond) FAIL(cx, det->line, "detection has no condition");
    if (n == 0) FAIL(cx, det->line, "detection has no selection");
    if (n > MAX_SELS) FAIL(cx, det->line, "more than %d selections", MAX_SELS);
    r->sels = mm_xcalloc((size_t)n, sizeof(mm_sel));
    for (const mm_cnode *c = det->child; c; c = c->next) {
        if (c == cond || (r->is_filter && !strcmp(c->key, "rules"))) continue;
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
    /* The log source's own selection goes first in an AND: cheap, and the anchor
     * index and prefilter see it like any other required value. */
    if (cx->ls && cx->ls->when) {
        cctx lcx = *cx;
        lcx.ls = NULL;   /* mapping conditions name event fields directly */
        lcx.items = NULL;
        r->sels = mm_xrealloc(r->sels, (size_t)(r->nsels + 1) * sizeof(mm_sel));
        mm_sel *sel = &r->sels[r->nsels];
        memset(sel, 0, sizeof *sel);
        r->nsels++;
        int rc = compile_sel(&lcx, cx->ls->when, sel);
        free(lcx.items);
        free(sel->name);
        sel->name = mm_xstrdup("__logsource");
        if (rc < 0) return -1;
        int ls = new_cond(r, C_SEL, r->nsels - 1, -1);
        r->root = new_cond(r, C_AND, ls, root);
    }
    pick_anchor(r);
    return 0;
}

/* The `correlation:` section: correlate.c compiles it; what it needs from the rules it
 * references (their fields through their log sources) is bound when linking. */
static int compile_correlation(cctx *cx, const mm_cnode *c) {
    mm_rule *r = cx->r;
    mm_err e = {{0}};
    if (mm_corr_compile_file(c, cx->file, &r->corr, &e) < 0) {
        if (cx->env)
            cx->env->skip_reason = strstr(e.msg, "unsupported correlation type") ? "unsupported correlation type"
                                                                                  : "invalid correlation";
        mm_err_set(cx->err, "%s", e.msg);
        return -1;
    }
    if (r->corr->closing)
        FAILR(cx, "unsupported correlation condition", c->line,
              "correlation conditions lt/lte/eq/neq (decided when a window closes) are not supported yet; "
              "use gt/gte");
    r->corr_type = (int)r->corr->type;
    if (r->corr->has_generate) r->generate = r->corr->generate;
    return 0;
}

int mm_fset_resolve(const mm_lsentry *ls, const char *name, mm_fset *out, mm_err *err) {
    const char *names[8];
    char buf[2048];
    int n = ls ? mm_lsmap_field(ls, name, names, 8, buf, sizeof buf) : 0;
    if (n == 0) {
        names[0] = name;
        n = 1;
    }
    out->f = mm_xcalloc((size_t)n, sizeof(mm_fref));
    out->n = 0;
    for (int i = 0; i < n; i++) {
        char *nm = mm_xstrdup(names[i]);
        if (!mm_fref_resolve(nm, &out->f[out->n], err)) {
            free(nm);
            mm_fset_free(out);
            return MM_EINVAL;
        }
        out->n++;
    }
    return 0;
}

void mm_fset_free(mm_fset *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free((char *)s->f[i].name);
    free(s->f);
    s->f = NULL;
    s->n = 0;
}

bool mm_fset_value(const mm_fset *s, const mm_event *ev, mm_str *out, const mm_value **v) {
    for (int i = 0; i < s->n; i++) {
        mm_fiter it;
        mm_fiter_init(&it, ev, &s->f[i]);
        if (mm_fiter_next(&it, out, v)) return true;
    }
    return false;
}

int mm_rule_compile(const mm_cnode *doc, const char *file, int docno, mm_rule_env *env, mm_rule **out,
                    mm_err *err) {
    *out = NULL;
    mm_rule *r = mm_xcalloc(1, sizeof *r);
    r->root = -1;
    r->file = mm_xstrdup(file ? file : "(rule)");
    r->line = doc ? doc->line : 0;
    if (env) env->skip_reason = NULL;
    cctx cx = {.file = r->file, .err = err, .r = r, .env = env};
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
                   *reason = mm_cnode_get(doc, "reason"), *gen = mm_cnode_get(doc, "generate"),
                   *filt = mm_cnode_get(doc, "filter");
    if (!scalar(title) || !*scalar(title)) BAIL(doc->line, "rule has no title");
    r->title = mm_xstrdup(scalar(title));
    if (id && !scalar(id)) BAIL(id->line, "id must be a string");
    if (name && !scalar(name)) BAIL(name->line, "name must be a string");
    if (name && *scalar(name)) r->name = mm_xstrdup(scalar(name));
    if (id && *scalar(id)) r->id = mm_xstrdup(scalar(id));
    else if (r->name) r->id = mm_xstrdup(r->name);
    else {
        char b[600];
        const char *base = strrchr(r->file, '/');
        snprintf(b, sizeof b, "%s#%d", base ? base + 1 : r->file, docno);
        r->id = mm_xstrdup(b);
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
        r->reason = mm_xstrdup(scalar(reason));
    }
    if (ls) {
        if (ls->type != MM_CN_MAP) BAIL(ls->line, "logsource must be a map");
        const mm_cnode *pr = mm_cnode_get(ls, "product"), *ca = mm_cnode_get(ls, "category"),
                       *se = mm_cnode_get(ls, "service");
        if (pr && (!scalar(pr) || !*scalar(pr))) BAIL(pr->line, "logsource product must be a string");
        if ((ca && !scalar(ca)) || (se && !scalar(se))) BAIL(ls->line, "logsource values must be strings");
        const char *p = pr ? scalar(pr) : NULL, *c = ca ? scalar(ca) : NULL, *sv = se ? scalar(se) : NULL;
        char b[512];
        snprintf(b, sizeof b, "%s/%s/%s", p ? p : "-", c ? c : "-", sv ? sv : "-");
        r->logsource = mm_xstrdup(b);
        const mm_lsentry *e = env ? mm_lsmaps_find(env->maps, p, c, sv) : NULL;
        if (e) {
            cx.ls = e;
            r->ls = e;
            r->mapped = true;
        }
        if (p) {
            r->product = mm_xstrdup(p);
            if (!e) r->vendor_prefix = product_prefix(r->product);
        }
        if (!e && !r->vendor_prefix && (p || c || sv)) {
            snprintf(b, sizeof b, "no log source mapping for %s%s%s%s%s%s", p ? "product " : "", p ? p : "",
                     c ? " category " : "", c ? c : "", sv ? " service " : "", sv ? sv : "");
            r->inactive = mm_xstrdup(b);
        }
    }
    if (filt) {
        /* a Sigma filter: its selections and condition live under `filter:` */
        if (det || corr) BAIL(doc->line, "a filter has no detection or correlation");
        if (filt->type != MM_CN_MAP) BAIL(filt->line, "filter must be a map");
        const mm_cnode *fr = mm_cnode_get(filt, "rules");
        r->is_filter = true;
        if (fr && scalar(fr)) {
            r->filter_refs = mm_xcalloc(1, sizeof(char *));
            r->filter_refs[r->nfilter_refs++] = mm_xstrdup(scalar(fr));
        } else if (fr && fr->type == MM_CN_SEQ) {
            for (const mm_cnode *k = fr->child; k; k = k->next) {
                if (!scalar(k)) BAIL(k->line, "filter rules must be rule ids or names");
                r->filter_refs = mm_xrealloc(r->filter_refs, (size_t)(r->nfilter_refs + 1) * sizeof(char *));
                r->filter_refs[r->nfilter_refs++] = mm_xstrdup(scalar(k));
            }
        }
        if (!r->nfilter_refs) BAIL(filt->line, "a filter names the rules it applies to (filter.rules)");
        if (compile_detection(&cx, filt) < 0) goto out;
        rc = 0;
        goto out;
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
    free(cx.items);
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
    free(r->logsource);
    free(r->inactive);
    for (int i = 0; i < r->nfilter_refs; i++) free(r->filter_refs[i]);
    free(r->filter_refs);
    free(r->filters);
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
    if (r->corr) {
        int nr = r->corr->nrefs;
        for (int i = 0; r->cgroup && i < nr * r->corr->ngroup; i++) mm_fset_free(&r->cgroup[i]);
        for (int i = 0; r->cvalue && i < nr * r->corr->nfields; i++) mm_fset_free(&r->cvalue[i]);
        mm_corr_free(r->corr);
    }
    free(r->cgroup);
    free(r->cvalue);
    free(r->ref_rule);
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

static void put_feeds(mm_buf *b, const mm_ioc_ctx *c) {
    for (const mm_ioc_ctx *x = c; x; x = x->also) {
        if (x != c) mm_buf_puts(b, ", ");
        put_clean(b, mm_str_c(x->feed));
    }
}

/* "dns.question.name a.evil.example matches domain indicator evil.example (feed
 * x, confidence 80, TLP amber; actor ..., campaign ..., malware ...; ATT&CK ...;
 * action: ...; description)": the 5W1H in one line, absent parts left out. */
static void put_ioc(mm_buf *b, const mm_eval *cx) {
    const mm_ioc_ctx *c = cx->hit.ctx;
    mm_buf_puts(b, cx->hit_field);
    mm_buf_putc(b, ' ');
    put_clean(b, cx->hit_value);
    mm_buf_printf(b, " matches %s indicator ", mm_ioc_type_name(cx->hit.type));
    put_clean(b, mm_str_c(cx->hit.indicator));
    mm_buf_puts(b, c && c->also ? " (feeds " : " (list ");
    if (c) put_feeds(b, c);
    else mm_buf_puts(b, cx->hit.list);
    if (c && c->confidence >= 0) mm_buf_printf(b, ", confidence %d", c->confidence);
    if (c && c->tlp) mm_buf_printf(b, ", TLP:%s", c->tlp);
    static const char *const lbl[] = {"actor ", "campaign ", "malware ", "ATT&CK ", "kill chain "};
    const char *val[5] = {c ? c->actor : NULL, c ? c->campaign : NULL, c ? c->malware : NULL,
                          c ? c->attack : NULL, c ? c->kill_chain : NULL};
    bool first = true;
    for (int i = 0; i < 5; i++) {
        if (!val[i]) continue;
        mm_buf_puts(b, first ? "; " : ", ");
        first = false;
        mm_buf_puts(b, lbl[i]);
        put_clean(b, mm_str_c(val[i]));
    }
    if (c && c->action) {
        mm_buf_puts(b, "; action: ");
        put_clean(b, mm_str_c(c->action));
    }
    if (cx->hit.desc) {
        mm_buf_puts(b, ": ");
        put_clean(b, mm_str_c(cx->hit.desc));
    }
    mm_buf_putc(b, ')');
}

/* {ioc.actor} {ioc.campaign} {ioc.malware} {ioc.tlp} {ioc.action} {ioc.kill_chain}
 * {ioc.attack}: false when the name is none of them. */
static bool hit_ctx_field(const mm_eval *cx, const char *n, const char **v) {
    const mm_ioc_ctx *c = cx && cx->ioc_hit ? cx->hit.ctx : NULL;
    *v = NULL;
    if (!strcmp(n, "actor")) *v = c ? c->actor : NULL;
    else if (!strcmp(n, "campaign")) *v = c ? c->campaign : NULL;
    else if (!strcmp(n, "malware")) *v = c ? c->malware : NULL;
    else if (!strcmp(n, "tlp")) *v = c ? c->tlp : NULL;
    else if (!strcmp(n, "action")) *v = c ? c->action : NULL;
    else if (!strcmp(n, "kill_chain")) *v = c ? c->kill_chain : NULL;
    else if (!strcmp(n, "attack")) *v = c ? c->attack : NULL;
    else return false;
    return true;
}

static void json_member(mm_buf *b, const char *name, const char *v) {
    if (!v) return;
    mm_buf_printf(b, ",\"%s\":", name);
    mm_json_str(b, v, strlen(v));
}

/* The matched indicator as a JSON object (ECS threat.* where it has a name). */
void mm_ioc_hit_json(mm_buf *b, const mm_eval *cx, bool retro) {
    const mm_ioc_ctx *c = cx->hit.ctx;
    mm_buf_puts(b, "{\"indicator\":{\"type\":");
    const char *t = mm_ioc_type_name(cx->hit.type);
    mm_json_str(b, t, strlen(t));
    mm_buf_puts(b, ",\"name\":");
    mm_json_str(b, cx->hit.indicator, strlen(cx->hit.indicator));
    mm_buf_puts(b, ",\"provider\":[");
    if (c)
        for (const mm_ioc_ctx *x = c; x; x = x->also) {
            if (x != c) mm_buf_putc(b, ',');
            mm_json_str(b, x->feed, strlen(x->feed));
        }
    else
        mm_json_str(b, cx->hit.list, strlen(cx->hit.list));
    mm_buf_putc(b, ']');
    if (c && c->confidence >= 0) mm_buf_printf(b, ",\"confidence\":%d", c->confidence);
    if (c && c->tlp) {
        mm_buf_puts(b, ",\"marking\":{\"tlp\":");
        mm_json_str(b, c->tlp, strlen(c->tlp));
        mm_buf_putc(b, '}');
    }
    json_member(b, "description", c ? c->description : cx->hit.desc);
    mm_buf_puts(b, "},\"matched\":{\"field\":");
    mm_json_str(b, cx->hit_field, strlen(cx->hit_field));
    mm_buf_puts(b, ",\"atomic\":");
    mm_json_str(b, cx->hit_value.p ? cx->hit_value.p : "", cx->hit_value.len);
    mm_buf_putc(b, '}');
    if (c) {
        json_member(b, "actor", c->actor);
        json_member(b, "campaign", c->campaign);
        json_member(b, "malware", c->malware);
        json_member(b, "kill_chain", c->kill_chain);
        json_member(b, "technique", c->attack);
        json_member(b, "action", c->action);
    }
    if (retro) mm_buf_puts(b, ",\"retrospective\":true");
    mm_buf_putc(b, '}');
}

/* Sigma rules: the title and the fields of the selections that matched, with the
 * values the event had ("CommandLine=..."), so the alert says why on its own. */
static void put_matched(mm_buf *out, const mm_rule *r, const mm_event *ev, const mm_eval *cx) {
    mm_buf_puts(out, r->title);
    const char *done[8];
    int nd = 0;
    mm_eval scratch = {.ioc = cx ? cx->ioc : NULL, .re_md = cx ? cx->re_md : NULL};
    for (int i = 0; i < r->nsels && nd < 6; i++) {
        const mm_sel *sel = &r->sels[i];
        if (sel->keywords || !strcmp(sel->name, "__logsource")) continue;
        /* the match already knows which selections held; otherwise ask again */
        bool held = cx && cx->sel_rule == r ? cx->selc[i] == 2 : sel_eval(sel, ev, &scratch);
        if (!held) continue;
        for (int j = 0; j < sel->nmaps && nd < 6; j++)
            for (int k = 0; k < sel->maps[j].n && nd < 6; k++) {
                const mm_match *m = &sel->maps[j].m[k];
                if (m->kind == M_NULL || (m->kind == M_EXISTS && !m->exists_want) || m->neq) continue;
                bool dup = false;
                for (int x = 0; x < nd; x++) dup |= !strcmp(done[x], m->f.name);
                if (dup) continue;
                miter it;
                mm_str v;
                const mm_value *val;
                miter_init(&it, ev, m);
                if (!miter_next(&it, &v, &val)) continue;
                const mm_fref *f = mfield(m, it.i);
                const char *nm = f->name;
                if (ev->vendor_prefix && !f->raw) {
                    size_t pl = strlen(ev->vendor_prefix);
                    if (!strncmp(nm, ev->vendor_prefix, pl) && nm[pl] == '.') nm += pl + 1;
                }
                done[nd++] = m->f.name;
                mm_buf_puts(out, nd == 1 ? ": " : ", ");
                mm_buf_puts(out, nm);
                mm_buf_putc(out, '=');
                put_clean(out, v);
            }
    }
}

void mm_rule_reason(const mm_rule *r, const mm_event *ev, const mm_eval *cx, int64_t count,
                    const char *group, mm_buf *out) {
    if (!r->reason) {
        if (r->corr) {
            const mm_corr *c = r->corr;
            switch (c->type) {
            case MM_CORR_T_VALUE_COUNT:
                mm_buf_printf(out, "%lld distinct ", (long long)count);
                for (int i = 0; i < c->nfields; i++) mm_buf_printf(out, "%s%s", i ? "+" : "", c->fields[i]);
                mm_buf_printf(out, " in %s", r->title);
                break;
            case MM_CORR_T_TEMPORAL:
            case MM_CORR_T_TEMPORAL_ORDERED:
                mm_buf_printf(out, "%s: %lld of %d steps%s", r->title, (long long)count, c->nrefs,
                              c->type == MM_CORR_T_TEMPORAL_ORDERED ? " in order" : "");
                break;
            case MM_CORR_T_VALUE_SUM:
            case MM_CORR_T_VALUE_AVG:
                mm_buf_printf(out, "%s of %s = %lld in %s", c->type == MM_CORR_T_VALUE_SUM ? "sum" : "average",
                              c->nfields ? c->fields[0] : "?", (long long)count, r->title);
                break;
            default: mm_buf_printf(out, "%lld events of %s", (long long)count, r->title);
            }
            if (group && *group) mm_buf_printf(out, " from %s", group);
            mm_buf_printf(out, " within %s", c->timespan_text);
        } else if (cx && cx->ioc_hit) {
            put_ioc(out, cx);
        } else if (r->mapped) {
            put_matched(out, r, ev, cx);
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
        const char *ctxv = NULL;
        if (!strcmp(name, "count")) mm_buf_printf(out, "%lld", (long long)count);
        else if (!strcmp(name, "timespan")) mm_buf_puts(out, r->corr ? r->corr->timespan_text : "-");
        else if (!strcmp(name, "group")) mm_buf_puts(out, group && *group ? group : "-");
        else if (!strcmp(name, "title")) mm_buf_puts(out, r->title);
        else if (!strcmp(name, "ioc")) { if (hit) put_ioc(out, cx); else mm_buf_putc(out, '-'); }
        else if (!strcmp(name, "ioc.indicator")) mm_buf_puts(out, hit ? cx->hit.indicator : "-");
        else if (!strcmp(name, "ioc.list")) mm_buf_puts(out, hit ? cx->hit.list : "-");
        else if (!strcmp(name, "ioc.field")) mm_buf_puts(out, hit ? cx->hit_field : "-");
        else if (!strcmp(name, "ioc.type")) mm_buf_puts(out, hit ? mm_ioc_type_name(cx->hit.type) : "-");
        else if (!strcmp(name, "ioc.value")) { if (hit) put_clean(out, cx->hit_value); else mm_buf_putc(out, '-'); }
        else if (!strcmp(name, "ioc.description")) {
            if (hit && cx->hit.desc) put_clean(out, mm_str_c(cx->hit.desc));
            else mm_buf_putc(out, '-');
        }
        else if (!strcmp(name, "ioc.feed") || !strcmp(name, "ioc.feeds")) {
            if (hit && cx->hit.ctx) put_feeds(out, cx->hit.ctx);
            else mm_buf_puts(out, hit ? cx->hit.list : "-");
        } else if (!strcmp(name, "ioc.confidence")) {
            if (hit && cx->hit.ctx && cx->hit.ctx->confidence >= 0) mm_buf_printf(out, "%d", cx->hit.ctx->confidence);
            else mm_buf_putc(out, '-');
        } else if (!strncmp(name, "ioc.", 4) && hit_ctx_field(cx, name + 4, &ctxv)) {
            if (ctxv) put_clean(out, mm_str_c(ctxv));
            else mm_buf_putc(out, '-');
        }
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
