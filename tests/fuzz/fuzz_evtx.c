/* libFuzzer target: the .evtx reader (libevtx through input/evtx.c) on mutated
 * files, live and recovered records, each rendered record decoded by the "evtx"
 * decoder.  libevtx reads from a path, so every input goes through a temporary
 * file that mm_evtx_each_mem unlinks; the target checks that no descriptor is left
 * open (a leak would end a long fuzzing run with EMFILE, and the daemon too).
 * libevtx itself is not instrumented: what this finds is in our wrapper and in the
 * decoder fed with what libevtx renders from damaged files. */
#include "core/core.h"
#include "decode/decode.h"
#include "input/input.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static mm_arena arena;

static int decode_record(void *ctx, const char *xml, size_t len) {
    (void)ctx;
    if (xml[len] != 0) abort(); /* promised NUL-terminated */
    mm_event ev;
    mm_event_init(&ev, &arena);
    ev.recv_ns = 1710072000LL * 1000000000LL;
    mm_str r = {xml, (uint32_t)(len > MM_MAX_RECORD ? MM_MAX_RECORD : len)};
    int rc = mm_decode(mm_decoder_find("evtx"), &ev, r, NULL);
    if ((rc < 0) != (ev.kind == MM_KIND_PIPELINE_ERROR)) abort();
    mm_arena_reset(&arena);
    return 0;
}

/* Descriptors still open on one of our temporary files (libFuzzer and the
 * sanitizers open pipes of their own, so only ours are counted). */
static int our_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char link[64], target[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(link, target, sizeof target - 1);
        if (k > 0) {
            target[k] = 0;
            n += strstr(target, "mamori-evtx-") != NULL;
        }
    }
    closedir(d);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool init;
    if (!init) {
        mm_arena_init(&arena, 1 << 16);
        mm_log_set_level(MM_LOG_ERROR);
        init = true;
    }
    mm_err err;
    mm_evtx_stats st;
    mm_evtx_each_mem(data, size, MM_EVTX_RECOVERED, decode_record, NULL, &st, &err);
    if (our_fds() != 0) abort(); /* a descriptor leaked */
    return 0;
}
