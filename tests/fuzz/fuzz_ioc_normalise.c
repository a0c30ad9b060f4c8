/* libFuzzer target: the indicator normaliser (URLs, domains with IDN, addresses
 * and CIDRs, hashes, e-mail, file names, User-Agents) and its consistency.
 * The first byte picks the type (0 = guessed).  Properties checked:
 *   - the canonical text is NUL-terminated inside the buffer, and normalising it
 *     again gives the same text (idempotent) and the same type;
 *   - an indicator added to a set matches its own canonical text as an event
 *     value (for the types whose event values look like the indicator);
 *   - a refusal always carries a reason. */
#include "detect/detect_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int t = data[0] % MM_IND__COUNT;
    char *v = malloc(size);
    memcpy(v, data + 1, size - 1);
    size_t n = size - 1;
    char out[2048], again[2048];
    int t1 = t, t2 = 0;
    const char *why = NULL;
    int len = mm_ioc_normalise(t, v, n, out, sizeof out, &t1, &why);
    if (len < 0) {
        if (!why) abort();
        free(v);
        return 0;
    }
    if ((size_t)len >= sizeof out || out[len] != 0 || strlen(out) != (size_t)len) abort();
    if (t1 <= MM_IND_NONE || t1 >= MM_IND__COUNT) abort();
    int len2 = mm_ioc_normalise(t1, out, (size_t)len, again, sizeof again, &t2, &why);
    if (len2 != len || strcmp(out, again) != 0 || t2 != t1) abort();
    uint64_t terms[8];
    int nt = mm_ioc_probe_terms(t1, out, (size_t)len, terms, 8);
    if (nt == 0 || nt > 8) abort();
    mm_ioc_set *s = mm_ioc_set_new();
    mm_indicator ind = {.type = (mm_ind_type)t1, .value = out, .feed = "fuzz", .confidence = -1};
    if (mm_ioc_add(s, &ind, 0, &why) != 1) abort();
    unsigned bits = mm_ioc_bits_of((mm_ind_type)t1);
    /* an address with a prefix is not an event value; the others are */
    if (!(t1 == MM_IND_IP && strchr(out, '/')) && !mm_ioc_match(s, mm_str_c(out), NULL, bits, NULL)) abort();
    mm_ioc_set_free(s);
    free(v);
    return 0;
}
