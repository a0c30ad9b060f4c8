/* mime: streaming RFC 5322 / MIME parser (see mime.h for the contract).
 *
 * The input is cut into physical lines by a small line reader that never holds more
 * than LINE_CAP bytes: a longer line is delivered in pieces, and only a line's first
 * piece is looked at for a boundary (a boundary line is short, so that is enough).
 * Header lines are unfolded into one field buffer (capped); body lines go through
 * the part's transfer decoder to the callbacks and the URL scanner.  The line break
 * in front of a boundary belongs to the boundary (RFC 2046 §5.1.1), so each body
 * line's break is held back until the next line is known not to be a boundary.
 *
 * A message is hostile input: every buffer has a cap, every cap that bites is
 * reported once per kind through the anomaly callback, and work per input byte is
 * bounded (boundary checks walk at most MIME_DEPTH_MAX levels). */
#define _GNU_SOURCE
#include "mime.h"
#include "sensor_int.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_CAP 1024             /* physical line piece; > 2 + BOUNDARY_MAX + 2 */
#define FIELD_CAP (64 * 1024)     /* one unfolded header field */
#define FIELDS_MAX 200            /* fields per header block */
#define DEPTH_MAX 20              /* containers (multipart, message/rfc822) nested */
#define BOUNDARY_MAX 200          /* RFC 2046 says 70 */
#define PARTS_MAX 10000           /* leaf parts reported per message */
#define TOP_SMALL_CAP (4 * 1024)  /* stored top-level fields (From, Subject...) */
#define TOP_LIST_CAP (32 * 1024)  /* stored To and Cc */
#define SUBJECT_CAP (4 * 1024)    /* decoded subject */
#define WORDS_STAGE 4096          /* bytes of one run of encoded words before conversion */

enum { S_HEADER, S_LEAF, S_SKIP, S_END };

/* Anomalies, each reported at most once per message. */
enum {
    A_FIELD_CUT, A_FIELDS_MAX, A_DEPTH, A_BOUNDARY_LONG, A_NO_BOUNDARY, A_BAD_HEADER,
    A_BAD_B64, A_BAD_QP, A_PARTS, A_URLS, A_URL_LONG, A_UNCLOSED, A_NOMEM, A_COUNT
};
static const char *const anomaly_text[A_COUNT] = {
    "mime header field over 64 KiB cut",
    "mime header over 200 fields",
    "mime nesting over 20 levels",
    "mime boundary over 200 bytes",
    "mime multipart without boundary",
    "mime malformed header line",
    "mime invalid base64",
    "mime invalid quoted-printable",
    "mime over 10000 parts",
    "mime over 100 urls",
    "mime url over 2 KiB cut",
    "mime multipart not closed",
    "mime out of memory",
};

typedef struct level {
    char b[BOUNDARY_MAX];
    uint8_t bl;
    int depth;                   /* depth of the multipart entity itself */
} level;

struct mm_mime {
    mm_mime_cbs cb;
    void *ctx;
    int state;

    /* line reader */
    uint8_t lb[LINE_CAP];
    size_t ll;
    bool lcont;                  /* pieces of the current line were delivered */
    bool skip_rest;              /* ignore the rest of the current line */
    bool resync;                 /* after a gap: drop bytes up to the next LF */
    uint8_t eol[2];              /* held-back line break of the last body line */
    int eoln;

    /* header block */
    bool top;                    /* the block is the message's own header */
    bool block_first;            /* no line of the block seen yet */
    int hdepth;
    char *fb;                    /* current field, unfolded */
    size_t fl, fcap;
    bool fhave, fdrop, fcut;
    unsigned nfields;
    bool ct_seen, disp_seen, cte_seen, fn_from_disp;
    bool disp_attach;
    char bnd[BOUNDARY_MAX];
    size_t bndl;
    bool bnd_have;

    /* the current part */
    mm_mime_part cur;
    bool reported;               /* the leaf was announced (part_begin) */
    bool html;
    uint32_t b64acc;
    int b64n;
    int qpst;
    uint8_t qph;

    level lv[DEPTH_MAX];
    int nlv;

    /* the message */
    char *hdr[MM_MIME_NHDR];
    bool xm_from_ua;
    char *subject;
    char ctype[96];
    bool ctype_set;
    unsigned parts;
    uint32_t reported_anom;

    /* URL scanner: the current run of non-delimiter bytes */
    char tok[MM_MIME_URL_MAX];
    size_t tl;
    bool tok_over;
    char *urls[MM_MIME_URLS_MAX];
    size_t nurls;
};

/* ------------------------------------------------------------ small helpers */

static inline uint8_t lc(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }
static inline bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static inline bool is_alnum(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}


static void trim(const char **p, size_t *n) {
    while (*n && is_ws((uint8_t)**p)) (*p)++, (*n)--;
    while (*n && is_ws((uint8_t)(*p)[*n - 1])) (*n)--;
}

static int hexv(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = lc(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static const int8_t b64map[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
    ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
    ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
    ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,
    ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
    ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
    ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
    ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};   /* value + 1; 0 = not in the alphabet */

long mm_mime_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, bool stop_at_pad) {
    uint32_t acc = 0;
    int k = 0;
    size_t o = 0;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        int v = b64map[(uint8_t)in[i]];
        if (!v) {
            if (stop_at_pad && in[i] == '=') break;
            continue;
        }
        any = true;
        acc = acc << 6 | (uint32_t)(v - 1);
        if (++k == 4) {
            if (o + 3 > cap) return (long)o;
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            k = 0;
            acc = 0;
        }
    }
    if (k == 2 && o < cap) out[o++] = (uint8_t)(acc >> 4);
    if (k == 3 && o + 2 <= cap) {
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    return any ? (long)o : -1;
}

/* ------------------------------------------------------------ charsets */

/* Escape one byte that did not convert, if it fits. */
static bool put_esc(char *out, size_t *o, size_t lim, uint8_t c) {
    static const char hx[] = "0123456789ABCDEF";
    if (*o + 4 > lim) return false;
    out[(*o)++] = '\\';
    out[(*o)++] = 'x';
    out[(*o)++] = hx[c >> 4];
    out[(*o)++] = hx[c & 15];
    return true;
}

/* Length of the valid UTF-8 sequence at p (0 if invalid). */
static size_t utf8_seq(const uint8_t *p, size_t n) {
    uint8_t c = p[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t min, cp;
    if (c >= 0xC2 && c <= 0xDF) len = 2, min = 0x80, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, min = 0x800, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, min = 0x10000, cp = c & 0x07;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* UTF-8 in, UTF-8 out; invalid bytes (and NUL, which would cut the C string the
 * callers see) escaped.  Appends at out+*o, below lim. */
static void utf8_copy(const uint8_t *in, size_t n, char *out, size_t *o, size_t lim) {
    size_t i = 0;
    while (i < n) {
        size_t k = in[i] ? utf8_seq(in + i, n - i) : 0;
        if (!k) {
            if (!put_esc(out, o, lim, in[i])) return;
            i++;
            continue;
        }
        if (*o + k > lim) return;
        memcpy(out + *o, in + i, k);
        *o += k;
        i += k;
    }
}

enum { CS_UTF8, CS_ICONV, CS_JIS };

/* Map a declared charset to what glibc iconv should use.  Labels are widened the way
 * mail clients and browsers do (ISO-8859-1 -> Windows-1252, Shift_JIS -> CP932),
 * since mail labelled with the narrow set routinely contains the wide one. */
static int charset_pick(const char *cs, size_t n, char *name, size_t cap) {
    char l[48];
    while (n && (is_ws((uint8_t)*cs) || *cs == '"')) cs++, n--;
    while (n && (is_ws((uint8_t)cs[n - 1]) || cs[n - 1] == '"')) n--;
    if (n == 0 || n >= sizeof l) return CS_UTF8;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)cs[i];
        if (!is_alnum(c) && c != '-' && c != '_' && c != '.' && c != ':') return CS_UTF8;
        l[i] = (char)lc(c);
    }
    l[n] = 0;
    static const char *const utf8[] = {"utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968",
                                       "unicode-1-1-utf-8", "x-unknown", "unknown-8bit",
                                       "default", "unknown", NULL};
    for (int i = 0; utf8[i]; i++)
        if (!strcmp(l, utf8[i])) return CS_UTF8;
    static const struct { const char *label, *iconv; } map[] = {
        {"shift_jis", "CP932"}, {"shift-jis", "CP932"}, {"sjis", "CP932"},
        {"x-sjis", "CP932"}, {"ms_kanji", "CP932"}, {"csshiftjis", "CP932"},
        {"windows-31j", "CP932"}, {"cp932", "CP932"}, {"ms932", "CP932"},
        {"x-ms-cp932", "CP932"}, {"euc-jp", "EUC-JP-MS"}, {"x-euc-jp", "EUC-JP-MS"},
        {"eucjp", "EUC-JP-MS"}, {"iso-8859-1", "WINDOWS-1252"}, {"latin1", "WINDOWS-1252"},
        {"iso8859-1", "WINDOWS-1252"}, {"iso_8859-1", "WINDOWS-1252"},
        {"ks_c_5601-1987", "CP949"}, {"euc-kr", "CP949"}, {"ks_c_5601", "CP949"},
        {"gb2312", "GB18030"}, {"gbk", "GB18030"}, {"x-gbk", "GB18030"},
        {NULL, NULL}};
    for (int i = 0; map[i].label; i++)
        if (!strcmp(l, map[i].label)) {
            snprintf(name, cap, "%s", map[i].iconv);
            return CS_ICONV;
        }
    if (!strncmp(l, "iso-2022-jp", 11) || !strcmp(l, "csiso2022jp") || !strcmp(l, "cp50220") ||
        !strcmp(l, "cp50221") || !strcmp(l, "cp50222"))
        return CS_JIS;
    for (size_t i = 0; i <= n && i < cap; i++) name[i] = (char)(l[i] >= 'a' && l[i] <= 'z' ? l[i] - 32 : l[i]);
    name[cap - 1] = 0;
    return CS_ICONV;
}

/* ISO-2022-JP to Shift_JIS bytes: JIS X 0208 pairs map arithmetically onto Shift_JIS,
 * and CP932 then decodes the vendor rows (NEC circled digits, IBM extensions) that
 * Outlook writes into "ISO-2022-JP" mail and glibc's ISO-2022-JP refuses. */
static size_t jis_to_sjis(const uint8_t *in, size_t n, uint8_t *out) {
    enum { ASCII, KANJI, KANA } mode = ASCII;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = in[i];
        if (c == 0x1B && i + 2 < n) {
            if (in[i + 1] == '$' && (in[i + 2] == 'B' || in[i + 2] == '@')) {
                mode = KANJI;
                i += 3;
                continue;
            }
            if (in[i + 1] == '$' && in[i + 2] == '(' && i + 3 < n && in[i + 3] == 'D') {
                mode = KANJI;   /* JIS X 0212: no Shift_JIS form, bytes will not convert */
                i += 4;
                continue;
            }
            if (in[i + 1] == '(' && (in[i + 2] == 'B' || in[i + 2] == 'J')) {
                mode = ASCII;
                i += 3;
                continue;
            }
            if (in[i + 1] == '(' && in[i + 2] == 'I') {
                mode = KANA;
                i += 3;
                continue;
            }
        }
        if (c == 0x0E) { mode = KANA; i++; continue; }   /* SO/SI (CP50222) */
        if (c == 0x0F) { mode = ASCII; i++; continue; }
        if (mode == KANJI && c >= 0x21 && c <= 0x7E && i + 1 < n && in[i + 1] >= 0x21 &&
            in[i + 1] <= 0x7E) {
            uint8_t j1 = c, j2 = in[i + 1];
            uint8_t s1 = (uint8_t)(((j1 + 1) >> 1) + (j1 <= 0x5E ? 0x70 : 0xB0));
            uint8_t s2 = (uint8_t)(j2 + ((j1 & 1) ? (j2 >= 0x60 ? 0x20 : 0x1F) : 0x7E));
            out[o++] = s1;
            out[o++] = s2;
            i += 2;
            continue;
        }
        if (mode == KANA && c >= 0x21 && c <= 0x5F) {
            out[o++] = (uint8_t)(c + 0x80);
            i++;
            continue;
        }
        out[o++] = c;
        i++;
    }
    return o;
}

static void conv_iconv(const char *name, const uint8_t *in, size_t n, char *out, size_t *o,
                       size_t lim) {
    iconv_t cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1) {
        utf8_copy(in, n, out, o, lim);
        return;
    }
    char *ip = (char *)in, *op = out + *o;
    size_t il = n, ol = lim - *o;
    while (il > 0) {
        if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1) break;
        if (errno == E2BIG) break;
        /* EILSEQ/EINVAL: keep the byte as an escape and go on */
        size_t done = (size_t)(op - out);
        if (!put_esc(out, &done, lim, (uint8_t)*ip)) break;
        op = out + done;
        ol = lim - done;
        ip++;
        il--;
        iconv(cd, NULL, NULL, NULL, NULL);
    }
    iconv(cd, NULL, NULL, &op, &ol);
    for (char *z = out + *o; z < op; z++)   /* a NUL character (UTF-16 input) */
        if (!*z) *z = '?';
    *o = (size_t)(op - out);
    iconv_close(cd);
}

/* Convert and append at out+*o, staying below lim. */
static void conv_append(const char *cs, size_t csn, const uint8_t *in, size_t n, char *out,
                        size_t *o, size_t lim) {
    char name[48];
    if (*o >= lim || n == 0) return;
    switch (charset_pick(cs, csn, name, sizeof name)) {
    case CS_UTF8:
        utf8_copy(in, n, out, o, lim);
        return;
    case CS_JIS: {
        uint8_t *tmp = malloc(n);
        if (!tmp) return;
        size_t tn = jis_to_sjis(in, n, tmp);
        conv_iconv("CP932", tmp, tn, out, o, lim);
        free(tmp);
        return;
    }
    default:
        conv_iconv(name, in, n, out, o, lim);
    }
}

size_t mm_mime_to_utf8(const char *charset, const void *in, size_t n, char *out, size_t cap) {
    if (!cap) return 0;
    size_t o = 0;
    conv_append(charset ? charset : "", charset ? strlen(charset) : 0, in, n, out, &o, cap - 1);
    out[o] = 0;
    return o;
}

/* ------------------------------------------------------------ RFC 2047 */

typedef struct words_stage {
    uint8_t raw[WORDS_STAGE];
    size_t rl;
    char cs[48];
    size_t csn;
} words_stage;

static void stage_flush(words_stage *st, char *out, size_t *o, size_t lim) {
    if (st->rl) conv_append(st->cs, st->csn, st->raw, st->rl, out, o, lim);
    st->rl = 0;
}

/* Parse an encoded word at in[j] ("=?cs?E?text?="); on success fills the parts and
 * returns the index just past it, else 0. */
static size_t word_parse(const char *in, size_t n, size_t j, const char **cs, size_t *csn,
                         char *enc, const char **txt, size_t *tn) {
    size_t k = j + 2, s = k;
    while (k < n && k - s < 40 && in[k] != '?' && (is_alnum((uint8_t)in[k]) || in[k] == '-' ||
                                                   in[k] == '_' || in[k] == '.' ||
                                                   in[k] == ':' || in[k] == '*'))
        k++;
    if (k >= n || in[k] != '?' || k == s) return 0;
    *cs = in + s;
    *csn = k - s;
    const char *star = memchr(*cs, '*', *csn);   /* RFC 2231 language suffix */
    if (star) *csn = (size_t)(star - *cs);
    if (k + 2 >= n || in[k + 2] != '?') return 0;
    *enc = (char)lc((uint8_t)in[k + 1]);
    if (*enc != 'b' && *enc != 'q') return 0;
    k += 3;
    size_t t = k;
    while (k + 1 < n && !(in[k] == '?' && in[k + 1] == '=')) {
        if (k - t > 4096) return 0;
        k++;
    }
    if (k + 1 >= n) return 0;
    *txt = in + t;
    *tn = k - t;
    return k + 2;
}

size_t mm_mime_decode_words(const char *in, size_t n, char *out, size_t cap) {
    if (!cap) return 0;
    words_stage *st = malloc(sizeof *st);
    size_t lim = cap - 1, o = 0;
    if (!st) {
        utf8_copy((const uint8_t *)in, n, out, &o, lim);
        out[o] = 0;
        return o;
    }
    st->rl = 0;
    st->csn = 0;
    size_t i = 0, search = 0;
    bool prev_word = false;
    while (i < n && o < lim) {
        const char *q = search < n ? memmem(in + search, n - search, "=?", 2) : NULL;
        const char *cs = NULL, *txt = NULL;
        size_t csn = 0, tn = 0, end = 0;
        char enc = 0;
        size_t j = q ? (size_t)(q - in) : n;
        if (q) {
            end = word_parse(in, n, j, &cs, &csn, &enc, &txt, &tn);
            if (!end) {
                search = j + 2;
                continue;
            }
        }
        /* the literal text in front of the word */
        if (j > i) {
            bool blank = true;
            for (size_t k = i; k < j; k++)
                if (!is_ws((uint8_t)in[k])) blank = false;
            if (!(blank && prev_word && q)) {
                stage_flush(st, out, &o, lim);
                /* old Japanese mailers put ISO-2022-JP in headers unencoded */
                if (memmem(in + i, j - i, "\x1b$B", 3) || memmem(in + i, j - i, "\x1b$@", 3))
                    conv_append("iso-2022-jp", 11, (const uint8_t *)in + i, j - i, out, &o, lim);
                else
                    utf8_copy((const uint8_t *)in + i, j - i, out, &o, lim);
                prev_word = false;
            }
        }
        if (!q) {
            i = n;
            break;
        }
        if (st->rl && !(st->csn == csn && !strncasecmp(st->cs, cs, csn)))
            stage_flush(st, out, &o, lim);
        if (csn > sizeof st->cs) csn = sizeof st->cs;
        memcpy(st->cs, cs, csn);
        st->csn = csn;
        uint8_t dec[1024];
        size_t dn = 0;
        if (enc == 'b') {
            /* a word holds at most ~3 KiB of decoded bytes; decode in slices of whole quads */
            for (size_t off = 0; off < tn;) {
                size_t take = tn - off > 1024 ? 1024 : tn - off;
                long r = mm_mime_b64_decode(txt + off, take, dec, sizeof dec, true);
                dn = r < 0 ? 0 : (size_t)r;
                if (st->rl + dn > sizeof st->raw) stage_flush(st, out, &o, lim);
                memcpy(st->raw + st->rl, dec, dn);
                st->rl += dn;
                off += take;
            }
        } else {
            for (size_t k = 0; k < tn; k++) {
                uint8_t c = (uint8_t)txt[k];
                if (c == '_') c = ' ';
                else if (c == '=' && k + 2 < tn && hexv((uint8_t)txt[k + 1]) >= 0 &&
                         hexv((uint8_t)txt[k + 2]) >= 0) {
                    c = (uint8_t)(hexv((uint8_t)txt[k + 1]) << 4 | hexv((uint8_t)txt[k + 2]));
                    k += 2;
                }
                if (dn == sizeof dec) {
                    if (st->rl + dn > sizeof st->raw) stage_flush(st, out, &o, lim);
                    memcpy(st->raw + st->rl, dec, dn);
                    st->rl += dn;
                    dn = 0;
                }
                dec[dn++] = c;
            }
            if (st->rl + dn > sizeof st->raw) stage_flush(st, out, &o, lim);
            memcpy(st->raw + st->rl, dec, dn);
            st->rl += dn;
        }
        prev_word = true;
        i = end;
        search = end;
    }
    stage_flush(st, out, &o, lim);
    free(st);
    out[o] = 0;
    return o;
}

/* ------------------------------------------------------------ parameters */

/* Walks "value; a=b; c=\"d\"" parameters.  The value (unquoted, escapes undone) is
 * written to vb (at most vcap bytes). */
typedef struct piter {
    const char *s;
    size_t n, i;
} piter;

static void piter_init(piter *it, const char *s, size_t n) {
    it->s = s;
    it->n = n;
    it->i = 0;
    bool q = false;
    /* skip the leading type token: up to the first ';' outside quotes */
    while (it->i < n && (q || s[it->i] != ';')) {
        if (s[it->i] == '"') q = !q;
        it->i++;
    }
}

static bool piter_next(piter *it, const char **name, size_t *nn, char *vb, size_t vcap, size_t *vn) {
    const char *s = it->s;
    size_t n = it->n;
    for (;;) {
        while (it->i < n && (is_ws((uint8_t)s[it->i]) || s[it->i] == ';')) it->i++;
        if (it->i >= n) return false;
        size_t a = it->i;
        while (it->i < n && s[it->i] != '=' && s[it->i] != ';') it->i++;
        size_t b = it->i;
        while (b > a && is_ws((uint8_t)s[b - 1])) b--;
        if (it->i >= n || s[it->i] != '=' || b == a) {   /* not name=value: skip it */
            while (it->i < n && s[it->i] != ';') it->i++;
            continue;
        }
        *name = s + a;
        *nn = b - a;
        it->i++;
        while (it->i < n && is_ws((uint8_t)s[it->i])) it->i++;
        size_t o = 0;
        if (it->i < n && s[it->i] == '"') {
            it->i++;
            while (it->i < n && s[it->i] != '"') {
                if (s[it->i] == '\\' && it->i + 1 < n) it->i++;
                if (o < vcap) vb[o++] = s[it->i];
                it->i++;
            }
            if (it->i < n) it->i++;
            while (it->i < n && s[it->i] != ';') it->i++;   /* junk after the quote */
        } else {
            size_t v = it->i;
            while (it->i < n && s[it->i] != ';') it->i++;
            size_t e = it->i;
            while (e > v && is_ws((uint8_t)s[e - 1])) e--;
            for (size_t k = v; k < e && o < vcap; k++) vb[o++] = s[k];
        }
        *vn = o;
        return true;
    }
}

/* Raw parameter value (no charset work): the boundary. */
static long param_raw(const char *val, size_t n, const char *name, char *out, size_t cap) {
    piter it;
    const char *pn;
    size_t pnn, vn;
    piter_init(&it, val, n);
    while (piter_next(&it, &pn, &pnn, out, cap, &vn))
        if (mm_ieq(pn, pnn, name)) return (long)vn;
    return -1;
}

#define P2231_SECTIONS 32
#define P2231_BYTES 4096

long mm_mime_param(const char *val, size_t n, const char *name, char *out, size_t cap) {
    if (!cap) return -1;
    struct {
        char *buf;                        /* all values, back to back */
        size_t used;
        size_t off[P2231_SECTIONS], len[P2231_SECTIONS];
        bool have[P2231_SECTIONS], ext[P2231_SECTIONS];
        size_t plain_off, plain_len;
        bool plain, any;
    } p;
    memset(&p, 0, sizeof p);
    p.buf = malloc(P2231_BYTES);
    if (!p.buf) return -1;
    size_t nl = strlen(name);
    piter it;
    const char *pn;
    size_t pnn, vn;
    char vb[1024];
    piter_init(&it, val, n);
    while (piter_next(&it, &pn, &pnn, vb, sizeof vb, &vn)) {
        if (pnn < nl || !mm_iprefix(pn, pnn, name)) continue;
        const char *r = pn + nl;
        size_t rn = pnn - nl;
        int sec = -1;
        bool ext = false;
        if (rn == 0) {
            if (p.plain) continue;
        } else if (r[0] == '*') {
            r++, rn--;
            if (rn == 0) {
                sec = 0, ext = true;   /* name*=charset'lang'value */
            } else {
                int v = 0;
                size_t k = 0;
                while (k < rn && r[k] >= '0' && r[k] <= '9' && v < 1000) v = v * 10 + (r[k++] - '0');
                if (k == 0) continue;
                if (k < rn && r[k] == '*' && k + 1 == rn) ext = true;
                else if (k != rn) continue;
                if (v >= P2231_SECTIONS) continue;
                sec = v;
            }
        } else {
            continue;   /* a longer name ("filenamex") */
        }
        if (p.used + vn > P2231_BYTES) vn = P2231_BYTES - p.used;
        memcpy(p.buf + p.used, vb, vn);
        if (sec < 0) {
            p.plain = true;
            p.plain_off = p.used;
            p.plain_len = vn;
        } else if (!p.have[sec]) {
            p.have[sec] = true;
            p.ext[sec] = ext;
            p.off[sec] = p.used;
            p.len[sec] = vn;
            p.any = true;
        }
        p.used += vn;
    }
    size_t o = 0;
    long ret = -1;
    if (p.any && p.have[0]) {
        /* RFC 2231: sections in order, extended ones percent-encoded, the charset in
         * the first one */
        uint8_t *bytes = malloc(P2231_BYTES);
        if (bytes) {
            size_t bl = 0;
            const char *cs = "";
            size_t csn = 0;
            for (int k = 0; k < P2231_SECTIONS && p.have[k]; k++) {
                const char *v = p.buf + p.off[k];
                size_t vl = p.len[k];
                if (p.ext[k]) {
                    if (k == 0) {
                        const char *q1 = memchr(v, '\'', vl);
                        const char *q2 = q1 ? memchr(q1 + 1, '\'', vl - (size_t)(q1 + 1 - v)) : NULL;
                        if (q2) {
                            cs = v;
                            csn = (size_t)(q1 - v);
                            vl -= (size_t)(q2 + 1 - v);
                            v = q2 + 1;
                        }
                    }
                    for (size_t i = 0; i < vl && bl < P2231_BYTES; i++) {
                        if (v[i] == '%' && i + 2 < vl && hexv((uint8_t)v[i + 1]) >= 0 &&
                            hexv((uint8_t)v[i + 2]) >= 0) {
                            bytes[bl++] = (uint8_t)(hexv((uint8_t)v[i + 1]) << 4 | hexv((uint8_t)v[i + 2]));
                            i += 2;
                        } else {
                            bytes[bl++] = (uint8_t)v[i];
                        }
                    }
                } else {
                    for (size_t i = 0; i < vl && bl < P2231_BYTES; i++) bytes[bl++] = (uint8_t)v[i];
                }
            }
            conv_append(cs, csn, bytes, bl, out, &o, cap - 1);
            out[o] = 0;
            ret = (long)o;
            free(bytes);
        }
    } else if (p.plain) {
        /* RFC 2047 words inside a quoted parameter are not allowed but common */
        ret = (long)mm_mime_decode_words(p.buf + p.plain_off, p.plain_len, out, cap);
    }
    free(p.buf);
    return ret;
}

size_t mm_mime_value_token(const char *val, size_t n, char *out, size_t cap) {
    if (!cap) return 0;
    size_t i = 0, o = 0;
    while (i < n && is_ws((uint8_t)val[i])) i++;
    while (i < n && val[i] != ';' && !is_ws((uint8_t)val[i]) && val[i] != '(' && o + 1 < cap)
        out[o++] = (char)lc((uint8_t)val[i++]);
    out[o] = 0;
    return o;
}

/* ------------------------------------------------------------ addresses */

static void addr_one(const char *s, size_t n, int *count,
                     void (*cb)(void *ctx, const char *a, size_t an), void *ctx) {
    /* an angle-addr wins; else the element without comments and after a group name */
    int q = 0, cm = 0;
    size_t lt = n, colon = n;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (q) {
            if (c == '\\') i++;
            else if (c == '"') q = 0;
        } else if (cm) {
            if (c == '\\') i++;
            else if (c == '(') cm++;
            else if (c == ')') cm--;
        } else if (c == '"') q = 1;
        else if (c == '(') cm = 1;
        else if (c == '<' && lt == n) lt = i;
        else if (c == ':' && colon == n && lt == n) colon = i;
    }
    if (q) return;   /* a quote never closed: no address to trust */
    char buf[512];
    size_t o = 0;
    if (lt < n) {
        size_t i = lt + 1;
        while (i < n && s[i] != '>' && o < sizeof buf) buf[o++] = s[i++];
    } else {
        size_t i = colon < n ? colon + 1 : 0;
        cm = 0;
        for (; i < n && o < sizeof buf; i++) {
            char c = s[i];
            if (cm) {
                if (c == '(') cm++;
                else if (c == ')') cm--;
                continue;
            }
            if (c == '(') {
                cm = 1;
                continue;
            }
            buf[o++] = c;
        }
    }
    const char *a = buf;
    size_t an = o;
    trim(&a, &an);
    if (an == 0) return;
    (*count)++;
    if (cb) cb(ctx, a, an);
}

int mm_mime_addresses(const char *val, size_t n, void (*cb)(void *ctx, const char *a, size_t an),
                      void *ctx) {
    int count = 0, q = 0, cm = 0, ang = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? val[i] : ',';
        if (i < n && q) {
            if (c == '\\' && i + 1 < n) i++;
            else if (c == '"') q = 0;
            continue;
        }
        if (i < n && cm) {
            if (c == '\\' && i + 1 < n) i++;
            else if (c == '(') cm++;
            else if (c == ')') cm--;
            continue;
        }
        if (c == '"') q = 1;
        else if (c == '(') cm = 1;
        else if (c == '<') ang = 1;
        else if (c == '>') ang = 0;
        else if ((c == ',' || c == ';') && (!ang || i == n)) {
            if (i > start) addr_one(val + start, (i > n ? n : i) - start, &count, cb, ctx);
            start = i + 1;
            ang = 0;
        }
    }
    return count;
}

/* ------------------------------------------------------------ the parser */

static void anomaly(mm_mime *m, int a) {
    if (m->reported_anom & (1u << a)) return;
    m->reported_anom |= 1u << a;
    if (m->cb.anomaly) m->cb.anomaly(m->ctx, anomaly_text[a]);
}

/* --- URLs --- */

static inline bool url_delim(uint8_t c) {
    return c <= 0x20 || c == 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`';
}

static void put_utf8(char *s, size_t *o, uint32_t cp) {
    if (cp < 0x80) {
        s[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        s[(*o)++] = (char)(0xC0 | cp >> 6);
        s[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        s[(*o)++] = (char)(0xE0 | cp >> 12);
        s[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        s[(*o)++] = (char)(0xF0 | cp >> 18);
        s[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        s[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* HTML character references in place ("&amp;" in an href is "&").  Every reference
 * is longer than what it stands for, so the text only shrinks. */
static size_t html_unescape(char *s, size_t n) {
    static const struct { const char *name; char c; } named[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {NULL, 0}};
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] == '&') {
            const char *semi = memchr(s + i, ';', n - i < 12 ? n - i : 12);
            if (semi) {
                const char *e = s + i + 1;
                size_t en = (size_t)(semi - e);
                bool done = false;
                if (en >= 2 && e[0] == '#') {
                    uint32_t cp = 0;
                    size_t k = 1;
                    bool hex = (e[1] == 'x' || e[1] == 'X');
                    if (hex) k = 2;
                    size_t digits = 0;
                    for (; k < en; k++, digits++) {
                        int v = hex ? hexv((uint8_t)e[k]) : (e[k] >= '0' && e[k] <= '9' ? e[k] - '0' : -1);
                        if (v < 0 || cp > 0x10FFFF) break;
                        cp = cp * (hex ? 16 : 10) + (uint32_t)v;
                    }
                    if (k == en && digits && cp > 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
                        put_utf8(s, &o, cp);
                        done = true;
                    }
                } else {
                    for (int k = 0; named[k].name; k++)
                        if (mm_ieq(e, en, named[k].name)) {
                            s[o++] = named[k].c;
                            done = true;
                            break;
                        }
                }
                if (done) {
                    i = (size_t)(semi - s) + 1;
                    continue;
                }
            }
        }
        s[o++] = s[i++];
    }
    return o;
}

static void url_add(mm_mime *m, const char *u, size_t n) {
    for (size_t i = 0; i < m->nurls; i++)
        if (strlen(m->urls[i]) == n && !memcmp(m->urls[i], u, n)) return;
    if (m->nurls >= MM_MIME_URLS_MAX) {
        anomaly(m, A_URLS);
        return;
    }
    char *c = malloc(n + 1);
    if (!c) {
        anomaly(m, A_NOMEM);
        return;
    }
    memcpy(c, u, n);
    c[n] = 0;
    m->urls[m->nurls++] = c;
}

/* One run of non-delimiter bytes ended: the URL in it, if any, runs from the scheme
 * (or "www.") to the end of the run, as Suricata extracts them. */
static void url_token(mm_mime *m) {
    size_t n = m->tl;
    bool over = m->tok_over;
    m->tl = 0;
    m->tok_over = false;
    if (n < 5) return;
    char *t = m->tok;
    size_t i, plen = 0;
    for (i = 0; i + 4 <= n; i++) {
        uint8_t c = lc((uint8_t)t[i]);
        if (c == 'h') {
            if (mm_iprefix(t + i, n - i, "http://")) plen = 7;
            else if (mm_iprefix(t + i, n - i, "https://")) plen = 8;
        } else if (c == 'f') {
            if (mm_iprefix(t + i, n - i, "ftp://")) plen = 6;
        } else if (c == 'w') {
            uint8_t b = i ? (uint8_t)t[i - 1] : ' ';
            if (mm_iprefix(t + i, n - i, "www.") && !is_alnum(b) && b != '.' && b != '-' &&
                b != '/' && b != '@')
                plen = 4;
        }
        if (plen) break;
    }
    if (!plen) return;
    char *u = t + i;
    size_t un = n - i;
    if (m->html) {
        un = html_unescape(u, un);
        for (size_t k = 0; k < un; k++)
            if (url_delim((uint8_t)u[k])) {
                un = k;
                break;
            }
    }
    while (un > plen) {   /* sentence punctuation after a URL in running text */
        char c = u[un - 1];
        if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?') un--;
        else if (c == ')' && !memchr(u, '(', un)) un--;
        else if (c == ']' && !memchr(u, '[', un)) un--;
        else break;
    }
    if (un <= plen) return;
    uint8_t h = (uint8_t)u[plen];
    if (!is_alnum(h) && h != '[' && h < 0x80) return;
    if (over) anomaly(m, A_URL_LONG);
    url_add(m, u, un);
}

static void url_feed(mm_mime *m, const uint8_t *d, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[i];
        if (url_delim(c)) {
            if (m->tl) url_token(m);
        } else if (m->tl < sizeof m->tok) {
            m->tok[m->tl++] = (char)c;
        } else {
            m->tok_over = true;
        }
    }
}

/* --- decoding of a leaf's body --- */

static void sink(mm_mime *m, const uint8_t *d, size_t n) {
    if (!n) return;
    m->cur.size += n;
    if (m->cur.text) url_feed(m, d, n);
    if (m->reported && m->cb.part_data) m->cb.part_data(m->ctx, &m->cur, d, n);
}

static void decode(mm_mime *m, const uint8_t *p, size_t n) {
    if (m->cur.encoding == MM_MIME_ENC_IDENTITY) {
        sink(m, p, n);
        return;
    }
    uint8_t out[1024];
    size_t o = 0;
    if (m->cur.encoding == MM_MIME_ENC_BASE64) {
        for (size_t i = 0; i < n; i++) {
            uint8_t c = p[i];
            int v = b64map[c];
            if (v) {
                m->b64acc = m->b64acc << 6 | (uint32_t)(v - 1);
                if (++m->b64n == 4) {
                    out[o++] = (uint8_t)(m->b64acc >> 16);
                    out[o++] = (uint8_t)(m->b64acc >> 8);
                    out[o++] = (uint8_t)m->b64acc;
                    m->b64n = 0;
                    m->b64acc = 0;
                }
            } else if (c == '=') {
                /* padding ends a group; decoding goes on after it (concatenated files) */
                if (m->b64n == 2) out[o++] = (uint8_t)(m->b64acc >> 4);
                else if (m->b64n == 3) {
                    out[o++] = (uint8_t)(m->b64acc >> 10);
                    out[o++] = (uint8_t)(m->b64acc >> 2);
                } else if (m->b64n == 1) anomaly(m, A_BAD_B64);
                m->b64n = 0;
                m->b64acc = 0;
            } else if (!is_ws(c)) {
                anomaly(m, A_BAD_B64);
            }
            if (o + 3 > sizeof out) {
                sink(m, out, o);
                o = 0;
            }
        }
        sink(m, out, o);
        return;
    }
    /* quoted-printable: 0 text, 1 after '=', 2 after '=' and one hex digit,
     * 3 after "=\r", 4 after '=' and blanks (a soft break with trailing blanks) */
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        bool consumed = true;
        switch (m->qpst) {
        case 0:
            if (c == '=') m->qpst = 1;
            else out[o++] = c;
            break;
        case 1:
            if (hexv(c) >= 0) m->qph = c, m->qpst = 2;
            else if (c == '\r') m->qpst = 3;
            else if (c == '\n') m->qpst = 0;
            else if (c == ' ' || c == '\t') m->qpst = 4;
            else {
                anomaly(m, A_BAD_QP);
                out[o++] = '=';
                m->qpst = 0;
                consumed = false;
            }
            break;
        case 2:
            if (hexv(c) >= 0) {
                out[o++] = (uint8_t)(hexv(m->qph) << 4 | hexv(c));
            } else {
                anomaly(m, A_BAD_QP);
                out[o++] = '=';
                out[o++] = m->qph;
                consumed = false;
            }
            m->qpst = 0;
            break;
        case 3:
            m->qpst = 0;
            if (c != '\n') consumed = false;
            break;
        default:
            if (c == '\r') m->qpst = 3;
            else if (c == '\n') m->qpst = 0;
            else if (c != ' ' && c != '\t') {
                anomaly(m, A_BAD_QP);
                out[o++] = '=';
                m->qpst = 0;
                consumed = false;
            }
        }
        if (consumed) i++;
        if (o + 2 > sizeof out) {
            sink(m, out, o);
            o = 0;
        }
    }
    sink(m, out, o);
}

static void decode_flush(mm_mime *m) {
    uint8_t out[2];
    size_t o = 0;
    if (m->cur.encoding == MM_MIME_ENC_BASE64) {
        if (m->b64n == 2) out[o++] = (uint8_t)(m->b64acc >> 4);
        else if (m->b64n == 3) {
            out[o++] = (uint8_t)(m->b64acc >> 10);
            out[o++] = (uint8_t)(m->b64acc >> 2);
        }
    } else if (m->cur.encoding == MM_MIME_ENC_QP && m->qpst == 2) {
        out[o++] = '=';
        out[o++] = m->qph;
    }
    m->b64n = 0;
    m->b64acc = 0;
    m->qpst = 0;
    sink(m, out, o);
}

/* --- header blocks --- */

static void start_block(mm_mime *m, int depth, bool top) {
    m->fhave = m->fdrop = m->fcut = false;
    m->fl = 0;
    m->nfields = 0;
    m->ct_seen = m->disp_seen = m->cte_seen = m->fn_from_disp = m->disp_attach = false;
    m->bnd_have = false;
    m->bndl = 0;
    memset(&m->cur, 0, sizeof m->cur);
    strcpy(m->cur.type, "text/plain");
    m->hdepth = depth;
    m->top = top;
    m->block_first = true;
    m->state = S_HEADER;
}

static void field_append(mm_mime *m, const uint8_t *p, size_t n) {
    if (m->fdrop) return;
    size_t room = FIELD_CAP - m->fl;
    if (n > room) {
        n = room;
        if (!m->fcut) {
            m->fcut = true;
            anomaly(m, A_FIELD_CUT);
        }
    }
    if (!n) return;
    if (m->fl + n > m->fcap) {
        size_t nc = m->fcap ? m->fcap : 256;
        while (nc < m->fl + n) nc *= 2;
        if (nc > FIELD_CAP) nc = FIELD_CAP;
        char *nb = realloc(m->fb, nc);
        if (!nb) {
            anomaly(m, A_NOMEM);
            m->fdrop = true;
            return;
        }
        m->fb = nb;
        m->fcap = nc;
    }
    memcpy(m->fb + m->fl, p, n);
    m->fl += n;
}

static void parse_ctype(mm_mime *m, const char *v, size_t vn) {
    char t[sizeof m->cur.type];
    mm_mime_value_token(v, vn, t, sizeof t);
    if (strchr(t, '/')) memcpy(m->cur.type, t, sizeof t);   /* invalid: text/plain stays */
    char cs[64];
    long r = param_raw(v, vn, "charset", cs, sizeof cs);
    if (r > 0) {
        size_t k;
        for (k = 0; k < (size_t)r && k + 1 < sizeof m->cur.charset; k++) m->cur.charset[k] = (char)lc((uint8_t)cs[k]);
        m->cur.charset[k] = 0;
    }
    char b[BOUNDARY_MAX + 64];
    r = param_raw(v, vn, "boundary", b, sizeof b);
    if (r > BOUNDARY_MAX) {
        anomaly(m, A_BOUNDARY_LONG);
    } else if (r > 0) {
        memcpy(m->bnd, b, (size_t)r);
        m->bndl = (size_t)r;
        m->bnd_have = true;
    }
    if (!m->fn_from_disp) {
        r = mm_mime_param(v, vn, "name", m->cur.filename, sizeof m->cur.filename);
        if (r > 0) m->cur.filename_len = (size_t)r;
    }
}

static void parse_disp(mm_mime *m, const char *v, size_t vn) {
    char t[32];
    mm_mime_value_token(v, vn, t, sizeof t);
    m->disp_attach = !strcmp(t, "attachment");
    long r = mm_mime_param(v, vn, "filename", m->cur.filename, sizeof m->cur.filename);
    if (r > 0) {
        m->cur.filename_len = (size_t)r;
        m->fn_from_disp = true;
    }
}

static void top_store(mm_mime *m, const char *name, size_t nn, const char *v, size_t vn) {
    static const struct { const char *name; int which; } tops[] = {
        {"from", MM_MIME_H_FROM}, {"to", MM_MIME_H_TO}, {"cc", MM_MIME_H_CC},
        {"subject", MM_MIME_H_SUBJECT}, {"message-id", MM_MIME_H_MESSAGE_ID},
        {"x-mailer", MM_MIME_H_X_MAILER}, {"user-agent", MM_MIME_H_X_MAILER},
        {"content-type", MM_MIME_H_CONTENT_TYPE}, {"reply-to", MM_MIME_H_REPLY_TO},
        {"date", MM_MIME_H_DATE}, {NULL, 0}};
    int which = -1;
    bool ua = false;
    for (int i = 0; tops[i].name; i++)
        if (mm_ieq(name, nn, tops[i].name)) {
            which = tops[i].which;
            ua = tops[i].name[0] == 'u';
            break;
        }
    if (which < 0) return;
    if (m->hdr[which]) {
        /* first occurrence wins, except that X-Mailer beats User-Agent */
        if (which != MM_MIME_H_X_MAILER || ua || !m->xm_from_ua) return;
        free(m->hdr[which]);
        m->hdr[which] = NULL;
    }
    size_t cap = (which == MM_MIME_H_TO || which == MM_MIME_H_CC) ? TOP_LIST_CAP : TOP_SMALL_CAP;
    if (vn > cap) vn = cap;
    char *c = malloc(vn + 1);
    if (!c) {
        anomaly(m, A_NOMEM);
        return;
    }
    memcpy(c, v, vn);
    c[vn] = 0;
    m->hdr[which] = c;
    if (which == MM_MIME_H_X_MAILER) m->xm_from_ua = ua;
}

static void field_flush(mm_mime *m) {
    if (!m->fhave) return;
    m->fhave = false;
    if (m->fdrop) return;
    const char *f = m->fb;
    const char *colon = f ? memchr(f, ':', m->fl) : NULL;
    if (!colon) return;
    size_t nn = (size_t)(colon - f);
    while (nn && is_ws((uint8_t)f[nn - 1])) nn--;
    const char *v = colon + 1;
    size_t vn = m->fl - (size_t)(v - f);
    trim(&v, &vn);
    if (m->cb.field) m->cb.field(m->ctx, m->hdepth, f, nn, v, vn);
    if (mm_ieq(f, nn, "content-type")) {
        if (!m->ct_seen) {
            m->ct_seen = true;
            parse_ctype(m, v, vn);
        }
    } else if (mm_ieq(f, nn, "content-disposition")) {
        if (!m->disp_seen) {
            m->disp_seen = true;
            parse_disp(m, v, vn);
        }
    } else if (mm_ieq(f, nn, "content-transfer-encoding")) {
        if (!m->cte_seen) {
            char t[32];
            m->cte_seen = true;
            mm_mime_value_token(v, vn, t, sizeof t);
            m->cur.encoding = !strcmp(t, "base64") ? MM_MIME_ENC_BASE64
                            : !strcmp(t, "quoted-printable") ? MM_MIME_ENC_QP
                                                              : MM_MIME_ENC_IDENTITY;
        }
    }
    if (m->top) top_store(m, f, nn, v, vn);
}

static void start_leaf(mm_mime *m) {
    m->parts++;
    m->cur.index = m->parts;
    m->cur.size = 0;
    m->cur.text = !strcmp(m->cur.type, "text/plain") || !strcmp(m->cur.type, "text/html");
    m->html = !strcmp(m->cur.type, "text/html");
    m->b64acc = 0;
    m->b64n = 0;
    m->qpst = 0;
    m->tl = 0;
    m->tok_over = false;
    m->eoln = 0;
    m->state = S_LEAF;
    m->reported = m->parts <= PARTS_MAX;
    if (!m->reported) anomaly(m, A_PARTS);
    else if (m->cb.part_begin) m->cb.part_begin(m->ctx, &m->cur);
}

static void end_leaf(mm_mime *m) {
    decode_flush(m);
    if (m->cur.text && m->tl) url_token(m);
    m->eoln = 0;
    if (m->reported && m->cb.part_end) m->cb.part_end(m->ctx, &m->cur);
    m->reported = false;
    m->state = S_SKIP;
}

/* The header block is over: the part becomes a container (multipart: push its
 * boundary; message/rfc822: a nested header block follows) or a leaf. */
static void end_block(mm_mime *m, bool allow_nested) {
    field_flush(m);
    if (m->fcap > 4096) {   /* a big field was seen: do not keep 64 KiB per flow */
        free(m->fb);
        m->fb = NULL;
        m->fcap = 0;
    }
    m->fl = 0;
    int depth = m->hdepth;
    m->cur.depth = depth;
    m->cur.attachment = m->disp_attach || m->cur.filename[0];
    if (m->top) {
        m->top = false;
        if (m->ct_seen) {
            memcpy(m->ctype, m->cur.type, sizeof m->ctype);
            m->ctype_set = true;
        }
        const char *s = m->hdr[MM_MIME_H_SUBJECT];
        if (s) {
            m->subject = malloc(SUBJECT_CAP);
            if (m->subject) mm_mime_decode_words(s, strlen(s), m->subject, SUBJECT_CAP);
            else anomaly(m, A_NOMEM);
        }
        if (m->cb.header_end) m->cb.header_end(m->ctx, m);
    }
    if (!strncmp(m->cur.type, "multipart/", 10)) {
        if (!m->bnd_have) {
            anomaly(m, A_NO_BOUNDARY);
        } else if (depth >= DEPTH_MAX || m->nlv >= DEPTH_MAX) {
            anomaly(m, A_DEPTH);
        } else {
            level *l = &m->lv[m->nlv++];
            memcpy(l->b, m->bnd, m->bndl);
            l->bl = (uint8_t)m->bndl;
            l->depth = depth;
            m->state = S_SKIP;   /* the preamble */
            return;
        }
    } else if (allow_nested && !m->cur.attachment && m->cur.encoding == MM_MIME_ENC_IDENTITY &&
               (!strcmp(m->cur.type, "message/rfc822") || !strcmp(m->cur.type, "message/global"))) {
        if (depth >= DEPTH_MAX) {
            anomaly(m, A_DEPTH);
        } else {
            start_block(m, depth + 1, false);
            return;
        }
    }
    start_leaf(m);
}

/* Is this line (its first piece) a delimiter of an open multipart?  Innermost
 * first; the boundary must be followed by nothing, "--", or blanks (RFC 2046), so
 * "--abcdef" does not close a part delimited by "abc". */
static int match_boundary(const mm_mime *m, const uint8_t *p, size_t n, bool *closing) {
    for (int k = m->nlv - 1; k >= 0; k--) {
        const level *l = &m->lv[k];
        if (n - 2 < l->bl || memcmp(p + 2, l->b, l->bl)) continue;
        size_t r = 2 + (size_t)l->bl;
        if (r == n || p[r] == ' ' || p[r] == '\t') {
            *closing = false;
            return k;
        }
        if (n - r >= 2 && p[r] == '-' && p[r + 1] == '-') {
            *closing = true;
            return k;
        }
    }
    return -1;
}

static void on_boundary(mm_mime *m, int k, bool closing) {
    if (m->state == S_HEADER) end_block(m, false);
    if (m->state == S_LEAF) end_leaf(m);
    m->nlv = k + 1;   /* inner multiparts left open end here */
    if (closing) {
        m->nlv = k;
        m->state = S_SKIP;   /* the epilogue */
    } else {
        start_block(m, m->lv[k].depth + 1, false);
    }
}

static const uint8_t crlf[2] = {'\r', '\n'};

static void body_piece(mm_mime *m, const uint8_t *p, size_t n, bool last, int eoln) {
    if (m->eoln) {
        decode(m, m->eoln == 2 ? crlf : crlf + 1, (size_t)m->eoln);
        m->eoln = 0;
    }
    decode(m, p, n);
    if (last) m->eoln = eoln;
}

static void header_piece(mm_mime *m, const uint8_t *p, size_t n, bool first, bool last, int eoln) {
    if (!first) {
        if (m->fhave) field_append(m, p, n);
        return;
    }
    bool block_first = m->block_first;
    m->block_first = false;
    if (n == 0) {
        if (last) end_block(m, true);
        return;
    }
    if (p[0] == ' ' || p[0] == '\t') {   /* folded: unfolding keeps the blank */
        if (m->fhave) field_append(m, p, n);
        return;
    }
    if (block_first && m->top && n >= 5 && !memcmp(p, "From ", 5)) {   /* mbox separator */
        if (!last) m->skip_rest = true;
        return;
    }
    size_t i = 0;
    while (i < n && p[i] > 32 && p[i] < 127 && p[i] != ':') i++;
    size_t ne = i;
    while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
    if (ne == 0 || i >= n || p[i] != ':') {
        /* Not a field.  After a field ending in ';' it is that field's parameters
         * folded without the leading blank (seen in the wild); otherwise it is
         * skipped and the header goes on, as Suricata does. */
        size_t k = m->fl;
        while (k && is_ws((uint8_t)m->fb[k - 1])) k--;
        if (m->fhave && !m->fdrop && k && m->fb[k - 1] == ';') {
            field_append(m, (const uint8_t *)" ", 1);
            field_append(m, p, n);
            return;
        }
        anomaly(m, A_BAD_HEADER);
        field_flush(m);
        if (!last) m->skip_rest = true;
        return;
    }
    field_flush(m);
    m->fhave = true;
    m->fl = 0;
    m->fcut = false;
    m->fdrop = m->nfields >= FIELDS_MAX;
    if (m->fdrop) anomaly(m, A_FIELDS_MAX);
    else m->nfields++;
    field_append(m, p, n);
}

static void deliver(mm_mime *m, const uint8_t *p, size_t n, bool first, bool last, int eoln) {
    if (m->skip_rest) {
        if (last) m->skip_rest = false;
        return;
    }
    if (first && m->nlv > 0 && n >= 2 && p[0] == '-' && p[1] == '-') {
        bool closing = false;
        int k = match_boundary(m, p, n, &closing);
        if (k >= 0) {
            on_boundary(m, k, closing);
            if (!last) m->skip_rest = true;
            return;
        }
    }
    if (m->state == S_HEADER) header_piece(m, p, n, first, last, eoln);
    else if (m->state == S_LEAF) body_piece(m, p, n, last, eoln);
}

/* --- the line reader --- */

static void piece_partial(mm_mime *m) {
    /* a CR at the end may be the first half of a CRLF: keep it with the next bytes */
    size_t keep = m->lb[m->ll - 1] == '\r' ? 1 : 0;
    bool first = !m->lcont;
    m->lcont = true;
    deliver(m, m->lb, m->ll - keep, first, false, 0);
    if (keep) {
        m->lb[0] = '\r';
        m->ll = 1;
    } else {
        m->ll = 0;
    }
}

static void piece_final(mm_mime *m, bool had_lf) {
    int eoln = had_lf ? 1 : 0;
    size_t len = m->ll;
    if (had_lf && len && m->lb[len - 1] == '\r') {
        len--;
        eoln = 2;
    }
    bool first = !m->lcont;
    m->lcont = false;
    m->ll = 0;
    deliver(m, m->lb, len, first, true, eoln);
}

void mm_mime_feed(mm_mime *m, const void *data, size_t n) {
    const uint8_t *p = data;
    if (!m || m->state == S_END) return;
    while (n > 0) {
        const uint8_t *nl = memchr(p, '\n', n);
        if (m->resync) {
            if (!nl) return;
            n -= (size_t)(nl + 1 - p);
            p = nl + 1;
            m->resync = false;
            continue;
        }
        size_t seg = nl ? (size_t)(nl - p) : n;
        size_t room = LINE_CAP - m->ll;
        if (seg > room || (seg == room && !nl)) {
            memcpy(m->lb + m->ll, p, room);
            m->ll += room;
            p += room;
            n -= room;
            piece_partial(m);
            continue;
        }
        memcpy(m->lb + m->ll, p, seg);
        m->ll += seg;
        p += seg;
        n -= seg;
        if (!nl) return;
        p++;
        n--;
        piece_final(m, true);
    }
}

void mm_mime_gap(mm_mime *m, size_t n) {
    if (!m || m->state == S_END) return;
    if (m->state == S_LEAF) {
        m->eoln = 0;
        m->b64n = 0;
        m->b64acc = 0;
        m->qpst = 0;
        m->tl = 0;
        m->tok_over = false;
        if (m->reported && m->cb.part_gap) m->cb.part_gap(m->ctx, &m->cur, n);
    } else if (m->state == S_HEADER) {
        m->fhave = false;
        m->fl = 0;
    }
    m->ll = 0;
    m->lcont = false;
    m->skip_rest = false;
    m->resync = true;
}

void mm_mime_end(mm_mime *m) {
    if (!m || m->state == S_END) return;
    if (!m->resync && (m->ll || m->lcont)) piece_final(m, false);
    if (m->state == S_HEADER) end_block(m, false);
    if (m->state == S_LEAF) end_leaf(m);
    if (m->nlv > 0) anomaly(m, A_UNCLOSED);
    m->state = S_END;
}

mm_mime *mm_mime_new(const mm_mime_cbs *cbs, void *ctx) {
    mm_mime *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    if (cbs) m->cb = *cbs;
    m->ctx = ctx;
    start_block(m, 0, true);
    return m;
}

mm_mime *mm_mime_new_body(const mm_mime_cbs *cbs, void *ctx, const char *ctype, size_t ctn,
                          const char *cte, size_t cten) {
    mm_mime *m = mm_mime_new(cbs, ctx);
    if (!m) return NULL;
    m->top = false;
    if (ctype) {
        m->ct_seen = true;
        parse_ctype(m, ctype, ctn);
    }
    if (cte) {
        char t[32];
        mm_mime_value_token(cte, cten, t, sizeof t);
        m->cur.encoding = !strcmp(t, "base64") ? MM_MIME_ENC_BASE64
                        : !strcmp(t, "quoted-printable") ? MM_MIME_ENC_QP
                                                          : MM_MIME_ENC_IDENTITY;
    }
    end_block(m, false);
    return m;
}

void mm_mime_free(mm_mime *m) {
    if (!m) return;
    free(m->fb);
    for (int i = 0; i < MM_MIME_NHDR; i++) free(m->hdr[i]);
    free(m->subject);
    for (size_t i = 0; i < m->nurls; i++) free(m->urls[i]);
    free(m);
}

const char *mm_mime_header(const mm_mime *m, int which) {
    return m && which >= 0 && which < MM_MIME_NHDR ? m->hdr[which] : NULL;
}
const char *mm_mime_subject(const mm_mime *m) { return m ? m->subject : NULL; }
const char *mm_mime_content_type(const mm_mime *m) { return m && m->ctype_set ? m->ctype : NULL; }
size_t mm_mime_url_count(const mm_mime *m) { return m ? m->nurls : 0; }
const char *mm_mime_url(const mm_mime *m, size_t i) { return m && i < m->nurls ? m->urls[i] : NULL; }
unsigned mm_mime_parts(const mm_mime *m) { return m ? m->parts : 0; }
