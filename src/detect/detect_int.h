/* detect internals shared by detect.c (loading, index, burst state, alerts), rules.c
 * (rule compiler and evaluator) and ioc.c (indicator set).  Not part of the
 * interface: nothing outside src/detect/ includes this. */
#ifndef MM_DETECT_INT_H
#define MM_DETECT_INT_H

#include "detect.h"
#include "correlate.h"
#include "../intel/intel.h"

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
    MM_IOC_JA3 = 64,      /* TLS fingerprint (md5 hex), kept apart from file hashes */
    MM_IOC_EMAIL = 128,
    MM_IOC_FILENAME = 256,
    MM_IOC_UA = 512,      /* User-Agent, whole string */
    MM_IOC_ANY = 1023,
};

/* What a feed says about an indicator (the 5W1H).  Interned: indicators with the
 * same context share one.  `also` chains the other feeds that list the same
 * indicator (a duplicate merged, its source kept); the chain is ordered by
 * confidence, highest first. */
typedef struct mm_ioc_ctx {
    const char *feed;
    const char *tlp, *actor, *campaign, *malware, *kill_chain, *attack, *description, *action;
    int confidence;                  /* -1 unknown */
    const struct mm_ioc_ctx *also;
} mm_ioc_ctx;

typedef struct mm_ioc_hit {
    const char *indicator;   /* normalised: "203.0.113.0/24", "evil.example" */
    const char *list;        /* feed (list) name: ctx->feed */
    const char *desc;        /* ctx->description, or NULL */
    unsigned type;           /* one MM_IOC_* bit */
    const mm_ioc_ctx *ctx;
} mm_ioc_hit;

/* Match one event value against the set.  `ip` (may be NULL) is the value already
 * parsed as an address; otherwise the text is classified (address, hash, URL,
 * domain, e-mail) and looked up as every type in `types` it could be.  URLs are
 * also matched by their host.  Expired indicators and values on a warning list
 * do not match (the latter counted as indicator_suppressed).  Never allocates. */
bool mm_ioc_match(const mm_ioc_set *s, mm_str val, const mm_ip *ip, unsigned types,
                  mm_ioc_hit *hit);
/* A URL given as host and path separately (FortiGate's hostname= and url=). */
bool mm_ioc_match_url_parts(const mm_ioc_set *s, mm_str host, mm_str port, mm_str path,
                            mm_str query, mm_ioc_hit *hit);
const char *mm_ioc_type_name(unsigned type);
/* "ip", "domain", "url", "hash", "md5", "sha1", "sha256", "ja3", "email", "filename",
 * "user-agent", "cidr", "any" and feed spellings -> bits, 0 if unknown. */
unsigned mm_ioc_type_parse(const char *name);
unsigned mm_ioc_bits_of(mm_ind_type t);

/* ---------------------------------------------------------------- rules */

/* A field as rules name it: a known (ECS) field by id, or a vendor key looked up
 * under the event's vendor_prefix. */
typedef struct mm_fref {
    const char *name;        /* printed name, owned by the rule */
    uint16_t id;             /* MM_F_* or MM_F_NONE for vendor fields */
    bool raw;                /* a bare key (no prefix): looked up among vendor keys as is */
    uint16_t vsplit;         /* vendor fields: length of the prefix part (before the key) */
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
    void *re_md;              /* pcre2 match data of the calling worker, or NULL */
    const mm_ioc_set *ioc;
    bool ioc_hit;
    mm_ioc_hit hit;
    const char *hit_field;
    mm_str hit_value;
    /* set by mm_rule_match when selc is given: which selections of `sel_rule` held
     * (2), failed (1) or were not needed (0), for the alert's reason */
    uint8_t *selc;            /* MM_MAX_SELS + 1 bytes of the caller's, or NULL */
    const struct mm_rule *sel_rule;
} mm_eval;
#define MM_MAX_SELS 256

/* The indicator an evaluation matched, as a JSON object: {"indicator":{type,
 * name, provider[], confidence, marking.tlp, description}, "matched":{field,
 * atomic}, actor, campaign, malware, kill_chain, technique, action[,
 * "retrospective":true]}. */
void mm_ioc_hit_json(mm_buf *b, const mm_eval *cx, bool retro);

typedef struct mm_rule mm_rule;


/* A value set the rule needs a field to have (plain equality), used to index the
 * rule by that field so other events never evaluate it. */
typedef struct mm_anchor {
    mm_fref f;
    int nvals;
    const char *const *vals;  /* lower-case */
} mm_anchor;


/* ---------------------------------------------------------------- log sources */

/* Mapping files (rules/mappings/NAME.yml) say, per Sigma log source, which events
 * belong to it (`when:`, a selection over event fields) and how Sigma's field names
 * reach event fields (`fields:`: name -> one name or a list; a bare target name is a
 * key under the file's `prefix:`).  DESIGN.md section 3: mapping by data, not code. */
typedef struct mm_lsfile {
    char *path;
    mm_cnode *tree;
    const char *product;      /* file-level product, or NULL */
    const char *prefix;       /* where unmapped field names are looked up, or NULL */
    const mm_cnode *fields;   /* file-level field map, or NULL */
} mm_lsfile;

typedef struct mm_lsentry {
    const char *product, *category, *service;   /* NULL when unset */
    const mm_cnode *when;     /* map or list of maps, NULL: every event of the product */
    const mm_cnode *fields;   /* per-log-source field map over the file's, or NULL */
    const mm_lsfile *file;
} mm_lsentry;

typedef struct mm_lsmaps {
    mm_lsfile **files; int nfiles;
    mm_lsentry *e; int n;
} mm_lsmaps;

/* Load every .yml/.yaml under dir (absent dir: nothing loaded, not an error). */
int mm_lsmaps_load_dir(mm_lsmaps *m, const char *dir, mm_err *err);
void mm_lsmaps_free(mm_lsmaps *m);
/* The entry whose product/category/service are exactly the rule's, or NULL. */
const mm_lsentry *mm_lsmaps_find(const mm_lsmaps *m, const char *product, const char *category,
                                 const char *service);
/* The Sigma field's event names under entry e (NULL: no mapping): fills names (up
 * to max, pointing into the mapping or into buf) and returns how many. */
int mm_lsmap_field(const mm_lsentry *e, const char *sigma, const char **names, int max, char *buf,
                   size_t buflen);

/* What a rule is compiled against: mappings and placeholder values (both may be
 * NULL).  skip_reason is set by a failing compile: a short category for counts
 * ("unsupported modifier", "invalid regular expression"...). */
typedef struct mm_rule_env {
    const mm_lsmaps *maps;
    const mm_cnode *placeholders;
    const char *skip_reason;
} mm_rule_env;

/* A Sigma field name resolved to the event fields that may carry it (mapping):
 * its value is the first present one's. */
typedef struct mm_fset {
    mm_fref *f;
    int n;
} mm_fset;
/* Resolve a Sigma field name through a log source mapping entry (NULL: as is). */
int mm_fset_resolve(const mm_lsentry *ls, const char *name, mm_fset *out, mm_err *err);
void mm_fset_free(mm_fset *s);
/* The first value of the first field of the set the event has. */
bool mm_fset_value(const mm_fset *s, const mm_event *ev, mm_str *out, const mm_value **v);

/* ---------------------------------------------------------------- sigma values */

#define MM_SV_MAX 65536
typedef struct mm_svals {
    char **s;
    size_t *len;
    int n, cap;
} mm_svals;
enum { MM_SV_UTF16LE = 1, MM_SV_UTF16BE, MM_SV_UTF16BOM, MM_SV_BASE64, MM_SV_BASE64OFF, MM_SV_WINDASH,
       MM_SV_EXPAND };
enum { MM_UTF16LE, MM_UTF16BE, MM_UTF16BOM };
bool mm_svals_add(mm_svals *v, const char *s, size_t len);
void mm_svals_free(mm_svals *v);
/* Replace every value by its transformation (op: MM_SV_*).  Returns 0, or <0 with
 * why set (-1: undefined placeholder, -2: too many values). */
int mm_svals_apply(mm_svals *v, int op, const mm_cnode *placeholders, char *why, size_t whylen);
/* Standard Base64 with padding; out needs 4*ceil(n/3)+1 bytes.  Returns its length. */
size_t mm_base64_encode(const unsigned char *in, size_t n, char *out);

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
    char *logsource;          /* "product/category/service" as written, for reports */
    bool mapped;              /* a mapping file routes its log source (a `when` selection) */
    char *inactive;           /* loaded but never evaluated: why (no mapping for its log source) */
    /* Sigma filters (the filters spec): a filter is a rule-like document whose
     * match removes matches of the rules it names */
    bool is_filter;
    char **filter_refs; int nfilter_refs;
    struct mm_rule **filters; int nfilters;   /* filters applied to this rule (not owned) */
    /* detection (plain rules) */
    struct mm_sel *sels; int nsels;
    struct mm_cond *conds; int nconds; int root;
    bool has_anchor;
    mm_anchor anchor;
    /* correlation (correlate.h) */
    int corr_type;            /* mm_corr_type, 0 for detection rules */
    struct mm_corr *corr;
    bool generate;            /* referenced rules also alert on their own */
    bool level_set;
    const mm_lsentry *ls;     /* its log source mapping: valid while loading only */
    /* filled in by detect.c when linking */
    int *corrs; int ncorrs;   /* correlations that use this rule's matches */
    int *bases; int nbases;   /* correlation: the distinct rules it references */
    int *ref_rule;            /* correlation: rule index of each corr->refs[k] */
    uint32_t corr_key;        /* correlation: its windows' key, from its id (stable across reloads) */
    mm_fset *cgroup;          /* [ref * ngroup + g]: group-by field g in rule ref's events */
    mm_fset *cvalue;          /* [ref * nfields + k]: value field k in rule ref's events */
    bool silent;              /* referenced by a correlation without generate */
    bool uses_ioc;            /* has an `|ioc` match (the retro-hunt keeps only these) */
};

/* Compile one YAML document.  `file`/`doc` label the rule; errors name file:line.
 * Returns 0 with *out set (free with mm_rule_free), or <0 with err set. */
int mm_rule_compile(const mm_cnode *doc, const char *file, int docno, mm_rule_env *env, mm_rule **out,
                    mm_err *err);
/* pcre2 match data for one worker's evaluations (mm_eval.re_md). */
void *mm_re_md_new(void);
void mm_re_md_free(void *md);
void mm_rule_free(mm_rule *r);
/* Does ev satisfy the rule's logsource and detection?  Plain rules only. */
bool mm_rule_match(const mm_rule *r, const mm_event *ev, mm_eval *cx);
/* Expand a reason template ({field.name}, {ioc}, {ioc.indicator}, {ioc.list},
 * {ioc.field}, {ioc.value}, {count}, {timespan}, {group}, {title}) or, with no
 * template, build the default reason. */
void mm_rule_reason(const mm_rule *r, const mm_event *ev, const mm_eval *cx, int64_t count,
                    const char *group, mm_buf *out);

/* ---------------------------------------------------------------- prefilter */

/* A literal that must occur (case-insensitively) in a field for a rule to match:
 * a rule's literal set is satisfied when any one of its literals occurs. */
typedef struct mm_lit {
    const mm_fref *f;
    const char *s;
    uint32_t len;
} mm_lit;
#define MM_LIT_MAX 4096
/* The field name of literals searched in the whole record (keyword selections). */
#define MM_RAW_FIELD "@raw"
/* The rule's literal set (at most MM_LIT_MAX), or 0 when its condition has none
 * (a negation, a regular expression, numbers only).  *quality is the shortest
 * literal's length: short literals prefilter nothing. */
int mm_rule_literals(const mm_rule *r, mm_lit *out, int *quality);

/* One Hyperscan literal database per field over the literals of the rules given:
 * scanning an event's values names the rules that may match it. */
typedef struct mm_prefilter mm_prefilter;
mm_prefilter *mm_prefilter_build(mm_rule *const *rules, const int *which, int n, mm_err *err);
void mm_prefilter_free(mm_prefilter *pf);
/* Calls hit(ctx, rule index) for every rule one of whose literals occurs in its
 * field (a rule may be named more than once).  *scratch is the caller's (per
 * thread) Hyperscan scratch, grown as needed; free it with mm_prefilter_scratch_free. */
void mm_prefilter_scan(const mm_prefilter *pf, void **scratch, uint64_t *scratch_gen, const mm_event *ev,
                       void (*hit)(void *ctx, int rule), void *ctx);
void mm_prefilter_scratch_free(void *scratch);

/* ---------------------------------------------------------------- detect.c */

/* Rules from one YAML text (tests, fuzz target).  Takes ownership of ioc (may be
 * NULL: an empty set).  NULL with err set on a bad rule; ioc is freed then too. */
mm_detect *mm_detect_from_text(const char *name, const char *text, size_t len, mm_ioc_set *ioc,
                               mm_err *err);
/* Rules routed to the literal prefilter (tests, rules check). */
int mm_detect_prefiltered(const mm_detect *d);
/* Correlation windows are bounded: at most max_keys groups for all correlations
 * together (default 65536); the least recently seen group of a shard is evicted.
 * Setting it restarts every window. */
void mm_detect_set_corr_max_keys(mm_detect *d, uint32_t max_keys);
/* Groups tracked now, and groups evicted so far. */
void mm_detect_corr_stats(const mm_detect *d, uint64_t *tracked, uint64_t *evicted);

#endif
