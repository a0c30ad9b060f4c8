/* detect: loading rules and indicator lists, indexing rules, evaluating events,
 * and the per-worker burst windows of correlation rules.
 *
 * Cost per event is kept small by indexing: every rule whose condition requires a
 * field to equal one of a few literals (its anchor, found by rules.c) sits in a hash
 * table of that field, so an event only evaluates the rules filed under its own
 * values (e.g. fortinet.firewall.subtype = ips) plus the few rules that have no
 * anchor (the indicator rule).
 *
 * Correlation rules (event_count, value_count, temporal, temporal_ordered, value_sum,
 * value_avg) are fed here: a matching rule hands its event to each correlation
 * that references it (group-by and value fields read through the referenced rule's
 * own log source mapping), a firing correlation raises its alert and feeds the
 * correlations above it (chains).  The windows themselves are correlate.c's, shared
 * by every worker and bounded. */
#include "detect_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_RULE_FILE (16u << 20)
#define MAX_IOC_FILE (1024u << 20)
#define DEFAULT_MAX_KEYS 65536

typedef struct dent {
    uint64_t h;
    char *val;
    int *rules;
    int n;
} dent;

/* One index dimension: the rules anchored on one field, by lower-cased value. */
typedef struct dim {
    mm_fref f;
    dent *e;
    uint32_t n, cap;
    uint32_t *slot;
    uint32_t mask;
    bool multi;          /* the field can carry several values: de-duplicate */
} dim;

struct mm_detect {
    mm_rule **rules;
    int nrules;
    mm_rule_env env;          /* while loading: mappings and placeholders */
    mm_lsmaps maps;
    bool strict;              /* the first bad rule fails the load */
    mm_rules_report *rep;     /* where skipped rules are reported, or NULL */
    mm_ioc_set *ioc;
    dim *dims;
    int ndims;
    int *always;
    int nalways;
    mm_prefilter *pf;         /* literal prefilter of the rules routed to it */
    mm_corr_state *corr_state;/* correlation windows, shared by the workers */
    int npf;                  /* rules routed to the prefilter */
    bool retro;               /* retro-hunt engine: alerts are retrospective sightings */
};

static inline char lc(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

/* ---------------------------------------------------------------- index */

static uint64_t vhash(const char *p, size_t n) { return mm_hash(p, n, 0x51ed27); }

static dent *dim_find(const dim *d, const char *v, size_t n, uint64_t h) {
    if (!d->slot) return NULL;
    for (uint32_t i = (uint32_t)h & d->mask;; i = (i + 1) & d->mask) {
        uint32_t x = d->slot[i];
        if (!x) return NULL;
        dent *e = &d->e[x - 1];
        if (e->h == h && strlen(e->val) == n && memcmp(e->val, v, n) == 0) return e;
    }
}

static void dim_rehash(dim *d) {
    uint32_t ns = d->slot ? (d->mask + 1) * 2 : 64;
    uint32_t *sl = calloc(ns, sizeof *sl);
    if (!sl) abort();
    for (uint32_t j = 0; j < d->n; j++) {
        uint32_t i = (uint32_t)d->e[j].h & (ns - 1);
        while (sl[i]) i = (i + 1) & (ns - 1);
        sl[i] = j + 1;
    }
    free(d->slot);
    d->slot = sl;
    d->mask = ns - 1;
}

static void dim_add(dim *d, const char *v, int rule) {
    size_t n = strlen(v);
    uint64_t h = vhash(v, n);
    dent *e = dim_find(d, v, n, h);
    if (!e) {
        if (!d->slot || (d->n + 1) * 2 > d->mask + 1) dim_rehash(d);
        if (d->n == d->cap) {
            d->cap = d->cap ? d->cap * 2 : 16;
            d->e = mm_xrealloc(d->e, d->cap * sizeof *d->e);
        }
        e = &d->e[d->n];
        memset(e, 0, sizeof *e);
        e->h = h;
        e->val = strdup(v);
        if (!e->val) abort();
        uint32_t i = (uint32_t)h & d->mask;
        while (d->slot[i]) i = (i + 1) & d->mask;
        d->slot[i] = ++d->n;
    }
    for (int i = 0; i < e->n; i++)
        if (e->rules[i] == rule) return;
    e->rules = mm_xrealloc(e->rules, (size_t)(e->n + 1) * sizeof(int));
    e->rules[e->n++] = rule;
}

/* Routing: every active rule is found through its anchor (a field that must equal
 * one of a few values), the prefilter (literals one of which must occur), or is
 * evaluated for every event.  The anchor is exact and cheapest; but when many rules
 * share an anchor value (a thousand process_creation rules on Sysmon event 1) it
 * separates nothing, and the rule's literals do better. */
#define CROWDED 8
#define MIN_LIT 2

static int build_index(mm_detect *d, mm_err *err) {
    uint8_t *route = calloc((size_t)(d->nrules ? d->nrules : 1), 1);   /* 0 none, 1 anchor, 2 prefilter, 3 always */
    int *pfr = calloc((size_t)(d->nrules ? d->nrules : 1), sizeof(int));
    mm_lit *lits = calloc(MM_LIT_MAX, sizeof(mm_lit));
    if (!route || !pfr || !lits) abort();
    for (int i = 0; i < d->nrules; i++) {
        mm_rule *r = d->rules[i];
        if (r->corr_type || r->inactive || r->is_filter) continue;
        bool ok = r->has_anchor && r->anchor.nvals > 0;
        for (int k = 0; ok && k < r->anchor.nvals; k++)
            if (strlen(r->anchor.vals[k]) >= 256) ok = false;
        route[i] = ok ? 1 : 3;
        if (!ok) continue;
        dim *dm = NULL;
        for (int k = 0; k < d->ndims; k++)
            if (!strcmp(d->dims[k].f.name, r->anchor.f.name)) dm = &d->dims[k];
        if (!dm) {
            d->dims = mm_xrealloc(d->dims, (size_t)(d->ndims + 1) * sizeof(dim));
            dm = &d->dims[d->ndims++];
            memset(dm, 0, sizeof *dm);
            dm->f = r->anchor.f;
            /* known fields may be multi-valued (event.category); vendor keys are not */
            dm->multi = dm->f.id != MM_F_NONE;
        }
        for (int k = 0; k < r->anchor.nvals; k++) dim_add(dm, r->anchor.vals[k], i);
    }
    /* rules on crowded anchors, and rules without one, move to the prefilter when
     * their literals are long enough to be worth it */
    for (int i = 0; i < d->nrules; i++) {
        if (route[i] != 1 && route[i] != 3) continue;
        int q;
        if (!mm_rule_literals(d->rules[i], lits, &q) || q < MIN_LIT) continue;
        bool crowded = route[i] == 3;
        const mm_rule *r = d->rules[i];
        for (int k = 0; !crowded && k < d->ndims; k++) {
            if (strcmp(d->dims[k].f.name, r->anchor.f.name)) continue;
            for (int v = 0; v < r->anchor.nvals; v++) {
                const char *val = r->anchor.vals[v];
                const dent *e = dim_find(&d->dims[k], val, strlen(val), vhash(val, strlen(val)));
                if (e && e->n > CROWDED) crowded = true;
            }
        }
        if (crowded) route[i] = 2;
    }
    for (int k = 0; k < d->ndims; k++)
        for (uint32_t j = 0; j < d->dims[k].n; j++) {
            dent *e = &d->dims[k].e[j];
            int m = 0;
            for (int x = 0; x < e->n; x++)
                if (route[e->rules[x]] == 1) e->rules[m++] = e->rules[x];
            e->n = m;
        }
    for (int i = 0; i < d->nrules; i++) {
        if (route[i] == 2) pfr[d->npf++] = i;
        if (route[i] == 3) {
            d->always = mm_xrealloc(d->always, (size_t)(d->nalways + 1) * sizeof(int));
            d->always[d->nalways++] = i;
        }
    }
    int rc = 0;
    for (int i = 0; i < d->nrules && !d->corr_state; i++)
        if (d->rules[i]->corr_type) d->corr_state = mm_corr_state_new(DEFAULT_MAX_KEYS);
    if (d->npf) {
        d->pf = mm_prefilter_build(d->rules, pfr, d->npf, err);
        if (!d->pf) rc = MM_EINVAL;
    }
    free(route);
    free(pfr);
    free(lits);
    return rc;
}

/* ---------------------------------------------------------------- loading */

typedef struct paths {
    char **p;
    int n, cap;
} paths;

static void paths_add(paths *ps, const char *p) {
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 32;
        ps->p = mm_xrealloc(ps->p, (size_t)ps->cap * sizeof(char *));
    }
    ps->p[ps->n] = strdup(p);
    if (!ps->p[ps->n]) abort();
    ps->n++;
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* Every *.yml / *.yaml under dir; hidden entries and mappings/ are skipped. */
static int walk(const char *dir, paths *ps, int depth, mm_err *err) {
    if (depth > 16) return 0;
    DIR *dh = opendir(dir);
    if (!dh) {
        mm_err_set(err, "rules directory %s: %s", dir, strerror(errno));
        return MM_EIO;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(dh))) {
        if (de->d_name[0] == '.') continue;
        char p[4096];
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= sizeof p) continue;
        struct stat st;
        if (stat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (!strcmp(de->d_name, "mappings")) continue;
            rc = walk(p, ps, depth + 1, err);
        } else if (S_ISREG(st.st_mode) && (ends_with(p, ".yml") || ends_with(p, ".yaml"))) {
            paths_add(ps, p);
        }
    }
    closedir(dh);
    return rc;
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool blank_doc(const char *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r')) i++;
        if (i < n && p[i] == '#')
            while (i < n && p[i] != '\n') i++;
        if (i < n && p[i] != '\n') return false;
        i++;
    }
    return true;
}

static void add_rule(mm_detect *d, mm_rule *r) {
    d->rules = mm_xrealloc(d->rules, (size_t)(d->nrules + 1) * sizeof *d->rules);
    d->rules[d->nrules++] = r;
}

/* A rule that cannot be used: fatal when strict, otherwise reported and counted. */
static int skip_rule(mm_detect *d, const char *file, int line, const char *title, const char *reason,
                     const mm_err *why, mm_err *err) {
    if (d->strict) {
        mm_err_set(err, "%s", why->msg);
        return MM_EINVAL;
    }
    mm_count(MM_C_RULES_SKIPPED, 1);
    mm_rules_report *rp = d->rep;
    if (!rp) {
        mm_warn("rule skipped: %s", why->msg);
        return 0;
    }
    rp->skipped++;
    rp->skips = mm_xrealloc(rp->skips, (size_t)(rp->nskips + 1) * sizeof *rp->skips);
    mm_rule_problem *x = &rp->skips[rp->nskips++];
    x->file = strdup(file ? file : "");
    x->line = line;
    x->title = title ? strdup(title) : NULL;
    x->reason = strdup(reason ? reason : "invalid rule");
    x->detail = strdup(why->msg);
    return 0;
}

/* Split text into YAML documents at "---" / "..." lines and compile each.  Each
 * document is parsed with as many leading newlines as lines before it, so the
 * tree's line numbers are the file's. */
static int load_rule_text(mm_detect *d, const char *path, const char *text, size_t len, mm_err *err) {
    size_t pos = 0, start = 0;
    int line = 1, start_line = 1, docno = 0;
    if (d->rep) d->rep->files++;
    for (;;) {
        size_t e = pos;
        while (e < len && text[e] != '\n') e++;
        bool sep = pos < len && e - pos >= 3 &&
                   ((!strncmp(text + pos, "---", 3) || !strncmp(text + pos, "...", 3)) &&
                    (e - pos == 3 || text[pos + 3] == ' ' || text[pos + 3] == '\t' || text[pos + 3] == '\r'));
        bool end = pos >= len;
        if (sep || end) {
            size_t dl = (sep ? pos : len) - start;
            if (!blank_doc(text + start, dl)) {
                docno++;
                size_t pad = (size_t)(start_line - 1);
                char *buf = malloc(pad + dl + 1);
                if (!buf) abort();
                memset(buf, '\n', pad);
                memcpy(buf + pad, text + start, dl);
                buf[pad + dl] = 0;
                mm_err perr = {{0}};
                mm_cnode *root = mm_cnode_parse(buf, pad + dl, path, &perr);
                free(buf);
                if (!root) {
                    mm_err why;
                    if (strstr(perr.msg, path)) mm_err_set(&why, "%s", perr.msg);
                    else mm_err_set(&why, "%s: %s", path, perr.msg);
                    if (skip_rule(d, path, start_line, NULL, "YAML error", &why, err) < 0) return MM_EINVAL;
                } else {
                    mm_rule *r = NULL;
                    mm_err why = {{0}};
                    int rc = mm_rule_compile(root, path, docno, &d->env, &r, &why);
                    if (rc < 0) {
                        const mm_cnode *t = mm_cnode_get(root, "title");
                        rc = skip_rule(d, path, root->line, t && t->type == MM_CN_SCALAR ? t->value : NULL,
                                       d->env.skip_reason, &why, err);
                    } else {
                        add_rule(d, r);
                    }
                    mm_cnode_free(root);
                    if (rc < 0) return rc;
                }
            }
            if (end) break;
            start = e < len ? e + 1 : len;
            start_line = line + 1;
        }
        if (e >= len) {
            pos = len;
            line++;
            continue;
        }
        pos = e + 1;
        line++;
    }
    return 0;
}

static int find_rule(const mm_detect *d, const char *ref) {
    for (int i = 0; i < d->nrules; i++)
        if (d->rules[i] && (!strcmp(d->rules[i]->id, ref) || (d->rules[i]->name && !strcmp(d->rules[i]->name, ref))))
            return i;
    return -1;
}

/* Drop rule i (a link problem), keeping the others' indexes valid until compaction. */
static int unlink_rule(mm_detect *d, int i, const char *reason, const mm_err *why, mm_err *err) {
    mm_rule *r = d->rules[i];
    int rc = skip_rule(d, r->file, r->line, r->title, reason, why, err);
    mm_rule_free(r);
    d->rules[i] = NULL;
    return rc;
}

static void compact_rules(mm_detect *d) {
    int k = 0;
    for (int i = 0; i < d->nrules; i++)
        if (d->rules[i]) d->rules[k++] = d->rules[i];
    d->nrules = k;
}

/* The log source mapping that names a rule's fields: its own, or for a
 * correlation the first rule it references (chains). */
static const mm_lsentry *rule_ls(const mm_detect *d, const mm_rule *r, int depth) {
    if (!r->corr_type || depth > 8) return r->ls;
    for (int k = 0; r->ref_rule && k < r->corr->nrefs; k++)
        if (r->ref_rule[k] >= 0 && d->rules[r->ref_rule[k]]) return rule_ls(d, d->rules[r->ref_rule[k]], depth + 1);
    return NULL;
}

static const char *link_correlation(mm_detect *d, int i, mm_err *why) {
    mm_rule *c = d->rules[i];
    mm_corr *co = c->corr;
    /* windows are keyed by the correlation's id, not its position: a reload that
     * adds rules keeps them (a changed correlation restarts through its digest) */
    c->corr_key = (uint32_t)mm_hash(c->id, strlen(c->id), 0xc022e1a7);
    c->ref_rule = mm_xrealloc(NULL, (size_t)co->nrefs * sizeof(int));
    const char **ids = calloc((size_t)co->nrefs, sizeof(char *)), **names = calloc((size_t)co->nrefs, sizeof(char *));
    if (!ids || !names) abort();
    const char *bad = NULL;
    for (int k = 0; k < co->nrefs; k++) {
        int b = find_rule(d, co->refs[k]);
        c->ref_rule[k] = b;
        if (b < 0) {
            mm_err_set(why, "%s:%d: correlation '%s' refers to unknown rule '%s'", c->file, c->line, c->title,
                       co->refs[k]);
            bad = "unknown rule reference";
            break;
        }
        if (b == i) {
            mm_err_set(why, "%s:%d: correlation '%s' refers to itself", c->file, c->line, c->title);
            bad = "invalid correlation";
            break;
        }
        ids[k] = d->rules[b]->id;
        names[k] = d->rules[b]->name;
        bool dup = false;
        for (int x = 0; x < c->nbases; x++) dup |= c->bases[x] == b;
        if (!dup) {
            c->bases = mm_xrealloc(c->bases, (size_t)(c->nbases + 1) * sizeof(int));
            c->bases[c->nbases++] = b;
        }
    }
    mm_err e = {{0}};
    if (!bad && mm_corr_bind(co, ids, names, &e) < 0) {
        mm_err_set(why, "%s: %s", c->file, e.msg);
        bad = "invalid correlation";
    }
    free(ids);
    free(names);
    return bad;
}

/* Second pass, once every correlation knows its references (chains). */
static const char *link_correlation_fields(mm_detect *d, int i, mm_err *why) {
    mm_rule *c = d->rules[i];
    mm_corr *co = c->corr;
    mm_err e = {{0}};
    const char *bad = NULL;
    int ng = co->ngroup, nf = co->nfields;
    c->cgroup = calloc((size_t)(co->nrefs * ng + 1), sizeof(mm_fset));
    c->cvalue = calloc((size_t)(co->nrefs * nf + 1), sizeof(mm_fset));
    if (!c->cgroup || !c->cvalue) abort();
    for (int k = 0; k < co->nrefs && !bad; k++) {
        if (!d->rules[c->ref_rule[k]]) {
            mm_err_set(why, "%s:%d: correlation '%s': referenced rule '%s' was skipped", c->file, c->line, c->title,
                       co->refs[k]);
            return "unknown rule reference";
        }
        const mm_lsentry *ls = rule_ls(d, d->rules[c->ref_rule[k]], 0);
        for (int g = 0; g < ng && !bad; g++)
            if (mm_fset_resolve(ls, co->ref_group[k * ng + g], &c->cgroup[k * ng + g], &e) < 0) bad = "unknown field";
        for (int f = 0; f < nf && !bad; f++)
            if (mm_fset_resolve(ls, co->ref_field[k * nf + f], &c->cvalue[k * nf + f], &e) < 0) bad = "unknown field";
    }
    if (bad) mm_err_set(why, "%s:%d: correlation '%s': %s", c->file, c->line, c->title, e.msg);
    return bad;
}

static int link_rules(mm_detect *d, mm_err *err) {
    mm_err why;
    for (int i = 0; i < d->nrules; i++)
        for (int j = 0; j < i && d->rules[i]; j++)
            if (d->rules[j] && !strcmp(d->rules[i]->id, d->rules[j]->id)) {
                mm_err_set(&why, "%s:%d: duplicate rule id %s (also %s:%d)", d->rules[i]->file, d->rules[i]->line,
                           d->rules[i]->id, d->rules[j]->file, d->rules[j]->line);
                if (unlink_rule(d, i, "duplicate id", &why, err) < 0) return MM_EINVAL;
            }
    compact_rules(d);
    /* filters attach to the rules they name; a filter naming no loaded rule is harmless */
    for (int i = 0; i < d->nrules; i++) {
        mm_rule *f = d->rules[i];
        if (!f->is_filter) continue;
        for (int k = 0; k < f->nfilter_refs; k++) {
            int b = find_rule(d, f->filter_refs[k]);
            if (b < 0 || d->rules[b]->is_filter) continue;
            mm_rule *r = d->rules[b];
            r->filters = mm_xrealloc(r->filters, (size_t)(r->nfilters + 1) * sizeof(mm_rule *));
            r->filters[r->nfilters++] = f;
        }
    }
    /* correlations: resolve the rules they reference (rules or other correlations:
     * chaining), bind aliases, and resolve group-by / value fields through each
     * referenced rule's own log source */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < d->nrules; i++) {
            mm_rule *c = d->rules[i];
            if (!c || !c->corr_type) continue;
            const char *bad = pass == 0 ? link_correlation(d, i, &why) : link_correlation_fields(d, i, &why);
            if (bad && unlink_rule(d, i, bad, &why, err) < 0) return MM_EINVAL;
        }
    /* a correlation whose references were dropped is dropped too (chains) */
    for (bool again = true; again;) {
        again = false;
        for (int i = 0; i < d->nrules; i++) {
            mm_rule *c = d->rules[i];
            if (!c || !c->corr_type) continue;
            for (int k = 0; k < c->corr->nrefs; k++)
                if (!d->rules[c->ref_rule[k]]) {
                    mm_err_set(&why, "%s:%d: correlation '%s': referenced rule '%s' was skipped", c->file, c->line,
                               c->title, c->corr->refs[k]);
                    if (unlink_rule(d, i, "unknown rule reference", &why, err) < 0) return MM_EINVAL;
                    again = true;
                    break;
                }
        }
    }
    for (int i = 0; i < d->nrules; i++) {
        mm_rule *c = d->rules[i];
        if (!c || !c->corr_type) continue;
        for (int x = 0; x < c->nbases; x++) {
            mm_rule *base = d->rules[c->bases[x]];
            base->corrs = mm_xrealloc(base->corrs, (size_t)(base->ncorrs + 1) * sizeof(int));
            base->corrs[base->ncorrs++] = i;
        }
        mm_rule *b0 = d->rules[c->bases[0]];
        if (!c->level_set) c->level = b0->level;
        if (!c->technique[0]) memcpy(c->technique, b0->technique, sizeof c->technique);
    }
    /* indexes into rules[] are stored above: compact with a renumbering */
    int *newidx = calloc((size_t)(d->nrules ? d->nrules : 1), sizeof(int));
    if (!newidx) abort();
    int k = 0;
    for (int i = 0; i < d->nrules; i++) newidx[i] = d->rules[i] ? k++ : -1;
    for (int i = 0; i < d->nrules; i++) {
        mm_rule *r = d->rules[i];
        if (!r) continue;
        for (int x = 0; x < r->ncorrs; x++) r->corrs[x] = newidx[r->corrs[x]];
        for (int x = 0; x < r->nbases; x++) r->bases[x] = newidx[r->bases[x]];
        for (int x = 0; r->corr && x < r->corr->nrefs; x++) r->ref_rule[x] = newidx[r->ref_rule[x]];
    }
    free(newidx);
    compact_rules(d);
    /* a referenced rule (or correlation) stays quiet unless one of the correlations
     * using it says generate: true */
    for (int i = 0; i < d->nrules; i++) {
        mm_rule *r = d->rules[i];
        r->ls = NULL;   /* the mappings are freed after loading */
        if (!r->ncorrs) continue;
        r->silent = true;
        for (int x = 0; x < r->ncorrs; x++)
            if (d->rules[r->corrs[x]]->generate) r->silent = false;
    }
    if (d->rep) {
        for (int i = 0; i < d->nrules; i++) {
            mm_rule *r = d->rules[i];
            d->rep->loaded++;
            if (r->is_filter) d->rep->filters++;
            if (r->inactive) d->rep->inactive++;
        }
    }
    return 0;
}

static int load_rules_dir(mm_detect *d, const char *dir, mm_err *err) {
    paths ps = {0};
    int rc = walk(dir, &ps, 0, err);
    if (rc == 0) qsort(ps.p, (size_t)ps.n, sizeof(char *), cmpstr);
    for (int i = 0; rc == 0 && i < ps.n; i++) {
        size_t len;
        mm_err why;
        char *text = mm_read_file(ps.p[i], MAX_RULE_FILE, &len, &why);
        if (!text) {
            rc = skip_rule(d, ps.p[i], 0, NULL, "unreadable file", &why, err);
            continue;
        }
        rc = load_rule_text(d, ps.p[i], text, len, err);
        free(text);
    }
    for (int i = 0; i < ps.n; i++) free(ps.p[i]);
    free(ps.p);
    return rc;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

void mm_rules_report_free(mm_rules_report *r) {
    if (!r) return;
    for (int i = 0; i < r->nskips; i++) {
        free(r->skips[i].file);
        free(r->skips[i].title);
        free(r->skips[i].reason);
        free(r->skips[i].detail);
    }
    free(r->skips);
    memset(r, 0, sizeof *r);
}

static int check_dir(const char *dir, mm_err *err) {
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        mm_err_set(err, "rules directory %s: %s", dir, stat(dir, &st) != 0 ? strerror(errno) : "not a directory");
        return MM_ENOENT;
    }
    return 0;
}

/* Mapping files: the configured folder, else <rules.dir>/mappings, else the
 * project's own rules/mappings (so SigmaHQ folders loaded with --rules get them). */
static int load_maps(mm_detect *d, const mm_config *c, mm_err *err) {
    char p[4096];
    struct stat st;
    if (c && c->mappings_dir) return mm_lsmaps_load_dir(&d->maps, c->mappings_dir, err);
    if (c && c->rules_dir) {
        snprintf(p, sizeof p, "%s/mappings", c->rules_dir);
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) return mm_lsmaps_load_dir(&d->maps, p, err);
    }
    snprintf(p, sizeof p, "%s/rules/mappings", mm_home());
    return mm_lsmaps_load_dir(&d->maps, p, err);
}

mm_detect *mm_detect_load_opts(const mm_config *c, const mm_detect_opts *o, mm_err *err) {
    mm_detect *d = calloc(1, sizeof *d);
    if (!d) abort();
    d->ioc = o && o->ioc ? o->ioc : mm_ioc_set_new();
    if (!d->ioc) abort();
    d->retro = o && o->retro;
    d->strict = o && o->strict;
    d->rep = o ? o->report : NULL;
    d->env.maps = &d->maps;
    d->env.placeholders = c ? c->placeholders : NULL;
    int rc = load_maps(d, c, err);
    bool conf_dirs = !(o && o->only_extra);
    if (rc == 0 && conf_dirs && c && c->rules_dir && *c->rules_dir) {
        rc = check_dir(c->rules_dir, err);
        if (rc == 0) rc = load_rules_dir(d, c->rules_dir, err);
    }
    for (int i = 0; rc == 0 && conf_dirs && c && i < c->nrule_dirs; i++) {
        rc = check_dir(c->rule_dirs[i], err);
        if (rc == 0) rc = load_rules_dir(d, c->rule_dirs[i], err);
    }
    for (int i = 0; rc == 0 && o && i < o->nextra; i++) {
        rc = check_dir(o->extra[i], err);
        if (rc == 0) rc = load_rules_dir(d, o->extra[i], err);
    }
    if (rc == 0) rc = link_rules(d, err);
    mm_lsmaps_free(&d->maps);
    d->env.maps = NULL;
    d->env.placeholders = NULL;
    if (rc < 0) {
        mm_detect_free(d);
        return NULL;
    }
    if (d->retro) {
        /* only the rules that match indicators (the others saw these events already) */
        int k = 0;
        for (int i = 0; i < d->nrules; i++) {
            mm_rule *r = d->rules[i];
            if ((r->uses_ioc || r->is_filter) && !r->corr_type) {
                r->ncorrs = 0;   /* no correlation over the past: its indexes are gone */
                d->rules[k++] = r;
            } else {
                mm_rule_free(r);
            }
        }
        d->nrules = k;
    }
    for (int i = 0; c && !(o && o->no_indicator_files) && i < c->nindicator_files; i++) {
        size_t len;
        const char *p = c->indicator_files[i];
        char *text = mm_read_file(p, MAX_IOC_FILE, &len, err);
        if (!text) {
            mm_detect_free(d);
            return NULL;
        }
        int bad = 0;
        int n = mm_ioc_parse(d->ioc, base_name(p), text, len, &bad);
        free(text);
        if (bad) mm_warn("indicators %s: %d lines skipped (not an indicator)", p, bad);
        mm_info("indicators %s: %d loaded", p, n);
    }
    if (build_index(d, err) < 0) {
        mm_detect_free(d);
        return NULL;
    }
    return d;
}

mm_detect *mm_detect_load(const mm_config *c, mm_err *err) { return mm_detect_load_opts(c, NULL, err); }

mm_detect *mm_detect_from_text(const char *name, const char *text, size_t len, mm_ioc_set *ioc, mm_err *err) {
    mm_detect *d = calloc(1, sizeof *d);
    if (!d) abort();
    d->ioc = ioc ? ioc : mm_ioc_set_new();
    d->strict = true;
    d->env.maps = &d->maps;
    char p[4096];
    snprintf(p, sizeof p, "%s/rules/mappings", mm_home());
    int rc = mm_lsmaps_load_dir(&d->maps, p, err);
    if (rc == 0) rc = load_rule_text(d, name, text, len, err);
    if (rc == 0) rc = link_rules(d, err);
    mm_lsmaps_free(&d->maps);
    d->env.maps = NULL;
    if (rc < 0 || build_index(d, err) < 0) {
        mm_detect_free(d);
        return NULL;
    }
    return d;
}

void mm_detect_free(mm_detect *d) {
    if (!d) return;
    for (int i = 0; i < d->nrules; i++) mm_rule_free(d->rules[i]);
    free(d->rules);
    mm_ioc_set_free(d->ioc);
    for (int i = 0; i < d->ndims; i++) {
        for (uint32_t j = 0; j < d->dims[i].n; j++) {
            free(d->dims[i].e[j].val);
            free(d->dims[i].e[j].rules);
        }
        free(d->dims[i].e);
        free(d->dims[i].slot);
    }
    free(d->dims);
    free(d->always);
    mm_prefilter_free(d->pf);
    mm_corr_state_free(d->corr_state);
    free(d);
}

int mm_detect_rule_count(const mm_detect *d) { return d ? d->nrules : 0; }
int mm_detect_indicator_count(const mm_detect *d) { return d ? mm_ioc_count(d->ioc) : 0; }

/* ---------------------------------------------------------------- worker state */

struct mm_detect_state {
    /* per-event scratch */
    uint32_t *seen;
    uint32_t nseen, gen;
    int *cand, *matched;
    int capcand;
    int ncand;           /* candidates collected for the current event */
    void *re_md;         /* pcre2 match data for this worker */
    void *hs_scratch;    /* Hyperscan scratch for the prefilter */
    uint64_t hs_gen;
    mm_buf key, text, val, reason;   /* alert and correlation text, reused */
    uint8_t selc[MM_MAX_SELS + 1];   /* which selections of the matched rule held */
    const mm_detect *cur_d;          /* the prefilter callback's view of this event */
    const mm_event *cur_ev;
};

mm_detect_state *mm_detect_state_new(void) { return calloc(1, sizeof(mm_detect_state)); }

void mm_detect_state_free(mm_detect_state *s) {
    if (!s) return;
    free(s->seen);
    free(s->cand);
    free(s->matched);
    if (s->re_md) mm_re_md_free(s->re_md);
    mm_prefilter_scratch_free(s->hs_scratch);
    mm_buf_free(&s->key);
    mm_buf_free(&s->text);
    mm_buf_free(&s->val);
    mm_buf_free(&s->reason);
    free(s);
}

/* Correlation windows are shared by the workers (correlate.h): a correlation
 * grouped by user name sees the events of every source address. */
void mm_detect_set_corr_max_keys(mm_detect *d, uint32_t max_keys) {
    if (!d || !max_keys) return;
    mm_corr_state_free(d->corr_state);
    d->corr_state = mm_corr_state_new(max_keys);
    if (!d->corr_state) abort();
}

void mm_detect_keep_windows(mm_detect *to, mm_detect *from) {
    if (!to || !from || to == from || !from->corr_state || !to->corr_state) return;
    /* a group of a correlation that changed (its digest) restarts by itself */
    mm_corr_state_free(to->corr_state);
    to->corr_state = from->corr_state;
    from->corr_state = NULL;
}

void mm_detect_corr_stats(const mm_detect *d, uint64_t *tracked, uint64_t *evicted) {
    mm_corr_stats st = {0};
    if (d && d->corr_state) mm_corr_state_stats(d->corr_state, &st);
    if (tracked) *tracked = st.tracked;
    if (evicted) *evicted = st.evicted;
}

/* ---------------------------------------------------------------- evaluation */

static mm_alert *new_alert(mm_arena *a, const mm_rule *r, const char *level, const char *technique,
                           const char *reason, mm_event *ev, int64_t count) {
    mm_alert *al = mm_arena_zalloc(a, sizeof *al);
    al->rule_id = mm_arena_strndup(a, r->id, strlen(r->id));
    al->rule_name = mm_arena_strndup(a, r->title, strlen(r->title));
    al->level = mm_arena_strndup(a, level, strlen(level));
    al->technique = technique && *technique ? mm_arena_strndup(a, technique, strlen(technique)) : NULL;
    al->reason = mm_arena_strndup(a, reason, strlen(reason));
    al->ts_ns = ev->ts_ns;
    al->count = count;
    al->ev = ev;
    return al;
}

static void ensure_scratch(mm_detect_state *s, int nrules) {
    if (s->capcand < nrules) {
        s->cand = mm_xrealloc(s->cand, (size_t)nrules * sizeof(int));
        s->matched = mm_xrealloc(s->matched, (size_t)nrules * sizeof(int));
        s->capcand = nrules;
    }
    if (s->nseen < (uint32_t)nrules) {
        free(s->seen);
        s->seen = calloc((size_t)nrules, sizeof(uint32_t));
        if (!s->seen) abort();
        s->nseen = (uint32_t)nrules;
        s->gen = 0;
    }
    if (++s->gen == 0) {   /* wrapped: start the stamps afresh */
        memset(s->seen, 0, s->nseen * sizeof(uint32_t));
        s->gen = 1;
    }
}

static int cmpint(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void put_value(mm_buf *b, mm_str s) {
    uint32_t n = s.len > 200 ? 200 : s.len;
    for (uint32_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        mm_buf_putc(b, (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch);
    }
}

/* Does the event carry one of the rule's anchor values?  A rule routed to the
 * prefilter keeps its anchor (its log source's event ids): a literal such as
 * ".exe" occurs in most Sysmon events, the event id it needs in few. */
static bool anchor_ok(const mm_rule *r, const mm_event *ev) {
    mm_fiter it;
    mm_str v;
    const mm_value *val;
    mm_fiter_init(&it, ev, &r->anchor.f);
    while (mm_fiter_next(&it, &v, &val))
        for (int k = 0; k < r->anchor.nvals; k++) {
            const char *a = r->anchor.vals[k];
            uint32_t i = 0;
            while (i < v.len && a[i] && lc(v.p[i]) == a[i]) i++;
            if (i == v.len && !a[i]) return true;
        }
    return false;
}

static void pf_hit(void *ctx, int r) {
    mm_detect_state *st = ctx;
    if (st->seen[r] == st->gen) return;
    st->seen[r] = st->gen;
    const mm_rule *rule = st->cur_d->rules[r];
    if (rule->has_anchor && !anchor_ok(rule, st->cur_ev)) return;
    st->cand[st->ncand++] = r;
}

typedef struct feed_ctx {
    const mm_detect *d;
    mm_event *ev;
    mm_arena *a;
    mm_alert **alerts;
    int raised;
    int fed[256];        /* count-type correlations already fed by this event */
    int nfed;
    mm_buf *key, *text, *val, *reason;   /* the worker state's */
} feed_ctx;

static bool count_type(const mm_corr *c) {
    return c->type != MM_CORR_T_TEMPORAL && c->type != MM_CORR_T_TEMPORAL_ORDERED;
}

/* Rule `base` matched (or correlation `base` fired) on fc->ev: give the hit to the
 * correlation ci, raise its alert when it fires and pass that on up the chain. */
static void corr_feed(feed_ctx *fc, int ci, int base, int depth) {
    const mm_detect *d = fc->d;
    const mm_rule *c = d->rules[ci];
    const mm_corr *co = c->corr;
    if (depth > 8 || !d->corr_state) return;
    if (count_type(co)) {
        for (int i = 0; i < fc->nfed; i++)
            if (fc->fed[i] == ci) return;   /* one event counts once */
        if (fc->nfed < (int)MM_ARRAY_LEN(fc->fed)) fc->fed[fc->nfed++] = ci;
    }
    for (int k = 0; k < co->nrefs; k++) {
        if (c->ref_rule[k] != base) continue;
        mm_buf_reset(fc->key);
        mm_buf_reset(fc->text);
        for (int g = 0; g < co->ngroup; g++) {
            mm_str v = {NULL, 0};
            const mm_value *mv;
            bool has = mm_fset_value(&c->cgroup[k * co->ngroup + g], fc->ev, &v, &mv) && v.len;
            if (g) {
                mm_buf_putc(fc->key, '\x1f');
                mm_buf_puts(fc->text, ", ");
            }
            mm_ip ip;
            char ipb[48];
            if (has && v.len <= 64 && mm_ip_parse(v, &ip)) {
                /* one address, one group: ::ffff:10.1.2.3 (Kerberos events) is 10.1.2.3 (logons) */
                mm_ip_fmt(&ip, ipb);
                v = mm_str_c(ipb);
            }
            if (has) {
                /* group values compare as Sigma compares: case-insensitively */
                for (uint32_t x = 0; x < v.len; x++) mm_buf_putc(fc->key, lc(v.p[x]));
                put_value(fc->text, v);
            } else {
                mm_buf_putc(fc->text, '-');
            }
        }
        mm_str value = {NULL, 0};
        double num = 0;
        if (co->nfields) {
            mm_buf_reset(fc->val);
            bool all = true;
            for (int f = 0; f < co->nfields && all; f++) {
                mm_str v;
                const mm_value *mv;
                all = mm_fset_value(&c->cvalue[k * co->nfields + f], fc->ev, &v, &mv);
                if (f) mm_buf_putc(fc->val, '\x1f');
                if (all) mm_buf_put(fc->val, v.p, v.len);
            }
            if (all) value = (mm_str){fc->val->p ? fc->val->p : "", (uint32_t)fc->val->len};
            if (all && (co->type == MM_CORR_T_VALUE_SUM || co->type == MM_CORR_T_VALUE_AVG)) {
                char tmp[64];
                size_t n = value.len < sizeof tmp - 1 ? value.len : sizeof tmp - 1;
                memcpy(tmp, value.p, n);
                tmp[n] = 0;
                char *end;
                num = strtod(tmp, &end);
                if (end == tmp) value = (mm_str){NULL, 0};
            }
            if (!value.p) return;   /* the event lacks the field: not counted */
        }
        mm_corr_fire fire;
        if (mm_corr_hit(d->corr_state, co, c->corr_key, k, fc->key->p ? fc->key->p : "", fc->key->len, value, num,
                        fc->ev->ts_ns, &fire) == 1) {
            if (!c->silent) {
                mm_buf_reset(fc->reason);
                mm_eval cx = {.ioc = d->ioc};
                mm_rule_reason(c, fc->ev, &cx, (int64_t)fire.value, mm_buf_cstr(fc->text), fc->reason);
                mm_alert *al = new_alert(fc->a, c, c->level, c->technique, mm_buf_cstr(fc->reason), fc->ev,
                                         fire.events > 0 ? fire.events : 1);
                /* out of order (several workers, files) the completing hit may be older
                 * than the sequence's last step: the alert is dated by the newest */
                if (fire.last_ts > al->ts_ns) al->ts_ns = fire.last_ts;
                al->next = *fc->alerts;
                *fc->alerts = al;
                fc->raised++;
            }
            for (int x = 0; x < c->ncorrs; x++) corr_feed(fc, c->corrs[x], ci, depth + 1);
        }
        if (count_type(co)) return;
    }
}

int mm_detect_event(const mm_detect *d, mm_detect_state *s, mm_event *ev, mm_arena *a,
                    mm_alert **alerts) {
    if (!d || !ev || !a || !alerts || ev->kind != MM_KIND_EVENT || d->nrules == 0) return 0;
    mm_detect_state local = {0};
    mm_detect_state *st = s ? s : &local;
    ensure_scratch(st, d->nrules);
    int nc = 0;
    for (int i = 0; i < d->nalways; i++) st->cand[nc++] = d->always[i];
    char buf[256];
    for (int k = 0; k < d->ndims; k++) {
        const dim *dm = &d->dims[k];
        mm_fiter it;
        mm_str v;
        const mm_value *val;
        mm_fiter_init(&it, ev, &dm->f);
        while (mm_fiter_next(&it, &v, &val)) {
            if (v.len >= sizeof buf) continue;
            for (uint32_t i = 0; i < v.len; i++) buf[i] = lc(v.p[i]);
            const dent *e = dim_find(dm, buf, v.len, vhash(buf, v.len));
            if (!e) continue;
            for (int i = 0; i < e->n; i++) {
                int r = e->rules[i];
                if (st->seen[r] == st->gen) continue;
                st->seen[r] = st->gen;
                st->cand[nc++] = r;
            }
            if (!dm->multi) break;
        }
    }
    if (d->pf) {
        st->ncand = nc;
        st->cur_d = d;
        st->cur_ev = ev;
        mm_prefilter_scan(d->pf, &st->hs_scratch, &st->hs_gen, ev, pf_hit, st);
        nc = st->ncand;
    }
    /* rules are evaluated in load order (deterministic alerts); few candidates:
     * insertion sort beats qsort's setup */
    if (nc > 64) qsort(st->cand, (size_t)nc, sizeof(int), cmpint);
    else
        for (int i = 1; i < nc; i++) {
            int x = st->cand[i], j = i;
            while (j > 0 && st->cand[j - 1] > x) {
                st->cand[j] = st->cand[j - 1];
                j--;
            }
            st->cand[j] = x;
        }

    if (!st->re_md) st->re_md = mm_re_md_new();
    feed_ctx fc = {.d = d, .ev = ev, .a = a, .alerts = alerts, .key = &st->key, .text = &st->text, .val = &st->val,
                   .reason = &st->reason};
    bool ioc_seen = false;
    for (int ci = 0; ci < nc; ci++) {
        const mm_rule *r = d->rules[st->cand[ci]];
        mm_eval cx = {.ioc = d->ioc, .re_md = st->re_md, .selc = st->selc};
        if (!mm_rule_match(r, ev, &cx)) continue;
        if (cx.ioc_hit) ioc_seen = true;
        if (!r->silent) {
            mm_buf_reset(fc.reason);
            mm_rule_reason(r, ev, &cx, 1, NULL, fc.reason);
            mm_alert *al = new_alert(a, r, r->level, r->technique, mm_buf_cstr(fc.reason), ev, 1);
            if (cx.ioc_hit) {
                mm_buf_reset(fc.reason);
                mm_ioc_hit_json(fc.reason, &cx, d->retro);
                al->threat = mm_arena_strndup(a, fc.reason->p, fc.reason->len);
            }
            al->next = *alerts;
            *alerts = al;
            fc.raised++;
        }
        /* without a worker state there are no correlations (one-off evaluations) */
        for (int k = 0; s && k < r->ncorrs; k++) corr_feed(&fc, r->corrs[k], st->cand[ci], 0);
    }
    if (ioc_seen) mm_count(MM_C_IOC_MATCHES, 1);
    if (fc.raised) mm_count(MM_C_ALERTS, (uint64_t)fc.raised);
    if (!s) {
        free(local.seen);
        free(local.cand);
        free(local.matched);
        if (local.re_md) mm_re_md_free(local.re_md);
        mm_prefilter_scratch_free(local.hs_scratch);
        mm_buf_free(&local.key);
        mm_buf_free(&local.text);
        mm_buf_free(&local.val);
        mm_buf_free(&local.reason);
    }
    return fc.raised;
}

void mm_detect_each_inactive(const mm_detect *d, void (*fn)(void *ctx, const char *logsource, const char *why),
                             void *ctx) {
    for (int i = 0; d && i < d->nrules; i++)
        if (d->rules[i]->inactive) fn(ctx, d->rules[i]->logsource ? d->rules[i]->logsource : "-", d->rules[i]->inactive);
}

void mm_detect_each_rule(const mm_detect *d, void (*fn)(void *ctx, const mm_rule_info *ri), void *ctx) {
    for (int i = 0; d && i < d->nrules; i++) {
        const mm_rule *r = d->rules[i];
        mm_rule_info ri = {
            .id = r->id, .title = r->title, .level = r->level, .file = r->file, .line = r->line,
            .logsource = r->logsource, .inactive = r->inactive, .is_filter = r->is_filter,
            .is_correlation = r->corr_type != 0,
            .alerting = !r->silent && !r->is_filter && !r->inactive,
        };
        fn(ctx, &ri);
    }
}

int mm_detect_prefiltered(const mm_detect *d) { return d ? d->npf : 0; }

void mm_alert_json_head(mm_buf *b, int64_t ts_ns, const char *rule_id, const char *rule_name,
                        const char *technique, const char *level) {
    mm_buf_puts(b, "{\"@timestamp\":\"");
    mm_time_fmt(b, ts_ns);
    mm_buf_puts(b, "\",\"rule\":{\"id\":");
    mm_json_str(b, rule_id, strlen(rule_id));
    mm_buf_puts(b, ",\"name\":");
    mm_json_str(b, rule_name, strlen(rule_name));
    if (technique && *technique) {
        mm_buf_puts(b, ",\"technique\":");
        mm_json_str(b, technique, strlen(technique));
    }
    mm_buf_puts(b, "},\"level\":");
    mm_json_str(b, level, strlen(level));
}
