/* The body every decoder fuzz target shares: one record through mm_decode with the
 * named decoder (syslog header, the format's scanner, the ECS mapping), the routing
 * pre-scan, and the JSON rendering of the result.  The record is an exact-size copy,
 * so any read past it shows; a decoder must always leave a usable event (kind
 * pipeline_error exactly when it reports an error). */
#ifndef MM_FUZZ_DECODER_H
#define MM_FUZZ_DECODER_H

#include "core/core.h"
#include "decode/decode.h"

#include <stdlib.h>
#include <string.h>

static int fuzz_decoder(const char *name, const uint8_t *data, size_t size) {
    static mm_arena arena;
    static bool init;
    if (!init) {
        mm_arena_init(&arena, 1 << 16);
        init = true;
    }
    if (size > MM_MAX_RECORD) size = MM_MAX_RECORD;
    char *rec = malloc(size ? size : 1);
    if (size) memcpy(rec, data, size);
    const mm_decoder *d = mm_decoder_find(name);
    if (!d) abort();
    mm_str r = {rec, (uint32_t)size};
    mm_str ent = d->entity(r);
    if (ent.len && (ent.p < rec || ent.p + ent.len > rec + size)) abort();

    mm_event ev;
    mm_event_init(&ev, &arena);
    ev.recv_ns = 1710072000LL * 1000000000LL;
    mm_decode_opts o = {.tz_offset = size ? (int32_t)(data[0] % 27 - 13) * 3600 : 0};
    int rc = mm_decode(d, &ev, r, &o);
    if ((rc < 0) != (ev.kind == MM_KIND_PIPELINE_ERROR)) abort();
    mm_buf b = {0};
    mm_event_json(&ev, &b, true);
    mm_buf_free(&b);
    mm_arena_reset(&arena);
    free(rec);
    return 0;
}

#endif
