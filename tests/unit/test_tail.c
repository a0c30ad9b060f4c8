/* The file input through the real pipeline and store: what is appended while it
 * runs, across restarts, renames, truncation and a rotation while stopped reaches
 * the store exactly once; partial last lines wait; long lines are cut; the batch
 * reader takes every line.  Each test works in its own directory under /tmp. */
#define _GNU_SOURCE
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "input/input.h"
#include "pipeline.h"
#include "store/store.h"

static char t_dir[64];
static char t_db[128];
static char t_log[128];

static void tmp_setup(void) {
    snprintf(t_dir, sizeof t_dir, "/tmp/mm_tail_XXXXXX");
    if (!mkdtemp(t_dir)) {
        perror("mkdtemp");
        exit(2);
    }
    snprintf(t_db, sizeof t_db, "%s/mamori.db", t_dir);
    snprintf(t_log, sizeof t_log, "%s/fgt.log", t_dir);
}

static void tmp_clean(void) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", t_dir);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A FortiGate traffic line whose msg carries a unique number. */
static int fgt_line(char *out, size_t cap, int n) {
    return snprintf(out, cap,
                    "date=2024-08-28 time=10:%02d:%02d devname=\"FGT60F\" devid=\"FGT60FTK22000001\" "
                    "logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" "
                    "srcip=10.0.%d.%d dstip=203.0.113.%d dstport=443 action=\"accept\" "
                    "msg=\"line-%06d\"\n",
                    (n / 60) % 60, n % 60, (n / 250) % 250, n % 250 + 1, n % 200 + 1, n);
}

static void append_raw(const char *path, const char *p, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || write(fd, p, n) != (ssize_t)n) {
        perror(path);
        exit(2);
    }
    close(fd);
}

static void append_lines(const char *path, int from, int to) {
    char line[512];
    for (int i = from; i < to; i++) append_raw(path, line, (size_t)fgt_line(line, sizeof line, i));
}

/* ---- a running pipeline with one file input ---- */

typedef struct rig {
    mm_store *store;
    mm_pipeline *p;
    mm_input *in;
    mm_input_conf c;
    char *paths[2];
} rig;

static void rig_start(rig *r, const char *pattern, bool follow) {
    memset(r, 0, sizeof *r);
    mm_err err = {{0}};
    if (mm_store_open(&r->store, t_db, &err) != 0) {
        fprintf(stderr, "store: %s\n", err.msg);
        exit(2);
    }
    mm_pipeline_opts o = {.workers = 3, .store_events = true, .batch_rows = 100, .batch_ms = 20};
    if (mm_pipeline_start(&r->p, &o, r->store, NULL, &err) != 0) {
        fprintf(stderr, "pipeline: %s\n", err.msg);
        exit(2);
    }
    r->paths[0] = (char *)pattern;
    r->c = (mm_input_conf){.name = "fgt", .type = MM_IN_FILE, .format = "fortigate",
                           .tenant = "city-a", .segment = "lgwan", .paths = r->paths,
                           .npaths = 1, .follow = follow, .poll_ms = 20};
    if (mm_input_start(&r->in, &r->c, r->p, &err) != 0) {
        fprintf(stderr, "input: %s\n", err.msg);
        exit(2);
    }
}

static void rig_stop(rig *r) {
    mm_input_stop(r->in);
    mm_pipeline_finish(r->p);
    mm_input_free(r->in);   /* its records pointed at its source until now */
    mm_pipeline_free(r->p);
    mm_store_close(r->store);
}

/* Waits until the input has read `n` more lines than `base` (or 5 s). */
static bool wait_lines(uint64_t base, uint64_t n) {
    for (int i = 0; i < 500; i++) {
        if (mm_counter_get(MM_C_FILE_LINES) - base >= n) {
            sleep_ms(30);   /* and nothing more is coming */
            return mm_counter_get(MM_C_FILE_LINES) - base == n;
        }
        sleep_ms(10);
    }
    return false;
}

/* ---- what the store holds ---- */

#define MAXN 20000

typedef struct seen {
    int count[MAXN];
    int other;
    int64_t total;
    int64_t longest;
} seen;

static int seen_cb(void *ctx, const mm_stored_event *e) {
    seen *s = ctx;
    s->total++;
    if (e->raw.len > s->longest) s->longest = e->raw.len;
    const char *m = memmem(e->raw.p, e->raw.len, "msg=\"line-", 10);
    if (!m || (size_t)(m - e->raw.p) + 16 > e->raw.len) {
        s->other++;
        return 0;
    }
    int n = atoi(m + 10);
    if (n >= 0 && n < MAXN) s->count[n]++;
    else s->other++;
    return 0;
}

static seen *load_seen(void) {
    seen *s = calloc(1, sizeof *s);
    mm_store *st;
    mm_err err = {{0}};
    if (mm_store_open(&st, t_db, &err) != 0) {
        fprintf(stderr, "store: %s\n", err.msg);
        exit(2);
    }
    mm_event_filter f = {0};
    mm_store_events_each(st, &f, seen_cb, s);
    mm_store_close(st);
    return s;
}

/* Every line in [0, n) exactly once and nothing else.  Prints the first problem. */
static bool exactly_once(const seen *s, int n) {
    for (int i = 0; i < n; i++)
        if (s->count[i] != 1) {
            printf("# line %d stored %d times\n", i, s->count[i]);
            return false;
        }
    for (int i = n; i < MAXN; i++)
        if (s->count[i]) {
            printf("# unexpected line %d\n", i);
            return false;
        }
    if (s->other) printf("# %d other events\n", s->other);
    return s->other == 0 && s->total == n;
}

/* ---- tests ---- */

static void appended_lines_and_restart_resume(void) {
    tmp_setup();
    append_lines(t_log, 0, 100);
    rig r;
    uint64_t base = mm_counter_get(MM_C_FILE_LINES);
    rig_start(&r, t_log, true);
    CHECK(wait_lines(base, 100));
    append_lines(t_log, 100, 150);
    /* a line written in two parts: nothing until its newline */
    char line[512];
    int n = fgt_line(line, sizeof line, 150);
    append_raw(t_log, line, 40);
    CHECK(wait_lines(base, 150));
    sleep_ms(100);
    CHECK_INT(mm_counter_get(MM_C_FILE_LINES) - base, 150);
    rig_stop(&r);
    /* stopped with half a line pending: the restart completes it, once */
    append_raw(t_log, line + 40, (size_t)n - 40);
    append_lines(t_log, 151, 200);
    base = mm_counter_get(MM_C_FILE_LINES);
    rig_start(&r, t_log, true);
    CHECK(wait_lines(base, 50));
    rig_stop(&r);
    /* a restart with nothing new reads nothing */
    base = mm_counter_get(MM_C_FILE_LINES);
    rig_start(&r, t_log, true);
    sleep_ms(150);
    rig_stop(&r);
    CHECK_INT(mm_counter_get(MM_C_FILE_LINES) - base, 0);
    seen *s = load_seen();
    bool ok = exactly_once(s, 200);
    free(s);
    CHECK(ok);
    tmp_clean();
}

static void rename_rotation_is_followed(void) {
    tmp_setup();
    char rotated[160];
    snprintf(rotated, sizeof rotated, "%s.1", t_log);
    append_lines(t_log, 0, 50);
    uint64_t base = mm_counter_get(MM_C_FILE_LINES);
    uint64_t rot = mm_counter_get(MM_C_FILE_ROTATIONS);
    rig r;
    rig_start(&r, t_log, true);
    CHECK(wait_lines(base, 50));
    CHECK(rename(t_log, rotated) == 0);
    /* the writer has not reopened yet: it still appends to the renamed file */
    append_lines(rotated, 50, 60);
    sleep_ms(100);
    append_lines(rotated, 60, 70);
    append_lines(t_log, 70, 120);
    CHECK(wait_lines(base, 120));
    CHECK(mm_counter_get(MM_C_FILE_ROTATIONS) - rot >= 1);
    /* and once more, fast: rename and recreate between two polls */
    CHECK(rename(t_log, rotated) == 0);
    append_lines(t_log, 120, 130);
    CHECK(wait_lines(base, 130));
    rig_stop(&r);
    seen *s = load_seen();
    bool ok = exactly_once(s, 130);
    free(s);
    CHECK(ok);
    tmp_clean();
}

static void truncation_restarts_at_zero(void) {
    tmp_setup();
    append_lines(t_log, 0, 40);
    uint64_t base = mm_counter_get(MM_C_FILE_LINES);
    uint64_t rot = mm_counter_get(MM_C_FILE_ROTATIONS);
    rig r;
    rig_start(&r, t_log, true);
    CHECK(wait_lines(base, 40));
    CHECK(truncate(t_log, 0) == 0);
    sleep_ms(100);
    append_lines(t_log, 40, 45);
    CHECK(wait_lines(base, 45));
    CHECK_INT(mm_counter_get(MM_C_FILE_ROTATIONS) - rot, 1);
    rig_stop(&r);
    seen *s = load_seen();
    bool ok = exactly_once(s, 45);
    free(s);
    CHECK(ok);
    tmp_clean();
}

static void rotation_while_stopped_loses_nothing(void) {
    tmp_setup();
    char rotated[160];
    snprintf(rotated, sizeof rotated, "%s.1", t_log);
    append_lines(t_log, 0, 30);
    uint64_t base = mm_counter_get(MM_C_FILE_LINES);
    rig r;
    rig_start(&r, t_log, true);
    CHECK(wait_lines(base, 30));
    rig_stop(&r);
    append_lines(t_log, 30, 40);          /* written before the rotation */
    CHECK(rename(t_log, rotated) == 0);
    append_lines(t_log, 40, 55);          /* the new file */
    base = mm_counter_get(MM_C_FILE_LINES);
    rig_start(&r, t_log, true);
    CHECK(wait_lines(base, 25));
    rig_stop(&r);
    /* and a restart after that repeats nothing */
    base = mm_counter_get(MM_C_FILE_LINES);
    rig_start(&r, t_log, true);
    sleep_ms(150);
    rig_stop(&r);
    CHECK_INT(mm_counter_get(MM_C_FILE_LINES) - base, 0);
    seen *s = load_seen();
    bool ok = exactly_once(s, 55);
    free(s);
    CHECK(ok);
    tmp_clean();
}

static void glob_matching_rotated_names_reads_once(void) {
    tmp_setup();
    char pattern[160], r1[160], r2[160];
    snprintf(pattern, sizeof pattern, "%s*", t_log);
    snprintf(r1, sizeof r1, "%s.1", t_log);
    snprintf(r2, sizeof r2, "%s.2", t_log);
    append_lines(t_log, 0, 20);
    uint64_t base = mm_counter_get(MM_C_FILE_LINES);
    rig r;
    rig_start(&r, pattern, true);
    CHECK(wait_lines(base, 20));
    CHECK(rename(t_log, r1) == 0);
    append_lines(r1, 20, 25);
    append_lines(t_log, 25, 40);
    CHECK(wait_lines(base, 40));
    sleep_ms(100);
    CHECK(rename(r1, r2) == 0);
    CHECK(rename(t_log, r1) == 0);
    append_lines(t_log, 40, 50);
    CHECK(wait_lines(base, 50));
    rig_stop(&r);
    /* restart with three matching files, all read: nothing again */
    base = mm_counter_get(MM_C_FILE_LINES);
    rig_start(&r, pattern, true);
    sleep_ms(150);
    rig_stop(&r);
    CHECK_INT(mm_counter_get(MM_C_FILE_LINES) - base, 0);
    seen *s = load_seen();
    bool ok = exactly_once(s, 50);
    free(s);
    CHECK(ok);
    tmp_clean();
}

static void missing_file_is_picked_up_when_created(void) {
    tmp_setup();
    uint64_t base = mm_counter_get(MM_C_FILE_LINES);
    rig r;
    rig_start(&r, t_log, true);
    sleep_ms(100);
    append_lines(t_log, 0, 10);
    CHECK(wait_lines(base, 10));
    rig_stop(&r);
    seen *s = load_seen();
    bool ok = exactly_once(s, 10);
    free(s);
    CHECK(ok);
    tmp_clean();
}

static void read_once_takes_the_unterminated_last_line(void) {
    tmp_setup();
    append_lines(t_log, 0, 10);
    char line[512];
    int n = fgt_line(line, sizeof line, 10);
    append_raw(t_log, line, (size_t)n - 1);   /* no newline at the end */
    uint64_t base = mm_counter_get(MM_C_FILE_LINES);
    rig r;
    rig_start(&r, t_log, false);
    CHECK(wait_lines(base, 11));
    rig_stop(&r);
    seen *s = load_seen();
    bool ok = exactly_once(s, 11);
    free(s);
    CHECK(ok);
    tmp_clean();
}

static void crlf_empty_and_long_lines(void) {
    tmp_setup();
    char line[512];
    int n = fgt_line(line, sizeof line, 0);
    line[n - 1] = '\r';
    line[n] = '\n';
    append_raw(t_log, line, (size_t)n + 1);
    append_raw(t_log, "\n\r\n\n", 4);
    size_t big = MM_MAX_RECORD * 2 + 77;
    char *b = malloc(big + 1);
    n = fgt_line(b, big, 1);
    memset(b + n - 1, 'x', big - (size_t)n + 1);   /* a line of 128 KiB */
    b[big] = '\n';
    append_raw(t_log, b, big + 1);
    free(b);
    append_lines(t_log, 2, 5);
    uint64_t base = mm_counter_get(MM_C_FILE_LINES);
    uint64_t trunc = mm_counter_get(MM_C_LINES_TRUNCATED);
    rig r;
    rig_start(&r, t_log, true);
    CHECK(wait_lines(base, 5));
    rig_stop(&r);
    CHECK_INT(mm_counter_get(MM_C_LINES_TRUNCATED) - trunc, 1);
    seen *s = load_seen();
    bool ok = exactly_once(s, 5);
    int64_t longest = s->longest;
    free(s);
    CHECK(ok);
    CHECK_INT(longest, MM_MAX_RECORD);
    tmp_clean();
}

static void batch_read_files(void) {
    tmp_setup();
    append_lines(t_log, 0, 300);
    append_raw(t_log, "\n\n", 2);
    char line[512];
    int n = fgt_line(line, sizeof line, 300);
    append_raw(t_log, line, (size_t)n - 1);
    mm_store *st;
    mm_err err = {{0}};
    CHECK(mm_store_open(&st, t_db, &err) == 0);
    mm_pipeline *p;
    mm_pipeline_opts o = {.workers = 2, .store_events = true};
    CHECK(mm_pipeline_start(&p, &o, st, NULL, &err) == 0);
    mm_source src = {"ingest", "city-a", "lgwan", "fortigate"};
    char *paths[] = {t_log};
    int64_t got = mm_input_read_files(p, &src, mm_decoder_find("fortigate"), paths, 1, &err);
    char *missing[] = {"/nonexistent/mamori/file.log"};
    int64_t bad = mm_input_read_files(p, &src, mm_decoder_find("fortigate"), missing, 1, &err);
    mm_pipeline_finish(p);
    mm_pipeline_free(p);
    mm_store_close(st);
    CHECK_INT(got, 301);
    CHECK(bad < 0);
    CHECK(strstr(err.msg, "/nonexistent/mamori/file.log") != NULL);
    seen *s = load_seen();
    bool ok = exactly_once(s, 301);
    free(s);
    CHECK(ok);
    tmp_clean();
}

static void unknown_format_is_refused_at_start(void) {
    mm_input_conf c = {.name = "x", .type = MM_IN_FILE, .format = "no-such-format",
                       .paths = (char *[]){"/tmp/none"}, .npaths = 1};
    mm_input *in = NULL;
    mm_err err = {{0}};
    CHECK(mm_input_start(&in, &c, NULL, &err) < 0);
    CHECK(in == NULL);
    CHECK(strstr(err.msg, "no-such-format") != NULL);
}

int main(void) {
    mm_log_set_level(MM_LOG_WARN);
    TEST(appended_lines_and_restart_resume);
    TEST(rename_rotation_is_followed);
    TEST(truncation_restarts_at_zero);
    TEST(rotation_while_stopped_loses_nothing);
    TEST(glob_matching_rotated_names_reads_once);
    TEST(missing_file_is_picked_up_when_created);
    TEST(read_once_takes_the_unterminated_last_line);
    TEST(crlf_empty_and_long_lines);
    TEST(batch_read_files);
    TEST(unknown_format_is_refused_at_start);
    TEST_MAIN_END();
}
