/* hunt: retro-hunt — which stored events carry indicators that were not known
 * when the events arrived.
 *
 * The store keeps, per block of up to 4,096 events, the sorted set of indicator
 * terms its events carry (mm_ioc_event_terms: addresses with coarser prefixes,
 * domains with their parents, URLs, hashes, e-mail addresses, file names,
 * User-Agents).  A hunt computes the terms of the hunted indicators
 * (mm_ioc_probe_terms), sorts them, and merge-joins them with each block's set:
 * a block none of whose terms is hunted is never read.  Blocks that may hold a
 * sighting are read, decoded, and run through the configuration's indicator
 * rules with only the hunted indicators loaded, so a retrospective sighting is
 * exactly what a live match would have been (same fields, same exceptions).
 * Cost: one pass over the block sketches, plus the events of the blocks that
 * hold a hunted term; never (events x indicators). */
#include "intel.h"
#include "../decode/decode.h"
#include "../detect/detect.h"
#include "../store/store.h"

#include <stdlib.h>
#include <string.h>

typedef struct range {
    int64_t lo, hi;
} range;

typedef struct hunt {
    mm_ioc_set *set;
    uint64_t *terms;
    size_t nterms, cap;
    bool scan_all;               /* an indicator without terms (a wide CIDR) */
    range *r;
    size_t nr, capr;
    mm_hunt_stats *hs;
    int64_t count;
    bool oom;
} hunt;

static void add_terms(hunt *h, const mm_indicator *ind) {
    char canon[2048];
    int t = ind->type;
    if (mm_ioc_normalise(t, ind->value, strlen(ind->value), canon, sizeof canon, &t, NULL) < 0) return;
    uint64_t tt[8];
    int n = mm_ioc_probe_terms(t, canon, strlen(canon), tt, 8);
    if (n < 0) {
        h->scan_all = true;
        h->hs->unprobeable++;
        return;
    }
    for (int i = 0; i < n && i < 8; i++) {
        if (h->nterms == h->cap) {
            size_t nc = h->cap ? h->cap * 2 : 1024;
            uint64_t *p = realloc(h->terms, nc * sizeof *p);
            if (!p) {
                h->oom = true;
                return;
            }
            h->terms = p;
            h->cap = nc;
        }
        h->terms[h->nterms++] = tt[i];
    }
}

static int take(void *ctx, const mm_stored_indicator *si) {
    hunt *h = ctx;
    if (si->ind.warning) return 0;
    int r = mm_ioc_add(h->set, &si->ind, 0, NULL);
    if (r == -2) {
        h->oom = true;
        return 1;
    }
    if (r < 0) return 0;
    h->hs->indicators++;
    add_terms(h, &si->ind);
    return h->oom;
}

/* Warning lists apply to retrospective matches too. */
static int take_warning(void *ctx, const mm_stored_indicator *si) {
    hunt *h = ctx;
    return mm_ioc_add(h->set, &si->ind, MM_IOC_ADD_WARNING, NULL) == -2;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool intersects(const uint64_t *a, size_t na, const uint64_t *b, size_t nb) {
    size_t i = 0, j = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j]) return true;
        if (a[i] < b[j]) i++;
        else j++;
    }
    return false;
}

static int block(void *ctx, const mm_stored_block *b) {
    hunt *h = ctx;
    h->hs->blocks++;
    if (!h->scan_all && b->has_terms && !intersects(b->terms, b->nterms, h->terms, h->nterms)) return 0;
    if (h->nr && h->r[h->nr - 1].hi + 1 >= b->first_id) {
        if (b->last_id > h->r[h->nr - 1].hi) h->r[h->nr - 1].hi = b->last_id;
    } else {
        if (h->nr == h->capr) {
            size_t nc = h->capr ? h->capr * 2 : 64;
            range *p = realloc(h->r, nc * sizeof *p);
            if (!p) {
                h->oom = true;
                return 1;
            }
            h->r = p;
            h->capr = nc;
        }
        h->r[h->nr++] = (range){b->first_id, b->last_id};
    }
    h->hs->blocks_read++;
    return 0;
}

/* A row's sightings are stored after the read, in one short transaction (the
 * daemon's writer must not wait behind a scan): each row that raised some keeps
 * its arena, with the event, its raw record and its source copied in. */
typedef struct kept {
    mm_arena arena;
    mm_alert *alerts;
    struct kept *next;
} kept;

typedef struct scan {
    mm_store *st;
    const mm_detect *d;
    mm_detect_state *ds;
    kept *cur;                   /* the arena of the row being read */
    kept *done;                  /* rows with sightings, to store */
    mm_decode_opts dopts;
    int64_t since_ns, until_ns;
    bool store_alerts;
    mm_sighting_fn fn;
    void *ctx;
    mm_hunt_stats *hs;
    int stop;
} scan;

static const char *acopy(mm_arena *a, const char *p) { return p ? mm_arena_strndup(a, p, strlen(p)) : ""; }

static int scan_row(void *ctx, const mm_stored_event *se) {
    scan *s = ctx;
    if (se->ts_ns < s->since_ns || (s->until_ns && se->recv_ns >= s->until_ns)) return 0;
    if (se->kind && strcmp(se->kind, "event") != 0) return 0;
    const mm_decoder *d = se->format ? mm_decoder_find(se->format) : NULL;
    if (!d) return 0;
    s->hs->events_read++;
    if (!s->cur) {
        s->cur = calloc(1, sizeof *s->cur);
        if (!s->cur) return s->stop = -1;
        mm_arena_init(&s->cur->arena, 16 * 1024);
    }
    mm_arena *a = &s->cur->arena;
    mm_arena_reset(a);
    /* everything the alert will point at outlives this callback */
    mm_source *src = mm_arena_zalloc(a, sizeof *src);
    src->input = acopy(a, se->input);
    src->tenant = acopy(a, se->tenant);
    src->segment = acopy(a, se->segment);
    src->format = acopy(a, se->format);
    char *raw = mm_arena_alloc(a, se->raw.len + 1);
    memcpy(raw, se->raw.p, se->raw.len);
    raw[se->raw.len] = 0;
    mm_event *ev = mm_arena_zalloc(a, sizeof *ev);
    mm_event_init(ev, a);
    ev->src = src;
    ev->tenant = mm_str_c(src->tenant);
    ev->segment = mm_str_c(src->segment);
    ev->recv_ns = se->recv_ns;
    mm_decode(d, ev, (mm_str){raw, se->raw.len}, &s->dopts);
    if (ev->kind != MM_KIND_EVENT) return 0;
    ev->ts_ns = se->ts_ns;
    ev->store_id = se->id;
    mm_alert *alerts = NULL;
    int n = mm_detect_event(s->d, s->ds, ev, a, &alerts);
    if (n <= 0) return 0;
    for (mm_alert *al = alerts; al; al = al->next) {
        s->hs->sightings++;
        mm_count(MM_C_IOC_RETRO_ALERTS, 1);
        if (s->fn && s->fn(s->ctx, al)) s->stop = 1;
    }
    if (s->store_alerts) {
        s->cur->alerts = alerts;
        s->cur->next = s->done;
        s->done = s->cur;
        s->cur = NULL;
    }
    return s->stop;
}

static void kept_free(kept *k) {
    while (k) {
        kept *nx = k->next;
        mm_arena_free(&k->arena);
        free(k);
        k = nx;
    }
}

/* The sightings of the ranges read so far, in one transaction. */
static int store_sightings(scan *s) {
    if (!s->done) return 0;
    int rc = mm_store_begin(s->st);
    for (kept *k = s->done; rc == 0 && k; k = k->next)
        for (mm_alert *al = k->alerts; rc == 0 && al; al = al->next) rc = mm_store_put_alert(s->st, al);
    if (rc == 0) rc = mm_store_commit(s->st);
    else mm_store_rollback(s->st);
    kept_free(s->done);
    s->done = NULL;
    return rc;
}

int mm_intel_hunt(mm_store *st, const mm_config *c, const mm_indicator_filter *f, const mm_indicator *extra,
                  int nextra, int64_t since_ns, int64_t until_ns, bool store_alerts, mm_sighting_fn fn, void *ctx,
                  mm_hunt_stats *hs, mm_err *err) {
    mm_hunt_stats local;
    mm_err dummy;
    if (!hs) hs = &local;
    if (!err) err = &dummy;
    err->msg[0] = 0;
    memset(hs, 0, sizeof *hs);
    int64_t t0 = mm_now_ns();
    hunt h = {.hs = hs, .set = mm_ioc_set_new()};
    if (!h.set) return MM_ENOMEM;
    int rc = 0;
    if (f) rc = mm_store_indicators_each(st, f, take, &h);
    for (int i = 0; rc == 0 && i < nextra; i++) {
        const char *why = NULL;
        int r = mm_ioc_add(h.set, &extra[i], 0, &why);
        if (r < 0) {
            mm_err_set(err, "%s: %s", extra[i].value, why ? why : "not an indicator");
            rc = MM_EINVAL;
        } else {
            hs->indicators++;
            add_terms(&h, &extra[i]);
        }
    }
    mm_indicator_filter wf = {.warning = 2};
    if (rc == 0) rc = mm_store_indicators_each(st, &wf, take_warning, &h);
    if (rc == 0 && h.oom) rc = MM_ENOMEM;
    if (rc < 0 || hs->indicators == 0) {
        if (rc < 0 && !err->msg[0]) mm_err_set(err, "hunt: cannot read the indicators");
        mm_ioc_set_free(h.set);
        free(h.terms);
        return rc;
    }
    qsort(h.terms, h.nterms, sizeof *h.terms, cmp_u64);

    /* the engine: the configuration's indicator rules over the hunted indicators */
    mm_detect_opts dopt = {.ioc = h.set, .no_indicator_files = true, .retro = true};
    mm_detect *d = mm_detect_load_opts(c, &dopt, err);
    if (!d) {
        free(h.terms);
        return MM_EINVAL;
    }
    if (mm_detect_rule_count(d) == 0) {
        mm_detect_free(d);
        free(h.terms);
        mm_err_set(err, "hunt: no rule matches indicators (rules/fortigate/indicator_match.yml not loaded?)");
        return MM_EINVAL;
    }
    rc = mm_store_blocks_each(st, since_ns, block, &h);
    if (rc == 0 && h.oom) rc = MM_ENOMEM;
    scan s = {.st = st, .d = d, .ds = mm_detect_state_new(), .since_ns = since_ns, .until_ns = until_ns,
              .store_alerts = store_alerts,
              .fn = fn, .ctx = ctx, .hs = hs};
    s.dopts.tz_offset = c ? c->tz_offset : 0;
    s.dopts.peek = true;   /* a second look at stored events: not counted again */
    for (size_t i = 0; rc == 0 && i < h.nr && !s.stop; i++) {
        rc = mm_store_events_range(st, h.r[i].lo, h.r[i].hi, scan_row, &s);
        if (rc == 0) rc = store_sightings(&s);
    }
    if (s.stop < 0 && rc == 0) rc = MM_EIO;
    if (rc < 0 && !err->msg[0]) mm_err_set(err, "hunt: reading stored events or storing sightings failed");
    kept_free(s.done);
    kept_free(s.cur);
    mm_detect_state_free(s.ds);
    mm_detect_free(d);
    free(h.terms);
    free(h.r);
    hs->elapsed_ns = mm_now_ns() - t0;
    return rc;
}
