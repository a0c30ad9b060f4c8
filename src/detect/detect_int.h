/* detect internals shared by detect.c (loading, index, burst state, alerts), rules.c
 * (rule compiler and evaluator) and ioc.c (indicator set).  Not part of the
 * interface: nothing outside src/detect/ includes this. */
#ifndef MM_DETECT_INT_H
#define MM_DETECT_INT_H

#include "detect.h"

/* ---------------------------------------------------------------- indicators */

/* Indicator type bits, also used as the `|ioc` modifier's type filter. */
enum {
    MM_IOC_IP = 1,        /* address or CIDR */
    MM_IOC_DOMAIN = 2,    /* matches the domain and its subdomains */
    MM_IOC_URL = 4,
    MM_IOC_MD5 = 8,
    MM_IOC_SHA1 = 16,
    MM_IOC_SHA256 = 32,
    MM_IOC_HASH = MM_IOC_MD5 | MM_IOC_SHA1 | MM_IOC_SHA256,
    MM_IOC_ANY = 63,
};

typedef struct mm_ioc_hit {
    const char *indicator;   /* as loaded (normalised): "203.0.113.0/24" */
    const char *list;        /* list name */
    const char *desc;        /* description column, or NULL */
    unsigned type;           /* one MM_IOC_* bit */
} mm_ioc_hit;

/* Match one event value against the set.  `ip` (may be NULL) is the value already
 * parsed as an address; otherwise the text is classified (address, hash, URL,
 * domain) and looked up as every type in `types` it could be.  URLs are also
 * matched by their host.  Never allocates. */
bool mm_ioc_match(const mm_ioc_set *s, mm_str val, const mm_ip *ip, unsigned types,
                  mm_ioc_hit *hit);
/* A URL given as host and path separately (FortiGate's hostname= and url=). */
bool mm_ioc_match_url_parts(const mm_ioc_set *s, mm_str host, mm_str port, mm_str path,
                            mm_str query, mm_ioc_hit *hit);
const char *mm_ioc_type_name(unsigned type);
/* "ip", "domain", "url", "hash", "md5", "sha1", "sha256", "cidr", "any" -> bits, 0 if unknown. */
unsigned mm_ioc_type_parse(const char *name);

/* ---------------------------------------------------------------- rules */

/* A field as rules name it: a known (ECS) field by id, or a vendor key looked up
 * under the event's vendor_prefix. */
typedef struct mm_fref {
    const char *name;        /* printed name, owned by the rule */
    uint16_t id;             /* MM_F_* or MM_F_NONE for vendor fields */
} mm_fref;

/* Iterate the values of a field in an event: call until it returns false. */
typedef struct mm_fiter {
    const mm_event *ev;
    const mm_value *v;       /* next known-field value */
    const mm_str *vendor;    /* the vendor value, consumed once */
    bool started;
    mm_fref f;
} mm_fiter;
void mm_fiter_init(mm_fiter *it, const mm_event *ev, const mm_fref *f);
bool mm_fiter_next(mm_fiter *it, mm_str *s, const mm_value **v);
bool mm_fref_resolve(const char *name, mm_fref *out, mm_err *err);

/* Per-evaluation scratch: what an `|ioc` selection matched (for the reason). */
typedef struct mm_eval {
    const mm_ioc_set *ioc;
    bool ioc_hit;
    mm_ioc_hit hit;
    const char *hit_field;
    mm_str hit_value;
} mm_eval;

typedef struct mm_rule mm_rule;

/* A value set the rule needs a field to have (plain equality), used to index the
 * rule by that field so other events never evaluate it. */
typedef struct mm_anchor {
    mm_fref f;
    int nvals;
    const char *const *vals;  /* lower-case */
} mm_anchor;

enum { MM_CORR_NONE = 0, MM_CORR_EVENT_COUNT };

struct mm_rule {
    char *id;                 /* id, else name, else file#doc */
    char *name;               /* Sigma `name` (for correlation references), or NULL */
    char *title;
    const char *level;        /* static string */
    char technique[24];       /* "T1190" or "" */
    char *reason;             /* template, or NULL */
    char *file;
    int line;
    const char *product;      /* logsource product filter (owned), NULL = any */
    const char *vendor_prefix;/* the product's vendor prefix when known */
    /* detection (plain rules) */
    struct mm_sel *sels; int nsels;
    struct mm_cond *conds; int nconds; int root;
    bool has_anchor;
    mm_anchor anchor;
    /* correlation */
    int corr_type;            /* MM_CORR_* */
    char **corr_refs; int ncorr_refs;
    mm_fref *group; int ngroup;
    int64_t timespan_ns;
    char *timespan_text;
    int64_t threshold;        /* fire when count >= threshold */
    bool generate;            /* base rules also alert on their own */
    bool level_set;
    /* filled in by detect.c when linking */
    int *corrs; int ncorrs;   /* correlations that count this rule's matches */
    int *bases; int nbases;   /* correlation: its base rules */
    bool silent;              /* referenced by a correlation without generate */
};

/* Compile one YAML document.  `file`/`doc` label the rule; errors name file:line.
 * Returns 0 with *out set (free with mm_rule_free), or <0 with err set. */
int mm_rule_compile(const mm_cnode *doc, const char *file, int docno, mm_rule **out,
                    mm_err *err);
void mm_rule_free(mm_rule *r);
/* Does ev satisfy the rule's logsource and detection?  Plain rules only. */
bool mm_rule_match(const mm_rule *r, const mm_event *ev, mm_eval *cx);
/* Expand a reason template ({field.name}, {ioc}, {ioc.indicator}, {ioc.list},
 * {ioc.field}, {ioc.value}, {count}, {timespan}, {group}, {title}) or, with no
 * template, build the default reason. */
void mm_rule_reason(const mm_rule *r, const mm_event *ev, const mm_eval *cx, int64_t count,
                    const char *group, mm_buf *out);

/* ---------------------------------------------------------------- detect.c */

/* Rules from one YAML text (tests, fuzz target).  Takes ownership of ioc (may be
 * NULL: an empty set).  NULL with err set on a bad rule; ioc is freed then too. */
mm_detect *mm_detect_from_text(const char *name, const char *text, size_t len, mm_ioc_set *ioc,
                               mm_err *err);
/* Burst windows are bounded: at most max_keys groups per worker (default 65536);
 * the least recently seen group is evicted first. */
void mm_detect_state_set_max_keys(mm_detect_state *s, uint32_t max_keys);
/* Groups tracked now, and groups evicted so far. */
void mm_detect_state_stats(const mm_detect_state *s, uint64_t *tracked, uint64_t *evicted);

#endif
