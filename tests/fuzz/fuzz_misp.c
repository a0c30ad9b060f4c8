/* libFuzzer target: the MISP reader (mm_misp_read) and the feed manifest reader
 * (mm_misp_manifest) on raw bytes.  Both read an exact-size copy, so a read past
 * the document shows; every record handed out is checked to be a string of the
 * type it claims, and the counters must add up. */
#include "intel/intel.h"

#include <stdlib.h>
#include <string.h>

static int check(void *ctx, const mm_indicator *ind) {
    (void)ctx;
    if (ind->type <= MM_IND_NONE || ind->type >= MM_IND__COUNT || !ind->value || !ind->value[0]) abort();
    size_t n = strlen(ind->value);
    if (n > 8192) abort();
    const char *s[] = {ind->tlp, ind->actor, ind->malware, ind->attack, ind->kill_chain, ind->description, ind->id};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (s[i]) (void)strlen(s[i]);
    if (ind->confidence < -1 || ind->confidence > 100) abort();
    return 0;
}

static void on_event(void *ctx, const char *uuid, int64_t ts) {
    (void)ctx;
    if (strlen(uuid) != 36 || ts < 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *doc = malloc(size ? size : 1);
    if (size) memcpy(doc, data, size);
    mm_intel_stats st;
    memset(&st, 0, sizeof st);
    mm_err err;
    int rc = mm_misp_read(doc, size, "fuzz", check, NULL, &st, &err);
    if (rc < 0 && !err.msg[0]) abort();
    if (st.not_for_detection + st.skipped > st.objects + st.malformed) abort();
    if (memchr(st.last_reason, 0, sizeof st.last_reason) == NULL) abort();
    rc = mm_misp_manifest(doc, size, on_event, NULL, &err);
    (void)rc;
    free(doc);
    return 0;
}
