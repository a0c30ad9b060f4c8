/* Unit tests for the SQLite store: schema migrations, byte-exact evidence, filters
 * that really filter, retention that spares alerts, offsets, counters, and files
 * that must be refused.  Each test works in its own directory under /tmp. */
#include "test.h"

#include <sqlite3.h>
#include <unistd.h>

#include "store/store.h"

static char t_dir[64];
static char t_db[128];

/* A fresh directory and database path for one test. */
static const char *tmp_db(void) {
    snprintf(t_dir, sizeof t_dir, "/tmp/mm_store_XXXXXX");
    if (!mkdtemp(t_dir)) {
        perror("mkdtemp");
        exit(2);
    }
    snprintf(t_db, sizeof t_db, "%s/mamori.db", t_dir);
    return t_db;
}

static void tmp_clean(void) {
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char p[160];
    for (size_t i = 0; i < MM_ARRAY_LEN(sfx); i++) {
        snprintf(p, sizeof p, "%s%s", t_db, sfx[i]);
        unlink(p);
    }
    rmdir(t_dir);
}

#define NS 1000000000LL
#define DAY (86400LL * NS)

static const mm_source t_src = {"fgt-file", "city-a", "lgwan", "fortigate"};

static void mk_event(mm_event *ev, mm_arena *a, int64_t ts, const char *sip, const char *user) {
    mm_event_init(ev, a);
    ev->ts_ns = ts;
    ev->recv_ns = ts + 5;
    ev->src = &t_src;
    ev->tenant = mm_str_c(t_src.tenant);
    ev->segment = mm_str_c(t_src.segment);
    ev->observer = MM_STR("FGT60F");
    if (sip)
        mm_event_set(ev, MM_F_SOURCE_IP, mm_str_c(sip));
    mm_event_set(ev, MM_F_DESTINATION_IP, MM_STR("198.51.100.7"));
    if (user)
        mm_event_set(ev, MM_F_USER_NAME, mm_str_c(user));
    mm_event_set(ev, MM_F_EVENT_ACTION, MM_STR("deny"));
    ev->raw = MM_STR("date=2024-08-28 devname=FGT60F action=deny");
}

/* Collects what a query returned. */
typedef struct {
    int n;
    int64_t ids[64];
    int64_t ts[64];
    char raw[256];
    uint32_t raw_len;
    char tenant[32], input[32], format[32], kind[32], error[64];
    int stop_after;
} got_events;

static int on_event(void *ctx, const mm_stored_event *e) {
    got_events *g = ctx;
    if (g->n < 64) {
        g->ids[g->n] = e->id;
        g->ts[g->n] = e->ts_ns;
    }
    g->n++;
    if (e->raw.len <= sizeof g->raw) {
        memcpy(g->raw, e->raw.p, e->raw.len);
        g->raw_len = e->raw.len;
    }
    snprintf(g->tenant, sizeof g->tenant, "%s", e->tenant);
    snprintf(g->input, sizeof g->input, "%s", e->input);
    snprintf(g->format, sizeof g->format, "%s", e->format);
    snprintf(g->kind, sizeof g->kind, "%s", e->kind);
    snprintf(g->error, sizeof g->error, "%s", e->error);
    return g->stop_after && g->n >= g->stop_after;
}

static int count_events(mm_store *s, const mm_event_filter *f) {
    got_events g = {0};
    if (mm_store_events_each(s, f, on_event, &g) != 0)
        return -1;
    return g.n;
}

static void migrations_fresh_file_and_reopen_keep_version(void) {
    const char *path = tmp_db();
    mm_store *s = NULL;
    mm_err err = {{0}};
    int rc = mm_store_open(&s, path, &err);
    if (rc != 0)
        printf("    open: %s\n", err.msg);
    CHECK_INT(rc, 0);
    int v = mm_store_schema_version(s);
    CHECK(v >= 1);
    mm_store_close(s);
    CHECK_INT(access(path, F_OK), 0);

    CHECK_INT(mm_store_open(&s, path, &err), 0);
    CHECK_INT(mm_store_schema_version(s), v);
    mm_store_close(s);

    /* Read back what SQLite itself says: WAL mode and the version. */
    sqlite3 *db;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    int uv = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    CHECK_INT(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    char mode[16];
    snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    CHECK_INT(uv, v);
    CHECK_STR(mode, "wal");
    tmp_clean();
}

static void newer_schema_version_is_refused_with_message(void) {
    const char *path = tmp_db();
    mm_store *s = NULL;
    mm_err err = {{0}};
    CHECK_INT(mm_store_open(&s, path, &err), 0);
    int v = mm_store_schema_version(s);
    mm_store_close(s);

    sqlite3 *db;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
    CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    s = (mm_store *)1;
    CHECK(mm_store_open(&s, path, &err) < 0);
    CHECK(s == NULL);
    CHECK(strstr(err.msg, path) != NULL);
    CHECK(strstr(err.msg, "newer") != NULL);
    tmp_clean();
}

static void not_a_database_fails_cleanly(void) {
    const char *path = tmp_db();
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    for (int i = 0; i < 200; i++)
        fputs("this is a log file, not an SQLite database\n", f);
    fclose(f);
    mm_store *s = (mm_store *)1;
    mm_err err = {{0}};
    CHECK(mm_store_open(&s, path, &err) < 0);
    CHECK(s == NULL);
    CHECK(strstr(err.msg, path) != NULL);
    CHECK(strstr(err.msg, "not a database") != NULL);
    tmp_clean();

    /* A directory that does not exist cannot hold the file either. */
    CHECK(mm_store_open(&s, "/nonexistent-mamori-dir/x.db", &err) < 0);
    CHECK(strstr(err.msg, "/nonexistent-mamori-dir/x.db") != NULL);
}

static void raw_with_nul_and_invalid_utf8_round_trips_byte_exact(void) {
    const char *path = tmp_db();
    mm_store *s;
    mm_err err;
    CHECK_INT(mm_store_open(&s, path, &err), 0);
    mm_arena a;
    mm_arena_init(&a, 4096);
    static const char raw[] = "<13>a\0b\xff\xfe\xc3(\x80 end\0";
    mm_event ev;
    mk_event(&ev, &a, 1000 * NS, "10.0.0.5", "alice");
    ev.raw = (mm_str){raw, sizeof raw};   /* includes the trailing NUL too */
    CHECK_INT(mm_store_put_event(s, &ev), 0);
    CHECK(ev.store_id > 0);

    mm_event empty;
    mk_event(&empty, &a, 999 * NS, NULL, NULL);
    empty.raw = (mm_str){NULL, 0};
    empty.src = NULL;   /* no source: input/format absent */
    mm_event_fail(&empty, "no decoder matched");
    CHECK_INT(mm_store_put_event(s, &empty), 0);
    CHECK(empty.store_id > ev.store_id);

    got_events g = {0};
    mm_event_filter f = {.source_ip = "10.0.0.5"};
    CHECK_INT(mm_store_events_each(s, &f, on_event, &g), 0);
    CHECK_INT(g.n, 1);
    CHECK_INT(g.ids[0], ev.store_id);
    CHECK_INT(g.ts[0], 1000 * NS);
    CHECK_INT(g.raw_len, sizeof raw);
    CHECK(memcmp(g.raw, raw, sizeof raw) == 0);
    CHECK_STR(g.tenant, "city-a");
    CHECK_STR(g.input, "fgt-file");
    CHECK_STR(g.format, "fortigate");
    CHECK_STR(g.kind, "event");
    CHECK_STR(g.error, "");

    memset(&g, 0, sizeof g);
    f = (mm_event_filter){.kind = mm_kind_name(MM_KIND_PIPELINE_ERROR)};
    CHECK_INT(mm_store_events_each(s, &f, on_event, &g), 0);
    CHECK_INT(g.n, 1);
    CHECK_INT(g.raw_len, 0);
    CHECK_STR(g.input, "");
    CHECK_STR(g.error, "no decoder matched");

    mm_arena_free(&a);
    mm_store_close(s);
    tmp_clean();
}

static void filters_really_filter_and_order_newest_first(void) {
    const char *path = tmp_db();
    mm_store *s;
    mm_err err;
    CHECK_INT(mm_store_open(&s, path, &err), 0);
    mm_arena a;
    mm_arena_init(&a, 4096);
    CHECK_INT(mm_store_begin(s), 0);
    /* 10 events: even ones from 10.0.0.5 by alice, odd ones from 10.0.0.6 by bob
     * (bob only as source.user.name, which the store falls back to). */
    for (int i = 0; i < 10; i++) {
        mm_event ev;
        mk_event(&ev, &a, (100 + i) * NS, i % 2 ? "10.0.0.6" : "10.0.0.5",
                 i % 2 ? NULL : "alice");
        if (i % 2)
            mm_event_set(&ev, MM_F_SOURCE_USER_NAME, MM_STR("bob"));
        if (i == 9) {
            ev.tenant = MM_STR("city-b");
            ev.observer = (mm_str){NULL, 0};
            mm_event_set(&ev, MM_F_OBSERVER_NAME, MM_STR("PA-220"));
            mm_event_set(&ev, MM_F_EVENT_ACTION, MM_STR("allow"));
        }
        CHECK_INT(mm_store_put_event(s, &ev), 0);
    }
    CHECK_INT(mm_store_commit(s), 0);

    got_events g = {0};
    CHECK_INT(mm_store_events_each(s, NULL, on_event, &g), 0);
    CHECK_INT(g.n, 10);
    for (int i = 1; i < 10; i++)
        CHECK(g.ts[i - 1] > g.ts[i]);   /* newest first */

    mm_event_filter f = {.source_ip = "10.0.0.5"};
    CHECK_INT(count_events(s, &f), 5);
    f = (mm_event_filter){.source_ip = "10.0.0.5", .since_ns = 106 * NS};
    CHECK_INT(count_events(s, &f), 2);   /* 106, 108 */
    f = (mm_event_filter){.since_ns = 103 * NS, .until_ns = 107 * NS};
    CHECK_INT(count_events(s, &f), 4);   /* 103..106: until is exclusive */
    f = (mm_event_filter){.user_name = "bob"};
    CHECK_INT(count_events(s, &f), 5);
    f = (mm_event_filter){.user_name = "alice", .source_ip = "10.0.0.6"};
    CHECK_INT(count_events(s, &f), 0);
    f = (mm_event_filter){.destination_ip = "198.51.100.7"};
    CHECK_INT(count_events(s, &f), 10);
    f = (mm_event_filter){.tenant = "city-b"};
    CHECK_INT(count_events(s, &f), 1);
    f = (mm_event_filter){.observer = "PA-220"};
    CHECK_INT(count_events(s, &f), 1);
    f = (mm_event_filter){.observer = "FGT60F"};
    CHECK_INT(count_events(s, &f), 9);
    f = (mm_event_filter){.event_action = "deny"};
    CHECK_INT(count_events(s, &f), 9);
    f = (mm_event_filter){.kind = "event", .limit = 3};
    CHECK_INT(count_events(s, &f), 3);
    /* Values are bound, never spliced into the SQL. */
    f = (mm_event_filter){.source_ip = "10.0.0.5' OR '1'='1"};
    CHECK_INT(count_events(s, &f), 0);
    f = (mm_event_filter){.user_name = "x\" OR 1=1 --"};
    CHECK_INT(count_events(s, &f), 0);

    /* The callback can stop the walk. */
    memset(&g, 0, sizeof g);
    g.stop_after = 2;
    CHECK_INT(mm_store_events_each(s, NULL, on_event, &g), 0);
    CHECK_INT(g.n, 2);

    mm_arena_free(&a);
    mm_store_close(s);
    tmp_clean();
}

static void ip_filters_match_in_canonical_form(void) {
    const char *path = tmp_db();
    mm_store *s;
    mm_err err;
    CHECK_INT(mm_store_open(&s, path, &err), 0);
    mm_arena a;
    mm_arena_init(&a, 4096);
    mm_event ev;
    mk_event(&ev, &a, 5 * NS, "2001:DB8:0:0::1", NULL);
    CHECK_INT(mm_store_put_event(s, &ev), 0);
    mm_event_filter f = {.source_ip = "2001:db8::1"};
    CHECK_INT(count_events(s, &f), 1);
    f = (mm_event_filter){.source_ip = "2001:0db8::0001"};
    CHECK_INT(count_events(s, &f), 1);
    /* IPv4 is written by the store's own formatter and must agree with the one the
     * query side uses, at every digit count. */
    static const char *const v4[] = {"0.0.0.0", "255.255.255.255", "100.10.1.0", "9.99.199.200"};
    for (size_t i = 0; i < MM_ARRAY_LEN(v4); i++) {
        mk_event(&ev, &a, 6 * NS, v4[i], NULL);
        CHECK_INT(mm_store_put_event(s, &ev), 0);
        f = (mm_event_filter){.source_ip = v4[i]};
        CHECK_INT(count_events(s, &f), 1);
    }
    mm_arena_free(&a);
    mm_store_close(s);
    tmp_clean();
}

static int64_t sql_int(const char *path, const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        else if (rc == SQLITE_DONE)
            v = 0;
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

/* Entity queries go through the per-batch summaries; whatever they say (or if they
 * are damaged or missing) no stored row may be lost. */
static void entity_filters_find_every_row_through_block_summaries(void) {
    const char *path = tmp_db();
    mm_store *s, *r;
    mm_err err;
    CHECK_INT(mm_store_open(&s, path, &err), 0);
    CHECK_INT(mm_store_open(&r, path, &err), 0);
    mm_arena a;
    mm_arena_init(&a, 1 << 16);
    char ip[32], user[32];
    /* 5 batches of 100: batch b has sources 10.1.b.0-9 and users u<b>. */
    for (int b = 0; b < 5; b++) {
        CHECK_INT(mm_store_begin(s), 0);
        for (int i = 0; i < 100; i++) {
            mm_event ev;
            snprintf(ip, sizeof ip, "10.1.%d.%d", b, i % 10);
            snprintf(user, sizeof user, "u%d", b);
            mk_event(&ev, &a, (1000 + b * 100 + i) * NS, ip, user);
            CHECK_INT(mm_store_put_event(s, &ev), 0);
        }
        CHECK_INT(mm_store_commit(s), 0);
        mm_arena_reset(&a);
    }
    mm_event one;
    mk_event(&one, &a, 5 * NS, "192.0.2.1", "solo");   /* outside a batch */
    CHECK_INT(mm_store_put_event(s, &one), 0);
    /* One transaction larger than a block is cut into several summaries. */
    CHECK_INT(mm_store_begin(s), 0);
    for (int i = 0; i < 5000; i++) {
        mm_event ev;
        snprintf(ip, sizeof ip, "172.16.%d.%d", i / 250, i % 250);
        mk_event(&ev, &a, (3000 + i) * NS, ip, NULL);
        CHECK_INT(mm_store_put_event(s, &ev), 0);
        if (i % 1000 == 999)
            mm_arena_reset(&a);
    }
    CHECK_INT(mm_store_commit(s), 0);
    CHECK_INT(sql_int(path, "SELECT count(*) FROM event_blocks"), 8);

    for (int round = 0; round < 3; round++) {
        mm_event_filter f = {.source_ip = "10.1.2.3"};
        CHECK_INT(count_events(r, &f), 10);
        f = (mm_event_filter){.user_name = "u4"};
        CHECK_INT(count_events(r, &f), 100);
        f = (mm_event_filter){.user_name = "u4", .source_ip = "10.1.3.3"};
        CHECK_INT(count_events(r, &f), 0);
        f = (mm_event_filter){.user_name = "u1", .since_ns = 1150 * NS, .limit = 7};
        got_events g = {0};
        CHECK_INT(mm_store_events_each(r, &f, on_event, &g), 0);
        CHECK_INT(g.n, 7);
        CHECK_INT(g.ts[0], 1199 * NS);   /* newest first across the scan */
        CHECK_INT(g.ts[6], 1193 * NS);
        f = (mm_event_filter){.source_ip = "192.0.2.1"};
        CHECK_INT(count_events(r, &f), 1);
        f = (mm_event_filter){.source_ip = "172.16.0.7"};
        CHECK_INT(count_events(r, &f), 1);
        f = (mm_event_filter){.source_ip = "172.16.19.249"};
        CHECK_INT(count_events(r, &f), 1);
        f = (mm_event_filter){.source_ip = "10.99.99.99"};
        CHECK_INT(count_events(r, &f), 0);
        f = (mm_event_filter){.tenant = "city-a", .until_ns = 1000 * NS};
        CHECK_INT(count_events(r, &f), 1);
        f = (mm_event_filter){.observer = "FGT60F", .limit = 0};
        CHECK_INT(count_events(r, &f), 5501);
        if (round == 0) {
            /* Damaged summaries mean "may contain anything", never "nothing". */
            CHECK_INT(sql_int(path, "UPDATE event_blocks SET bloom = x'00' WHERE id % 2 = 0"), 0);
            CHECK_INT(sql_int(path, "UPDATE event_blocks SET bloom = x'02070000' WHERE id = 1"), 0);
        } else if (round == 1) {
            /* No summaries at all: the time-ordered walk. */
            CHECK_INT(sql_int(path, "DELETE FROM event_blocks"), 0);
        }
    }

    /* Rows of a batch not yet committed: the writer's own connection sees them (after
     * the last summary), another connection does not until the commit. */
    CHECK_INT(mm_store_begin(s), 0);
    for (int i = 0; i < 3; i++) {
        mm_event ev;
        mk_event(&ev, &a, (9000 + i) * NS, "10.9.9.9", NULL);
        CHECK_INT(mm_store_put_event(s, &ev), 0);
    }
    mm_event_filter f = {.source_ip = "10.9.9.9"};
    CHECK_INT(count_events(s, &f), 3);
    CHECK_INT(count_events(r, &f), 0);
    CHECK_INT(mm_store_commit(s), 0);
    CHECK_INT(count_events(r, &f), 3);
    /* A rolled-back batch leaves no summary behind. */
    int64_t blocks = sql_int(path, "SELECT count(*) FROM event_blocks");
    CHECK_INT(mm_store_begin(s), 0);
    mk_event(&one, &a, 7 * NS, "10.8.8.8", NULL);
    CHECK_INT(mm_store_put_event(s, &one), 0);
    CHECK_INT(mm_store_rollback(s), 0);
    CHECK_INT(mm_store_begin(s), 0);
    CHECK_INT(mm_store_commit(s), 0);
    CHECK_INT(sql_int(path, "SELECT count(*) FROM event_blocks"), blocks);

    mm_arena_free(&a);
    mm_store_close(r);
    mm_store_close(s);
    tmp_clean();
}

typedef struct {
    int n;
    int64_t event_id[8], count[8], ts[8];
    char rule_id[8][32], level[8][16], technique[8][16], tenant[8][16];
    char evidence[8][512];
} got_alerts;

static int on_alert(void *ctx, const mm_stored_alert *al) {
    got_alerts *g = ctx;
    if (g->n < 8) {
        g->event_id[g->n] = al->event_id;
        g->count[g->n] = al->count;
        g->ts[g->n] = al->ts_ns;
        snprintf(g->rule_id[g->n], 32, "%s", al->rule_id);
        snprintf(g->level[g->n], 16, "%s", al->level);
        snprintf(g->technique[g->n], 16, "%s", al->technique);
        snprintf(g->tenant[g->n], 16, "%s", al->tenant);
        snprintf(g->evidence[g->n], 512, "%s", al->evidence);
    }
    g->n++;
    return 0;
}

static void alerts_round_trip_with_evidence_oldest_first(void) {
    const char *path = tmp_db();
    mm_store *s;
    mm_err err;
    CHECK_INT(mm_store_open(&s, path, &err), 0);
    mm_arena a;
    mm_arena_init(&a, 4096);
    mm_event ev;
    mk_event(&ev, &a, 2000 * NS, "10.0.0.5", "alice");
    CHECK_INT(mm_store_begin(s), 0);
    CHECK_INT(mm_store_put_event(s, &ev), 0);
    mm_alert al1 = {.rule_id = "fgt-deny-burst", .rule_name = "Denied burst",
                    .level = "high", .technique = "T1046", .reason = "50 denies in 60s",
                    .ts_ns = 2000 * NS, .count = 50, .ev = &ev};
    mm_alert al0 = {.rule_id = "ioc-ip", .rule_name = "Known bad IP", .level = "medium",
                    .technique = NULL, .reason = "10.0.0.5 in list", .ts_ns = 1999 * NS,
                    .count = 1, .ev = &ev};
    CHECK_INT(mm_store_put_alert(s, &al1), 0);
    CHECK_INT(mm_store_put_alert(s, &al0), 0);
    CHECK_INT(mm_store_commit(s), 0);

    got_alerts g = {0};
    CHECK_INT(mm_store_alerts_each(s, 0, 0, on_alert, &g), 0);
    CHECK_INT(g.n, 2);
    CHECK_STR(g.rule_id[0], "ioc-ip");   /* oldest first */
    CHECK_STR(g.technique[0], "");
    CHECK_STR(g.rule_id[1], "fgt-deny-burst");
    CHECK_STR(g.level[1], "high");
    CHECK_STR(g.technique[1], "T1046");
    CHECK_STR(g.tenant[1], "city-a");
    CHECK_INT(g.count[1], 50);
    CHECK_INT(g.event_id[1], ev.store_id);
    CHECK_INT(g.ts[1], 2000 * NS);
    /* Evidence: JSON object members (no outer braces) with the key fields. */
    CHECK(g.evidence[1][0] == '"');
    CHECK(strstr(g.evidence[1], "10.0.0.5") != NULL);
    CHECK(strstr(g.evidence[1], "alice") != NULL);
    CHECK(strstr(g.evidence[1], "198.51.100.7") != NULL);

    /* since and limit */
    memset(&g, 0, sizeof g);
    CHECK_INT(mm_store_alerts_each(s, 2000 * NS, 0, on_alert, &g), 0);
    CHECK_INT(g.n, 1);
    CHECK_STR(g.rule_id[0], "fgt-deny-burst");
    memset(&g, 0, sizeof g);
    CHECK_INT(mm_store_alerts_each(s, 0, 1, on_alert, &g), 0);
    CHECK_INT(g.n, 1);
    CHECK_STR(g.rule_id[0], "fgt-deny-burst");   /* a limit keeps the newest */

    mm_arena_free(&a);
    mm_store_close(s);
    tmp_clean();
}

typedef struct {
    int n;
    char keys[4][64];
    int64_t inode[4], off[4];
} got_offsets;

static void on_offset(void *ctx, const char *key, int64_t inode, int64_t offset) {
    got_offsets *g = ctx;
    if (g->n < 4) {
        snprintf(g->keys[g->n], 64, "%s", key);
        g->inode[g->n] = inode;
        g->off[g->n] = offset;
    }
    g->n++;
}

static void offsets_set_get_update_and_list(void) {
    const char *path = tmp_db();
    mm_store *s;
    mm_err err;
    CHECK_INT(mm_store_open(&s, path, &err), 0);
    int64_t ino = -1, off = -1;
    CHECK_INT(mm_store_offset_get(s, "fgt-file:/var/log/fgt.log", &ino, &off), MM_ENOENT);
    CHECK_INT(mm_store_offset_set(s, "fgt-file:/var/log/fgt.log", 1234, 5678), 0);
    CHECK_INT(mm_store_offset_set(s, "dns:/var/log/dns.log", 42, 7), 0);
    CHECK_INT(mm_store_offset_set(s, "fgt-file:/var/log/fgt.log", 1235, 10), 0);
    CHECK_INT(mm_store_offset_get(s, "fgt-file:/var/log/fgt.log", &ino, &off), 0);
    CHECK_INT(ino, 1235);
    CHECK_INT(off, 10);
    mm_store_close(s);

    /* Offsets survive a restart. */
    CHECK_INT(mm_store_open(&s, path, &err), 0);
    got_offsets g = {0};
    CHECK_INT(mm_store_offsets_each(s, on_offset, &g), 0);
    CHECK_INT(g.n, 2);
    CHECK_STR(g.keys[0], "dns:/var/log/dns.log");
    CHECK_INT(g.inode[0], 42);
    CHECK_INT(g.off[0], 7);
    CHECK_STR(g.keys[1], "fgt-file:/var/log/fgt.log");
    CHECK_INT(g.off[1], 10);
    mm_store_close(s);
    tmp_clean();
}

static void retention_deletes_old_events_in_chunks_and_keeps_alerts(void) {
    const char *path = tmp_db();
    mm_store *s;
    mm_err err;
    CHECK_INT(mm_store_open(&s, path, &err), 0);
    mm_arena a;
    mm_arena_init(&a, 1 << 16);
    const int64_t now = 1724800000LL * NS;
    const int n_old = 12003;   /* more than two retention chunks */
    mm_event old_ev;
    CHECK_INT(mm_store_begin(s), 0);
    for (int i = 0; i < n_old; i++) {
        mk_event(&old_ev, &a, now - 10 * DAY + i * NS, "10.0.0.5", "alice");
        CHECK_INT(mm_store_put_event(s, &old_ev), 0);
        if (i % 1000 == 999)
            mm_arena_reset(&a);
    }
    mm_arena_reset(&a);
    mm_event recent;
    mk_event(&old_ev, &a, now - 10 * DAY, "10.0.0.5", "alice");
    CHECK_INT(mm_store_put_event(s, &old_ev), 0);
    mm_alert al = {.rule_id = "r1", .rule_name = "old one", .level = "low",
                   .reason = "x", .ts_ns = old_ev.ts_ns, .count = 1, .ev = &old_ev};
    CHECK_INT(mm_store_put_alert(s, &al), 0);
    mk_event(&recent, &a, now - 1 * DAY, "10.0.0.9", "carol");
    CHECK_INT(mm_store_put_event(s, &recent), 0);
    CHECK_INT(mm_store_commit(s), 0);

    CHECK_INT(mm_store_retention(s, 7, now), n_old + 1);
    CHECK_INT(count_events(s, NULL), 1);
    CHECK_INT(sql_int(path, "SELECT count(*) FROM event_blocks"), 1);
    mm_event_filter f = {.source_ip = "10.0.0.9"};
    CHECK_INT(count_events(s, &f), 1);
    CHECK_INT(mm_store_retention(s, 7, now), 0);
    CHECK_INT(mm_store_retention(s, 0, now), 0);   /* 0: keep forever */

    got_alerts g = {0};
    CHECK_INT(mm_store_alerts_each(s, 0, 0, on_alert, &g), 0);
    CHECK_INT(g.n, 1);
    CHECK_INT(g.event_id[0], old_ev.store_id);     /* dangles; evidence stays */
    CHECK(strstr(g.evidence[0], "10.0.0.5") != NULL);

    /* Ids are never reused once events are gone. */
    CHECK_INT(mm_store_retention(s, 1, now + 2 * DAY), 1);
    CHECK_INT(count_events(s, NULL), 0);
    mm_event again;
    mk_event(&again, &a, now, "10.0.0.1", NULL);
    CHECK_INT(mm_store_put_event(s, &again), 0);
    CHECK(again.store_id > recent.store_id);

    mm_arena_free(&a);
    mm_store_close(s);
    tmp_clean();
}

static void counters_add_twice_sums(void) {
    const char *path = tmp_db();
    mm_store *s;
    mm_err err;
    CHECK_INT(mm_store_open(&s, path, &err), 0);
    uint64_t v[MM_C__COUNT] = {0}, got[MM_C__COUNT];
    CHECK_INT(mm_store_counters_load(s, got), 0);
    for (int c = 0; c < MM_C__COUNT; c++)
        CHECK_INT(got[c], 0);
    v[MM_C_RECORDS_IN] = 1000;
    v[MM_C_DECODE_ERRORS] = 3;
    CHECK_INT(mm_store_counters_add(s, v), 0);
    v[MM_C_RECORDS_IN] = 500;
    v[MM_C_ALERTS] = 2;
    CHECK_INT(mm_store_counters_add(s, v), 0);
    mm_store_close(s);

    CHECK_INT(mm_store_open(&s, path, &err), 0);
    CHECK_INT(mm_store_counters_load(s, got), 0);
    CHECK_INT(got[MM_C_RECORDS_IN], 1500);
    CHECK_INT(got[MM_C_DECODE_ERRORS], 6);
    CHECK_INT(got[MM_C_ALERTS], 2);
    CHECK_INT(got[MM_C_EVENTS_STORED], 0);

    /* Inside an open transaction, a rollback takes the counters with it. */
    CHECK_INT(mm_store_begin(s), 0);
    CHECK_INT(mm_store_counters_add(s, v), 0);
    CHECK_INT(mm_store_rollback(s), 0);
    CHECK_INT(mm_store_counters_load(s, got), 0);
    CHECK_INT(got[MM_C_RECORDS_IN], 1500);
    mm_store_close(s);
    tmp_clean();
}

static void rollback_discards_the_batch(void) {
    const char *path = tmp_db();
    mm_store *s;
    mm_err err;
    CHECK_INT(mm_store_open(&s, path, &err), 0);
    mm_arena a;
    mm_arena_init(&a, 4096);
    mm_event ev;
    mk_event(&ev, &a, 7 * NS, "10.0.0.5", NULL);
    CHECK_INT(mm_store_begin(s), 0);
    CHECK_INT(mm_store_put_event(s, &ev), 0);
    CHECK_INT(mm_store_rollback(s), 0);
    CHECK_INT(count_events(s, NULL), 0);
    CHECK_INT(mm_store_rollback(s), 0);   /* nothing open: harmless */
    mm_arena_free(&a);
    mm_store_close(s);
    tmp_clean();
}

static void reader_sees_writes_while_writer_is_open(void) {
    const char *path = tmp_db();
    mm_store *w, *r;
    mm_err err;
    CHECK_INT(mm_store_open(&w, path, &err), 0);
    CHECK_INT(mm_store_open(&r, path, &err), 0);
    mm_arena a;
    mm_arena_init(&a, 4096);
    mm_event ev;
    mk_event(&ev, &a, 9 * NS, "10.0.0.5", NULL);
    CHECK_INT(mm_store_begin(w), 0);
    CHECK_INT(mm_store_put_event(w, &ev), 0);
    CHECK_INT(count_events(r, NULL), 0);   /* reads do not wait for the writer */
    CHECK_INT(mm_store_commit(w), 0);
    CHECK_INT(count_events(r, NULL), 1);
    mm_arena_free(&a);
    mm_store_close(r);
    mm_store_close(w);
    tmp_clean();
}

int main(void) {
    mm_log_set_level(MM_LOG_WARN);
    TEST(migrations_fresh_file_and_reopen_keep_version);
    TEST(newer_schema_version_is_refused_with_message);
    TEST(not_a_database_fails_cleanly);
    TEST(raw_with_nul_and_invalid_utf8_round_trips_byte_exact);
    TEST(filters_really_filter_and_order_newest_first);
    TEST(ip_filters_match_in_canonical_form);
    TEST(entity_filters_find_every_row_through_block_summaries);
    TEST(alerts_round_trip_with_evidence_oldest_first);
    TEST(offsets_set_get_update_and_list);
    TEST(retention_deletes_old_events_in_chunks_and_keeps_alerts);
    TEST(counters_add_twice_sums);
    TEST(rollback_discards_the_batch);
    TEST(reader_sees_writes_while_writer_is_open);
    TEST_MAIN_END();
}
