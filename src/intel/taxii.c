/* intel/taxii: a TAXII 2.1 client that pulls STIX objects from collections and
 * hands each page to the STIX reader.
 *
 * The walk: discovery (…/taxii2/: "default" and "api_roots") -> API root ->
 * GET {root}collections/ -> for each readable collection GET
 * {root}collections/{id}/objects/?limit=..&added_after=.. and the pages after it
 * (`next` from the envelope; servers that give no `next` are paged by moving
 * added_after to the page's X-TAXII-Date-Added-Last).  The configured URL may be
 * any of the three levels; which one is told by its path (…/collections/<id>/)
 * or by what the server answers.  From a discovery URL the pull takes its
 * default API root, or every listed root (up to 16) when it names no default.
 *
 * Credentials go only to the origin of the configured URL: a discovery document
 * may point at API roots on other hosts, and those are asked without them.
 *
 * Pages are read one by one (memory stays bounded by one page), so a
 * relationship on one page does not reach an indicator on another: the records
 * are the same, their 5W1H context may be thinner with small pages.
 *
 * Everything the server sends is untrusted: the envelope is type-checked, pages
 * and collections are bounded, a server that repeats itself (same `next`, no
 * progress) is stopped, and every failure names the URL and what was wrong.
 *
 * The cursor (res->added_last) only moves past pages that were read completely,
 * and never past a collection that was cut short: the next pull may fetch a page
 * twice (the store deduplicates) but never misses one. */
#include "intel.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAXII_MEDIA      "application/taxii+json;version=2.1"
#define MAX_API_ROOTS    16
#define MAX_COLLECTIONS  10000
#define NEXT_MAX         1024      /* longest `next` token taken */
#define URL_CAP          4096

typedef struct tx {
    const mm_taxii_opts *o;
    const char *feed;
    mm_indicator_fn fn;
    void *ctx;
    mm_intel_stats *st;
    mm_taxii_result *res;
    mm_err *err;
    bool stopped;                /* the callback asked to stop */
    char home_scheme[16], home_host[256];
    long home_port;              /* origin of the configured URL: credentials go there only */
    bool home_ok;
    /* the cursor: newest complete page over collections read to the end, and the
     * oldest one of a collection that was cut short (error or max_pages) */
    int64_t done_ns, cut_ns;
    char done_s[48], cut_s[48];
    bool any_done, any_cut;
} tx;

/* ---------------------------------------------------------------- small helpers */

static void printable(char *out, size_t cap, const char *s, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (cap) out[o] = 0;
}

/* URLs here never hold credentials (they were moved into the fetch options at
 * the start), so a URL can be quoted as is, made printable and cut. */
static const char *shown(const char *url, char buf[320]) {
    printable(buf, 320, url, strlen(url));
    if (strlen(url) > 316) memcpy(buf + 313, "...", 4);
    return buf;
}

/* Percent-encode everything but RFC 3986 unreserved characters (query values,
 * path segments).  false when out is too small. */
static bool pct(const char *s, char *out, size_t cap) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~';
        if (o + (keep ? 1 : 3) >= cap) return false;
        if (keep) out[o++] = (char)c;
        else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = 0;
    return true;
}

static bool get_origin(const char *url, char *scheme, size_t sc, char *host, size_t hc, long *port) {
    CURLU *u = curl_url();
    char *s = NULL, *h = NULL, *p = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK && strlen(s) < sc && strlen(h) < hc;
    if (ok) {
        strcpy(scheme, s);
        strcpy(host, h);
        *port = strtol(p, NULL, 10);
    }
    curl_free(s);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return ok;
}

/* A URL the server named (an API root in the discovery answer) resolved against
 * the URL it came from; a trailing '/' added (TAXII URLs end in one).  0 or <0. */
static int resolve(const char *base, const char *ref, char *out, size_t cap) {
    CURLU *u = curl_url();
    char *s = NULL;
    int rc = MM_EINVAL;
    if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK && curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_QUERY, NULL, 0) == CURLUE_OK && curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) {
        size_t n = strlen(s);
        bool slash = n && s[n - 1] == '/';
        if (n + 2 <= cap) {
            memcpy(out, s, n + 1);
            if (!slash) strcat(out, "/");
            rc = 0;
        }
    }
    curl_free(s);
    curl_url_cleanup(u);
    return rc;
}

/* RFC 3339 -> ns for comparing cursors (strings do not compare: ".5Z" < "Z"). */
static bool ts_ns(const char *s, int64_t *ns) {
    return s && s[0] && mm_time_parse((mm_str){s, (uint32_t)strlen(s)}, ns);
}

/* ---------------------------------------------------------------- requests */

/* The fetch options for a URL: the configured ones, without credentials when
 * the URL is on another origin than the configured one (a discovery document
 * may name API roots anywhere; the password is for the server it was given for). */
static mm_fetch_opts opts_for(tx *t, const char *url, bool *foreign) {
    mm_fetch_opts h = t->o->http;
    char s[16], host[256];
    long port;
    h.accept = TAXII_MEDIA;
    *foreign = !t->home_ok || !get_origin(url, s, sizeof s, host, sizeof host, &port) || strcasecmp(s, t->home_scheme) ||
               strcasecmp(host, t->home_host) || port != t->home_port;
    if (*foreign) h.user = h.password = h.api_key_header = NULL;
    return h;
}

/* GET url and parse the answer as a JSON object.  *out owned by the caller
 * (json_decref); r filled (headers for the cursor), freed by the caller. */
static int get_json(tx *t, const char *url, mm_fetch_result *r, json_t **out) {
    bool foreign;
    mm_fetch_opts h = opts_for(t, url, &foreign);
    char b[320];
    *out = NULL;
    int rc = mm_fetch(url, &h, r, t->err);
    if (rc) {
        /* a TAXII error message: {"title": "...", "description": "..."} */
        json_t *e = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
        const json_t *ti = json_is_object(e) ? json_object_get(e, "title") : NULL;
        char said[160] = "";
        if (json_is_string(ti)) printable(said, sizeof said, json_string_value(ti), json_string_length(ti));
        json_decref(e);
        if (t->err) {
            size_t n = strlen(t->err->msg);
            if (said[0])
                snprintf(t->err->msg + n, sizeof t->err->msg - n, "; the server says: %s", said);
            n = strlen(t->err->msg);
            if (foreign && (r->status == 401 || r->status == 403))
                snprintf(t->err->msg + n, sizeof t->err->msg - n,
                         "; credentials are not sent to this host, which is not the configured one: "
                         "configure its API root URL instead");
        }
        return rc;
    }
    if (!r->body) {   /* 304: cannot happen without validators, but must not crash */
        if (t->err) mm_err_set(t->err, "GET %s: HTTP %ld without a body", shown(url, b), r->status);
        return MM_EIO;
    }
    json_error_t je;
    json_t *j = json_loadb(r->body, r->len, JSON_ALLOW_NUL, &je);
    if (!j || !json_is_object(j)) {
        char start[48];
        printable(start, sizeof start, r->body, r->len);
        if (t->err)
            mm_err_set(t->err, "GET %s: the answer is not a TAXII JSON object (%s%s, line %d column %d; Content-Type \"%s\"; %zu bytes starting \"%s\")",
                       shown(url, b), j ? "JSON but not an object" : "not JSON: ", j ? "" : je.text, j ? 0 : je.line,
                       j ? 0 : je.column, r->content_type, r->len, start);
        json_decref(j);
        return MM_EINVAL;
    }
    *out = j;
    return 0;
}

/* ---------------------------------------------------------------- objects */

/* Between the reader and the caller's callback: notes a request to stop, so
 * that no further page is fetched. */
static int relay(void *ctx, const mm_indicator *ind) {
    tx *t = ctx;
    int stop = t->fn ? t->fn(t->ctx, ind) : 0;
    if (stop) t->stopped = true;
    return stop;
}

/* The collection's cursor joins the pull's (see done_ns / cut_ns). */
static void cursor_join(tx *t, const char *last, bool complete) {
    int64_t ns = 0;
    bool have = ts_ns(last, &ns);
    if (complete) {
        if (have && (!t->any_done || ns > t->done_ns)) {
            t->done_ns = ns;
            snprintf(t->done_s, sizeof t->done_s, "%s", last);
        }
        if (have) t->any_done = true;
    } else {
        /* cut short: an unknown cursor (nothing read, no added_after) is the
         * oldest of all: everything is fetched again next time */
        if (!have) ns = INT64_MIN;
        if (!t->any_cut || ns < t->cut_ns) {
            t->cut_ns = ns;
            snprintf(t->cut_s, sizeof t->cut_s, "%s", have ? last : "");
        }
        t->any_cut = true;
    }
}

static int pull_collection(tx *t, const char *root, const char *id, const char *label) {
    const mm_taxii_opts *o = t->o;
    int limit = o->page_limit > 0 ? o->page_limit : 1000, max_pages = o->max_pages > 0 ? o->max_pages : 10000;
    char eid[512], base[URL_CAP], url[URL_CAP], b[320];
    char after[48] = "", last[48] = "", next[NEXT_MAX] = "", enc_after[160], enc_next[3 * NEXT_MAX + 1];
    if (o->added_after) snprintf(after, sizeof after, "%s", o->added_after);
    snprintf(last, sizeof last, "%s", after);   /* the cursor until a page moves it */
    if (!pct(id, eid, sizeof eid) || snprintf(base, sizeof base, "%scollections/%s/objects/", root, eid) >= (int)sizeof base) {
        if (t->err) mm_err_set(t->err, "TAXII collection \"%s\": id too long for a URL", label);
        return MM_EINVAL;
    }
    t->res->collections++;
    int rc = 0;
    bool more = false;
    for (int page = 0; page < max_pages; page++) {
        if (!pct(after, enc_after, sizeof enc_after) || !pct(next, enc_next, sizeof enc_next)) {
            rc = MM_EINVAL;
            if (t->err) mm_err_set(t->err, "TAXII collection \"%s\": cursor too long", label);
            break;
        }
        int n = snprintf(url, sizeof url, "%s?limit=%d%s%s%s%s", base, limit, after[0] ? "&added_after=" : "", enc_after,
                         next[0] ? "&next=" : "", enc_next);
        if (n < 0 || n >= (int)sizeof url) {
            rc = MM_EINVAL;
            if (t->err) mm_err_set(t->err, "TAXII collection \"%s\": page URL longer than %d bytes", label, URL_CAP);
            break;
        }
        mm_fetch_result r;
        json_t *env = NULL;
        rc = get_json(t, url, &r, &env);
        if (rc) {
            mm_fetch_result_free(&r);
            break;
        }
        const json_t *objs = json_object_get(env, "objects"), *jm = json_object_get(env, "more"),
                     *jn = json_object_get(env, "next");
        if ((objs && !json_is_array(objs)) || (jm && !json_is_boolean(jm)) || (jn && !json_is_string(jn) && !json_is_null(jn))) {
            rc = MM_EINVAL;
            if (t->err)
                mm_err_set(t->err, "GET %s: not a TAXII envelope (%s is not %s)", shown(url, b),
                           objs && !json_is_array(objs) ? "\"objects\"" : jm && !json_is_boolean(jm) ? "\"more\"" : "\"next\"",
                           objs && !json_is_array(objs) ? "a list" : jm && !json_is_boolean(jm) ? "true or false" : "a string");
        }
        size_t nobj = json_is_array(objs) ? json_array_size(objs) : 0;
        if (!rc && nobj) {
            mm_err e2 = {{0}};
            if (mm_stix_read(r.body, r.len, t->feed, relay, t, t->st, &e2) < 0) {
                rc = MM_EINVAL;
                if (t->err) mm_err_set(t->err, "GET %s: %s", shown(url, b), e2.msg);
            }
        }
        if (rc) {
            json_decref(env);
            mm_fetch_result_free(&r);
            break;
        }
        t->res->pages++;
        t->res->objects += nobj;
        /* the page is read (unless the callback stopped it part-way): the
         * cursor may move to its newest object */
        int64_t a, c;
        if (!t->stopped && ts_ns(r.taxii_added_last, &a) && (!ts_ns(last, &c) || a > c))
            snprintf(last, sizeof last, "%s", r.taxii_added_last);
        more = json_is_true(jm);
        const char *nx = json_is_string(jn) ? json_string_value(jn) : "";
        if (more && !t->stopped) {
            if (nx[0]) {
                if (strlen(nx) >= sizeof next || !strcmp(nx, next)) {
                    rc = MM_EINVAL;
                    if (t->err)
                        mm_err_set(t->err, "GET %s: the server's \"next\" is %s", shown(url, b),
                                   strlen(nx) >= sizeof next ? "longer than 1024 bytes" : "the same as the previous page's (a loop)");
                } else
                    snprintf(next, sizeof next, "%s", nx);
            } else if (r.taxii_added_last[0] && strcmp(r.taxii_added_last, after)) {
                /* TAXII servers without `next`: page by date_added */
                snprintf(after, sizeof after, "%s", r.taxii_added_last);
                next[0] = 0;
            } else {
                rc = MM_EINVAL;
                if (t->err)
                    mm_err_set(t->err, "GET %s: \"more\" is true but the server gave neither \"next\" nor a newer X-TAXII-Date-Added-Last",
                               shown(url, b));
            }
        }
        json_decref(env);
        mm_fetch_result_free(&r);
        if (rc || !more || t->stopped) break;
    }
    cursor_join(t, last, rc == 0 && !more && !t->stopped);
    return rc;
}

/* ---------------------------------------------------------------- collections */

static int pull_root(tx *t, const char *root) {
    char url[URL_CAP], b[320];
    snprintf(url, sizeof url, "%scollections/", root);
    mm_fetch_result r;
    json_t *j = NULL;
    int rc = get_json(t, url, &r, &j);
    mm_fetch_result_free(&r);
    if (rc) return rc;
    const json_t *cols = json_object_get(j, "collections");
    if (cols && !json_is_array(cols)) {
        json_decref(j);
        if (t->err) mm_err_set(t->err, "GET %s: \"collections\" is not a list", shown(url, b));
        return MM_EINVAL;
    }
    const char *want = t->o->collection;
    bool found = false;
    size_t i;
    const json_t *c;
    char names[200] = "";
    json_array_foreach(cols, i, c) {
        if (i >= MAX_COLLECTIONS) break;
        const json_t *jid = json_object_get(c, "id"), *jt = json_object_get(c, "title");
        const char *id = json_is_string(jid) ? json_string_value(jid) : NULL, *title = json_is_string(jt) ? json_string_value(jt) : "";
        if (!id || !id[0]) continue;   /* not a collection anyone can name */
        size_t nl = strlen(names);
        if (nl + 2 < sizeof names) snprintf(names + nl, sizeof names - nl, "%s%s", nl ? ", " : "", title[0] ? title : id);
        if (want && strcmp(want, id) && strcmp(want, title)) continue;
        found = true;
        if (!json_is_true(json_object_get(c, "can_read"))) {
            if (!want) continue;   /* write-only inboxes are not ours to read */
            if (t->err) mm_err_set(t->err, "TAXII collection \"%s\" at %s cannot be read (can_read is not true)", want, shown(url, b));
            rc = MM_EINVAL;
            break;
        }
        char label[128];
        printable(label, sizeof label, title[0] ? title : id, strlen(title[0] ? title : id));
        rc = pull_collection(t, root, id, label);
        if (rc || t->stopped) break;
        if (want) break;
    }
    if (!rc && want && !found) {
        printable(b, sizeof b, want, strlen(want));
        char b2[320];
        if (t->err) mm_err_set(t->err, "TAXII: no collection \"%s\" at %s (there: %s)", b, shown(url, b2), names[0] ? names : "none");
        rc = MM_ENOENT;
    }
    json_decref(j);
    return rc;
}

/* The path of url ends in /collections/<id>/ (or …/<id>/objects/): the API root
 * and the id are taken from it.  …/collections/ alone: the root, id "". */
static bool split_collection_url(const char *url, char *root, size_t rc, char *id, size_t ic) {
    const char *q = url + strcspn(url, "?#"), *hit = NULL;
    for (const char *p = url; (p = strstr(p, "/collections/")) && p < q; p++) hit = p;
    if (!hit) return false;
    const char *s = hit + strlen("/collections/"), *e = s;
    while (e < q && *e != '/') e++;
    if ((size_t)(e - s) >= ic || (size_t)(hit - url) + 2 > rc) return false;
    memcpy(id, s, (size_t)(e - s));
    id[e - s] = 0;
    memcpy(root, url, (size_t)(hit - url) + 1);
    root[hit - url + 1] = 0;
    /* the id is a path segment: undo percent-encoding so pct() does not double it */
    char *u = curl_easy_unescape(NULL, id, 0, NULL);
    if (!u) return false;
    bool ok = strlen(u) < ic && !strpbrk(u, "/?#");
    if (ok) strcpy(id, u);
    curl_free(u);
    return ok;
}

int mm_taxii_pull(const mm_taxii_opts *o, const char *feed, mm_indicator_fn fn, void *ctx, mm_intel_stats *st,
                  mm_taxii_result *res, mm_err *err) {
    mm_intel_stats st0;
    mm_taxii_result res0;
    if (!st) st = &st0;
    if (!res) res = &res0;
    memset(res, 0, sizeof *res);
    if (!o || !o->url || !o->url[0]) {
        if (err) mm_err_set(err, "TAXII: no URL");
        return MM_EINVAL;
    }
    tx t = {.o = o, .feed = feed, .fn = fn, .ctx = ctx, .st = st, .res = res, .err = err};
    mm_taxii_opts oc = *o;   /* the configured URL with its credentials moved into the options */
    t.o = &oc;
    char url[URL_CAP], b[320], root[URL_CAP], id[512];
    char *user = NULL, *pass = NULL;
    int rc = 0;
    {
        CURLU *u = curl_url();
        char *x = NULL;
        if (!u || strlen(o->url) >= URL_CAP || curl_url_set(u, CURLUPART_URL, o->url, 0) != CURLUE_OK) {
            curl_url_cleanup(u);
            /* not quoted: a URL that does not parse may still hold a password */
            if (err) mm_err_set(err, "TAXII: the configured URL is not a URL (or longer than %d bytes)", URL_CAP);
            return MM_EINVAL;
        }
        if (curl_url_get(u, CURLUPART_USER, &x, CURLU_URLDECODE) == CURLUE_OK) user = strdup(x);
        curl_free(x);
        x = NULL;
        if (curl_url_get(u, CURLUPART_PASSWORD, &x, CURLU_URLDECODE) == CURLUE_OK) pass = strdup(x);
        curl_free(x);
        x = NULL;
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
        /* TAXII URLs end in '/'; "…/api1" as typed by a person means "…/api1/" */
        if (curl_url_get(u, CURLUPART_PATH, &x, 0) == CURLUE_OK && x[0] && x[strlen(x) - 1] != '/' && strlen(x) + 2 < URL_CAP) {
            char path[URL_CAP];
            snprintf(path, sizeof path, "%s/", x);
            curl_url_set(u, CURLUPART_PATH, path, 0);
        }
        curl_free(x);
        x = NULL;
        if (curl_url_get(u, CURLUPART_URL, &x, 0) == CURLUE_OK && strlen(x) < sizeof url) strcpy(url, x);
        else url[0] = 0;
        curl_free(x);
        curl_url_cleanup(u);
    }
    if (!url[0]) {
        if (err) mm_err_set(err, "TAXII: the URL is too long");
        rc = MM_EINVAL;
        goto out;
    }
    if (user && !oc.http.user) {
        oc.http.user = user;
        oc.http.password = pass;
    }
    t.home_ok = get_origin(url, t.home_scheme, sizeof t.home_scheme, t.home_host, sizeof t.home_host, &t.home_port);

    if (split_collection_url(url, root, sizeof root, id, sizeof id)) {
        rc = id[0] ? pull_collection(&t, root, id, id) : pull_root(&t, root);
    } else {
        /* a discovery URL or an API root: the answer tells */
        mm_fetch_result r;
        json_t *j = NULL;
        rc = get_json(&t, url, &r, &j);
        mm_fetch_result_free(&r);
        if (rc) goto out;
        const json_t *roots = json_object_get(j, "api_roots"), *def = json_object_get(j, "default");
        if (roots || def) {
            /* discovery: its default API root, else every listed one */
            const char *list[MAX_API_ROOTS];
            size_t n = 0, i;
            const json_t *v;
            if (json_is_string(def)) list[n++] = json_string_value(def);
            else
                json_array_foreach(roots, i, v) {
                    if (json_is_string(v) && n < MAX_API_ROOTS) list[n++] = json_string_value(v);
                }
            if (!n) {
                if (t.err) mm_err_set(t.err, "GET %s: TAXII discovery lists no API root", shown(url, b));
                rc = MM_ENOENT;
            }
            /* a named collection lives in one of the roots: a root without it
             * is not an error unless none has it (err then names the last) */
            bool missing = false;
            for (i = 0; i < n && !rc && !t.stopped; i++) {
                if (resolve(url, list[i], root, sizeof root)) {
                    char what[200];
                    printable(what, sizeof what, list[i], strlen(list[i]));
                    if (t.err) mm_err_set(t.err, "GET %s: API root \"%s\" is not a URL", shown(url, b), what);
                    rc = MM_EINVAL;
                    break;
                }
                rc = pull_root(&t, root);
                if (rc == MM_ENOENT && o->collection) {
                    missing = true;
                    rc = 0;
                    continue;
                }
                if (!rc && o->collection) {
                    missing = false;
                    break;
                }
            }
            if (!rc && missing) rc = MM_ENOENT;
        } else if (json_object_get(j, "versions") || json_object_get(j, "title") || json_object_get(j, "max_content_length")) {
            size_t n = strlen(url);
            if (n + 2 > sizeof root) rc = MM_EINVAL;
            else {
                snprintf(root, sizeof root, "%s%s", url, n && url[n - 1] == '/' ? "" : "/");
                char *qm = strchr(root, '?');   /* an API root's URL has no query */
                if (qm) strcpy(qm, "/");
                rc = pull_root(&t, root);
            }
        } else {
            if (t.err)
                mm_err_set(t.err, "GET %s: neither a TAXII 2.1 discovery (api_roots) nor an API root (versions), nor a collection URL",
                           shown(url, b));
            rc = MM_EINVAL;
        }
        json_decref(j);
    }
out:
    /* the pull's cursor: see tx */
    if (t.any_cut) snprintf(res->added_last, sizeof res->added_last, "%s", t.cut_s);
    else if (t.any_done) snprintf(res->added_last, sizeof res->added_last, "%s", t.done_s);
    else if (o->added_after) snprintf(res->added_last, sizeof res->added_last, "%s", o->added_after);
    if (pass) memset(pass, 0, strlen(pass));
    free(user);
    free(pass);
    return rc;
}
