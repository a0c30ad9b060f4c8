/* bench_sigma: the SigmaHQ collection on Windows event logs (issue #3), printed as
 * "name value unit" lines.
 *
 *   bench_sigma [corpora-dir]      (default $MM_CORPORA, else ../shared/corpora)
 *
 *   1. load + compile every SigmaHQ rule (<corpora>/sigma/rules): counts, seconds,
 *      resident memory before and after.
 *   2. detection alone on one thread (one mm_detect_state), every SigmaHQ rule
 *      loaded: the records of every regression .evtx (<corpora>/sigma/regression)
 *      decoded once with the "evtx" decoder and kept in memory, then evaluated in a
 *      loop until >= BENCH_SIGMA_EVENTS (default 1,000,000) events.  Only the
 *      detection loop is timed.
 *   3. end to end on one core in MB/s (file bytes / seconds): mm_evtx_each (libevtx
 *      read + XML rendering) + evtx decoder + every SigmaHQ rule over the regression
 *      .evtx files, repeated until the run lasts >= BENCH_EVTX_SECONDS (default 2);
 *      the decoder and detection are timed inside the same passes (the rest is
 *      reading), and reading alone is timed too.  The files are sparse (one 64 KiB
 *      chunk holding a record or two), so the rate over the bytes the records
 *      occupy and records/s are printed as well.  Side by side, Debian's evtxexport
 *      (EVTXEXPORT, default /usr/bin/evtxexport; text, its default, and -f xml)
 *      exporting the same files the same number of times, one process per file as
 *      they come, and, to take per-file costs (its process start-up, mamori's
 *      per-file reader) out, both over one file holding every chunk.
 *
 * Skips (exit 0, one "#" line) when the corpus is absent. */
#define _GNU_SOURCE
#include "decode/decode.h"
#include "detect/detect.h"
#include "detect/detect_int.h"
#include "input/input.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static double now_s(void) { return (double)mm_mono_ns() / 1e9; }

/* VmRSS (or another /proc/self/status line) in MiB. */
static double status_mib(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    double v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            v = strtod(line + kl + 1, NULL) / 1024.0;
            break;
        }
    fclose(f);
    return v;
}

/* ---------------------------------------------------------------- files */

static char **files;
static off_t *fsizes;
static int nfiles;

static void find_evtx(const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (!d) return;
    if (depth > 16) {
        closedir(d);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            find_evtx(p, depth + 1);
            continue;
        }
        size_t n = strlen(de->d_name);
        if (n < 5 || strcasecmp(de->d_name + n - 5, ".evtx") != 0) continue;
        files = realloc(files, (size_t)(nfiles + 1) * sizeof *files);
        fsizes = realloc(fsizes, (size_t)(nfiles + 1) * sizeof *fsizes);
        if (!files || !fsizes) abort();
        files[nfiles] = strdup(p);
        fsizes[nfiles++] = st.st_size;
    }
    closedir(d);
}

/* Bytes the records occupy in the file's chunks (each chunk's free-space offset
 * minus its 512-byte header and tables). */
static uint64_t evtx_record_bytes(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    uint64_t n = 0;
    unsigned char h[512];
    for (long off = 4096;; off += 65536) {
        if (fseek(f, off, SEEK_SET) != 0 || fread(h, 1, sizeof h, f) != sizeof h) break;
        if (memcmp(h, "ElfChnk", 8) != 0) continue;
        uint32_t free_off;
        memcpy(&free_off, h + 48, 4);
        if (free_off > 512 && free_off <= 65536) n += free_off - 512;
    }
    fclose(f);
    return n;
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ---------------------------------------------------------------- 2. detection alone */

typedef struct keep_ctx {
    const mm_decoder *dec;
    mm_arena *arena;          /* everything of the kept events: never reset */
    mm_event **evs;
    int n, cap;
    int errors, events;
} keep_ctx;

static const mm_source src = {"bench", "default", "", "evtx"};

static int keep_record(void *ctx, const char *xml, size_t len) {
    keep_ctx *k = ctx;
    if (len > MM_MAX_RECORD) len = MM_MAX_RECORD;
    char *copy = mm_arena_strndup(k->arena, xml, len);   /* the event's raw and slices point here */
    mm_event *ev = mm_arena_alloc(k->arena, sizeof *ev);
    mm_event_init(ev, k->arena);
    ev->src = &src;
    mm_decode_opts o = {0};
    if (mm_decode(k->dec, ev, (mm_str){copy, (uint32_t)len}, &o) < 0) k->errors++;
    if (ev->kind == MM_KIND_EVENT) k->events++;
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 1024;
        k->evs = realloc(k->evs, (size_t)k->cap * sizeof *k->evs);
        if (!k->evs) abort();
    }
    k->evs[k->n++] = ev;
    return 0;
}

/* Sysmon process creation (EventID 1) or Security 4688: the log source most
 * SigmaHQ rules are written for. */
static bool is_process_creation(const mm_event *ev) {
    const mm_value *code = mm_event_get(ev, MM_F_EVENT_CODE), *prov = mm_event_get(ev, MM_F_EVENT_PROVIDER);
    if (!code) return false;
    if (code->s.len == 4 && !memcmp(code->s.p, "4688", 4)) return true;
    return code->s.len == 1 && code->s.p[0] == '1' && prov && memmem(prov->s.p, prov->s.len, "Sysmon", 6);
}

/* Detection over evs (n > 0) in passes until >= min_s seconds; returns events/s. */
static double detect_rate(const mm_detect *d, mm_detect_state *st, mm_event **evs, int n, double min_s,
                          mm_arena *alert_arena) {
    uint64_t done = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < n; i++) {
            mm_alert *al = NULL;
            mm_detect_event(d, st, evs[i], alert_arena, &al);
            if ((i & 255) == 255) mm_arena_reset(alert_arena);
        }
        mm_arena_reset(alert_arena);
        done += (uint64_t)n;
        t = now_s() - t0;
    } while (t < min_s);
    return (double)done / t;
}

/* ---------------------------------------------------------------- 3. end to end */

typedef struct e2e_ctx {
    const mm_decoder *dec;
    const mm_detect *d;       /* NULL: decode only */
    mm_detect_state *st;
    mm_arena arena;           /* one record's event and alerts, reset per record */
    int stage;                /* 0 read only, 1 + decode, 2 + detect */
    uint64_t records, alerts, errors;
    int64_t decode_ns, detect_ns;   /* inside the callback; the rest is reading */
} e2e_ctx;

static int e2e_record(void *ctx, const char *xml, size_t len) {
    e2e_ctx *c = ctx;
    c->records++;
    if (c->stage == 0) return 0;
    if (len > MM_MAX_RECORD) len = MM_MAX_RECORD;
    int64_t t0 = mm_mono_ns();
    mm_event ev;
    mm_event_init(&ev, &c->arena);
    ev.src = &src;
    mm_decode_opts o = {0};
    if (mm_decode(c->dec, &ev, (mm_str){xml, (uint32_t)len}, &o) < 0) c->errors++;
    int64_t t1 = mm_mono_ns();
    c->decode_ns += t1 - t0;
    if (c->stage == 2) {
        mm_alert *al = NULL;
        c->alerts += (uint64_t)mm_detect_event(c->d, c->st, &ev, &c->arena, &al);
        c->detect_ns += mm_mono_ns() - t1;
    }
    mm_arena_reset(&c->arena);
    return 0;
}

/* One pass over every file; returns seconds. */
static double e2e_pass(e2e_ctx *c, char **paths, int n, unsigned flags) {
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        mm_err e = {{0}};
        if (mm_evtx_each(paths[i], flags, e2e_record, c, NULL, &e) < 0) fprintf(stderr, "%s: %s\n", paths[i], e.msg);
    }
    return now_s() - t0;
}

/* evtxexport ARGS... PATH > /dev/null, for each path; returns seconds, <0 on failure. */
static double evtxexport_pass(const char *exe, const char *fmt, char **paths, int n) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    double t0 = now_s();
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char *argv[6];
        int k = 0;
        argv[k++] = (char *)exe;
        if (fmt) {
            argv[k++] = (char *)"-f";
            argv[k++] = (char *)fmt;
        }
        argv[k++] = paths[i];
        argv[k] = NULL;
        pid_t pid;
        if (posix_spawn(&pid, exe, &fa, NULL, argv, environ) != 0) {
            bad++;
            continue;
        }
        int ws;
        if (waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) bad++;
    }
    double t = now_s() - t0;
    posix_spawn_file_actions_destroy(&fa);
    return bad ? -1 : t;
}

static uint32_t crc32(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* One .evtx holding the chunks of every file (each file here is a 4 KiB header and
 * 64 KiB chunks; a chunk is self-contained, with its own checksums), so one process
 * exports them all.  Returns 0, or <0 when a file is not laid out that way. */
static int merge_evtx(char **paths, int n, const char *out, off_t *bytes) {
    FILE *o = fopen(out, "wb");
    if (!o) return -1;
    unsigned char hdr[4096];
    unsigned chunks = 0;
    int rc = 0;
    static unsigned char buf[65536];
    if (fwrite(hdr, 1, sizeof hdr, o) != sizeof hdr) rc = -1;   /* placeholder */
    for (int i = 0; i < n && rc == 0; i++) {
        FILE *f = fopen(paths[i], "rb");
        if (!f) continue;
        unsigned char h[4096];
        if (fread(h, 1, sizeof h, f) != sizeof h || memcmp(h, "ElfFile", 8) != 0) {
            fclose(f);
            continue;
        }
        if (i == 0 || chunks == 0) memcpy(hdr, h, sizeof hdr);
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, f)) == sizeof buf) {
            if (memcmp(buf, "ElfChnk", 8) != 0) continue;
            if (fwrite(buf, 1, sizeof buf, o) != sizeof buf) rc = -1;
            chunks++;
        }
        fclose(f);
    }
    if (rc == 0 && (chunks == 0 || chunks > 0xffff)) rc = -1;
    if (rc == 0) {
        /* first chunk 0, last chunk, chunk count; flags: clean; header checksum */
        uint64_t last = chunks - 1;
        memset(hdr + 8, 0, 8);
        memcpy(hdr + 16, &last, 8);
        uint16_t nc = (uint16_t)chunks;
        memcpy(hdr + 42, &nc, 2);
        uint32_t flags = 0;
        memcpy(hdr + 120, &flags, 4);
        uint32_t crc = crc32(hdr, 120);
        memcpy(hdr + 124, &crc, 4);
        if (fseek(o, 0, SEEK_SET) != 0 || fwrite(hdr, 1, sizeof hdr, o) != sizeof hdr) rc = -1;
    }
    if (fclose(o) != 0) rc = -1;
    *bytes = 4096 + (off_t)chunks * 65536;
    return rc;
}

static int count_record(void *ctx, const char *xml, size_t len) {
    ++*(uint64_t *)ctx;
    return 0;
}

int main(int argc, char **argv) {
    const char *env = getenv("MM_CORPORA");
    const char *corpora = argc > 1 ? argv[1] : env && *env ? env : MM_HOME "/../shared/corpora";
    const char *ev_env = getenv("BENCH_SIGMA_EVENTS");
    const char *secs_env = getenv("BENCH_EVTX_SECONDS");
    const char *exe_env = getenv("EVTXEXPORT");
    long long want_events = ev_env ? atoll(ev_env) : 1000000;
    double want_secs = secs_env ? atof(secs_env) : 2.0;
    const char *evtxexport = exe_env && *exe_env ? exe_env : "/usr/bin/evtxexport";
    setvbuf(stdout, NULL, _IOLBF, 0);

    char rules_dir[4096], reg_dir[4096];
    snprintf(rules_dir, sizeof rules_dir, "%s/sigma/rules", corpora);
    snprintf(reg_dir, sizeof reg_dir, "%s/sigma/regression", corpora);
    struct stat sb;
    if (stat(rules_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        printf("# no SigmaHQ corpus at %s: sigma benchmarks skipped\n", rules_dir);
        return 0;
    }

    /* ---- 1. load + compile */
    printf("# 4. SigmaHQ rules: load + compile (%s)\n", rules_dir);
    printf("sigma_rss_before_load %.1f MiB\n", status_mib("VmRSS"));
    mm_config cfg;
    mm_config_defaults(&cfg);
    mm_rules_report rep = {0};
    char *dirs[] = {rules_dir};
    mm_detect_opts o = {.extra = dirs, .nextra = 1, .only_extra = true, .report = &rep};
    mm_err err = {{0}};
    double t0 = now_s();
    mm_detect *d = mm_detect_load_opts(&cfg, &o, &err);
    double load_s = now_s() - t0;
    if (!d) {
        fprintf(stderr, "bench_sigma: %s\n", err.msg);
        return 1;
    }
    int active = rep.loaded - rep.inactive - rep.filters;
    printf("sigma_rule_files %d files\n", rep.files);
    printf("sigma_rules_loaded %d rules\n", rep.loaded);
    printf("sigma_rules_active %d rules\n", active);
    printf("sigma_rules_inactive %d rules\n", rep.inactive);
    printf("sigma_rules_filters %d rules\n", rep.filters);
    printf("sigma_rules_skipped %d rules\n", rep.skipped);
    printf("sigma_rules_prefiltered %d rules\n", mm_detect_prefiltered(d));
    printf("sigma_load_seconds %.3f s\n", load_s);
    printf("sigma_rss_after_load %.1f MiB\n", status_mib("VmRSS"));
    mm_rules_report_free(&rep);

    find_evtx(reg_dir, 0);
    if (nfiles == 0) {
        printf("# no regression .evtx under %s: evtx benchmarks skipped\n", reg_dir);
        mm_detect_free(d);
        mm_config_free(&cfg);
        return 0;
    }
    qsort(files, (size_t)nfiles, sizeof *files, cmpstr);
    for (int i = 0; i < nfiles; i++) {   /* sizes follow the sorted names */
        stat(files[i], &sb);
        fsizes[i] = sb.st_size;
    }
    uint64_t total_bytes = 0, record_bytes = 0;
    for (int i = 0; i < nfiles; i++) {
        total_bytes += (uint64_t)fsizes[i];
        record_bytes += evtx_record_bytes(files[i]);
    }
    const mm_decoder *dec = mm_decoder_find("evtx");
    if (!dec) {
        fprintf(stderr, "bench_sigma: no evtx decoder\n");
        return 1;
    }

    /* ---- 2. detection alone on pre-decoded events */
    printf("# 5. Sigma detection, one thread, every SigmaHQ rule, pre-decoded Windows events\n");
    mm_arena keep_arena;
    mm_arena_init(&keep_arena, 1 << 20);
    keep_ctx k = {.dec = dec, .arena = &keep_arena};
    for (int i = 0; i < nfiles; i++) {
        mm_err e = {{0}};
        if (mm_evtx_each(files[i], 0, keep_record, &k, NULL, &e) < 0) fprintf(stderr, "%s: %s\n", files[i], e.msg);
    }
    printf("sigma_sample_files %d files\n", nfiles);
    printf("sigma_sample_events %d events\n", k.n);
    printf("sigma_sample_decode_errors %d events\n", k.errors);
    if (k.n == 0) return 1;
    mm_detect_state *st = mm_detect_state_new();
    mm_arena alert_arena;
    mm_arena_init(&alert_arena, 256 * 1024);
    mm_alert *al = NULL;
    for (int i = 0; i < k.n; i++) {   /* warm-up: scratch, caches, correlation windows */
        mm_detect_event(d, st, k.evs[i], &alert_arena, &al);
        if ((i & 255) == 255) mm_arena_reset(&alert_arena);
    }
    mm_arena_reset(&alert_arena);
    uint64_t evaluated = 0, alerts = 0;
    int since_reset = 0;
    t0 = now_s();
    while (evaluated < (uint64_t)want_events) {
        for (int i = 0; i < k.n; i++) {
            al = NULL;
            alerts += (uint64_t)mm_detect_event(d, st, k.evs[i], &alert_arena, &al);
            if (++since_reset == 256) {
                mm_arena_reset(&alert_arena);
                since_reset = 0;
            }
        }
        evaluated += (uint64_t)k.n;
    }
    double det_s = now_s() - t0;
    printf("sigma_windows_events %llu events\n", (unsigned long long)evaluated);
    printf("sigma_windows_seconds %.3f s\n", det_s);
    printf("sigma_windows_events_per_s %.0f events/s\n", (double)evaluated / det_s);
    printf("sigma_windows_us_per_event %.2f us\n", det_s * 1e6 / (double)evaluated);
    printf("sigma_alerts_per_event %.4f\n", (double)alerts / (double)evaluated);
    printf("sigma_rss_after_detect %.1f MiB\n", status_mib("VmRSS"));
    /* the same loop per kind of event: where the cost of the collection lies */
    mm_event **pc = malloc((size_t)k.n * sizeof *pc), **other = malloc((size_t)k.n * sizeof *other);
    if (!pc || !other) abort();
    int npc = 0, nother = 0;
    for (int i = 0; i < k.n; i++) {
        if (is_process_creation(k.evs[i])) pc[npc++] = k.evs[i];
        else other[nother++] = k.evs[i];
    }
    if (npc) {
        printf("sigma_sample_events_process_creation %d events\n", npc);
        printf("sigma_windows_events_per_s_process_creation %.0f events/s\n",
               detect_rate(d, st, pc, npc, 1.0, &alert_arena));
    }
    if (nother) {
        printf("sigma_sample_events_other %d events\n", nother);
        printf("sigma_windows_events_per_s_other %.0f events/s\n", detect_rate(d, st, other, nother, 1.0, &alert_arena));
    }
    free(pc);
    free(other);
    /* a day of a domain controller (the demo): mostly benign Security events, what
     * a production stream looks like, unlike the regression samples (all attacks) */
    {
        FILE *fp = fopen(MM_HOME "/demo/windows-dc.jsonl", "r");
        if (fp) {
            mm_arena dc_arena;
            mm_arena_init(&dc_arena, 1 << 20);
            keep_ctx kd = {.dec = mm_decoder_find("winlog"), .arena = &dc_arena};
            char *line = NULL;
            size_t cap = 0;
            ssize_t len;
            while ((len = getline(&line, &cap, fp)) > 0) {
                while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
                if (len) keep_record(&kd, line, (size_t)len);
            }
            free(line);
            fclose(fp);
            printf("sigma_demo_dc_events %d events\n", kd.n);
            printf("sigma_windows_events_per_s_demo_dc %.0f events/s\n",
                   detect_rate(d, st, kd.evs, kd.n, 2.0, &alert_arena));
            free(kd.evs);
            mm_arena_free(&dc_arena);
        }
    }
    mm_arena_free(&alert_arena);
    free(k.evs);
    mm_arena_free(&keep_arena);

    /* ---- 3. end to end, and evtxexport */
    printf("# 6. EVTX end to end on one core: libevtx read + evtx decoder + every SigmaHQ rule\n");
    printf("evtx_files %d files\n", nfiles);
    printf("evtx_bytes %llu bytes\n", (unsigned long long)total_bytes);
    e2e_ctx c = {.dec = dec, .d = d, .st = st, .stage = 2};
    mm_arena_init(&c.arena, 256 * 1024);
    e2e_pass(&c, files, nfiles, 0);   /* warm-up (page cache, scratch) */
    c.records = c.alerts = c.errors = 0;
    c.decode_ns = c.detect_ns = 0;
    int reps = 0;
    double e2e_s = 0;
    while (reps == 0 || e2e_s < want_secs) {
        e2e_s += e2e_pass(&c, files, nfiles, 0);
        reps++;
    }
    uint64_t recs_per_pass = c.records / (uint64_t)reps;
    double mb = (double)total_bytes * reps / 1e6;
    double e2e_rate = mb / e2e_s;
    printf("evtx_end_to_end_passes %d passes\n", reps);
    printf("evtx_end_to_end_records %llu records\n", (unsigned long long)c.records);
    printf("evtx_end_to_end_alerts %llu alerts\n", (unsigned long long)c.alerts);
    printf("evtx_end_to_end_seconds %.3f s\n", e2e_s);
    printf("evtx_end_to_end_mb_per_s %.1f MB/s\n", e2e_rate);
    printf("evtx_end_to_end_records_per_s %.0f records/s\n", (double)c.records / e2e_s);
    /* the regression files are sparse (a 64 KiB chunk per sample, mostly empty): the
     * rate over the bytes the records occupy in their chunks says more about full files */
    printf("evtx_record_bytes %llu bytes\n", (unsigned long long)record_bytes);
    printf("evtx_record_bytes_per_record %.0f bytes\n", (double)record_bytes / (double)(recs_per_pass ? recs_per_pass : 1));
    printf("evtx_end_to_end_record_data_mb_per_s %.1f MB/s\n", (double)record_bytes * reps / 1e6 / e2e_s);
    /* where the time goes, timed inside the same passes: decoder, detection, and the
     * rest (libevtx reading and rendering, its child process and pipe) */
    double dec_in = (double)c.decode_ns / 1e9, det_in = (double)c.detect_ns / 1e9;
    printf("evtx_share_read %.0f %%\n", 100.0 * (e2e_s - dec_in - det_in) / e2e_s);
    printf("evtx_share_decode %.0f %%\n", 100.0 * dec_in / e2e_s);
    printf("evtx_share_detect %.0f %%\n", 100.0 * det_in / e2e_s);

    /* the same passes reading only (mm_evtx_each with a callback that returns) */
    c.stage = 0;
    double read_s = 0;
    for (int r = 0; r < reps; r++) read_s += e2e_pass(&c, files, nfiles, 0);
    printf("evtx_read_only_mb_per_s %.1f MB/s\n", mb / read_s);

    /* as `mamori ingest --format evtx` reads: records recovered from free space too */
    c.stage = 2;
    c.records = 0;
    double rec_s = 0;
    for (int r = 0; r < reps; r++) rec_s += e2e_pass(&c, files, nfiles, MM_EVTX_RECOVERED);
    printf("evtx_end_to_end_with_recovered_mb_per_s %.1f MB/s\n", mb / rec_s);
    printf("evtx_end_to_end_with_recovered_records %llu records\n", (unsigned long long)c.records);

    /* evtxexport: the same files, the same number of passes, one process per file */
    if (access(evtxexport, X_OK) != 0) {
        printf("# no %s (Debian package libevtx-utils): comparison skipped\n", evtxexport);
    } else {
        printf("# 6b. %s over the same files (output to /dev/null), %d passes\n", evtxexport, reps);
        const char *fmts[2] = {NULL, "xml"};
        const char *names[2] = {"evtxexport", "evtxexport_xml"};
        double per_file_rate[2] = {0, 0};
        for (int f = 0; f < 2; f++) {
            double s = 0;
            for (int r = 0; r < reps && s >= 0; r++) {
                double t = evtxexport_pass(evtxexport, fmts[f], files, nfiles);
                s = t < 0 ? -1 : s + t;
            }
            if (s < 0) {
                printf("# %s -f %s failed on some file\n", evtxexport, fmts[f] ? fmts[f] : "text");
                continue;
            }
            per_file_rate[f] = mb / s;
            printf("%s_mb_per_s %.1f MB/s\n", names[f], per_file_rate[f]);
            printf("%s_ms_per_file_process %.2f ms\n", names[f], s * 1e3 / ((double)nfiles * reps));
        }
        if (per_file_rate[0] > 0) printf("evtx_ratio_vs_evtxexport %.2f x\n", e2e_rate / per_file_rate[0]);
        if (per_file_rate[1] > 0) printf("evtx_ratio_vs_evtxexport_xml %.2f x\n", e2e_rate / per_file_rate[1]);

        /* fair: one process over one file holding every chunk */
        char tmpl[] = "/tmp/mamori-bench-evtx.XXXXXX";
        int fd = mkstemp(tmpl);
        off_t mbytes = 0;
        if (fd >= 0) close(fd);
        uint64_t mrecs = 0;
        mm_err e = {{0}};
        if (fd < 0 || merge_evtx(files, nfiles, tmpl, &mbytes) < 0 ||
            mm_evtx_each(tmpl, 0, count_record, &mrecs, NULL, &e) < 0 || mrecs != recs_per_pass) {
            printf("# could not build one .evtx of every chunk (%llu records, want %llu): merged comparison skipped\n",
                   (unsigned long long)mrecs, (unsigned long long)recs_per_pass);
        } else {
            printf("# 6c. one file holding all %lld chunks (%llu records, %lld bytes), one process, %d passes\n",
                   (long long)(mbytes - 4096) / 65536, (unsigned long long)mrecs, (long long)mbytes, reps);
            char *one[1] = {tmpl};
            double mmb = (double)mbytes * reps / 1e6;
            c.records = 0;
            double ms = 0;
            for (int r = 0; r < reps; r++) ms += e2e_pass(&c, one, 1, 0);
            double mrate = mmb / ms;
            printf("evtx_end_to_end_one_file_mb_per_s %.1f MB/s\n", mrate);
            c.stage = 0;
            double mread = 0;
            for (int r = 0; r < reps; r++) mread += e2e_pass(&c, one, 1, 0);
            c.stage = 2;
            printf("evtx_read_only_one_file_mb_per_s %.1f MB/s\n", mmb / mread);
            /* mamori's own cost per file opened: reading the files one by one minus
             * reading the same chunks from one file */
            printf("evtx_read_overhead_ms_per_file %.2f ms\n",
                   (read_s - mread * (double)total_bytes / (double)mbytes) * 1e3 / ((double)nfiles * reps));
            for (int f = 0; f < 2; f++) {
                double s = 0;
                for (int r = 0; r < reps && s >= 0; r++) {
                    double t = evtxexport_pass(evtxexport, fmts[f], one, 1);
                    s = t < 0 ? -1 : s + t;
                }
                if (s < 0) {
                    printf("# %s failed on the merged file\n", evtxexport);
                    continue;
                }
                printf("%s_one_file_mb_per_s %.1f MB/s\n", names[f], mmb / s);
                printf("evtx_ratio_vs_%s_one_file %.2f x\n", names[f], mrate / (mmb / s));
                if (per_file_rate[f] > 0) {
                    /* per-process cost: the per-file runs minus the same work in one process */
                    double per_file_s = mb / per_file_rate[f];
                    printf("%s_startup_ms_per_file %.2f ms\n", names[f],
                           (per_file_s - s * (double)total_bytes / (double)mbytes) * 1e3 / ((double)nfiles * reps));
                }
            }
        }
        if (fd >= 0) unlink(tmpl);
    }

    mm_arena_free(&c.arena);
    mm_detect_state_free(st);
    mm_detect_free(d);
    mm_config_free(&cfg);
    for (int i = 0; i < nfiles; i++) free(files[i]);
    free(files);
    free(fsizes);
    return 0;
}
