/* app_http: HTTP/1.x over TCP.
 *
 * Requests and responses are parsed as they stream, with pipelining: requests wait
 * in a queue and responses are matched to them in order.  Each transaction gives
 * one `http-request` event once both its request and its response are complete
 * (or at the end of the flow, without a response).  Bodies are de-chunked and,
 * when gzip/deflate encoded, inflated under a size and ratio cap, then carried as
 * files: every non-empty response body (a download) and every POST/PUT body (an
 * upload; for multipart/form-data each part that has a filename).  Consecutive 206
 * range responses for one URL are joined into one file, so a download fetched in
 * pieces is hashed whole.  CONNECT (2xx) and 101 turn the flow into a tunnel:
 * parsing stops there. */
#include "sensor_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define HDR_MAX (64 * 1024)        /* one message's start line + headers */
#define HDR_LINES_MAX 100
#define TX_MAX 32                  /* requests waiting for their responses */
#define URL_MAX 4096
#define BODY_KEEP 1024             /* http.request.body.content */
#define CHUNK_LINE_MAX 1024        /* chunk-size line with its extensions */
/* A decompression bomb stops here: the sensor's default file_max (the analyzer
 * cannot see the configured one), or when the output outgrows the input by more
 * than any real content does. */
#define DECODE_MAX ((uint64_t)64 << 20)
#define DECODE_RATIO 1000
#define DECODE_RATIO_FLOOR ((uint64_t)1 << 20)
#define MP_HDR_MAX 8192            /* one multipart part's headers */
#define MP_PARTS_MAX 64
#define UP_MAX 8                   /* finished uploads waiting for the status code */
#define NAME_MAX_ 256

enum { S_START, S_HEAD, S_BODY, S_DEAD };
enum { B_CL, B_CHUNK, B_CLOSE };
enum { C_SIZE, C_EXT, C_DATA, C_DATA_END, C_TRAILER };
enum { E_NONE, E_GZIP, E_DEFLATE };
enum { MP_PRE, MP_LINE, MP_HDR, MP_DATA, MP_END };

typedef struct mpart {
    char delim[80];                /* "\r\n--" boundary */
    uint8_t dlen, match;
    int st;
    size_t linelen;
    char l2[2];
    char *hb;
    size_t hlen, ll;
    bool want;
    char fname[NAME_MAX_];
    size_t fname_n;
    mm_sfile *file;
    int parts;
} mpart;

typedef struct htx {
    char method[24];
    size_t method_n;
    char url[URL_MAX];
    size_t url_n;
    char host[256];
    size_t host_n;
    char ua[512];
    size_t ua_n;
    char ref[1024];
    size_t ref_n;
    char req_mime[128], resp_mime[128];
    size_t req_mime_n, resp_mime_n;
    char req_fname[NAME_MAX_], resp_fname[NAME_MAX_];
    size_t req_fname_n, resp_fname_n;
    char body[BODY_KEEP];
    size_t body_n;
    char ver[8];
    int status;
    uint64_t req_bytes, resp_bytes;
    bool has_req, req_done, resp_started, resp_done;
    mm_sfile *up[UP_MAX];          /* uploads done, closed when the status is known */
    int nup;
} htx;

typedef struct hdir {
    int dir;
    int st;
    uint8_t *hb;
    size_t hlen, hcap, scan;
    int bmode, cst;
    uint64_t remain;               /* Content-Length body left, or current chunk left */
    uint64_t csize;
    int cdigits;
    size_t clen;                   /* chunk-size line length so far */
    size_t tline, ttotal;          /* trailers: current line, all */
    int enc;
    bool zon, zdead, zend;
    z_stream z;
    uint8_t peek[2];
    int npeek;
    uint64_t zin, decoded;
    htx *tx;
    mm_sfile *file;
    bool want_file, file_rng;
    uint64_t rng_start, rng_total, rng_key;
    mpart *mp;
} hdir;

typedef struct hstate {
    hdir d[2];
    htx *q[TX_MAX];
    int qn;
    bool tunnel;
    mm_sfile *rng;                 /* a range download waiting for its next piece */
    uint64_t rng_key, rng_next, rng_total;
} hstate;

/* What a header block said about the message's body and file. */
typedef struct hinfo {
    uint64_t cl;
    bool has_cl, cl_bad, chunked, te_other;
    int enc;
    bool cr_ok;
    uint64_t cr_a, cr_b, cr_total;
    char boundary[76];
    size_t boundary_n;
} hinfo;

static const char *const known_methods[] = {
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH",
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH",
    "REPORT", "MKCALENDAR", "CHECKOUT", "MERGE", "MKACTIVITY", "ACL", "PURGE", NULL,
};

/* ---------------------------------------------------------------- small helpers */

static char lc(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

static bool ieqn(const char *p, size_t n, const char *lit) {
    size_t m = strlen(lit);
    if (n != m) return false;
    for (size_t i = 0; i < n; i++)
        if (lc(p[i]) != lc(lit[i])) return false;
    return true;
}

static bool iprefix(const char *p, size_t n, const char *lit) {
    size_t m = strlen(lit);
    if (n < m) return false;
    for (size_t i = 0; i < m; i++)
        if (lc(p[i]) != lc(lit[i])) return false;
    return true;
}

static bool is_sp(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **p, size_t *n) {
    while (*n && (is_sp(**p) || **p == '\r' || **p == '\n')) (*p)++, (*n)--;
    while (*n && (is_sp((*p)[*n - 1]) || (*p)[*n - 1] == '\r' || (*p)[*n - 1] == '\n')) (*n)--;
}

/* Copy at most cap bytes; true when it all fit. */
static bool setf(char *dst, size_t *dn, size_t cap, const char *p, size_t n) {
    bool fit = n <= cap;
    if (!fit) n = cap;
    memcpy(dst, p, n);
    *dn = n;
    return fit;
}

static bool parse_dec(const char *p, size_t n, uint64_t *out) {
    trim(&p, &n);
    if (!n || n > 19) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return true;
}

static int hexv(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t pct_decode(const char *p, size_t n, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        if (p[i] == '%' && i + 2 < n && hexv((unsigned char)p[i + 1]) >= 0 && hexv((unsigned char)p[i + 2]) >= 0) {
            out[o++] = (char)(hexv((unsigned char)p[i + 1]) << 4 | hexv((unsigned char)p[i + 2]));
            i += 2;
        } else
            out[o++] = p[i];
    }
    return o;
}

/* The last component of a path: uploads from some browsers carry C:\dir\name. */
static void base_name(const char **p, size_t *n) {
    for (size_t i = *n; i > 0; i--)
        if ((*p)[i - 1] == '/' || (*p)[i - 1] == '\\') {
            *p += i, *n -= i;
            return;
        }
}

/* A parameter of a header value ("attachment; filename=\"a.exe\"", "text/html;
 * charset=x").  Quoted strings lose their quotes; a backslash escapes only a quote
 * or a backslash (browsers send Windows paths unescaped).  True when found; its
 * value (cut at cap) goes to out, its length to outn. */
static bool param_get(const char *v, size_t n, const char *name, char *out, size_t cap, size_t *outn) {
    size_t i = 0, nl = strlen(name);
    while (i < n && v[i] != ';') {   /* skip the value itself */
        if (v[i] == '"') {
            for (i++; i < n && v[i] != '"'; i++)
                if (v[i] == '\\' && i + 1 < n) i++;
        }
        i++;
    }
    while (i < n) {
        i++;   /* ';' */
        while (i < n && (is_sp(v[i]) || v[i] == ';')) i++;
        size_t ks = i;
        while (i < n && v[i] != '=' && v[i] != ';') i++;
        size_t ke = i;
        while (ke > ks && is_sp(v[ke - 1])) ke--;
        if (i >= n || v[i] == ';') continue;
        i++;   /* '=' */
        while (i < n && is_sp(v[i])) i++;
        size_t o = 0;
        bool match = ke - ks == nl && iprefix(v + ks, ke - ks, name);
        if (i < n && v[i] == '"') {
            for (i++; i < n && v[i] != '"'; i++) {
                char c = v[i];
                if (c == '\\' && i + 1 < n && (v[i + 1] == '"' || v[i + 1] == '\\')) c = v[++i];
                if (match && o < cap) out[o++] = c;
            }
            if (i < n) i++;
            while (i < n && v[i] != ';') i++;
        } else {
            size_t vs = i;
            while (i < n && v[i] != ';') i++;
            size_t ve = i;
            while (ve > vs && is_sp(v[ve - 1])) ve--;
            if (match) {
                o = ve - vs < cap ? ve - vs : cap;
                memcpy(out, v + vs, o);
            }
        }
        if (match) {
            *outn = o;
            return true;
        }
    }
    return false;
}

/* The file name a Content-Disposition declares: filename* (RFC 5987) first. */
static size_t disp_filename(const char *v, size_t n, char *out, size_t cap) {
    char tmp[NAME_MAX_ * 3];
    size_t tn = 0;
    if (param_get(v, n, "filename*", tmp, sizeof tmp, &tn)) {
        const char *q = memchr(tmp, '\'', tn);
        const char *r = q ? memchr(q + 1, '\'', tn - (size_t)(q + 1 - tmp)) : NULL;
        if (r) {
            const char *s = r + 1;
            size_t sn = tn - (size_t)(s - tmp);
            char dec[NAME_MAX_ * 3];
            size_t dn = pct_decode(s, sn, dec, sizeof dec);
            const char *b = dec;
            base_name(&b, &dn);
            if (dn) {
                size_t on;
                setf(out, &on, cap, b, dn);
                return on;
            }
        }
    }
    if (param_get(v, n, "filename", tmp, sizeof tmp, &tn)) {
        const char *b = tmp;
        base_name(&b, &tn);
        size_t on;
        setf(out, &on, cap, b, tn);
        return on;
    }
    return 0;
}

/* Content-Type without its parameters, lower case. */
static void mime_set(char *dst, size_t *dn, size_t cap, const char *v, size_t n) {
    const char *semi = memchr(v, ';', n);
    if (semi) n = (size_t)(semi - v);
    trim(&v, &n);
    if (n > cap) n = cap;
    for (size_t i = 0; i < n; i++) dst[i] = lc(v[i]);
    *dn = n;
}

/* Valid UTF-8 text without control characters (a sequence cut at the end of the
 * kept prefix is dropped rather than counted against the text). */
static bool text_body(const char *p, size_t *n) {
    size_t i = 0, len = *n;
    while (i < len) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) return false;
            i++;
            continue;
        }
        size_t k = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
        if (!k || (k == 3 && c >= 0xf0)) return false;
        if (i + k > len) {
            for (size_t j = i + 1; j < len; j++)
                if (((unsigned char)p[j] & 0xc0) != 0x80) return false;
            *n = i;
            return true;
        }
        for (size_t j = 1; j < k; j++)
            if (((unsigned char)p[i + j] & 0xc0) != 0x80) return false;
        i += k;
    }
    return true;
}

/* ---------------------------------------------------------------- the URL */

typedef struct urlp {
    char dom[256];
    size_t domn;
    int port;                      /* explicit port, -1 when none */
    const char *path, *query;
    size_t pathn, queryn;
    bool has_path;
    char full[URL_MAX + 320];
    size_t fulln;
} urlp;

/* host[:port] or [v6][:port] -> lower-case host and port. */
static void authority(const char *p, size_t n, urlp *u) {
    trim(&p, &n);
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '@') at = p + i;
    if (at) n -= (size_t)(at + 1 - p), p = at + 1;
    size_t hn = n;
    u->port = -1;
    if (n && p[0] == '[') {
        const char *rb = memchr(p, ']', n);
        hn = rb ? (size_t)(rb - p) + 1 : n;
    } else {
        const char *c = memchr(p, ':', n);
        if (c && !memchr(c + 1, ':', n - (size_t)(c + 1 - p))) hn = (size_t)(c - p);
    }
    if (hn < n && p[hn] == ':') {
        uint64_t v;
        if (parse_dec(p + hn + 1, n - hn - 1, &v) && v > 0 && v < 65536) u->port = (int)v;
    }
    if (hn > sizeof u->dom) hn = sizeof u->dom;
    for (size_t i = 0; i < hn; i++) u->dom[i] = lc(p[i]);
    u->domn = hn;
}

static void url_split(const mm_flow *f, const htx *tx, urlp *u) {
    memset(u, 0, offsetof(urlp, full));
    u->port = -1;
    u->fulln = 0;
    const char *t = tx->url;
    size_t tn = tx->url_n;
    bool connect = tx->method_n == 7 && memcmp(tx->method, "CONNECT", 7) == 0;
    if (connect) {
        authority(t, tn, u);
        return;
    }
    const char *rest = t;
    size_t rn = tn;
    bool absolute = false;
    if (iprefix(t, tn, "http://") || iprefix(t, tn, "https://")) {
        const char *a = memchr(t, ':', tn) + 3;
        size_t an = tn - (size_t)(a - t);
        size_t e = 0;
        while (e < an && a[e] != '/' && a[e] != '?' && a[e] != '#') e++;
        authority(a, e, u);
        rest = a + e, rn = an - e;
        absolute = true;
    } else if (tx->host_n)
        authority(tx->host, tx->host_n, u);
    if (rn && (rest[0] == '/' || absolute)) {
        const char *h = memchr(rest, '#', rn);
        if (h) rn = (size_t)(h - rest);
        const char *q = memchr(rest, '?', rn);
        u->path = rest;
        u->pathn = q ? (size_t)(q - rest) : rn;
        if (!u->pathn) u->path = "/", u->pathn = 1;
        if (q) u->query = q + 1, u->queryn = rn - (size_t)(q + 1 - rest);
        u->has_path = true;
    }
    if (!u->has_path) return;
    /* http://host[:port]/path?q: the server's address when no Host was sent */
    char hostbuf[300];
    size_t hl;
    if (u->domn) {
        memcpy(hostbuf, u->dom, u->domn);
        hl = u->domn;
        if (u->port >= 0) hl += (size_t)snprintf(hostbuf + hl, sizeof hostbuf - hl, ":%d", u->port);
    } else {
        char ip[48];
        mm_ip_fmt(&f->srv, ip);
        int w = f->srv.af == 6 ? snprintf(hostbuf, sizeof hostbuf, "[%s]", ip) : snprintf(hostbuf, sizeof hostbuf, "%s", ip);
        hl = (size_t)w;
        if (f->sport != 80) hl += (size_t)snprintf(hostbuf + hl, sizeof hostbuf - hl, ":%u", f->sport);
    }
    bool https = absolute && iprefix(t, tn, "https://");
    size_t o = (size_t)snprintf(u->full, sizeof u->full, "%s://", https ? "https" : "http");
    memcpy(u->full + o, hostbuf, hl), o += hl;
    memcpy(u->full + o, u->path, u->pathn), o += u->pathn;
    if (u->query) {
        u->full[o++] = '?';
        memcpy(u->full + o, u->query, u->queryn), o += u->queryn;
    }
    u->fulln = o;
}

/* The name a file gets when nothing declares one: the URL's last path segment. */
static size_t url_name(const mm_flow *f, const htx *tx, char *out, size_t cap) {
    urlp u;
    url_split(f, tx, &u);
    if (!u.has_path) return 0;
    const char *p = u.path;
    size_t n = u.pathn;
    const char *s = p;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '/') s = p + i + 1;
    size_t sn = n - (size_t)(s - p);
    if (!sn) return 0;
    return pct_decode(s, sn, out, cap);
}

/* ---------------------------------------------------------------- files */

static bool is_method(const htx *tx, const char *m) {
    size_t n = strlen(m);
    return tx->method_n == n && memcmp(tx->method, m, n) == 0;
}

static void fields_request(mm_sev *e, const mm_flow *f, const htx *tx) {
    urlp u;
    url_split(f, tx, &u);
    if (u.fulln) mm_sev_str(e, "url.full", u.full, u.fulln);
    if (u.domn) mm_sev_str(e, "url.domain", u.dom, u.domn);
    if (tx->has_req) {
        mm_sev_str(e, "url.original", tx->url, tx->url_n);
        mm_sev_str(e, "http.request.method", tx->method, tx->method_n);
    }
    if (tx->ua_n) mm_sev_str(e, "user_agent.original", tx->ua, tx->ua_n);
}

static mm_sfile *file_open(mm_flow *f, htx *tx, int dir, const char *name, size_t name_n) {
    mm_sfile *h = mm_sfile_open(f, dir, dir == MM_C2S ? "file-upload" : "file-download", name, name_n);
    if (!h) return NULL;
    mm_sev *e = mm_sfile_fields(h);
    fields_request(e, f, tx);
    if (dir == MM_S2C) {
        if (tx->status) mm_sev_int(e, "http.response.status_code", tx->status);
        if (tx->resp_mime_n) mm_sev_str(e, "http.response.mime_type", tx->resp_mime, tx->resp_mime_n);
    }
    return h;
}

static void upload_close(htx *tx, mm_sfile *h) {
    if (tx->status) mm_sev_int(mm_sfile_fields(h), "http.response.status_code", tx->status);
    mm_sfile_close(h, NULL);
}

static void upload_done(htx *tx, mm_sfile *h) {
    if (!h) return;
    if (tx->nup < UP_MAX && !tx->status) tx->up[tx->nup++] = h;
    else upload_close(tx, h);
}

static void uploads_flush(htx *tx) {
    for (int i = 0; i < tx->nup; i++) upload_close(tx, tx->up[i]);
    tx->nup = 0;
}

/* ---------------------------------------------------------------- events */

static void tx_emit(mm_flow *f, htx *tx) {
    uploads_flush(tx);
    mm_sev *e = mm_sev_begin(f, "web", "access", "http-request");
    urlp u;
    url_split(f, tx, &u);
    if (tx->has_req) {
        mm_sev_str(e, "http.request.method", tx->method, tx->method_n);
        mm_sev_str(e, "url.original", tx->url, tx->url_n);
    }
    if (u.fulln) mm_sev_str(e, "url.full", u.full, u.fulln);
    if (u.fulln || u.domn) mm_sev_cstr(e, "url.scheme", iprefix(u.full, u.fulln, "https:") ? "https" : "http");
    if (u.domn) {
        mm_sev_str(e, "url.domain", u.dom, u.domn);
        mm_sev_str(e, "destination.domain", u.dom, u.domn);
    }
    if (u.port >= 0) mm_sev_int(e, "url.port", u.port);
    else if (u.domn || u.fulln) mm_sev_int(e, "url.port", f->sport);
    if (u.has_path) mm_sev_str(e, "url.path", u.path, u.pathn);
    if (u.query) mm_sev_str(e, "url.query", u.query, u.queryn);
    if (tx->ver[0]) mm_sev_cstr(e, "http.version", tx->ver);
    if (tx->status) mm_sev_int(e, "http.response.status_code", tx->status);
    if (tx->ua_n) mm_sev_str(e, "user_agent.original", tx->ua, tx->ua_n);
    if (tx->ref_n) mm_sev_str(e, "http.request.referrer", tx->ref, tx->ref_n);
    if (tx->req_mime_n) mm_sev_str(e, "http.request.mime_type", tx->req_mime, tx->req_mime_n);
    if (tx->resp_mime_n) mm_sev_str(e, "http.response.mime_type", tx->resp_mime, tx->resp_mime_n);
    if (tx->has_req) mm_sev_int(e, "http.request.body.bytes", (int64_t)tx->req_bytes);
    if (tx->resp_started) mm_sev_int(e, "http.response.body.bytes", (int64_t)tx->resp_bytes);
    size_t bn = tx->body_n;
    if (bn && text_body(tx->body, &bn) && bn) mm_sev_str(e, "http.request.body.content", tx->body, bn);
    mm_sev_cstr(e, "event.outcome", !tx->status ? "unknown" : tx->status < 400 ? "success" : "failure");
    mm_sev_end(e);
}

/* Emit the transactions at the head of the queue that are complete. */
static void q_flush(hstate *st, mm_flow *f, bool all) {
    int k = 0;
    while (k < st->qn && (all || (st->q[k]->req_done && st->q[k]->resp_done))) {
        tx_emit(f, st->q[k]);
        free(st->q[k]);
        k++;
    }
    if (k) {
        memmove(st->q, st->q + k, (size_t)(st->qn - k) * sizeof st->q[0]);
        st->qn -= k;
    }
}

/* ---------------------------------------------------------------- multipart */

static void mp_free(mpart *mp) {
    if (!mp) return;
    if (mp->file) mm_sfile_close(mp->file, NULL);
    free(mp->hb);
    free(mp);
}

static void mp_part_headers(mpart *mp) {
    mp->want = false;
    mp->fname_n = 0;
    if (!mp->hb) return;   /* a part without headers */
    const char *p = mp->hb, *end = mp->hb + mp->hlen;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        const char *colon = memchr(p, ':', n);
        if (colon && ieqn(p, (size_t)(colon - p), "content-disposition")) {
            const char *v = colon + 1;
            size_t vn = (size_t)(le - v);
            trim(&v, &vn);
            mp->fname_n = disp_filename(v, vn, mp->fname, sizeof mp->fname);
            char tmp[4];
            size_t tn = 0;
            /* filename="" is a file input left empty: no file */
            mp->want = mp->fname_n > 0 || (param_get(v, vn, "filename", tmp, sizeof tmp, &tn) && tn);
        }
        p = nl ? nl + 1 : end;
    }
}

static void mp_data(mm_flow *f, htx *tx, mpart *mp, const uint8_t *p, size_t n) {
    if (mp->st != MP_DATA || !mp->want || !n) return;
    if (!mp->file) {
        mp->file = file_open(f, tx, MM_C2S, mp->fname, mp->fname_n);
        if (!mp->file) {
            mp->want = false;
            return;
        }
    }
    mm_sfile_write(mp->file, p, n);
}

static void mp_delim(mm_flow *f, htx *tx, mpart *mp) {
    if (mp->st == MP_DATA && mp->file) {
        upload_done(tx, mp->file);
        mp->file = NULL;
    }
    mp->st = MP_LINE;
    mp->linelen = 0;
}

/* The part bodies are what lies between "\r\n--boundary" delimiters; the
 * delimiter starts with the only CR it holds, so a failed partial match restarts
 * cleanly at the current byte. */
static void mp_feed(mm_flow *f, htx *tx, mpart *mp, const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n && mp->st != MP_END) {
        if (mp->st == MP_PRE || mp->st == MP_DATA) {
            size_t run = i;
            for (; i < n; i++) {
                uint8_t c = p[i];
                if (mp->match) {
                    if (c == (uint8_t)mp->delim[mp->match]) {
                        if (++mp->match == mp->dlen) {
                            mp->match = 0;
                            i++;
                            mp_delim(f, tx, mp);
                            break;
                        }
                        continue;
                    }
                    /* the held prefix was data after all */
                    uint8_t held = mp->match;
                    mp->match = 0;
                    mp_data(f, tx, mp, (const uint8_t *)mp->delim, held);
                    run = i;
                }
                if (c == (uint8_t)mp->delim[0]) {
                    mp_data(f, tx, mp, p + run, i - run);
                    mp->match = 1;
                    run = i + 1;
                }
            }
            if (mp->st == MP_PRE || mp->st == MP_DATA) {
                if (!mp->match && run < i) mp_data(f, tx, mp, p + run, i - run);
            }
            continue;
        }
        uint8_t c = p[i++];
        if (mp->st == MP_LINE) {
            if (mp->linelen < 2) mp->l2[mp->linelen] = (char)c;
            mp->linelen++;
            if (mp->linelen == 2 && mp->l2[0] == '-' && mp->l2[1] == '-') {
                mp->st = MP_END;
            } else if (c == '\n') {
                mp->st = MP_HDR;
                mp->hlen = 0, mp->ll = 0;
            } else if (mp->linelen > 1024) {
                mm_sensor_app_error(f, "http", "multipart delimiter line too long");
                mp->st = MP_END;
            }
        } else if (mp->st == MP_HDR) {
            if (c == '\n') {
                if (mp->ll == 0) {
                    if (++mp->parts > MP_PARTS_MAX) {
                        mm_sensor_app_error(f, "http", "multipart parts over cap");
                        mp->st = MP_END;
                        break;
                    }
                    mp_part_headers(mp);
                    mp->st = MP_DATA;
                    mp->match = 0;
                    continue;
                }
                mp->ll = 0;
            } else if (c != '\r')
                mp->ll++;
            if (!mp->hb) mp->hb = malloc(MP_HDR_MAX);
            if (!mp->hb || mp->hlen >= MP_HDR_MAX) {
                mm_sensor_app_error(f, "http", "multipart part headers over cap");
                mp->st = MP_END;
                break;
            }
            mp->hb[mp->hlen++] = (char)c;
        }
    }
}

/* ---------------------------------------------------------------- bodies */

static void zdec_end(hdir *d) {
    if (d->zon) inflateEnd(&d->z);
    d->zon = false;
}

static void file_gap(hdir *d) {
    if (d->file) mm_sfile_gap(d->file, 0);
    if (d->mp && d->mp->file) mm_sfile_gap(d->mp->file, 0);
}

/* The body's file, opened at its first byte (empty bodies are no files).  Named
 * by Content-Disposition, else by the URL's last segment. */
static bool file_ensure(mm_flow *f, hdir *d) {
    htx *tx = d->tx;
    if (d->file) return true;
    if (!d->want_file || !tx) return false;
    char nm[NAME_MAX_];
    size_t nn;
    if (d->dir == MM_C2S && tx->req_fname_n) setf(nm, &nn, sizeof nm, tx->req_fname, tx->req_fname_n);
    else if (d->dir == MM_S2C && tx->resp_fname_n) setf(nm, &nn, sizeof nm, tx->resp_fname, tx->resp_fname_n);
    else nn = url_name(f, tx, nm, sizeof nm);
    d->file = file_open(f, tx, d->dir, nm, nn);
    if (!d->file) {
        d->want_file = false;
        return false;
    }
    if (d->file_rng && d->rng_start) mm_sfile_gap(d->file, 0);   /* its start is missing */
    return true;
}

/* Decoded body bytes: kept text, files, multipart parts. */
static void sink(hstate *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    hdir *d = &st->d[dir];
    htx *tx = d->tx;
    if (!n || !tx) return;
    d->decoded += n;
    if (dir == MM_C2S && (is_method(tx, "POST") || is_method(tx, "PUT")) && tx->body_n < BODY_KEEP) {
        size_t k = BODY_KEEP - tx->body_n < n ? BODY_KEEP - tx->body_n : n;
        memcpy(tx->body + tx->body_n, p, k);
        tx->body_n += k;
    }
    if (d->mp) {
        mp_feed(f, tx, d->mp, p, n);
        return;
    }
    if (file_ensure(f, d)) mm_sfile_write(d->file, p, n);
}

static void inflate_in(hstate *st, mm_flow *f, int dir, const uint8_t *p, size_t n);

/* Entity bytes (de-chunked, still encoded). */
static void entity(hstate *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    hdir *d = &st->d[dir];
    if (!n) return;
    if (d->tx) {
        if (dir == MM_C2S) d->tx->req_bytes += n;
        else d->tx->resp_bytes += n;
    }
    if (d->enc == E_NONE) {
        sink(st, f, dir, p, n);
        return;
    }
    if (d->zdead || d->zend) return;
    if (!d->zon) {
        /* "deflate" is zlib-wrapped by the RFC, raw deflate by many servers: the
         * first two bytes tell */
        int wbits = 15 + 32;
        if (d->enc == E_DEFLATE) {
            while (d->npeek < 2 && n) d->peek[d->npeek++] = *p++, n--;
            if (d->npeek < 2) return;
            bool zlib = (d->peek[0] & 0x0f) == 8 && ((d->peek[0] << 8) | d->peek[1]) % 31 == 0;
            wbits = zlib ? 15 : -15;
        }
        memset(&d->z, 0, sizeof d->z);
        if (inflateInit2(&d->z, wbits) != Z_OK) {
            mm_sensor_app_error(f, "http", "inflate init failed");
            d->zdead = true;
            file_gap(d);
            return;
        }
        d->zon = true;
        if (d->npeek) {
            int np = d->npeek;
            d->npeek = 0;
            inflate_in(st, f, dir, d->peek, (size_t)np);
            if (d->zdead || d->zend) return;
        }
    }
    inflate_in(st, f, dir, p, n);
}

static void inflate_in(hstate *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    hdir *d = &st->d[dir];
    if (!n) return;
    d->z.next_in = (Bytef *)p;
    d->z.avail_in = (uInt)n;
    while (d->z.avail_in) {
        uint8_t out[16384];
        d->z.next_out = out;
        d->z.avail_out = sizeof out;
        uInt before = d->z.avail_in;
        int r = inflate(&d->z, Z_NO_FLUSH);
        d->zin += before - d->z.avail_in;
        size_t got = sizeof out - d->z.avail_out;
        if (got) {
            uint64_t after = d->decoded + got;
            bool over = after > DECODE_MAX || (after > DECODE_RATIO_FLOOR && after > (uint64_t)DECODE_RATIO * (d->zin + 1));
            if (over) {
                mm_sensor_app_error(f, "http", "decompressed body over cap");
                if (after > DECODE_MAX) sink(st, f, dir, out, (size_t)(DECODE_MAX - d->decoded));
                d->zdead = true;
                file_gap(d);
                zdec_end(d);
                return;
            }
            sink(st, f, dir, out, got);
        }
        if (r == Z_STREAM_END) {
            /* gzip may hold several members one after the other */
            if (d->z.avail_in && d->enc == E_GZIP && inflateReset(&d->z) == Z_OK) continue;
            d->zend = true;
            zdec_end(d);
            return;
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            mm_sensor_app_error(f, "http", "bad compressed body");
            d->zdead = true;
            file_gap(d);
            zdec_end(d);
            return;
        }
        if (!got && before == d->z.avail_in) break;
    }
}

/* The body ended (complete or not): files close, the transaction may be emitted. */
static void body_end(hstate *st, mm_flow *f, int dir, bool complete) {
    hdir *d = &st->d[dir];
    htx *tx = d->tx;
    if (complete && d->enc != E_NONE && !d->zend && !d->zdead && (d->zon || d->npeek)) {
        mm_sensor_app_error(f, "http", "compressed body ends early");
        complete = false;
    }
    zdec_end(d);
    if (!complete) file_gap(d);
    if (d->mp) {
        if (d->mp->file && tx) {
            upload_done(tx, d->mp->file);
            d->mp->file = NULL;
        }
        mp_free(d->mp);
        d->mp = NULL;
    }
    if (d->file) {
        if (dir == MM_C2S && tx) {
            upload_done(tx, d->file);
        } else if (d->file_rng) {
            uint64_t next = d->rng_start + d->decoded;
            if (complete && next < d->rng_total && !st->tunnel) {
                st->rng = d->file;
                st->rng_key = d->rng_key, st->rng_next = next, st->rng_total = d->rng_total;
            } else {
                if (next < d->rng_total) mm_sfile_gap(d->file, 0);
                mm_sfile_close(d->file, NULL);
            }
        } else
            mm_sfile_close(d->file, NULL);
        d->file = NULL;
    }
    if (tx) {
        if (dir == MM_C2S) tx->req_done = true;
        else tx->resp_done = true;
    }
    d->tx = NULL;
    d->want_file = d->file_rng = false;
    d->enc = E_NONE;
    d->zdead = d->zend = false;
    d->npeek = 0;
    d->zin = d->decoded = 0;
    if (d->st == S_BODY) d->st = S_START;
    q_flush(st, f, false);
}

static void dead(hstate *st, mm_flow *f, int dir, const char *why) {
    hdir *d = &st->d[dir];
    if (why) mm_sensor_app_error(f, "http", why);
    if (d->st == S_BODY) body_end(st, f, dir, false);
    d->st = S_DEAD;
}

static size_t chunk_in(hstate *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    hdir *d = &st->d[dir];
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        switch (d->cst) {
        case C_SIZE:
        case C_EXT:
            i++;
            if (++d->clen > CHUNK_LINE_MAX) {
                dead(st, f, dir, "chunk-size line too long");
                return n;
            }
            if (c == '\n') {
                if (!d->cdigits) {
                    dead(st, f, dir, "bad chunk size");
                    return n;
                }
                d->clen = 0;
                if (d->csize == 0) {
                    d->cst = C_TRAILER;
                    d->tline = d->ttotal = 0;
                } else {
                    d->cst = C_DATA;
                    d->remain = d->csize;
                }
            } else if (d->cst == C_SIZE && hexv(c) >= 0) {
                if (d->csize >> 59) {   /* 16 significant hex digits at most */
                    dead(st, f, dir, "chunk size overflow");
                    return n;
                }
                d->csize = d->csize << 4 | (uint64_t)hexv(c);
                d->cdigits++;
            } else if (c == '\r' || c == ';' || is_sp((char)c)) {
                d->cst = C_EXT;
            } else if (d->cst == C_SIZE) {
                dead(st, f, dir, "bad chunk size");
                return n;
            }
            break;
        case C_DATA: {
            size_t take = n - i < d->remain ? n - i : (size_t)d->remain;
            entity(st, f, dir, p + i, take);
            i += take;
            d->remain -= take;
            if (!d->remain) d->cst = C_DATA_END;
            break;
        }
        case C_DATA_END:
            i++;
            if (c == '\r') break;
            if (c != '\n') {
                dead(st, f, dir, "chunk not followed by CRLF");
                return n;
            }
            d->cst = C_SIZE;
            d->csize = 0, d->cdigits = 0, d->clen = 0;
            break;
        case C_TRAILER:
            i++;
            if (++d->ttotal > HDR_MAX) {
                dead(st, f, dir, "chunked trailers over cap");
                return n;
            }
            if (c == '\n') {
                if (!d->tline) {
                    body_end(st, f, dir, true);
                    return i;
                }
                d->tline = 0;
            } else if (c != '\r')
                d->tline++;
            break;
        }
    }
    return i;
}

static size_t body_in(hstate *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    hdir *d = &st->d[dir];
    switch (d->bmode) {
    case B_CL: {
        size_t take = n < d->remain ? n : (size_t)d->remain;
        entity(st, f, dir, p, take);
        d->remain -= take;
        if (!d->remain) body_end(st, f, dir, true);
        return take;
    }
    case B_CHUNK:
        return chunk_in(st, f, dir, p, n);
    default:
        entity(st, f, dir, p, n);
        return n;
    }
}

static void body_start(hstate *st, mm_flow *f, int dir, int mode, uint64_t len, int enc) {
    hdir *d = &st->d[dir];
    d->st = S_BODY;
    d->bmode = mode;
    d->remain = len;
    d->cst = C_SIZE;
    d->csize = 0, d->cdigits = 0, d->clen = 0;
    d->enc = enc;
    d->zon = d->zdead = d->zend = false;
    d->npeek = 0;
    d->zin = d->decoded = 0;
}

/* ---------------------------------------------------------------- headers */

static void unfold(uint8_t *b, size_t n) {
    for (size_t i = 0; i + 1 < n; i++)
        if (b[i] == '\n' && is_sp((char)b[i + 1])) {
            b[i] = ' ';
            if (i && b[i - 1] == '\r') b[i - 1] = ' ';
        }
}

static int coding_of(const char *v, size_t n) {
    trim(&v, &n);
    if (ieqn(v, n, "gzip") || ieqn(v, n, "x-gzip")) return E_GZIP;
    if (ieqn(v, n, "deflate")) return E_DEFLATE;
    return E_NONE;   /* identity, or stacked/unknown codings: carried as they are */
}

static bool te_chunked(const char *v, size_t n) {
    const char *comma = NULL;
    for (size_t i = 0; i < n; i++)
        if (v[i] == ',') comma = v + i;
    if (comma) n -= (size_t)(comma + 1 - v), v = comma + 1;
    trim(&v, &n);
    return ieqn(v, n, "chunked");
}

static bool parse_crange(const char *v, size_t n, hinfo *hi) {
    trim(&v, &n);
    if (!iprefix(v, n, "bytes ")) return false;
    v += 6, n -= 6;
    const char *dash = memchr(v, '-', n), *slash = memchr(v, '/', n);
    if (!dash || !slash || slash < dash) return false;
    if (!parse_dec(v, (size_t)(dash - v), &hi->cr_a)) return false;
    if (!parse_dec(dash + 1, (size_t)(slash - dash - 1), &hi->cr_b)) return false;
    if (!parse_dec(slash + 1, n - (size_t)(slash + 1 - v), &hi->cr_total)) return false;
    return hi->cr_a <= hi->cr_b && hi->cr_b < hi->cr_total;
}

/* One header of a request (dir c2s) or response into tx and hi. */
static void header(mm_flow *f, int dir, htx *tx, hinfo *hi, const char *name, size_t nn, const char *v, size_t vn) {
    if (ieqn(name, nn, "content-length")) {
        uint64_t cl;
        if (!parse_dec(v, vn, &cl)) hi->cl_bad = true;
        else if (hi->has_cl && cl != hi->cl) hi->cl_bad = true;
        else hi->cl = cl, hi->has_cl = true;
    } else if (ieqn(name, nn, "transfer-encoding")) {
        if (te_chunked(v, vn)) hi->chunked = true;
        else hi->te_other = true;
    } else if (ieqn(name, nn, "content-encoding")) {
        hi->enc = coding_of(v, vn);
    } else if (ieqn(name, nn, "content-type")) {
        if (dir == MM_C2S) {
            mime_set(tx->req_mime, &tx->req_mime_n, sizeof tx->req_mime, v, vn);
            if (ieqn(tx->req_mime, tx->req_mime_n, "multipart/form-data") &&
                (!param_get(v, vn, "boundary", hi->boundary, sizeof hi->boundary, &hi->boundary_n) || !hi->boundary_n ||
                 memchr(hi->boundary, '\r', hi->boundary_n) || memchr(hi->boundary, '\n', hi->boundary_n))) {
                hi->boundary_n = 0;   /* carried as one plain upload */
                mm_sensor_app_error(f, "http", "multipart without a usable boundary");
            }
        } else
            mime_set(tx->resp_mime, &tx->resp_mime_n, sizeof tx->resp_mime, v, vn);
    } else if (ieqn(name, nn, "content-disposition")) {
        if (dir == MM_C2S) tx->req_fname_n = disp_filename(v, vn, tx->req_fname, sizeof tx->req_fname);
        else tx->resp_fname_n = disp_filename(v, vn, tx->resp_fname, sizeof tx->resp_fname);
    } else if (ieqn(name, nn, "content-range")) {
        if (dir == MM_S2C) hi->cr_ok = parse_crange(v, vn, hi);
    } else if (dir == MM_C2S && ieqn(name, nn, "host")) {
        if (tx->host_n) mm_sensor_app_error(f, "http", "duplicate Host");
        else if (!setf(tx->host, &tx->host_n, sizeof tx->host, v, vn)) mm_sensor_app_error(f, "http", "Host over cap");
    } else if (dir == MM_C2S && ieqn(name, nn, "user-agent")) {
        if (!tx->ua_n && !setf(tx->ua, &tx->ua_n, sizeof tx->ua, v, vn)) mm_sensor_app_error(f, "http", "User-Agent over cap");
    } else if (dir == MM_C2S && (ieqn(name, nn, "referer") || ieqn(name, nn, "referrer"))) {
        if (!tx->ref_n && !setf(tx->ref, &tx->ref_n, sizeof tx->ref, v, vn)) mm_sensor_app_error(f, "http", "Referer over cap");
    }
}

/* Walk the header lines after the start line.  Returns false when the block had
 * more lines than allowed (what came before is kept). */
static bool headers(mm_flow *f, int dir, htx *tx, hinfo *hi, const char *p, const char *end) {
    int lines = 0;
    bool bad = false;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n && p[n - 1] == '\r') n--;
        if (!n) break;
        if (++lines > HDR_LINES_MAX) {
            mm_sensor_app_error(f, "http", "too many headers");
            return false;
        }
        const char *colon = memchr(p, ':', n);
        if (!colon || colon == p) {
            if (!bad) mm_sensor_app_error(f, "http", "header line without a name");
            bad = true;
        } else {
            const char *nm = p, *v = colon + 1;
            size_t nn = (size_t)(colon - p), vn = n - nn - 1;
            trim(&nm, &nn);
            trim(&v, &vn);
            header(f, dir, tx, hi, nm, nn, v, vn);
        }
        p = nl ? nl + 1 : end;
    }
    return true;
}

static htx *tx_new(hstate *st) {
    if (st->qn >= TX_MAX) return NULL;
    htx *tx = calloc(1, sizeof *tx);
    if (!tx) return NULL;
    st->q[st->qn++] = tx;
    return tx;
}

static bool token_char(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

static bool parse_version(const char *p, size_t n, char out[8]) {
    if (n < 8 || !iprefix(p, n, "HTTP/") || p[5] < '0' || p[5] > '9' || p[6] != '.' || p[7] < '0' || p[7] > '9')
        return false;
    out[0] = p[5], out[1] = '.', out[2] = p[7], out[3] = 0;
    return n == 8;
}

/* A request's start line and headers.  over: the block hit a cap (the transaction
 * ends with what was read). */
static void request_head(hstate *st, mm_flow *f, char *b, size_t n, bool over) {
    hdir *d = &st->d[MM_C2S];
    unfold((uint8_t *)b, n);
    const char *end = b + n;
    const char *nl = memchr(b, '\n', n);
    size_t ln = nl ? (size_t)(nl - b) : n;
    if (ln && b[ln - 1] == '\r') ln--;
    const char *sp = memchr(b, ' ', ln);
    if (!sp || sp == b || sp - b >= 24) {
        dead(st, f, MM_C2S, "bad request line");
        return;
    }
    for (const char *c = b; c < sp; c++)
        if (!token_char((unsigned char)*c)) {
            dead(st, f, MM_C2S, "bad request method");
            return;
        }
    const char *t = sp, *le = b + ln;
    while (t < le && *t == ' ') t++;
    const char *te = le;
    while (te > t && te[-1] == ' ') te--;
    const char *lsp = NULL;
    for (const char *c = t; c < te; c++)
        if (*c == ' ') lsp = c;
    char ver[8] = "0.9";
    const char *tend = te;
    if (lsp && iprefix(lsp + 1, (size_t)(te - lsp - 1), "HTTP/")) {
        if (!parse_version(lsp + 1, (size_t)(te - lsp - 1), ver)) {
            dead(st, f, MM_C2S, "bad HTTP version");
            return;
        }
        tend = lsp;
        while (tend > t && tend[-1] == ' ') tend--;
    }
    if (tend == t || (ver[0] == '0' && (*t != '/' || (size_t)(sp - b) != 3 || memcmp(b, "GET", 3) != 0))) {
        dead(st, f, MM_C2S, "bad request target");
        return;
    }
    htx *tx = tx_new(st);
    if (!tx) {
        dead(st, f, MM_C2S, "pipelined requests over cap");
        return;
    }
    tx->has_req = true;
    setf(tx->method, &tx->method_n, sizeof tx->method, b, (size_t)(sp - b));
    if (!setf(tx->url, &tx->url_n, sizeof tx->url, t, (size_t)(tend - t))) mm_sensor_app_error(f, "http", "URL over cap");
    memcpy(tx->ver, ver, sizeof ver);
    hinfo hi;
    memset(&hi, 0, sizeof hi);
    bool ok = headers(f, MM_C2S, tx, &hi, nl ? nl + 1 : end, end);

    if (tx->ua_n && mm_sensor_novel(f, "ua", tx->ua, tx->ua_n, 3)) f->risks |= MM_RISK_NEW_UA_FOR_HOST;
    urlp u;
    url_split(f, tx, &u);
    if (u.domn && mm_host_is_ip(u.dom, u.domn)) f->risks |= MM_RISK_NUMERIC_HOST;

    if (over || !ok) {
        tx->req_done = true;
        d->st = S_DEAD;
        return;
    }
    if (hi.cl_bad) mm_sensor_app_error(f, "http", "bad Content-Length");
    if (hi.chunked && hi.has_cl) mm_sensor_app_error(f, "http", "both Content-Length and chunked");
    int mode;
    uint64_t len = 0;
    if (hi.chunked) mode = B_CHUNK;
    else if (hi.te_other) {
        /* a request body without a length cannot be delimited */
        tx->req_done = true;
        dead(st, f, MM_C2S, "request Transfer-Encoding without chunked");
        return;
    } else if (hi.has_cl && !hi.cl_bad && hi.cl > 0) mode = B_CL, len = hi.cl;
    else {
        tx->req_done = true;
        d->st = S_START;
        q_flush(st, f, false);
        return;
    }
    body_start(st, f, MM_C2S, mode, len, hi.enc);
    d->tx = tx;
    if (is_method(tx, "POST") || is_method(tx, "PUT")) {
        if (hi.boundary_n) {
            mpart *mp = calloc(1, sizeof *mp);
            if (mp) {
                memcpy(mp->delim, "\r\n--", 4);
                memcpy(mp->delim + 4, hi.boundary, hi.boundary_n);
                mp->dlen = (uint8_t)(4 + hi.boundary_n);
                mp->st = MP_PRE;
                mp->match = 2;   /* the first delimiter may open the body, without CRLF */
                d->mp = mp;
            }
        } else
            d->want_file = true;
    }
}

static htx *next_unanswered(hstate *st) {
    for (int i = 0; i < st->qn; i++)
        if (!st->q[i]->resp_started) return st->q[i];
    return NULL;
}

static void response_head(hstate *st, mm_flow *f, char *b, size_t n, bool over) {
    hdir *d = &st->d[MM_S2C];
    unfold((uint8_t *)b, n);
    const char *end = b + n;
    const char *nl = memchr(b, '\n', n);
    size_t ln = nl ? (size_t)(nl - b) : n;
    if (ln && b[ln - 1] == '\r') ln--;
    char ver[8];
    if (ln < 12 || !parse_version(b, 8, ver) || b[8] != ' ') {
        dead(st, f, MM_S2C, "bad status line");
        return;
    }
    const char *c = b + 9;
    while (c < b + ln && *c == ' ') c++;
    if (b + ln - c < 3 || c[0] < '1' || c[0] > '9' || c[1] < '0' || c[1] > '9' || c[2] < '0' || c[2] > '9' ||
        (b + ln - c > 3 && c[3] != ' ')) {
        dead(st, f, MM_S2C, "bad status code");
        return;
    }
    int status = (c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0');
    if (status >= 100 && status < 200 && status != 101) {   /* interim: the final one follows */
        d->st = S_START;
        return;
    }
    htx *tx = next_unanswered(st);
    if (!tx) {
        tx = tx_new(st);
        if (!tx) {
            dead(st, f, MM_S2C, "responses over cap");
            return;
        }
        tx->req_done = true;   /* the request was not seen (capture started late) */
        memcpy(tx->ver, ver, sizeof ver);
    }
    tx->resp_started = true;
    tx->status = status;
    hinfo hi;
    memset(&hi, 0, sizeof hi);
    bool ok = headers(f, MM_S2C, tx, &hi, nl ? nl + 1 : end, end);
    uploads_flush(tx);   /* the status is known now */
    bool connect = is_method(tx, "CONNECT");
    if (status == 101 || (connect && status >= 200 && status < 300)) {
        tx->resp_done = true;
        st->tunnel = true;
        q_flush(st, f, false);
        return;
    }
    if (over || !ok) {
        tx->resp_done = true;
        d->st = S_DEAD;
        q_flush(st, f, false);
        return;
    }
    if (hi.cl_bad) mm_sensor_app_error(f, "http", "bad Content-Length");
    int mode;
    uint64_t len = 0;
    if (is_method(tx, "HEAD") || status == 204 || status == 304) mode = -1;
    else if (hi.chunked) mode = B_CHUNK;
    else if (hi.has_cl && !hi.cl_bad && !hi.te_other) mode = hi.cl ? B_CL : -1, len = hi.cl;
    else mode = B_CLOSE;
    if (mode < 0) {
        tx->resp_done = true;
        d->st = S_START;
        q_flush(st, f, false);
        return;
    }
    body_start(st, f, MM_S2C, mode, len, hi.enc);
    d->tx = tx;
    d->want_file = true;
    if (status == 206 && hi.cr_ok) {
        urlp u;
        url_split(f, tx, &u);
        uint64_t key = mm_hash(u.full, u.fulln, 0x52414e4745ull);
        d->file_rng = true;
        d->rng_start = hi.cr_a, d->rng_total = hi.cr_total, d->rng_key = key;
        if (st->rng && st->rng_key == key && st->rng_next == hi.cr_a && st->rng_total == hi.cr_total) {
            d->file = st->rng;   /* the next piece of the same download */
            st->rng = NULL;
        } else {
            if (st->rng) {
                mm_sfile_gap(st->rng, 0);
                mm_sfile_close(st->rng, NULL);
                st->rng = NULL;
            }
        }
    }
}

/* Header block bytes: buffered until the empty line ends it. */
static size_t head_in(hstate *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    hdir *d = &st->d[dir];
    if (d->st == S_START) {
        size_t i = 0;
        while (i < n && (p[i] == '\r' || p[i] == '\n')) i++;
        if (i) return i;
        if (dir == MM_S2C) {
            /* HTTP/0.9: the response is the body, until the end */
            htx *w = next_unanswered(st);
            if (w && strcmp(w->ver, "0.9") == 0 && p[0] != 'H') {
                w->resp_started = true;
                body_start(st, f, MM_S2C, B_CLOSE, 0, E_NONE);
                d->tx = w;
                d->want_file = true;
                return 0;
            }
        }
        d->st = S_HEAD;
        d->hlen = d->scan = 0;
    }
    size_t room = HDR_MAX - d->hlen;
    size_t take = n < room ? n : room;
    if (d->hlen + take > d->hcap) {
        size_t nc = d->hcap ? d->hcap : 1024;
        while (nc < d->hlen + take) nc *= 2;
        if (nc > HDR_MAX) nc = HDR_MAX;
        uint8_t *nb = realloc(d->hb, nc);
        if (!nb) {
            dead(st, f, dir, "out of memory");
            return n;
        }
        d->hb = nb, d->hcap = nc;
    }
    size_t old = d->hlen;
    memcpy(d->hb + d->hlen, p, take);
    d->hlen += take;
    /* reject what is not HTTP early, not after 64 KiB */
    if (old < 40) {
        size_t k = d->hlen < 40 ? d->hlen : 40;
        if (dir == MM_C2S) {
            size_t i = 0;
            while (i < k && token_char(d->hb[i])) i++;
            if ((i < k && d->hb[i] != ' ') || (i == k && k >= 24)) {
                dead(st, f, dir, "not an HTTP request");
                return n;
            }
        } else {
            for (size_t i = 0; i < k && i < 5; i++)
                if (lc((char)d->hb[i]) != "http/"[i]) {
                    dead(st, f, dir, "not an HTTP response");
                    return n;
                }
        }
    }
    size_t endpos = 0;
    size_t i = d->scan;
    for (; i < d->hlen; i++) {
        if (d->hb[i] != '\n') continue;
        if (i + 1 >= d->hlen) break;
        if (d->hb[i + 1] == '\n') { endpos = i + 2; break; }
        if (d->hb[i + 1] == '\r') {
            if (i + 2 >= d->hlen) break;
            if (d->hb[i + 2] == '\n') { endpos = i + 3; break; }
        }
    }
    d->scan = i;
    if (!endpos) {
        if (d->hlen >= HDR_MAX) {
            mm_sensor_app_error(f, "http", "headers over cap");
            /* keep the complete lines, end the transaction there */
            size_t keep = d->hlen;
            while (keep && d->hb[keep - 1] != '\n') keep--;
            if (dir == MM_C2S) request_head(st, f, (char *)d->hb, keep, true);
            else response_head(st, f, (char *)d->hb, keep, true);
            d->st = S_DEAD;
        }
        return take;
    }
    size_t used = endpos - old;
    d->hlen = 0;
    d->st = S_START;
    /* the block without its terminating empty line */
    size_t bl = endpos;
    while (bl && (d->hb[bl - 1] == '\n' || d->hb[bl - 1] == '\r')) bl--;
    if (dir == MM_C2S) request_head(st, f, (char *)d->hb, bl, false);
    else response_head(st, f, (char *)d->hb, bl, false);
    if (d->hcap > 4096) {   /* a large block is rare: do not keep its buffer */
        free(d->hb);
        d->hb = NULL, d->hcap = 0;
    }
    return used;
}

/* ---------------------------------------------------------------- analyzer */

static int probe_req(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n && i < 20 && p[i] >= 'A' && p[i] <= 'Z') i++;
    if (i == n) return n < 20 ? MM_PROBE_MAYBE : MM_PROBE_NO;
    if (p[i] != ' ' || !i) return MM_PROBE_NO;
    bool known = false;
    for (int k = 0; known_methods[k]; k++)
        if (strlen(known_methods[k]) == i && memcmp(known_methods[k], p, i) == 0) known = true;
    if (!known) return MM_PROBE_NO;
    bool connect = i == 7 && memcmp(p, "CONNECT", 7) == 0;
    size_t t = i + 1;
    if (t >= n) return MM_PROBE_MAYBE;
    uint8_t c = p[t];
    bool okstart = c == '/' || c == '*' || c == 'h' || c == 'H' || (connect && (token_char(c) || c == '['));
    if (!okstart) return MM_PROBE_NO;
    size_t e = t;
    while (e < n && p[e] != '\n') {
        if (p[e] < 0x20 && p[e] != '\r' && p[e] != '\t') return MM_PROBE_NO;
        e++;
    }
    if (e == n) {   /* line not complete yet */
        for (size_t k = t; k + 8 <= n; k++)
            if (p[k] == ' ' && memcmp(p + k + 1, "HTTP/1.", 7) == 0) return MM_PROBE_YES;
        return n - t >= 8 && (c == '/' || connect) ? MM_PROBE_YES : MM_PROBE_MAYBE;
    }
    size_t le = e;
    if (le > t && p[le - 1] == '\r') le--;
    if (le - t >= 9 && memcmp(p + le - 9, " HTTP/1.", 8) == 0 && p[le - 1] >= '0' && p[le - 1] <= '9') return MM_PROBE_YES;
    /* HTTP/0.9: "GET /path" alone */
    return i == 3 && memcmp(p, "GET", 3) == 0 && c == '/' && !memchr(p + t, ' ', le - t) ? MM_PROBE_YES : MM_PROBE_NO;
}

static int probe_resp(const uint8_t *p, size_t n) {
    static const char pat[] = "HTTP/1.";
    size_t k = n < 7 ? n : 7;
    if (memcmp(p, pat, k) != 0) return MM_PROBE_NO;
    if (n < 12) return MM_PROBE_MAYBE;
    if (p[7] < '0' || p[7] > '9' || p[8] != ' ') return MM_PROBE_NO;
    for (int j = 9; j < 12; j++)
        if (p[j] < '0' || p[j] > '9') return MM_PROBE_NO;
    return MM_PROBE_YES;
}

static int probe(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) {
    int a = nc ? probe_req(c2s, nc) : MM_PROBE_NO;
    int b = ns ? probe_resp(s2c, ns) : MM_PROBE_NO;
    if (a == MM_PROBE_YES || b == MM_PROBE_YES) return MM_PROBE_YES;
    if (a == MM_PROBE_MAYBE || b == MM_PROBE_MAYBE) return MM_PROBE_MAYBE;
    return MM_PROBE_NO;
}

static void *open_(mm_flow *f) {
    hstate *st = calloc(1, sizeof *st);
    if (!st) {
        mm_sensor_app_error(f, "http", "out of memory");
        return NULL;
    }
    st->d[MM_C2S].dir = MM_C2S;
    st->d[MM_S2C].dir = MM_S2C;
    return st;
}

static void data(void *vst, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    hstate *st = vst;
    hdir *d = &st->d[dir];
    while (n && !st->tunnel && d->st != S_DEAD) {
        int before = d->st;
        size_t used = d->st == S_BODY ? body_in(st, f, dir, p, n) : head_in(st, f, dir, p, n);
        if (used > n) used = n;
        if (!used && d->st == before) break;   /* no progress: cannot happen */
        p += used, n -= used;
    }
}

static void gap(void *vst, mm_flow *f, int dir, size_t n) {
    hstate *st = vst;
    hdir *d = &st->d[dir];
    if (st->tunnel || d->st == S_DEAD) return;
    bool in_data = d->st == S_BODY &&
                   ((d->bmode == B_CL && n <= d->remain) || (d->bmode == B_CHUNK && d->cst == C_DATA && n <= d->remain) ||
                    d->bmode == B_CLOSE);
    if (!in_data) {
        dead(st, f, dir, "gap outside a body");
        return;
    }
    /* the body goes on without the lost bytes: counted, files marked truncated */
    if (d->bmode != B_CLOSE) d->remain -= n;
    if (d->tx) {
        if (dir == MM_C2S) d->tx->req_bytes += n;
        else d->tx->resp_bytes += n;
    }
    if (d->enc != E_NONE && !d->zdead) {
        d->zdead = true;   /* the inflate state cannot skip */
        zdec_end(d);
    }
    if (d->mp) {
        if (d->mp->file) mm_sfile_gap(d->mp->file, 0);
        d->mp->st = MP_END;   /* part boundaries are lost */
    }
    if (!d->mp) file_ensure(f, d);
    file_gap(d);
    if (d->file_rng) d->decoded += n;
    if (d->bmode == B_CL && !d->remain) body_end(st, f, dir, false);
    else if (d->bmode == B_CHUNK && !d->remain) d->cst = C_DATA_END;
}

static void close_(void *vst, mm_flow *f) {
    hstate *st = vst;
    if (!st) return;
    for (int dir = 0; dir < 2; dir++) {
        hdir *d = &st->d[dir];
        if (d->st == S_BODY) body_end(st, f, dir, d->bmode == B_CLOSE);
        zdec_end(d);
        if (d->file) mm_sfile_close(d->file, NULL), d->file = NULL;
        mp_free(d->mp), d->mp = NULL;
        free(d->hb);
    }
    if (st->rng) {
        mm_sfile_gap(st->rng, 0);
        mm_sfile_close(st->rng, NULL);
    }
    q_flush(st, f, true);
    free(st);
}

static const uint16_t ports[] = {80, 8080, 8000, 8008, 8081, 3128, 0};
const mm_analyzer mm_app_http = {"http", 1, 0, ports, probe, open_, data, gap, close_};
