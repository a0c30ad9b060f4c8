/* intel/misp_feed: MISP feeds over HTTP — the directory layout MISP itself
 * publishes and consumes (manifest.json listing the events by uuid with their
 * timestamps, and one <uuid>.json per event).
 *
 * Only events newer than the previous pull are fetched (the manifest's
 * timestamps), oldest first.  One event that cannot be fetched or read must not
 * hide the rest of the feed: it is counted and named, the others are read, and
 * the cursor (*newest) stops short of it so that the next pull tries it again. */
#include "intel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS  (1u << 20)   /* events taken from one manifest */
#define URL_CAP     4096

typedef struct ev {
    char uuid[40];
    int64_t ts;                  /* seconds, 0 when the manifest does not say */
} ev;

typedef struct evlist {
    ev *v;
    size_t n, cap;
    int64_t since;
    bool oom;
} evlist;

/* A URL for messages: without "user:pass@", printable, cut. */
static void url_for_msg(const char *url, char *out, size_t cap) {
    const char *sep = strstr(url, "://"), *auth = sep ? sep + 3 : url, *end = auth + strcspn(auth, "/?#"), *at = NULL;
    for (const char *p = auth; p < end; p++)
        if (*p == '@') at = p;
    size_t o = 0;
    for (const char *p = url; *p && o + 1 < cap; p++) {
        if (at && p == auth) p = at + 1;
        unsigned char c = (unsigned char)*p;
        out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[o] = 0;
    if (o > 300 && cap > 300) memcpy(out + 297, "...", 4);
}

static void on_event(void *ctx, const char *uuid, int64_t ts_ns) {
    evlist *l = ctx;
    int64_t ts = ts_ns / 1000000000LL;   /* mm_misp_manifest gives ns */
    size_t ul = strlen(uuid);
    if (l->oom || ul >= sizeof l->v[0].uuid) return;   /* mm_misp_manifest only passes uuids */
    if (ts && ts <= l->since) return;
    if (l->n == l->cap) {
        if (l->cap >= MAX_EVENTS) return;
        size_t c = l->cap ? l->cap * 2 : 64;
        ev *nv = realloc(l->v, c * sizeof *nv);
        if (!nv) {
            l->oom = true;
            return;
        }
        l->v = nv;
        l->cap = c;
    }
    memcpy(l->v[l->n].uuid, uuid, ul + 1);
    l->v[l->n].ts = ts;
    l->n++;
}

static int by_ts(const void *a, const void *b) {
    const ev *x = a, *y = b;
    return x->ts < y->ts ? -1 : x->ts > y->ts ? 1 : strcmp(x->uuid, y->uuid);
}

/* Counts events whose callback asked to stop, so the pull stops too. */
typedef struct relay_ctx {
    mm_indicator_fn fn;
    void *ctx;
    bool stopped;
} relay_ctx;

static int relay(void *ctx, const mm_indicator *ind) {
    relay_ctx *r = ctx;
    int stop = r->fn ? r->fn(r->ctx, ind) : 0;
    if (stop) r->stopped = true;
    return stop;
}

int mm_misp_feed_pull(const char *url, const mm_fetch_opts *http, int64_t since_ts, const char *feed, mm_indicator_fn fn,
                      void *ctx, mm_intel_stats *st, int64_t *newest, mm_err *err) {
    static const mm_fetch_opts none;
    mm_intel_stats st0;
    if (!st) st = &st0;
    if (newest) *newest = since_ts;
    if (!url || !url[0]) {
        if (err) mm_err_set(err, "MISP feed: no URL");
        return MM_EINVAL;
    }
    mm_fetch_opts h = http ? *http : none;
    if (!h.accept) h.accept = "application/json";
    /* the feed's directory: …/feed/, …/feed or …/feed/manifest.json */
    char dir[URL_CAP];
    size_t n = strcspn(url, "?#");
    if (n + 2 >= sizeof dir) {
        if (err) mm_err_set(err, "MISP feed: URL longer than %d bytes", URL_CAP);
        return MM_EINVAL;
    }
    memcpy(dir, url, n);
    dir[n] = 0;
    if (n >= 13 && !strcmp(dir + n - 13, "manifest.json")) dir[n -= 13] = 0;
    if (!n || dir[n - 1] != '/') strcat(dir, "/");

    char u[URL_CAP + 64];
    snprintf(u, sizeof u, "%smanifest.json", dir);
    mm_fetch_result r;
    int rc = mm_fetch(u, &h, &r, err);
    if (rc) {
        mm_fetch_result_free(&r);
        return rc;
    }
    evlist l = {.since = since_ts};
    mm_err e2 = {{0}};
    if (!r.body || mm_misp_manifest(r.body, r.len, on_event, &l, &e2) < 0) {
        if (err) {
            char shown[320];
            url_for_msg(u, shown, sizeof shown);
            mm_err_set(err, "GET %s: %s", shown, r.body ? e2.msg : "no body");
        }
        mm_fetch_result_free(&r);
        free(l.v);
        return MM_EINVAL;
    }
    mm_fetch_result_free(&r);
    if (l.oom) {
        free(l.v);
        if (err) mm_err_set(err, "MISP feed: out of memory reading the manifest");
        return MM_ENOMEM;
    }
    if (l.n > 1) qsort(l.v, l.n, sizeof *l.v, by_ts);

    relay_ctx rl = {fn, ctx, false};
    int64_t top = since_ts, fail_ts = INT64_MAX;
    char first_fail[230] = "";
    unsigned failed = 0;
    for (size_t i = 0; i < l.n && !rl.stopped; i++) {
        snprintf(u, sizeof u, "%s%s.json", dir, l.v[i].uuid);
        mm_err fe = {{0}};
        int frc = mm_fetch(u, &h, &r, &fe);
        if (!frc && r.body) frc = mm_misp_read(r.body, r.len, feed, relay, &rl, st, &fe);
        else if (!frc) {
            frc = MM_EIO;
            mm_err_set(&fe, "event %s: HTTP %ld without a body", l.v[i].uuid, r.status);
        }
        mm_fetch_result_free(&r);
        if (frc < 0) {
            st->malformed++;
            if (!failed++) snprintf(first_fail, sizeof first_fail, "event %.36s: %.180s", l.v[i].uuid, fe.msg);
            if (l.v[i].ts < fail_ts) fail_ts = l.v[i].ts;
            continue;
        }
        if (rl.stopped) break;   /* this event was cut short: not past it */
        if (l.v[i].ts > top) top = l.v[i].ts;
    }
    /* never move past an event that failed: it is fetched again next time */
    if (fail_ts != INT64_MAX && top >= fail_ts) top = fail_ts - 1 > since_ts ? fail_ts - 1 : since_ts;
    if (newest) *newest = top;
    /* a lost event matters more than the refused attribute named last: it is
     * what last_reason says at the end */
    if (failed)
        snprintf(st->last_reason, sizeof st->last_reason, "MISP feed: %u event%s not read; %s", failed, failed == 1 ? "" : "s",
                 first_fail);
    free(l.v);
    return 0;
}
