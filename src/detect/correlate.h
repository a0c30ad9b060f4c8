/* correlate: Sigma correlation rules (the `correlation:` section) compiled into an
 * mm_corr, and the shared windows that decide when one fires.  Internal to
 * src/detect/: rules.c compiles, detect.c feeds hits.  Depends on core only.
 *
 * Types: event_count, value_count, temporal, temporal_ordered, value_sum,
 * value_avg (Sigma correlation specification 2.1; value_percentile is refused).
 *
 * ---- how windows work (the semantics, in one place) ----
 *
 * Everything is computed on event time (ts_ns), never on arrival order, per
 * (correlation index, group key) "group".
 *
 * Rising conditions (only gt / gte, or no condition for temporal types): a
 * sliding window anchored at the newest event time seen for the group, covering
 * [newest - timespan, newest].  A hit dated inside it is inserted in order, however
 * late it arrives (several workers, several files); a hit dated before it is too
 * late, dropped and counted (stats.late).  The condition is evaluated on every hit
 * and the correlation fires as soon as it holds.
 *
 * After firing the group's window restarts (empty) and the group stays quiet until
 * its newest event time reaches fire time + timespan: hits keep being recorded but
 * cannot fire before.  A sustained brute force therefore raises one alert per
 * timespan, not one per event (the behaviour detect.c's burst windows had).
 *
 * Closing conditions (any of lt, lte, eq, neq): "fewer than N" or "exactly N" can
 * only be decided once the window is over, so these use tumbling windows: the first
 * hit of a group opens [t, t + timespan]; the window is evaluated when a hit dated
 * after its end arrives (that hit opens the next window), or when the caller sweeps
 * with a watermark past its end (mm_corr_sweep: periodically, and with INT64_MAX at
 * the end of a batch ingest).  A late hit dated before the open window's start is
 * taken in when the window can slide back to it without losing its newest hit,
 * otherwise dropped as late; no window is evaluated twice.
 *
 * Per type, what the condition compares:
 *   event_count       events in the window
 *   value_count       distinct values of the condition `field`(s) in the window
 *   value_sum / avg   sum / average of the numeric `field` over the window's events
 *   temporal          how many of the referenced rules matched in the window
 *                     (no condition: all of them)
 *   temporal_ordered  the length of the longest prefix of the rule list matched in
 *                     that order (event times non-decreasing: hits with the same
 *                     timestamp count as in order) inside the window; no condition:
 *                     the whole list.
 *
 * Memory per group is bounded: event_count keeps at most its threshold's worth of
 * timestamps (rising) and at most MM_CORR_MAX_TIMES time entries in all cases
 * (beyond that the closest entries merge onto the older timestamp, which can only
 * make the window count lower, never fire early); value_count keeps at most
 * MM_CORR_MAX_DISTINCT values (64-bit hashes with their last-seen time; overflow is
 * counted and the count saturates above every allowed threshold); temporal keeps
 * the last time per rule; temporal_ordered at most MM_CORR_MAX_ORDERED hits.
 *
 * ---- threads ----
 * One mm_corr_state is shared by every worker (a correlation grouped by user name
 * sees events of every source address).  It is split into shards by the hash of
 * (correlation index, group key), each with its own mutex, table and LRU list.
 */
#ifndef MM_CORRELATE_H
#define MM_CORRELATE_H

#include "../core/core.h"

#define MM_CORR_MAX_REFS 32        /* rules one correlation may reference */
#define MM_CORR_MAX_GROUP 8        /* group-by entries */
#define MM_CORR_MAX_FIELDS 8       /* value_count fields */
#define MM_CORR_MAX_TIMES 256      /* time entries per group (count, sum, avg) */
#define MM_CORR_MAX_DISTINCT 4096  /* distinct values per group (value_count) */
#define MM_CORR_MAX_ORDERED 64     /* hits kept per group (temporal_ordered) */
#define MM_CORR_MAX_KEY 1024       /* longer group keys are cut and suffixed with a hash */

typedef enum mm_corr_type {
    MM_CORR_T_EVENT_COUNT = 1,
    MM_CORR_T_VALUE_COUNT,
    MM_CORR_T_TEMPORAL,
    MM_CORR_T_TEMPORAL_ORDERED,
    MM_CORR_T_VALUE_SUM,
    MM_CORR_T_VALUE_AVG,
} mm_corr_type;

const char *mm_corr_type_name(mm_corr_type t);

typedef enum mm_corr_op { MM_CORR_GT, MM_CORR_GTE, MM_CORR_LT, MM_CORR_LTE, MM_CORR_EQ, MM_CORR_NEQ } mm_corr_op;

/* One comparison of the condition; a condition is the AND of up to six. */
typedef struct mm_corr_cmp {
    mm_corr_op op;
    double value;
} mm_corr_cmp;

typedef struct mm_corr_alias mm_corr_alias;   /* private to correlate.c */

/* A compiled correlation.  Every pointer is owned by it (mm_corr_free).  Field
 * names are as written in the rule (Sigma names): the caller maps them to event
 * fields for each referenced rule's log source. */
typedef struct mm_corr {
    mm_corr_type type;
    int line;                   /* of the correlation map */
    /* rules: names or ids as written; the caller resolves them to rule indexes */
    int nrefs;
    char **refs;
    /* group-by, as written (an alias or a field name) */
    int ngroup;
    char **group;
    /* ref_group[ref * ngroup + g]: the field to read group-by entry g from in the
     * events of rule `ref` (aliases[g][ref] when group[g] is an alias naming that
     * rule, else group[g] itself).  Points into group or the alias table. */
    const char **ref_group;
    /* value_count / value_sum / value_avg: condition `field` (a string or a list,
     * several fields count distinct combinations); nfields = 0 for other types.
     * ref_field[ref * nfields + k] resolves aliases the same way. */
    int nfields;
    char **fields;
    const char **ref_field;
    int64_t timespan_ns;
    char *timespan_text;        /* as written, for reasons ("5m") */
    int ncmp;
    mm_corr_cmp cmp[6];
    bool closing;               /* lt/lte/eq/neq present: tumbling windows (see top) */
    int64_t need;               /* rising count types: the smallest count that fires */
    bool has_generate, generate;/* `generate:` given inside the correlation map */
    uint64_t sig;               /* digest of everything above: state from another
                                 * version of the rule (reload) is restarted */
    mm_corr_alias *aliases;
    int naliases;
} mm_corr;

/* Compile the `correlation:` map.  Returns 0 with *out set (free with mm_corr_free),
 * or MM_EINVAL with err set to "line N: why" (mm_corr_compile_file: "file:N: why").
 * An unknown or unimplemented type gives "unsupported correlation type 'x'" so a
 * loader can count it as a skip reason.  Alias entries naming a rule that is not in
 * `rules` as written are kept for mm_corr_bind (the rule may be listed by id and
 * aliased by name). */
int mm_corr_compile(const mm_cnode *correlation, mm_corr **out, mm_err *err);
int mm_corr_compile_file(const mm_cnode *correlation, const char *file, mm_corr **out, mm_err *err);
void mm_corr_free(mm_corr *c);

/* Once the caller has resolved refs[i] to a rule, give each rule's id and name
 * (arrays of nrefs; either array or any entry may be NULL) so aliases written with
 * the other identifier bind too.  Errors (MM_EINVAL, "line N: ...") when an alias
 * names a rule the correlation does not reference.  Recomputes ref_group/ref_field. */
int mm_corr_bind(mm_corr *c, const char *const *ids, const char *const *names, mm_err *err);

/* Does value satisfy every comparison of the condition? */
bool mm_corr_cond_holds(const mm_corr *c, double value);

/* ---------------------------------------------------------------- runtime */

typedef struct mm_corr_state mm_corr_state;

/* What a firing correlation reports. */
typedef struct mm_corr_fire {
    double value;        /* what the condition compared (count, distinct, sum, avg, rules) */
    int64_t events;      /* events behind it: exact for event_count/value_sum/value_avg;
                          * for value_count and temporal types, hits since the window
                          * (re)started */
    uint32_t distinct;   /* value_count: distinct values */
    double sum, avg;     /* value_sum / value_avg */
    int64_t first_ts, last_ts;   /* oldest and newest event time behind it */
    bool saturated;      /* value_count hit MM_CORR_MAX_DISTINCT, or time entries merged */
} mm_corr_fire;

typedef struct mm_corr_stats {
    uint64_t tracked;    /* groups held now */
    uint64_t evicted;    /* groups evicted at max_keys (least recently seen of a shard) */
    uint64_t late;       /* hits dated before their group's window, dropped */
    uint64_t overflow;   /* value_count values beyond MM_CORR_MAX_DISTINCT */
    uint64_t fired;
} mm_corr_stats;

/* max_keys bounds the groups of every correlation together (0: 65536).  A shard
 * evicts its least recently seen group when the total is reached; the total can
 * pass max_keys by at most one group per shard, when the inserting shard is empty.
 * NULL on allocation failure.  Free with mm_corr_state_free. */
mm_corr_state *mm_corr_state_new(uint32_t max_keys);
void mm_corr_state_free(mm_corr_state *s);
void mm_corr_state_stats(mm_corr_state *s, mm_corr_stats *out);

/* Base rule number ref_no (index into c->refs) of correlation c, which the caller
 * numbers corr_index (stable across reloads where it can), matched an event at
 * ts_ns.  group_key is the group-by values joined by the caller (any bytes; empty
 * when there is no group-by).  value: value_count's field text(s), joined the same
 * way; value.p == NULL means the event lacks the field and the hit is ignored.
 * num: value_sum/value_avg's number (a non-finite one is ignored).
 *
 * Call once per event and correlation for event_count/value_count/value_sum/
 * value_avg (ref_no is then only checked), but once per matched rule for temporal
 * types (an event matching two referenced rules counts for both).
 *
 * Returns 1 with *out filled when the correlation fires, 0 when not, MM_EINVAL on
 * a bad argument.  Thread-safe. */
int mm_corr_hit(mm_corr_state *s, const mm_corr *c, uint32_t corr_index, int ref_no, const char *group_key,
                size_t group_len, mm_str value, double num, int64_t ts_ns, mm_corr_fire *out);

/* Evaluate and drop what event time `watermark_ns` has passed (the caller promises
 * no hit dated before it will come; INT64_MAX: the stream has ended): tumbling windows
 * (closing conditions) that ended before it fire through fn when their condition
 * holds; rising groups whose window and quiet time are over, and groups of
 * correlations no longer in corrs (reload; matched by index and sig), are dropped.
 * corrs[i] is the correlation numbered i (NULL allowed).  fn runs with a shard lock
 * held: it must not call back into s.  Returns how many fired. */
typedef void (*mm_corr_fire_fn)(void *ctx, uint32_t corr_index, const char *group_key, size_t group_len,
                                const mm_corr_fire *f);
int mm_corr_sweep(mm_corr_state *s, const mm_corr *const *corrs, uint32_t ncorrs, int64_t watermark_ns,
                  mm_corr_fire_fn fn, void *ctx);

#endif
