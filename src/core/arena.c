/* Batch arena: a chain of chunks; allocation is a pointer bump.  A batch's events,
 * values and alerts all live here and are freed together when the batch is stored. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

struct mm_arena_chunk {
    mm_arena_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

void mm_arena_init(mm_arena *a, size_t chunk_size) {
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
    a->used_total = 0;
}

void *mm_arena_alloc(mm_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    mm_arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t sz = a->chunk_size;
        if (sz < n) sz = n;
        c = malloc(sizeof *c + sz);
        if (!c) abort();  /* out of memory in the hot path is not recoverable */
        c->size = sz;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    a->used_total += n;
    return p;
}

void *mm_arena_zalloc(mm_arena *a, size_t n) {
    void *p = mm_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *mm_arena_strndup(mm_arena *a, const char *p, size_t n) {
    char *s = mm_arena_alloc(a, n + 1);
    if (n) memcpy(s, p, n);
    s[n] = 0;
    return s;
}

mm_str mm_arena_str(mm_arena *a, const char *p, size_t n) {
    return (mm_str){mm_arena_strndup(a, p, n), (uint32_t)n};
}

/* Keeps the memory for the next use.  When the last use needed several chunks they
 * are replaced by one chunk of their total size (up to 64 MiB), so a reused arena
 * settles into a single chunk and stops calling malloc at all. */
void mm_arena_reset(mm_arena *a) {
    mm_arena_chunk *c = a->head;
    if (c && !c->next) {
        c->used = 0;
        a->used_total = 0;
        return;
    }
    size_t total = 0;
    while (c) {
        mm_arena_chunk *n = c->next;
        total += c->size;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->used_total = 0;
    if (total > 64u * 1024 * 1024) total = 64u * 1024 * 1024;
    if (total > a->chunk_size) a->chunk_size = total;
}

void mm_arena_free(mm_arena *a) {
    mm_arena_chunk *c = a->head;
    while (c) {
        mm_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->used_total = 0;
}

void *mm_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

void *mm_xcalloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) abort();
    return p;
}

void *mm_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) abort();
    return q;
}

char *mm_xstrdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *d = mm_xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}
