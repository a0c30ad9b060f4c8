/* detect: rules and indicators applied to every event, producing alerts.
 *
 * Rules are data: Sigma rules (YAML under rules/ and any folder of SigmaHQ rules:
 * detections with every modifier, correlation rules, filters), routed to events by
 * log source mapping files (rules/mappings/).  Indicator lists (IP, CIDR, domain with subdomains,
 * URL, md5/sha1/sha256; plain text or CSV) are matched against the fields that
 * carry each type.
 *
 * An mm_detect is immutable once loaded and shared by all workers; each worker owns
 * an mm_detect_state (scratch, regex and prefilter buffers).  Correlation windows
 * are the one shared mutable part: sharded, each shard under its own lock, because
 * a correlation grouped by user name must see the events of every worker. */
#ifndef MM_DETECT_H
#define MM_DETECT_H

#include "../core/core.h"

typedef struct mm_alert {
    const char *rule_id;       /* stable id (uuid or name) */
    const char *rule_name;     /* title */
    const char *level;         /* informational | low | medium | high | critical */
    const char *technique;     /* ATT&CK technique id ("T1190"), or NULL */
    const char *reason;        /* one line of evidence, e.g. what matched */
    int64_t ts_ns;             /* the event's time */
    int64_t count;             /* events behind the alert (bursts), 1 otherwise */
    mm_event *ev;              /* the event that raised it (same batch) */
    const char *threat;        /* the matched indicator and its 5W1H as a JSON object
                                * (see mm_ioc_hit_json), or NULL */
    struct mm_alert *next;
} mm_alert;

/* The start of an alert's JSON object, shared by `mamori alerts --json` and the
 * streamed alerts: {"@timestamp":..,"rule":{"id","name"[,"technique"]},"level":..
 * (the object is left open for the caller's members). */
void mm_alert_json_head(mm_buf *b, int64_t ts_ns, const char *rule_id, const char *rule_name,
                        const char *technique, const char *level);

typedef struct mm_detect mm_detect;
typedef struct mm_detect_state mm_detect_state;

/* Load the rules under c->rules_dir and the indicator files of c.  Returns NULL with
 * err set on a rule or file that cannot be used; the message names file and line. */
mm_detect *mm_detect_load(const mm_config *c, mm_err *err);

/* What loading made of each rule file, for `mamori rules check`. */
typedef struct mm_rule_problem {
    char *file;
    int line;
    char *title;             /* NULL when the document has none (or is not YAML) */
    char *reason;            /* short category: "unknown modifier", "YAML error"... */
    char *detail;            /* the full message, naming file and line */
} mm_rule_problem;
typedef struct mm_rules_report {
    int files;               /* rule files read */
    int loaded;              /* rules compiled, filters included */
    int inactive;            /* loaded, but no mapping routes their log source yet */
    int filters;             /* Sigma filter documents among the loaded */
    int skipped;             /* refused, each with its reason in skips */
    mm_rule_problem *skips; int nskips;
} mm_rules_report;
void mm_rules_report_free(mm_rules_report *r);

typedef struct mm_detect_opts {
    char *const *extra; int nextra;   /* more rule folders (--rules DIR) */
    bool only_extra;                  /* load only those, not the configured folders */
    bool strict;                      /* a bad rule fails the whole load */
    mm_rules_report *report;          /* filled when set; otherwise skips are logged */
    /* Indicators: when set, the engine takes ownership of this set (built from the
     * indicator store) and adds the configured list files to it. */
    struct mm_ioc_set *ioc;
    bool no_indicator_files;          /* do not add the configured list files */
    /* Retro-hunt: keep only the rules that match indicators, and mark their
     * alerts retrospective. */
    bool retro;
} mm_detect_opts;
/* Load with options.  Without strict, a rule that cannot be used is skipped and
 * counted (rules_skipped) and the others load. */
mm_detect *mm_detect_load_opts(const mm_config *c, const mm_detect_opts *o, mm_err *err);
/* Every loaded rule, for `mamori rules check|test`. */
typedef struct mm_rule_info {
    const char *id, *title, *level, *file;
    int line;
    const char *logsource;   /* "product/category/service", NULL when none */
    const char *inactive;    /* why it is never evaluated, or NULL */
    bool is_filter, is_correlation;
    bool alerting;           /* raises alerts itself (not a silent base rule or a filter) */
} mm_rule_info;
void mm_detect_each_rule(const mm_detect *d, void (*fn)(void *ctx, const mm_rule_info *ri), void *ctx);
/* For reports: how many rules are active / inactive and the inactive log sources. */
void mm_detect_each_inactive(const mm_detect *d, void (*fn)(void *ctx, const char *logsource, const char *why),
                             void *ctx);
void mm_detect_free(mm_detect *d);
int mm_detect_rule_count(const mm_detect *d);
int mm_detect_indicator_count(const mm_detect *d);

/* A reload: the new engine takes over the old one's correlation windows, so a
 * brute force in progress is still counted (call with no worker using either). */
void mm_detect_keep_windows(mm_detect *to, mm_detect *from);

mm_detect_state *mm_detect_state_new(void);
void mm_detect_state_free(mm_detect_state *s);

/* Evaluate ev; each alert is allocated in arena a (strings copied into it, so the
 * alert outlives a reload of d) and prepended to *alerts.  Returns alerts raised. */
int mm_detect_event(const mm_detect *d, mm_detect_state *s, mm_event *ev, mm_arena *a,
                    mm_alert **alerts);

/* ---- indicators (the engine's index; the store keeps the records) ----
 *
 * An mm_ioc_set maps normalised indicator keys to their context.  It is built
 * before the engine is shared and read-only afterwards. */
typedef struct mm_ioc_set mm_ioc_set;
struct mm_indicator;
mm_ioc_set *mm_ioc_set_new(void);
void mm_ioc_set_free(mm_ioc_set *s);
/* Make room for n more indicators (a load that knows its count avoids rehashing). */
void mm_ioc_reserve(mm_ioc_set *s, size_t n);
/* Parse one list (plain, CSV, see mm_list_read) into the set.  Bad lines are
 * counted in *bad and skipped.  `name` labels the list in alerts.  Returns
 * indicators added. */
int mm_ioc_parse(mm_ioc_set *s, const char *name, const char *text, size_t len, int *bad);
int mm_ioc_count(const mm_ioc_set *s);

#define MM_IOC_ADD_WARNING 1u   /* a warning-list entry: suppresses matches, never alerts */
/* Add one record.  Revoked and expired records are not added (returns 0).  The
 * same indicator from another feed is merged (its context chained).  Returns 1
 * added, 0 merged/ignored, -1 not a valid value for its type (*why set), -2 out
 * of memory. */
int mm_ioc_add(mm_ioc_set *s, const struct mm_indicator *ind, unsigned flags, const char **why);

/* The canonical text of a value of type t (an mm_ind_type): what the store keys
 * indicators by and alerts print.  Refangs, lower-cases, masks CIDR host bits,
 * IDN -> punycode, normalises URLs (scheme dropped, default port, percent
 * escapes).  MM_IND_NONE: the type is guessed and returned in *t_out (may be
 * NULL).  Returns the length, or -1 with *why set. */
int mm_ioc_normalise(int t, const char *v, size_t n, char *out, size_t cap, int *t_out, const char **why);

/* ---- retro-hunt sketches ----
 * A term is a 64-bit hash of a normalised key an event could be matched by.
 * Event side: every value of the fields indicators are matched on, with parent
 * domains, URLs with and without their query, and addresses with coarser
 * prefixes (/24 and /16 for IPv4, /64 /48 /32 for IPv6) so CIDR indicators can be
 * probed.  Indicator side: the terms to probe for a canonical value; -1 when it
 * cannot be probed (a CIDR wider than /8): every event must be checked. */
void mm_ioc_event_terms(const mm_event *ev, void (*fn)(void *ctx, uint64_t term), void *ctx);
int mm_ioc_probe_terms(int t, const char *canonical, size_t n, uint64_t *out, int max);

#endif
