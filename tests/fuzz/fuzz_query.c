/* Fuzz target: the search language parser and evaluator. */
#include "core/core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    mm_err err;
    mm_query *q = mm_query_parse(s, &err);
    if (q) {
        mm_arena a;
        mm_arena_init(&a, 4096);
        mm_event ev;
        mm_event_init(&ev, &a);
        mm_event_set(&ev, MM_F_SOURCE_IP, MM_STR("10.0.0.5"));
        mm_event_set(&ev, MM_F_SOURCE_BYTES, MM_STR("100"));
        mm_event_set(&ev, MM_F_URL_DOMAIN, MM_STR("a.example"));
        ev.raw = MM_STR("raw text");
        mm_query_match(q, &ev);
        mm_query_free(q);
        mm_arena_free(&a);
    }
    free(s);
    return 0;
}
