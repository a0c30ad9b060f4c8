/* libFuzzer target: the STIX pattern parser (mm_stix_pattern) on raw bytes, from
 * an exact-size copy so any read past the pattern shows.  Every yielded value
 * must lie inside the parser's own buffer and have a known type; a refusal must
 * carry a reason. */
#include "core/core.h"
#include "intel/intel.h"

#include <stdlib.h>
#include <string.h>

static void yielded(void *ctx, mm_ind_type t, const char *v, size_t n) {
    size_t *count = ctx;
    if (t <= MM_IND_NONE || t >= MM_IND__COUNT || (!v && n)) abort();
    volatile char sink = 0;
    for (size_t k = 0; k < n; k++) sink ^= v[k];   /* touch every byte */
    (void)sink;
    (*count)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *p = malloc(size ? size : 1);
    if (size) memcpy(p, data, size);
    size_t count = 0;
    const char *why = NULL;
    int rc = mm_stix_pattern(p, size, yielded, &count, &why);
    if (rc < 0 && !why) abort();
    if (rc >= 0 && (size_t)rc != count) abort();
    free(p);
    return 0;
}
