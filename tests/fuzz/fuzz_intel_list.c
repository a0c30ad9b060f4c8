/* libFuzzer target: the list reader (mm_list_read) in three modes chosen by the
 * first byte — auto (plain or CSV, header guessed), CSV with a header row and a
 * tab or comma delimiter and explicit columns, and free text — plus the refang
 * and guess helpers on the same bytes.  The reader gets an exact-size copy, so a
 * read past the text shows; every record must be a value of the type it claims
 * (mm_intel_value_check passes), and the counters must add up. */
#include "intel/intel.h"

#include <stdlib.h>
#include <string.h>

typedef struct fz {
    uint64_t records;
} fz;

static int check(void *ctx, const mm_indicator *ind) {
    fz *f = ctx;
    f->records++;
    if (ind->type <= MM_IND_NONE || ind->type >= MM_IND__COUNT || !ind->value) abort();
    size_t n = strlen(ind->value);
    if (n == 0 || n > 8192) abort();
    if (mm_intel_value_check(ind->type, ind->value, n)) abort();
    const char *s[] = {ind->tlp, ind->actor, ind->malware, ind->description, ind->id, ind->feed};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (s[i]) (void)strlen(s[i]);
    if (ind->confidence < -1 || ind->confidence > 100) abort();
    if (ind->first_seen < 0 || ind->last_seen < 0) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint8_t sel = data[0];
    data++, size--;
    char *doc = malloc(size ? size : 1);
    if (size) memcpy(doc, data, size);

    mm_list_opts o;
    memset(&o, 0, sizeof o);
    o.header = -1;
    o.confidence = -1;
    const mm_list_opts *op = NULL;
    switch (sel % 3) {
    case 1:
        o.header = 1;
        o.delimiter = (sel & 4) ? '\t' : ',';
        if (sel & 8) o.type_col = 2;
        if (sel & 16) o.value_col = 3;
        if (sel & 32) o.type = MM_IND_USER_AGENT;
        o.confidence = 70;
        op = &o;
        break;
    case 2:
        o.freetext = true;
        op = &o;
        break;
    default:
        break;
    }
    mm_intel_stats st;
    memset(&st, 0, sizeof st);
    mm_err err;
    memset(&err, 0, sizeof err);
    fz f = {0};
    int rc = mm_list_read(doc, size, "fuzz", op, check, &f, &st, &err);
    if (rc < 0 && !err.msg[0]) abort();
    if (f.records != st.imported) abort();
    if (st.skipped + st.not_for_detection > st.objects) abort();
    if (st.bad_value + st.unsupported_type + st.malformed > st.skipped) abort();
    if (memchr(st.last_reason, 0, sizeof st.last_reason) == NULL) abort();

    /* the helpers on the first bytes, into a buffer of exactly the allowed size */
    size_t n = size < 300 ? size : 300;
    size_t cap = 1 + (sel % 64);
    char *out = malloc(cap);
    size_t m = mm_intel_refang(doc, n, out, cap);
    if (m >= cap || out[m] != 0) abort();
    free(out);
    (void)mm_intel_guess_type(doc, n);
    free(doc);
    return 0;
}
