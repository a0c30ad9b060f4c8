/* sigma_values: the value transformations of Sigma's modifiers, applied once when a
 * rule is compiled so that evaluation only ever compares plain byte strings.
 *
 *   wide / utf16le / utf16be / utf16   UTF-8 text re-encoded as UTF-16 (utf16: with
 *                                      the little-endian byte order mark FF FE)
 *   base64                             the bytes encoded as Base64
 *   base64offset                       the three encodings of the bytes at offsets
 *                                      0, 1 and 2 of a longer Base64 text, cut to the
 *                                      characters that do not depend on neighbours
 *   windash                            every spelling of a command-line flag with -,
 *                                      /, en dash, em dash or horizontal bar
 *   expand                             %placeholder% replaced by each value the
 *                                      configuration lists for it
 *
 * Each takes a list of values and returns the list of results (a value may turn into
 * several).  Lists are capped at MM_SV_MAX values: a rule that would need more is
 * refused rather than silently truncated. */
#include "detect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mm_svals_free(mm_svals *v) {
    for (int i = 0; i < v->n; i++) free(v->s[i]);
    free(v->s);
    free(v->len);
    v->s = NULL;
    v->len = NULL;
    v->n = v->cap = 0;
}

bool mm_svals_add(mm_svals *v, const char *s, size_t len) {
    if (v->n >= MM_SV_MAX) return false;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        v->s = realloc(v->s, (size_t)v->cap * sizeof *v->s);
        v->len = realloc(v->len, (size_t)v->cap * sizeof *v->len);
        if (!v->s || !v->len) abort();
    }
    char *c = mm_xmalloc(len + 1);
    memcpy(c, s, len);
    c[len] = 0;
    v->s[v->n] = c;
    v->len[v->n++] = len;
    return true;
}

/* ---------------------------------------------------------------- utf-16 */

/* Decode one UTF-8 sequence; invalid bytes map to themselves (Latin-1), so every
 * input has an encoding and nothing is dropped. */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i) {
    unsigned char c = s[*i];
    int need = (c >= 0xc2 && c < 0xe0) ? 1 : (c >= 0xe0 && c < 0xf0) ? 2 : (c >= 0xf0 && c < 0xf5) ? 3 : 0;
    if (need == 0 || *i + (size_t)need >= n) {
        (*i)++;
        return c;
    }
    uint32_t cp = c & (0x3fu >> need);
    for (int k = 1; k <= need; k++) {
        unsigned char cc = s[*i + (size_t)k];
        if ((cc & 0xc0) != 0x80) {
            (*i)++;
            return c;
        }
        cp = (cp << 6) | (cc & 0x3f);
    }
    *i += (size_t)need + 1;
    return cp;
}

static size_t put16(char *o, uint16_t u, bool be) {
    o[0] = (char)(be ? u >> 8 : u & 0xff);
    o[1] = (char)(be ? u & 0xff : u >> 8);
    return 2;
}

static bool to_utf16(const char *s, size_t n, int kind, mm_svals *out) {
    char *o = mm_xmalloc(n * 4 + 2);
    size_t k = 0;
    bool be = kind == MM_UTF16BE;
    if (kind == MM_UTF16BOM) {
        o[k++] = (char)0xff;
        o[k++] = (char)0xfe;
    }
    for (size_t i = 0; i < n;) {
        uint32_t cp = utf8_next((const unsigned char *)s, n, &i);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            k += put16(o + k, (uint16_t)(0xd800 | (cp >> 10)), be);
            k += put16(o + k, (uint16_t)(0xdc00 | (cp & 0x3ff)), be);
        } else {
            k += put16(o + k, (uint16_t)cp, be);
        }
    }
    bool ok = mm_svals_add(out, o, k);
    free(o);
    return ok;
}

/* ---------------------------------------------------------------- base64 */

size_t mm_base64_encode(const unsigned char *in, size_t n, char *out) {
    static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[k++] = tb[v >> 18];
        out[k++] = tb[(v >> 12) & 63];
        out[k++] = tb[(v >> 6) & 63];
        out[k++] = tb[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[k++] = tb[v >> 18];
        out[k++] = tb[(v >> 12) & 63];
        out[k++] = '=';
        out[k++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[k++] = tb[v >> 18];
        out[k++] = tb[(v >> 12) & 63];
        out[k++] = tb[(v >> 6) & 63];
        out[k++] = '=';
    }
    out[k] = 0;
    return k;
}

static bool base64_plain(const char *s, size_t n, mm_svals *out) {
    char *o = mm_xmalloc(n / 3 * 4 + 8);
    size_t k = mm_base64_encode((const unsigned char *)s, n, o);
    bool ok = mm_svals_add(out, o, k);
    free(o);
    return ok;
}

/* The value at byte offset i (0, 1, 2) inside a longer encoded text: encode it after
 * i filler bytes and keep only the characters that depend on the value alone.  The
 * first 0, 2 or 3 characters mix in the filler; the last 0, 3 or 2 (by the length
 * left over) mix in whatever follows. */
static bool base64_offsets(const char *s, size_t n, mm_svals *out) {
    static const int start[3] = {0, 2, 3};
    static const int cut_end[3] = {0, 3, 2};
    for (int i = 0; i < 3; i++) {
        unsigned char *b = mm_xmalloc(n + 3);
        memset(b, ' ', (size_t)i);
        memcpy(b + i, s, n);
        char *o = mm_xmalloc((n + 3) / 3 * 4 + 8);
        size_t k = mm_base64_encode(b, n + (size_t)i, o);
        int e = cut_end[(n + (size_t)i) % 3];
        bool ok = true;
        if (k >= (size_t)(start[i] + e) && k - (size_t)start[i] - (size_t)e > 0)
            ok = mm_svals_add(out, o + start[i], k - (size_t)start[i] - (size_t)e);
        free(b);
        free(o);
        if (!ok) return false;
    }
    return true;
}

/* ---------------------------------------------------------------- windash */

static bool word_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

static const char *const dashes[] = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};

/* A flag character: '-' or '/' not preceded by a word character and followed by one
 * (so "a-b" and "C:/x" paths inside words are left alone). */
static bool is_flag(const char *s, size_t n, size_t i) {
    if (s[i] != '-' && s[i] != '/') return false;
    if (i > 0 && word_char((unsigned char)s[i - 1])) return false;
    return i + 1 < n && word_char((unsigned char)s[i + 1]);
}

static bool windash_one(const char *s, size_t n, mm_svals *out) {
    size_t pos[16];
    int np = 0;
    for (size_t i = 0; i < n; i++)
        if (is_flag(s, n, i)) {
            if (np == 16) return false;
            pos[np++] = i;
        }
    long total = 1;
    for (int i = 0; i < np; i++) {
        total *= (long)MM_ARRAY_LEN(dashes);
        if (total > 3125) return false;   /* five flags in one value: more is not a command line */
    }
    char *o = mm_xmalloc(n * 3 + 1);
    for (long combo = 0; combo < total; combo++) {
        size_t k = 0;
        long c = combo;
        int pi = 0;
        for (size_t i = 0; i < n; i++) {
            if (pi < np && pos[pi] == i) {
                const char *d = dashes[c % (long)MM_ARRAY_LEN(dashes)];
                c /= (long)MM_ARRAY_LEN(dashes);
                size_t dl = strlen(d);
                memcpy(o + k, d, dl);
                k += dl;
                pi++;
            } else {
                o[k++] = s[i];
            }
        }
        if (!mm_svals_add(out, o, k)) {
            free(o);
            return false;
        }
    }
    free(o);
    return true;
}

/* ---------------------------------------------------------------- expand */

static const mm_cnode *placeholder(const mm_cnode *ph, const char *name, size_t n) {
    if (!ph || ph->type != MM_CN_MAP) return NULL;
    for (const mm_cnode *c = ph->child; c; c = c->next)
        if (c->key && strlen(c->key) == n && !memcmp(c->key, name, n)) return c;
    return NULL;
}

/* Replace the first %name% in s by each configured value, recursively for the rest.
 * Returns -1 when a placeholder is not configured (the caller decides), 0 on success,
 * -2 when the list would grow too long. */
static int expand_one(const char *s, size_t n, const mm_cnode *ph, mm_svals *out, int depth) {
    const char *a = memchr(s, '%', n);
    const char *b = a ? memchr(a + 1, '%', n - (size_t)(a + 1 - s)) : NULL;
    if (!a || !b || b == a + 1 || depth > 8) return mm_svals_add(out, s, n) ? 0 : -2;
    const mm_cnode *vals = placeholder(ph, a + 1, (size_t)(b - a - 1));
    if (!vals) return -1;
    const mm_cnode *first = vals->type == MM_CN_SEQ ? vals->child : vals;
    for (const mm_cnode *v = first; v; v = vals->type == MM_CN_SEQ ? v->next : NULL) {
        if (v->type != MM_CN_SCALAR || !v->value) continue;
        size_t pre = (size_t)(a - s), vl = strlen(v->value), post = n - (size_t)(b + 1 - s);
        char *t = mm_xmalloc(pre + vl + post + 1);
        memcpy(t, s, pre);
        memcpy(t + pre, v->value, vl);
        memcpy(t + pre + vl, b + 1, post);
        int rc = expand_one(t, pre + vl + post, ph, out, depth + 1);
        free(t);
        if (rc < 0) return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- driver */

int mm_svals_apply(mm_svals *v, int op, const mm_cnode *placeholders, char *why, size_t whylen) {
    mm_svals out = {0};
    bool ok = true;
    for (int i = 0; ok && i < v->n; i++) {
        switch (op) {
        case MM_SV_UTF16LE:
        case MM_SV_UTF16BE:
        case MM_SV_UTF16BOM:
            ok = to_utf16(v->s[i], v->len[i],
                          op == MM_SV_UTF16LE ? MM_UTF16LE : op == MM_SV_UTF16BE ? MM_UTF16BE : MM_UTF16BOM, &out);
            break;
        case MM_SV_BASE64: ok = base64_plain(v->s[i], v->len[i], &out); break;
        case MM_SV_BASE64OFF: ok = base64_offsets(v->s[i], v->len[i], &out); break;
        case MM_SV_WINDASH: ok = windash_one(v->s[i], v->len[i], &out); break;
        case MM_SV_EXPAND: {
            int rc = expand_one(v->s[i], v->len[i], placeholders, &out, 0);
            if (rc == -1) {
                snprintf(why, whylen, "placeholder in '%s' is not defined under rules.placeholders", v->s[i]);
                mm_svals_free(&out);
                return -1;
            }
            ok = rc == 0;
            break;
        }
        default: ok = false;
        }
    }
    if (!ok) {
        snprintf(why, whylen, "the modifier turns the values into more than %d values", MM_SV_MAX);
        mm_svals_free(&out);
        return -2;
    }
    mm_svals_free(v);
    *v = out;
    return 0;
}
