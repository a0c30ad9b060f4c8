/* intel_pull: a small driver of the feed clients (mm_taxii_pull,
 * mm_misp_feed_pull, mm_fetch) and of the local readers (mm_stix_read,
 * mm_misp_read) for tests/it/intel_fetch.py, until `mamori intel import` does
 * the same through the CLI.
 *
 *   intel_pull taxii URL [--collection C] [--added-after T] [--limit N] [--max-pages N]
 *   intel_pull misp-feed URL [--since SECONDS]
 *   intel_pull fetch URL [--etag E] [--last-modified D]
 *   intel_pull stix FILE | misp FILE
 *   common: --user U --password P --api-key-header "Name: value" --timeout S
 *           --connect-timeout S --retries N --backoff-ms N --max-bytes N --feed NAME
 *           --stop-after N (the callback asks to stop after N records)
 *
 * Output: one line per record "type<TAB>value<TAB>feed<TAB>actor<TAB>campaign<TAB>
 * malware<TAB>tlp", then one "stats key=value ..." line (fetch: one "fetch ..."
 * line and the body).  Errors: "error: ..." on stderr, exit status 1. */
#include "intel/intel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long stop_after = -1, seen;

static void field(const char *s) {
    for (; s && *s; s++) putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

static int on_record(void *ctx, const mm_indicator *ind) {
    (void)ctx;
    const char *f[] = {mm_intel_type_name(ind->type), ind->value, ind->feed, ind->actor, ind->campaign, ind->malware, ind->tlp};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (i) putchar('\t');
        field(f[i]);
    }
    putchar('\n');
    seen++;
    return stop_after >= 0 && seen >= stop_after;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, k;
    char *b = malloc(cap);
    while (b && (k = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (cap - n < 2) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(f);
    if (b) b[n] = 0;
    *len = n;
    return b;
}

static void stats(const mm_intel_stats *st) {
    printf("stats objects=%llu imported=%llu skipped=%llu not_for_detection=%llu malformed=%llu expired=%llu "
           "unsupported_pattern=%llu bad_value=%llu unsupported_type=%llu",
           (unsigned long long)st->objects, (unsigned long long)st->imported, (unsigned long long)st->skipped,
           (unsigned long long)st->not_for_detection, (unsigned long long)st->malformed, (unsigned long long)st->expired,
           (unsigned long long)st->unsupported_pattern, (unsigned long long)st->bad_value,
           (unsigned long long)st->unsupported_type);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: intel_pull taxii|misp-feed|fetch|stix|misp URL|FILE [options]\n");
        return 2;
    }
    const char *mode = argv[1], *target = argv[2], *feed = "test";
    mm_taxii_opts t = {0};
    mm_fetch_opts *h = &t.http;
    h->retries = -1;
    int64_t since = 0;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "error: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--user")) h->user = v;
        else if (!strcmp(a, "--password")) h->password = v;
        else if (!strcmp(a, "--api-key-header")) h->api_key_header = v;
        else if (!strcmp(a, "--timeout")) h->timeout_s = atol(v);
        else if (!strcmp(a, "--connect-timeout")) h->connect_timeout_s = atol(v);
        else if (!strcmp(a, "--retries")) h->retries = atoi(v);
        else if (!strcmp(a, "--backoff-ms")) h->backoff_ms = atoi(v);
        else if (!strcmp(a, "--max-bytes")) h->max_bytes = (size_t)atoll(v);
        else if (!strcmp(a, "--etag")) h->etag = v;
        else if (!strcmp(a, "--last-modified")) h->last_modified = v;
        else if (!strcmp(a, "--feed")) feed = v;
        else if (!strcmp(a, "--collection")) t.collection = v;
        else if (!strcmp(a, "--added-after")) t.added_after = v;
        else if (!strcmp(a, "--limit")) t.page_limit = atoi(v);
        else if (!strcmp(a, "--max-pages")) t.max_pages = atoi(v);
        else if (!strcmp(a, "--since")) since = atoll(v);
        else if (!strcmp(a, "--stop-after")) stop_after = atol(v);
        else {
            fprintf(stderr, "error: unknown option %s\n", a);
            return 2;
        }
    }
    mm_intel_stats st;
    memset(&st, 0, sizeof st);
    mm_err err = {{0}};
    int rc;
    if (!strcmp(mode, "taxii")) {
        mm_taxii_result res;
        t.url = target;
        rc = mm_taxii_pull(&t, feed, on_record, NULL, &st, &res, &err);
        stats(&st);
        printf(" collections=%d pages=%d stix_objects=%llu added_last=%s\n", res.collections, res.pages,
               (unsigned long long)res.objects, res.added_last);
    } else if (!strcmp(mode, "misp-feed")) {
        int64_t newest = -1;
        rc = mm_misp_feed_pull(target, h, since, feed, on_record, NULL, &st, &newest, &err);
        stats(&st);
        printf(" newest=%lld\n", (long long)newest);
    } else if (!strcmp(mode, "fetch")) {
        mm_fetch_result r;
        rc = mm_fetch(target, h, &r, &err);
        printf("fetch rc=%d status=%ld len=%zu body=%s attempts=%d etag=%s last_modified=%s content_type=%s "
               "added_first=%s added_last=%s\n",
               rc, r.status, r.len, r.body ? "yes" : "null", r.attempts, r.etag, r.last_modified, r.content_type,
               r.taxii_added_first, r.taxii_added_last);
        if (r.body) fwrite(r.body, 1, r.len, stdout);
        mm_fetch_result_free(&r);
    } else if (!strcmp(mode, "stix") || !strcmp(mode, "misp")) {
        size_t len;
        char *doc = slurp(target, &len);
        if (!doc) {
            fprintf(stderr, "error: cannot read %s\n", target);
            return 1;
        }
        rc = (mode[0] == 's' ? mm_stix_read : mm_misp_read)(doc, len, feed, on_record, NULL, &st, &err);
        free(doc);
        stats(&st);
        printf("\n");
    } else {
        fprintf(stderr, "error: unknown mode %s\n", mode);
        return 2;
    }
    if (st.last_reason[0]) fprintf(stderr, "last_reason: %s\n", st.last_reason);
    if (rc < 0) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    return 0;
}
