/* Reading a decoded event in unit tests: a field's text, integer, vendor key,
 * value count, and whether a list field holds a value.  Texts are copied into a
 * few rotating static buffers, so several may appear in one CHECK. */
#ifndef MM_EVENT_CHECK_H
#define MM_EVENT_CHECK_H

#include "core/core.h"

#include <string.h>

/* The field's first value as text, "" when unset. */
static inline const char *fs(const mm_event *ev, mm_field f) {
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ & 3];
    const mm_value *v = mm_event_get(ev, f);
    if (!v) return "";
    size_t n = v->s.len < 1023 ? v->s.len : 1023;
    memcpy(b, v->s.p, n);
    b[n] = 0;
    return b;
}
/* An INT/TIME field's parsed value, -1 when unset or unparsed. */
static inline int64_t fi(const mm_event *ev, mm_field f) {
    const mm_value *v = mm_event_get(ev, f);
    return v && v->parsed ? v->i : -1;
}
/* A vendor key's value, NULL when absent. */
static inline const char *vs(const mm_event *ev, const char *key) {
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ & 3];
    const mm_str *v = mm_event_vendor_get(ev, key);
    if (!v) return NULL;
    size_t n = v->len < 1023 ? v->len : 1023;
    memcpy(b, v->p, n);
    b[n] = 0;
    return b;
}
static inline int nvalues(const mm_event *ev, mm_field f) {
    int n = 0;
    for (const mm_value *v = mm_event_get(ev, f); v; v = mm_event_next(ev, v)) n++;
    return n;
}
static inline bool has_val(const mm_event *ev, mm_field f, const char *s) {
    for (const mm_value *v = mm_event_get(ev, f); v; v = mm_event_next(ev, v))
        if (mm_str_eqc(v->s, s)) return true;
    return false;
}

#endif
