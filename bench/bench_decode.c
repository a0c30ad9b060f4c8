/* bench_decode: decode + detect throughput on one core, no store, no threads.
 *
 *   bench_decode FILE [rules-dir] [indicators]
 *
 * Reads FILE into memory, then decodes every line and runs detection on it in
 * one thread, as one worker does, reusing a batch arena per 256 lines.  Prints
 * "name value unit" lines. */
#include "decode/decode.h"
#include "detect/detect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_decode FILE [indicators]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    mm_buf b = {0};
    char tmp[1 << 16];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) mm_buf_put(&b, tmp, n);
    fclose(f);
    mm_config cfg;
    mm_config_defaults(&cfg);
    if (argc > 2) {
        cfg.indicator_files = calloc(2, sizeof(char *));
        cfg.indicator_files[0] = strdup(argv[2]);
        cfg.nindicator_files = 1;
    }
    mm_err err = {{0}};
    mm_detect *d = mm_detect_load(&cfg, &err);
    if (!d) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const mm_decoder *dec = mm_decoder_find("fortigate");
    mm_detect_state *st = mm_detect_state_new();
    mm_decode_opts o = {0};
    mm_source src = {"bench", "default", "", "fortigate"};
    mm_arena a;
    mm_arena_init(&a, 256 * 1024);
    mm_event *evs = malloc(sizeof(mm_event) * 256);
    uint64_t lines = 0, alerts = 0, bytes = 0;
    int64_t t0 = mm_mono_ns();
    const char *p = b.p, *end = b.p + b.len;
    int k = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        mm_event *ev = &evs[k];
        mm_event_init(ev, &a);
        ev->src = &src;
        mm_alert *al = NULL;
        mm_decode(dec, ev, (mm_str){p, (uint32_t)len}, &o);
        if (ev->kind == MM_KIND_EVENT) alerts += (uint64_t)mm_detect_event(d, st, ev, &a, &al);
        lines++;
        bytes += len + 1;
        if (++k == 256) {
            mm_arena_reset(&a);
            k = 0;
        }
        p += len + 1;
    }
    double secs = (double)(mm_mono_ns() - t0) / 1e9;
    printf("decode_detect_lines %llu lines\n", (unsigned long long)lines);
    printf("decode_detect_alerts %llu alerts\n", (unsigned long long)alerts);
    printf("decode_detect_rules %d rules\n", mm_detect_rule_count(d));
    printf("decode_detect_seconds %.3f s\n", secs);
    printf("decode_detect_throughput %.0f events/s\n", (double)lines / secs);
    printf("decode_detect_bandwidth %.1f MB/s\n", (double)bytes / secs / 1e6);
    mm_arena_free(&a);
    free(evs);
    mm_detect_state_free(st);
    mm_detect_free(d);
    mm_config_free(&cfg);
    mm_buf_free(&b);
    return 0;
}
