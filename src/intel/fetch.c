/* intel/fetch: one HTTP(S) GET for the feed readers (TAXII, MISP feeds, lists),
 * with what pulling intelligence from other people's servers needs: conditional
 * requests (ETag / Last-Modified, so an unchanged feed costs one 304), bounded
 * retries with exponential backoff on transient failures (connection errors,
 * timeouts, 429, 5xx; Retry-After honoured up to a cap), a cap on the body size,
 * and redirects followed by hand so that credentials never go to another origin.
 *
 * Secrets: the user, password and API-key header are handed to libcurl and to
 * nothing else.  Credentials written into the URL itself (https://u:p@host/) are
 * taken out of it before anything else happens, so every message names the URL
 * without them, and the few texts that come from libcurl or the server are
 * scrubbed of the secret strings as a second line of defence. */
#include "intel.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_REDIRECTS     5
#define MAX_RETRIES       20           /* whatever the caller asks, a bound */
#define BACKOFF_CAP_MS    60000        /* one wait never exceeds a minute ... */
#define RETRY_AFTER_CAP_S 120          /* ... unless the server asked, up to two */
#define URL_MAX           8192
#define DEFAULT_MAX_BYTES ((size_t)256 << 20)

/* ---------------------------------------------------------------- text helpers */

/* Copy at most cap-1 bytes of s to out, control and non-ASCII bytes as '?': text
 * from servers and URLs goes into messages and logs, never raw. */
static void printable(char *out, size_t cap, const char *s, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (cap) out[o] = 0;
}

/* The URL for messages: userinfo (user:pass@) removed, cut at 300 bytes. */
static void url_for_msg(const char *url, char *out, size_t cap) {
    char tmp[URL_MAX];
    size_t n = strlen(url), o = 0;
    const char *sep = strstr(url, "://");
    size_t auth = sep ? (size_t)(sep - url) + 3 : 0, end = auth;
    while (end < n && url[end] != '/' && url[end] != '?' && url[end] != '#') end++;
    const char *at = NULL;
    for (size_t i = auth; i < end; i++)
        if (url[i] == '@') at = url + i;
    for (size_t i = 0; i < n && o + 1 < sizeof tmp; i++) {
        if (at && i == auth) i = (size_t)(at - url) + 1;   /* skip "user:pass@" */
        if (i >= n) break;
        tmp[o++] = url[i];
    }
    tmp[o] = 0;
    if (o > 300) memcpy(tmp + 297, "...", 4);
    printable(out, cap, tmp, strlen(tmp));
}

/* Blank out every occurrence of a secret (4 bytes or longer: shorter ones would
 * mangle ordinary words, and are not secrets worth the name) in s. */
static void scrub(char *s, const char *secret) {
    size_t n = secret ? strlen(secret) : 0;
    if (n < 4) return;
    for (char *p = strstr(s, secret); p; p = strstr(p + 3, secret)) {
        memset(p, '*', 3);
        memmove(p + 3, p + n, strlen(p + n) + 1);
    }
}

/* A header value we send must not carry CR/LF (header injection from a stored
 * validator or a mistyped key) nor other control bytes. */
static bool header_safe(const char *v) {
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 && *v != '\t') return false;
    return true;
}

/* ---------------------------------------------------------------- URL helpers */

/* Origin (scheme, host, port) of a URL, for the same-origin test on redirects. */
typedef struct origin {
    char scheme[16], host[256];
    long port;
} origin;

static bool url_origin(const char *url, origin *o) {
    CURLU *u = curl_url();
    bool ok = false;
    char *s = NULL, *h = NULL, *p = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK && strlen(s) < sizeof o->scheme &&
        strlen(h) < sizeof o->host) {
        strcpy(o->scheme, s);
        strcpy(o->host, h);
        o->port = strtol(p, NULL, 10);
        ok = true;
    }
    curl_free(s);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return ok;
}

static bool same_origin(const origin *a, const origin *b) {
    return !strcasecmp(a->scheme, b->scheme) && !strcasecmp(a->host, b->host) && a->port == b->port;
}

/* Parse url, refuse schemes other than http(s), and take the credentials out of
 * it: *clean gets the URL without userinfo, *user / *pass what it held (NULL
 * when none).  All three malloc'd (caller frees).  0 or <0 with err set. */
static int url_split(const char *url, char **clean, char **user, char **pass, mm_err *err) {
    char shown[400];
    *clean = *user = *pass = NULL;
    url_for_msg(url, shown, sizeof shown);
    if (strlen(url) >= URL_MAX) {
        if (err) mm_err_set(err, "GET %s: URL longer than %d bytes", shown, URL_MAX);
        return MM_EINVAL;
    }
    CURLU *u = curl_url();
    if (!u) {
        if (err) mm_err_set(err, "out of memory");
        return MM_ENOMEM;
    }
    char *s = NULL, *x = NULL;
    int rc = MM_EINVAL;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        if (err) mm_err_set(err, "GET %s: not a URL (%s)", shown, curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &s, 0) != CURLUE_OK || (strcasecmp(s, "http") && strcasecmp(s, "https"))) {
        if (err) mm_err_set(err, "GET %s: only http:// and https:// URLs are fetched", shown);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &x, CURLU_URLDECODE) == CURLUE_OK && x) *user = strdup(x);
    curl_free(x);
    x = NULL;
    if (curl_url_get(u, CURLUPART_PASSWORD, &x, CURLU_URLDECODE) == CURLUE_OK && x) *pass = strdup(x);
    curl_free(x);
    x = NULL;
    curl_url_set(u, CURLUPART_USER, NULL, 0);
    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
    if (curl_url_get(u, CURLUPART_URL, &x, 0) == CURLUE_OK && x) *clean = strdup(x);
    curl_free(x);
    rc = *clean ? 0 : MM_ENOMEM;
    if (rc && err) mm_err_set(err, "out of memory");
out:
    curl_free(s);
    curl_url_cleanup(u);
    if (rc) {
        free(*clean);
        free(*user);
        free(*pass);
        *clean = *user = *pass = NULL;
    }
    return rc;
}

/* ---------------------------------------------------------------- one transfer */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static CURLcode g_init_rc = CURLE_FAILED_INIT;
static void global_init(void) {
    g_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct xfer {
    mm_fetch_result *r;
    char *body;
    size_t len, cap, max;
    bool too_big;
    char reason[64];        /* the status line's reason phrase, for messages */
    char errbuf[CURL_ERROR_SIZE];   /* libcurl's detail; here so it outlives every use by the handle */
} xfer;

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
    xfer *x = ud;
    size_t n = size * nmemb;
    if (n > x->max - x->len) {
        x->too_big = true;
        return 0;   /* aborts the transfer (CURLE_WRITE_ERROR) */
    }
    if (x->len + n + 1 > x->cap) {
        size_t c = x->cap ? x->cap : 64 * 1024;
        while (c < x->len + n + 1) c = c > SIZE_MAX / 2 ? SIZE_MAX : c * 2;
        if (c > x->max + 1) c = x->max + 1;
        char *nb = realloc(x->body, c);
        if (!nb) return 0;
        x->body = nb;
        x->cap = c;
    }
    memcpy(x->body + x->len, p, n);
    x->len += n;
    x->body[x->len] = 0;
    return n;
}

/* Copy a response header's value into dst when it is printable and fits whole:
 * a cut ETag or date would be a wrong one, so it is left empty instead (cut:
 * true for texts only shown to people, e.g. the content type). */
static void hdr_copy(char *dst, size_t cap, const char *v, size_t n, bool cut) {
    dst[0] = 0;
    if (n >= cap && !cut) return;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f) return;
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

/* One header line at a time (not NUL-terminated, CRLF included).  A status line
 * starts a new response (after a 100 Continue or a redirect): what was captured
 * belongs to the previous one. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
    xfer *x = ud;
    size_t n = size * nmemb, k;
    mm_fetch_result *r = x->r;
    while (n && (p[n - 1] == '\r' || p[n - 1] == '\n')) n--;
    if (n >= 5 && !memcmp(p, "HTTP/", 5)) {
        r->etag[0] = r->last_modified[0] = r->content_type[0] = 0;
        r->taxii_added_first[0] = r->taxii_added_last[0] = 0;
        x->reason[0] = 0;
        /* "HTTP/1.1 503 Service Unavailable": the reason after the second space */
        size_t sp = 0, i;
        for (i = 0; i < n && sp < 2; i++)
            if (p[i] == ' ') sp++;
        if (sp == 2) printable(x->reason, sizeof x->reason, p + i, n - i);
        return size * nmemb;
    }
    for (k = 0; k < n && p[k] != ':'; k++) {}
    if (k == n) return size * nmemb;
    const char *v = p + k + 1;
    size_t vn = n - k - 1;
    while (vn && (*v == ' ' || *v == '\t')) v++, vn--;
    while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t')) vn--;
#define IS(name) (k == sizeof(name) - 1 && !strncasecmp(p, name, k))
    if (IS("etag")) hdr_copy(r->etag, sizeof r->etag, v, vn, false);
    else if (IS("last-modified")) hdr_copy(r->last_modified, sizeof r->last_modified, v, vn, false);
    else if (IS("content-type")) hdr_copy(r->content_type, sizeof r->content_type, v, vn, true);
    else if (IS("x-taxii-date-added-first")) hdr_copy(r->taxii_added_first, sizeof r->taxii_added_first, v, vn, false);
    else if (IS("x-taxii-date-added-last")) hdr_copy(r->taxii_added_last, sizeof r->taxii_added_last, v, vn, false);
#undef IS
    return size * nmemb;
}

typedef struct creds {
    const char *user, *pass, *api_header;
} creds;

/* Set every option of one request on a reset handle.  Credentials only when
 * c says so (the redirect logic decides). */
static CURLcode setup(CURL *h, const char *url, const mm_fetch_opts *o, const creds *c, struct curl_slist *hdrs,
                      xfer *x, char *errbuf) {
    long timeout = o->timeout_s > 0 ? o->timeout_s : 60, ctimeout = o->connect_timeout_s > 0 ? o->connect_timeout_s : 10;
    CURLcode e = CURLE_OK;
#define SET(opt, val) \
    if (e == CURLE_OK) e = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);   /* by hand: see attempt() */
    SET(CURLOPT_NOSIGNAL, 1L);         /* threads: no SIGALRM for DNS timeouts */
    SET(CURLOPT_TIMEOUT, timeout);
    SET(CURLOPT_CONNECTTIMEOUT, ctimeout);
    SET(CURLOPT_ACCEPT_ENCODING, "");  /* feeds compress well; the cap applies to decoded bytes */
    SET(CURLOPT_USERAGENT, "mamori/" MM_VERSION);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(x->max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)x->max));
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_HTTPHEADER, hdrs);
    if (o->ca_file) SET(CURLOPT_CAINFO, o->ca_file);
    if (o->insecure) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->user) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SET(CURLOPT_USERNAME, c->user);
        SET(CURLOPT_PASSWORD, c->pass ? c->pass : "");
    }
#undef SET
    return e;
}

static struct curl_slist *build_headers(const mm_fetch_opts *o, const creds *c, bool *oom) {
    struct curl_slist *l = NULL, *t;
    char line[512];
    *oom = false;
#define ADD(text)                    \
    do {                             \
        t = curl_slist_append(l, text); \
        if (!t) {                    \
            *oom = true;             \
            return l;                \
        }                            \
        l = t;                       \
    } while (0)
    snprintf(line, sizeof line, "Accept: %s", o->accept && header_safe(o->accept) ? o->accept : "*/*");
    ADD(line);
    if (c->api_header) ADD(c->api_header);
    if (o->etag && o->etag[0] && header_safe(o->etag) && strlen(o->etag) < 300) {
        snprintf(line, sizeof line, "If-None-Match: %s", o->etag);
        ADD(line);
    }
    if (o->last_modified && o->last_modified[0] && header_safe(o->last_modified) && strlen(o->last_modified) < 100) {
        snprintf(line, sizeof line, "If-Modified-Since: %s", o->last_modified);
        ADD(line);
    }
#undef ADD
    return l;
}

/* What went wrong in one attempt, and whether trying again may help. */
typedef struct outcome {
    CURLcode cc;
    long status;
    bool retry, too_big, redirects;
    long retry_after_s;
    char detail[CURL_ERROR_SIZE];
} outcome;

static bool transient(CURLcode cc) {
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

/* One attempt: the request and the redirects it leads to.  Credentials go with
 * the request while the URL stays on the origin of the first one; a redirect to
 * another origin (host, port or scheme: an https -> http downgrade counts) goes
 * out without them.  Following by hand keeps that rule ours, whatever libcurl's
 * defaults for custom headers in a given version. */
static void attempt(CURL *h, const char *url0, const mm_fetch_opts *o, const creds *c0, xfer *x, outcome *oc) {
    char *url = strdup(url0), *next = NULL;
    origin first, cur;
    bool have_first = url_origin(url0, &first);
    creds c = *c0;
    memset(oc, 0, sizeof *oc);
    if (!url) {
        oc->cc = CURLE_OUT_OF_MEMORY;
        return;
    }
    for (int hop = 0;; hop++) {
        bool oom;
        x->errbuf[0] = 0;
        struct curl_slist *hdrs = build_headers(o, &c, &oom);
        curl_easy_reset(h);
        x->len = 0;
        x->too_big = false;
        if (x->body) x->body[0] = 0;
        memset(x->r->etag, 0, sizeof x->r->etag);
        x->r->last_modified[0] = x->r->content_type[0] = 0;
        x->r->taxii_added_first[0] = x->r->taxii_added_last[0] = 0;
        CURLcode cc = oom ? CURLE_OUT_OF_MEMORY : setup(h, url, o, &c, hdrs, x, x->errbuf);
        if (cc == CURLE_OK) cc = curl_easy_perform(h);
        curl_slist_free_all(hdrs);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        oc->cc = cc;
        oc->status = status;
        oc->too_big = x->too_big || cc == CURLE_FILESIZE_EXCEEDED;
        printable(oc->detail, sizeof oc->detail, x->errbuf, strlen(x->errbuf));
        if (cc != CURLE_OK) {
            oc->retry = transient(cc) && !oc->too_big;
            break;
        }
        if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
            char *loc = NULL;
            if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc) break;   /* no Location: a 3xx answer */
            if (hop >= MAX_REDIRECTS) {
                oc->redirects = true;
                break;
            }
            next = strdup(loc);
            if (!next) {
                oc->cc = CURLE_OUT_OF_MEMORY;
                break;
            }
            free(url);
            url = next;
            next = NULL;
            if (!have_first || !url_origin(url, &cur) || !same_origin(&first, &cur)) c.user = c.pass = c.api_header = NULL;
            continue;
        }
        if (status == 429 || status >= 500) {
            curl_off_t ra = 0;
            oc->retry = true;
            if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
                oc->retry_after_s = ra > RETRY_AFTER_CAP_S ? RETRY_AFTER_CAP_S : (long)ra;
        }
        break;
    }
    free(url);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

/* ---------------------------------------------------------------- mm_fetch */

void mm_fetch_result_free(mm_fetch_result *r) {
    if (!r) return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* On an HTTP error the last answer's body stays in r->body (a TAXII or MISP
 * server explains itself there; the callers quote it); free it as usual. */
int mm_fetch(const char *url, const mm_fetch_opts *o, mm_fetch_result *r, mm_err *err) {
    static const mm_fetch_opts none;
    if (!o) o = &none;
    memset(r, 0, sizeof *r);
    if (!url) {
        if (err) mm_err_set(err, "GET: no URL");
        return MM_EINVAL;
    }
    pthread_once(&g_once, global_init);
    if (g_init_rc != CURLE_OK) {
        if (err) mm_err_set(err, "libcurl did not initialise: %s", curl_easy_strerror(g_init_rc));
        return MM_EIO;
    }
    if (o->api_key_header && (!strchr(o->api_key_header, ':') || !header_safe(o->api_key_header))) {
        /* never quoted: it is the secret */
        if (err) mm_err_set(err, "API key header is not one line of the form \"Name: value\"");
        return MM_EINVAL;
    }
    char *clean, *url_user, *url_pass;
    int rc = url_split(url, &clean, &url_user, &url_pass, err);
    if (rc) return rc;
    char shown[400];
    url_for_msg(clean, shown, sizeof shown);
    /* explicit options win over credentials written into the URL */
    creds c = {o->user ? o->user : url_user, o->user ? o->password : url_pass, o->api_key_header};
    int retries = o->retries < 0 ? 3 : o->retries > MAX_RETRIES ? MAX_RETRIES : o->retries;
    long delay = o->backoff_ms > 0 ? o->backoff_ms : 1000;
    xfer x = {.r = r, .max = o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES};
    if (x.max > (size_t)INT64_MAX - 1) x.max = (size_t)INT64_MAX - 1;
    outcome oc;
    CURL *h = curl_easy_init();
    if (!h) {
        rc = MM_ENOMEM;
        if (err) mm_err_set(err, "GET %s: libcurl handle: out of memory", shown);
        goto out;
    }
    for (int n = 1;; n++) {
        r->attempts = n;
        attempt(h, clean, o, &c, &x, &oc);
        r->status = oc.status;
        if (oc.cc == CURLE_OK && !oc.redirects && (oc.status / 100 == 2 || oc.status == 304)) break;
        if (!oc.retry || n > retries) {
            rc = MM_EIO;
            break;
        }
        long wait = delay < BACKOFF_CAP_MS ? delay : BACKOFF_CAP_MS;
        if (oc.retry_after_s * 1000 > wait) wait = oc.retry_after_s * 1000;   /* already capped */
        mm_count(MM_C_INTEL_FETCH_RETRIES, 1);
        sleep_ms(wait);
        delay = delay >= BACKOFF_CAP_MS / 2 ? BACKOFF_CAP_MS : delay * 2;
    }
    if (rc == 0) {
        if (r->status == 304) {
            free(x.body);   /* not modified: nothing to hand back */
            r->body = NULL;
            r->len = 0;
        } else {
            if (!x.body) x.body = calloc(1, 1);   /* an empty 200 is still a body */
            if (!x.body) {
                rc = MM_ENOMEM;
                if (err) mm_err_set(err, "GET %s: out of memory", shown);
            }
            r->body = x.body;
            r->len = x.len;
        }
        x.body = NULL;
    } else {
        char why[CURL_ERROR_SIZE + 128];
        const char *pl = r->attempts == 1 ? "" : "s";
        if (oc.too_big)
            snprintf(why, sizeof why, "answer larger than %zu bytes (max_bytes)", x.max);
        else if (oc.redirects)
            snprintf(why, sizeof why, "more than %d redirects", MAX_REDIRECTS);
        else if (oc.cc != CURLE_OK)
            snprintf(why, sizeof why, "%s%s%s", curl_easy_strerror(oc.cc), oc.detail[0] ? ": " : "", oc.detail);
        else
            snprintf(why, sizeof why, "HTTP %ld%s%s%s", oc.status, x.reason[0] ? " " : "", x.reason,
                     oc.status == 401 || oc.status == 403 ? " (check the feed's user, password or API key)" : "");
        scrub(why, c.pass);
        scrub(why, c.user);
        if (c.api_header) {
            const char *v = strchr(c.api_header, ':') + 1;
            while (*v == ' ') v++;
            scrub(why, v);
        }
        if (err) mm_err_set(err, "GET %s: %s (%d attempt%s)", shown, why, r->attempts, pl);
        mm_count(MM_C_INTEL_FETCH_ERRORS, 1);
        if (x.body && !oc.too_big && oc.cc == CURLE_OK) {   /* the error's explanation, for the caller */
            r->body = x.body;
            r->len = x.len;
            x.body = NULL;
        }
    }
out:
    free(x.body);
    if (h) curl_easy_cleanup(h);
    free(clean);
    if (url_pass) memset(url_pass, 0, strlen(url_pass));
    free(url_user);
    free(url_pass);
    return rc;
}
