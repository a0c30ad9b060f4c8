/* mamori — the command line.
 *
 *   mamori [-c FILE] [--db PATH] <command> [options]
 *
 *   run                 the daemon: inputs -> workers -> store (SIGTERM stops cleanly,
 *                       SIGHUP reloads rules and indicator lists)
 *   ingest FILE...      the same pipeline over files, then a summary
 *   alerts              list alerts
 *   search QUERY        search stored events
 *   status              counters and store state
 *   config check|keys   validate a configuration / list every key
 *   version
 *
 * Every command runs without a configuration file on built-in defaults. */
#include "decode/decode.h"
#include "detect/detect.h"
#include "input/input.h"
#include "intel/intel.h"
#include "pipeline.h"
#include "sensor/sensor.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct cli {
    mm_config cfg;
    const char *cfg_path;
    const char *db;
    int argc;
    char **argv;     /* command arguments, global options removed */
    char **rules;    /* --rules DIR, in order */
    int nrules;
} cli;

static void usage(FILE *f) {
    fputs("usage: mamori [-c FILE] [--db PATH] <command> [options]\n"
          "\n"
          "commands:\n"
          "  run                         run the daemon with the configured inputs\n"
          "  ingest [--format NAME] [--pcap] [--json] [--events] [--alerts] [--no-store]\n"
          "         [--tenant T] [--segment S] [--workers N] [--recovered] [--quarantine DIR] FILE...\n"
          "                              decode, detect and store files ('-' = stdin); --pcap: capture\n"
          "                              files or folders through the packet sensor\n"
          "  replay [--format NAME] [--lateness DUR] [--workers N] [--json] [--no-store] DIR|FILE...\n"
          "                              files in time order (.evtx, .jsonl, .log), print alerts\n"
          "  rules check [DIR...] [--json]  load rules, count loaded / skipped with reasons\n"
          "  rules test [DIR...]         run rules against their fixtures (<rule>.pos/.neg.*)\n"
          "  alerts [--since DUR|TIME] [--limit N] [--json]\n"
          "  search QUERY [--since DUR|TIME] [--limit N] [--json]\n"
          "  status [--json]             counters and store state\n"
          "  intel import FILE|URL... [--format stix|misp|csv|list|freetext|taxii|misp-feed] [--feed NAME]\n"
          "         [--actor A] [--campaign C] [--malware M] [--confidence N] [--ttl DUR] [--warning] [--no-hunt]\n"
          "                              add indicators to the store; new ones are retro-hunted\n"
          "  intel add TYPE VALUE [--actor A] [--campaign C] [--confidence N] [--ttl DUR] ...\n"
          "  intel list|show VALUE|expire VALUE|stats|refresh [NAME...] [--force]\n"
          "  hunt --indicator VALUE | --feed NAME [--since 90d] [--json] [--store-alerts]\n"
          "                              search stored events for indicators (retro-hunt)\n"
          "  config check [FILE]         validate a configuration file\n"
          "  config keys                 list every configuration key\n"
          "  version\n"
          "\n"
          "global options:\n"
          "  -c FILE      configuration (default: built-in defaults)\n"
          "  --db PATH    store file (default: ./mamori.db or store.path)\n"
          "  --rules DIR  more rule folders (repeatable), added to rules.dir / rules.dirs\n",
          f);
}

static int32_t since_tz;   /* the configured timezone, for --since times */
static mm_detect *load_engine(const mm_config *cfg, mm_detect_opts *o, mm_err *err);

static int load_config(cli *c) {
    mm_config_defaults(&c->cfg);
    if (c->cfg_path) {
        mm_err err = {{0}};
        if (mm_config_load(&c->cfg, c->cfg_path, &err) != 0) {
            fprintf(stderr, "mamori: %s\n", err.msg);
            return -1;
        }
    }
    if (c->db) {
        free(c->cfg.store_path);
        c->cfg.store_path = strdup(c->db);
    }
    mm_log_set_level(c->cfg.log_level);
    since_tz = c->cfg.tz_offset;
    /* --rules folders join the configured ones for every command that loads rules */
    for (int i = 0; i < c->nrules; i++) {
        c->cfg.rule_dirs = realloc(c->cfg.rule_dirs, (size_t)(c->cfg.nrule_dirs + 1) * sizeof(char *));
        if (!c->cfg.rule_dirs) abort();
        c->cfg.rule_dirs[c->cfg.nrule_dirs++] = strdup(c->rules[i]);
    }
    return 0;
}

static mm_store *open_store(cli *c) {
    mm_store *s = NULL;
    mm_err err = {{0}};
    if (mm_store_open(&s, c->cfg.store_path, &err) != 0) {
        fprintf(stderr, "mamori: %s\n", err.msg);
        return NULL;
    }
    return s;
}

/* Commands that only read must not create an empty store at a mistyped path. */
static mm_store *open_existing_store(cli *c) {
    struct stat st;
    if (stat(c->cfg.store_path, &st) != 0) {
        fprintf(stderr, "mamori: no store at %s (use --db PATH, or run/ingest first)\n",
                c->cfg.store_path);
        return NULL;
    }
    return open_store(c);
}

/* "1h", "30m", "7d" ago, or a time; a time without a zone is in the configured
 * timezone, like the times the text output shows. */
static bool parse_since(const char *s, int64_t *ns) {
    int64_t d;
    if (mm_duration_parse(s, &d)) {
        *ns = mm_now_ns() - d;
        return true;
    }
    if (!mm_time_parse(mm_str_c(s), ns)) return false;
    size_t n = strlen(s);
    bool zoned = n && (s[n - 1] == 'Z' || s[n - 1] == 'z' ||
                       (n > 6 && (s[n - 6] == '+' || s[n - 6] == '-')) ||
                       (n > 5 && (s[n - 5] == '+' || s[n - 5] == '-')));
    if (!zoned && !strchr(s, 'T') && !strchr(s, ' ')) zoned = true;   /* an epoch number */
    if (!zoned) *ns -= (int64_t)since_tz * 1000000000LL;
    return true;
}

static bool parse_limit(const char *s, int64_t *out) {
    return mm_str_to_i64(mm_str_c(s), out) && *out >= 0;
}

/* Options the listing commands share: --json, --since, --limit.  Returns 1 when
 * argv[*i] was one of them (consumed), 0 when not, -1 on a bad value (reported). */
static int list_option(cli *c, const char *cmd, int *i, bool *json, int64_t *since, int64_t *limit) {
    const char *a = c->argv[*i];
    if (strcmp(a, "--json") == 0) {
        *json = true;
        return 1;
    }
    bool has_val = *i + 1 < c->argc;
    if ((strcmp(a, "--since") == 0 || strcmp(a, "--limit") == 0) && !has_val) {
        fprintf(stderr, "mamori %s: %s needs a value\n", cmd, a);
        return -1;
    }
    if (strcmp(a, "--since") == 0 && has_val) {
        if (!parse_since(c->argv[++*i], since)) {
            fprintf(stderr, "mamori %s: --since wants a duration (1h, 7d) or a time\n", cmd);
            return -1;
        }
        return 1;
    }
    if (strcmp(a, "--limit") == 0 && has_val) {
        if (!parse_limit(c->argv[++*i], limit)) {
            fprintf(stderr, "mamori %s: --limit wants a number (0 = no limit)\n", cmd);
            return -1;
        }
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- ingest */

static int cmd_ingest(cli *c) {
    const char *format = "fortigate";
    bool json = false, events = false, no_store = false, print_alerts = false, recovered = false, pcap = false;
    const char *tenant = NULL, *segment = NULL, *quarantine = NULL;
    int workers = 0;
    char **files = calloc((size_t)c->argc + 1, sizeof *files);
    int nfiles = 0;
    for (int i = 1; i < c->argc; i++) {
        const char *a = c->argv[i];
        if (strcmp(a, "--format") == 0 && i + 1 < c->argc) format = c->argv[++i];
        else if (strcmp(a, "--json") == 0) json = true;
        else if (strcmp(a, "--events") == 0) events = true;
        else if (strcmp(a, "--alerts") == 0) print_alerts = true;
        else if (strcmp(a, "--recovered") == 0) recovered = true;
        else if (strcmp(a, "--pcap") == 0) pcap = true;
        else if (strcmp(a, "--quarantine") == 0 && i + 1 < c->argc) quarantine = c->argv[++i];
        else if (strcmp(a, "--no-store") == 0) no_store = true;
        else if (strcmp(a, "--tenant") == 0 && i + 1 < c->argc) tenant = c->argv[++i];
        else if (strcmp(a, "--segment") == 0 && i + 1 < c->argc) segment = c->argv[++i];
        else if (strcmp(a, "--workers") == 0 && i + 1 < c->argc) {
            int64_t w;
            if (!mm_str_to_i64(mm_str_c(c->argv[++i]), &w) || w < 1 || w > 256) {
                fprintf(stderr, "mamori ingest: --workers wants 1..256\n");
                free(files);
                return 2;
            }
            workers = (int)w;
        }
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "mamori ingest: unknown option %s\n", a);
            free(files);
            return 2;
        } else
            files[nfiles++] = c->argv[i];
    }
    if (nfiles == 0) {
        fprintf(stderr, "mamori ingest: no files given\n");
        free(files);
        return 2;
    }
    if (pcap || strcmp(format, "pcap") == 0) pcap = true, format = "ecs";
    const mm_decoder *dec = mm_decoder_find(format);
    if (!dec) {
        fprintf(stderr, "mamori ingest: unknown format '%s' (known: pcap", format);
        for (const char *const *n = mm_decoder_names(); *n; n++) fprintf(stderr, " %s", *n);
        fprintf(stderr, ")\n");
        free(files);
        return 2;
    }
    mm_err err = {{0}};
    mm_detect *det = load_engine(&c->cfg, NULL, &err);
    if (!det) {
        fprintf(stderr, "mamori: %s\n", err.msg);
        free(files);
        return 1;
    }
    mm_store *store = no_store ? NULL : open_store(c);
    if (!no_store && !store) {
        mm_detect_free(det);
        free(files);
        return 1;
    }
    mm_pipeline_opts o = {
        .workers = workers > 0 ? workers : c->cfg.workers,
        .store_events = !no_store,
        .print_events = events,
        .print_alerts = print_alerts ? (json ? 2 : 1) : 0,
        .print_tz = c->cfg.tz_offset,
        .batch_rows = c->cfg.batch_rows,
        .batch_ms = c->cfg.batch_ms,
        .retention_days = 0,   /* a batch import of old logs must not expire them at once */
        .decode = {.tz_offset = c->cfg.tz_offset},
    };
    mm_source src = {"ingest", tenant ? tenant : c->cfg.tenant, segment ? segment : c->cfg.segment,
                     format};
    mm_pipeline *p;
    if (mm_pipeline_start(&p, &o, store, det, &err) != 0) {
        fprintf(stderr, "mamori: %s\n", err.msg);
        return 1;
    }
    int64_t t0 = mm_mono_ns();
    uint64_t lost0 = mm_counter_get(MM_C_STORE_LOST);
    /* .evtx files are binary: their records reach the evtx decoder as XML; captures
     * go through the packet sensor */
    mm_sensor_stats sst = {0};
    int64_t lines;
    if (pcap) {
        mm_sensor_opts so;
        mm_sensor_opts_from_conf(&so, &c->cfg.sensor);
        if (quarantine) so.quarantine_dir = quarantine;
        lines = mm_input_read_pcap(p, &src, &so, files, nfiles, &sst, &err);
    } else if (strcmp(format, "evtx") == 0)
        lines = mm_input_read_evtx(p, &src, dec, files, nfiles, recovered ? MM_EVTX_RECOVERED : 0, &err);
    else
        lines = mm_input_read_files(p, &src, dec, files, nfiles, &err);
    mm_pipeline_finish(p);
    double secs = (double)(mm_mono_ns() - t0) / 1e9;
    int rc = 0;
    if (lines < 0 || err.msg[0]) {   /* evtx: some file could not be read (the others were) */
        fprintf(stderr, "mamori ingest: %s\n", err.msg);
        rc = 1;
    }
    uint64_t lost = mm_counter_get(MM_C_STORE_LOST) - lost0;
    if (lost) {
        fprintf(stderr, "mamori ingest: the store kept failing: %llu events and alerts not stored\n",
                (unsigned long long)lost);
        rc = 1;
    }
    mm_rule_count rcs[256];
    int nrc = mm_pipeline_rule_counts(p, rcs, 256);
    uint64_t ev = mm_counter_get(MM_C_EVENTS_DECODED), de = mm_counter_get(MM_C_DECODE_ERRORS);
    uint64_t al = mm_counter_get(MM_C_ALERTS), st = mm_counter_get(MM_C_EVENTS_STORED);
    if (json) {
        mm_buf b = {0};
        mm_buf_puts(&b, "{\"summary\":{");
        if (pcap)
            mm_buf_printf(&b,
                          "\"packets\":%llu,\"bytes\":%llu,\"flows\":%llu,\"sensor_events\":%llu,\"files\":%llu,"
                          "\"packet_errors\":%llu,\"tcp_gaps\":%llu,\"app_errors\":%llu,",
                          (unsigned long long)sst.packets, (unsigned long long)sst.bytes,
                          (unsigned long long)sst.flows, (unsigned long long)sst.events,
                          (unsigned long long)sst.files, (unsigned long long)sst.decode_errors,
                          (unsigned long long)sst.tcp_gaps, (unsigned long long)sst.app_errors);
        mm_buf_printf(&b,
                      "\"records\":%lld,\"events\":%llu,\"decode_errors\":%llu,"
                      "\"alerts\":%llu,\"stored\":%llu,\"truncated\":%llu,\"seconds\":%.3f,"
                      "\"by_rule\":[",
                      (long long)(lines < 0 ? 0 : lines), (unsigned long long)ev,
                      (unsigned long long)de, (unsigned long long)al, (unsigned long long)st,
                      (unsigned long long)mm_counter_get(MM_C_LINES_TRUNCATED), secs);
        for (int i = 0; i < nrc; i++) {
            mm_buf_puts(&b, i ? ",{\"rule.id\":" : "{\"rule.id\":");
            mm_json_str(&b, rcs[i].rule_id, strlen(rcs[i].rule_id));
            mm_buf_puts(&b, ",\"rule.name\":");
            mm_json_str(&b, rcs[i].rule_name, strlen(rcs[i].rule_name));
            mm_buf_puts(&b, ",\"level\":");
            mm_json_str(&b, rcs[i].level, strlen(rcs[i].level));
            mm_buf_printf(&b, ",\"count\":%llu}", (unsigned long long)rcs[i].n);
        }
        mm_buf_puts(&b, "]}}\n");
        fwrite(b.p, 1, b.len, stdout);
        mm_buf_free(&b);
    } else {
        FILE *out = (events || print_alerts) ? stderr : stdout;
        if (pcap)
            fprintf(out, "sensor: %llu packets (%.1f MB), %llu flows, %llu events, %llu files, %llu bad packets, "
                         "%llu TCP gaps, %llu malformed application data\n",
                    (unsigned long long)sst.packets, (double)sst.bytes / 1e6, (unsigned long long)sst.flows,
                    (unsigned long long)sst.events, (unsigned long long)sst.files,
                    (unsigned long long)sst.decode_errors, (unsigned long long)sst.tcp_gaps,
                    (unsigned long long)sst.app_errors);
        fprintf(out, "ingested %lld records from %d file(s) in %.2fs: %llu events, %llu decode errors, "
                     "%llu alerts%s\n",
                (long long)(lines < 0 ? 0 : lines), nfiles, secs, (unsigned long long)ev,
                (unsigned long long)de, (unsigned long long)al, no_store ? " (not stored)" : "");
        if (nrc) fprintf(out, "alerts by rule:\n");
        for (int i = 0; i < nrc; i++)
            fprintf(out, "  %6llu  %-8s  %s\n", (unsigned long long)rcs[i].n, rcs[i].level,
                    rcs[i].rule_name);
    }
    mm_pipeline_free(p);   /* frees nothing it does not own */
    mm_detect_free(det);
    if (store) mm_store_close(store);
    free(files);
    return rc;
}

/* ---------------------------------------------------------------- record files */

/* The decoder a file needs when no --format is given, by its extension. */
/* JSON lines are Windows events (Winlogbeat, NXLog, EVTX renderings) or ECS events
 * (the packet sensor's output, Elastic producers): told by the first line. */
static const char *json_format(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return "winlog";
    char line[8192];
    const char *fmt = "winlog";
    if (fgets(line, sizeof line, f)) {
        bool win = strstr(line, "\"winlog") || strstr(line, "\"Event\"") || strstr(line, "EventID") ||
                   strstr(line, "\"Channel\"");
        bool ecs = strstr(line, "\"@timestamp\"") || strstr(line, "\"event.") || strstr(line, "\"observer.type\"");
        if (ecs && !win) fmt = "ecs";
    }
    fclose(f);
    return fmt;
}

static const char *format_of(const char *path, const char *fallback) {
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return fallback;
    if (!strcasecmp(dot, ".evtx") || !strcasecmp(dot, ".xml")) return "evtx";
    if (!strcasecmp(dot, ".jsonl") || !strcasecmp(dot, ".json") || !strcasecmp(dot, ".ndjson")) return json_format(path);
    return fallback;
}

typedef int (*record_fn)(void *ctx, const mm_decoder *dec, const char *rec, size_t len);

typedef struct evtx_fwd {
    record_fn fn;
    void *ctx;
    const mm_decoder *dec;
} evtx_fwd;

static int evtx_record(void *ctx, const char *xml, size_t len) {
    evtx_fwd *f = ctx;
    return f->fn(f->ctx, f->dec, xml, len);
}

/* Every record of one file: .evtx records as XML, other files line by line. */
static int read_records(const char *path, const char *format, record_fn fn, void *ctx, mm_err *err) {
    const char *fmt = format ? format : format_of(path, "fortigate");
    const mm_decoder *dec = mm_decoder_find(fmt);
    if (!dec) {
        mm_err_set(err, "%s: unknown format '%s'", path, fmt);
        return MM_EINVAL;
    }
    size_t pl = strlen(path);
    if (pl > 5 && !strcasecmp(path + pl - 5, ".evtx")) {
        evtx_fwd f = {fn, ctx, dec};
        return mm_evtx_each(path, 0, evtx_record, &f, NULL, err);
    }
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!fp) {
        mm_err_set(err, "%s: %s", path, strerror(errno));
        return MM_EIO;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, fp)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        if (n == 0) continue;
        rc = fn(ctx, dec, line, (size_t)n);
    }
    free(line);
    if (fp != stdin) fclose(fp);
    return rc;
}

typedef struct file_list {
    char **p;
    int n;
} file_list;

static int cmp_path(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A file, or every regular file under a folder (sorted, hidden entries skipped). */
static void collect_files(const char *path, file_list *fl, int depth) {
    struct stat st;
    if (stat(path, &st) != 0 || depth > 16) return;
    if (!S_ISDIR(st.st_mode)) {
        fl->p = realloc(fl->p, (size_t)(fl->n + 1) * sizeof(char *));
        if (!fl->p) abort();
        fl->p[fl->n++] = strdup(path);
        return;
    }
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *de;
    int first = fl->n;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char sub[4096];
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= sizeof sub) continue;
        collect_files(sub, fl, depth + 1);
    }
    closedir(d);
    qsort(fl->p + first, (size_t)(fl->n - first), sizeof(char *), cmp_path);
}

static void free_files(file_list *fl) {
    for (int i = 0; i < fl->n; i++) free(fl->p[i]);
    free(fl->p);
}

/* ---------------------------------------------------------------- replay */

/* Files from several hosts interleave: records are decoded once to learn their time,
 * held in a min-heap, and handed to the pipeline once they are `lateness` older than
 * the newest time seen, so detection sees them in time order.  A record that arrives
 * later than that is still processed (and counted), never dropped. */
typedef struct rrec {
    int64_t ts;
    uint64_t seq;
    const mm_decoder *dec;
    char *rec;
    size_t len;
} rrec;

typedef struct replay_ctx {
    rrec *h;
    size_t n, cap, max_held;
    int64_t newest, last_out, lateness;
    uint64_t seq, records, late;
    mm_feeder *f;
    mm_source srcs[8];
    int nsrcs;
    const char *tenant, *segment;
    mm_arena arena;
    mm_decode_opts dopts;
} replay_ctx;

static bool rless(const rrec *a, const rrec *b) { return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq); }

static void heap_push(replay_ctx *r, rrec x) {
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->h = realloc(r->h, r->cap * sizeof *r->h);
        if (!r->h) abort();
    }
    size_t i = r->n++;
    while (i > 0 && rless(&x, &r->h[(i - 1) / 2])) {
        r->h[i] = r->h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    r->h[i] = x;
}

static rrec heap_pop(replay_ctx *r) {
    rrec top = r->h[0], x = r->h[--r->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= r->n) break;
        if (c + 1 < r->n && rless(&r->h[c + 1], &r->h[c])) c++;
        if (!rless(&r->h[c], &x)) break;
        r->h[i] = r->h[c];
        i = c;
    }
    if (r->n) r->h[i] = x;
    return top;
}

static const mm_source *replay_src(replay_ctx *r, const mm_decoder *dec) {
    for (int i = 0; i < r->nsrcs; i++)
        if (!strcmp(r->srcs[i].format, dec->name)) return &r->srcs[i];
    if (r->nsrcs == (int)MM_ARRAY_LEN(r->srcs)) return &r->srcs[0];
    r->srcs[r->nsrcs] = (mm_source){"replay", r->tenant, r->segment, dec->name};
    return &r->srcs[r->nsrcs++];
}

static void replay_emit(replay_ctx *r, rrec x) {
    if (x.ts < r->last_out) r->late++;
    else r->last_out = x.ts;
    mm_feeder_put(r->f, replay_src(r, x.dec), x.dec, x.rec, x.len, mm_now_ns());
    free(x.rec);
}

static int replay_record(void *ctx, const mm_decoder *dec, const char *rec, size_t len) {
    replay_ctx *r = ctx;
    r->records++;
    if (len > MM_MAX_RECORD) len = MM_MAX_RECORD;
    mm_event ev;
    mm_event_init(&ev, &r->arena);
    ev.recv_ns = 0;
    mm_decode(dec, &ev, (mm_str){rec, (uint32_t)len}, &r->dopts);
    int64_t ts = ev.kind == MM_KIND_EVENT ? ev.ts_ns : r->newest;
    mm_arena_reset(&r->arena);
    rrec x = {ts, r->seq++, dec, malloc(len ? len : 1), len};
    if (!x.rec) abort();
    memcpy(x.rec, rec, len);
    heap_push(r, x);
    if (ts > r->newest) r->newest = ts;
    while (r->n && (r->h[0].ts <= r->newest - r->lateness || r->n > r->max_held)) replay_emit(r, heap_pop(r));
    return 0;
}

static int cmd_replay(cli *c) {
    const char *format = NULL;
    bool json = false, no_store = false;
    int64_t lateness = 10LL * 60 * 1000000000LL;
    /* one worker by default: alerts come out in time order and a sequence's evidence
     * is its last step; --workers N trades that for speed on large archives */
    int workers = 1;
    file_list fl = {0};
    for (int i = 1; i < c->argc; i++) {
        const char *a = c->argv[i];
        if (strcmp(a, "--format") == 0 && i + 1 < c->argc) format = c->argv[++i];
        else if (strcmp(a, "--json") == 0) json = true;
        else if (strcmp(a, "--no-store") == 0) no_store = true;
        else if (strcmp(a, "--workers") == 0 && i + 1 < c->argc) {
            int64_t w;
            if (!mm_str_to_i64(mm_str_c(c->argv[++i]), &w) || w < 1 || w > 256) {
                fprintf(stderr, "mamori replay: --workers wants 1..256\n");
                free_files(&fl);
                return 2;
            }
            workers = (int)w;
        } else if (strcmp(a, "--lateness") == 0 && i + 1 < c->argc) {
            /* at most a year: the heap's arithmetic on event times stays far from overflow */
            if (!mm_duration_parse(c->argv[++i], &lateness) || lateness < 0 || lateness > 366LL * 86400 * 1000000000LL) {
                fprintf(stderr, "mamori replay: --lateness wants a duration up to a year (30s, 10m, 1h)\n");
                free_files(&fl);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "mamori replay: unknown option %s\n", a);
            free_files(&fl);
            return 2;
        } else {
            struct stat st;
            if (stat(a, &st) != 0) {
                fprintf(stderr, "mamori replay: %s: %s\n", a, strerror(errno));
                free_files(&fl);
                return 1;
            }
            collect_files(a, &fl, 0);
        }
    }
    if (fl.n == 0) {
        fprintf(stderr, "mamori replay: no files given\n");
        free_files(&fl);
        return 2;
    }
    if (format && !mm_decoder_find(format)) {
        fprintf(stderr, "mamori replay: unknown format '%s'\n", format);
        free_files(&fl);
        return 2;
    }
    mm_err err = {{0}};
    mm_detect *det = load_engine(&c->cfg, NULL, &err);
    if (!det) {
        fprintf(stderr, "mamori: %s\n", err.msg);
        free_files(&fl);
        return 1;
    }
    mm_store *store = no_store ? NULL : open_store(c);
    if (!no_store && !store) {
        mm_detect_free(det);
        free_files(&fl);
        return 1;
    }
    mm_pipeline_opts o = {
        .workers = workers,
        .store_events = !no_store,
        .print_alerts = json ? 2 : 1,
        .print_tz = c->cfg.tz_offset,
        .batch_rows = c->cfg.batch_rows,
        .batch_ms = c->cfg.batch_ms,
        .decode = {.tz_offset = c->cfg.tz_offset},
    };
    mm_pipeline *p;
    if (mm_pipeline_start(&p, &o, store, det, &err) != 0) {
        fprintf(stderr, "mamori: %s\n", err.msg);
        return 1;
    }
    replay_ctx r = {.lateness = lateness, .max_held = 4u << 20, .newest = INT64_MIN / 2,
                    .last_out = INT64_MIN, .tenant = c->cfg.tenant, .segment = c->cfg.segment,
                    .dopts = {.tz_offset = c->cfg.tz_offset, .peek = true}};
    mm_arena_init(&r.arena, 1 << 16);
    r.f = mm_feeder_new(p, true);
    int64_t t0 = mm_mono_ns();
    int rc = 0, bad_files = 0;
    for (int i = 0; i < fl.n; i++) {
        mm_err ferr = {{0}};
        if (read_records(fl.p[i], format, replay_record, &r, &ferr) < 0) {
            fprintf(stderr, "mamori replay: %s\n", ferr.msg);
            bad_files++;
        }
    }
    while (r.n) replay_emit(&r, heap_pop(&r));
    mm_feeder_free(r.f);
    mm_pipeline_finish(p);
    double secs = (double)(mm_mono_ns() - t0) / 1e9;
    uint64_t ev = mm_counter_get(MM_C_EVENTS_DECODED), de = mm_counter_get(MM_C_DECODE_ERRORS);
    uint64_t al = mm_counter_get(MM_C_ALERTS);
    fprintf(stderr,
            "replayed %llu records from %d file(s) in %.2fs: %llu events, %llu decode errors, %llu alerts, "
            "%llu out of order beyond the lateness%s\n",
            (unsigned long long)r.records, fl.n, secs, (unsigned long long)ev, (unsigned long long)de,
            (unsigned long long)al, (unsigned long long)r.late, no_store ? " (not stored)" : "");
    if (bad_files) rc = 1;
    if (mm_counter_get(MM_C_STORE_LOST)) rc = 1;
    mm_pipeline_free(p);
    mm_detect_free(det);
    if (store) mm_store_close(store);
    mm_arena_free(&r.arena);
    free(r.h);
    free_files(&fl);
    return rc;
}

/* ---------------------------------------------------------------- rules */

static void print_skips(const mm_rules_report *rep) {
    for (int i = 0; i < rep->nskips; i++) {
        const mm_rule_problem *x = &rep->skips[i];
        printf("SKIP %s: %s\n     %s\n", x->reason, x->title ? x->title : "(untitled)", x->detail);
    }
}

typedef struct count_kv {
    char *k;
    int n;
} count_kv;

static void kv_add(count_kv **v, int *n, const char *k) {
    for (int i = 0; i < *n; i++)
        if (!strcmp((*v)[i].k, k)) {
            (*v)[i].n++;
            return;
        }
    *v = realloc(*v, (size_t)(*n + 1) * sizeof **v);
    if (!*v) abort();
    (*v)[*n].k = strdup(k);
    (*v)[(*n)++].n = 1;
}

static int cmp_kv(const void *a, const void *b) {
    const count_kv *x = a, *y = b;
    return x->n != y->n ? y->n - x->n : strcmp(x->k, y->k);
}

static void kv_free(count_kv *v, int n) {
    for (int i = 0; i < n; i++) free(v[i].k);
    free(v);
}

typedef struct inactive_ctx {
    count_kv *v;
    int n;
} inactive_ctx;

static void inactive_one(void *ctx, const char *logsource, const char *why) {
    inactive_ctx *ic = ctx;
    (void)why;
    kv_add(&ic->v, &ic->n, logsource);
}

static void json_counts(mm_buf *b, const count_kv *v, int n) {
    mm_buf_putc(b, '{');
    for (int i = 0; i < n; i++) {
        if (i) mm_buf_putc(b, ',');
        mm_json_str(b, v[i].k, strlen(v[i].k));
        mm_buf_printf(b, ":%d", v[i].n);
    }
    mm_buf_putc(b, '}');
}

static int rules_check(cli *c, int argi) {
    bool json = false, verbose = false;
    char **dirs = calloc((size_t)c->argc + 1, sizeof *dirs);
    int nd = 0;
    for (int i = argi; i < c->argc; i++) {
        if (!strcmp(c->argv[i], "--json")) json = true;
        else if (!strcmp(c->argv[i], "-v") || !strcmp(c->argv[i], "--verbose")) verbose = true;
        else if (c->argv[i][0] == '-') {
            fprintf(stderr, "mamori rules check: unknown option %s\n", c->argv[i]);
            free(dirs);
            return 2;
        } else dirs[nd++] = c->argv[i];
    }
    mm_rules_report rep = {0};
    mm_detect_opts o = {.extra = dirs, .nextra = nd, .only_extra = nd > 0, .report = &rep};
    mm_err err = {{0}};
    int64_t t0 = mm_mono_ns();
    mm_detect *d = mm_detect_load_opts(&c->cfg, &o, &err);
    double secs = (double)(mm_mono_ns() - t0) / 1e9;
    free(dirs);
    if (!d) {
        fprintf(stderr, "mamori rules check: %s\n", err.msg);
        mm_rules_report_free(&rep);
        return 1;
    }
    count_kv *reasons = NULL;
    int nr = 0;
    for (int i = 0; i < rep.nskips; i++) kv_add(&reasons, &nr, rep.skips[i].reason);
    if (nr) qsort(reasons, (size_t)nr, sizeof *reasons, cmp_kv);
    inactive_ctx ic = {0};
    mm_detect_each_inactive(d, inactive_one, &ic);
    if (ic.n) qsort(ic.v, (size_t)ic.n, sizeof *ic.v, cmp_kv);
    if (json) {
        mm_buf b = {0};
        mm_buf_printf(&b, "{\"loaded\":%d,\"skipped\":%d,\"reasons\":", rep.loaded, rep.skipped);
        json_counts(&b, reasons, nr);
        mm_buf_printf(&b, ",\"files\":%d,\"active\":%d,\"inactive\":%d,\"filters\":%d,\"seconds\":%.3f,"
                          "\"inactive_logsources\":",
                      rep.files, rep.loaded - rep.inactive - rep.filters, rep.inactive, rep.filters, secs);
        json_counts(&b, ic.v, ic.n);
        mm_buf_puts(&b, ",\"skips\":[");
        for (int i = 0; i < rep.nskips; i++) {
            const mm_rule_problem *x = &rep.skips[i];
            mm_buf_puts(&b, i ? ",{\"file\":" : "{\"file\":");
            mm_json_str(&b, x->file, strlen(x->file));
            mm_buf_printf(&b, ",\"line\":%d,\"title\":", x->line);
            if (x->title) mm_json_str(&b, x->title, strlen(x->title));
            else mm_buf_puts(&b, "null");
            mm_buf_puts(&b, ",\"reason\":");
            mm_json_str(&b, x->reason, strlen(x->reason));
            mm_buf_puts(&b, ",\"detail\":");
            mm_json_str(&b, x->detail, strlen(x->detail));
            mm_buf_putc(&b, '}');
        }
        mm_buf_puts(&b, "]}\n");
        fwrite(b.p, 1, b.len, stdout);
        mm_buf_free(&b);
    } else {
        print_skips(&rep);
        printf("%d rule files: %d rules loaded (%d active, %d waiting for a log source mapping, %d filters), "
               "%d skipped, in %.2fs\n",
               rep.files, rep.loaded, rep.loaded - rep.inactive - rep.filters, rep.inactive, rep.filters,
               rep.skipped, secs);
        for (int i = 0; i < nr; i++) printf("  skipped  %5d  %s\n", reasons[i].n, reasons[i].k);
        for (int i = 0; i < ic.n && (verbose || i < 10); i++) printf("  inactive %5d  %s\n", ic.v[i].n, ic.v[i].k);
        if (!verbose && ic.n > 10) printf("  inactive        ... %d more log sources (-v lists them)\n", ic.n - 10);
    }
    kv_free(reasons, nr);
    kv_free(ic.v, ic.n);
    mm_detect_free(d);
    mm_rules_report_free(&rep);
    return 0;
}

/* rules test: every rule file <stem>.yml may have fixtures <stem>.pos.* (events that
 * must raise each alerting rule of the file) and <stem>.neg.* (events that must raise
 * none of them).  Each fixture runs against a fresh engine, in file order. */
typedef struct rfile {
    char *file;
    char **ids;
    int nids;
} rfile;

typedef struct rt_ctx {
    rfile *f;
    int n;
} rt_ctx;

static void rt_rule(void *ctx, const mm_rule_info *ri) {
    rt_ctx *t = ctx;
    rfile *f = NULL;
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->f[i].file, ri->file)) f = &t->f[i];
    if (!f) {
        t->f = realloc(t->f, (size_t)(t->n + 1) * sizeof *t->f);
        if (!t->f) abort();
        f = &t->f[t->n++];
        memset(f, 0, sizeof *f);
        f->file = strdup(ri->file);
    }
    if (!ri->alerting) return;
    f->ids = realloc(f->ids, (size_t)(f->nids + 1) * sizeof(char *));
    if (!f->ids) abort();
    f->ids[f->nids++] = strdup(ri->id);
}

typedef struct fx_ctx {
    mm_detect *d;
    mm_detect_state *st;
    mm_arena arena;
    mm_decode_opts dopts;
    count_kv *fired;
    int nfired;
    int64_t events, errors;
} fx_ctx;

static int fx_record(void *ctx, const mm_decoder *dec, const char *rec, size_t len) {
    fx_ctx *x = ctx;
    mm_source src = {"rules-test", "default", "", dec->name};
    mm_event ev;
    mm_event_init(&ev, &x->arena);
    ev.src = &src;
    ev.recv_ns = mm_now_ns();
    if (len > MM_MAX_RECORD) len = MM_MAX_RECORD;
    if (mm_decode(dec, &ev, (mm_str){rec, (uint32_t)len}, &x->dopts) < 0) x->errors++;
    x->events++;
    mm_alert *al = NULL;
    mm_detect_event(x->d, x->st, &ev, &x->arena, &al);
    for (; al; al = al->next) kv_add(&x->fired, &x->nfired, al->rule_id);
    mm_arena_reset(&x->arena);
    return 0;
}

static bool fired(const fx_ctx *x, const char *id) {
    for (int i = 0; i < x->nfired; i++)
        if (!strcmp(x->fired[i].k, id)) return true;
    return false;
}

static int rules_test(cli *c, int argi) {
    char **dirs = calloc((size_t)c->argc + 1, sizeof *dirs);
    int nd = 0;
    for (int i = argi; i < c->argc; i++) {
        if (c->argv[i][0] == '-') {
            fprintf(stderr, "mamori rules test: unknown option %s\n", c->argv[i]);
            free(dirs);
            return 2;
        }
        dirs[nd++] = c->argv[i];
    }
    mm_detect_opts o = {.extra = dirs, .nextra = nd, .only_extra = nd > 0, .strict = true};
    mm_err err = {{0}};
    mm_detect *d = mm_detect_load_opts(&c->cfg, &o, &err);
    if (!d) {
        fprintf(stderr, "mamori rules test: %s\n", err.msg);
        free(dirs);
        return 1;
    }
    rt_ctx t = {0};
    mm_detect_each_rule(d, rt_rule, &t);
    int pass = 0, fail = 0, files_without = 0;
    for (int i = 0; i < t.n; i++) {
        rfile *f = &t.f[i];
        char stem[4096];
        snprintf(stem, sizeof stem, "%s", f->file);
        char *dot = strrchr(stem, '.');
        if (dot) *dot = 0;
        char *slash = strrchr(stem, '/');
        char dir[4096];
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - stem) : 1, slash ? stem : ".");
        const char *base = slash ? slash + 1 : stem;
        DIR *dh = opendir(dir);
        if (!dh) continue;
        file_list fx = {0};
        struct dirent *de;
        size_t bl = strlen(base);
        while ((de = readdir(dh)) != NULL)
            if (!strncmp(de->d_name, base, bl) &&
                (!strncmp(de->d_name + bl, ".pos.", 5) || !strncmp(de->d_name + bl, ".neg.", 5))) {
                char pth[8192];
                snprintf(pth, sizeof pth, "%s/%s", dir, de->d_name);
                collect_files(pth, &fx, 0);
            }
        closedir(dh);
        qsort(fx.p, (size_t)fx.n, sizeof(char *), cmp_path);
        if (fx.n == 0) files_without++;
        for (int k = 0; k < fx.n; k++) {
            bool pos = strstr(fx.p[k] + strlen(dir) + 1 + bl, ".pos.") != NULL;
            mm_detect *fd = mm_detect_load_opts(&c->cfg, &o, &err);   /* fresh correlation state */
            fx_ctx x = {.d = fd, .st = mm_detect_state_new(), .dopts = {.tz_offset = c->cfg.tz_offset}};
            mm_arena_init(&x.arena, 1 << 16);
            mm_err rerr = {{0}};
            int rc = fd ? read_records(fx.p[k], NULL, fx_record, &x, &rerr) : -1;
            char why[1024] = "";
            if (!fd) snprintf(why, sizeof why, "%s", err.msg);
            else if (rc < 0) snprintf(why, sizeof why, "%s", rerr.msg);
            else if (x.errors) snprintf(why, sizeof why, "%lld of %lld events did not decode", (long long)x.errors,
                                        (long long)x.events);
            for (int j = 0; !why[0] && j < f->nids; j++) {
                bool got = fired(&x, f->ids[j]);
                if (pos && !got) snprintf(why, sizeof why, "rule %s did not fire", f->ids[j]);
                if (!pos && got) snprintf(why, sizeof why, "rule %s fired", f->ids[j]);
            }
            if (!why[0] && f->nids == 0) snprintf(why, sizeof why, "the file has no alerting rule");
            if (why[0]) {
                printf("FAIL %s: %s\n", fx.p[k], why);
                fail++;
            } else {
                printf("PASS %s (%lld events, %d rules fired)\n", fx.p[k], (long long)x.events, x.nfired);
                pass++;
            }
            kv_free(x.fired, x.nfired);
            mm_arena_free(&x.arena);
            mm_detect_state_free(x.st);
            mm_detect_free(fd);
        }
        free_files(&fx);
    }
    printf("rules test: %d fixtures passed, %d failed (%d rule files without fixtures)\n", pass, fail,
           files_without);
    for (int i = 0; i < t.n; i++) {
        for (int j = 0; j < t.f[i].nids; j++) free(t.f[i].ids[j]);
        free(t.f[i].ids);
        free(t.f[i].file);
    }
    free(t.f);
    free(dirs);
    mm_detect_free(d);
    return fail ? 1 : 0;
}

static int cmd_rules(cli *c) {
    if (c->argc >= 2 && !strcmp(c->argv[1], "check")) return rules_check(c, 2);
    if (c->argc >= 2 && !strcmp(c->argv[1], "test")) return rules_test(c, 2);
    fprintf(stderr, "usage: mamori rules check [DIR...] [--json] [-v] | rules test [DIR...]\n");
    return 2;
}

/* ---------------------------------------------------------------- run */

/* Ports below 1024 need root; nothing else does.  Once listeners and the store are
 * open, give root up for good (DESIGN.md: privileges dropped after opening ports). */
static int drop_privileges(const char *user, const char *store_path, const char *quarantine) {
    if (geteuid() != 0) {
        if (user) mm_info("not root: 'user: %s' has nothing to drop", user);
        return 0;
    }
    if (!user) {
        mm_warn("running as root: set 'user:' in the configuration to drop privileges");
        return 0;
    }
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        fprintf(stderr, "mamori: user '%s' does not exist\n", user);
        return -1;
    }
    /* the store was created by root: hand it (and its WAL files) to the user, so the
     * daemon can keep writing and that user can search it */
    static const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < MM_ARRAY_LEN(suffix); i++) {
        char f[4096];
        snprintf(f, sizeof f, "%s%s", store_path, suffix[i]);
        if (chown(f, pw->pw_uid, pw->pw_gid) != 0 && errno != ENOENT)
            mm_warn("cannot give %s to %s: %s", f, user, strerror(errno));
    }
    /* the sensor's quarantine (and its temporary folder), created at start: files
     * extracted later are written as that user */
    if (quarantine) {
        char q[4096];
        snprintf(q, sizeof q, "%s/tmp", quarantine);
        if (chown(quarantine, pw->pw_uid, pw->pw_gid) != 0 && errno != ENOENT)
            mm_warn("cannot give %s to %s: %s", quarantine, user, strerror(errno));
        if (chown(q, pw->pw_uid, pw->pw_gid) != 0 && errno != ENOENT)
            mm_warn("cannot give %s to %s: %s", q, user, strerror(errno));
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        fprintf(stderr, "mamori: cannot switch to user '%s': %s\n", user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) {   /* must not be able to get root back */
        fprintf(stderr, "mamori: privileges could not be dropped\n");
        return -1;
    }
    mm_info("dropped privileges to %s (uid %d)", user, (int)pw->pw_uid);
    return 0;
}

/* ---------------------------------------------------------------- intel */

/* The engine with the indicators of the store (when there is one) and of the
 * configured list files. */
static mm_detect *load_engine(const mm_config *cfg, mm_detect_opts *o, mm_err *err) {
    mm_detect_opts local = {0};
    if (!o) o = &local;
    struct stat sb;
    if (cfg->store_path && stat(cfg->store_path, &sb) == 0) {
        mm_store *s = NULL;
        mm_err e2 = {{0}};
        if (mm_store_open(&s, cfg->store_path, &e2) == 0) {
            mm_ioc_set *set = mm_ioc_set_new();
            if (!set) abort();
            int64_t n = mm_intel_load(s, set, NULL, &e2);
            mm_store_close(s);
            if (n < 0) {
                mm_ioc_set_free(set);
                mm_err_set(err, "%s", e2.msg);
                return NULL;
            }
            if (n > 0) mm_info("indicators: %lld from the store", (long long)n);
            o->ioc = set;
        } else {
            mm_warn("indicators: store not read: %s", e2.msg);
        }
    }
    return mm_detect_load_opts(cfg, o, err);
}

static int retro_days(const mm_config *cfg) { return cfg->intel_retro_days; }

static void print_time(mm_buf *b, int64_t ns) {
    if (ns) mm_time_fmt_local(b, ns, since_tz);
    else mm_buf_putc(b, '-');
}

typedef struct sight_print {
    bool json;
    mm_buf b;
} sight_print;

static int print_sighting(void *ctx, const mm_alert *a) {
    sight_print *sp = ctx;
    mm_buf *b = &sp->b;
    mm_buf_reset(b);
    if (sp->json) {
        mm_alert_json_head(b, a->ts_ns, a->rule_id, a->rule_name, a->technique, a->level);
        mm_buf_puts(b, ",\"alert\":{\"reason\":");
        mm_json_str(b, a->reason, strlen(a->reason));
        mm_buf_printf(b, ",\"event_id\":%lld}", (long long)(a->ev ? a->ev->store_id : 0));
        if (a->threat) {
            mm_buf_puts(b, ",\"threat\":");
            mm_buf_puts(b, a->threat);
        }
        mm_buf_puts(b, "}\n");
    } else {
        mm_time_fmt_local(b, a->ts_ns, since_tz);
        mm_buf_printf(b, "  %-8s retrospective  event %lld  ", a->level, (long long)(a->ev ? a->ev->store_id : 0));
        mm_buf_puts(b, a->reason);
        mm_buf_putc(b, '\n');
    }
    fwrite(b->p, 1, b->len, stdout);
    return 0;
}

/* Retro-hunt what was added since t0, storing the sightings as alerts.  Returns
 * the sightings, or -1 when the hunt failed. */
static int64_t retro_hunt(mm_store *s, const mm_config *cfg, int64_t t0, int64_t until, bool print) {
    int days = retro_days(cfg);
    if (days <= 0) return 0;
    mm_indicator_filter f = {.added_since_ns = t0, .new_values_only = true, .warning = 1};
    mm_hunt_stats hs;
    mm_err err = {{0}};
    sight_print sp = {0};
    int rc = mm_intel_hunt(s, cfg, &f, NULL, 0, mm_now_ns() - (int64_t)days * 86400LL * 1000000000LL, until, true,
                           print ? print_sighting : NULL, &sp, &hs, &err);
    mm_buf_free(&sp.b);
    if (rc < 0) {
        mm_error("retro-hunt failed: %s", err.msg);
        return -1;
    }
    if (!hs.indicators) return 0;
    if (print)
        printf("retro-hunt (last %d days): %llu new indicators, %llu of %llu blocks read, %llu events, "
               "%llu retrospective sightings stored as alerts\n",
               days, (unsigned long long)hs.indicators, (unsigned long long)hs.blocks_read,
               (unsigned long long)hs.blocks, (unsigned long long)hs.events_read,
               (unsigned long long)hs.sightings);
    else
        mm_info("retro-hunt (last %d days): %llu new indicators, %llu of %llu blocks read, %llu sightings",
                days, (unsigned long long)hs.indicators, (unsigned long long)hs.blocks_read,
                (unsigned long long)hs.blocks, (unsigned long long)hs.sightings);
    return (int64_t)hs.sightings;
}

static void hunt_new(mm_store *s, cli *c, int64_t t0, bool quiet) { retro_hunt(s, &c->cfg, t0, 0, !quiet); }

/* ---- the feed refresher of `mamori run`: its own store connection, its own
 * thread; new indicators are retro-hunted and the engine reloaded ---- */
typedef struct refresher {
    const mm_config *cfg;
    mm_feed_conf *feeds;
    int nfeeds;
    pthread_t th;
    atomic_bool stop, changed;
} refresher;

static void *refresher_main(void *arg) {
    refresher *r = arg;
    mm_store *s = NULL;
    mm_err err = {{0}};
    if (mm_store_open(&s, r->cfg->store_path, &err) != 0) {
        mm_error("intel feeds: %s", err.msg);
        return NULL;
    }
    while (!atomic_load(&r->stop)) {
        int64_t first_new = 0;
        bool reload = false;
        for (int k = 0; k < r->nfeeds && !atomic_load(&r->stop); k++) {
            mm_refresh_result res;
            mm_err e2 = {{0}};
            if (mm_intel_refresh(s, &r->feeds[k], false, &res, &e2) < 0) {
                mm_warn("intel feed %s: %s (its indicators stay in use)", r->feeds[k].name, e2.msg);
                mm_count(MM_C_INTEL_FEED_ERRORS, 1);
                continue;
            }
            if (!res.due) continue;
            if (res.not_modified) mm_info("intel feed %s: not modified", r->feeds[k].name);
            else
                mm_info("intel feed %s: %llu records, %llu new, %llu refused", r->feeds[k].name,
                        (unsigned long long)res.st.stored, (unsigned long long)res.st.added,
                        (unsigned long long)(res.st.rd.skipped + res.st.bad_value));
            if (res.st.added && !first_new) first_new = res.started_ns;
            if (res.st.stored) reload = true;   /* new, renewed, revoked or changed rows */
        }
        if (reload) {
            /* the new engine first, then the hunt: events decoded after the swap see
             * the new indicators live, the hunt covers what was stored before (a
             * writer batch's worth of events in between may be seen twice) */
            atomic_store(&r->changed, true);
            for (int i = 0; i < 600 && atomic_load(&r->changed) && !atomic_load(&r->stop); i++) {
                struct timespec ts = {0, 100 * 1000000};
                nanosleep(&ts, NULL);
            }
        }
        /* events received from now on met the new engine */
        int64_t swapped = mm_now_ns();
        if (first_new && !atomic_load(&r->stop)) retro_hunt(s, r->cfg, first_new, swapped, false);
        for (int i = 0; i < 50 && !atomic_load(&r->stop); i++) {   /* look again in 5 s */
            struct timespec ts = {0, 100 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    mm_store_close(s);
    return NULL;
}

static const char *base_of(const char *p) {
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

static void print_import(const char *what, const mm_import_stats *st) {
    printf("%s: %llu records read, %llu stored (%llu new)", what, (unsigned long long)(st->rd.imported),
           (unsigned long long)st->stored, (unsigned long long)st->added);
    uint64_t refused = st->rd.skipped + st->bad_value;
    if (refused) printf(", %llu refused", (unsigned long long)refused);
    if (st->rd.not_for_detection) printf(", %llu not for detection (MISP to_ids false)", (unsigned long long)st->rd.not_for_detection);
    if (st->rd.expired) printf(", %llu withdrawn by the source", (unsigned long long)st->rd.expired);
    printf("\n");
    if (refused && st->last_reason[0]) {
        /* the reason quotes feed text: printable only */
        mm_buf b = {0};
        mm_buf_put_printable(&b, st->last_reason, strlen(st->last_reason));
        printf("  last refusal: %s\n", mm_buf_cstr(&b));
        mm_buf_free(&b);
    }
    if (st->rd.unsupported_pattern || st->rd.unsupported_type || st->rd.bad_value || st->rd.malformed)
        printf("  refused by reason: unsupported pattern %llu, unsupported type %llu, bad value %llu, malformed %llu\n",
               (unsigned long long)st->rd.unsupported_pattern, (unsigned long long)st->rd.unsupported_type,
               (unsigned long long)(st->rd.bad_value + st->bad_value), (unsigned long long)st->rd.malformed);
}

static int cmd_intel_import(cli *c) {
    mm_import_opts o = {.confidence = -1};
    const char *user = NULL, *pwfile = NULL, *collection = NULL;
    bool no_hunt = false;
    const char **files = calloc((size_t)c->argc, sizeof *files);
    int nfiles = 0;
    if (!files) abort();
    for (int i = 2; i < c->argc; i++) {
        const char *a = c->argv[i];
        const char *v = i + 1 < c->argc ? c->argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--format") || !strcmp(a, "--feed") || !strcmp(a, "--actor") ||
                     !strcmp(a, "--campaign") || !strcmp(a, "--malware") || !strcmp(a, "--confidence") ||
                     !strcmp(a, "--ttl") || !strcmp(a, "--tlp") || !strcmp(a, "--user") ||
                     !strcmp(a, "--password-file") || !strcmp(a, "--collection") || !strcmp(a, "--description") ||
                     !strcmp(a, "--action");
        if (takes && !v) {
            fprintf(stderr, "mamori intel import: %s needs a value\n", a);
            free(files);
            return 2;
        }
        if (!strcmp(a, "--format")) o.format = c->argv[++i];
        else if (!strcmp(a, "--feed")) o.feed = c->argv[++i];
        else if (!strcmp(a, "--actor")) o.actor = c->argv[++i];
        else if (!strcmp(a, "--campaign")) o.campaign = c->argv[++i];
        else if (!strcmp(a, "--malware")) o.malware = c->argv[++i];
        else if (!strcmp(a, "--description")) o.description = c->argv[++i];
        else if (!strcmp(a, "--action")) o.action = c->argv[++i];
        else if (!strcmp(a, "--tlp")) o.tlp = c->argv[++i];
        else if (!strcmp(a, "--user")) user = c->argv[++i];
        else if (!strcmp(a, "--password-file")) pwfile = c->argv[++i];
        else if (!strcmp(a, "--collection")) collection = c->argv[++i];
        else if (!strcmp(a, "--confidence")) {
            int64_t n;
            if (!mm_str_to_i64(mm_str_c(c->argv[++i]), &n) || n < 0 || n > 100) {
                fprintf(stderr, "mamori intel import: --confidence wants 0-100\n");
                free(files);
                return 2;
            }
            o.confidence = (int)n;
        } else if (!strcmp(a, "--ttl")) {
            if (!mm_duration_parse(c->argv[++i], &o.ttl_ns) || o.ttl_ns <= 0) {
                fprintf(stderr, "mamori intel import: --ttl wants a duration (7d, 12h)\n");
                free(files);
                return 2;
            }
        } else if (!strcmp(a, "--warning")) o.warning = true;
        else if (!strcmp(a, "--no-hunt")) no_hunt = true;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "mamori intel import: unknown option %s\n", a);
            free(files);
            return 2;
        } else files[nfiles++] = a;
    }
    if (!nfiles) {
        fprintf(stderr, "usage: mamori intel import FILE|URL... [--format stix|misp|csv|list|freetext|taxii|misp-feed]\n"
                        "       [--feed NAME] [--actor A] [--campaign C] [--malware M] [--confidence N] [--ttl DUR]\n"
                        "       [--tlp T] [--warning] [--user U --password-file F] [--collection ID] [--no-hunt]\n");
        free(files);
        return 2;
    }
    mm_store *s = open_store(c);
    if (!s) {
        free(files);
        return 1;
    }
    char pw[512] = "";
    mm_err perr = {{0}};
    if (pwfile && !mm_read_secret(pwfile, pw, sizeof pw, &perr)) {
        fprintf(stderr, "mamori intel import: %s\n", perr.msg);
        mm_store_close(s);
        free(files);
        return 1;
    }
    int64_t t0 = mm_now_ns();
    int rc = 0;
    uint64_t added = 0;
    for (int i = 0; i < nfiles; i++) {
        const char *src = files[i];
        mm_import_opts fo = o;
        if (!fo.feed) fo.feed = base_of(src);
        mm_import_stats st;
        memset(&st, 0, sizeof st);
        mm_err err = {{0}};
        bool url = !strncmp(src, "http://", 7) || !strncmp(src, "https://", 8);
        int r;
        if (url && fo.format && (!strcmp(fo.format, "taxii") || !strcmp(fo.format, "misp-feed"))) {
            /* a pull is a feed refresh: the same conditional path, cursor and state
             * as a configured feed of that name */
            mm_feed_conf fc = {.name = (char *)fo.feed, .type = (char *)fo.format, .url = (char *)src,
                               .collection = (char *)collection, .user = (char *)user,
                               .password_file = (char *)pwfile, .actor = (char *)fo.actor,
                               .campaign = (char *)fo.campaign, .malware = (char *)fo.malware,
                               .tlp = (char *)fo.tlp, .interval_ns = 3600LL * 1000000000LL,
                               .ttl_ns = fo.ttl_ns, .timeout_s = 60, .warning = fo.warning,
                               .confidence = fo.confidence};
            mm_refresh_result res;
            r = mm_intel_refresh(s, &fc, true, &res, &err);
            st = res.st;
            if (r == 0) {
                print_import(src, &st);
                added += st.added;
            }
            if (r < 0) {
                fprintf(stderr, "mamori intel import: %s\n", err.msg);
                rc = 1;
            }
            continue;
        } else {
            size_t len = 0;
            char *text = NULL;
            if (url) {
                mm_fetch_opts fx = {.user = user, .password = pw[0] ? pw : NULL, .retries = -1};
                mm_fetch_result fr;
                memset(&fr, 0, sizeof fr);
                if (mm_fetch(src, &fx, &fr, &err) == 0 && fr.body) {
                    text = fr.body;
                    len = fr.len;
                    fr.body = NULL;
                }
                mm_fetch_result_free(&fr);
            } else {
                text = mm_read_file(src, (size_t)4 << 30, &len, &err);
            }
            r = text ? mm_intel_import(s, text, len, &fo, &st, &err) : -1;
            free(text);
        }
        if (r < 0) {
            /* file errors already name the file; reader errors do not */
            if (!strncmp(err.msg, src, strlen(src))) fprintf(stderr, "mamori intel import: %s\n", err.msg);
            else fprintf(stderr, "mamori intel import: %s: %s\n", src, err.msg);
            rc = 1;
            continue;
        }
        print_import(src, &st);
        added += st.added;
        /* a manual import is a feed too: when and how much, for `intel stats` */
        int64_t done = mm_now_ns();
        char safe_url[1024];
        mm_feed_state fs = {.name = fo.feed, .kind = fo.format ? fo.format : "import",
                            .url = mm_intel_redact_url(src, safe_url, sizeof safe_url),
                            .last_attempt_ns = done, .last_ok_ns = done, .last_count = (int64_t)st.stored,
                            .last_new = (int64_t)st.added};
        if (mm_store_feed_put(s, &fs) < 0) fprintf(stderr, "mamori intel import: cannot record the feed state\n");
    }
    if (added && !no_hunt) hunt_new(s, c, t0, false);
    mm_store_close(s);
    free(files);
    return rc;
}

static int cmd_intel_add(cli *c) {
    if (c->argc < 4) {
        fprintf(stderr, "usage: mamori intel add TYPE VALUE [--actor A] [--campaign C] [--malware M] [--confidence N]\n"
                        "       [--ttl DUR] [--description T] [--action T] [--tlp T] [--feed NAME] [--warning] [--no-hunt]\n"
                        "types: ip domain url md5 sha1 sha256 ja3 email filename user-agent\n");
        return 2;
    }
    mm_indicator ind = {.confidence = -1, .feed = "manual"};
    ind.type = mm_intel_type_parse(c->argv[2]);
    if (ind.type == MM_IND_NONE) {
        fprintf(stderr, "mamori intel add: unknown type '%s' (ip domain url md5 sha1 sha256 ja3 email filename user-agent)\n",
                c->argv[2]);
        return 2;
    }
    ind.value = c->argv[3];
    bool no_hunt = false;
    int64_t ttl = 0;
    for (int i = 4; i < c->argc; i++) {
        const char *a = c->argv[i];
        const char *v = i + 1 < c->argc ? c->argv[i + 1] : NULL;
        if (!strcmp(a, "--warning")) { ind.warning = true; continue; }
        if (!strcmp(a, "--no-hunt")) { no_hunt = true; continue; }
        if (!v) {
            fprintf(stderr, "mamori intel add: %s %s\n", a, a[0] == '-' ? "needs a value" : "unexpected");
            return 2;
        }
        i++;
        if (!strcmp(a, "--actor")) ind.actor = v;
        else if (!strcmp(a, "--campaign")) ind.campaign = v;
        else if (!strcmp(a, "--malware")) ind.malware = v;
        else if (!strcmp(a, "--description")) ind.description = v;
        else if (!strcmp(a, "--action")) ind.action = v;
        else if (!strcmp(a, "--tlp")) ind.tlp = v;
        else if (!strcmp(a, "--feed")) ind.feed = v;
        else if (!strcmp(a, "--kill-chain")) ind.kill_chain = v;
        else if (!strcmp(a, "--attack")) ind.attack = v;
        else if (!strcmp(a, "--confidence")) {
            int64_t n;
            if (!mm_str_to_i64(mm_str_c(v), &n) || n < 0 || n > 100) {
                fprintf(stderr, "mamori intel add: --confidence wants 0-100\n");
                return 2;
            }
            ind.confidence = (int)n;
        } else if (!strcmp(a, "--ttl")) {
            if (!mm_duration_parse(v, &ttl) || ttl <= 0) {
                fprintf(stderr, "mamori intel add: --ttl wants a duration (7d, 12h)\n");
                return 2;
            }
        } else {
            fprintf(stderr, "mamori intel add: unknown option %s\n", a);
            return 2;
        }
    }
    mm_store *s = open_store(c);
    if (!s) return 1;
    int64_t now = mm_now_ns();
    ind.first_seen = ind.last_seen = now;
    if (ttl) ind.valid_until = now + ttl;
    const char *why = NULL;
    int r = mm_intel_put(s, &ind, now, &why);
    if (r < 0) {
        fprintf(stderr, "mamori intel add: %s: %s\n", ind.value, why ? why : "refused");
        mm_store_close(s);
        return 1;
    }
    char canon[2048];
    int t = ind.type;
    mm_ioc_normalise(t, ind.value, strlen(ind.value), canon, sizeof canon, &t, NULL);
    printf("%s %s %s (feed %s)\n", r == 1 ? "added" : "updated", mm_intel_type_name((mm_ind_type)t), canon, ind.feed);
    if (r == 1 && !no_hunt && !ind.warning) hunt_new(s, c, now, false);
    mm_store_close(s);
    return 0;
}

typedef struct ind_print {
    bool json;
    mm_buf b;
    int64_t n;
    int64_t now;
} ind_print;

static void jm(mm_buf *b, const char *k, const char *v) {
    if (!v) return;
    mm_buf_printf(b, ",\"%s\":", k);
    mm_json_str(b, v, strlen(v));
}

static void jt(mm_buf *b, const char *k, int64_t ns) {
    if (!ns) return;
    mm_buf_printf(b, ",\"%s\":\"", k);
    mm_time_fmt(b, ns);
    mm_buf_putc(b, '"');
}

static int print_indicator(void *ctx, const mm_stored_indicator *si) {
    ind_print *ip = ctx;
    const mm_indicator *d = &si->ind;
    mm_buf *b = &ip->b;
    mm_buf_reset(b);
    bool active = !d->revoked && (!d->valid_until || d->valid_until > ip->now);
    if (ip->json) {
        mm_buf_printf(b, "{\"id\":%lld,\"type\":\"%s\",\"value\":", (long long)si->id, mm_intel_type_name(d->type));
        mm_json_str(b, d->value, strlen(d->value));
        jm(b, "feed", d->feed);
        jm(b, "source_id", d->id);
        mm_buf_printf(b, ",\"active\":%s,\"warning\":%s", active ? "true" : "false", d->warning ? "true" : "false");
        if (d->confidence >= 0) mm_buf_printf(b, ",\"confidence\":%d", d->confidence);
        jm(b, "tlp", d->tlp);
        jm(b, "actor", d->actor);
        jm(b, "campaign", d->campaign);
        jm(b, "malware", d->malware);
        jm(b, "kill_chain", d->kill_chain);
        jm(b, "attack", d->attack);
        jm(b, "description", d->description);
        jm(b, "action", d->action);
        jt(b, "first_seen", d->first_seen);
        jt(b, "last_seen", d->last_seen);
        jt(b, "valid_from", d->valid_from);
        jt(b, "valid_until", d->valid_until);
        jt(b, "added", si->added_ns);
        if (d->revoked) mm_buf_puts(b, ",\"revoked\":true");
        mm_buf_puts(b, "}\n");
    } else {
        mm_buf_printf(b, "%-10s %-40s %-16s", mm_intel_type_name(d->type), d->value, d->feed);
        if (d->confidence >= 0) mm_buf_printf(b, " conf %3d", d->confidence);
        else mm_buf_puts(b, "         ");
        if (!active) mm_buf_puts(b, d->revoked ? "  [revoked]" : "  [expired]");
        if (d->warning) mm_buf_puts(b, "  [warning list]");
        const char *w[] = {d->actor, d->campaign, d->malware};
        const char *l[] = {"actor", "campaign", "malware"};
        for (int i = 0; i < 3; i++)
            if (w[i]) mm_buf_printf(b, "  %s=%s", l[i], w[i]);
        mm_buf_putc(b, '\n');
    }
    if (ip->json) {
        fwrite(b->p, 1, b->len, stdout);
    } else {
        /* feed text is untrusted: no terminal controls (C0, DEL, C1) */
        mm_buf clean = {0};
        mm_buf_put_printable(&clean, b->p, b->len ? b->len - 1 : 0);
        mm_buf_putc(&clean, '\n');
        fwrite(clean.p, 1, clean.len, stdout);
        mm_buf_free(&clean);
    }
    ip->n++;
    return 0;
}

static int cmd_intel_list(cli *c, bool show) {
    mm_indicator_filter f = {.include_inactive = show};
    ind_print ip = {.now = mm_now_ns()};
    char canon[2048];
    for (int i = 2; i < c->argc; i++) {
        const char *a = c->argv[i];
        const char *v = i + 1 < c->argc ? c->argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) ip.json = true;
        else if (!strcmp(a, "--all")) f.include_inactive = true;
        else if (!strcmp(a, "--type") && v) {
            f.type = mm_intel_type_parse(c->argv[++i]);
            if (!f.type) {
                fprintf(stderr, "mamori intel: unknown type '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--feed") && v) f.feed = c->argv[++i];
        else if (!strcmp(a, "--limit") && v) {
            if (!parse_limit(c->argv[++i], &f.limit)) {
                fprintf(stderr, "mamori intel: --limit wants a number\n");
                return 2;
            }
        } else if (show && a[0] != '-' && !f.value) {
            int t = f.type;
            if (mm_ioc_normalise(t, a, strlen(a), canon, sizeof canon, &t, NULL) < 0) {
                fprintf(stderr, "mamori intel show: '%s' is not an indicator value\n", a);
                return 2;
            }
            f.value = canon;
        } else {
            fprintf(stderr, "mamori intel %s: unexpected argument %s\n", show ? "show" : "list", a);
            return 2;
        }
    }
    if (show && !f.value) {
        fprintf(stderr, "usage: mamori intel show VALUE [--type T] [--json]\n");
        return 2;
    }
    mm_store *s = open_existing_store(c);
    if (!s) return 1;
    int rc = mm_store_indicators_each(s, &f, print_indicator, &ip);
    mm_store_close(s);
    mm_buf_free(&ip.b);
    if (rc < 0) return 1;
    if (show && ip.n == 0) {
        fprintf(stderr, "mamori intel show: %s is not in the store\n", f.value);
        return 1;
    }
    return 0;
}

static int cmd_intel_expire(cli *c) {
    const char *value = NULL, *feed = NULL;
    mm_ind_type type = MM_IND_NONE;
    for (int i = 2; i < c->argc; i++) {
        const char *a = c->argv[i];
        if (!strcmp(a, "--feed") && i + 1 < c->argc) feed = c->argv[++i];
        else if (!strcmp(a, "--type") && i + 1 < c->argc) type = mm_intel_type_parse(c->argv[++i]);
        else if (a[0] != '-' && !value) value = a;
        else {
            fprintf(stderr, "mamori intel expire: unexpected argument %s\n", a);
            return 2;
        }
    }
    if (!value) {
        fprintf(stderr, "usage: mamori intel expire VALUE [--type T] [--feed NAME]\n");
        return 2;
    }
    char canon[2048];
    int t = type;
    if (mm_ioc_normalise(t, value, strlen(value), canon, sizeof canon, &t, NULL) < 0) {
        fprintf(stderr, "mamori intel expire: '%s' is not an indicator value\n", value);
        return 2;
    }
    mm_store *s = open_existing_store(c);
    if (!s) return 1;
    int64_t n = mm_store_indicator_expire(s, (mm_ind_type)t, canon, feed, mm_now_ns());
    mm_store_close(s);
    if (n < 0) return 1;
    printf("%s: %lld indicator%s expired\n", canon, (long long)n, n == 1 ? "" : "s");
    return n > 0 ? 0 : 1;
}

typedef struct stats_print {
    bool json, first;
    int64_t active, inactive;
    mm_buf b;
} stats_print;

static int print_stat(void *ctx, const char *feed, const char *type, int64_t active, int64_t inactive) {
    stats_print *sp = ctx;
    sp->active += active;
    sp->inactive += inactive;
    if (sp->json) {
        mm_buf_puts(&sp->b, sp->first ? "" : ",");
        mm_buf_puts(&sp->b, "{\"feed\":");
        mm_json_str(&sp->b, feed, strlen(feed));
        mm_buf_printf(&sp->b, ",\"type\":\"%s\",\"active\":%lld,\"inactive\":%lld}", type, (long long)active,
                      (long long)inactive);
    } else {
        printf("  %-24s %-10s %10lld active %8lld expired/revoked\n", feed, type, (long long)active, (long long)inactive);
    }
    sp->first = false;
    return 0;
}

static int print_feed(void *ctx, const mm_feed_state *f) {
    stats_print *sp = ctx;
    mm_buf *b = &sp->b;
    if (sp->json) {
        mm_buf_puts(b, sp->first ? "" : ",");
        mm_buf_puts(b, "{\"name\":");
        mm_json_str(b, f->name, strlen(f->name));
        jm(b, "kind", f->kind);
        jt(b, "last_attempt", f->last_attempt_ns);
        jt(b, "last_refresh", f->last_ok_ns);
        mm_buf_printf(b, ",\"last_count\":%lld,\"last_new\":%lld", (long long)f->last_count,
                      (long long)f->last_new);
        if (*f->last_error) jm(b, "last_error", f->last_error);
        mm_buf_putc(b, '}');
    } else {
        mm_buf_reset(b);
        print_time(b, f->last_ok_ns);
        size_t at = b->len;
        mm_buf_putc(b, 0);
        /* an error may quote what a server answered: printable only */
        mm_buf_put_printable(b, f->last_error, strlen(f->last_error));
        const char *when = mm_buf_cstr(b);
        printf("  %-24s %-9s last refresh %s, %lld records (%lld new)%s%s\n", f->name, f->kind, when,
               (long long)f->last_count, (long long)f->last_new, *f->last_error ? "; last error: " : "",
               when + at + 1);
    }
    sp->first = false;
    return 0;
}

static int cmd_intel_stats(cli *c) {
    stats_print sp = {.first = true};
    for (int i = 2; i < c->argc; i++) {
        if (!strcmp(c->argv[i], "--json")) sp.json = true;
        else {
            fprintf(stderr, "mamori intel stats: unexpected argument %s\n", c->argv[i]);
            return 2;
        }
    }
    mm_store *s = open_existing_store(c);
    if (!s) return 1;
    if (sp.json) mm_buf_puts(&sp.b, "{\"by_feed\":[");
    else printf("indicators by feed and type:\n");
    int rc = mm_store_indicator_stats(s, mm_now_ns(), print_stat, &sp);
    if (sp.json) mm_buf_printf(&sp.b, "],\"active\":%lld,\"inactive\":%lld,\"feeds\":[", (long long)sp.active,
                               (long long)sp.inactive);
    else printf("total: %lld active, %lld expired or revoked\nfeeds:\n", (long long)sp.active, (long long)sp.inactive);
    sp.first = true;
    if (rc == 0) rc = mm_store_feeds_each(s, NULL, print_feed, &sp);
    if (sp.json) {
        mm_buf_puts(&sp.b, "]}\n");
        fwrite(sp.b.p, 1, sp.b.len, stdout);
    }
    mm_buf_free(&sp.b);
    mm_store_close(s);
    return rc < 0 ? 1 : 0;
}

/* Refresh the configured feeds (all, or the names given); --force ignores the
 * interval.  New indicators are retro-hunted. */
static int cmd_intel_refresh(cli *c) {
    bool force = false;
    mm_err err = {{0}};
    mm_feed_conf *feeds = NULL;
    int n = 0;
    if (mm_intel_feeds(&c->cfg, &feeds, &n, &err) < 0) {
        fprintf(stderr, "mamori intel refresh: %s\n", err.msg);
        return 1;
    }
    int named = 0;
    for (int i = 2; i < c->argc; i++) {
        if (!strcmp(c->argv[i], "--force")) force = true;
        else named++;
    }
    if (n == 0) {
        fprintf(stderr, "mamori intel refresh: no feeds configured (intel.feeds)\n");
        mm_intel_feeds_free(feeds, n);
        return 1;
    }
    mm_store *s = open_store(c);
    if (!s) {
        mm_intel_feeds_free(feeds, n);
        return 1;
    }
    int rc = 0, done = 0;
    int64_t first_new = 0;
    for (int k = 0; k < n; k++) {
        bool want = !named;
        for (int i = 2; i < c->argc; i++)
            if (!strcmp(c->argv[i], feeds[k].name)) want = true;
        if (!want) continue;
        done++;
        mm_refresh_result r;
        mm_err e2 = {{0}};
        if (mm_intel_refresh(s, &feeds[k], force, &r, &e2) < 0) {
            fprintf(stderr, "mamori intel refresh: %s: %s (the indicators it gave before stay)\n", feeds[k].name, e2.msg);
            rc = 1;
            continue;
        }
        if (!r.due) printf("%s: not due yet (use --force)\n", feeds[k].name);
        else if (r.not_modified) printf("%s: not modified since the last refresh\n", feeds[k].name);
        else {
            print_import(feeds[k].name, &r.st);
            if (r.st.added && !first_new) first_new = r.started_ns;
        }
    }
    if (named && done != named) {
        fprintf(stderr, "mamori intel refresh: unknown feed name given\n");
        rc = 2;
    }
    if (first_new) hunt_new(s, c, first_new, false);
    mm_store_close(s);
    mm_intel_feeds_free(feeds, n);
    return rc;
}

static int cmd_intel(cli *c) {
    const char *sub = c->argc > 1 ? c->argv[1] : "";
    if (!strcmp(sub, "import")) return cmd_intel_import(c);
    if (!strcmp(sub, "add")) return cmd_intel_add(c);
    if (!strcmp(sub, "list")) return cmd_intel_list(c, false);
    if (!strcmp(sub, "show")) return cmd_intel_list(c, true);
    if (!strcmp(sub, "expire")) return cmd_intel_expire(c);
    if (!strcmp(sub, "stats")) return cmd_intel_stats(c);
    if (!strcmp(sub, "refresh")) return cmd_intel_refresh(c);
    fprintf(stderr, "usage: mamori intel import|add|list|show|expire|stats|refresh ...\n");
    return 2;
}

static int count_one(void *ctx, const mm_stored_indicator *si) {
    (void)si;
    ++*(int64_t *)ctx;
    return 0;
}

static int cmd_hunt(cli *c) {
    mm_indicator_filter f = {.warning = 1};
    mm_indicator extra = {.confidence = -1, .feed = "hunt"};
    bool have_value = false, have_feed = false, store_alerts = false;
    sight_print sp = {0};
    int64_t since = mm_now_ns() - 90LL * 86400 * 1000000000LL;
    for (int i = 1; i < c->argc; i++) {
        const char *a = c->argv[i];
        const char *v = i + 1 < c->argc ? c->argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) sp.json = true;
        else if (!strcmp(a, "--store-alerts")) store_alerts = true;
        else if (!strcmp(a, "--indicator") && v) {
            extra.value = c->argv[++i];
            have_value = true;
        } else if (!strcmp(a, "--type") && v) {
            extra.type = mm_intel_type_parse(c->argv[++i]);
            if (!extra.type) {
                fprintf(stderr, "mamori hunt: unknown type '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--feed") && v) {
            f.feed = c->argv[++i];
            have_feed = true;
        } else if (!strcmp(a, "--since") && v) {
            if (!parse_since(c->argv[++i], &since)) {
                fprintf(stderr, "mamori hunt: --since wants a duration (90d) or a time\n");
                return 2;
            }
        } else {
            fprintf(stderr, "mamori hunt: unexpected argument %s\n", a);
            return 2;
        }
    }
    if (have_value == have_feed) {
        fprintf(stderr, "usage: mamori hunt --indicator VALUE [--type T] | --feed NAME  [--since 90d] [--json] [--store-alerts]\n");
        return 2;
    }
    mm_store *s = open_existing_store(c);
    if (!s) return 1;
    char canon[2048];
    if (have_value) {
        /* the store's record (with its 5W1H) when the value is known there */
        int t = extra.type;
        if (mm_ioc_normalise(t, extra.value, strlen(extra.value), canon, sizeof canon, &t, NULL) < 0) {
            fprintf(stderr, "mamori hunt: '%s' is not an indicator value\n", extra.value);
            mm_store_close(s);
            return 2;
        }
        extra.type = (mm_ind_type)t;
        f.value = canon;
        f.type = extra.type;
        int64_t known = 0;
        mm_store_indicators_each(s, &f, count_one, &known);
        if (known) have_value = false;   /* hunt the store's records, with their context */
    }
    mm_hunt_stats hs;
    mm_err err = {{0}};
    int rc = mm_intel_hunt(s, &c->cfg, &f, have_value ? &extra : NULL, have_value ? 1 : 0, since, 0, store_alerts,
                           print_sighting, &sp, &hs, &err);
    mm_store_close(s);
    mm_buf_free(&sp.b);
    if (rc < 0) {
        fprintf(stderr, "mamori hunt: %s\n", err.msg);
        return 1;
    }
    fprintf(sp.json ? stderr : stdout,
            "hunt: %llu indicators, %llu of %llu blocks read, %llu events decoded, %llu sightings (%.3f s)\n",
            (unsigned long long)hs.indicators, (unsigned long long)hs.blocks_read, (unsigned long long)hs.blocks,
            (unsigned long long)hs.events_read, (unsigned long long)hs.sightings, (double)hs.elapsed_ns / 1e9);
    return 0;
}

static int cmd_run(cli *c) {
    if (c->argc > 1) {
        fprintf(stderr, "mamori run: unexpected argument %s (run takes only -c and --db)\n", c->argv[1]);
        return 2;
    }
    if (c->cfg.ninputs == 0)
        fprintf(stderr, "mamori run: no inputs configured (see conf/mamori.yaml); the store "
                        "and detection still start\n");
    mm_err err = {{0}};
    mm_detect *det = load_engine(&c->cfg, NULL, &err);
    if (!det) {
        fprintf(stderr, "mamori: %s\n", err.msg);
        return 1;
    }
    mm_store *store = open_store(c);
    if (!store) {
        mm_detect_free(det);
        return 1;
    }
    /* Signals are taken synchronously by this thread; every other thread inherits
     * the blocked mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    mm_pipeline_opts o = {
        .workers = c->cfg.workers,
        .store_events = true,
        .batch_rows = c->cfg.batch_rows,
        .batch_ms = c->cfg.batch_ms,
        .retention_days = c->cfg.retention_days,
        .decode = {.tz_offset = c->cfg.tz_offset},
    };
    mm_pipeline *p;
    if (mm_pipeline_start(&p, &o, store, det, &err) != 0) {
        fprintf(stderr, "mamori: %s\n", err.msg);
        return 1;
    }
    mm_input **ins = calloc((size_t)c->cfg.ninputs + 1, sizeof *ins);
    int rc = 0;
    for (int i = 0; i < c->cfg.ninputs; i++) {
        if (mm_input_start(&ins[i], &c->cfg.inputs[i], p, &err) != 0) {
            fprintf(stderr, "mamori: input '%s': %s\n", c->cfg.inputs[i].name, err.msg);
            rc = 1;
            break;
        }
        int port = mm_input_port(ins[i]);
        if (port >= 0) mm_info("input %s listening on port %d", c->cfg.inputs[i].name, port);
        else mm_info("input %s started", c->cfg.inputs[i].name);
    }
    if (rc == 0 && drop_privileges(c->cfg.user, c->cfg.store_path, c->cfg.sensor.quarantine_dir) != 0) rc = 1;
    refresher *rf = NULL;
    if (rc == 0) {
        mm_feed_conf *feeds = NULL;
        int nfeeds = 0;
        if (mm_intel_feeds(&c->cfg, &feeds, &nfeeds, &err) < 0) {
            fprintf(stderr, "mamori: %s\n", err.msg);
            rc = 1;
        } else if (nfeeds > 0) {
            rf = calloc(1, sizeof *rf);
            if (!rf) abort();
            rf->cfg = &c->cfg;
            rf->feeds = feeds;
            rf->nfeeds = nfeeds;
            if (pthread_create(&rf->th, NULL, refresher_main, rf) != 0) {
                mm_intel_feeds_free(feeds, nfeeds);
                free(rf);
                rf = NULL;
                mm_error("intel feeds: cannot start the refresher thread");
            } else {
                mm_info("intel: %d feeds, refreshed in the background", nfeeds);
            }
        }
    }
    if (rc == 0) {
        mm_info("mamori %s running: %d inputs, %d workers, %d rules, %d indicators, store %s",
                MM_VERSION, c->cfg.ninputs, c->cfg.workers, mm_detect_rule_count(det),
                mm_detect_indicator_count(det), c->cfg.store_path);
        for (;;) {
            int sig = 0;
            struct timespec to = {1, 0};
            sig = sigtimedwait(&set, NULL, &to);
            bool fresh_intel = rf && atomic_exchange(&rf->changed, false);
            if (sig == SIGHUP || fresh_intel) {
                mm_err e2 = {{0}};
                mm_detect *nd = load_engine(&c->cfg, NULL, &e2);
                if (nd) {
                    mm_pipeline_set_detect(p, nd);
                    mm_info("reloaded: %d rules, %d indicators", mm_detect_rule_count(nd),
                            mm_detect_indicator_count(nd));
                } else
                    mm_error("reload failed, keeping the previous rules: %s", e2.msg);
            } else if (sig == SIGTERM || sig == SIGINT)
                break;
        }
        mm_info("stopping");
        /* a second SIGTERM/SIGINT while draining ends the process at once */
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        pthread_sigmask(SIG_UNBLOCK, &stop, NULL);
    }
    if (rf) {
        atomic_store(&rf->stop, true);
        pthread_join(rf->th, NULL);
        mm_intel_feeds_free(rf->feeds, rf->nfeeds);
        free(rf);
    }
    for (int i = 0; i < c->cfg.ninputs; i++)
        if (ins[i]) mm_input_stop(ins[i]);
    mm_pipeline_finish(p);
    /* records referred to their input's source until the pipeline drained */
    for (int i = 0; i < c->cfg.ninputs; i++)
        if (ins[i]) mm_input_free(ins[i]);
    mm_pipeline_set_detect(p, NULL);   /* frees the current detection engine */
    mm_pipeline_free(p);
    mm_store_close(store);
    free(ins);
    mm_info("stopped");
    return rc;
}

/* ---------------------------------------------------------------- alerts */

/* Text output goes to terminals: whatever came from the network is made printable. */
static void put_text(mm_buf *b, const char *p, size_t n) { mm_buf_put_printable(b, p, n); }

/* Times for people are shown in the configured zone (timezone:), JSON stays UTC. */
static void fmt_local(mm_buf *b, int64_t ns, int32_t off) {
    mm_time_fmt_local(b, ns, off);
    int a = off < 0 ? -off : off;
    mm_buf_printf(b, "%c%02d%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

typedef struct alert_print {
    int32_t tz;
    bool json;
    mm_buf b;
    int64_t n;
} alert_print;

static int print_alert(void *ctx, const mm_stored_alert *a) {
    alert_print *ap = ctx;
    mm_buf *b = &ap->b;
    mm_buf_reset(b);
    if (ap->json) {
        mm_alert_json_head(b, a->ts_ns, a->rule_id, a->rule_name, a->technique, a->level);
        mm_buf_puts(b, ",\"tenant\":");
        mm_json_str(b, a->tenant, strlen(a->tenant));
        mm_buf_printf(b, ",\"alert\":{\"id\":%lld,\"count\":%lld,\"event_id\":%lld,\"created\":\"",
                      (long long)a->id, (long long)a->count, (long long)a->event_id);
        mm_time_fmt(b, a->created_ns);
        mm_buf_puts(b, "\",\"reason\":");
        mm_json_str(b, a->reason ? a->reason : "", a->reason ? strlen(a->reason) : 0);
        mm_buf_putc(b, '}');
        /* the event's key fields, except its own @timestamp/rule (the alert's win) */
        if (a->evidence && *a->evidence) {
            mm_buf_puts(b, ",\"evidence\":{");
            mm_buf_puts(b, a->evidence);
            mm_buf_putc(b, '}');
        }
        if (a->threat && *a->threat) {
            mm_buf_puts(b, ",\"threat\":");
            mm_buf_puts(b, a->threat);
        }
        mm_buf_puts(b, "}\n");
    } else {
        fmt_local(b, a->ts_ns, ap->tz);
        mm_buf_printf(b, "  %-8s  %-12s  ", a->level, a->tenant);
        put_text(b, a->rule_name, strlen(a->rule_name));
        if (a->technique && *a->technique) mm_buf_printf(b, " [%s]", a->technique);
        if (a->count > 1) mm_buf_printf(b, " x%lld", (long long)a->count);
        if (a->reason && *a->reason) {
            mm_buf_puts(b, "\n    ");
            put_text(b, a->reason, strlen(a->reason));
        }
        mm_buf_putc(b, '\n');
    }
    fwrite(b->p, 1, b->len, stdout);
    ap->n++;
    return 0;
}

static int cmd_alerts(cli *c) {
    int64_t since = 0, limit = 0;
    alert_print ap = {.tz = c->cfg.tz_offset};
    for (int i = 1; i < c->argc; i++) {
        int r = list_option(c, "alerts", &i, &ap.json, &since, &limit);
        if (r < 0) return 2;
        if (r == 0) {
            fprintf(stderr, "mamori alerts: unknown option %s\n", c->argv[i]);
            return 2;
        }
    }
    mm_store *s = open_existing_store(c);
    if (!s) return 1;
    int rc = mm_store_alerts_each(s, since, limit, print_alert, &ap);
    if (!ap.json && ap.n == 0) printf("no alerts\n");
    mm_buf_free(&ap.b);
    mm_store_close(s);
    return rc < 0 ? 1 : 0;
}

/* ---------------------------------------------------------------- search */

typedef struct search_ctx {
    int32_t tz;
    mm_query *q;
    bool json;
    int64_t limit, n, scanned;
    mm_arena arena;
    mm_buf b;
    const mm_decode_opts *dopts;
} search_ctx;

static int search_row(void *ctx, const mm_stored_event *se) {
    search_ctx *sc = ctx;
    sc->scanned++;
    mm_arena_reset(&sc->arena);
    mm_source src = {se->input, se->tenant, se->segment, se->format};
    mm_event ev;
    mm_event_init(&ev, &sc->arena);
    ev.src = &src;
    ev.tenant = mm_str_c(se->tenant);
    ev.segment = mm_str_c(se->segment);
    ev.recv_ns = se->recv_ns;
    ev.ts_ns = se->ts_ns;
    const mm_decoder *d = se->format ? mm_decoder_find(se->format) : NULL;
    bool was_error = se->kind && strcmp(se->kind, "pipeline_error") == 0;
    if (d && !was_error) {
        /* search never saves counters, so re-decoding does not inflate them */
        mm_decode(d, &ev, se->raw, sc->dopts);
        ev.ts_ns = se->ts_ns;   /* the stored time (receive time for future-dated records) */
    } else {
        ev.raw = se->raw;
        mm_event_fail(&ev, se->error && *se->error ? se->error : "did not decode");
    }
    ev.store_id = se->id;
    if (!mm_query_match(sc->q, &ev)) return 0;
    mm_buf_reset(&sc->b);
    if (sc->json) {
        mm_event_json(&ev, &sc->b, true);
        mm_buf_putc(&sc->b, '\n');
    } else {
        fmt_local(&sc->b, ev.ts_ns, sc->tz);
        mm_buf_puts(&sc->b, "  ");
        put_text(&sc->b, se->tenant, strlen(se->tenant));
        mm_buf_puts(&sc->b, "  ");
        static const struct { mm_field f; const char *before; } cols[] = {
            {MM_F_EVENT_ACTION, ""}, {MM_F_SOURCE_IP, " "}, {MM_F_DESTINATION_IP, " -> "},
            {MM_F_DESTINATION_PORT, ":"}, {MM_F_NETWORK_BYTES, " bytes="}, {MM_F_MESSAGE, "  "},
        };
        for (size_t i = 0; i < MM_ARRAY_LEN(cols); i++) {
            const mm_value *v = mm_event_get(&ev, cols[i].f);
            if (!v) continue;
            mm_buf_puts(&sc->b, cols[i].before);
            put_text(&sc->b, v->s.p, v->s.len > 160 ? 160 : v->s.len);
        }
        /* what the event is about, when it is not a message: the first of these */
        static const mm_field what[] = {MM_F_URL_FULL, MM_F_DNS_QUESTION_NAME, MM_F_TLS_SERVER_NAME,
                                        MM_F_FILE_NAME, MM_F_EMAIL_SUBJECT, MM_F_IRC_MESSAGE, MM_F_FTP_COMMAND};
        for (size_t i = 0; !mm_event_has(&ev, MM_F_MESSAGE) && i < MM_ARRAY_LEN(what); i++) {
            const mm_value *v = mm_event_get(&ev, what[i]);
            if (!v) continue;
            mm_buf_puts(&sc->b, "  ");
            put_text(&sc->b, v->s.p, v->s.len > 160 ? 160 : v->s.len);
            break;
        }
        if (ev.kind == MM_KIND_PIPELINE_ERROR) {
            mm_buf_puts(&sc->b, "pipeline_error: ");
            put_text(&sc->b, ev.error.p, ev.error.len);
        }
        mm_buf_putc(&sc->b, '\n');
    }
    fwrite(sc->b.p, 1, sc->b.len, stdout);
    sc->n++;
    return sc->limit && sc->n >= sc->limit;
}

static int cmd_search(cli *c) {
    const char *qtext = NULL;
    search_ctx sc = {.limit = 100, .tz = c->cfg.tz_offset};
    int64_t since = 0;
    for (int i = 1; i < c->argc; i++) {
        const char *a = c->argv[i];
        int r = list_option(c, "search", &i, &sc.json, &since, &sc.limit);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "mamori search: unknown option %s\n", a);
            return 2;
        } else if (!qtext)
            qtext = a;
        else {
            fprintf(stderr, "mamori search: give the query as one argument (quote it)\n");
            return 2;
        }
    }
    mm_err err = {{0}};
    sc.q = mm_query_parse(qtext ? qtext : "", &err);
    if (!sc.q) {
        fprintf(stderr, "mamori search: bad query: %s\n", err.msg);
        return 2;
    }
    mm_store *s = open_existing_store(c);
    if (!s) {
        mm_query_free(sc.q);
        return 1;
    }
    mm_decode_opts dopts = {.tz_offset = c->cfg.tz_offset};
    sc.dopts = &dopts;
    mm_arena_init(&sc.arena, 64 * 1024);
    mm_event_filter f = {.since_ns = since};
    f.source_ip = mm_query_required(sc.q, "source.ip");
    f.destination_ip = mm_query_required(sc.q, "destination.ip");
    int rc = mm_store_events_each(s, &f, search_row, &sc);
    fflush(stdout);
    if (!sc.json) fprintf(stderr, "%lld events matched (%lld scanned)\n", (long long)sc.n, (long long)sc.scanned);
    mm_arena_free(&sc.arena);
    mm_buf_free(&sc.b);
    mm_query_free(sc.q);
    mm_store_close(s);
    return rc < 0 ? 1 : 0;
}

/* ---------------------------------------------------------------- status */

static int cmd_status(cli *c) {
    bool json = false;
    for (int i = 1; i < c->argc; i++) {
        if (strcmp(c->argv[i], "--json") == 0) json = true;
        else {
            fprintf(stderr, "mamori status: unknown option %s\n", c->argv[i]);
            return 2;
        }
    }
    mm_store *s = open_existing_store(c);
    if (!s) return 1;
    struct stat st;
    if (stat(c->cfg.store_path, &st) != 0) st.st_size = 0;
    uint64_t v[MM_C__COUNT] = {0};
    mm_store_counters_load(s, v);
    if (json) {
        mm_buf b = {0};
        mm_buf_puts(&b, "{\"version\":\"" MM_VERSION "\",\"store\":");
        mm_json_str(&b, c->cfg.store_path, strlen(c->cfg.store_path));
        mm_buf_printf(&b, ",\"store_bytes\":%lld,\"schema_version\":%d,\"counters\":{",
                      (long long)st.st_size, mm_store_schema_version(s));
        for (int i = 0; i < MM_C__COUNT; i++) {
            if (i) mm_buf_putc(&b, ',');
            mm_buf_printf(&b, "\"%s\":%llu", mm_counter_name((mm_counter)i), (unsigned long long)v[i]);
        }
        mm_buf_puts(&b, "}}\n");
        fwrite(b.p, 1, b.len, stdout);
        mm_buf_free(&b);
    } else {
        printf("mamori %s\nstore %s (%lld bytes, schema %d)\n\ncounters (all runs):\n", MM_VERSION,
               c->cfg.store_path, (long long)st.st_size, mm_store_schema_version(s));
        for (int i = 0; i < MM_C__COUNT; i++)
            printf("  %-26s %12llu  %s\n", mm_counter_name((mm_counter)i), (unsigned long long)v[i],
                   mm_counter_help((mm_counter)i));
    }
    mm_store_close(s);
    return 0;
}

/* ---------------------------------------------------------------- config */

static int cmd_config(cli *c) {
    if (c->argc < 2) {
        fprintf(stderr, "usage: mamori config check [FILE] | config keys\n");
        return 2;
    }
    if (strcmp(c->argv[1], "keys") == 0) {
        mm_config_print_keys();
        return 0;
    }
    if (strcmp(c->argv[1], "check") != 0) {
        fprintf(stderr, "usage: mamori config check [FILE] | config keys\n");
        return 2;
    }
    const char *path = c->argc > 2 ? c->argv[2] : c->cfg_path;
    if (!path) {
        fprintf(stderr, "mamori config check: give a file (or -c FILE)\n");
        return 2;
    }
    mm_config cfg;
    mm_config_defaults(&cfg);
    mm_err err = {{0}};
    int rc = mm_config_load(&cfg, path, &err);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err.msg);
        mm_config_free(&cfg);
        return 1;
    }
    for (int i = 0; i < cfg.ninputs; i++)
        if (!mm_decoder_find(cfg.inputs[i].format)) {
            fprintf(stderr, "%s: line %d: input '%s': unknown format '%s'\n", path,
                    cfg.inputs[i].line, cfg.inputs[i].name, cfg.inputs[i].format);
            mm_config_free(&cfg);
            return 1;
        }
    for (int i = 0; i < c->nrules; i++) {
        cfg.rule_dirs = realloc(cfg.rule_dirs, (size_t)(cfg.nrule_dirs + 1) * sizeof(char *));
        if (!cfg.rule_dirs) abort();
        cfg.rule_dirs[cfg.nrule_dirs++] = strdup(c->rules[i]);
    }
    mm_rules_report rep = {0};
    mm_detect_opts o = {.report = &rep};
    mm_detect *d = load_engine(&cfg, &o, &err);
    if (!d) {
        fprintf(stderr, "%s\n", err.msg);
        mm_rules_report_free(&rep);
        mm_config_free(&cfg);
        return 1;
    }
    print_skips(&rep);
    printf("%s: ok (%d inputs, %d rules: %d skipped, %d waiting for a log source mapping; %d indicators)\n", path,
           cfg.ninputs, mm_detect_rule_count(d), rep.skipped, rep.inactive, mm_detect_indicator_count(d));
    mm_rules_report_free(&rep);
    mm_detect_free(d);
    mm_config_free(&cfg);
    return 0;
}


int main(int argc, char **argv) {
    mm_sensor_tune_malloc();
    cli c = {0};
    c.argv = calloc((size_t)argc + 1, sizeof *c.argv);
    for (int i = 1; i < argc; i++) {
        bool is_c = strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0;
        bool is_db = strcmp(argv[i], "--db") == 0;
        bool is_rules = strcmp(argv[i], "--rules") == 0;
        if ((is_c || is_db || is_rules) && i + 1 >= argc) {
            fprintf(stderr, "mamori: %s needs a value\n", argv[i]);
            free(c.argv);
            free(c.rules);
            return 2;
        }
        if (is_c) c.cfg_path = argv[++i];
        else if (is_db) c.db = argv[++i];
        else if (is_rules) {
            c.rules = realloc(c.rules, (size_t)(c.nrules + 1) * sizeof(char *));
            if (!c.rules) abort();
            c.rules[c.nrules++] = argv[++i];
        } else c.argv[c.argc++] = argv[i];
    }
    if (c.argc == 0 || strcmp(c.argv[0], "-h") == 0 || strcmp(c.argv[0], "--help") == 0 ||
        strcmp(c.argv[0], "help") == 0) {
        usage(c.argc ? stdout : stderr);
        free(c.argv);
        free(c.rules);
        return c.argc ? 0 : 2;
    }
    const char *cmd = c.argv[0];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("mamori %s\n", MM_VERSION);
        free(c.argv);
        free(c.rules);
        return 0;
    }
    if (strcmp(cmd, "config") == 0) {
        int rc = cmd_config(&c);
        free(c.argv);
        free(c.rules);
        return rc;
    }
    if (load_config(&c) != 0) {
        free(c.argv);
        free(c.rules);
        return 1;
    }
    int rc;
    if (strcmp(cmd, "run") == 0) rc = cmd_run(&c);
    else if (strcmp(cmd, "ingest") == 0) rc = cmd_ingest(&c);
    else if (strcmp(cmd, "alerts") == 0) rc = cmd_alerts(&c);
    else if (strcmp(cmd, "search") == 0) rc = cmd_search(&c);
    else if (strcmp(cmd, "status") == 0) rc = cmd_status(&c);
    else if (strcmp(cmd, "replay") == 0) rc = cmd_replay(&c);
    else if (strcmp(cmd, "rules") == 0) rc = cmd_rules(&c);
    else if (strcmp(cmd, "intel") == 0) rc = cmd_intel(&c);
    else if (strcmp(cmd, "hunt") == 0) rc = cmd_hunt(&c);
    else {
        fprintf(stderr, "mamori: unknown command '%s'\n", cmd);
        usage(stderr);
        rc = 2;
    }
    mm_config_free(&c.cfg);
    free(c.argv);
    free(c.rules);
    return rc;
}
