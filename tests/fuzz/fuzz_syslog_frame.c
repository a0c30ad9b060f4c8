/* Fuzz the TCP syslog framer.  The first bytes choose how the rest is cut into
 * feeds; the frames must be exactly those of the whole stream fed at once (the
 * framing may not depend on how TCP segments the bytes), every frame non-empty and
 * at most MM_MAX_RECORD bytes, and the buffer bounded. */
#include "input/input.h"

#include <stdlib.h>
#include <string.h>

typedef struct digest {
    uint64_t h;
    uint64_t n;
} digest;

static void take(void *ctx, const char *p, size_t n) {
    digest *d = ctx;
    if (n == 0 || n > MM_MAX_RECORD) abort();
    d->h = mm_hash(p, n, d->h ^ (uint64_t)n);
    d->n++;
}

static void frame(const uint8_t *p, size_t n, const uint8_t *cuts, size_t ncuts, digest *d) {
    mm_framer f;
    mm_framer_init(&f);
    size_t i = 0, c = 0;
    while (i < n) {
        size_t k = n - i;
        if (ncuts) {
            /* chunk sizes 1..256, sometimes large */
            uint8_t b = cuts[c++ % ncuts];
            k = b & 0x80 ? (size_t)(b & 0x7f) * 997 + 1 : (size_t)b + 1;
            if (k > n - i) k = n - i;
        }
        mm_framer_feed(&f, (const char *)p + i, k, take, d);
        if (f.cap > 2 * (size_t)MM_MAX_RECORD + 64) abort();
        i += k;
    }
    mm_framer_finish(&f, take, d);
    if (f.len || f.skip || f.discarding) abort();
    mm_framer_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t ncuts = data[0] % 16;
    if (ncuts + 1 > size) ncuts = size - 1;
    const uint8_t *cuts = data + 1;
    const uint8_t *p = data + 1 + ncuts;
    size_t n = size - 1 - ncuts;
    digest whole = {0, 0}, chunked = {0, 0};
    frame(p, n, NULL, 0, &whole);
    frame(p, n, cuts, ncuts, &chunked);
    if (whole.h != chunked.h || whole.n != chunked.n) abort();
    return 0;
}
