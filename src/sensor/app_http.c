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

/* Memory: a sensor holds up to a million flows, most of them idle or waiting, so
 * an idle flow keeps only its hstate; a header block being received, a body being
 * read, an inflate stream and a transaction's strings are allocated when they
 * begin, sized by what arrived, and freed when they end. */

#define HB_MIN 64                  /* first allocation of a partial header block */
#define TX_SLACK 32                /* room left for the response's Content-Type */

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

/* A transaction's strings, in one buffer as offset and length. */
enum { T_METHOD, T_URL, T_HOST, T_UA, T_REF, T_REQ_MIME, T_RESP_MIME, T_REQ_FNAME, T_RESP_FNAME, T_N };

typedef struct htx {
    struct htx *next;              /* the pipeline queue, oldest first */
    char *sb;                      /* the strings: inl, or the heap once they outgrew it */
    char *body;                    /* http.request.body.content, grown up to BODY_KEEP */
    mm_sfile **up;                 /* uploads done, closed when the status is known (UP_MAX) */
    uint64_t req_bytes, resp_bytes;
    uint16_t off[T_N], len[T_N];
    uint16_t sn, scap, body_n, body_cap;
    uint16_t status;
    char ver[4];
    uint8_t nup;
    bool has_req, req_done, resp_started, resp_done, post_put;
    char inl[];
} htx;

typedef struct hz {
    z_stream z;
    uint64_t zin;
    uint8_t peek[2];
    uint8_t npeek;
    bool on;                       /* inflateInit done */
} hz;

/* One message body being read (S_BODY). */
typedef struct hbody {
    uint64_t remain;               /* Content-Length body left, or current chunk left */
    uint64_t csize;
    uint64_t decoded;
    uint32_t clen;                 /* chunk-size line length so far */
    uint32_t tline, ttotal;        /* trailers: current line, all */
    uint8_t dir, bmode, cst, enc;
    uint16_t cdigits;              /* leading zeros count too: up to CHUNK_LINE_MAX */
    bool zdead, zend;
    bool want_file, file_rng;
    hz *z;                         /* only for a compressed body */
    htx *tx;
    mm_sfile *file;
    mpart *mp;
    uint64_t rng_start, rng_total, rng_key;
} hbody;

typedef struct hdir {
    uint8_t *hb;                   /* the header block, while it is incomplete */
    uint32_t hlen, hcap, scan;
    uint8_t st;
    hbody *b;                      /* while st == S_BODY */
} hdir;

/* A range download waiting for its next piece. */
typedef struct hrng {
    mm_sfile *file;
    uint64_t key, next, total;
} hrng;

typedef struct hstate {
    hdir d[2];
    htx *qh, *qt;                  /* requests waiting for their responses */
    uint8_t qn;
    bool tunnel;
    hrng *rng;
} hstate;

/* What a header block said about the message's body and file, and the strings it
 * gives the transaction. */
typedef struct hinfo {
    uint64_t cl;
    bool has_cl, cl_bad, chunked, te_other;
    int enc;
    bool cr_ok;
    uint64_t cr_a, cr_b, cr_total;
    size_t boundary_n;
    const char *host, *ua, *ref;   /* slices of the block, cut at their caps */
    size_t host_n, ua_n, ref_n;
    size_t mime_n, fname_n;
    /* not cleared: read only up to their lengths */
    char boundary[76];
    char mime[128];                /* Content-Type without parameters, lower case */
    char fname[NAME_MAX_];         /* Content-Disposition's file name */
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

static inline const char *ts(const htx *tx, int k) { return tx->sb + tx->off[k]; }

typedef struct urlp {
    size_t domn;
    int port;                      /* explicit port, -1 when none */
    const char *path, *query;
    size_t pathn, queryn;
    bool has_path;
    size_t fulln;
    /* not cleared: read only up to their lengths */
    char dom[256];
    char full[URL_MAX + 320];
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

/* The request target's parts; with_full: also url.full (only the events and the
 * range key need it). */
static void url_split(const mm_flow *f, const htx *tx, urlp *u, bool with_full) {
    memset(u, 0, offsetof(urlp, dom));
    u->port = -1;
    const char *t = ts(tx, T_URL);
    size_t tn = tx->len[T_URL];
    bool connect = tx->len[T_METHOD] == 7 && memcmp(ts(tx, T_METHOD), "CONNECT", 7) == 0;
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
    } else if (tx->len[T_HOST])
        authority(ts(tx, T_HOST), tx->len[T_HOST], u);
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
    if (!u->has_path || !with_full) return;
    /* http://host[:port]/path?q: the server's address when no Host was sent */
    bool https = absolute && iprefix(t, tn, "https://");
    size_t o = https ? 8 : 7;
    memcpy(u->full, https ? "https://" : "http://", o);
    if (u->domn) {
        memcpy(u->full + o, u->dom, u->domn), o += u->domn;
        if (u->port >= 0) o += (size_t)snprintf(u->full + o, 8, ":%d", u->port);
    } else {
        char ip[48];
        mm_ip_fmt(&f->srv, ip);
        char hostbuf[64];
        int w = f->srv.af == 6 ? snprintf(hostbuf, sizeof hostbuf, "[%s]", ip) : snprintf(hostbuf, sizeof hostbuf, "%s", ip);
        size_t hl = (size_t)w;
        if (f->sport != 80) hl += (size_t)snprintf(hostbuf + hl, sizeof hostbuf - hl, ":%u", f->sport);
        memcpy(u->full + o, hostbuf, hl), o += hl;
    }
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
    url_split(f, tx, &u, false);
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
    return tx->len[T_METHOD] == n && memcmp(ts(tx, T_METHOD), m, n) == 0;
}

static void fields_request(mm_sev *e, const mm_flow *f, const htx *tx) {
    urlp u;
    url_split(f, tx, &u, true);
    if (u.fulln) mm_sev_str(e, "url.full", u.full, u.fulln);
    if (u.domn) mm_sev_str(e, "url.domain", u.dom, u.domn);
    if (tx->has_req) {
        mm_sev_str(e, "url.original", ts(tx, T_URL), tx->len[T_URL]);
        mm_sev_str(e, "http.request.method", ts(tx, T_METHOD), tx->len[T_METHOD]);
    }
    if (tx->len[T_UA]) mm_sev_str(e, "user_agent.original", ts(tx, T_UA), tx->len[T_UA]);
}

static mm_sfile *file_open(mm_flow *f, htx *tx, int dir, const char *name, size_t name_n) {
    mm_sfile *h = mm_sfile_open(f, dir, dir == MM_C2S ? "file-upload" : "file-download", name, name_n);
    if (!h) return NULL;
    mm_sev *e = mm_sfile_fields(h);
    fields_request(e, f, tx);
    if (dir == MM_S2C) {
        if (tx->status) mm_sev_int(e, "http.response.status_code", tx->status);
        if (tx->len[T_RESP_MIME]) mm_sev_str(e, "http.response.mime_type", ts(tx, T_RESP_MIME), tx->len[T_RESP_MIME]);
    }
    return h;
}

static void upload_close(htx *tx, mm_sfile *h) {
    if (tx->status) mm_sev_int(mm_sfile_fields(h), "http.response.status_code", tx->status);
    mm_sfile_close(h, NULL);
}

static void upload_done(htx *tx, mm_sfile *h) {
    if (!h) return;
    if (!tx->up && !tx->status) tx->up = malloc(UP_MAX * sizeof *tx->up);
    if (tx->up && tx->nup < UP_MAX && !tx->status) tx->up[tx->nup++] = h;
    else upload_close(tx, h);
}

static void uploads_flush(htx *tx) {
    for (int i = 0; i < tx->nup; i++) upload_close(tx, tx->up[i]);
    tx->nup = 0;
}

/* ---------------------------------------------------------------- transactions */

/* A transaction with room for `need` bytes of strings (the request's, known when
 * it is created) and a little more for the response's. */
static htx *tx_new(hstate *st, size_t need) {
    if (st->qn >= TX_MAX) return NULL;
    size_t cap = need + TX_SLACK;
    htx *tx = malloc(sizeof *tx + cap);
    if (!tx) return NULL;
    memset(tx, 0, sizeof *tx);
    tx->sb = tx->inl;
    tx->scap = (uint16_t)cap;
    if (st->qt) st->qt->next = tx;
    else st->qh = tx;
    st->qt = tx;
    st->qn++;
    return tx;
}

static void tx_free(htx *tx) {
    if (tx->sb != tx->inl) free(tx->sb);
    free(tx->body);
    free(tx->up);
    free(tx);
}

/* Set string k (not set before) to p[0..n). */
static void tx_put(mm_flow *f, htx *tx, int k, const char *p, size_t n) {
    if (!n) return;
    if (tx->sn + n > tx->scap) {
        size_t nc = tx->sn + n + TX_SLACK;
        char *nb = malloc(nc);
        if (!nb) {
            mm_sensor_app_error(f, "http", "out of memory");
            return;
        }
        memcpy(nb, tx->sb, tx->sn);
        if (tx->sb != tx->inl) free(tx->sb);
        tx->sb = nb, tx->scap = (uint16_t)nc;
    }
    memcpy(tx->sb + tx->sn, p, n);
    tx->off[k] = tx->sn, tx->len[k] = (uint16_t)n;
    tx->sn = (uint16_t)(tx->sn + n);
}

/* ---------------------------------------------------------------- events */

static void tx_emit(mm_flow *f, htx *tx) {
    uploads_flush(tx);
    mm_sev *e = mm_sev_begin(f, "web", "access", "http-request");
    urlp u;
    url_split(f, tx, &u, true);
    if (tx->has_req) {
        mm_sev_str(e, "http.request.method", ts(tx, T_METHOD), tx->len[T_METHOD]);
        mm_sev_str(e, "url.original", ts(tx, T_URL), tx->len[T_URL]);
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
    if (tx->len[T_UA]) mm_sev_str(e, "user_agent.original", ts(tx, T_UA), tx->len[T_UA]);
    if (tx->len[T_REF]) mm_sev_str(e, "http.request.referrer", ts(tx, T_REF), tx->len[T_REF]);
    if (tx->len[T_REQ_MIME]) mm_sev_str(e, "http.request.mime_type", ts(tx, T_REQ_MIME), tx->len[T_REQ_MIME]);
    if (tx->len[T_RESP_MIME]) mm_sev_str(e, "http.response.mime_type", ts(tx, T_RESP_MIME), tx->len[T_RESP_MIME]);
    if (tx->has_req) mm_sev_int(e, "http.request.body.bytes", (int64_t)tx->req_bytes);
    if (tx->resp_started) mm_sev_int(e, "http.response.body.bytes", (int64_t)tx->resp_bytes);
    size_t bn = tx->body_n;
    if (bn && text_body(tx->body, &bn) && bn) mm_sev_str(e, "http.request.body.content", tx->body, bn);
    mm_sev_cstr(e, "event.outcome", !tx->status ? "unknown" : tx->status < 400 ? "success" : "failure");
    mm_sev_end(e);
}

/* Emit the transactions at the head of the queue that are complete. */
static void q_flush(hstate *st, mm_flow *f, bool all) {
    htx *tx;
    while ((tx = st->qh) && (all || (tx->req_done && tx->resp_done))) {
        tx_emit(f, tx);
        st->qh = tx->next;
        if (!st->qh) st->qt = NULL;
        st->qn--;
        tx_free(tx);
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

static void zdec_end(hbody *b) {
    if (!b->z) return;
    if (b->z->on) inflateEnd(&b->z->z);
    free(b->z);
    b->z = NULL;
}

static void file_gap(hbody *b) {
    if (b->file) mm_sfile_gap(b->file, 0);
    if (b->mp && b->mp->file) mm_sfile_gap(b->mp->file, 0);
}

/* The body's file, opened at its first byte (empty bodies are no files).  Named
 * by Content-Disposition, else by the URL's last segment. */
static bool file_ensure(mm_flow *f, hbody *b) {
    htx *tx = b->tx;
    if (b->file) return true;
    if (!b->want_file || !tx) return false;
    char nm[NAME_MAX_];
    size_t nn;
    if (b->dir == MM_C2S && tx->len[T_REQ_FNAME]) setf(nm, &nn, sizeof nm, ts(tx, T_REQ_FNAME), tx->len[T_REQ_FNAME]);
    else if (b->dir == MM_S2C && tx->len[T_RESP_FNAME])
        setf(nm, &nn, sizeof nm, ts(tx, T_RESP_FNAME), tx->len[T_RESP_FNAME]);
    else nn = url_name(f, tx, nm, sizeof nm);
    b->file = file_open(f, tx, b->dir, nm, nn);
    if (!b->file) {
        b->want_file = false;
        return false;
    }
    if (b->file_rng && b->rng_start) mm_sfile_gap(b->file, 0);   /* its start is missing */
    return true;
}

/* Keep the start of a POST/PUT body (http.request.body.content). */
static void body_keep(htx *tx, const uint8_t *p, size_t n) {
    size_t left = (size_t)BODY_KEEP - tx->body_n;
    size_t k = left < n ? left : n;
    if (tx->body_n + k > tx->body_cap) {
        size_t nc = tx->body_cap ? (size_t)tx->body_cap * 2 : 128;
        while (nc < tx->body_n + k) nc *= 2;
        if (nc > BODY_KEEP) nc = BODY_KEEP;
        char *nb = realloc(tx->body, nc);
        if (!nb) return;   /* the content is an extra: the body itself is still carried */
        tx->body = nb, tx->body_cap = (uint16_t)nc;
    }
    memcpy(tx->body + tx->body_n, p, k);
    tx->body_n = (uint16_t)(tx->body_n + k);
}

/* Decoded body bytes: kept text, files, multipart parts. */
static void sink(mm_flow *f, hbody *b, const uint8_t *p, size_t n) {
    htx *tx = b->tx;
    if (!n || !tx) return;
    b->decoded += n;
    if (b->dir == MM_C2S && tx->post_put && tx->body_n < BODY_KEEP) body_keep(tx, p, n);
    if (b->mp) {
        mp_feed(f, tx, b->mp, p, n);
        return;
    }
    if (file_ensure(f, b)) mm_sfile_write(b->file, p, n);
}

static void inflate_in(mm_flow *f, hbody *b, const uint8_t *p, size_t n);

/* Entity bytes (de-chunked, still encoded). */
static void entity(mm_flow *f, hbody *b, const uint8_t *p, size_t n) {
    if (!n) return;
    if (b->tx) {
        if (b->dir == MM_C2S) b->tx->req_bytes += n;
        else b->tx->resp_bytes += n;
    }
    if (b->enc == E_NONE) {
        sink(f, b, p, n);
        return;
    }
    if (b->zdead || b->zend) return;
    if (!b->z || !b->z->on) {
        if (!b->z && !(b->z = calloc(1, sizeof *b->z))) {
            mm_sensor_app_error(f, "http", "out of memory");
            b->zdead = true;
            file_gap(b);
            return;
        }
        hz *z = b->z;
        /* "deflate" is zlib-wrapped by the RFC, raw deflate by many servers: the
         * first two bytes tell */
        int wbits = 15 + 32;
        if (b->enc == E_DEFLATE) {
            while (z->npeek < 2 && n) z->peek[z->npeek++] = *p++, n--;
            if (z->npeek < 2) return;
            bool zlib = (z->peek[0] & 0x0f) == 8 && ((z->peek[0] << 8) | z->peek[1]) % 31 == 0;
            wbits = zlib ? 15 : -15;
        }
        if (inflateInit2(&z->z, wbits) != Z_OK) {
            mm_sensor_app_error(f, "http", "inflate init failed");
            b->zdead = true;
            zdec_end(b);
            file_gap(b);
            return;
        }
        z->on = true;
        if (z->npeek) {
            uint8_t pk[2] = {z->peek[0], z->peek[1]};
            int np = z->npeek;
            z->npeek = 0;
            inflate_in(f, b, pk, (size_t)np);
            if (b->zdead || b->zend) return;
        }
    }
    inflate_in(f, b, p, n);
}

static void inflate_in(mm_flow *f, hbody *b, const uint8_t *p, size_t n) {
    if (!n) return;
    hz *z = b->z;
    z->z.next_in = (Bytef *)p;
    z->z.avail_in = (uInt)n;
    while (z->z.avail_in) {
        uint8_t out[16384];
        z->z.next_out = out;
        z->z.avail_out = sizeof out;
        uInt before = z->z.avail_in;
        int r = inflate(&z->z, Z_NO_FLUSH);
        z->zin += before - z->z.avail_in;
        size_t got = sizeof out - z->z.avail_out;
        if (got) {
            uint64_t after = b->decoded + got;
            bool over = after > DECODE_MAX || (after > DECODE_RATIO_FLOOR && after > (uint64_t)DECODE_RATIO * (z->zin + 1));
            if (over) {
                mm_sensor_app_error(f, "http", "decompressed body over cap");
                if (after > DECODE_MAX) sink(f, b, out, (size_t)(DECODE_MAX - b->decoded));
                b->zdead = true;
                file_gap(b);
                zdec_end(b);
                return;
            }
            sink(f, b, out, got);
        }
        if (r == Z_STREAM_END) {
            /* gzip may hold several members one after the other */
            if (z->z.avail_in && b->enc == E_GZIP && inflateReset(&z->z) == Z_OK) continue;
            b->zend = true;
            zdec_end(b);
            return;
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            mm_sensor_app_error(f, "http", "bad compressed body");
            b->zdead = true;
            file_gap(b);
            zdec_end(b);
            return;
        }
        if (!got && before == z->z.avail_in) break;
    }
}

/* The body ended (complete or not): files close, the transaction may be emitted. */
static void body_end(hstate *st, mm_flow *f, int dir, bool complete) {
    hdir *d = &st->d[dir];
    hbody *b = d->b;
    htx *tx = b->tx;
    if (complete && b->enc != E_NONE && !b->zend && !b->zdead && b->z && (b->z->on || b->z->npeek)) {
        mm_sensor_app_error(f, "http", "compressed body ends early");
        complete = false;
    }
    zdec_end(b);
    if (!complete) file_gap(b);
    if (b->mp) {
        if (b->mp->file && tx) {
            upload_done(tx, b->mp->file);
            b->mp->file = NULL;
        }
        mp_free(b->mp);
        b->mp = NULL;
    }
    if (b->file) {
        if (dir == MM_C2S && tx) {
            upload_done(tx, b->file);
        } else if (b->file_rng) {
            uint64_t next = b->rng_start + b->decoded;
            hrng *r = complete && next < b->rng_total && !st->tunnel ? malloc(sizeof *r) : NULL;
            if (r) {
                r->file = b->file;
                r->key = b->rng_key, r->next = next, r->total = b->rng_total;
                st->rng = r;
            } else {
                if (next < b->rng_total) mm_sfile_gap(b->file, 0);
                mm_sfile_close(b->file, NULL);
            }
        } else
            mm_sfile_close(b->file, NULL);
        b->file = NULL;
    }
    if (tx) {
        if (dir == MM_C2S) tx->req_done = true;
        else tx->resp_done = true;
    }
    free(b);
    d->b = NULL;
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
    hbody *b = st->d[dir].b;
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        switch (b->cst) {
        case C_SIZE:
        case C_EXT:
            i++;
            if (++b->clen > CHUNK_LINE_MAX) {
                dead(st, f, dir, "chunk-size line too long");
                return n;
            }
            if (c == '\n') {
                if (!b->cdigits) {
                    dead(st, f, dir, "bad chunk size");
                    return n;
                }
                b->clen = 0;
                if (b->csize == 0) {
                    b->cst = C_TRAILER;
                    b->tline = b->ttotal = 0;
                } else {
                    b->cst = C_DATA;
                    b->remain = b->csize;
                }
            } else if (b->cst == C_SIZE && hexv(c) >= 0) {
                if (b->csize >> 59) {   /* 16 significant hex digits at most */
                    dead(st, f, dir, "chunk size overflow");
                    return n;
                }
                b->csize = b->csize << 4 | (uint64_t)hexv(c);
                b->cdigits++;
            } else if (c == '\r' || c == ';' || is_sp((char)c)) {
                b->cst = C_EXT;
            } else if (b->cst == C_SIZE) {
                dead(st, f, dir, "bad chunk size");
                return n;
            }
            break;
        case C_DATA: {
            size_t take = n - i < b->remain ? n - i : (size_t)b->remain;
            entity(f, b, p + i, take);
            i += take;
            b->remain -= take;
            if (!b->remain) b->cst = C_DATA_END;
            break;
        }
        case C_DATA_END:
            i++;
            if (c == '\r') break;
            if (c != '\n') {
                dead(st, f, dir, "chunk not followed by CRLF");
                return n;
            }
            b->cst = C_SIZE;
            b->csize = 0, b->cdigits = 0, b->clen = 0;
            break;
        case C_TRAILER:
            i++;
            if (++b->ttotal > HDR_MAX) {
                dead(st, f, dir, "chunked trailers over cap");
                return n;
            }
            if (c == '\n') {
                if (!b->tline) {
                    body_end(st, f, dir, true);
                    return i;
                }
                b->tline = 0;
            } else if (c != '\r')
                b->tline++;
            break;
        }
    }
    return i;
}

static size_t body_in(hstate *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    hbody *b = st->d[dir].b;
    switch (b->bmode) {
    case B_CL: {
        size_t take = n < b->remain ? n : (size_t)b->remain;
        entity(f, b, p, take);
        b->remain -= take;
        if (!b->remain) body_end(st, f, dir, true);
        return take;
    }
    case B_CHUNK:
        return chunk_in(st, f, dir, p, n);
    default:
        entity(f, b, p, n);
        return n;
    }
}

/* Start reading a body; NULL (and the direction given up) when out of memory. */
static hbody *body_start(hstate *st, mm_flow *f, int dir, int mode, uint64_t len, int enc, htx *tx) {
    hdir *d = &st->d[dir];
    hbody *b = calloc(1, sizeof *b);
    if (!b) {
        if (tx) {
            if (dir == MM_C2S) tx->req_done = true;
            else tx->resp_done = true;
        }
        dead(st, f, dir, "out of memory");
        q_flush(st, f, false);
        return NULL;
    }
    d->b = b;
    d->st = S_BODY;
    b->dir = (uint8_t)dir;
    b->bmode = (uint8_t)mode;
    b->remain = len;
    b->cst = C_SIZE;
    b->enc = (uint8_t)enc;
    b->tx = tx;
    return b;
}

/* ---------------------------------------------------------------- headers */

/* obs-fold: a line starting with a space continues the one before. */
static void unfold(uint8_t *b, size_t n) {
    uint8_t *p = b, *end = b + n;
    while ((p = memchr(p, '\n', (size_t)(end - p))) && p + 1 < end) {
        if (is_sp((char)p[1])) {
            p[0] = ' ';
            if (p > b && p[-1] == '\r') p[-1] = ' ';
        }
        p++;
    }
}

static bool has_fold(const uint8_t *b, size_t n) {
    const uint8_t *p = b, *end = b + n;
    while ((p = memchr(p, '\n', (size_t)(end - p))) && p + 1 < end) {
        if (is_sp((char)p[1])) return true;
        p++;
    }
    return false;
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

/* A string header's value, cut at cap; false when it was cut. */
static bool slice(const char **dst, size_t *dn, size_t cap, const char *v, size_t vn) {
    *dst = v;
    *dn = vn < cap ? vn : cap;
    return vn <= cap;
}

/* p[0..n) equals the lower-case literal lit of the same length, ignoring case. */
static inline bool lceq(const char *p, const char *lit, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (lc(p[i]) != lit[i]) return false;
    return true;
}

/* One header of a request (dir c2s) or response into hi.  The names that matter
 * differ in length, which picks the one to compare. */
static void header(mm_flow *f, int dir, hinfo *hi, const char *name, size_t nn, const char *v, size_t vn) {
    switch (nn) {
    case 14:
        if (lceq(name, "content-length", nn)) {
            uint64_t cl;
            if (!parse_dec(v, vn, &cl)) hi->cl_bad = true;
            else if (hi->has_cl && cl != hi->cl) hi->cl_bad = true;
            else hi->cl = cl, hi->has_cl = true;
        }
        break;
    case 17:
        if (lceq(name, "transfer-encoding", nn)) {
            if (te_chunked(v, vn)) hi->chunked = true;
            else hi->te_other = true;
        }
        break;
    case 16:
        if (lceq(name, "content-encoding", nn)) hi->enc = coding_of(v, vn);
        break;
    case 12:
        if (lceq(name, "content-type", nn)) {
            mime_set(hi->mime, &hi->mime_n, sizeof hi->mime, v, vn);
            if (dir == MM_C2S && ieqn(hi->mime, hi->mime_n, "multipart/form-data") &&
                (!param_get(v, vn, "boundary", hi->boundary, sizeof hi->boundary, &hi->boundary_n) || !hi->boundary_n ||
                 memchr(hi->boundary, '\r', hi->boundary_n) || memchr(hi->boundary, '\n', hi->boundary_n))) {
                hi->boundary_n = 0;   /* carried as one plain upload */
                mm_sensor_app_error(f, "http", "multipart without a usable boundary");
            }
        }
        break;
    case 19:
        if (lceq(name, "content-disposition", nn)) hi->fname_n = disp_filename(v, vn, hi->fname, sizeof hi->fname);
        break;
    case 13:
        if (dir == MM_S2C && lceq(name, "content-range", nn)) hi->cr_ok = parse_crange(v, vn, hi);
        break;
    case 4:
        if (dir == MM_C2S && lceq(name, "host", nn)) {
            if (hi->host_n) mm_sensor_app_error(f, "http", "duplicate Host");
            else if (!slice(&hi->host, &hi->host_n, 256, v, vn)) mm_sensor_app_error(f, "http", "Host over cap");
        }
        break;
    case 10:
        if (dir == MM_C2S && lceq(name, "user-agent", nn)) {
            if (!hi->ua_n && !slice(&hi->ua, &hi->ua_n, 512, v, vn)) mm_sensor_app_error(f, "http", "User-Agent over cap");
        }
        break;
    case 7:
    case 8:
        if (dir == MM_C2S && (nn == 7 ? lceq(name, "referer", 7) : lceq(name, "referrer", 8))) {
            if (!hi->ref_n && !slice(&hi->ref, &hi->ref_n, 1024, v, vn)) mm_sensor_app_error(f, "http", "Referer over cap");
        }
        break;
    }
}

/* Walk the header lines after the start line.  Returns false when the block had
 * more lines than allowed (what came before is kept). */
static bool headers(mm_flow *f, int dir, hinfo *hi, const char *p, const char *end) {
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
            header(f, dir, hi, nm, nn, v, vn);
        }
        p = nl ? nl + 1 : end;
    }
    return true;
}

static void hinfo_init(hinfo *hi) { memset(hi, 0, offsetof(hinfo, boundary)); }

/* RFC 9110 tchar; NUL passes too (this parser always let it through). */
static bool token_char(unsigned char c) {
    static const uint32_t tbl[8] = {
        0x00000001u,   /* NUL */
        0x03ff6cfau,   /* ! # $ % & ' * + - . 0-9 */
        0xc7fffffeu,   /* A-Z ^ _ */
        0x57ffffffu,   /* ` a-z | ~ */
    };
    return tbl[c >> 5] >> (c & 31) & 1;
}

static bool parse_version(const char *p, size_t n, char out[4]) {
    if (n < 8 || !iprefix(p, n, "HTTP/") || p[5] < '0' || p[5] > '9' || p[6] != '.' || p[7] < '0' || p[7] > '9')
        return false;
    out[0] = p[5], out[1] = '.', out[2] = p[7], out[3] = 0;
    return n == 8;
}

/* A request's start line and headers (already unfolded).  over: the block hit a
 * cap (the transaction ends with what was read). */
static void request_head(hstate *st, mm_flow *f, const char *b, size_t n, bool over) {
    hdir *d = &st->d[MM_C2S];
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
    char ver[4] = "0.9";
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
    if (st->qn >= TX_MAX) {
        dead(st, f, MM_C2S, "pipelined requests over cap");
        return;
    }
    size_t mn = (size_t)(sp - b), un = (size_t)(tend - t);
    if (un > URL_MAX) {
        mm_sensor_app_error(f, "http", "URL over cap");
        un = URL_MAX;
    }
    hinfo hi;
    hinfo_init(&hi);
    bool ok = headers(f, MM_C2S, &hi, nl ? nl + 1 : end, end);
    htx *tx = tx_new(st, mn + un + hi.host_n + hi.ua_n + hi.ref_n + hi.mime_n + hi.fname_n);
    if (!tx) {
        dead(st, f, MM_C2S, "out of memory");
        return;
    }
    tx->has_req = true;
    tx_put(f, tx, T_METHOD, b, mn);
    tx_put(f, tx, T_URL, t, un);
    tx_put(f, tx, T_HOST, hi.host, hi.host_n);
    tx_put(f, tx, T_UA, hi.ua, hi.ua_n);
    tx_put(f, tx, T_REF, hi.ref, hi.ref_n);
    tx_put(f, tx, T_REQ_MIME, hi.mime, hi.mime_n);
    tx_put(f, tx, T_REQ_FNAME, hi.fname, hi.fname_n);
    memcpy(tx->ver, ver, sizeof ver);
    tx->post_put = is_method(tx, "POST") || is_method(tx, "PUT");

    if (tx->len[T_UA] && mm_sensor_novel(f, "ua", ts(tx, T_UA), tx->len[T_UA], 3)) f->risks |= MM_RISK_NEW_UA_FOR_HOST;
    urlp u;
    url_split(f, tx, &u, false);
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
    hbody *bd = body_start(st, f, MM_C2S, mode, len, hi.enc, tx);
    if (!bd) return;
    if (tx->post_put) {
        if (hi.boundary_n) {
            mpart *mp = calloc(1, sizeof *mp);
            if (mp) {
                memcpy(mp->delim, "\r\n--", 4);
                memcpy(mp->delim + 4, hi.boundary, hi.boundary_n);
                mp->dlen = (uint8_t)(4 + hi.boundary_n);
                mp->st = MP_PRE;
                mp->match = 2;   /* the first delimiter may open the body, without CRLF */
                bd->mp = mp;
            }
        } else
            bd->want_file = true;
    }
}

static htx *next_unanswered(hstate *st) {
    for (htx *tx = st->qh; tx; tx = tx->next)
        if (!tx->resp_started) return tx;
    return NULL;
}

/* A response's status line and headers (already unfolded). */
static void response_head(hstate *st, mm_flow *f, const char *b, size_t n, bool over) {
    hdir *d = &st->d[MM_S2C];
    const char *end = b + n;
    const char *nl = memchr(b, '\n', n);
    size_t ln = nl ? (size_t)(nl - b) : n;
    if (ln && b[ln - 1] == '\r') ln--;
    char ver[4];
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
        /* the request was not seen (capture started late) */
        tx = tx_new(st, 0);
        if (!tx) {
            dead(st, f, MM_S2C, "responses over cap");
            return;
        }
        tx->req_done = true;
        memcpy(tx->ver, ver, sizeof ver);
    }
    tx->resp_started = true;
    tx->status = (uint16_t)status;
    hinfo hi;
    hinfo_init(&hi);
    bool ok = headers(f, MM_S2C, &hi, nl ? nl + 1 : end, end);
    tx_put(f, tx, T_RESP_MIME, hi.mime, hi.mime_n);
    tx_put(f, tx, T_RESP_FNAME, hi.fname, hi.fname_n);
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
    hbody *bd = body_start(st, f, MM_S2C, mode, len, hi.enc, tx);
    if (!bd) return;
    bd->want_file = true;
    if (status == 206 && hi.cr_ok) {
        urlp u;
        url_split(f, tx, &u, true);
        uint64_t key = mm_hash(u.full, u.fulln, 0x52414e4745ull);
        bd->file_rng = true;
        bd->rng_start = hi.cr_a, bd->rng_total = hi.cr_total, bd->rng_key = key;
        hrng *r = st->rng;
        if (r && r->key == key && r->next == hi.cr_a && r->total == hi.cr_total) {
            bd->file = r->file;   /* the next piece of the same download */
        } else if (r) {
            mm_sfile_gap(r->file, 0);
            mm_sfile_close(r->file, NULL);
        }
        free(r);
        st->rng = NULL;
    }
}

/* Where the header block in b[0..n) ends (just past its empty line), 0 when not
 * yet; *scan: where to look from, and where to go on from next time. */
static size_t head_end(const uint8_t *b, size_t n, uint32_t *scan) {
    size_t i = *scan;
    while (i < n) {
        if (n - i < 32) {   /* a few bytes (a block arriving in small pieces): no call */
            while (i < n && b[i] != '\n') i++;
            if (i == n) break;
        } else {
            const uint8_t *nl = memchr(b + i, '\n', n - i);
            if (!nl) {
                i = n;
                break;
            }
            i = (size_t)(nl - b);
        }
        if (i + 1 >= n) break;
        if (b[i + 1] == '\n') return i + 2;
        if (b[i + 1] == '\r') {
            if (i + 2 >= n) break;
            if (b[i + 2] == '\n') return i + 3;
        }
        i++;
    }
    *scan = (uint32_t)i;
    return 0;
}

static void hb_free(hdir *d) {
    free(d->hb);
    d->hb = NULL;
    d->hlen = d->hcap = d->scan = 0;
}

/* Room for `need` bytes of header block: sized by what arrived, doubled as it
 * grows, never over HDR_MAX. */
static bool hb_reserve(hdir *d, size_t need) {
    if (need <= d->hcap) return true;
    size_t nc;
    if (!d->hcap) nc = (need + HB_MIN - 1) / HB_MIN * HB_MIN;
    else {
        nc = (size_t)d->hcap * 2;
        if (nc < need) nc = need;
    }
    if (nc > HDR_MAX) nc = HDR_MAX;
    uint8_t *nb = realloc(d->hb, nc);
    if (!nb) return false;
    d->hb = nb, d->hcap = (uint32_t)nc;
    return true;
}

static void head_done(hstate *st, mm_flow *f, int dir, const uint8_t *b, size_t n, bool over) {
    if (dir == MM_C2S) request_head(st, f, (const char *)b, n, over);
    else response_head(st, f, (const char *)b, n, over);
}

/* Header block bytes: complete blocks are parsed where they lie; a block cut by
 * the segment ends is collected until the empty line ends it. */
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
                hbody *bd = body_start(st, f, MM_S2C, B_CLOSE, 0, E_NONE, w);
                if (bd) bd->want_file = true;
                return 0;
            }
        }
        d->st = S_HEAD;
        d->hlen = d->scan = 0;
    }
    size_t room = HDR_MAX - d->hlen;
    size_t take = n < room ? n : room;
    size_t old = d->hlen;
    const uint8_t *blk;   /* the block so far */
    size_t bn;
    if (!old) {
        blk = p, bn = take;
    } else {
        if (!hb_reserve(d, old + take)) {
            dead(st, f, dir, "out of memory");
            return n;
        }
        memcpy(d->hb + old, p, take);
        d->hlen += (uint32_t)take;
        blk = d->hb, bn = d->hlen;
    }
    /* reject what is not HTTP early, not after 64 KiB */
    if (old < 40) {
        size_t k = bn < 40 ? bn : 40;
        if (dir == MM_C2S) {
            size_t i = 0;
            while (i < k && token_char(blk[i])) i++;
            if ((i < k && blk[i] != ' ') || (i == k && k >= 24)) {
                hb_free(d);
                dead(st, f, dir, "not an HTTP request");
                return n;
            }
        } else {
            for (size_t i = 0; i < k && i < 5; i++)
                if (lc((char)blk[i]) != "http/"[i]) {
                    hb_free(d);
                    dead(st, f, dir, "not an HTTP response");
                    return n;
                }
        }
    }
    size_t endpos = head_end(blk, bn, &d->scan);
    if (!endpos) {
        if (!old) {   /* keep the start of the block */
            if (!hb_reserve(d, take)) {
                dead(st, f, dir, "out of memory");
                return n;
            }
            memcpy(d->hb, p, take);
            d->hlen = (uint32_t)take;
        }
        if (d->hlen >= HDR_MAX) {
            mm_sensor_app_error(f, "http", "headers over cap");
            /* keep the complete lines, end the transaction there */
            size_t keep = d->hlen;
            while (keep && d->hb[keep - 1] != '\n') keep--;
            unfold(d->hb, keep);
            head_done(st, f, dir, d->hb, keep, true);
            d->st = S_DEAD;
            hb_free(d);
        }
        return take;
    }
    size_t used = endpos - old;
    d->st = S_START;
    /* the block without its terminating empty line */
    size_t bl = endpos;
    while (bl && (blk[bl - 1] == '\n' || blk[bl - 1] == '\r')) bl--;
    if (old) {
        unfold(d->hb, bl);
        d->hlen = 0;
        head_done(st, f, dir, d->hb, bl, false);
        hb_free(d);
    } else if (has_fold(p, bl)) {   /* rare: unfolded in a copy */
        uint8_t *c = malloc(bl ? bl : 1);
        if (!c) {
            dead(st, f, dir, "out of memory");
            return n;
        }
        memcpy(c, p, bl);
        unfold(c, bl);
        head_done(st, f, dir, c, bl, false);
        free(c);
    } else
        head_done(st, f, dir, p, bl, false);
    d->scan = 0;
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
    hbody *b = d->b;
    bool in_data = d->st == S_BODY &&
                   ((b->bmode == B_CL && n <= b->remain) || (b->bmode == B_CHUNK && b->cst == C_DATA && n <= b->remain) ||
                    b->bmode == B_CLOSE);
    if (!in_data) {
        hb_free(d);
        dead(st, f, dir, "gap outside a body");
        return;
    }
    /* the body goes on without the lost bytes: counted, files marked truncated */
    if (b->bmode != B_CLOSE) b->remain -= n;
    if (b->tx) {
        if (dir == MM_C2S) b->tx->req_bytes += n;
        else b->tx->resp_bytes += n;
    }
    if (b->enc != E_NONE && !b->zdead) {
        b->zdead = true;   /* the inflate state cannot skip */
        zdec_end(b);
    }
    if (b->mp) {
        if (b->mp->file) mm_sfile_gap(b->mp->file, 0);
        b->mp->st = MP_END;   /* part boundaries are lost */
    }
    if (!b->mp) file_ensure(f, b);
    file_gap(b);
    if (b->file_rng) b->decoded += n;
    if (b->bmode == B_CL && !b->remain) body_end(st, f, dir, false);
    else if (b->bmode == B_CHUNK && !b->remain) b->cst = C_DATA_END;
}

static void close_(void *vst, mm_flow *f) {
    hstate *st = vst;
    if (!st) return;
    for (int dir = 0; dir < 2; dir++) {
        hdir *d = &st->d[dir];
        if (d->st == S_BODY) body_end(st, f, dir, d->b->bmode == B_CLOSE);
        hb_free(d);
    }
    if (st->rng) {
        mm_sfile_gap(st->rng->file, 0);
        mm_sfile_close(st->rng->file, NULL);
        free(st->rng);
    }
    q_flush(st, f, true);
    free(st);
}

static const uint16_t ports[] = {80, 8080, 8000, 8008, 8081, 3128, 0};
const mm_analyzer mm_app_http = {"http", 1, 0, ports, probe, open_, data, gap, close_};
