/* input: one file per input kind.  An input only frames records and stamps them
 * with their source (input name, tenant, segment, format); it runs in its own
 * thread and feeds the pipeline through an mm_feeder.
 *
 * Kinds register a row in the table in input.c (name + start + stop). */
#ifndef MM_INPUT_H
#define MM_INPUT_H

#include "../core/core.h"
#include "../pipeline.h"

typedef struct mm_input mm_input;

/* Start the input described by c in its own thread (sockets are opened before it
 * returns, so a bind error is reported here).  c must outlive the input. */
int mm_input_start(mm_input **out, const mm_input_conf *c, mm_pipeline *p, mm_err *err);
/* Ask it to stop, join its thread, flush what it framed, close its files and
 * sockets.  The records it handed on still point at its mm_source, so the input
 * itself stays allocated until mm_input_free. */
void mm_input_stop(mm_input *in);
/* Free a stopped input (stops it first if need be): after mm_pipeline_finish. */
void mm_input_free(mm_input *in);
/* The bound port (syslog with port 0 in tests), or -1. */
int mm_input_port(const mm_input *in);

/* Batch read of files (mamori ingest): every line of every file through the
 * pipeline, no following, no offsets.  Returns lines read or <0. */
int64_t mm_input_read_files(mm_pipeline *p, const mm_source *src, const mm_decoder *dec,
                            char *const *paths, int npaths, mm_err *err);

/* Windows .evtx files (mamori ingest --format evtx): every live record of every
 * file, and with flags MM_EVTX_RECOVERED also those libevtx recovers from free
 * space (deleted or overwritten records: forensics), each rendered as XML and put
 * as one record (for the "evtx" decoder; dec NULL = that one).  "-" reads an .evtx
 * file from stdin.  A file that cannot be read is logged by name, counted
 * (evtx_files_bad) and skipped: the others are still read.  Returns the records
 * put (>= 0); when some file could not be read err->msg names it (else err->msg
 * is empty), so the caller can exit non-zero after the summary. */
int64_t mm_input_read_evtx(mm_pipeline *p, const mm_source *src, const mm_decoder *dec,
                           char *const *paths, int npaths, unsigned flags, mm_err *err);

/* The reader under it, without a pipeline (tests, fuzzing, benchmarks). */
typedef struct mm_evtx_stats {
    uint64_t records;              /* handed to fn (recovered included) */
    uint64_t recovered;            /* of those, recovered from free space */
    uint64_t bad;                  /* live records that did not render: skipped */
    uint64_t recovered_unreadable; /* free-space fragments that did not render */
    bool corrupt;                  /* libevtx flags the file as corrupt */
} mm_evtx_stats;
enum { MM_EVTX_RECOVERED = 1 };   /* also the records recovered from free space */
/* Calls fn(ctx, xml, len) for each record of the .evtx file at path (xml is
 * NUL-terminated and valid during the call only); fn returning non-zero stops.
 * Returns 0, or <0 with err set when the file cannot be opened as .evtx (MM_ENOENT
 * missing, MM_EINVAL not .evtx, MM_EIO). */
int mm_evtx_each(const char *path, unsigned flags, int (*fn)(void *ctx, const char *xml, size_t len),
                 void *ctx, mm_evtx_stats *st, mm_err *err);
/* Files are read by one background reader process, started on first use and
 * replaced after a file it could not read; this stops it (it also ends when the
 * process exits).  For tests that count descriptors. */
void mm_evtx_close(void);
/* The same for file contents in memory (through a temporary file, unlinked before
 * returning). */
int mm_evtx_each_mem(const void *data, size_t n, unsigned flags,
                     int (*fn)(void *ctx, const char *xml, size_t len), void *ctx,
                     mm_evtx_stats *st, mm_err *err);

/* Capture files (mamori ingest --pcap): pcap/pcapng files or directories of them
 * through the packet sensor; its events reach the pipeline as records of the "ecs"
 * decoder.  tot receives the sensor's counts.  Returns packets read; a file that
 * cannot be read (or is cut short) is named in err->msg while the others are read. */
struct mm_sensor_opts;
struct mm_sensor_stats;
int64_t mm_input_read_pcap(mm_pipeline *p, const mm_source *src, const struct mm_sensor_opts *so,
                           char *const *paths, int npaths, struct mm_sensor_stats *tot, mm_err *err);

/* ---- syslog framing (exposed for the fuzz target and tests) ---- */

/* Incremental TCP framer: RFC 6587 octet counting ("123 <msg>") or newline
 * (LF, also NUL) framing, detected per frame.  Frames longer than MM_MAX_RECORD
 * are cut and counted; a bad octet count falls back to newline framing. */
typedef struct mm_framer {
    char *buf;
    size_t len, cap;
    uint64_t frame_errors;
    uint64_t truncated;
    bool discarding;         /* skipping the rest of an oversize newline frame */
    size_t skip;             /* bytes of an oversize octet-counted frame still to skip */
    size_t scanned;          /* head of buf known to hold no terminator (no rescans) */
} mm_framer;
void mm_framer_init(mm_framer *f);
void mm_framer_free(mm_framer *f);
/* Append bytes; calls fn once per complete frame.  At end of stream call
 * mm_framer_finish to get a last unterminated frame. */
void mm_framer_feed(mm_framer *f, const char *p, size_t n,
                    void (*fn)(void *ctx, const char *frame, size_t len), void *ctx);
void mm_framer_finish(mm_framer *f, void (*fn)(void *ctx, const char *frame, size_t len),
                      void *ctx);

/* ---- internal: what input.c's kind table calls (file.c, syslog.c) ---- */

/* Each kind's state behind one pointer; start opens what can fail (sockets, the
 * decoder) before starting its thread, stop joins, flushes and frees that state.
 * `src` (the input's own tags) is owned by the mm_input and outlives the pipeline. */
int mm_input_file_start(void **st, const mm_input_conf *c, const mm_source *src, mm_pipeline *p,
                        mm_err *err);
void mm_input_file_stop(void *st);
int mm_input_syslog_start(void **st, const mm_input_conf *c, const mm_source *src,
                          mm_pipeline *p, mm_err *err);
void mm_input_syslog_stop(void *st);
int mm_input_syslog_port(const void *st);
int mm_input_pcap_start(void **st, const mm_input_conf *c, const mm_source *src, mm_pipeline *p,
                        mm_err *err);
void mm_input_pcap_stop(void *st);
/* Whole-file read with the file input's line rules (for mm_input_read_files). */
int64_t mm_input_file_read_fd(mm_feeder *f, const mm_source *src, const mm_decoder *dec,
                              int fd, const char *name, mm_err *err);

#endif
