/* feeds: the configured intelligence feeds (intel.feeds) and their refresh.
 *
 * A refresh is conditional: the feed's state in the store keeps the ETag and
 * Last-Modified of the last response, the TAXII added_after cursor and the MISP
 * manifest timestamp, so an unchanged feed costs one request and no parsing.  A
 * failed refresh changes no indicator: what the feed said before goes on
 * matching until it expires. */
#include "intel.h"
#include "../store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_of(const mm_cnode *map, const char *key) {
    const mm_cnode *n = mm_cnode_get(map, key);
    return n && n->value ? mm_xstrdup(n->value) : NULL;
}

static long int_of(const mm_cnode *map, const char *key, long dflt) {
    const mm_cnode *n = mm_cnode_get(map, key);
    int64_t v;
    return n && n->value && mm_str_to_i64(mm_str_c(n->value), &v) ? (long)v : dflt;
}

void mm_intel_feeds_free(mm_feed_conf *f, int n) {
    for (int i = 0; f && i < n; i++) {
        char **s[] = {&f[i].name, &f[i].type, &f[i].url, &f[i].path, &f[i].collection, &f[i].user,
                      &f[i].password_file, &f[i].api_key_file, &f[i].actor, &f[i].campaign, &f[i].malware, &f[i].tlp};
        for (size_t k = 0; k < MM_ARRAY_LEN(s); k++) free(*s[k]);
    }
    free(f);
}

static const char *const kinds[] = {"stix", "taxii", "misp", "misp-feed", "csv", "list", "freetext"};

int mm_intel_feeds(const mm_config *c, mm_feed_conf **out, int *n, mm_err *err) {
    *out = NULL;
    *n = 0;
    const mm_cnode *seq = mm_cnode_get(mm_cnode_get(c ? c->tree : NULL, "intel"), "feeds");
    if (!seq) return 0;
    int cnt = 0;
    for (const mm_cnode *it = seq->child; it; it = it->next) cnt++;
    mm_feed_conf *f = calloc((size_t)cnt + 1, sizeof *f);
    if (!f) return MM_ENOMEM;
    const char *file = c->path ? c->path : "config";
    int k = 0;
    for (const mm_cnode *it = seq->child; it; it = it->next, k++) {
        mm_feed_conf *x = &f[k];
        *n = k + 1;
        x->line = it->line;
        x->name = dup_of(it, "name");
        x->type = dup_of(it, "type");
        x->url = dup_of(it, "url");
        x->path = dup_of(it, "path");
        x->collection = dup_of(it, "collection");
        x->user = dup_of(it, "user");
        x->password_file = dup_of(it, "password_file");
        x->api_key_file = dup_of(it, "api_key_file");
        x->actor = dup_of(it, "actor");
        x->campaign = dup_of(it, "campaign");
        x->malware = dup_of(it, "malware");
        x->tlp = dup_of(it, "tlp");
        x->timeout_s = int_of(it, "timeout", 60);
        x->confidence = (int)int_of(it, "confidence", -1);
        const mm_cnode *w = mm_cnode_get(it, "warning");
        x->warning = w && w->value && (!strcmp(w->value, "true") || !strcmp(w->value, "yes"));
        x->interval_ns = 3600LL * 1000000000LL;
        const mm_cnode *iv = mm_cnode_get(it, "interval");
        const mm_cnode *ttl = mm_cnode_get(it, "ttl");
        x->list.header = -1;
        x->list.confidence = -1;
        x->list.value_col = (int)int_of(it, "value_column", 0);
        x->list.type_col = (int)int_of(it, "type_column", 0);
        x->list.desc_col = (int)int_of(it, "description_column", 0);
        const mm_cnode *h = mm_cnode_get(it, "header");
        if (h && h->value) x->list.header = !strcmp(h->value, "true") || !strcmp(h->value, "yes");
        const mm_cnode *dl = mm_cnode_get(it, "delimiter");
        const mm_cnode *it_type = mm_cnode_get(it, "indicator_type");
        const char *why = NULL;
        if (!x->name || !*x->name) why = "needs a name";
        else if (!x->type) why = "needs a type";
        else if (!x->url == !x->path) why = "needs exactly one of url and path";
        else if (iv && (!mm_duration_parse(iv->value, &x->interval_ns) || x->interval_ns < 60LL * 1000000000LL))
            why = "interval must be a duration of at least 1m";
        else if (ttl && (!mm_duration_parse(ttl->value, &x->ttl_ns) || x->ttl_ns <= 0))
            why = "ttl must be a duration";
        else if (x->confidence > 100) why = "confidence is 0-100";
        else if (x->url && strncmp(x->url, "http://", 7) && strncmp(x->url, "https://", 8))
            why = "url must be http:// or https://";
        if (!why) {
            bool known = false;
            for (size_t i = 0; i < MM_ARRAY_LEN(kinds); i++) known |= !strcmp(x->type, kinds[i]);
            if (!known) why = "type must be stix, taxii, misp, misp-feed, csv, list or freetext";
            else if ((!strcmp(x->type, "taxii") || !strcmp(x->type, "misp-feed")) && !x->url)
                why = "taxii and misp-feed feeds need a url";
        }
        if (!why && dl && dl->value) {
            const char *d = dl->value;
            if (!strcmp(d, "\\t") || !strcmp(d, "tab")) x->list.delimiter = '\t';
            else if (strlen(d) == 1) x->list.delimiter = d[0];
            else why = "delimiter is one character (or \\t)";
        }
        if (!why && it_type && it_type->value) {
            x->list.type = mm_intel_type_parse(it_type->value);
            if (!x->list.type) why = "unknown indicator_type";
        }
        for (int j = 0; !why && j < k; j++)
            if (!strcmp(f[j].name, x->name)) why = "duplicate feed name";
        if (why) {
            mm_err_set(err, "%s: line %d: intel feed%s%s: %s", file, x->line, x->name ? " " : "",
                       x->name ? x->name : "", why);
            mm_intel_feeds_free(f, *n);
            *n = 0;
            return MM_EINVAL;
        }
    }
    *out = f;
    return 0;
}

/* ---------------------------------------------------------------- refresh */

/* Records of a TAXII or MISP feed pull, held until the pull is over: the store's
 * write lock is taken only to write them, never while waiting for a server (the
 * daemon's writer shares the database). */
typedef struct recbuf {
    mm_arena arena;
    mm_indicator *r;
    size_t n, cap;
    bool oom;
} recbuf;

static const char *bdup(mm_arena *a, const char *p) { return p ? mm_arena_strndup(a, p, strlen(p)) : NULL; }

static int buffer_rec(void *ctx, const mm_indicator *ind) {
    recbuf *b = ctx;
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 1024;
        mm_indicator *nr = realloc(b->r, nc * sizeof *nr);
        if (!nr) {
            b->oom = true;
            return 1;
        }
        b->r = nr;
        b->cap = nc;
    }
    mm_indicator c = *ind;
    mm_arena *a = &b->arena;
    c.value = bdup(a, ind->value);
    c.feed = bdup(a, ind->feed);
    c.id = bdup(a, ind->id);
    c.tlp = bdup(a, ind->tlp);
    c.actor = bdup(a, ind->actor);
    c.campaign = bdup(a, ind->campaign);
    c.malware = bdup(a, ind->malware);
    c.kill_chain = bdup(a, ind->kill_chain);
    c.attack = bdup(a, ind->attack);
    c.description = bdup(a, ind->description);
    c.action = bdup(a, ind->action);
    b->r[b->n++] = c;
    return 0;
}

typedef struct rctx {
    mm_store *st;
    const mm_feed_conf *f;
    mm_import_stats *out;
    int64_t now;
    bool fail;
} rctx;

static void apply(const mm_feed_conf *f, mm_indicator *r, int64_t now) {
    r->feed = f->name;
    if (f->actor && !r->actor) r->actor = f->actor;
    if (f->campaign && !r->campaign) r->campaign = f->campaign;
    if (f->malware && !r->malware) r->malware = f->malware;
    if (f->tlp && !r->tlp) r->tlp = f->tlp;
    if (f->confidence >= 0 && r->confidence < 0) r->confidence = f->confidence;
    if (f->ttl_ns > 0) r->valid_until = now + f->ttl_ns;
    if (f->warning) r->warning = true;
}

static int rec(void *ctx, const mm_indicator *ind) {
    rctx *x = ctx;
    mm_indicator r = *ind;
    apply(x->f, &r, x->now);
    const char *why = NULL;
    int rc = mm_intel_put(x->st, &r, x->now, &why);
    if (rc == -2) {
        x->fail = true;
        return 1;
    }
    if (rc < 0) {
        x->out->bad_value++;
        snprintf(x->out->last_reason, sizeof x->out->last_reason, "%s: %.120s", why ? why : "refused", r.value);
        return 0;
    }
    x->out->stored++;
    if (rc == 1) x->out->added++;
    return 0;
}

typedef struct prev {
    char etag[256], last_modified[80], cursor[64];
    int64_t last_attempt, last_ok, last_count;
    bool found;
} prev;

static int prev_of(void *ctx, const mm_feed_state *fs) {
    prev *p = ctx;
    snprintf(p->etag, sizeof p->etag, "%s", fs->etag);
    snprintf(p->last_modified, sizeof p->last_modified, "%s", fs->last_modified);
    snprintf(p->cursor, sizeof p->cursor, "%s", fs->cursor);
    p->last_attempt = fs->last_attempt_ns;
    p->last_ok = fs->last_ok_ns;
    p->last_count = fs->last_count;
    p->found = true;
    return 1;
}

/* The feed's secret file, if it has one; the error names the feed. */
static bool secret(const char *path, char *out, size_t cap, mm_err *err, const char *feed) {
    out[0] = 0;
    if (!path) return true;
    mm_err e2 = {{0}};
    if (mm_read_secret(path, out, cap, &e2)) return true;
    mm_err_set(err, "feed %s: %s", feed, e2.msg);
    return false;
}

int mm_intel_refresh(mm_store *st, const mm_feed_conf *f, bool force, mm_refresh_result *r, mm_err *err) {
    memset(r, 0, sizeof *r);
    int64_t now = mm_now_ns();
    r->started_ns = now;
    prev p;
    memset(&p, 0, sizeof p);
    if (mm_store_feeds_each(st, f->name, prev_of, &p) < 0) {
        mm_err_set(err, "feed %s: cannot read its state", f->name);
        return MM_EIO;
    }
    int64_t retry = f->interval_ns < 600LL * 1000000000LL ? f->interval_ns : 600LL * 1000000000LL;
    bool due = force || !p.found || (p.last_ok >= p.last_attempt ? now >= p.last_ok + f->interval_ns
                                                                  : now >= p.last_attempt + retry);
    if (!due) return 0;
    r->due = true;

    char pw[512], key[600], hdr[640];
    if (!secret(f->password_file, pw, sizeof pw, err, f->name) || !secret(f->api_key_file, key, sizeof key, err, f->name))
        return MM_EINVAL;
    if (key[0]) snprintf(hdr, sizeof hdr, "Authorization: %s", key);
    mm_fetch_opts fx = {.user = f->user, .password = pw[0] ? pw : NULL, .api_key_header = key[0] ? hdr : NULL,
                        .timeout_s = f->timeout_s, .retries = -1,
                        .etag = p.etag[0] ? p.etag : NULL, .last_modified = p.last_modified[0] ? p.last_modified : NULL};
    if (!strcmp(f->type, "misp") || !strcmp(f->type, "misp-feed")) fx.accept = "application/json";
    mm_import_stats *out = &r->st;
    rctx x = {.st = st, .f = f, .out = out, .now = now};
    char cursor[64];
    snprintf(cursor, sizeof cursor, "%s", p.cursor);
    int rc = 0;
    bool in_txn = false;
    mm_fetch_result fr;
    memset(&fr, 0, sizeof fr);
    char *text = NULL;
    size_t len = 0;

    if (!strcmp(f->type, "taxii") || !strcmp(f->type, "misp-feed")) {
        fx.etag = fx.last_modified = NULL;   /* these use their own cursors */
        recbuf b = {.n = 0};
        mm_arena_init(&b.arena, 64 * 1024);
        if (!strcmp(f->type, "taxii")) {
            mm_taxii_opts to = {.url = f->url, .collection = f->collection,
                                .added_after = cursor[0] ? cursor : NULL, .http = fx};
            mm_taxii_result tr;
            memset(&tr, 0, sizeof tr);
            rc = mm_taxii_pull(&to, f->name, buffer_rec, &b, &out->rd, &tr, err);
            if (rc == 0 && tr.added_last[0]) snprintf(cursor, sizeof cursor, "%s", tr.added_last);
        } else {
            int64_t since = cursor[0] ? strtoll(cursor, NULL, 10) : 0, newest = since;
            rc = mm_misp_feed_pull(f->url, &fx, since, f->name, buffer_rec, &b, &out->rd, &newest, err);
            if (rc == 0 && newest > since) snprintf(cursor, sizeof cursor, "%lld", (long long)newest);
        }
        if (rc == 0 && b.oom) {
            mm_err_set(err, "feed %s: out of memory holding the pulled records", f->name);
            rc = MM_ENOMEM;
        }
        if (rc == 0 && (rc = mm_store_begin(st)) == 0) {
            in_txn = true;
            for (size_t i = 0; i < b.n && !x.fail; i++) rec(&x, &b.r[i]);
        }
        free(b.r);
        mm_arena_free(&b.arena);
    } else {
        if (f->url) {
            rc = mm_fetch(f->url, &fx, &fr, err);
            if (rc == 0 && fr.status == 304) r->not_modified = true;
            else if (rc == 0) {
                text = fr.body;
                len = fr.len;
            }
        } else {
            text = mm_read_file(f->path, (size_t)4 << 30, &len, err);
            if (!text) rc = MM_EIO;
        }
        if (rc == 0 && text && (rc = mm_store_begin(st)) == 0) {
            in_txn = true;
            const char *fmt = f->type;
            if (!strcmp(fmt, "misp")) rc = mm_misp_read(text, len, f->name, rec, &x, &out->rd, err);
            else if (!strcmp(fmt, "stix")) rc = mm_stix_read(text, len, f->name, rec, &x, &out->rd, err);
            else {
                mm_list_opts lo = f->list;
                if (!strcmp(fmt, "freetext")) lo.freetext = true;
                rc = mm_list_read(text, len, f->name, &lo, rec, &x, &out->rd, err);
            }
        }
    }
    if (rc == 0 && x.fail) {
        mm_err_set(err, "feed %s: store write failed", f->name);
        rc = MM_EIO;
    }
    if (in_txn) {
        if (rc == 0) rc = mm_store_commit(st) == 0 ? 0 : MM_EIO;
        if (rc != 0) mm_store_rollback(st);
    }
    char safe_url[1024];
    mm_feed_state fs = {
        .name = f->name,
        .kind = f->type,
        .url = f->url ? mm_intel_redact_url(f->url, safe_url, sizeof safe_url) : f->path,
        .last_attempt_ns = now,
        .last_ok_ns = rc == 0 ? now : p.last_ok,
        .last_count = rc == 0 ? (int64_t)out->stored : 0,
        .last_new = rc == 0 ? (int64_t)out->added : 0,
        .etag = rc == 0 && fr.etag[0] ? fr.etag : p.etag,
        .last_modified = rc == 0 && fr.last_modified[0] ? fr.last_modified : p.last_modified,
        .cursor = rc == 0 ? cursor : p.cursor,
        .last_error = rc == 0 ? "" : err->msg,
    };
    if (rc == 0 && r->not_modified) fs.last_count = p.last_count;   /* unchanged: the count stands */
    if (mm_store_feed_put(st, &fs) < 0 && rc == 0) {
        mm_err_set(err, "feed %s: cannot save its state", f->name);
        rc = MM_EIO;
    }
    free(text);
    fr.body = NULL;
    mm_fetch_result_free(&fr);
    return rc;
}
