/* core: the pieces every stage shares — strings and slices, the event and its field
 * table, batch arenas, bounded rings, configuration, logging, counters, time and
 * IP helpers, a small JSON writer.
 *
 * Ownership: unless a comment says otherwise, a returned pointer is owned by the
 * object it came from (an arena, a config tree, an event) and lives as long as it. */
#ifndef MM_CORE_H
#define MM_CORE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#define MM_VERSION "0.1.0"

/* Largest record (log line, syslog frame) kept whole; longer ones are cut and counted. */
#define MM_MAX_RECORD (64 * 1024)

/* ---------------------------------------------------------------- errors */

enum {
    MM_OK = 0,
    MM_EINVAL = -1,   /* bad input or argument */
    MM_ENOMEM = -2,
    MM_EIO = -3,      /* file, socket or store failure */
    MM_ENOENT = -4,
    MM_EFULL = -5,    /* ring full (non-blocking push) */
    MM_ECLOSED = -6,  /* ring closed */
};

/* Error text travels with the error to where it is handled (DESIGN.md §6). */
typedef struct mm_err {
    char msg[512];
} mm_err;
void mm_err_set(mm_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- strings */

/* A slice: not NUL-terminated unless stated. */
typedef struct mm_str {
    const char *p;
    uint32_t len;
} mm_str;

#define MM_STR(lit) ((mm_str){(lit), (uint32_t)(sizeof(lit) - 1)})
static inline mm_str mm_str_c(const char *s);
bool mm_str_eq(mm_str a, mm_str b);
bool mm_str_eqc(mm_str a, const char *c);          /* exact, against a C string */
bool mm_str_ieqc(mm_str a, const char *c);         /* ASCII case-insensitive */
bool mm_str_to_i64(mm_str s, int64_t *out);        /* whole slice must be a decimal integer */

/* Growable byte buffer (heap).  Used for JSON output and scratch text. */
typedef struct mm_buf {
    char *p;
    size_t len, cap;
} mm_buf;
/* Make room for need more bytes (and a NUL); aborts on out of memory. */
void mm_buf_reserve(mm_buf *b, size_t need);
/* Inline: events are written a few bytes at a time, millions of times a second. */
static inline void mm_buf_put(mm_buf *b, const void *p, size_t n) {
    if (b->len + n + 1 > b->cap) mm_buf_reserve(b, n);
    if (n) __builtin_memcpy(b->p + b->len, p, n);
    b->len += n;
}
void mm_buf_puts(mm_buf *b, const char *s);
static inline void mm_buf_putc(mm_buf *b, char c) {
    if (b->len + 2 > b->cap) mm_buf_reserve(b, 1);
    b->p[b->len++] = c;
}
void mm_buf_printf(mm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mm_buf_reset(mm_buf *b);
void mm_buf_free(mm_buf *b);
const char *mm_buf_cstr(mm_buf *b);                /* NUL-terminates in place */

/* JSON string literal with escapes; invalid UTF-8 bytes and controls become \u00XX
 * so the output is always valid JSON whatever came from the network. */
void mm_json_str(mm_buf *b, const char *p, size_t n);
/* Text for a terminal: controls, invalid UTF-8 and bidi overrides become '?'. */
void mm_buf_put_printable(mm_buf *b, const char *p, size_t n);

/* ---------------------------------------------------------------- time */

int64_t mm_now_ns(void);          /* CLOCK_REALTIME */
int64_t mm_mono_ns(void);         /* CLOCK_MONOTONIC */
/* RFC 3339 in UTC: 2024-08-28T08:33:52Z, with .fraction when ns != 0. */
void mm_time_fmt(mm_buf *b, int64_t ts_ns);
/* For people: local time at a fixed offset, seconds precision, "2026-11-20 10:05:33". */
void mm_time_fmt_local(mm_buf *b, int64_t ts_ns, int32_t off_sec);
/* Civil date/time to Unix seconds (UTC), no libc timezone state involved. */
int64_t mm_time_from_civil(int y, int mon, int d, int h, int mi, int s);
/* RFC 3339 / ISO 8601 (zone optional: UTC), or an epoch number in s, ms, us or ns
 * told by its magnitude -> ns.  Refuses what does not fit (years 1678..2261). */
bool mm_time_parse(mm_str s, int64_t *ns);
/* "+0200", "-05:00", "Z", "JST" -> offset seconds east of UTC. */
bool mm_tz_parse(mm_str s, int32_t *off_sec);
/* "30s", "5m", "1h", "7d", "2w" -> nanoseconds. */
bool mm_duration_parse(const char *s, int64_t *ns);

/* ---------------------------------------------------------------- ip */

typedef struct mm_ip {
    uint8_t af;       /* 4, 6, or 0 when unset */
    uint8_t b[16];    /* v4 uses b[0..3] */
} mm_ip;
bool mm_ip_parse(mm_str s, mm_ip *out);
void mm_ip_fmt(const mm_ip *ip, char out[48]);
bool mm_ip_eq(const mm_ip *a, const mm_ip *b);
/* "10.0.0.0/8", "2001:db8::/32", or a plain address (/32, /128). */
typedef struct mm_cidr {
    mm_ip net;
    uint8_t bits;
} mm_cidr;
bool mm_cidr_parse(mm_str s, mm_cidr *out);
bool mm_cidr_contains(const mm_cidr *c, const mm_ip *ip);
bool mm_ip_is_private(const mm_ip *ip);   /* RFC 1918, ULA, loopback, link-local */

/* ---------------------------------------------------------------- hashing */

uint64_t mm_hash(const void *p, size_t n, uint64_t seed);   /* FNV-1a 64, mixed */

/* ---------------------------------------------------------------- arena */

/* Bump allocator: everything an event batch needs lives in one arena and is freed
 * with it (no malloc per field).  Chunks grow; mm_arena_reset keeps the first. */
typedef struct mm_arena_chunk mm_arena_chunk;
typedef struct mm_arena {
    mm_arena_chunk *head;
    size_t chunk_size;
    size_t used_total;
} mm_arena;
void mm_arena_init(mm_arena *a, size_t chunk_size);
void *mm_arena_alloc(mm_arena *a, size_t n);            /* 16-byte aligned; aborts on OOM */
void *mm_arena_zalloc(mm_arena *a, size_t n);
char *mm_arena_strndup(mm_arena *a, const char *p, size_t n);   /* NUL-terminated copy */
mm_str mm_arena_str(mm_arena *a, const char *p, size_t n);      /* copy, as a slice */
void mm_arena_reset(mm_arena *a);
void mm_arena_free(mm_arena *a);

/* ---------------------------------------------------------------- fields */

typedef enum mm_ftype { MM_T_STR, MM_T_INT, MM_T_IP, MM_T_TIME } mm_ftype;

typedef enum mm_field {
#define X(id, name, type) MM_F_##id,
#include "fields.def"
#undef X
    MM_F__COUNT,
    MM_F_NONE = 0xffff
} mm_field;

const char *mm_field_name(mm_field f);
mm_ftype mm_field_type(mm_field f);
bool mm_field_is_list(mm_field f);   /* an ECS array field (printed as a JSON array) */
/* Name -> id, MM_F_NONE when the name is not a known field. */
mm_field mm_field_by_name(const char *name, size_t len);

/* ---------------------------------------------------------------- event */

typedef enum mm_kind {
    MM_KIND_EVENT = 0,
    MM_KIND_ALERT,
    MM_KIND_PIPELINE_ERROR,   /* a record that did not decode: kept raw, counted */
} mm_kind;
const char *mm_kind_name(mm_kind k);

/* One value of a known field.  `s` is always set (the text form, a slice into the
 * raw record or the arena); `i` holds INT/TIME (ns) values and `ip` IP values once
 * parsed.  A field may carry several values (event.category, related.ip): they are
 * chained through `next` (index into vals, 0 = end). */
typedef struct mm_value {
    uint16_t field;
    uint16_t next;
    bool parsed;      /* i/ip valid */
    mm_str s;
    int64_t i;
    mm_ip ip;
} mm_value;

/* A vendor field without an ECS name, printed as <prefix>.<key>. */
typedef struct mm_kv {
    mm_str key;
    mm_str val;
} mm_kv;

/* Where a record came from; owned by the input (lives as long as the pipeline). */
typedef struct mm_source {
    const char *input;     /* input name from the configuration */
    const char *tenant;
    const char *segment;
    const char *format;    /* decoder name */
} mm_source;

typedef struct mm_event {
    int64_t ts_ns;         /* @timestamp; receive time until a decoder sets it */
    int64_t recv_ns;
    mm_kind kind;
    const mm_source *src;
    mm_str tenant, segment;   /* usually src's, may be overridden per syslog sender */
    mm_str observer;       /* the device (syslog host or decoder's device name) */
    mm_str raw;            /* the whole record as received: evidence */
    mm_str error;          /* why decoding failed (kind == PIPELINE_ERROR) */
    const char *vendor_prefix;   /* e.g. "fortinet.firewall" */
    uint16_t idx[MM_F__COUNT];   /* 1-based index into vals of a field's first value */
    mm_value *vals;
    uint16_t nvals, capvals;
    mm_kv *vendor;
    uint16_t nvendor, capvendor;
    mm_arena *arena;       /* the batch arena all slices and arrays live in */
    int64_t store_id;      /* row id once stored, 0 before */
    /* Its retro-hunt terms (mm_ioc_event_terms), computed by the worker that
     * decoded it so the store's single writer does not have to; in the arena. */
    const uint64_t *ioc_terms;
    uint32_t n_ioc_terms;
    bool has_ioc_terms;
} mm_event;

void mm_event_init(mm_event *ev, mm_arena *a);
/* Set (replace) a field from text; INT/IP/TIME are parsed from the text.  Returns
 * false (and leaves the field unset) when a typed value does not parse. */
bool mm_event_set(mm_event *ev, mm_field f, mm_str s);
/* Append one more value to a (multi-valued) field. */
bool mm_event_add(mm_event *ev, mm_field f, mm_str s);
void mm_event_set_int(mm_event *ev, mm_field f, int64_t v);   /* text form rendered into the arena */
void mm_event_set_time(mm_event *ev, mm_field f, int64_t ns);
void mm_event_set_ip(mm_event *ev, mm_field f, const mm_ip *ip);
void mm_event_unset(mm_event *ev, mm_field f);
const mm_value *mm_event_get(const mm_event *ev, mm_field f);  /* first value or NULL */
const mm_value *mm_event_next(const mm_event *ev, const mm_value *v);
static inline bool mm_event_has(const mm_event *ev, mm_field f) { return ev->idx[f] != 0; }
void mm_event_vendor(mm_event *ev, mm_str key, mm_str val);
/* Value of a vendor key, or NULL. */
const mm_str *mm_event_vendor_get(const mm_event *ev, const char *key);
/* Look a field up by its printed name: ECS name or <vendor_prefix>.<key>.  Calls
 * fn for each value (text form); returns the number of values seen. */
int mm_event_lookup(const mm_event *ev, const char *name, size_t len,
                    void (*fn)(void *ctx, mm_str val, const mm_value *v), void *ctx);
/* Mark the event as a record that did not decode. */
void mm_event_fail(mm_event *ev, const char *why);
/* One JSON object, nested by the dotted names (ECS style), no trailing newline.
 * Includes tenant/segment/input (as mamori.*), event.kind and, if with_raw,
 * event.original. */
void mm_event_json(const mm_event *ev, mm_buf *out, bool with_raw);
/* Only the listed known fields, as JSON object members nested by name, without the
 * outer braces (so they can be merged into another object).  Nothing is written
 * when none of them is set.  Returns the number of fields written. */
int mm_event_json_fields(const mm_event *ev, mm_buf *out, const uint16_t *fields, size_t n);
/* The fields an alert carries as evidence (source/destination, user, url, dns,
 * file, action/outcome, observer...), for mm_event_json_fields. */
extern const uint16_t mm_key_fields[];
extern const size_t mm_key_fields_n;

/* ---------------------------------------------------------------- ring */

/* Bounded multi-producer multi-consumer queue of pointers.  Inputs that can wait
 * (TCP, files) use push (blocks while full: backpressure); UDP and capture use
 * try_push and count what they drop. */
typedef struct mm_ring {
    void **slots;
    uint32_t cap, head, count;
    bool closed;
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
} mm_ring;
int mm_ring_init(mm_ring *r, uint32_t cap);
void mm_ring_destroy(mm_ring *r);
int mm_ring_push(mm_ring *r, void *p);          /* MM_OK or MM_ECLOSED */
int mm_ring_try_push(mm_ring *r, void *p);      /* MM_OK, MM_EFULL, MM_ECLOSED */
/* Waits up to timeout_ms (-1: forever).  MM_OK with *p set, MM_ENOENT on timeout,
 * MM_ECLOSED once closed and drained. */
int mm_ring_pop(mm_ring *r, void **p, int timeout_ms);
void mm_ring_close(mm_ring *r);
uint32_t mm_ring_count(mm_ring *r);

/* ---------------------------------------------------------------- counters */

typedef enum mm_counter {
#define C(id, name, help) MM_C_##id,
#include "counters.def"
#undef C
    MM_C__COUNT
} mm_counter;
extern _Atomic uint64_t mm_counters[MM_C__COUNT];
static inline void mm_count(mm_counter c, uint64_t n) {
    atomic_fetch_add_explicit(&mm_counters[c], n, memory_order_relaxed);
}
static inline uint64_t mm_counter_get(mm_counter c) {
    return atomic_load_explicit(&mm_counters[c], memory_order_relaxed);
}
const char *mm_counter_name(mm_counter c);
const char *mm_counter_help(mm_counter c);
void mm_counters_reset(void);

/* ---------------------------------------------------------------- log */

typedef enum mm_loglevel { MM_LOG_DEBUG, MM_LOG_INFO, MM_LOG_WARN, MM_LOG_ERROR } mm_loglevel;
void mm_log_set_level(mm_loglevel l);
bool mm_log_level_parse(const char *s, mm_loglevel *out);
/* Rate-limited per call site: at most 10 lines per second each; the rest are
 * counted (log_suppressed) and summarised.  Never pass secrets. */
#define mm_log(level, ...)                                                             \
    do {                                                                               \
        static _Atomic int64_t mm__log_window_;                                        \
        static _Atomic int mm__log_n_;                                                 \
        mm_log_at(level, &mm__log_window_, &mm__log_n_, __VA_ARGS__);                  \
    } while (0)
#define mm_debug(...) mm_log(MM_LOG_DEBUG, __VA_ARGS__)
#define mm_info(...) mm_log(MM_LOG_INFO, __VA_ARGS__)
#define mm_warn(...) mm_log(MM_LOG_WARN, __VA_ARGS__)
#define mm_error(...) mm_log(MM_LOG_ERROR, __VA_ARGS__)
void mm_log_at(mm_loglevel level, _Atomic int64_t *window, _Atomic int *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---------------------------------------------------------------- config */

/* The YAML file as a tree with line numbers, so errors can name the line. */
typedef enum mm_cnode_type { MM_CN_SCALAR, MM_CN_MAP, MM_CN_SEQ } mm_cnode_type;
typedef struct mm_cnode {
    mm_cnode_type type;
    int line;
    char *key;                 /* key in the parent map, else NULL */
    char *value;               /* scalars */
    struct mm_cnode *child;    /* first child (map entries / seq items) */
    struct mm_cnode *next;     /* next sibling */
} mm_cnode;

/* Parse YAML text.  Returns the root (caller frees with mm_cnode_free) or NULL with
 * err set ("line N: ..."). */
mm_cnode *mm_cnode_parse(const char *text, size_t len, const char *name, mm_err *err);
mm_cnode *mm_cnode_parse_file(const char *path, mm_err *err);

/* A whole file ("-": standard input), NUL-terminated, malloc'd (the caller
 * frees); larger than max bytes is an error.  NULL with err naming the file. */
char *mm_read_file(const char *path, size_t max, size_t *len, mm_err *err);
/* A secret (password, API key) from its file: the first cap-1 bytes, trailing
 * newlines dropped.  The error names the file, never the content. */
bool mm_read_secret(const char *path, char *out, size_t cap, mm_err *err);
void mm_cnode_free(mm_cnode *n);
const mm_cnode *mm_cnode_get(const mm_cnode *map, const char *key);

typedef enum mm_input_type { MM_IN_FILE, MM_IN_SYSLOG, MM_IN_PCAP } mm_input_type;

/* Per-sender tags for a syslog listener: the first matching CIDR wins. */
typedef struct mm_source_rule {
    mm_cidr match;
    mm_source src;           /* tenant/segment overrides; input/format from the input */
} mm_source_rule;

/* The packet sensor's settings (section `sensor`). */
typedef struct mm_sensor_conf {
    mm_cidr *home_net; int nhome_net;   /* internal ranges; none: private ranges */
    char *quarantine_dir;    /* extracted files, NULL: not stored */
    int quarantine_max_mb;
    int file_max_mb;         /* bytes of one file hashed/stored */
    int max_flows;
    int stream_mb;           /* out-of-order TCP data held, all flows */
    bool flow_events;
    int64_t learn_ns;        /* novelty learning period */
} mm_sensor_conf;

typedef struct mm_input_conf {
    char *name;
    mm_input_type type;
    char *format;            /* decoder name, default "fortigate" */
    char *tenant, *segment;
    /* file */
    char **paths; int npaths;
    bool follow;             /* tail -F; false: read once */
    int poll_ms;
    int forget_ms;           /* not a key (tests): forget a vanished file after this; 0: 10 min */
    /* syslog */
    char *protocol;          /* "udp" or "tcp" */
    char *listen;            /* "addr:port" */
    int rcvbuf;              /* UDP SO_RCVBUF bytes */
    int max_connections;     /* TCP */
    int idle_timeout;        /* TCP: seconds without data before a connection is closed; 0: never */
    mm_cidr *allow; int nallow;   /* senders accepted (TCP and UDP); none listed: everyone */
    mm_source_rule *sources; int nsources;
    /* pcap */
    char *interface;         /* capture device */
    char *filter;            /* BPF expression, NULL: everything */
    int snaplen;             /* bytes captured per packet */
    bool promisc;
    int buffer_mb;           /* kernel capture buffer (per thread) */
    int threads;             /* capture threads sharing the interface (PACKET_FANOUT) */
    const mm_sensor_conf *sensor;   /* the configuration's sensor section */
    int line;                /* where it was declared */
} mm_input_conf;


typedef struct mm_config {
    char *path;              /* file it came from, NULL for built-in defaults */
    char *tenant;            /* default tenant */
    char *segment;
    char *user;              /* run: drop root privileges to this user, NULL: keep */
    int32_t tz_offset;       /* for logs that carry no zone (seconds east of UTC) */
    int workers;
    char *store_path;
    int retention_days;
    int batch_rows;
    int batch_ms;
    char *rules_dir;         /* the project's rules (rules/) */
    char **rule_dirs; int nrule_dirs;   /* more rule folders (rules.dirs, e.g. SigmaHQ's) */
    char *mappings_dir;      /* Sigma log source mappings, NULL: <rules.dir>/mappings */
    const mm_cnode *placeholders;       /* rules.placeholders (Sigma expand), into tree */
    char **indicator_files; int nindicator_files;
    int intel_retro_days;    /* intel.retro_hunt_days: window of the automatic retro-hunt */
    mm_loglevel log_level;
    mm_input_conf *inputs; int ninputs;
    mm_sensor_conf sensor;
    mm_cnode *tree;          /* kept for later stages' sections */
} mm_config;

/* Built-in defaults: store ./mamori.db, rules from the installed rules directory. */
void mm_config_defaults(mm_config *c);
/* Load and validate a file over the defaults.  Unknown keys, wrong types and bad
 * values are errors naming the line. */
int mm_config_load(mm_config *c, const char *path, mm_err *err);
/* The same from text in memory (`name` labels errors). */
int mm_config_load_text(mm_config *c, const char *text, size_t len, const char *name, mm_err *err);
void mm_config_free(mm_config *c);
/* Every documented key with its help text, for `mamori config keys`. */
void mm_config_print_keys(void);

/* Directory holding the project's rules/ and demo/ (compiled-in, overridable by
 * MAMORI_HOME). */
const char *mm_home(void);

/* ---------------------------------------------------------------- query */

/* The search language of `mamori search` (and later the API):
 *   source.ip=10.0.0.5 and event.action=deny
 *   destination.ip=203.0.113.0/24 or not (user.name="j doe" or url.domain=*.example)
 *   source.bytes>=1000000   message~"login failed"   "free text in the raw record"
 * Operators = != > >= < <= ~ (contains); `and` is implied between terms; values
 * may be quoted; * and ? are wildcards for = and !=; string comparison ignores
 * case; IP fields accept CIDR blocks; tenant, segment and event.kind are fields. */
typedef struct mm_query mm_query;
mm_query *mm_query_parse(const char *text, mm_err *err);
void mm_query_free(mm_query *q);
bool mm_query_match(const mm_query *q, const mm_event *ev);
/* Equality terms on `field` that every match must satisfy (top-level `and`), for
 * store prefilters.  Returns the value (canonical text) or NULL. */
const char *mm_query_required(const mm_query *q, const char *field);

/* Glob with * and ?, ASCII case-insensitive. */
bool mm_glob_match(const char *pat, size_t plen, const char *s, size_t slen);

/* ---------------------------------------------------------------- misc */

static inline mm_str mm_str_c(const char *s) {
    mm_str r = {s, 0};
    if (s)
        while (s[r.len]) r.len++;
    return r;
}

#define MM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that does not fail: out of memory aborts, rather than leave a half
 * built rule set or configuration behind.  Zero sizes allocate one byte;
 * mm_xstrdup(NULL) is NULL. */
void *mm_xmalloc(size_t n);
void *mm_xcalloc(size_t n, size_t sz);
void *mm_xrealloc(void *p, size_t n);
char *mm_xstrdup(const char *s);

#endif
