/* Strings, slices, growable buffers, JSON string escaping, hashing and errors. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mm_err_set(mm_err *e, const char *fmt, ...) {
    if (!e) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

bool mm_str_eq(mm_str a, mm_str b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool mm_str_eqc(mm_str a, const char *c) {
    size_t n = strlen(c);
    return a.len == n && (n == 0 || memcmp(a.p, c, n) == 0);
}

static inline char lc(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

bool mm_str_ieqc(mm_str a, const char *c) {
    size_t n = strlen(c);
    if (a.len != n) return false;
    for (size_t i = 0; i < n; i++)
        if (lc(a.p[i]) != lc(c[i])) return false;
    return true;
}

bool mm_str_to_i64(mm_str s, int64_t *out) {
    if (s.len == 0 || s.len > 20) return false;
    size_t i = 0;
    bool neg = false;
    if (s.p[0] == '-' || s.p[0] == '+') {
        neg = s.p[0] == '-';
        i = 1;
        if (s.len == 1) return false;
    }
    uint64_t v = 0;
    for (; i < s.len; i++) {
        char c = s.p[i];
        if (c < '0' || c > '9') return false;
        uint64_t d = (uint64_t)(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (!neg && v > (uint64_t)INT64_MAX) return false;
    if (neg && v > (uint64_t)INT64_MAX + 1) return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* ---- buffers ---- */

void mm_buf_reserve(mm_buf *b, size_t need) {
    if (b->len + need + 1 <= b->cap) return;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->len + need + 1) nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np) abort();
    b->p = np;
    b->cap = nc;
}

void mm_buf_puts(mm_buf *b, const char *s) { mm_buf_put(b, s, strlen(s)); }
void mm_buf_printf(mm_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        mm_buf_put(b, tmp, (size_t)n);
        return;
    }
    mm_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}
void mm_buf_reset(mm_buf *b) { b->len = 0; }
void mm_buf_free(mm_buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
const char *mm_buf_cstr(mm_buf *b) {
    mm_buf_reserve(b, 0);
    b->p[b->len] = 0;
    return b->p;
}

/* Length of a valid UTF-8 sequence at p (n bytes available), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n) {
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* overlong, surrogates, beyond Unicode */
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

void mm_json_str(mm_buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    mm_buf_reserve(b, n + 2);
    mm_buf_putc(b, '"');
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        /* fast path: plain printable ASCII */
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') run++;
        if (run > i) {
            mm_buf_put(b, p + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            mm_buf_put(b, e, 2);
            i++;
        } else if (c < 0x20) {
            const char *e = NULL;
            switch (c) {
            case '\n': e = "\\n"; break;
            case '\r': e = "\\r"; break;
            case '\t': e = "\\t"; break;
            default: break;
            }
            if (e) mm_buf_puts(b, e);
            else {
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                mm_buf_put(b, u, 6);
            }
            i++;
        } else {
            size_t l = utf8_len(p + i, n - i);
            if (l) {
                mm_buf_put(b, p + i, l);
                i += l;
            } else {
                /* an invalid byte is shown as the Latin-1 code point of that byte */
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                mm_buf_put(b, u, 6);
                i++;
            }
        }
    }
    mm_buf_putc(b, '"');
}

uint64_t mm_hash(const void *p, size_t n, uint64_t seed) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    /* finalizer (splitmix64) so low bits are usable for bucket selection */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/* For terminals: bytes from the network must not move the cursor, clear the screen,
 * retitle the window or reverse text.  C0/C1 controls, DEL, invalid UTF-8 and the
 * bidirectional overrides become '?'; valid printable UTF-8 stays. */
void mm_buf_put_printable(mm_buf *b, const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f) {
            mm_buf_putc(b, (char)c);
            i++;
            continue;
        }
        size_t l = c >= 0x80 ? utf8_len(p + i, n - i) : 0;
        uint32_t cp = 0;
        if (l == 2) cp = ((uint32_t)(c & 0x1f) << 6) | (p[i + 1] & 0x3f);
        else if (l == 3) cp = ((uint32_t)(c & 0x0f) << 12) | ((uint32_t)(p[i + 1] & 0x3f) << 6) | (p[i + 2] & 0x3f);
        bool bad = l == 0 || (cp >= 0x80 && cp < 0xa0) ||            /* C1 controls */
                   (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
                   cp == 0x200e || cp == 0x200f || cp == 0x061c;      /* bidi controls */
        if (bad) {
            mm_buf_putc(b, '?');
            i += l ? l : 1;
        } else {
            mm_buf_put(b, p + i, l);
            i += l;
        }
    }
}
