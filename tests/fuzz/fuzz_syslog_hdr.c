/* libFuzzer target: syslog header parsing (RFC 5424, RFC 3164, ISO and bare PRI
 * forms).  Checks that every returned slice lies inside the record. */
#include "core/core.h"
#include "decode/decode.h"

#include <stdlib.h>
#include <string.h>

static void inside(mm_str s, const char *p, size_t n) {
    if (s.len && (s.p < p || s.p + s.len > p + n)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *rec = malloc(size ? size : 1);
    if (size) memcpy(rec, data, size);
    int32_t tz = size ? (int32_t)(data[size - 1] % 29 - 14) * 3600 : 0;
    mm_syslog_hdr h;
    int rc = mm_syslog_hdr_parse((mm_str){rec, (uint32_t)size}, &h, tz, 1710072000LL * 1000000000LL);
    if (rc != 0 && rc != MM_EINVAL) abort();
    if (h.pri > 191 || h.pri < -1) abort();
    inside(h.host, rec, size);
    inside(h.app, rec, size);
    inside(h.procid, rec, size);
    inside(h.msgid, rec, size);
    inside(h.msg, rec, size);
    free(rec);
    return 0;
}
