/* Unit tests of the intel readers: a callback that records every indicator
 * record a reader hands out (strings copied), and its cleanup.  stop_after > 0
 * makes the callback ask the reader to stop after that many records; it
 * survives got_free so a test can set it before reading. */
#ifndef MM_TEST_INTEL_COLLECT_H
#define MM_TEST_INTEL_COLLECT_H

#include "intel/intel.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct rec {
    mm_ind_type type;
    char *value, *id, *tlp, *actor, *malware, *attack, *kill_chain, *desc, *feed;
    int conf;
    int64_t fs, ls;
} rec;

typedef struct got {
    rec *r;
    int n, cap;
    int stop_after;   /* 0: never */
    mm_intel_stats st;
    int rc;
    mm_err err;
} got;

static char *dup0(const char *s) { return s ? strdup(s) : NULL; }

static int collect(void *ctx, const mm_indicator *ind) {
    got *g = ctx;
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->r = realloc(g->r, (size_t)g->cap * sizeof *g->r);
        if (!g->r) abort();
    }
    rec *r = &g->r[g->n++];
    r->type = ind->type;
    r->value = dup0(ind->value);
    r->id = dup0(ind->id);
    r->tlp = dup0(ind->tlp);
    r->actor = dup0(ind->actor);
    r->malware = dup0(ind->malware);
    r->attack = dup0(ind->attack);
    r->kill_chain = dup0(ind->kill_chain);
    r->desc = dup0(ind->description);
    r->feed = dup0(ind->feed);
    r->conf = ind->confidence;
    r->fs = ind->first_seen;
    r->ls = ind->last_seen;
    return g->stop_after && g->n >= g->stop_after;
}

static void got_free(got *g) {
    for (int i = 0; i < g->n; i++) {
        rec *r = &g->r[i];
        free(r->value), free(r->id), free(r->tlp), free(r->actor), free(r->malware), free(r->attack);
        free(r->kill_chain), free(r->desc), free(r->feed);
    }
    free(g->r);
    int stop = g->stop_after;
    memset(g, 0, sizeof *g);
    g->stop_after = stop;
}

#endif
