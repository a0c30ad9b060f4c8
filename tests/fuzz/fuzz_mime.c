/* libFuzzer target: the MIME parser (src/sensor/mime.c) and its header helpers.
 * The first byte picks the chunk size the message is fed in (chunking must not
 * matter for safety); the rest is the message.  The same bytes also go through the
 * RFC 2047 / RFC 2231 / address helpers, whose output must be NUL-terminated,
 * inside its buffer and valid UTF-8 whatever the input. */
#include "sensor/mime.h"

#include <stdlib.h>
#include <string.h>

static size_t total;

static void on_data(void *ctx, const mm_mime_part *p, const uint8_t *d, size_t n) {
    if (n) total += d[0] + d[n - 1];   /* both ends readable (ASan) */
}
static void on_begin(void *ctx, const mm_mime_part *p) {
    if (strlen(p->filename) != p->filename_len || p->filename_len >= sizeof p->filename) abort();
    if (p->depth < 0 || p->depth > 20) abort();
}
static void on_field(void *ctx, int depth, const char *n, size_t nn, const char *v, size_t vn) {
    if (nn && (n[0] == 0x7f)) total++;
    if (vn && v[vn - 1] == 0) total++;
}

static void utf8_ok(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    if (strlen(s) != n) abort();
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t k = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        if (!k || i + k > n) abort();
        for (size_t j = 1; j < k; j++)
            if ((p[i + j] & 0xC0) != 0x80) abort();
        i += k;
    }
}

static void addr_cb(void *ctx, const char *a, size_t n) {
    if (!n || !a) abort();
    total += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t step = (size_t)(data[0] % 64) + 1;
    if (data[0] & 0x80) step = size;
    const uint8_t *msg = data + 1;
    size_t n = size - 1;

    mm_mime_cbs cbs = {.field = on_field, .part_begin = on_begin, .part_data = on_data};
    mm_mime *m;
    const uint8_t *nl = (data[0] & 0x40) ? memchr(msg, '\n', n < 256 ? n : 256) : NULL;
    if (nl) {
        /* body mode (HTTP): the first line is the Content-Type */
        m = mm_mime_new_body(&cbs, NULL, (const char *)msg, (size_t)(nl - msg), "8bit", 4);
        n -= (size_t)(nl + 1 - msg);
        msg = nl + 1;
    } else {
        m = mm_mime_new(&cbs, NULL);
    }
    if (!m) return 0;
    for (size_t i = 0; i < n; i += step) {
        if ((data[0] & 0x20) && i == n / 2) mm_mime_gap(m, 7);
        mm_mime_feed(m, msg + i, n - i < step ? n - i : step);
    }
    mm_mime_end(m);
    mm_mime_end(m);
    mm_mime_feed(m, "x\r\n", 3);   /* ignored after the end */
    if (mm_mime_url_count(m) > MM_MIME_URLS_MAX) abort();
    for (size_t i = 0; i < mm_mime_url_count(m); i++)
        if (strlen(mm_mime_url(m, i)) > MM_MIME_URL_MAX) abort();
    const char *s = mm_mime_subject(m);
    if (s) utf8_ok(s, strlen(s));
    mm_mime_free(m);

    /* the helpers on the raw bytes, as a header value */
    size_t hn = n > 4096 ? 4096 : n;
    char *v = malloc(hn + 1);
    memcpy(v, msg, hn);
    v[hn] = 0;
    char out[257];
    size_t caps[] = {1, 2, 9, sizeof out};
    for (int i = 0; i < 4; i++) {
        memset(out, 'Z', sizeof out);
        size_t o = mm_mime_decode_words(v, hn, out, caps[i]);
        if (o >= caps[i]) abort();
        utf8_ok(out, o);
        long r = mm_mime_param(v, hn, "filename", out, caps[i]);
        if (r >= (long)caps[i]) abort();
        if (r >= 0) utf8_ok(out, (size_t)r);
        static const char *const cs[] = {"iso-2022-jp", "shift_jis", "euc-jp", "utf-8",
                                         "windows-1252", "iso-8859-5", "utf-16", "x-bogus"};
        o = mm_mime_to_utf8(cs[hn ? (uint8_t)v[0] % 8 : 0], v, hn, out, caps[i]);
        if (o >= caps[i]) abort();
        utf8_ok(out, o);
    }
    mm_mime_addresses(v, hn, addr_cb, NULL);
    mm_mime_value_token(v, hn, out, sizeof out);
    free(v);
    return 0;
}
