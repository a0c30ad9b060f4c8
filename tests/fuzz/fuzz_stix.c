/* libFuzzer target: the STIX bundle reader (mm_stix_read) on raw bytes: JSON
 * parsing, the relationship and marking indexes, 5W1H resolution and the
 * pattern parser behind them.  Each record handed out is checked for a known
 * type and NUL-terminated strings. */
#include "core/core.h"
#include "intel/intel.h"

#include <stdlib.h>
#include <string.h>

static size_t touch(const char *s) {
    return s ? strlen(s) : 0;
}

static int record(void *ctx, const mm_indicator *r) {
    size_t *n = ctx;
    if (r->type <= MM_IND_NONE || r->type >= MM_IND__COUNT || !r->value || !*r->value) abort();
    if (r->confidence < -1 || r->confidence > 100) abort();
    *n += touch(r->value) + touch(r->id) + touch(r->tlp) + touch(r->actor) + touch(r->campaign) +
          touch(r->malware) + touch(r->kill_chain) + touch(r->attack) + touch(r->description) + touch(r->action);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *p = malloc(size ? size : 1);
    if (size) memcpy(p, data, size);
    size_t n = 0;
    mm_intel_stats st = {0};
    mm_err err = {{0}};
    int rc = mm_stix_read(p, size, "fuzz", record, &n, &st, &err);
    if (rc < 0 && !err.msg[0]) abort();
    if (memchr(st.last_reason, 0, sizeof st.last_reason) == NULL) abort();
    free(p);
    return 0;
}
