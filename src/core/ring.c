/* Bounded ring of pointers with a mutex and two condition variables.  Batches of
 * hundreds of records travel through it, so the lock is taken a few thousand times
 * a second, not per record. */
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

int mm_ring_init(mm_ring *r, uint32_t cap) {
    r->slots = calloc(cap ? cap : 1, sizeof(void *));
    if (!r->slots) return MM_ENOMEM;
    r->cap = cap ? cap : 1;
    r->head = r->count = 0;
    r->closed = false;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->not_empty, &ca);
    pthread_cond_init(&r->not_full, &ca);
    pthread_condattr_destroy(&ca);
    return MM_OK;
}

void mm_ring_destroy(mm_ring *r) {
    free(r->slots);
    r->slots = NULL;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->not_empty);
    pthread_cond_destroy(&r->not_full);
}

static void put(mm_ring *r, void *p) {
    r->slots[(r->head + r->count) % r->cap] = p;
    r->count++;
    pthread_cond_signal(&r->not_empty);
}

int mm_ring_push(mm_ring *r, void *p) {
    pthread_mutex_lock(&r->mu);
    while (r->count == r->cap && !r->closed) pthread_cond_wait(&r->not_full, &r->mu);
    if (r->closed) {
        pthread_mutex_unlock(&r->mu);
        return MM_ECLOSED;
    }
    put(r, p);
    pthread_mutex_unlock(&r->mu);
    return MM_OK;
}

int mm_ring_try_push(mm_ring *r, void *p) {
    pthread_mutex_lock(&r->mu);
    int rc = MM_OK;
    if (r->closed) rc = MM_ECLOSED;
    else if (r->count == r->cap) rc = MM_EFULL;
    else put(r, p);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int mm_ring_pop(mm_ring *r, void **p, int timeout_ms) {
    struct timespec dl;
    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&r->mu);
    while (r->count == 0 && !r->closed) {
        if (timeout_ms < 0) pthread_cond_wait(&r->not_empty, &r->mu);
        else if (pthread_cond_timedwait(&r->not_empty, &r->mu, &dl) == ETIMEDOUT) {
            if (r->count) break;
            pthread_mutex_unlock(&r->mu);
            return MM_ENOENT;
        }
    }
    if (r->count == 0) {
        pthread_mutex_unlock(&r->mu);
        return MM_ECLOSED;
    }
    *p = r->slots[r->head];
    r->head = (r->head + 1) % r->cap;
    r->count--;
    pthread_cond_signal(&r->not_full);
    pthread_mutex_unlock(&r->mu);
    return MM_OK;
}

void mm_ring_close(mm_ring *r) {
    pthread_mutex_lock(&r->mu);
    r->closed = true;
    pthread_cond_broadcast(&r->not_empty);
    pthread_cond_broadcast(&r->not_full);
    pthread_mutex_unlock(&r->mu);
}

uint32_t mm_ring_count(mm_ring *r) {
    pthread_mutex_lock(&r->mu);
    uint32_t n = r->count;
    pthread_mutex_unlock(&r->mu);
    return n;
}
