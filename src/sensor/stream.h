/* stream: TCP reassembly of one direction.  Bytes are delivered in order exactly
 * once; segments that arrive early wait (bounded per direction, in segments and
 * for the whole sensor); a hole that cannot be filled (memory cap, end of flow) is skipped and
 * reported as a gap.  Overlapping data: the bytes that arrived first win, and
 * overlaps whose bytes differ (an evasion attempt or corruption) are counted. */
#ifndef MM_SENSOR_STREAM_H
#define MM_SENSOR_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef struct mm_seg mm_seg;

typedef struct mm_stream {
    bool init, fin_seen, done;
    bool moved;             /* data was delivered or skipped: a SYN no longer restarts */
    uint32_t next;          /* next sequence number to deliver */
    uint32_t fin_seq;
    mm_seg *ooo;            /* held segments, sorted by seq, never overlapping */
    size_t held;            /* bytes held in ooo */
    uint32_t nseg;          /* segments in ooo (each costs a list walk) */
} mm_stream;

typedef struct mm_stream_ctx {
    void (*deliver)(void *ctx, const uint8_t *p, size_t n);
    void (*gap)(void *ctx, size_t n);
    void *ctx;
    size_t flow_max;        /* cap on held bytes for this direction */
    size_t *total_held;     /* the sensor's running total */
    size_t total_max;
    uint64_t *gaps, *gap_bytes, *overlaps, *overlap_mismatch, *dropped;
} mm_stream_ctx;

/* One segment (flags: TCP flags byte). */
void mm_stream_segment(mm_stream *s, const mm_stream_ctx *c, uint32_t seq, uint8_t flags,
                       const uint8_t *p, uint32_t n);
/* End of the flow: skip holes and deliver everything held; frees the held data. */
void mm_stream_flush(mm_stream *s, const mm_stream_ctx *c);
/* Free what is held without delivering. */
void mm_stream_free(mm_stream *s, size_t *total_held);

#endif
