/* stix: the STIX 2.1 reader.  Two halves: a patterning-language parser that turns
 * an indicator's pattern into the (type, value) pairs the matcher can use, and a
 * bundle reader that walks indicators, resolves the objects linked to them by
 * relationships (malware, actors, campaigns, ATT&CK techniques, courses of action)
 * and marking definitions (TLP), and hands one record per value to the caller.
 *
 * The pattern language is far richer than what a per-event matcher can honour, so
 * the parser keeps the subset CTI feeds use in practice and refuses the rest with
 * a reason (see mm_stix_pattern below for exactly what is kept). */
#include "intel.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ patterns */

/* Bounds that keep hostile patterns cheap: the parser recurses only on brackets
 * and parentheses (OR/AND chains are loops), so the depth cap bounds the stack. */
#define PAT_MAX_LEN    (4u << 20)
#define PAT_MAX_DEPTH  64
#define PAT_MAX_VALUES (1u << 18)
#define PAT_MAX_PATH   256

/* Reasons that carry a detail (an object path, an offset) are formatted here:
 * one buffer per thread, valid until the thread's next mm_stix_pattern call. */
static _Thread_local char why_buf[160];

/* Specificity of a value type, lower is more specific.  An AND of comparisons
 * keeps only its most specific side (see comp_and). */
enum { RANK_HASH = 0, RANK_URL, RANK_JA3, RANK_EMAIL, RANK_DOMAIN, RANK_IP, RANK_UA, RANK_FILE };

/* MM_IND__COUNT + 1: an address reference (network-traffic:dst_ref.value) whose
 * type — ip or domain — is told by the value itself. */
#define T_ADDR ((mm_ind_type)(MM_IND__COUNT + 1))

typedef struct pyield {
    mm_ind_type type;
    uint32_t off, len;
} pyield;

typedef struct pres {
    size_t start;      /* first yield of this node in P->y */
    int rank;          /* worst rank among its yields, -1 when it yields nothing */
    bool complete;     /* false when some OR branch was dropped */
    const char *why;   /* the first reason something was dropped */
} pres;

typedef struct pctx {
    const char *s;
    size_t n, i;
    char *buf;         /* decoded values; never larger than 3 * n + 64 */
    size_t blen, bcap;
    pyield *y;
    size_t ny, ycap;
    int depth;
    const char *fatal; /* set: the whole pattern is refused */
    bool why_taken;    /* why_buf holds a reason of this parse */
} pctx;

static const char *reasonf(pctx *P, const char *generic, const char *a, size_t alen) {
    if (P->why_taken) return generic;
    P->why_taken = true;
    snprintf(why_buf, sizeof why_buf, "%s %.*s", generic, (int)(alen > 100 ? 100 : alen), a);
    return why_buf;
}

/* Only the first detailed reason of a parse owns why_buf (it is the one
 * reported: every merge keeps the first reason); later ones go generic. */
static const char *reasonf(struct pctx *P, const char *generic, const char *a, size_t alen);

static void fail(pctx *P, const char *why) {
    if (!P->fatal) P->fatal = why;
}

static void fail_at(pctx *P, const char *what) {
    if (P->fatal) return;
    P->why_taken = true;
    snprintf(why_buf, sizeof why_buf, "syntax: %s at offset %zu", what, P->i);
    P->fatal = why_buf;
}

static void ws(pctx *P) {
    while (P->i < P->n && (P->s[P->i] == ' ' || P->s[P->i] == '\t' || P->s[P->i] == '\n' || P->s[P->i] == '\r'))
        P->i++;
}

static bool is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Keyword at the cursor (case-insensitive, whole word); consumed when present. */
static bool kw(pctx *P, const char *k) {
    ws(P);
    size_t l = strlen(k);
    if (P->n - P->i < l || strncasecmp(P->s + P->i, k, l) != 0) return false;
    if (P->i + l < P->n && is_word(P->s[P->i + l])) return false;
    P->i += l;
    return true;
}

static bool peek(pctx *P, char c) {
    ws(P);
    return P->i < P->n && P->s[P->i] == c;
}

static bool eat(pctx *P, char c) {
    if (!peek(P, c)) return false;
    P->i++;
    return true;
}

/* Reads a quoted string body after the opening quote into P->buf.  STIX allows
 * \' and \\; any other backslash is kept as written (regexes rely on it). */
static bool read_quoted(pctx *P, uint32_t *off, uint32_t *len) {
    size_t start = P->blen;
    while (P->i < P->n) {
        char c = P->s[P->i++];
        if (c == '\'') {
            *off = (uint32_t)start;
            *len = (uint32_t)(P->blen - start);
            return true;
        }
        if (c == '\\' && P->i < P->n && (P->s[P->i] == '\'' || P->s[P->i] == '\\')) c = P->s[P->i++];
        else if (c == '\\' && P->i < P->n) P->buf[P->blen++] = c, c = P->s[P->i++];
        P->buf[P->blen++] = c;
    }
    fail_at(P, "unterminated string");
    return false;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int b64val(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* A value literal.  kind: 's' string, 'b' binary (from b64'' or h''; also hex
 * text kept in hexoff/hexlen so hash paths can use the hex form), 'o' other
 * (numbers, booleans, timestamps).  Everything lands in P->buf. */
typedef struct pval {
    char kind;
    uint32_t off, len;
} pval;

static bool read_value(pctx *P, pval *v) {
    ws(P);
    if (P->i >= P->n) return fail_at(P, "value expected"), false;
    char c = P->s[P->i];
    if (c == '\'') {
        P->i++;
        v->kind = 's';
        return read_quoted(P, &v->off, &v->len);
    }
    /* binary: b'...' (the spec's base64 form), b64'...' (seen in the wild), h'...' */
    size_t pre = (c == 'b' || c == 'h') && P->i + 1 < P->n && P->s[P->i + 1] == '\'' ? 2
                 : c == 'b' && P->n - P->i > 3 && !memcmp(P->s + P->i, "b64'", 4)   ? 4
                                                                                    : 0;
    if (pre) {
        P->i += pre;
        uint32_t off, len;
        if (!read_quoted(P, &off, &len)) return false;
        /* decode in place: the output is never longer than the text */
        const char *t = P->buf + off;
        uint32_t o = 0;
        if (c == 'h') {
            if (len % 2) return fail(P, "bad hex literal"), false;
            for (uint32_t k = 0; k < len; k += 2) {
                int hi = hexval(t[k]), lo = hexval(t[k + 1]);
                if (hi < 0 || lo < 0) return fail(P, "bad hex literal"), false;
                P->buf[off + o++] = (char)(hi << 4 | lo);
            }
        } else {
            uint32_t acc = 0, bits = 0, k = 0;
            for (; k < len && t[k] != '='; k++) {
                int d = b64val(t[k]);
                if (d < 0) return fail(P, "bad base64 literal"), false;
                acc = acc << 6 | (uint32_t)d;
                bits += 6;
                if (bits >= 8) {
                    bits -= 8;
                    P->buf[off + o++] = (char)(acc >> bits);
                }
            }
            for (; k < len; k++)
                if (t[k] != '=') return fail(P, "bad base64 literal"), false;
        }
        P->blen = off + o;
        v->kind = 'b';
        v->off = off;
        v->len = o;
        return true;
    }
    if (c == 't' && P->i + 1 < P->n && P->s[P->i + 1] == '\'') {
        P->i += 2;
        v->kind = 'o';
        return read_quoted(P, &v->off, &v->len);
    }
    /* numbers and booleans: consumed, never indicator values */
    size_t st = P->i;
    while (P->i < P->n && (is_word(P->s[P->i]) || P->s[P->i] == '.' || P->s[P->i] == '+')) P->i++;
    if (P->i == st) return fail_at(P, "value expected"), false;
    v->kind = 'o';
    v->off = (uint32_t)P->blen;
    v->len = 0;
    return true;
}

/* An object path, normalised for lookup: lowercase, quotes dropped, list
 * indexes written [*].  "file:hashes.'SHA-256'" -> "file:hashes.sha-256". */
static bool read_path(pctx *P, char out[PAT_MAX_PATH], size_t *olen) {
    ws(P);
    size_t o = 0;
    bool colon = false, need = true;
#define PUT(ch)                                                                     \
    do {                                                                            \
        if (o + 1 >= PAT_MAX_PATH) return fail(P, "object path too long"), false;  \
        char ch_ = (ch);                                                            \
        out[o++] = (ch_ >= 'A' && ch_ <= 'Z') ? (char)(ch_ - 'A' + 'a') : ch_;      \
    } while (0)
    while (P->i < P->n) {
        char c = P->s[P->i];
        if (need) {
            if (c == '\'') {
                P->i++;
                while (P->i < P->n && P->s[P->i] != '\'') {
                    if (P->s[P->i] == '\\' && P->i + 1 < P->n) P->i++;
                    PUT(P->s[P->i]);
                    P->i++;
                }
                if (P->i >= P->n) return fail_at(P, "unterminated string"), false;
                P->i++;
            } else if (is_word(c)) {
                while (P->i < P->n && is_word(P->s[P->i])) PUT(P->s[P->i++]);
            } else {
                return fail_at(P, "object path expected"), false;
            }
            need = false;
            continue;
        }
        if (c == ':' && !colon) {
            colon = true, need = true;
            PUT(':');
            P->i++;
        } else if (c == '.' && colon) {
            need = true;
            PUT('.');
            P->i++;
        } else if (c == '[' && colon) {
            P->i++;
            while (P->i < P->n && (P->s[P->i] == '*' || P->s[P->i] == '-' || (P->s[P->i] >= '0' && P->s[P->i] <= '9')))
                P->i++;
            if (P->i >= P->n || P->s[P->i] != ']') return fail_at(P, "bad list index"), false;
            P->i++;
            PUT('[');
            PUT('*');
            PUT(']');
        } else {
            break;
        }
    }
    if (!colon || need) return fail_at(P, "object path expected"), false;
    out[o] = 0;
    *olen = o;
    return true;
#undef PUT
}

/* The hash algorithm of a hashes.<alg> key: "sha-256", "sha256", "'SHA256'"... */
static mm_ind_type hash_alg(const char *k) {
    char a[16];
    size_t n = 0;
    for (; *k && n + 1 < sizeof a; k++)
        if (*k != '-' && *k != '_') a[n++] = *k;
    if (*k) return MM_IND_NONE;
    a[n] = 0;
    if (!strcmp(a, "md5")) return MM_IND_MD5;
    if (!strcmp(a, "sha1")) return MM_IND_SHA1;
    if (!strcmp(a, "sha256")) return MM_IND_SHA256;
    return MM_IND_NONE;
}

/* Object paths the matcher has fields for.  Hashes are accepted under any
 * object that carries them (file, x509-certificate, artifact, an e-mail
 * attachment's body_raw_ref): a hash names the content wherever it sits. */
static mm_ind_type path_type(const char *p) {
    static const struct {
        const char *path;
        mm_ind_type t;
    } tab[] = {
        {"ipv4-addr:value", MM_IND_IP},
        {"ipv6-addr:value", MM_IND_IP},
        {"domain-name:value", MM_IND_DOMAIN},
        {"domain-name:resolves_to_refs[*].value", MM_IND_IP},
        {"url:value", MM_IND_URL},
        {"file:name", MM_IND_FILENAME},
        {"email-message:body_multipart[*].body_raw_ref.name", MM_IND_FILENAME},
        {"email-addr:value", MM_IND_EMAIL},
        {"email-message:from_ref.value", MM_IND_EMAIL},
        {"email-message:sender_ref.value", MM_IND_EMAIL},
        {"email-message:to_refs[*].value", MM_IND_EMAIL},
        {"email-message:cc_refs[*].value", MM_IND_EMAIL},
        {"email-message:bcc_refs[*].value", MM_IND_EMAIL},
        {"network-traffic:dst_ref.value", T_ADDR},
        {"network-traffic:src_ref.value", T_ADDR},
        {"network-traffic:extensions.http-request-ext.request_header.user-agent", MM_IND_USER_AGENT},
    };
    for (size_t k = 0; k < sizeof tab / sizeof *tab; k++)
        if (!strcmp(p, tab[k].path)) return tab[k].t;
    const char *h = strstr(p, "hashes.");
    if (h && (h == p || h[-1] == '.' || h[-1] == ':') && !strchr(h + 7, '.')) return hash_alg(h + 7);
    return MM_IND_NONE;
}

static int type_rank(mm_ind_type t) {
    switch (t) {
    case MM_IND_MD5: case MM_IND_SHA1: case MM_IND_SHA256: return RANK_HASH;
    case MM_IND_URL: return RANK_URL;
    case MM_IND_JA3: return RANK_JA3;
    case MM_IND_EMAIL: return RANK_EMAIL;
    case MM_IND_DOMAIN: return RANK_DOMAIN;
    case MM_IND_IP: return RANK_IP;
    case MM_IND_USER_AGENT: return RANK_UA;
    default: return RANK_FILE;
    }
}

static bool is_hash(mm_ind_type t) {
    return t == MM_IND_MD5 || t == MM_IND_SHA1 || t == MM_IND_SHA256;
}

/* An address reference holds an IP (or CIDR) or a domain name: digits, dots,
 * colons and a slash mean an address. */
static mm_ind_type addr_type(const char *v, uint32_t n) {
    bool colon = false;
    for (uint32_t k = 0; k < n; k++) {
        char c = v[k];
        if (c == ':') colon = true;
        else if (!((c >= '0' && c <= '9') || c == '.' || c == '/' || (colon && hexval(c) >= 0))) return MM_IND_DOMAIN;
    }
    return MM_IND_IP;
}

/* A MATCHES regex that is only an anchored literal (^evil\.example$) is kept as
 * that literal; any other regex is refused.  Returns the literal's length in
 * place, or -1. */
static int regex_literal(char *r, uint32_t n) {
    if (n < 2 || r[0] != '^' || r[n - 1] != '$' || (n >= 3 && r[n - 2] == '\\')) return -1;
    uint32_t o = 0;
    for (uint32_t k = 1; k + 1 < n; k++) {
        char c = r[k];
        if (c == '\\') {
            char e = r[++k];
            if (is_word(e) && e != '-' && e != '_') return -1;   /* \d, \w, \b...: classes */
            r[o++] = e;
        } else if (strchr(".[]()*+?{}|^$", c)) {
            return -1;
        } else {
            r[o++] = c;
        }
    }
    return o ? (int)o : -1;
}

static void push(pctx *P, mm_ind_type t, uint32_t off, uint32_t len) {
    if (P->fatal) return;
    if (P->ny >= PAT_MAX_VALUES) return fail(P, "too many values in one pattern");
    if (P->ny == P->ycap) {
        size_t nc = P->ycap ? P->ycap * 2 : 16;
        pyield *ny = realloc(P->y, nc * sizeof *ny);
        if (!ny) return fail(P, "out of memory");
        P->y = ny;
        P->ycap = nc;
    }
    P->y[P->ny++] = (pyield){t, off, len};
}

/* Appends one value for a comparison of type t, converting binary literals:
 * on hash paths a hash is its hex text, so b64'...' bytes are written as hex. */
static void push_value(pctx *P, mm_ind_type t, pval *v) {
    uint32_t off = v->off, len = v->len;
    if (v->kind == 'b' && is_hash(t)) {
        off = (uint32_t)P->blen;
        for (uint32_t k = 0; k < v->len; k++) {
            unsigned char b = (unsigned char)P->buf[v->off + k];
            P->buf[P->blen++] = "0123456789abcdef"[b >> 4];
            P->buf[P->blen++] = "0123456789abcdef"[b & 15];
        }
        len = v->len * 2;
    }
    if (t == T_ADDR) t = addr_type(P->buf + off, len);
    push(P, t, off, len);
}

static pres comp_or(pctx *P);

/* One comparison: path [NOT] op value. */
static pres comparison(pctx *P) {
    pres r = {P->ny, -1, true, NULL};
    size_t save_b = P->blen;
    char path[PAT_MAX_PATH];
    size_t plen;
    if (kw(P, "EXISTS")) {
        if (read_path(P, path, &plen)) r.why = "operator EXISTS";
        return r;
    }
    if (!read_path(P, path, &plen)) return r;
    bool neg = kw(P, "NOT");
    ws(P);
    const char *op = NULL;
    static const char *const ops[] = {"!=", "<=", ">=", "=", "<", ">"};
    for (size_t k = 0; k < sizeof ops / sizeof *ops && !op; k++)
        if (P->n - P->i >= strlen(ops[k]) && !memcmp(P->s + P->i, ops[k], strlen(ops[k]))) op = ops[k];
    if (op) {
        P->i += strlen(op);
    } else {
        static const char *const words[] = {"IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"};
        for (size_t k = 0; k < sizeof words / sizeof *words && !op; k++)
            if (kw(P, words[k])) op = words[k];
        if (!op) return fail_at(P, "operator expected"), r;
    }
    /* the value(s): read even when refused, so an OR can go on past them */
    pval vals[1];
    bool list = !strcmp(op, "IN");
    size_t y0 = P->ny;
    mm_ind_type t = path_type(path);
    if (list) {
        if (!eat(P, '(')) return fail_at(P, "( expected after IN"), r;
        do {
            if (!read_value(P, vals)) return r;
            if (t != MM_IND_NONE && !neg && vals->kind != 'o') push_value(P, t, vals);
        } while (eat(P, ','));
        if (!eat(P, ')')) return fail_at(P, ") expected"), r;
    } else {
        if (!read_value(P, vals)) return r;
    }
    if (P->fatal) return r;
    /* decide */
    const char *why = NULL;
    if (t == MM_IND_NONE) why = reasonf(P, "unsupported object path", path, plen);
    else if (neg || !strcmp(op, "!=")) why = "negation (NOT / !=)";
    else if (vals->kind == 'o') why = "non-string value";
    else if (!strcmp(op, "=") || list) {
        if (!list) push_value(P, t, vals);
    } else if (!strcmp(op, "ISSUBSET")) {
        if (t == MM_IND_IP || t == T_ADDR) push_value(P, MM_IND_IP, vals);
        else why = "operator ISSUBSET on a non-address path";
    } else if (!strcmp(op, "MATCHES")) {
        int l = vals->kind == 's' ? regex_literal(P->buf + vals->off, vals->len) : -1;
        if (l < 0) why = "operator MATCHES (regex)";
        else {
            vals->len = (uint32_t)l;
            push_value(P, t, vals);
        }
    } else {
        static const char *const opw[][2] = {{"<", "operator <"}, {">", "operator >"}, {"<=", "operator <="},
                                             {">=", "operator >="}, {"LIKE", "operator LIKE"},
                                             {"ISSUPERSET", "operator ISSUPERSET"}};
        why = "unsupported operator";
        for (size_t k = 0; k < sizeof opw / sizeof *opw; k++)
            if (!strcmp(op, opw[k][0])) why = opw[k][1];
    }
    if (why || P->fatal) {
        P->ny = y0;
        P->blen = save_b;
        r.why = why;
        return r;
    }
    r.rank = -1;
    for (size_t k = y0; k < P->ny; k++) {
        int rk = type_rank(P->y[k].type);
        if (rk > r.rank) r.rank = rk;
    }
    if (P->ny == y0) r.why = "no value";
    return r;
}

static pres comp_unit(pctx *P) {
    if (eat(P, '(')) {
        if (++P->depth > PAT_MAX_DEPTH) {
            fail(P, "nesting too deep");
            return (pres){P->ny, -1, true, NULL};
        }
        pres r = comp_or(P);
        P->depth--;
        if (!P->fatal && !eat(P, ')')) fail_at(P, ") expected");
        return r;
    }
    return comparison(P);
}

static bool all_hashes(pctx *P, size_t from, size_t to) {
    for (size_t k = from; k < to; k++)
        if (!is_hash(P->y[k].type)) return false;
    return from < to;
}

/* AND inside one observation: every match of the whole matches each side, so
 * one side alone is a sound (broader) indicator.  Keep the most specific side
 * (a hash over a file name, an IP over a port...); unsupported sides only
 * narrow the match and are dropped without loss of coverage.  Hash sides are
 * all kept: md5 AND sha256 of one file are each that file. */
static pres comp_and(pctx *P) {
    pres best = comp_unit(P);
    while (!P->fatal && kw(P, "AND")) {
        pres c = comp_unit(P);
        if (P->fatal) break;
        if (c.rank < 0) {
            if (!best.why) best.why = c.why;
            continue;
        }
        bool keep_both = best.rank == RANK_HASH && c.rank == RANK_HASH && all_hashes(P, best.start, c.start) &&
                         all_hashes(P, c.start, P->ny);
        bool better = best.rank < 0 || (c.complete && !best.complete) ||
                      (c.complete == best.complete && c.rank < best.rank);
        if (keep_both) {
            best.complete = best.complete && c.complete;
        } else if (better) {
            size_t n = P->ny - c.start;
            memmove(P->y + best.start, P->y + c.start, n * sizeof *P->y);
            P->ny = best.start + n;
            const char *w = best.why ? best.why : c.why;
            best = c;
            best.start = P->ny - n;
            best.why = w;
        } else {
            P->ny = c.start;
        }
    }
    return best;
}

/* OR: the union; a branch that yields nothing makes the result incomplete. */
static pres comp_or(pctx *P) {
    pres r = comp_and(P);
    if (r.rank < 0) r.complete = false;
    while (!P->fatal && kw(P, "OR")) {
        pres c = comp_and(P);
        if (P->fatal) break;
        if (c.rank < 0 || !c.complete) {
            r.complete = false;
            if (!r.why) r.why = c.why;
        }
        if (c.rank > r.rank) r.rank = c.rank;
    }
    if (r.rank >= 0 && !r.complete && !r.why) r.why = "part of the pattern yields nothing";
    return r;
}

static void qualifiers(pctx *P) {
    static const char *const q[] = {"WITHIN", "REPEATS", "START", "STOP"};
    for (size_t k = 0; k < sizeof q / sizeof *q; k++)
        if (kw(P, q[k])) {
            static const char *const qw[] = {"qualifier WITHIN", "qualifier REPEATS", "qualifier START",
                                             "qualifier STOP"};
            fail(P, qw[k]);
            return;
        }
}

static pres obs_or(pctx *P);

static pres obs_unit(pctx *P) {
    pres r = {P->ny, -1, true, NULL};
    if (++P->depth > PAT_MAX_DEPTH) {
        fail(P, "nesting too deep");
        return r;
    }
    if (eat(P, '[')) {
        r = comp_or(P);
        if (!P->fatal && !eat(P, ']')) fail_at(P, "] expected");
    } else if (eat(P, '(')) {
        r = obs_or(P);
        if (!P->fatal && !eat(P, ')')) fail_at(P, ") expected");
    } else {
        fail_at(P, "[ expected");
    }
    P->depth--;
    if (!P->fatal) qualifiers(P);
    return r;
}

/* Observations joined by OR are independent indicators.  AND and FOLLOWEDBY
 * between observations (and qualifiers) describe sequences of events that a
 * per-event matcher cannot honour: the whole pattern is refused. */
static pres obs_or(pctx *P) {
    pres r = obs_unit(P);
    if (r.rank < 0) r.complete = false;
    for (;;) {
        if (P->fatal) break;
        if (kw(P, "AND")) {
            fail(P, "observation AND");
            break;
        }
        if (kw(P, "FOLLOWEDBY")) {
            fail(P, "observation FOLLOWEDBY");
            break;
        }
        if (!kw(P, "OR")) break;
        pres c = obs_unit(P);
        if (c.rank < 0 || !c.complete) {
            r.complete = false;
            if (!r.why) r.why = c.why;
        }
        if (c.rank > r.rank) r.rank = c.rank;
    }
    return r;
}

/* The subset kept: observations [ ... ] joined by OR; inside one, comparisons
 * joined by AND / OR with parentheses (AND keeps its most specific side, see
 * comp_and); operators = and IN, ISSUBSET on address paths (CIDR), MATCHES only
 * when the regex is an anchored literal.  Refused: !=, NOT, LIKE, <, >, EXISTS,
 * ISSUPERSET, other regexes, unsupported object paths (each with its reason;
 * within an OR the other branches still yield, and *why tells what was lost);
 * observation AND / FOLLOWEDBY and qualifiers (the whole pattern). */
int mm_stix_pattern(const char *pattern, size_t len,
                    void (*fn)(void *ctx, mm_ind_type type, const char *value, size_t n), void *ctx,
                    const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    *why = NULL;
    if (!pattern || !len) return *why = "empty pattern", -1;
    if (len > PAT_MAX_LEN) return *why = "pattern too long", -1;
    pctx P = {.s = pattern, .n = len};
    /* every value byte comes from a distinct input byte, except hashes given in
     * b64'' which are rewritten as hex: 3 * len bounds both */
    P.bcap = 3 * len + 64;
    P.buf = malloc(P.bcap);
    if (!P.buf) return *why = "out of memory", -1;
    pres r = obs_or(&P);
    ws(&P);
    if (!P.fatal && P.i < P.n) fail_at(&P, "trailing text");
    int rc;
    if (P.fatal) {
        *why = P.fatal;
        rc = -1;
    } else if (r.rank < 0 || P.ny == 0) {
        *why = r.why ? r.why : "no supported comparison";
        rc = -1;
    } else {
        for (size_t k = 0; k < P.ny; k++)
            if (fn) fn(ctx, P.y[k].type, P.buf + P.y[k].off, P.y[k].len);
        if (!r.complete) *why = r.why;
        rc = (int)P.ny;
    }
    free(P.buf);
    free(P.y);
    return rc;
}

/* ------------------------------------------------------------------ bundles */

/* A bounded list of distinct names, "a, b" (or "T1071,T1105" with sep ","). */
typedef struct slist {
    char s[1024];
    size_t n;
} slist;

static void sl_add(slist *l, const char *sep, const char *v) {
    if (!v || !*v) return;
    size_t vl = strlen(v), sl = strlen(sep);
    /* already there? compare item by item */
    for (const char *p = l->s; l->n;) {
        const char *e = strstr(p, sep);
        size_t il = e ? (size_t)(e - p) : strlen(p);
        if (il == vl && !memcmp(p, v, vl)) return;
        if (!e) break;
        p = e + sl;
    }
    size_t need = vl + (l->n ? sl : 0);
    if (l->n + need + 1 > sizeof l->s) return;   /* full: whole items only */
    if (l->n) memcpy(l->s + l->n, sep, sl), l->n += sl;
    memcpy(l->s + l->n, v, vl);
    l->n += vl;
    l->s[l->n] = 0;
}

static const char *sl_get(const slist *l) {
    return l->n ? l->s : NULL;
}

typedef struct sctx {
    json_t *byid;   /* id -> object */
    json_t *out;    /* source_ref -> [relationship] */
    json_t *in;     /* target_ref -> [relationship] */
    slist actor, campaign, malware, attack, action, kill_chain;
} sctx;

static const char *sget(const json_t *o, const char *k) {
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void index_add(json_t *map, const char *key, json_t *rel) {
    if (!key) return;
    json_t *a = json_object_get(map, key);
    if (!a) {
        a = json_array();
        if (!a || json_object_set_new(map, key, a)) return;
    }
    json_array_append(a, rel);
}

/* An attack-pattern as ATT&CK id when it has one, else its name. */
static void add_attack(sctx *c, const json_t *ap) {
    const json_t *refs = json_object_get(ap, "external_references"), *e;
    size_t i;
    json_array_foreach(refs, i, e) {
        const char *src = sget(e, "source_name"), *id = sget(e, "external_id");
        if (src && id && !strcasecmp(src, "mitre-attack")) {
            sl_add(&c->attack, ",", id);
            return;
        }
    }
    sl_add(&c->attack, ",", sget(ap, "name"));
}

static void add_actions(sctx *c, const char *id) {
    const json_t *rels = json_object_get(c->in, id), *r;
    size_t i;
    json_array_foreach(rels, i, r) {
        const char *rt = sget(r, "relationship_type");
        const json_t *coa = json_object_get(c->byid, sget(r, "source_ref") ? sget(r, "source_ref") : "");
        const char *ty = sget(coa, "type");
        if (!rt || strcmp(rt, "mitigates") || !ty || strcmp(ty, "course-of-action")) continue;
        const char *name = sget(coa, "name");
        sl_add(&c->action, "; ", name && *name ? name : sget(coa, "description"));
    }
}

static bool type_is(const char *t, const char *a) {
    return t && !strcmp(t, a);
}

/* Follows one relationship hop out of an object the indicator points at:
 * campaign --attributed-to--> actor, X --uses--> attack-pattern. */
static void follow(sctx *c, const json_t *obj) {
    const json_t *rels = json_object_get(c->out, sget(obj, "id") ? sget(obj, "id") : ""), *r;
    const char *ot = sget(obj, "type");
    size_t i;
    json_array_foreach(rels, i, r) {
        const char *rt = sget(r, "relationship_type"), *tr = sget(r, "target_ref");
        const json_t *t = tr ? json_object_get(c->byid, tr) : NULL;
        const char *tt = sget(t, "type");
        if (!rt || !t) continue;
        if (!strcmp(rt, "attributed-to") && type_is(ot, "campaign") &&
            (type_is(tt, "threat-actor") || type_is(tt, "intrusion-set")))
            sl_add(&c->actor, ", ", sget(t, "name"));
        else if (!strcmp(rt, "uses") && type_is(tt, "attack-pattern"))
            add_attack(c, t);
    }
}

/* The 5W1H of one indicator, from what it indicates and what mitigates it. */
static void resolve(sctx *c, const json_t *ind) {
    const char *id = sget(ind, "id");
    if (!id) return;
    const json_t *rels = json_object_get(c->out, id), *r;
    size_t i;
    json_array_foreach(rels, i, r) {
        const char *rt = sget(r, "relationship_type"), *tr = sget(r, "target_ref");
        const json_t *t = tr ? json_object_get(c->byid, tr) : NULL;
        const char *tt = sget(t, "type");
        if (!rt || strcmp(rt, "indicates") || !tt) continue;
        const char *name = sget(t, "name");
        if (!strcmp(tt, "malware") || !strcmp(tt, "tool")) sl_add(&c->malware, ", ", name);
        else if (!strcmp(tt, "threat-actor") || !strcmp(tt, "intrusion-set")) sl_add(&c->actor, ", ", name);
        else if (!strcmp(tt, "campaign")) sl_add(&c->campaign, ", ", name);
        else if (!strcmp(tt, "attack-pattern")) add_attack(c, t);
        else continue;
        follow(c, t);
        add_actions(c, tr);
    }
    add_actions(c, id);
}

/* TLP levels from the most open to the most restricted; several markings: the
 * most restricted wins. */
static const char *const tlp_levels[] = {"clear", "green", "amber", "amber+strict", "red"};

static int tlp_level(const char *s) {
    if (!s) return -1;
    if (!strncasecmp(s, "tlp:", 4)) s += 4;
    if (!strcasecmp(s, "white")) return 0;
    for (int k = 0; k < 5; k++)
        if (!strcasecmp(s, tlp_levels[k])) return k;
    return -1;
}

/* The marking definitions every producer shares (STIX 2.1 §7.2.1.4 for TLP 1.0,
 * the OASIS TLP 2.0 extension for 2.0), so a bundle need not carry them. */
static int tlp_well_known(const char *id) {
    static const struct {
        const char *uuid;
        int level;
    } tab[] = {
        {"613f2e26-407d-48c7-9eca-b8e91df99dc9", 0}, {"34098fce-860f-48ae-8e50-ebd3cc5e41da", 1},
        {"f88d31f6-486f-44da-b317-01333bde0b82", 2}, {"5e57c739-391a-4eb3-b6be-7d15ca92d5ed", 4},
        {"94868c89-83c2-464b-929b-a1a8aa3c8487", 0}, {"bab4a63c-aed9-4cf5-a766-dfca5abac2bb", 1},
        {"55d920b0-5e8b-4f79-9ee9-91f868d9b421", 2}, {"939a9414-2ddd-4d32-a0cd-375ea402b003", 3},
        {"e828b379-4e03-4974-9ac4-e53a884c97c1", 4},
    };
    if (strncmp(id, "marking-definition--", 20)) return -1;
    for (size_t k = 0; k < sizeof tab / sizeof *tab; k++)
        if (!strcasecmp(id + 20, tab[k].uuid)) return tab[k].level;
    return -1;
}

static int tlp_of_marking(const json_t *m) {
    const char *dt = sget(m, "definition_type");
    if (dt && !strcasecmp(dt, "tlp")) {
        int l = tlp_level(sget(json_object_get(m, "definition"), "tlp"));
        if (l >= 0) return l;
    }
    const json_t *ext = json_object_get(m, "extensions"), *e;
    const char *k;
    json_object_foreach((json_t *)ext, k, e) {
        int l = tlp_level(sget(e, "tlp_2_0"));
        if (l >= 0) return l;
    }
    const char *name = sget(m, "name");
    return name && !strncasecmp(name, "tlp:", 4) ? tlp_level(name) : -1;
}

static const char *tlp_of(sctx *c, const json_t *ind) {
    int best = -1;
    const json_t *refs = json_object_get(ind, "object_marking_refs"), *r;
    size_t i;
    json_array_foreach(refs, i, r) {
        if (!json_is_string(r)) continue;
        const char *id = json_string_value(r);
        int l = tlp_well_known(id);
        if (l < 0) l = tlp_of_marking(json_object_get(c->byid, id));
        if (l > best) best = l;
    }
    if (best < 0) {   /* feeds converted from MISP carry "tlp:amber" as a label */
        json_array_foreach(json_object_get(ind, "labels"), i, r) {
            int l = json_is_string(r) && !strncasecmp(json_string_value(r), "tlp:", 4) ? tlp_level(json_string_value(r)) : -1;
            if (l > best) best = l;
        }
    }
    return best >= 0 ? tlp_levels[best] : NULL;
}

static int64_t tget(const json_t *o, const char *k) {
    const char *s = sget(o, k);
    int64_t ns = 0;
    if (!s || !mm_time_parse(mm_str_c(s), &ns)) return 0;
    return ns;
}

static void refuse(mm_intel_stats *st, uint64_t *counter, const char *id, const char *why) {
    st->skipped++;
    (*counter)++;
    snprintf(st->last_reason, sizeof st->last_reason, "%s: %s", id ? id : "indicator", why);
}

typedef struct ycoll {
    struct {
        mm_ind_type t;
        char *v;
        size_t n;
    } *a;
    size_t n, cap;
    bool oom;
} ycoll;

static void collect(void *ctx, mm_ind_type t, const char *v, size_t n) {
    ycoll *c = ctx;
    if (c->oom) return;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        void *na = realloc(c->a, nc * sizeof *c->a);
        if (!na) return (void)(c->oom = true);
        c->a = na;
        c->cap = nc;
    }
    char *copy = malloc(n + 1);
    if (!copy) return (void)(c->oom = true);
    memcpy(copy, v, n);
    copy[n] = 0;
    c->a[c->n].t = t;
    c->a[c->n].v = copy;
    c->a[c->n++].n = n;
}

static void ycoll_free(ycoll *c) {
    for (size_t k = 0; k < c->n; k++) free(c->a[k].v);
    free(c->a);
}

/* One indicator object -> records.  Returns non-zero when the callback stops. */
static int indicator(sctx *c, const json_t *ind, const char *feed, mm_indicator_fn fn, void *ctx,
                     mm_intel_stats *st) {
    const char *id = sget(ind, "id");
    st->objects++;
    const char *pt = sget(ind, "pattern_type");   /* absent in STIX 2.0: stix */
    if (pt && strcasecmp(pt, "stix")) {
        char why[96];
        snprintf(why, sizeof why, "pattern_type %.60s", pt);
        refuse(st, &st->unsupported_type, id, why);
        return 0;
    }
    const json_t *pj = json_object_get(ind, "pattern");
    if (!json_is_string(pj)) {
        refuse(st, &st->malformed, id, "indicator without a pattern");
        return 0;
    }
    ycoll y = {0};
    const char *why = NULL;
    int n = mm_stix_pattern(json_string_value(pj), json_string_length(pj), collect, &y, &why);
    if (y.oom) {
        refuse(st, &st->malformed, id, "out of memory");
        ycoll_free(&y);
        return 0;
    }
    if (n < 0) {
        refuse(st, &st->unsupported_pattern, id, why);
        ycoll_free(&y);
        return 0;
    }
    if (why) {   /* part of an OR refused: the rest is imported, the loss counted */
        char w[200];
        snprintf(w, sizeof w, "partly imported: %s", why);
        refuse(st, &st->unsupported_pattern, id, w);
    }
    memset(&c->actor, 0, sizeof c->actor);
    c->campaign = c->malware = c->attack = c->action = c->kill_chain = c->actor;
    resolve(c, ind);
    const json_t *kc = json_object_get(ind, "kill_chain_phases"), *e;
    size_t i;
    json_array_foreach(kc, i, e) sl_add(&c->kill_chain, ",", sget(e, "phase_name"));

    mm_indicator r = {0};
    r.feed = feed;
    r.id = id;
    r.first_seen = tget(ind, "created");
    r.last_seen = tget(ind, "modified");
    r.valid_from = tget(ind, "valid_from");
    r.valid_until = tget(ind, "valid_until");
    const json_t *cf = json_object_get(ind, "confidence");
    r.confidence = json_is_integer(cf) && json_integer_value(cf) >= 0 && json_integer_value(cf) <= 100
                       ? (int)json_integer_value(cf) : -1;
    r.tlp = tlp_of(c, ind);
    r.revoked = json_is_true(json_object_get(ind, "revoked"));
    r.actor = sl_get(&c->actor);
    r.campaign = sl_get(&c->campaign);
    r.malware = sl_get(&c->malware);
    r.kill_chain = sl_get(&c->kill_chain);
    r.attack = sl_get(&c->attack);
    r.action = sl_get(&c->action);
    const char *d = sget(ind, "description");
    r.description = d && *d ? d : sget(ind, "name");
    int stop = 0;
    for (size_t k = 0; k < y.n && !stop; k++) {
        const char *bad = mm_intel_value_check(y.a[k].t, y.a[k].v, y.a[k].n);
        if (bad) {
            char w[200];
            snprintf(w, sizeof w, "%s '%.80s'", bad, y.a[k].v);
            refuse(st, &st->bad_value, id, w);
            continue;
        }
        r.type = y.a[k].t;
        r.value = y.a[k].v;
        st->imported++;
        stop = fn ? fn(ctx, &r) : 0;
    }
    ycoll_free(&y);
    return stop;
}

int mm_stix_read(const char *json, size_t len, const char *feed, mm_indicator_fn fn, void *ctx,
                 mm_intel_stats *st, mm_err *err) {
    mm_intel_stats dummy;
    if (!st) st = &dummy;
    json_error_t jerr;
    json_t *root = json ? json_loadb(json, len, JSON_ALLOW_NUL, &jerr) : NULL;
    if (!root) {
        st->malformed++;
        if (err) mm_err_set(err, "not JSON: %s (line %d column %d)", json ? jerr.text : "no data", json ? jerr.line : 0,
                            json ? jerr.column : 0);
        return MM_EINVAL;
    }
    /* a bundle or a TAXII envelope ({"objects": [...]}), a bare list, or one object */
    json_t *objs = json_is_object(root) ? json_object_get(root, "objects") : json_is_array(root) ? root : NULL;
    json_t *single = NULL;
    if (!json_is_array(objs)) {
        if (json_is_object(root) && sget(root, "type") && sget(root, "id")) {
            single = json_array();
            json_array_append(single, root);
            objs = single;
        } else {
            json_decref(root);
            st->malformed++;
            if (err) mm_err_set(err, "not STIX: no objects and no single STIX object");
            return MM_EINVAL;
        }
    }
    sctx c = {.byid = json_object(), .out = json_object(), .in = json_object()};
    int rc = 0;
    if (!c.byid || !c.out || !c.in) {
        rc = MM_ENOMEM;
        if (err) mm_err_set(err, "out of memory");
        goto done;
    }
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) {
        const char *id = sget(o, "id"), *t = sget(o, "type");
        if (!id || !t) continue;
        json_object_set(c.byid, id, o);
        if (!strcmp(t, "relationship")) {
            index_add(c.out, sget(o, "source_ref"), o);
            index_add(c.in, sget(o, "target_ref"), o);
        }
    }
    json_array_foreach(objs, i, o) {
        if (!json_is_object(o)) {
            st->malformed++;
            st->skipped++;
            snprintf(st->last_reason, sizeof st->last_reason, "objects[%zu] is not an object", i);
            continue;
        }
        if (!type_is(sget(o, "type"), "indicator")) continue;
        if (indicator(&c, o, feed, fn, ctx, st)) break;
    }
done:
    json_decref(c.byid);
    json_decref(c.out);
    json_decref(c.in);
    json_decref(single);
    json_decref(root);
    return rc;
}
