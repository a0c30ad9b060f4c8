/* stream: see stream.h.  Sequence numbers compare with 32-bit wrap-around.  The
 * held list never overlaps itself: a segment is stored only for the bytes no held
 * segment has, so the first arrival wins and each byte is held once. */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

/* Held segments per direction: insertion walks the list, so a flood of tiny
 * segments behind a hole must not make it long. */
#define SEG_MAX 4096

struct mm_seg {
    mm_seg *next;
    uint32_t seq, len;
    uint8_t data[];
};

static inline int32_t sdiff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }

static void deliver(mm_stream *s, const mm_stream_ctx *c, const uint8_t *p, uint32_t n) {
    if (!n) return;
    s->next += n;
    s->moved = true;
    c->deliver(c->ctx, p, n);
}

static void unhold(mm_stream *s, const mm_stream_ctx *c, mm_seg *g) {
    s->held -= g->len;
    *c->total_held -= g->len;
    s->nseg--;
    free(g);
}

/* Deliver every held segment that is now in order. */
static void drain(mm_stream *s, const mm_stream_ctx *c) {
    while (s->ooo && sdiff(s->ooo->seq, s->next) <= 0) {
        mm_seg *g = s->ooo;
        s->ooo = g->next;
        int32_t d = sdiff(s->next, g->seq);   /* bytes already delivered */
        if ((uint32_t)d < g->len) deliver(s, c, g->data + d, g->len - (uint32_t)d);
        else (*c->overlaps)++;
        unhold(s, c, g);
    }
}

/* Skip the hole before the first held segment. */
static void skip_hole(mm_stream *s, const mm_stream_ctx *c) {
    if (!s->ooo) return;
    uint32_t hole = (uint32_t)sdiff(s->ooo->seq, s->next);
    (*c->gaps)++;
    *c->gap_bytes += hole;
    s->next = s->ooo->seq;
    s->moved = true;
    if (c->gap) c->gap(c->ctx, hole);
    drain(s, c);
}

/* Hold the bytes of [seq, seq+n) that no held segment has; where they overlap
 * held bytes, those stay and a difference is counted. */
static void hold(mm_stream *s, const mm_stream_ctx *c, uint32_t seq, const uint8_t *p, uint32_t n) {
    mm_seg **pp = &s->ooo;
    uint32_t off = 0;
    while (off < n) {
        uint32_t at = seq + off;
        while (*pp && sdiff((*pp)->seq + (*pp)->len, at) <= 0) pp = &(*pp)->next;
        mm_seg *g = *pp;
        if (g && sdiff(g->seq, at) <= 0) {   /* held bytes cover `at` */
            uint32_t go = (uint32_t)sdiff(at, g->seq);
            uint32_t ol = g->len - go < n - off ? g->len - go : n - off;
            (*c->overlaps)++;
            if (memcmp(g->data + go, p + off, ol) != 0) (*c->overlap_mismatch)++;
            off += ol;
            pp = &g->next;
            continue;
        }
        /* a free stretch up to the next held segment */
        uint32_t len = n - off;
        if (g && (uint32_t)sdiff(g->seq, at) < len) len = (uint32_t)sdiff(g->seq, at);
        mm_seg *ng = malloc(sizeof *ng + len);
        if (!ng) { *c->dropped += len; off += len; continue; }
        ng->seq = at, ng->len = len;
        memcpy(ng->data, p + off, len);
        ng->next = g;
        *pp = ng;
        pp = &ng->next;
        s->held += len;
        *c->total_held += len;
        s->nseg++;
        off += len;
    }
}

void mm_stream_segment(mm_stream *s, const mm_stream_ctx *c, uint32_t seq, uint8_t flags,
                       const uint8_t *p, uint32_t n) {
    if (s->done) return;
    if (flags & 0x02) {                 /* SYN: data starts after it */
        /* until data went through, a SYN (re)sets the start: a retransmitted SYN
         * may carry another ISN */
        if (!s->init || (!s->moved && !s->ooo)) s->init = true, s->next = seq + 1;
        seq++;
    }
    if (!s->init) s->init = true, s->next = seq;   /* picked up mid-stream */
    if (flags & 0x01) s->fin_seen = true, s->fin_seq = seq + n;
    if (n) {
        int32_t rel = sdiff(seq, s->next);
        if (rel <= 0 && (uint32_t)-rel >= n) {
            (*c->overlaps)++;                      /* a retransmission */
        } else if (rel <= 0 && (!s->ooo || sdiff(seq + n, s->ooo->seq) <= 0)) {
            uint32_t skip = (uint32_t)-rel;
            if (skip) (*c->overlaps)++;
            deliver(s, c, p + skip, n - skip);
            drain(s, c);
        } else if (rel > (int32_t)(1u << 30)) {
            (*c->dropped) += n;                    /* far outside any window */
        } else {
            /* early, or in order but running over held data (which wins) */
            uint32_t skip = rel < 0 ? (uint32_t)-rel : 0;
            if (skip) (*c->overlaps)++;
            hold(s, c, seq + skip, p + skip, n - skip);
            drain(s, c);
            while (s->ooo && (s->held > c->flow_max || *c->total_held > c->total_max || s->nseg > SEG_MAX))
                skip_hole(s, c);
        }
    }
    if (s->fin_seen && sdiff(s->next, s->fin_seq) >= 0 && !s->ooo) s->done = true;
}

void mm_stream_flush(mm_stream *s, const mm_stream_ctx *c) {
    while (s->ooo) skip_hole(s, c);
}

void mm_stream_free(mm_stream *s, size_t *total_held) {
    while (s->ooo) {
        mm_seg *g = s->ooo;
        s->ooo = g->next;
        *total_held -= g->len;
        free(g);
    }
    s->held = 0;
    s->nseg = 0;
}
