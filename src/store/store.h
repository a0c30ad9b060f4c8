/* store: SQLite (WAL, one file) with numbered schema migrations.
 *
 * Events are kept as their raw record plus the columns search and retention need
 * (time, tenant, segment, input, format, kind, and the key ECS fields); the other
 * fields are re-derived by decoding the raw record, so nothing is stored twice.
 * Alerts keep rule, level, ATT&CK technique, the event reference and the event's key
 * fields as JSON evidence.  Input offsets make tailing resumable.
 *
 * One mm_store is used by one thread at a time.  Writes are batched by the caller
 * between mm_store_begin and mm_store_commit.  SQL uses bound parameters only. */
#ifndef MM_STORE_H
#define MM_STORE_H

#include "../core/core.h"
#include "../detect/detect.h"
#include "../intel/intel.h"

typedef struct mm_store mm_store;

int mm_store_open(mm_store **out, const char *path, mm_err *err);
void mm_store_close(mm_store *s);
int mm_store_schema_version(mm_store *s);

int mm_store_begin(mm_store *s);
int mm_store_commit(mm_store *s);
int mm_store_rollback(mm_store *s);

/* Insert; sets ev->store_id. */
int mm_store_put_event(mm_store *s, mm_event *ev);
/* Insert; a->ev must have been stored first (its store_id is the reference). */
int mm_store_put_alert(mm_store *s, const mm_alert *a);

/* Input offsets: key names the input and file ("fgt-file:/var/log/fgt.log"). */
int mm_store_offset_get(mm_store *s, const char *key, int64_t *inode, int64_t *offset);
int mm_store_offset_set(mm_store *s, const char *key, int64_t inode, int64_t offset);
/* All offsets, for the pipeline's start-up snapshot. */
int mm_store_offsets_each(mm_store *s,
                          void (*fn)(void *ctx, const char *key, int64_t inode, int64_t offset),
                          void *ctx);

/* Delete events older than days (alerts are kept), in chunks.  days <= 0 keeps
 * everything.  Returns rows deleted or <0. */
int64_t mm_store_retention(mm_store *s, int days, int64_t now_ns);
/* The same, stopping after about max_rows (0 = no limit), so a writer can spread a
 * large backlog over several passes instead of stalling ingestion. */
int64_t mm_store_retention_step(mm_store *s, int days, int64_t now_ns, int64_t max_rows);

/* Counters: `mamori run` and `mamori ingest` add their totals here so `mamori status`
 * (another process) can show them. */
int mm_store_counters_add(mm_store *s, const uint64_t *values /* MM_C__COUNT */);
int mm_store_counters_load(mm_store *s, uint64_t *values /* MM_C__COUNT */);

/* ---- queries ----
 * Strings handed to a callback are never NULL ("" when absent) and are valid only
 * during the callback.  Do not call the same mm_store from inside a callback. */

typedef struct mm_stored_event {
    int64_t id;
    int64_t ts_ns;
    int64_t recv_ns;
    const char *tenant, *segment, *input, *format, *kind, *error;
    mm_str raw;
} mm_stored_event;

/* Equality prefilters the store can answer from its columns; NULL = any. */
typedef struct mm_event_filter {
    int64_t since_ns, until_ns;     /* [since, until); 0 = unbounded */
    const char *tenant;
    const char *source_ip, *destination_ip, *user_name, *event_action, *observer;
    const char *kind;
    int64_t limit;                  /* 0 = no limit (the caller may stop early) */
} mm_event_filter;

/* Newest first.  fn returns 0 to continue, non-zero to stop. */
int mm_store_events_each(mm_store *s, const mm_event_filter *f,
                         int (*fn)(void *ctx, const mm_stored_event *e), void *ctx);

typedef struct mm_stored_alert {
    int64_t id;
    int64_t ts_ns;          /* event time */
    int64_t created_ns;
    const char *rule_id, *rule_name, *level, *technique, *reason, *tenant;
    int64_t count;
    int64_t event_id;
    /* JSON object members of the event's key fields, exactly as
     * mm_event_json_fields wrote them: no outer braces ("" when none), so
     * "{" evidence "}" is a JSON object and it can be pasted into another one. */
    const char *evidence;
    const char *threat;     /* the matched indicator as a JSON object, "" when none */
} mm_stored_alert;

/* ts >= since_ns; with a limit the newest `limit` of them (0 = all); oldest first. */
int mm_store_alerts_each(mm_store *s, int64_t since_ns, int64_t limit,
                         int (*fn)(void *ctx, const mm_stored_alert *a), void *ctx);

/* ---- indicators (the intel store) ----
 * One row per indicator and feed; value is the canonical text (mm_ioc_normalise).
 * Putting an existing (type, value, feed) updates it: first_seen keeps the
 * earliest, last_seen the latest, other fields take the new non-NULL values. */
int mm_store_indicator_put(mm_store *s, const mm_indicator *ind, int64_t now_ns, bool *is_new);

typedef struct mm_indicator_filter {
    mm_ind_type type;           /* MM_IND_NONE = any */
    const char *value, *feed;   /* NULL = any */
    int64_t added_since_ns;     /* 0 = any */
    bool new_values_only;       /* with added_since_ns: leave out values another feed
                                 * already had (active) before then: they matched live */
    bool include_inactive;      /* also revoked and expired ones */
    int warning;                /* 0 both, 1 detection indicators only, 2 warning-list entries only */
    int64_t now_ns;             /* for expiry, 0 = the clock */
    int64_t limit;              /* 0 = all */
} mm_indicator_filter;

typedef struct mm_stored_indicator {
    int64_t id;
    mm_indicator ind;           /* strings valid during the callback */
    int64_t added_ns, updated_ns;
} mm_stored_indicator;

/* In id order (the order they were first added).  fn returns non-zero to stop. */
int mm_store_indicators_each(mm_store *s, const mm_indicator_filter *f,
                             int (*fn)(void *ctx, const mm_stored_indicator *si), void *ctx);
int64_t mm_store_indicator_count(mm_store *s, bool active_only, int64_t now_ns);
/* End the validity of value (of type, from feed; NONE/NULL = any) now.  Returns
 * the rows changed or <0. */
int64_t mm_store_indicator_expire(mm_store *s, mm_ind_type type, const char *value, const char *feed,
                                  int64_t now_ns);
/* Per feed and type: active and inactive (revoked/expired) counts. */
int mm_store_indicator_stats(mm_store *s, int64_t now_ns,
                             int (*fn)(void *ctx, const char *feed, const char *type, int64_t active,
                                       int64_t inactive),
                             void *ctx);

/* ---- feeds: refresh state ---- */
typedef struct mm_feed_state {
    const char *name, *kind, *url;
    int64_t last_attempt_ns, last_ok_ns;   /* 0 = never */
    int64_t last_count;          /* records read at the last successful refresh */
    int64_t last_new;            /* of which new */
    const char *etag, *last_modified, *cursor;   /* conditional request / TAXII added_after */
    const char *last_error;      /* "" after a success */
} mm_feed_state;
int mm_store_feed_put(mm_store *s, const mm_feed_state *f);
/* name NULL = every feed. */
int mm_store_feeds_each(mm_store *s, const char *name, int (*fn)(void *ctx, const mm_feed_state *f), void *ctx);

/* ---- retro-hunt: block sketches and event ranges ---- */
typedef struct mm_stored_block {
    int64_t id, first_id, last_id, min_ts, max_ts, rows;
    const uint64_t *terms;       /* sorted, unique indicator terms (mm_ioc_event_terms) */
    size_t nterms;
    bool has_terms;              /* false: no sketch (older rows): every event may match */
} mm_stored_block;
/* Blocks whose newest event is at or after since_ns, oldest first. */
int mm_store_blocks_each(mm_store *s, int64_t since_ns, int (*fn)(void *ctx, const mm_stored_block *b),
                         void *ctx);
/* Events with first_id <= id <= last_id, in id order. */
int mm_store_events_range(mm_store *s, int64_t first_id, int64_t last_id,
                          int (*fn)(void *ctx, const mm_stored_event *e), void *ctx);

#endif
