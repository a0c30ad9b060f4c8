/* pipeline: the wiring of DESIGN.md §2 — inputs -> workers (decode + detect) ->
 * one store writer — shared by `mamori run` (daemon) and `mamori ingest` (batch).
 *
 * Inputs hand records to a feeder.  The feeder routes each record to the worker
 * chosen by a hash of its entity key (decoder's pre-scan: the internal host), so
 * stateful detectors own their state; records travel in batches whose arena holds
 * the decoded events and alerts and is freed by the writer after the batch is
 * stored.  Rings are bounded: a feeder created with may_block waits when the worker
 * queue is full (TCP, files: backpressure), otherwise it drops and counts (UDP). */
#ifndef MM_PIPELINE_H
#define MM_PIPELINE_H

#include "core/core.h"
#include "decode/decode.h"
#include "detect/detect.h"
#include "store/store.h"

typedef struct mm_pipeline mm_pipeline;
typedef struct mm_feeder mm_feeder;

typedef struct mm_pipeline_opts {
    int workers;              /* >= 1 */
    bool store_events;        /* false: decode + detect only (benchmarks) */
    bool print_events;        /* --events: print every decoded event as JSON */
    int print_alerts;         /* 1: one text line per alert on stdout, 2: one JSON object */
    int32_t print_tz;         /* offset for the times of printed alerts */
    int batch_rows, batch_ms; /* store transaction size */
    int retention_days;
    mm_decode_opts decode;
} mm_pipeline_opts;

/* Start workers and the writer.  `store` may be NULL only when !store_events; the
 * pipeline's writer thread owns it until mm_pipeline_finish.  `detect` may be NULL
 * (no detection). */
int mm_pipeline_start(mm_pipeline **out, const mm_pipeline_opts *o, mm_store *store,
                      mm_detect *detect, mm_err *err);
/* Swap the detection engine (SIGHUP).  The old one is freed once no worker uses it. */
void mm_pipeline_set_detect(mm_pipeline *p, mm_detect *d);
/* Stop accepting, drain every queue, store what is pending, join the threads. */
void mm_pipeline_finish(mm_pipeline *p);
void mm_pipeline_free(mm_pipeline *p);

/* Alerts raised per rule during this pipeline's life, for ingest's summary. */
typedef struct mm_rule_count {
    char rule_id[96];
    char rule_name[160];
    char level[16];
    uint64_t n;
} mm_rule_count;
/* Copies up to max entries sorted by count (desc); returns the number copied. */
int mm_pipeline_rule_counts(mm_pipeline *p, mm_rule_count *out, int max);

/* Offsets loaded from the store when the pipeline started (inputs resume from them). */
bool mm_pipeline_offset_get(mm_pipeline *p, const char *key, int64_t *inode, int64_t *offset);

/* ---- feeding (one feeder per input thread; not shared between threads) ---- */

mm_feeder *mm_feeder_new(mm_pipeline *p, bool may_block);
/* Queue one record (copied).  `src` must outlive the pipeline; `observer` (may be
 * empty) is the sender when known.  Returns MM_OK, or MM_EFULL when dropped. */
int mm_feeder_put(mm_feeder *f, const mm_source *src, const mm_decoder *dec,
                  const char *rec, size_t len, int64_t recv_ns);
/* Record that everything put so far ends at `offset` of the file `key`: the writer
 * persists it in the same transaction as the last of those records, so a restart
 * neither loses nor repeats lines. */
void mm_feeder_mark_offset(mm_feeder *f, const char *key, int64_t inode, int64_t offset);
/* Send partial batches now (call at least every batch_ms while idle). */
int mm_feeder_flush(mm_feeder *f);
void mm_feeder_free(mm_feeder *f);   /* flushes first */

#endif
