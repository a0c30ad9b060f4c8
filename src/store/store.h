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
} mm_stored_alert;

/* ts >= since_ns; with a limit the newest `limit` of them (0 = all); oldest first. */
int mm_store_alerts_each(mm_store *s, int64_t since_ns, int64_t limit,
                         int (*fn)(void *ctx, const mm_stored_alert *a), void *ctx);

#endif
