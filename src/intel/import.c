/* import: feed documents into the indicator store, and the store into the
 * detection engine's index.
 *
 * Every record is normalised (mm_ioc_normalise) before it is written, so the
 * store holds one canonical text per indicator: "EVIL.example.", "evil[.]example"
 * and "*.evil.example" are one row per feed.  A record the normaliser refuses is
 * counted with its reason, never written. */
#define _GNU_SOURCE
#include "intel.h"
#include "../detect/detect.h"
#include "../store/store.h"

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- sniffing */

const char *mm_intel_sniff(const char *text, size_t len) {
    size_t i = 0;
    if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb && (unsigned char)text[2] == 0xbf)
        i = 3;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) i++;
    if (i < len && (text[i] == '{' || text[i] == '[')) {
        /* JSON: STIX objects carry "type": "bundle"/"indicator" and "spec_version";
         * MISP documents an "Event" or "Attribute" */
        size_t n = len - i < 65536 ? len - i : 65536;
        const char *p = text + i;
        if (memmem(p, n, "\"Event\"", 7) || memmem(p, n, "\"Attribute\"", 11)) return "misp";
        return "stix";
    }
    /* a comma (outside quotes) on the first data line: CSV */
    while (i < len) {
        size_t e = i;
        while (e < len && text[e] != '\n') e++;
        if (e > i && text[i] != '#') {
            bool q = false;
            for (size_t k = i; k < e; k++) {
                if (text[k] == '"') q = !q;
                else if (text[k] == ',' && !q) return "csv";
            }
            return "list";
        }
        i = e + 1;
    }
    return "list";
}

/* ---------------------------------------------------------------- import */

int mm_intel_put(mm_store *st, const mm_indicator *ind, int64_t now_ns, const char **why) {
    char canon[2048];
    int t = ind->type;
    int n = mm_ioc_normalise(t, ind->value ? ind->value : "", ind->value ? strlen(ind->value) : 0, canon,
                             sizeof canon, &t, why);
    if (n < 0) return -1;
    mm_indicator c = *ind;
    c.type = (mm_ind_type)t;
    c.value = canon;
    bool fresh = false;
    int rc = mm_store_indicator_put(st, &c, now_ns, &fresh);
    if (rc < 0) {
        if (why) *why = "store error";
        return -2;
    }
    return fresh ? 1 : 0;
}

typedef struct imp {
    mm_store *st;
    const mm_import_opts *o;
    mm_import_stats *out;
    int64_t now;
    int store_err;
} imp;

static int imp_rec(void *ctx, const mm_indicator *ind) {
    imp *x = ctx;
    const mm_import_opts *o = x->o;
    mm_indicator r = *ind;
    if (o->actor) r.actor = o->actor;
    if (o->campaign) r.campaign = o->campaign;
    if (o->malware) r.malware = o->malware;
    if (o->description) r.description = o->description;
    if (o->action) r.action = o->action;
    if (o->tlp) r.tlp = o->tlp;
    if (o->confidence >= 0) r.confidence = o->confidence;
    if (o->ttl_ns > 0) r.valid_until = x->now + o->ttl_ns;
    if (o->warning) r.warning = true;
    if (o->feed && *o->feed) r.feed = o->feed;
    const char *why = NULL;
    int rc = mm_intel_put(x->st, &r, x->now, &why);
    if (rc == -2) {
        x->store_err = rc;
        return 1;
    }
    if (rc < 0) {
        x->out->bad_value++;
        snprintf(x->out->last_reason, sizeof x->out->last_reason, "%s: %.120s", why ? why : "refused",
                 r.value ? r.value : "");
        return 0;
    }
    x->out->stored++;
    if (rc == 1) x->out->added++;
    return 0;
}

int mm_intel_import(mm_store *st, const char *text, size_t len, const mm_import_opts *o, mm_import_stats *out,
                    mm_err *err) {
    static const mm_import_opts none = {.confidence = -1};
    mm_import_stats local;
    if (!o) o = &none;
    if (!out) out = &local;
    memset(out, 0, sizeof *out);
    const char *fmt = o->format && *o->format && strcmp(o->format, "auto") ? o->format : mm_intel_sniff(text, len);
    const char *feed = o->feed && *o->feed ? o->feed : "manual";
    imp x = {.st = st, .o = o, .out = out, .now = mm_now_ns()};
    if (mm_store_begin(st) < 0) {
        mm_err_set(err, "indicator store: cannot begin a transaction");
        return MM_EIO;
    }
    int rc;
    if (!strcmp(fmt, "stix")) {
        rc = mm_stix_read(text, len, feed, imp_rec, &x, &out->rd, err);
    } else if (!strcmp(fmt, "misp")) {
        rc = mm_misp_read(text, len, feed, imp_rec, &x, &out->rd, err);
    } else if (!strcmp(fmt, "csv") || !strcmp(fmt, "list") || !strcmp(fmt, "freetext")) {
        mm_list_opts lo;
        if (o->list) lo = *o->list;
        else {
            memset(&lo, 0, sizeof lo);
            lo.header = -1;
            lo.confidence = -1;
        }
        if (!strcmp(fmt, "freetext")) lo.freetext = true;
        rc = mm_list_read(text, len, feed, &lo, imp_rec, &x, &out->rd, err);
    } else {
        mm_store_rollback(st);
        mm_err_set(err, "unknown indicator format '%s' (use stix, misp, csv, list or freetext)", fmt);
        return MM_EINVAL;
    }
    if (rc == 0 && x.store_err) {
        mm_err_set(err, "indicator store: write failed");
        rc = x.store_err;
    }
    if (rc < 0) {
        mm_store_rollback(st);
        return rc;
    }
    if (mm_store_commit(st) < 0) {
        mm_store_rollback(st);
        mm_err_set(err, "indicator store: commit failed");
        return MM_EIO;
    }
    if (out->rd.last_reason[0] && !out->last_reason[0])
        snprintf(out->last_reason, sizeof out->last_reason, "%s", out->rd.last_reason);
    return 0;
}

/* ---------------------------------------------------------------- load */

typedef struct ld {
    mm_ioc_set *set;
    int64_t added, bad;
    bool oom;
} ld;

static int ld_rec(void *ctx, const mm_stored_indicator *si) {
    ld *l = ctx;
    int r = mm_ioc_add(l->set, &si->ind, si->ind.warning ? MM_IOC_ADD_WARNING : 0, NULL);
    if (r == 1) l->added++;
    else if (r == -1) l->bad++;
    else if (r == -2) {
        l->oom = true;
        return 1;
    }
    return 0;
}

int64_t mm_intel_load(mm_store *st, mm_ioc_set *set, const mm_indicator_filter *f, mm_err *err) {
    mm_indicator_filter all = {0};
    if (!f) f = &all;
    int64_t n = mm_store_indicator_count(st, true, mm_now_ns());
    if (n > 0 && !f->value && !f->feed && !f->added_since_ns) mm_ioc_reserve(set, (size_t)n);
    ld l = {.set = set};
    int rc = mm_store_indicators_each(st, f, ld_rec, &l);
    if (rc < 0) {
        mm_err_set(err, "indicator store: read failed");
        return rc;
    }
    if (l.oom) {
        /* a partial set must not replace a complete one */
        mm_err_set(err, "indicator store: out of memory after %lld indicators", (long long)l.added);
        return MM_ENOMEM;
    }
    if (l.added) mm_count(MM_C_IOC_LOADED, (uint64_t)l.added);
    if (l.bad) mm_count(MM_C_IOC_ERRORS, (uint64_t)l.bad);
    return l.added;
}
