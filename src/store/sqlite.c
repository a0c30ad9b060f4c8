/* store/sqlite: the default store, one SQLite file in WAL mode.
 *
 * WAL lets `mamori status` and the web console read while the daemon writes; the
 * busy timeout covers the short moments where two writers meet (the CLI adding its
 * counters while the daemon commits a batch).  The schema is a numbered list of
 * migration steps whose count is kept in PRAGMA user_version; a file written by a
 * newer mamori is refused rather than guessed at.
 *
 * The insert statements are prepared once and reused: the store writer inserts every
 * event, so that path binds slices straight from the event (SQLITE_STATIC, no copy)
 * and does no allocation.  Every value from the outside world reaches SQLite through
 * a bound parameter; the only SQL text assembled at run time is the WHERE clause of a
 * query, from constant fragments.
 *
 * Why events have no per-row index on source.ip, destination.ip or user.name: those
 * keys arrive in random order, so every row dirties one B-tree page per such index
 * and every commit rewrites thousands of pages.  Measured with 1,000-row batches,
 * three such indexes held the writer to ~20,000 events/s on disk (~60,000 on tmpfs);
 * with only the time index and the summaries below it writes 150,000-250,000.
 * Instead, each batch of inserted events (a "block": at most BLOCK_MAX
 * rows, usually one transaction) gets one row in event_blocks with its id and time
 * range and a Bloom filter of its entity keys (source/destination IP, user, observer,
 * tenant).  A query for an entity reads the block summaries, keeps the blocks whose
 * filter may contain every requested key, and scans only their id ranges; when the
 * entity is everywhere it walks the time index instead and stops at the limit.
 * Invariant: every committed event lies in a committed block whose filter holds its
 * keys, or after the last block (the "tail", always scanned). */
#include "store.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows deleted per retention statement: small enough that a reader or the writer
 * waiting on the lock is not held up for long, large enough to be quick overall. */
#define RETENTION_CHUNK 5000

/* Events per block summary.  A transaction normally makes one block; a larger one is
 * cut into several so that the filters stay small and selective. */
#define BLOCK_MAX 4096

/* Entity keys summarised per event (see term tags below). */
#define TERMS_PER_EVENT 5

/* An entity query scans matching block ranges and sorts what it finds, unless the
 * blocks that may match hold more rows than this and are over a quarter of all:
 * then the entity is common and walking the time index meets the limit sooner. */
#define RANGE_SCAN_MAX_ROWS 262144

/* ---------------------------------------------------------------- schema */

/* Migration N (1-based) is migrations[N-1].  Append only: a released step is never
 * edited, since files in the field have already applied it.
 *
 * Event and alert ids are AUTOINCREMENT so a row id is never reused after retention
 * has emptied the table: an alert's event_id may dangle, but it must never point at
 * a different, newer event.  Entity lookups go through event_blocks (see the top
 * of this file), not through per-row indexes. */
static const char *const migrations[] = {
    /* 1: events, alerts, input offsets, counters */
    "CREATE TABLE events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts_ns INTEGER NOT NULL,"
    " recv_ns INTEGER NOT NULL,"
    " tenant TEXT, segment TEXT, input TEXT, format TEXT,"
    " kind TEXT NOT NULL,"
    " observer TEXT, source_ip TEXT, destination_ip TEXT, user_name TEXT,"
    " event_action TEXT,"
    " error TEXT,"
    " raw BLOB NOT NULL);"
    "CREATE INDEX events_ts ON events(ts_ns);"
    "CREATE TABLE event_blocks ("
    " id INTEGER PRIMARY KEY,"
    " first_id INTEGER NOT NULL, last_id INTEGER NOT NULL,"
    " min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL,"
    " rows INTEGER NOT NULL,"
    " bloom BLOB NOT NULL);"
    "CREATE TABLE alerts ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts_ns INTEGER NOT NULL,"
    " created_ns INTEGER NOT NULL,"
    " rule_id TEXT NOT NULL,"
    " rule_name TEXT, level TEXT, technique TEXT, reason TEXT, tenant TEXT,"
    " count INTEGER NOT NULL DEFAULT 1,"
    " event_id INTEGER,"
    " evidence TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX alerts_ts ON alerts(ts_ns);"
    "CREATE TABLE offsets ("
    " \"key\" TEXT PRIMARY KEY,"
    " inode INTEGER NOT NULL,"
    " \"offset\" INTEGER NOT NULL,"
    " updated_ns INTEGER NOT NULL);"
    "CREATE TABLE counters ("
    " name TEXT PRIMARY KEY,"
    " value INTEGER NOT NULL DEFAULT 0);",
    /* 2: threat intelligence — indicators (one row per indicator and feed: the
     * same indicator from two feeds is two rows, merged when loaded), feeds and
     * their refresh state, the matched indicator of an alert, and per-block
     * sketches of the indicator terms events carry (retro-hunt) */
    "CREATE TABLE indicators ("
    " id INTEGER PRIMARY KEY,"
    " type TEXT NOT NULL, value TEXT NOT NULL, feed TEXT NOT NULL,"
    " source_id TEXT,"
    " first_seen INTEGER, last_seen INTEGER, valid_from INTEGER, valid_until INTEGER,"
    " confidence INTEGER, tlp TEXT,"
    " revoked INTEGER NOT NULL DEFAULT 0, warning INTEGER NOT NULL DEFAULT 0,"
    " actor TEXT, campaign TEXT, malware TEXT, kill_chain TEXT, attack TEXT,"
    " description TEXT, action TEXT,"
    " added_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL,"
    " UNIQUE (type, value, feed));"
    "CREATE INDEX indicators_added ON indicators(added_ns);"
    "CREATE TABLE feeds ("
    " name TEXT PRIMARY KEY,"
    " kind TEXT, url TEXT,"
    " last_attempt_ns INTEGER, last_ok_ns INTEGER,"
    " last_count INTEGER NOT NULL DEFAULT 0, last_new INTEGER NOT NULL DEFAULT 0,"
    " etag TEXT, last_modified TEXT, cursor TEXT, last_error TEXT);"
    "ALTER TABLE alerts ADD COLUMN threat TEXT;"
    "ALTER TABLE event_blocks ADD COLUMN ioc_terms BLOB;",
    /* 3: warning lists are read on every hunt and load: a partial index finds
     * their few rows among millions */
    "CREATE INDEX indicators_warning ON indicators(id) WHERE warning = 1;",
};
#define SCHEMA_VERSION ((int)MM_ARRAY_LEN(migrations))

/* ---------------------------------------------------------------- the handle */

struct mm_store {
    sqlite3 *db;
    int version;
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *ins_event, *ins_alert;
    sqlite3_stmt *off_get, *off_set;
    sqlite3_stmt *ctr_add;
    sqlite3_stmt *ins_block;
    mm_buf evidence;     /* reused by put_alert */
    bool opening;        /* errors go to mm_store_open's err, not the log */
    /* The block being filled: key hashes of its events (BLOCK_MAX * TERMS_PER_EVENT
     * preallocated, so the insert path never allocates), id and time range. */
    uint64_t *bh;
    uint32_t bh_n, b_rows;
    int64_t b_first, b_last, b_min_ts, b_max_ts;
    uint8_t *bloom;      /* scratch for the filter being written */
    size_t bloom_cap;
    /* Indicator terms of the block being filled (mm_ioc_event_terms), written
     * sorted and unique as the block's retro-hunt sketch. */
    uint64_t *it;
    size_t it_n, it_cap;
    bool it_oom;         /* a term was lost: the block's sketch is left out (scan it) */
    sqlite3_stmt *ind_put, *feed_put;
};

static const char SQL_INS_EVENT[] =
    "INSERT INTO events (ts_ns, recv_ns, tenant, segment, input, format, kind, observer,"
    " source_ip, destination_ip, user_name, event_action, error, raw)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
static const char SQL_INS_ALERT[] =
    "INSERT INTO alerts (ts_ns, created_ns, rule_id, rule_name, level, technique, reason,"
    " tenant, count, event_id, evidence, threat)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
static const char SQL_OFF_GET[] =
    "SELECT inode, \"offset\" FROM offsets WHERE \"key\" = ?1";
static const char SQL_OFF_SET[] =
    "INSERT INTO offsets (\"key\", inode, \"offset\", updated_ns) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT(\"key\") DO UPDATE SET inode = excluded.inode,"
    " \"offset\" = excluded.\"offset\", updated_ns = excluded.updated_ns";
static const char SQL_INS_BLOCK[] =
    "INSERT INTO event_blocks (first_id, last_id, min_ts, max_ts, rows, bloom, ioc_terms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_CTR_ADD[] =
    "INSERT INTO counters (name, value) VALUES (?1, ?2)"
    " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value";

/* Map an SQLite result code to ours and log it once, here where it is handled.
 * sqlite3_errmsg names tables and constraints, never bound values. */
static int fail(mm_store *s, const char *what) {
    int rc = sqlite3_errcode(s->db);
    if (!s->opening)
        mm_error("store: %s: %s", what, sqlite3_errmsg(s->db));
    return (rc & 0xff) == SQLITE_NOMEM ? MM_ENOMEM : MM_EIO;
}

/* Run a prepared statement that returns no rows and make it reusable. */
static int run(mm_store *s, sqlite3_stmt *st, const char *what) {
    int rc = sqlite3_step(st);
    int ret = MM_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = fail(s, what);
    sqlite3_reset(st);
    return ret;
}

/* Run constant SQL (schema, pragmas) that takes no parameters. */
static int exec(mm_store *s, const char *sql, const char *what) {
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail(s, what);
    return MM_OK;
}

static int prepare(mm_store *s, const char *sql, sqlite3_stmt **st, bool persistent) {
    int rc = sqlite3_prepare_v3(s->db, sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0,
                                st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return fail(s, "prepare");
    }
    return MM_OK;
}

/* Empty and absent slices are stored as NULL so that "has no user" is one thing. */
static int bind_str(sqlite3_stmt *st, int i, mm_str v) {
    if (!v.p || v.len == 0)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text64(st, i, v.p, v.len, SQLITE_STATIC, SQLITE_UTF8);
}

static int bind_cstr(sqlite3_stmt *st, int i, const char *c) {
    return bind_str(st, i, mm_str_c(c));
}

/* A column as a C string for a callback: never NULL ("" when the column is NULL). */
static const char *col_str(sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static int read_version(mm_store *s, int *v) {
    sqlite3_stmt *st;
    int ret = prepare(s, "PRAGMA user_version", &st, false);
    if (ret)
        return ret;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *v = sqlite3_column_int(st, 0);
    } else {
        ret = fail(s, "read schema version");
    }
    sqlite3_finalize(st);
    return ret;
}

/* Each step runs in its own IMMEDIATE transaction and re-reads the version inside
 * it, so two processes opening a fresh file at once apply every step exactly once. */
static int migrate(mm_store *s, mm_err *err, const char *path) {
    for (;;) {
        int v = 0, ret;
        if ((ret = exec(s, "BEGIN IMMEDIATE", "begin migration"))) {
            mm_err_set(err, "%s: schema migration: %s", path, sqlite3_errmsg(s->db));
            return ret;
        }
        if ((ret = read_version(s, &v)))
            goto fail_rollback;
        if (v < 0) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            mm_err_set(err, "%s: not a mamori database (schema version %d)", path, v);
            return MM_EINVAL;
        }
        if (v > SCHEMA_VERSION) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            mm_err_set(err,
                       "%s: database schema version %d is newer than this mamori "
                       "(%s) supports (%d); upgrade mamori",
                       path, v, MM_VERSION, SCHEMA_VERSION);
            return MM_EINVAL;
        }
        if (v == SCHEMA_VERSION) {
            if ((ret = exec(s, "COMMIT", "commit migration")))
                goto fail_rollback;
            s->version = v;
            return MM_OK;
        }
        if ((ret = exec(s, migrations[v], "schema migration")))
            goto fail_rollback;
        /* PRAGMA takes no bound parameters; the value is our own integer. */
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if ((ret = exec(s, sql, "set schema version")))
            goto fail_rollback;
        if ((ret = exec(s, "COMMIT", "commit migration")))
            goto fail_rollback;
        mm_info("store: %s: schema migrated to version %d", path, v + 1);
        continue;
    fail_rollback:
        mm_err_set(err, "%s: schema migration to version %d: %s", path, v + 1,
                   sqlite3_errmsg(s->db));
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return ret;
    }
}

/* ---------------------------------------------------------------- block filters */

/* The filter format is on disk, so it depends on nothing outside this file (not on
 * mm_hash, which may change): FNV-1a over a tag byte and the key, then a
 * splitmix64 finaliser.  Blob: byte 0 format (1), byte 1 the number of probes k,
 * then m bits (m a power of two, m >= 256).  A blob that does not look like this is
 * treated as "may contain anything", never as "contains nothing". */
enum { TERM_TENANT = 1, TERM_OBSERVER, TERM_SOURCE_IP, TERM_DESTINATION_IP, TERM_USER };
#define BLOOM_FORMAT 1
#define BLOOM_K 7
#define BLOOM_BITS_PER_KEY 12   /* ~0.3% false positives at k = 7 */

static uint64_t term_hash(int tag, const char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    h = (h ^ (uint8_t)tag) * 0x100000001b3ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 0x100000001b3ULL;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/* Probe i of a key: double hashing over the two halves of its 64-bit hash. */
static inline uint32_t bloom_bit(uint64_t h, int i, uint32_t mask) {
    uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1;
    return (h1 + (uint32_t)i * h2) & mask;
}

static bool bloom_may_contain(const uint8_t *blob, size_t len, uint64_t h) {
    if (len < 2 + 32 || blob[0] != BLOOM_FORMAT || blob[1] == 0 || blob[1] > 32)
        return true;
    size_t m = (len - 2) * 8;
    if (m > UINT32_MAX || (m & (m - 1)))
        return true;
    const uint8_t *bits = blob + 2;
    for (int i = 0; i < blob[1]; i++) {
        uint32_t b = bloom_bit(h, i, (uint32_t)(m - 1));
        if (!(bits[b >> 3] & (1u << (b & 7))))
            return false;
    }
    return true;
}

static void block_clear(mm_store *s) {
    s->bh_n = s->b_rows = 0;
    s->b_first = s->b_last = 0;
    s->it_n = 0;
    s->it_oom = false;
}

/* Retro-hunt sketch blob: the magic, then the block's distinct indicator terms as
 * sorted little-endian u64.  The terms are hashes of normalised keys
 * (mm_ioc_event_terms): a release that changes the normalisation must change the
 * magic, so older blocks are read whole instead of being skipped wrongly.  Anything else (NULL, older rows) means "may contain
 * anything": the hunt reads the block. */
static const char TERMS_MAGIC[8] = "mmterm2";
#define BLOCK_TERMS_MAX 262144   /* a block with more distinct terms is cut early */

static void it_add(void *ctx, uint64_t h) {
    mm_store *s = ctx;
    if (s->it_n == s->it_cap) {
        size_t nc = s->it_cap ? s->it_cap * 2 : 16384;
        uint64_t *n = realloc(s->it, nc * sizeof *n);
        if (!n) {
            s->it_oom = true;
            return;
        }
        s->it = n;
        s->it_cap = nc;
    }
    s->it[s->it_n++] = h;
}

static void block_term(mm_store *s, int tag, mm_str v) {
    if (v.len)
        s->bh[s->bh_n++] = term_hash(tag, v.p, v.len);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Write the summary of the block being filled (inside the current transaction). */
static int block_flush(mm_store *s) {
    if (s->b_rows == 0)
        return MM_OK;
    /* Size the filter for the distinct keys: a batch of one busy host has few. */
    qsort(s->bh, s->bh_n, sizeof *s->bh, cmp_u64);
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->bh_n; i++)
        if (i == 0 || s->bh[i] != s->bh[n - 1])
            s->bh[n++] = s->bh[i];
    size_t m = 256;
    while (m < (size_t)n * BLOOM_BITS_PER_KEY)
        m *= 2;
    size_t len = 2 + m / 8;
    if (len > s->bloom_cap) {
        uint8_t *nb = realloc(s->bloom, len);
        if (!nb) {
            block_clear(s);
            mm_error("store: block summary: out of memory");
            return MM_ENOMEM;
        }
        s->bloom = nb;
        s->bloom_cap = len;
    }
    memset(s->bloom, 0, len);
    s->bloom[0] = BLOOM_FORMAT;
    s->bloom[1] = BLOOM_K;
    uint8_t *bits = s->bloom + 2;
    for (uint32_t j = 0; j < n; j++)
        for (int i = 0; i < BLOOM_K; i++) {
            uint32_t b = bloom_bit(s->bh[j], i, (uint32_t)(m - 1));
            bits[b >> 3] |= (uint8_t)(1u << (b & 7));
        }
    sqlite3_stmt *st = s->ins_block;
    int rc = sqlite3_bind_int64(st, 1, s->b_first);
    rc |= sqlite3_bind_int64(st, 2, s->b_last);
    rc |= sqlite3_bind_int64(st, 3, s->b_min_ts);
    rc |= sqlite3_bind_int64(st, 4, s->b_max_ts);
    rc |= sqlite3_bind_int64(st, 5, s->b_rows);
    rc |= sqlite3_bind_blob64(st, 6, s->bloom, len, SQLITE_STATIC);
    /* the sketch reuses the term buffer: sorted, unique, little-endian after the magic */
    uint8_t *tblob = NULL;
    size_t tlen = 0;
    if (!s->it_oom) {
        if (s->it_n)
            qsort(s->it, s->it_n, sizeof *s->it, cmp_u64);
        size_t u = 0;
        for (size_t i = 0; i < s->it_n; i++)
            if (i == 0 || s->it[i] != s->it[u - 1])
                s->it[u++] = s->it[i];
        tlen = sizeof TERMS_MAGIC + u * 8;
        tblob = malloc(tlen);
        if (tblob) {
            memcpy(tblob, TERMS_MAGIC, sizeof TERMS_MAGIC);
            for (size_t i = 0; i < u; i++)
                for (int b = 0; b < 8; b++)
                    tblob[sizeof TERMS_MAGIC + i * 8 + (size_t)b] = (uint8_t)(s->it[i] >> (8 * b));
        }
    }
    if (tblob)
        rc |= sqlite3_bind_blob64(st, 7, tblob, tlen, SQLITE_TRANSIENT);
    else
        rc |= sqlite3_bind_null(st, 7);
    free(tblob);
    block_clear(s);
    if (rc != SQLITE_OK)
        return fail(s, "insert block summary: bind");
    return run(s, st, "insert block summary");
}

int mm_store_open(mm_store **out, const char *path, mm_err *err) {
    mm_err dummy;
    if (!err)
        err = &dummy;
    *out = NULL;
    if (!path || !*path) {
        mm_err_set(err, "store: no database path");
        return MM_EINVAL;
    }
    mm_store *s = calloc(1, sizeof *s);
    if (!s) {
        mm_err_set(err, "%s: out of memory", path);
        return MM_ENOMEM;
    }
    s->opening = true;
    s->bh = malloc(sizeof *s->bh * BLOCK_MAX * TERMS_PER_EVENT);
    if (!s->bh) {
        free(s);
        mm_err_set(err, "%s: out of memory", path);
        return MM_ENOMEM;
    }
    /* One mm_store is used by one thread at a time (store.h), so SQLite's own
     * per-connection mutex is not needed. */
    int rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        mm_err_set(err, "%s: cannot open database: %s", path,
                   s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        mm_store_close(s);
        return rc == SQLITE_NOMEM ? MM_ENOMEM : MM_EIO;
    }
    sqlite3_extended_result_codes(s->db, 1);
    /* Hardening: the file may have been touched by someone else; do not let its
     * schema run functions with side effects or corrupt itself through
     * writable_schema. */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_busy_timeout(s->db, 5000);

    /* journal_mode is the first statement that reads the file, so a file that is
     * not a database is reported here.  synchronous=NORMAL in WAL mode loses at most
     * the last transactions on power loss, never consistency.  No foreign keys: an
     * alert's event_id is allowed to dangle once retention removed the event. */
    static const char *const pragmas[] = {
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA journal_size_limit = 67108864",
        "PRAGMA cache_size = -32768",
        "PRAGMA temp_store = MEMORY",
        /* Left on, the planner answers an entity filter over block ranges by
         * building a throw-away index over the whole events table. */
        "PRAGMA automatic_index = OFF",
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(pragmas); i++) {
        if (sqlite3_exec(s->db, pragmas[i], NULL, NULL, NULL) != SQLITE_OK) {
            mm_err_set(err, "%s: cannot open database: %s", path, sqlite3_errmsg(s->db));
            mm_store_close(s);
            return MM_EIO;
        }
    }
    int ret = migrate(s, err, path);
    if (ret) {
        mm_store_close(s);
        return ret;
    }
    struct {
        const char *sql;
        sqlite3_stmt **st;
    } stmts[] = {
        {"BEGIN IMMEDIATE", &s->begin}, {"COMMIT", &s->commit},
        {"ROLLBACK", &s->rollback},     {SQL_INS_EVENT, &s->ins_event},
        {SQL_INS_ALERT, &s->ins_alert}, {SQL_OFF_GET, &s->off_get},
        {SQL_OFF_SET, &s->off_set},     {SQL_CTR_ADD, &s->ctr_add},
        {SQL_INS_BLOCK, &s->ins_block},
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(stmts); i++) {
        if ((ret = prepare(s, stmts[i].sql, stmts[i].st, true))) {
            mm_err_set(err, "%s: %s", path, sqlite3_errmsg(s->db));
            mm_store_close(s);
            return ret;
        }
    }
    s->opening = false;
    *out = s;
    return MM_OK;
}

void mm_store_close(mm_store *s) {
    if (!s)
        return;
    sqlite3_stmt *stmts[] = {s->begin,   s->commit,  s->rollback, s->ins_event, s->ins_alert,
                             s->off_get, s->off_set, s->ctr_add,  s->ins_block, s->ind_put, s->feed_put};
    for (size_t i = 0; i < MM_ARRAY_LEN(stmts); i++)
        sqlite3_finalize(stmts[i]);
    if (s->db) {
        if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(s->db);
    }
    mm_buf_free(&s->evidence);
    free(s->bh);
    free(s->bloom);
    free(s->it);
    free(s);
}

int mm_store_schema_version(mm_store *s) { return s->version; }

/* IMMEDIATE: take the write lock up front, so a batch never fails half-way because
 * a reader's snapshot could not be upgraded; the busy timeout waits for it. */
int mm_store_begin(mm_store *s) {
    block_clear(s);
    return run(s, s->begin, "begin");
}

/* The block summary goes into the same transaction as its events: both or neither. */
int mm_store_commit(mm_store *s) {
    int ret = block_flush(s);
    return ret ? ret : run(s, s->commit, "commit");
}

int mm_store_rollback(mm_store *s) {
    block_clear(s);
    if (sqlite3_get_autocommit(s->db))
        return MM_OK;   /* nothing open (SQLite may already have rolled back) */
    return run(s, s->rollback, "rollback");
}

/* ---------------------------------------------------------------- writes */

/* The text of a key field.  IP fields are stored in canonical form (so a query for
 * "2001:db8::1" finds a record that wrote "2001:DB8:0::1"); anything else as sent. */
static mm_str key_text(const mm_event *ev, mm_field f, char ipbuf[48]) {
    const mm_value *v = mm_event_get(ev, f);
    if (!v)
        return (mm_str){NULL, 0};
    if (mm_field_type(f) == MM_T_IP && v->parsed && v->ip.af == 4) {
        /* Dotted quad by hand: inet_ntop goes through printf, which showed up as a
         * tenth of the insert path. */
        char *o = ipbuf;
        for (int i = 0; i < 4; i++) {
            unsigned b = v->ip.b[i];
            if (b >= 100)
                *o++ = (char)('0' + b / 100);
            if (b >= 10)
                *o++ = (char)('0' + b / 10 % 10);
            *o++ = (char)('0' + b % 10);
            *o++ = '.';
        }
        return (mm_str){ipbuf, (uint32_t)(o - ipbuf - 1)};
    }
    if (mm_field_type(f) == MM_T_IP && v->parsed && v->ip.af) {
        mm_ip_fmt(&v->ip, ipbuf);
        return mm_str_c(ipbuf);
    }
    return v->s;
}

static mm_str ev_tenant(const mm_event *ev) {
    if (ev->tenant.len)
        return ev->tenant;
    return mm_str_c(ev->src ? ev->src->tenant : NULL);
}

static mm_str ev_segment(const mm_event *ev) {
    if (ev->segment.len)
        return ev->segment;
    return mm_str_c(ev->src ? ev->src->segment : NULL);
}

static int put_event(mm_store *s, mm_event *ev) {
    sqlite3_stmt *st = s->ins_event;
    char sip[48], dip[48], b1[48], b2[48], b3[48];
    mm_str tenant = ev_tenant(ev);
    mm_str src_ip = key_text(ev, MM_F_SOURCE_IP, sip);
    mm_str dst_ip = key_text(ev, MM_F_DESTINATION_IP, dip);
    mm_str user = key_text(ev, MM_F_USER_NAME, b1);
    if (!user.len)
        user = key_text(ev, MM_F_SOURCE_USER_NAME, b1);
    mm_str observer = ev->observer;
    if (!observer.len)
        observer = key_text(ev, MM_F_OBSERVER_NAME, b2);
    int rc = 0;
    rc |= sqlite3_bind_int64(st, 1, ev->ts_ns);
    rc |= sqlite3_bind_int64(st, 2, ev->recv_ns);
    rc |= bind_str(st, 3, tenant);
    rc |= bind_str(st, 4, ev_segment(ev));
    rc |= bind_cstr(st, 5, ev->src ? ev->src->input : NULL);
    rc |= bind_cstr(st, 6, ev->src ? ev->src->format : NULL);
    rc |= bind_cstr(st, 7, mm_kind_name(ev->kind));
    rc |= bind_str(st, 8, observer);
    rc |= bind_str(st, 9, src_ip);
    rc |= bind_str(st, 10, dst_ip);
    rc |= bind_str(st, 11, user);
    rc |= bind_str(st, 12, key_text(ev, MM_F_EVENT_ACTION, b3));
    rc |= bind_str(st, 13, ev->error);
    /* The raw record is evidence: a BLOB, byte-exact (NULs, invalid UTF-8). */
    if (ev->raw.len)
        rc |= sqlite3_bind_blob64(st, 14, ev->raw.p, ev->raw.len, SQLITE_STATIC);
    else
        rc |= sqlite3_bind_zeroblob(st, 14, 0);
    if (rc != SQLITE_OK) {
        sqlite3_clear_bindings(st);
        return fail(s, "insert event: bind");
    }
    int ret = run(s, st, "insert event");
    if (ret != MM_OK)
        return ret;
    int64_t id = sqlite3_last_insert_rowid(s->db);
    ev->store_id = id;

    /* Into the block summary: exactly the texts the columns hold, so a filter on a
     * column and a probe of the summary agree. */
    if (s->b_rows == 0) {
        s->b_first = id;
        s->b_min_ts = s->b_max_ts = ev->ts_ns;
    }
    s->b_last = id;
    if (ev->ts_ns < s->b_min_ts)
        s->b_min_ts = ev->ts_ns;
    if (ev->ts_ns > s->b_max_ts)
        s->b_max_ts = ev->ts_ns;
    s->b_rows++;
    block_term(s, TERM_TENANT, tenant);
    block_term(s, TERM_OBSERVER, observer);
    block_term(s, TERM_SOURCE_IP, src_ip);
    block_term(s, TERM_DESTINATION_IP, dst_ip);
    block_term(s, TERM_USER, user);
    if (ev->kind == MM_KIND_EVENT && ev->has_ioc_terms) {
        for (uint32_t i = 0; i < ev->n_ioc_terms; i++)
            it_add(s, ev->ioc_terms[i]);
    } else if (ev->kind == MM_KIND_EVENT) {
        mm_ioc_event_terms(ev, it_add, s);
    }
    if (s->b_rows >= BLOCK_MAX || s->it_n >= BLOCK_TERMS_MAX)
        return block_flush(s);
    return MM_OK;
}

int mm_store_put_event(mm_store *s, mm_event *ev) {
    if (!sqlite3_get_autocommit(s->db))
        return put_event(s, ev);
    /* No batch open: the event and its one-row summary commit together. */
    int ret = mm_store_begin(s);
    if (ret == MM_OK)
        ret = put_event(s, ev);
    if (ret == MM_OK)
        ret = mm_store_commit(s);
    if (ret != MM_OK)
        mm_store_rollback(s);
    return ret;
}

int mm_store_put_alert(mm_store *s, const mm_alert *a) {
    sqlite3_stmt *st = s->ins_alert;
    const mm_event *ev = a->ev;
    /* Evidence is stored exactly as mm_event_json_fields writes it: object members
     * without the outer braces ("" when the event has none of the key fields). */
    mm_buf_reset(&s->evidence);
    if (ev)
        mm_event_json_fields(ev, &s->evidence, mm_key_fields, mm_key_fields_n);
    int rc = 0;
    rc |= sqlite3_bind_int64(st, 1, a->ts_ns);
    rc |= sqlite3_bind_int64(st, 2, mm_now_ns());
    rc |= sqlite3_bind_text(st, 3, a->rule_id ? a->rule_id : "", -1, SQLITE_STATIC);
    rc |= bind_cstr(st, 4, a->rule_name);
    rc |= bind_cstr(st, 5, a->level);
    rc |= bind_cstr(st, 6, a->technique);
    rc |= bind_cstr(st, 7, a->reason);
    rc |= bind_str(st, 8, ev ? ev_tenant(ev) : (mm_str){NULL, 0});
    rc |= sqlite3_bind_int64(st, 9, a->count > 0 ? a->count : 1);
    if (ev && ev->store_id > 0)
        rc |= sqlite3_bind_int64(st, 10, ev->store_id);
    else
        rc |= sqlite3_bind_null(st, 10);
    rc |= sqlite3_bind_text64(st, 11, s->evidence.p ? s->evidence.p : "", s->evidence.len,
                              SQLITE_STATIC, SQLITE_UTF8);
    rc |= bind_cstr(st, 12, a->threat);
    if (rc != SQLITE_OK) {
        sqlite3_clear_bindings(st);
        return fail(s, "insert alert: bind");
    }
    return run(s, st, "insert alert");
}

/* ---------------------------------------------------------------- offsets */

int mm_store_offset_get(mm_store *s, const char *key, int64_t *inode, int64_t *offset) {
    sqlite3_stmt *st = s->off_get;
    if (bind_cstr(st, 1, key) != SQLITE_OK)
        return fail(s, "offset get: bind");
    int rc = sqlite3_step(st), ret = MM_OK;
    if (rc == SQLITE_ROW) {
        *inode = sqlite3_column_int64(st, 0);
        *offset = sqlite3_column_int64(st, 1);
    } else if (rc == SQLITE_DONE) {
        ret = MM_ENOENT;
    } else {
        ret = fail(s, "offset get");
    }
    sqlite3_reset(st);
    return ret;
}

int mm_store_offset_set(mm_store *s, const char *key, int64_t inode, int64_t offset) {
    sqlite3_stmt *st = s->off_set;
    if (!key || !*key)
        return MM_EINVAL;
    int rc = 0;
    rc |= bind_cstr(st, 1, key);
    rc |= sqlite3_bind_int64(st, 2, inode);
    rc |= sqlite3_bind_int64(st, 3, offset);
    rc |= sqlite3_bind_int64(st, 4, mm_now_ns());
    if (rc != SQLITE_OK)
        return fail(s, "offset set: bind");
    return run(s, st, "offset set");
}

int mm_store_offsets_each(mm_store *s,
                          void (*fn)(void *ctx, const char *key, int64_t inode, int64_t offset),
                          void *ctx) {
    sqlite3_stmt *st;
    int ret = prepare(s, "SELECT \"key\", inode, \"offset\" FROM offsets ORDER BY \"key\"",
                      &st, false);
    if (ret)
        return ret;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(ctx, col_str(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
    if (rc != SQLITE_DONE)
        ret = fail(s, "offsets");
    sqlite3_finalize(st);
    return ret;
}

/* ---------------------------------------------------------------- retention */

/* Deleted in chunks, each its own transaction when the caller has none open, so a
 * month of backlog does not hold the write lock (and grow the WAL) in one go. */
int64_t mm_store_retention(mm_store *s, int days, int64_t now_ns) {
    return mm_store_retention_step(s, days, now_ns, 0);
}

int64_t mm_store_retention_step(mm_store *s, int days, int64_t now_ns, int64_t max_rows) {
    if (days <= 0)
        return 0;   /* keep forever */
    int64_t span, cutoff;
    if (__builtin_mul_overflow((int64_t)days, 86400LL * 1000000000LL, &span) ||
        __builtin_sub_overflow(now_ns, span, &cutoff))
        return 0;   /* older than anything representable: nothing to delete */
    sqlite3_stmt *st;
    int ret = prepare(s,
                      "DELETE FROM events WHERE id IN"
                      " (SELECT id FROM events WHERE ts_ns < ?1 ORDER BY ts_ns LIMIT ?2)",
                      &st, false);
    if (ret)
        return ret;
    int64_t total = 0;
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int(st, 2, RETENTION_CHUNK);
    for (;;) {
        if (sqlite3_step(st) != SQLITE_DONE) {
            total = fail(s, "retention");
            break;
        }
        int n = sqlite3_changes(s->db);
        total += n;
        sqlite3_reset(st);
        if (n < RETENTION_CHUNK || (max_rows > 0 && total >= max_rows))
            break;
    }
    sqlite3_finalize(st);
    if (total < 0)
        return total;
    /* A summary whose newest event is past the cutoff describes only deleted rows. */
    if ((ret = prepare(s,
                       "DELETE FROM event_blocks WHERE id IN"
                       " (SELECT id FROM event_blocks WHERE max_ts < ?1 LIMIT ?2)",
                       &st, false)))
        return ret;
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int(st, 2, RETENTION_CHUNK);
    for (;;) {
        if (sqlite3_step(st) != SQLITE_DONE) {
            total = fail(s, "retention of block summaries");
            break;
        }
        int n = sqlite3_changes(s->db);
        sqlite3_reset(st);
        if (n < RETENTION_CHUNK)
            break;
    }
    sqlite3_finalize(st);
    return total;
}

/* ---------------------------------------------------------------- counters */

int mm_store_counters_add(mm_store *s, const uint64_t *values) {
    /* All counters land together or not at all; inside the caller's transaction if
     * one is open. */
    bool own = sqlite3_get_autocommit(s->db);
    int ret = MM_OK;
    if (own && (ret = mm_store_begin(s)))
        return ret;
    sqlite3_stmt *st = s->ctr_add;
    for (int c = 0; c < MM_C__COUNT && ret == MM_OK; c++) {
        if (!values[c])
            continue;
        int rc = bind_cstr(st, 1, mm_counter_name((mm_counter)c));
        rc |= sqlite3_bind_int64(st, 2, (int64_t)values[c]);
        ret = rc == SQLITE_OK ? run(s, st, "counters add") : fail(s, "counters add: bind");
    }
    if (own) {
        if (ret == MM_OK)
            ret = mm_store_commit(s);
        if (ret != MM_OK)
            mm_store_rollback(s);
    }
    return ret;
}

int mm_store_counters_load(mm_store *s, uint64_t *values) {
    memset(values, 0, sizeof(uint64_t) * MM_C__COUNT);
    sqlite3_stmt *st;
    int ret = prepare(s, "SELECT name, value FROM counters", &st, false);
    if (ret)
        return ret;
    int rc;
    /* Names this binary does not know (from a newer or older mamori) are skipped. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = col_str(st, 0);
        for (int c = 0; c < MM_C__COUNT; c++) {
            if (strcmp(name, mm_counter_name((mm_counter)c)) == 0) {
                values[c] = (uint64_t)sqlite3_column_int64(st, 1);
                break;
            }
        }
    }
    if (rc != SQLITE_DONE)
        ret = fail(s, "counters load");
    sqlite3_finalize(st);
    return ret;
}

/* ---------------------------------------------------------------- queries */

/* An IP filter is compared in the canonical form the events were stored in. */
static const char *canon_ip(const char *in, char buf[48]) {
    mm_ip ip;
    if (in && mm_ip_parse(mm_str_c(in), &ip) && ip.af) {
        mm_ip_fmt(&ip, buf);
        return buf;
    }
    return in;
}

/* One equality or range condition of an event query.  `tag` names the block-summary
 * key it can be probed with (0: none, it only filters rows). */
typedef struct qterm {
    bool on;
    const char *sql;
    bool is_int;
    int64_t i;
    const char *t;
    int tag;
} qterm;

/* Step an event query (columns id, ts_ns, recv_ns, tenant, segment, input,
 * format, kind, error, raw) into fn, then finalize it. */
static int event_rows(mm_store *s, sqlite3_stmt *st, int (*fn)(void *ctx, const mm_stored_event *e), void *ctx,
                      const char *what) {
    int rc, ret = MM_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        mm_stored_event e = {
            .id = sqlite3_column_int64(st, 0),
            .ts_ns = sqlite3_column_int64(st, 1),
            .recv_ns = sqlite3_column_int64(st, 2),
            .tenant = col_str(st, 3),
            .segment = col_str(st, 4),
            .input = col_str(st, 5),
            .format = col_str(st, 6),
            .kind = col_str(st, 7),
            .error = col_str(st, 8),
        };
        const void *raw = sqlite3_column_blob(st, 9);   /* before column_bytes */
        e.raw.len = (uint32_t)sqlite3_column_bytes(st, 9);
        e.raw.p = raw ? raw : "";
        if (fn(ctx, &e) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        ret = fail(s, what);
    sqlite3_finalize(st);
    return ret;
}

/* Run the event query over `from` (which must name the events table "e"), with the
 * terms that are on, newest first.  Only constant fragments go into the SQL text;
 * every value is bound, in the order the fragments were appended. */
static int query_rows(mm_store *s, const char *from, const qterm *terms, size_t nterms,
                      int64_t limit, int (*fn)(void *ctx, const mm_stored_event *e),
                      void *ctx) {
    char sql[1024];
    size_t n = (size_t)snprintf(sql, sizeof sql,
                                "SELECT e.id, e.ts_ns, e.recv_ns, e.tenant, e.segment,"
                                " e.input, e.format, e.kind, e.error, e.raw FROM %s WHERE 1",
                                from);
    for (size_t i = 0; i < nterms; i++)
        if (terms[i].on && n < sizeof sql)
            n += (size_t)snprintf(sql + n, sizeof sql - n, "%s", terms[i].sql);
    if (n < sizeof sql)
        n += (size_t)snprintf(sql + n, sizeof sql - n,
                              " ORDER BY e.ts_ns DESC, e.id DESC LIMIT ?");
    if (n >= sizeof sql)
        return MM_EINVAL;   /* cannot happen with the constant fragments */

    sqlite3_stmt *st;
    int ret = prepare(s, sql, &st, false);
    if (ret)
        return ret;
    int k = 0, rc = SQLITE_OK;
    for (size_t i = 0; i < nterms; i++) {
        if (!terms[i].on)
            continue;
        k++;
        if (terms[i].is_int)
            rc |= sqlite3_bind_int64(st, k, terms[i].i);
        else   /* "" is a real value here (matches nothing, as NULL is stored) */
            rc |= sqlite3_bind_text(st, k, terms[i].t, -1, SQLITE_STATIC);
    }
    rc |= sqlite3_bind_int64(st, k + 1, limit > 0 ? limit : -1);
    if (rc != SQLITE_OK) {
        ret = fail(s, "events query: bind");
        sqlite3_finalize(st);
        return ret;
    }
    return event_rows(s, st, fn, ctx, "events query");
}

typedef struct id_range {
    int64_t lo, hi;
} id_range;

/* Probe the block summaries for the entity keys of the query.  Fills *out (malloc'd)
 * with the id ranges worth scanning, adjacent blocks merged, plus the tail after the
 * last summary.  *use = false when the entity is common (or nothing is summarised)
 * and the plain time-ordered walk is the better plan. */
static int probe_blocks(mm_store *s, const mm_event_filter *f, const qterm *terms,
                        size_t nterms, id_range **out, size_t *nout, bool *use) {
    uint64_t h[8];
    size_t nh = 0;
    for (size_t i = 0; i < nterms && nh < MM_ARRAY_LEN(h); i++)
        if (terms[i].on && terms[i].tag)
            h[nh++] = term_hash(terms[i].tag, terms[i].t, strlen(terms[i].t));
    *out = NULL;
    *nout = 0;
    *use = false;

    sqlite3_stmt *st;
    int ret = prepare(s, "SELECT max(last_id), count(*) FROM event_blocks", &st, false);
    if (ret)
        return ret;
    int64_t tail = 0, nblocks = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        tail = sqlite3_column_int64(st, 0);
        nblocks = sqlite3_column_int64(st, 1);
    } else {
        ret = fail(s, "block summaries");
    }
    sqlite3_finalize(st);
    if (ret || nblocks == 0)
        return ret;

    if ((ret = prepare(s,
                       "SELECT first_id, last_id, rows, bloom FROM event_blocks"
                       " WHERE max_ts >= ?1 AND min_ts < ?2 ORDER BY id",
                       &st, false)))
        return ret;
    sqlite3_bind_int64(st, 1, f->since_ns ? f->since_ns : INT64_MIN);
    sqlite3_bind_int64(st, 2, f->until_ns ? f->until_ns : INT64_MAX);
    size_t cap = 64, n = 0;
    id_range *r = malloc(cap * sizeof *r);
    int64_t rows_all = 0, rows_hit = 0;
    int rc;
    while (r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t lo = sqlite3_column_int64(st, 0), hi = sqlite3_column_int64(st, 1);
        int64_t rows = sqlite3_column_int64(st, 2);
        const uint8_t *bloom = sqlite3_column_blob(st, 3);
        size_t blen = (size_t)sqlite3_column_bytes(st, 3);
        rows_all += rows;
        bool hit = true;
        for (size_t i = 0; i < nh && hit; i++)
            hit = bloom_may_contain(bloom ? bloom : (const uint8_t *)"", blen, h[i]);
        if (!hit)
            continue;
        rows_hit += rows;
        if (n && lo <= r[n - 1].hi + 1) {
            if (hi > r[n - 1].hi)
                r[n - 1].hi = hi;
            continue;
        }
        if (n + 1 == cap) {   /* keep one slot for the tail */
            id_range *nr = realloc(r, 2 * cap * sizeof *r);
            if (!nr) {
                free(r);
                r = NULL;
                break;
            }
            r = nr;
            cap *= 2;
        }
        r[n++] = (id_range){lo, hi};
    }
    if (!r) {
        sqlite3_finalize(st);
        mm_error("store: events query: out of memory");
        return MM_ENOMEM;
    }
    if (rc != SQLITE_DONE) {
        ret = fail(s, "block summaries");
        sqlite3_finalize(st);
        free(r);
        return ret;
    }
    sqlite3_finalize(st);
    if (rows_hit > RANGE_SCAN_MAX_ROWS && rows_hit * 4 > rows_all) {
        free(r);
        return MM_OK;
    }
    r[n++] = (id_range){tail + 1, INT64_MAX};
    *out = r;
    *nout = n;
    *use = true;
    return MM_OK;
}

static int query_ranges(mm_store *s, const id_range *r, size_t n, const qterm *terms,
                        size_t nterms, int64_t limit,
                        int (*fn)(void *ctx, const mm_stored_event *e), void *ctx) {
    /* The ranges travel in a per-connection temporary table: the number of ranges
     * varies, and this keeps the SQL text constant.  Temporary tables take no lock
     * on the database file. */
    int ret = exec(s, "CREATE TEMP TABLE IF NOT EXISTS mm_ranges"
                      " (lo INTEGER NOT NULL, hi INTEGER NOT NULL);"
                      "DELETE FROM temp.mm_ranges",
                   "events query: ranges");
    if (ret)
        return ret;
    sqlite3_stmt *st;
    if ((ret = prepare(s, "INSERT INTO temp.mm_ranges (lo, hi) VALUES (?1, ?2)", &st, false)))
        return ret;
    for (size_t i = 0; i < n && ret == MM_OK; i++) {
        sqlite3_bind_int64(st, 1, r[i].lo);
        sqlite3_bind_int64(st, 2, r[i].hi);
        ret = run(s, st, "events query: ranges");
    }
    sqlite3_finalize(st);
    if (ret == MM_OK)
        ret = query_rows(s, "temp.mm_ranges r CROSS JOIN events e ON e.id BETWEEN r.lo AND r.hi",
                         terms, nterms, limit, fn, ctx);
    sqlite3_exec(s->db, "DELETE FROM temp.mm_ranges", NULL, NULL, NULL);
    return ret;
}

int mm_store_events_each(mm_store *s, const mm_event_filter *f,
                         int (*fn)(void *ctx, const mm_stored_event *e), void *ctx) {
    static const mm_event_filter none;
    if (!f)
        f = &none;
    char sbuf[48], dbuf[48];
    qterm terms[] = {
        {f->since_ns != 0, " AND e.ts_ns >= ?", true, f->since_ns, NULL, 0},
        {f->until_ns != 0, " AND e.ts_ns < ?", true, f->until_ns, NULL, 0},
        {f->tenant != NULL, " AND e.tenant = ?", false, 0, f->tenant, TERM_TENANT},
        {f->source_ip != NULL, " AND e.source_ip = ?", false, 0, canon_ip(f->source_ip, sbuf),
         TERM_SOURCE_IP},
        {f->destination_ip != NULL, " AND e.destination_ip = ?", false, 0,
         canon_ip(f->destination_ip, dbuf), TERM_DESTINATION_IP},
        {f->user_name != NULL, " AND e.user_name = ?", false, 0, f->user_name, TERM_USER},
        {f->event_action != NULL, " AND e.event_action = ?", false, 0, f->event_action, 0},
        {f->observer != NULL, " AND e.observer = ?", false, 0, f->observer, TERM_OBSERVER},
        {f->kind != NULL, " AND e.kind = ?", false, 0, f->kind, 0},
    };
    const size_t nterms = MM_ARRAY_LEN(terms);
    bool entity = false;
    for (size_t i = 0; i < nterms; i++)
        entity |= terms[i].on && terms[i].tag;
    if (!entity)
        return query_rows(s, "events e", terms, nterms, f->limit, fn, ctx);

    /* Summaries and rows are read from one snapshot, so a batch committed in between
     * cannot fall between the two reads. */
    bool own = sqlite3_get_autocommit(s->db);
    int ret = own ? exec(s, "BEGIN", "events query: begin") : MM_OK;
    if (ret)
        return ret;
    id_range *r = NULL;
    size_t n = 0;
    bool use = false;
    ret = probe_blocks(s, f, terms, nterms, &r, &n, &use);
    if (ret == MM_OK) {
        if (use)
            ret = query_ranges(s, r, n, terms, nterms, f->limit, fn, ctx);
        else
            ret = query_rows(s, "events e", terms, nterms, f->limit, fn, ctx);
    }
    free(r);
    if (own)
        sqlite3_exec(s->db, ret == MM_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
    return ret;
}

int mm_store_alerts_each(mm_store *s, int64_t since_ns, int64_t limit,
                         int (*fn)(void *ctx, const mm_stored_alert *a), void *ctx) {
    sqlite3_stmt *st;
    int ret = prepare(s,
                      /* the newest `limit` alerts, printed oldest first */
                      "SELECT * FROM (SELECT id, ts_ns, created_ns, rule_id, rule_name, level,"
                      " technique, reason, tenant, count, event_id, evidence, threat FROM alerts"
                      " WHERE ts_ns >= ?1 ORDER BY ts_ns DESC, id DESC LIMIT ?2)"
                      " ORDER BY ts_ns, id",
                      &st, false);
    if (ret)
        return ret;
    sqlite3_bind_int64(st, 1, since_ns);
    sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        mm_stored_alert a = {
            .id = sqlite3_column_int64(st, 0),
            .ts_ns = sqlite3_column_int64(st, 1),
            .created_ns = sqlite3_column_int64(st, 2),
            .rule_id = col_str(st, 3),
            .rule_name = col_str(st, 4),
            .level = col_str(st, 5),
            .technique = col_str(st, 6),
            .reason = col_str(st, 7),
            .tenant = col_str(st, 8),
            .count = sqlite3_column_int64(st, 9),
            .event_id = sqlite3_column_int64(st, 10),
            .evidence = col_str(st, 11),
            .threat = col_str(st, 12),
        };
        if (fn(ctx, &a) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        ret = fail(s, "alerts query");
    sqlite3_finalize(st);
    return ret;
}

/* ---------------------------------------------------------------- indicators */

static const char SQL_IND_PUT[] =
    "INSERT INTO indicators (type, value, feed, source_id, first_seen, last_seen, valid_from,"
    " valid_until, confidence, tlp, revoked, warning, actor, campaign, malware, kill_chain, attack,"
    " description, action, added_ns, updated_ns)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?20)"
    " ON CONFLICT (type, value, feed) DO UPDATE SET"
    " source_id = coalesce(excluded.source_id, source_id),"
    " first_seen = CASE WHEN first_seen IS NULL OR (excluded.first_seen IS NOT NULL AND excluded.first_seen < first_seen)"
    "   THEN excluded.first_seen ELSE first_seen END,"
    " last_seen = max(coalesce(last_seen, 0), coalesce(excluded.last_seen, 0)),"
    " valid_from = coalesce(excluded.valid_from, valid_from),"
    " valid_until = excluded.valid_until,"
    " confidence = coalesce(excluded.confidence, confidence),"
    " tlp = coalesce(excluded.tlp, tlp), revoked = excluded.revoked, warning = excluded.warning,"
    " actor = coalesce(excluded.actor, actor), campaign = coalesce(excluded.campaign, campaign),"
    " malware = coalesce(excluded.malware, malware), kill_chain = coalesce(excluded.kill_chain, kill_chain),"
    " attack = coalesce(excluded.attack, attack), description = coalesce(excluded.description, description),"
    " action = coalesce(excluded.action, action), updated_ns = excluded.updated_ns";

static int bind_t(sqlite3_stmt *st, int i, int64_t v) {
    return v ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

int mm_store_indicator_put(mm_store *s, const mm_indicator *ind, int64_t now_ns, bool *is_new) {
    if (!s->ind_put) {
        int ret = prepare(s, SQL_IND_PUT, &s->ind_put, true);
        if (ret)
            return ret;
    }
    sqlite3_stmt *st = s->ind_put;
    const char *type = mm_intel_type_name(ind->type);
    int rc = sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    rc |= bind_cstr(st, 2, ind->value);
    rc |= sqlite3_bind_text(st, 3, ind->feed && *ind->feed ? ind->feed : "manual", -1, SQLITE_STATIC);
    rc |= bind_cstr(st, 4, ind->id);
    rc |= bind_t(st, 5, ind->first_seen);
    rc |= bind_t(st, 6, ind->last_seen);
    rc |= bind_t(st, 7, ind->valid_from);
    rc |= bind_t(st, 8, ind->valid_until);
    rc |= ind->confidence >= 0 ? sqlite3_bind_int(st, 9, ind->confidence) : sqlite3_bind_null(st, 9);
    rc |= bind_cstr(st, 10, ind->tlp);
    rc |= sqlite3_bind_int(st, 11, ind->revoked);
    rc |= sqlite3_bind_int(st, 12, ind->warning);
    rc |= bind_cstr(st, 13, ind->actor);
    rc |= bind_cstr(st, 14, ind->campaign);
    rc |= bind_cstr(st, 15, ind->malware);
    rc |= bind_cstr(st, 16, ind->kill_chain);
    rc |= bind_cstr(st, 17, ind->attack);
    rc |= bind_cstr(st, 18, ind->description);
    rc |= bind_cstr(st, 19, ind->action);
    rc |= sqlite3_bind_int64(st, 20, now_ns);
    if (rc != SQLITE_OK) {
        sqlite3_clear_bindings(st);
        return fail(s, "insert indicator: bind");
    }
    /* an upsert that updates leaves last_insert_rowid alone: zeroed first, it
     * tells a new row from an update */
    sqlite3_set_last_insert_rowid(s->db, 0);
    rc = sqlite3_step(st);
    bool fresh = rc == SQLITE_DONE && sqlite3_last_insert_rowid(s->db) != 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return fail(s, "insert indicator");
    if (is_new)
        *is_new = fresh;
    return MM_OK;
}

static const char IND_COLS[] =
    "SELECT id, type, value, feed, source_id, first_seen, last_seen, valid_from, valid_until, confidence,"
    " tlp, revoked, warning, actor, campaign, malware, kill_chain, attack, description, action,"
    " added_ns, updated_ns FROM indicators WHERE 1";

int mm_store_indicators_each(mm_store *s, const mm_indicator_filter *f,
                             int (*fn)(void *ctx, const mm_stored_indicator *si), void *ctx) {
    static const mm_indicator_filter none;
    if (!f)
        f = &none;
    char sql[1024];
    size_t n = (size_t)snprintf(sql, sizeof sql, "%s", IND_COLS);
    /* constant fragments only; values are bound in this order */
    if (f->type != MM_IND_NONE) n += (size_t)snprintf(sql + n, sizeof sql - n, " AND type = ?1");
    if (f->value) n += (size_t)snprintf(sql + n, sizeof sql - n, " AND value = ?2");
    if (f->feed) n += (size_t)snprintf(sql + n, sizeof sql - n, " AND feed = ?3");
    if (f->added_since_ns) n += (size_t)snprintf(sql + n, sizeof sql - n, " AND added_ns >= ?4");
    if (f->added_since_ns && f->new_values_only)
        n += (size_t)snprintf(sql + n, sizeof sql - n,
                              " AND NOT EXISTS (SELECT 1 FROM indicators o WHERE o.type = indicators.type"
                              " AND o.value = indicators.value AND o.added_ns < ?4 AND o.warning = 0"
                              " AND o.revoked = 0 AND (o.valid_until IS NULL OR o.valid_until > ?5))");
    if (!f->include_inactive)
        n += (size_t)snprintf(sql + n, sizeof sql - n,
                              " AND revoked = 0 AND (valid_until IS NULL OR valid_until > ?5)");
    /* literals, not parameters: only "warning = 1" written out lets SQLite use the
     * partial index */
    if (f->warning == 1) n += (size_t)snprintf(sql + n, sizeof sql - n, " AND warning = 0");
    if (f->warning == 2) n += (size_t)snprintf(sql + n, sizeof sql - n, " AND warning = 1");
    /* with added_since, the added_ns index answers (ORDER BY id would scan the table) */
    n += (size_t)snprintf(sql + n, sizeof sql - n,
                          f->added_since_ns ? " ORDER BY added_ns, id LIMIT ?7" : " ORDER BY id LIMIT ?7");
    if (n >= sizeof sql)
        return MM_EINVAL;
    sqlite3_stmt *st;
    int ret = prepare(s, sql, &st, false);
    if (ret)
        return ret;
    if (f->type != MM_IND_NONE) sqlite3_bind_text(st, 1, mm_intel_type_name(f->type), -1, SQLITE_STATIC);
    if (f->value) sqlite3_bind_text(st, 2, f->value, -1, SQLITE_STATIC);
    if (f->feed) sqlite3_bind_text(st, 3, f->feed, -1, SQLITE_STATIC);
    if (f->added_since_ns) sqlite3_bind_int64(st, 4, f->added_since_ns);
    if (!f->include_inactive || (f->added_since_ns && f->new_values_only))
        sqlite3_bind_int64(st, 5, f->now_ns ? f->now_ns : mm_now_ns());
    sqlite3_bind_int64(st, 7, f->limit > 0 ? f->limit : -1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        mm_stored_indicator si;
        memset(&si, 0, sizeof si);
        si.id = sqlite3_column_int64(st, 0);
        si.ind.type = mm_intel_type_parse(col_str(st, 1));
        si.ind.value = col_str(st, 2);
        si.ind.feed = col_str(st, 3);
        si.ind.id = col_str(st, 4);
        si.ind.first_seen = sqlite3_column_int64(st, 5);
        si.ind.last_seen = sqlite3_column_int64(st, 6);
        si.ind.valid_from = sqlite3_column_int64(st, 7);
        si.ind.valid_until = sqlite3_column_int64(st, 8);
        si.ind.confidence = sqlite3_column_type(st, 9) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 9);
        const char *const *strs[] = {&si.ind.tlp, &si.ind.actor, &si.ind.campaign, &si.ind.malware,
                                     &si.ind.kill_chain, &si.ind.attack, &si.ind.description, &si.ind.action};
        static const int cols[] = {10, 13, 14, 15, 16, 17, 18, 19};
        for (int i = 0; i < 8; i++) {
            const char *v = col_str(st, cols[i]);
            *(const char **)strs[i] = *v ? v : NULL;
        }
        if (!*si.ind.id)
            si.ind.id = NULL;
        si.ind.revoked = sqlite3_column_int(st, 11) != 0;
        si.ind.warning = sqlite3_column_int(st, 12) != 0;
        si.added_ns = sqlite3_column_int64(st, 20);
        si.updated_ns = sqlite3_column_int64(st, 21);
        if (fn(ctx, &si) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        ret = fail(s, "indicators query");
    sqlite3_finalize(st);
    return ret;
}

int64_t mm_store_indicator_count(mm_store *s, bool active_only, int64_t now_ns) {
    sqlite3_stmt *st;
    int ret = prepare(s,
                      active_only ? "SELECT count(*) FROM indicators WHERE revoked = 0"
                                    " AND (valid_until IS NULL OR valid_until > ?1)"
                                  : "SELECT count(*) FROM indicators WHERE ?1 = ?1",
                      &st, false);
    if (ret)
        return ret;
    sqlite3_bind_int64(st, 1, now_ns);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : fail(s, "indicator count");
    sqlite3_finalize(st);
    return n;
}

int64_t mm_store_indicator_expire(mm_store *s, mm_ind_type type, const char *value, const char *feed,
                                  int64_t now_ns) {
    sqlite3_stmt *st;
    int ret = prepare(s,
                      "UPDATE indicators SET valid_until = ?1, updated_ns = ?1"
                      " WHERE value = ?2 AND (?3 IS NULL OR type = ?3) AND (?4 IS NULL OR feed = ?4)"
                      " AND (valid_until IS NULL OR valid_until > ?1)",
                      &st, false);
    if (ret)
        return ret;
    sqlite3_bind_int64(st, 1, now_ns);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    if (type != MM_IND_NONE) sqlite3_bind_text(st, 3, mm_intel_type_name(type), -1, SQLITE_STATIC);
    if (feed) sqlite3_bind_text(st, 4, feed, -1, SQLITE_STATIC);
    int64_t n = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(s->db) : fail(s, "expire indicator");
    sqlite3_finalize(st);
    return n;
}

int mm_store_indicator_stats(mm_store *s, int64_t now_ns,
                             int (*fn)(void *ctx, const char *feed, const char *type, int64_t active,
                                       int64_t inactive),
                             void *ctx) {
    sqlite3_stmt *st;
    int ret = prepare(s,
                      "SELECT feed, type,"
                      " sum(revoked = 0 AND (valid_until IS NULL OR valid_until > ?1)),"
                      " sum(NOT (revoked = 0 AND (valid_until IS NULL OR valid_until > ?1)))"
                      " FROM indicators GROUP BY feed, type ORDER BY feed, type",
                      &st, false);
    if (ret)
        return ret;
    sqlite3_bind_int64(st, 1, now_ns);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(ctx, col_str(st, 0), col_str(st, 1), sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3))) {
            rc = SQLITE_DONE;
            break;
        }
    if (rc != SQLITE_DONE)
        ret = fail(s, "indicator stats");
    sqlite3_finalize(st);
    return ret;
}

/* ---------------------------------------------------------------- feeds */

int mm_store_feed_put(mm_store *s, const mm_feed_state *f) {
    if (!s->feed_put) {
        int ret = prepare(s,
                          "INSERT INTO feeds (name, kind, url, last_attempt_ns, last_ok_ns, last_count, last_new,"
                          " etag, last_modified, cursor, last_error)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                          " ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url,"
                          " last_attempt_ns = excluded.last_attempt_ns, last_ok_ns = excluded.last_ok_ns,"
                          " last_count = excluded.last_count, last_new = excluded.last_new,"
                          " etag = excluded.etag, last_modified = excluded.last_modified,"
                          " cursor = excluded.cursor, last_error = excluded.last_error",
                          &s->feed_put, true);
        if (ret)
            return ret;
    }
    sqlite3_stmt *st = s->feed_put;
    int rc = bind_cstr(st, 1, f->name);
    rc |= bind_cstr(st, 2, f->kind);
    rc |= bind_cstr(st, 3, f->url);
    rc |= bind_t(st, 4, f->last_attempt_ns);
    rc |= bind_t(st, 5, f->last_ok_ns);
    rc |= sqlite3_bind_int64(st, 6, f->last_count);
    rc |= sqlite3_bind_int64(st, 7, f->last_new);
    rc |= bind_cstr(st, 8, f->etag && *f->etag ? f->etag : NULL);
    rc |= bind_cstr(st, 9, f->last_modified && *f->last_modified ? f->last_modified : NULL);
    rc |= bind_cstr(st, 10, f->cursor && *f->cursor ? f->cursor : NULL);
    rc |= bind_cstr(st, 11, f->last_error && *f->last_error ? f->last_error : NULL);
    if (rc != SQLITE_OK) {
        sqlite3_clear_bindings(st);
        return fail(s, "feed state: bind");
    }
    return run(s, st, "feed state");
}

int mm_store_feeds_each(mm_store *s, const char *name, int (*fn)(void *ctx, const mm_feed_state *f), void *ctx) {
    sqlite3_stmt *st;
    int ret = prepare(s,
                      "SELECT f.name, f.kind, f.url, f.last_attempt_ns, f.last_ok_ns, f.last_count, f.last_new,"
                      " f.etag, f.last_modified, f.cursor, f.last_error"
                      " FROM feeds f WHERE ?1 IS NULL OR f.name = ?1 ORDER BY f.name",
                      &st, false);
    if (ret)
        return ret;
    if (name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        mm_feed_state f = {
            .name = col_str(st, 0),
            .kind = col_str(st, 1),
            .url = col_str(st, 2),
            .last_attempt_ns = sqlite3_column_int64(st, 3),
            .last_ok_ns = sqlite3_column_int64(st, 4),
            .last_count = sqlite3_column_int64(st, 5),
            .last_new = sqlite3_column_int64(st, 6),
            .etag = col_str(st, 7),
            .last_modified = col_str(st, 8),
            .cursor = col_str(st, 9),
            .last_error = col_str(st, 10),
        };
        if (fn(ctx, &f)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        ret = fail(s, "feeds query");
    sqlite3_finalize(st);
    return ret;
}

/* ---------------------------------------------------------------- retro-hunt */

int mm_store_blocks_each(mm_store *s, int64_t since_ns, int (*fn)(void *ctx, const mm_stored_block *b),
                         void *ctx) {
    sqlite3_stmt *st;
    int ret = prepare(s,
                      "SELECT id, first_id, last_id, min_ts, max_ts, rows, ioc_terms FROM event_blocks"
                      " WHERE max_ts >= ?1 ORDER BY id",
                      &st, false);
    if (ret)
        return ret;
    sqlite3_bind_int64(st, 1, since_ns);
    uint64_t *terms = NULL;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        mm_stored_block b = {
            .id = sqlite3_column_int64(st, 0),
            .first_id = sqlite3_column_int64(st, 1),
            .last_id = sqlite3_column_int64(st, 2),
            .min_ts = sqlite3_column_int64(st, 3),
            .max_ts = sqlite3_column_int64(st, 4),
            .rows = sqlite3_column_int64(st, 5),
        };
        const uint8_t *blob = sqlite3_column_blob(st, 6);
        size_t len = (size_t)sqlite3_column_bytes(st, 6);
        if (blob && len >= sizeof TERMS_MAGIC && (len - sizeof TERMS_MAGIC) % 8 == 0 &&
            memcmp(blob, TERMS_MAGIC, sizeof TERMS_MAGIC) == 0) {
            size_t n = (len - sizeof TERMS_MAGIC) / 8;
            if (n > cap) {
                uint64_t *nt = realloc(terms, n * sizeof *nt);
                if (!nt) {
                    ret = MM_ENOMEM;
                    break;
                }
                terms = nt;
                cap = n;
            }
            const uint8_t *p = blob + sizeof TERMS_MAGIC;
            for (size_t i = 0; i < n; i++) {
                uint64_t v = 0;
                for (int k = 7; k >= 0; k--)
                    v = (v << 8) | p[i * 8 + (size_t)k];
                terms[i] = v;
            }
            b.terms = terms;
            b.nterms = n;
            b.has_terms = true;
        }
        if (fn(ctx, &b)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (ret == MM_OK && rc != SQLITE_DONE)
        ret = fail(s, "blocks query");
    free(terms);
    sqlite3_finalize(st);
    return ret;
}

int mm_store_events_range(mm_store *s, int64_t first_id, int64_t last_id,
                          int (*fn)(void *ctx, const mm_stored_event *e), void *ctx) {
    sqlite3_stmt *st;
    int ret = prepare(s,
                      "SELECT id, ts_ns, recv_ns, tenant, segment, input, format, kind, error, raw"
                      " FROM events WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
                      &st, false);
    if (ret)
        return ret;
    sqlite3_bind_int64(st, 1, first_id);
    sqlite3_bind_int64(st, 2, last_id);
    return event_rows(s, st, fn, ctx, "events range query");
}
