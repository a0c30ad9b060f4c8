/* libFuzzer target: the indicator normaliser (URLs, domains with IDN, addresses
 * and CIDRs, hashes, e-mail, file names, User-Agents) and its consistency.
 * The first byte picks the type (0 = guessed).  Properties checked:
 *   - the canonical text is NUL-terminated inside the buffer, and normalising it
 *     again gives the same text (idempotent) and the same type (unless it holds
 *     a defanged pattern, which normalising refangs);
 *   - an indicator added to a set matches its own canonical text as an event
 *     value (for the types whose event values look like the indicator);
 *   - an event carrying that value in the field the type is matched on has the
 *     indicator's probe term among its retro-hunt terms (else a hunt misses it);
 *   - a refusal always carries a reason. */
#include "detect/detect_int.h"

#include <stdlib.h>
#include <string.h>

static bool found;
static uint64_t want_term;
static void seen(void *ctx, uint64_t t) {
    (void)ctx;
    if (t == want_term) found = true;
}

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
    /* Idempotent, unless the canonical text itself holds a defanged pattern
     * ("[.]", "hxxp") that percent-decoding made: normalising again would refang
     * it.  Pathological for real feeds; the match checks below still hold. */
    char fanged[2048];
    size_t fl = mm_intel_refang(out, (size_t)len, fanged, sizeof fanged);
    if (fl == (size_t)len && memcmp(fanged, out, fl) == 0) {
        int len2 = mm_ioc_normalise(t1, out, (size_t)len, again, sizeof again, &t2, &why);
        if (len2 != len || strcmp(out, again) != 0 || t2 != t1) abort();
    }
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
    static const uint16_t field_of[MM_IND__COUNT] = {
        [MM_IND_IP] = MM_F_DESTINATION_IP,      [MM_IND_DOMAIN] = MM_F_DNS_QUESTION_NAME,
        [MM_IND_URL] = MM_F_URL_FULL,           [MM_IND_MD5] = MM_F_FILE_HASH_MD5,
        [MM_IND_SHA1] = MM_F_FILE_HASH_SHA1,    [MM_IND_SHA256] = MM_F_FILE_HASH_SHA256,
        [MM_IND_JA3] = MM_F_TLS_JA3,            [MM_IND_EMAIL] = MM_F_EMAIL_FROM,
        [MM_IND_FILENAME] = MM_F_FILE_NAME,     [MM_IND_USER_AGENT] = MM_F_USER_AGENT_ORIGINAL,
    };
    if (nt > 0 && !(t1 == MM_IND_IP && strchr(out, '/'))) {
        mm_arena a;
        mm_arena_init(&a, 4096);
        mm_event ev;
        mm_event_init(&ev, &a);
        mm_ip ip;
        if (t1 == MM_IND_IP && mm_ip_parse(mm_str_c(out), &ip)) mm_event_set_ip(&ev, MM_F_DESTINATION_IP, &ip);
        else mm_event_set(&ev, (mm_field)field_of[t1], mm_str_c(out));
        found = false;
        want_term = terms[0];
        mm_ioc_event_terms(&ev, seen, NULL);
        if (!found) abort();
        mm_arena_free(&a);
    }
    free(v);
    return 0;
}
