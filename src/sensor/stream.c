/* stream: see stream.h.  Sequence numbers compare with 32-bit wrap-around. */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

struct mm_seg {
    mm_seg *next;
    uint32_t seq, len;
    uint8_t data[];
};

static inline int32_t sdiff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }

static void deliver(mm_stream *s, const mm_stream_ctx *c, const uint8_t *p, uint32_t n) {
    if (!n) return;
    s->next += n;
    c->deliver(c->ctx, p, n);
}

/* Deliver every held segment that is now in order. */
static void drain(mm_stream *s, const mm_stream_ctx *c) {
    while (s->ooo && sdiff(s->ooo->seq, s->next) <= 0) {
        mm_seg *g = s->ooo;
        s->ooo = g->next;
        s->held -= g->len;
        *c->total_held -= g->len;
        int32_t d = sdiff(s->next, g->seq);   /* bytes already delivered */
        if ((uint32_t)d < g->len) deliver(s, c, g->data + d, g->len - (uint32_t)d);
        else (*c->overlaps)++;
        free(g);
    }
}

/* Skip the hole before the first held segment. */
static void skip_hole(mm_stream *s, const mm_stream_ctx *c) {
    if (!s->ooo) return;
    uint32_t hole = (uint32_t)sdiff(s->ooo->seq, s->next);
    (*c->gaps)++;
    *c->gap_bytes += hole;
    s->next = s->ooo->seq;
    if (c->gap) c->gap(c->ctx, hole);
    drain(s, c);
}

/* Hold an early segment; the part overlapping held data keeps the held bytes. */
static void hold(mm_stream *s, const mm_stream_ctx *c, uint32_t seq, const uint8_t *p, uint32_t n) {
    mm_seg **pp = &s->ooo;
    while (*pp && sdiff((*pp)->seq, seq) < 0) pp = &(*pp)->next;
    /* compare with the neighbours it overlaps */
    for (mm_seg *g = s->ooo; g; g = g->next) {
        int32_t a = sdiff(seq, g->seq);
        uint32_t lo = a > 0 ? (uint32_t)a : 0, glo = a > 0 ? 0 : (uint32_t)-a;
        if (a >= 0 && (uint32_t)a >= g->len) continue;
        if (a < 0 && (uint32_t)-a >= n) continue;
        uint32_t ol = g->len - lo < n - glo ? g->len - lo : n - glo;
        (*c->overlaps)++;
        if (memcmp(g->data + lo, p + glo, ol) != 0) (*c->overlap_mismatch)++;
        if (a >= 0 && (uint32_t)a + n <= g->len) return;   /* wholly inside held data */
    }
    mm_seg *g = malloc(sizeof *g + n);
    if (!g) { *c->dropped += n; return; }
    g->seq = seq, g->len = n;
    memcpy(g->data, p, n);
    g->next = *pp;
    *pp = g;
    s->held += n;
    *c->total_held += n;
}

void mm_stream_segment(mm_stream *s, const mm_stream_ctx *c, uint32_t seq, uint8_t flags,
                       const uint8_t *p, uint32_t n) {
    if (s->done) return;
    if (flags & 0x02) {                 /* SYN: data starts after it */
        if (!s->init) s->init = true, s->next = seq + 1;
        seq++;
    }
    if (!s->init) s->init = true, s->next = seq;   /* picked up mid-stream */
    if (flags & 0x01) s->fin_seen = true, s->fin_seq = seq + n;
    if (n) {
        int32_t rel = sdiff(seq, s->next);
        if (rel <= 0) {
            uint32_t skip = (uint32_t)-rel;
            if (skip >= n) (*c->overlaps)++;       /* a retransmission */
            else {
                if (skip) (*c->overlaps)++;
                deliver(s, c, p + skip, n - skip);
                drain(s, c);
            }
        } else if (rel > (int32_t)(1u << 30)) {
            (*c->dropped) += n;                    /* far outside any window */
        } else {
            hold(s, c, seq, p, n);
            while (s->ooo && (s->held > c->flow_max || *c->total_held > c->total_max)) skip_hole(s, c);
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
}
