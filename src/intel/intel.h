/* intel: threat intelligence — indicators with their context (the 5W1H: who
 * attacks, when, why, what, how, and what to do), read from the formats the CTI
 * world uses (STIX 2.1 bundles, MISP events and feeds, CSV and plain lists).
 *
 * Feed readers turn a document into indicator records and hand each one to a
 * callback; they know nothing about where the records go (the indicator store,
 * the detection engine's lists, a test).  Every record a reader refuses is
 * counted with a reason (mm_intel_stats), never dropped silently.
 *
 * Ownership: the strings of a record handed to the callback live until the
 * callback returns; copy what you keep. */
#ifndef MM_INTEL_H
#define MM_INTEL_H

#include "../core/core.h"

/* Indicator types.  Names (mm_intel_type_name) are the ones `mamori intel add TYPE`
 * takes and that alerts print. */
typedef enum mm_ind_type {
    MM_IND_NONE = 0,
    MM_IND_IP,          /* an IPv4/IPv6 address or CIDR block */
    MM_IND_DOMAIN,      /* matches itself and its subdomains */
    MM_IND_URL,
    MM_IND_MD5,
    MM_IND_SHA1,
    MM_IND_SHA256,
    MM_IND_JA3,         /* TLS client fingerprint (md5 hex) */
    MM_IND_EMAIL,       /* an e-mail address */
    MM_IND_FILENAME,
    MM_IND_USER_AGENT,
    MM_IND__COUNT
} mm_ind_type;

const char *mm_intel_type_name(mm_ind_type t);
mm_ind_type mm_intel_type_parse(const char *name);   /* MM_IND_NONE when unknown */

/* Can this text ever match as an indicator of type t?  NULL when it can, else a
 * static reason ("hash of the wrong length", "space in a domain name"...).  The
 * readers refuse (and count) what fails; the store normalises what passes. */
const char *mm_intel_value_check(mm_ind_type t, const char *v, size_t n);

/* One indicator and its context.  Times are ns since the epoch, 0 when unknown. */
typedef struct mm_indicator {
    mm_ind_type type;
    const char *value;           /* as the source wrote it (normalised by the store) */
    const char *feed;            /* source feed name */
    const char *id;              /* the source's id (STIX id, MISP attribute uuid), may be NULL */
    int64_t first_seen, last_seen;
    int64_t valid_from, valid_until;
    int confidence;              /* 0..100, -1 when the source does not say */
    const char *tlp;             /* "clear", "green", "amber", "amber+strict", "red", or NULL */
    bool revoked;
    /* the 5W1H */
    const char *actor;           /* who: threat actor / intrusion set */
    const char *campaign;        /* why/when: the campaign */
    const char *malware;         /* what: malware family / tool */
    const char *kill_chain;      /* how: kill-chain phase(s), "phase,phase" */
    const char *attack;          /* how: ATT&CK technique ids or names, "T1071,T1105" */
    const char *description;
    const char *action;          /* what to do: course of action / recommended action */
    bool warning;                /* a warning-list entry (known benign): suppresses matches */
} mm_indicator;

/* Return 0 to go on, non-zero to stop reading. */
typedef int (*mm_indicator_fn)(void *ctx, const mm_indicator *ind);

typedef struct mm_intel_stats {
    uint64_t objects;            /* indicators (STIX) / attributes (MISP) seen */
    uint64_t imported;           /* records handed to the callback */
    uint64_t skipped;            /* refused, by reason below */
    uint64_t not_for_detection;  /* MISP to_ids false: kept out on purpose (not an error) */
    uint64_t unsupported_pattern, bad_value, unsupported_type, malformed;
    uint64_t expired;            /* MISP: deleted attributes (withdrawn by their source) */
    char last_reason[256];       /* the latest refusal, for messages */
} mm_intel_stats;

/* ---- STIX 2.1 (stix.c) ---- */

/* A STIX bundle (or a single object, or a TAXII envelope's "objects") as JSON.
 * Each indicator's pattern is parsed (the subset used in practice: comparisons
 * with =, IN, ISSUBSET for CIDR, MATCHES for regex, OR/AND inside an observation,
 * observations joined by OR); every comparison on a supported object path
 * becomes one record.  threat-actor / intrusion-set / campaign / malware / tool /
 * attack-pattern / course-of-action objects linked by relationships (indicates,
 * attributed-to, uses, mitigates...) fill the 5W1H; marking definitions give the
 * TLP.  `feed` names the source in the records.  Returns 0, or <0 with err set
 * when the document is not JSON / not STIX at all. */
int mm_stix_read(const char *json, size_t len, const char *feed, mm_indicator_fn fn, void *ctx,
                 mm_intel_stats *st, mm_err *err);

/* The pattern parser alone: calls fn(ctx, type, value) for each comparison that
 * yields an indicator.  Returns the number yielded, or <0 when the pattern is
 * outside the subset.  *why is set on refusal and also when a part of an OR was
 * dropped (the rest yielded); it points at a static text or at a per-thread buffer
 * valid until this thread's next call. */
int mm_stix_pattern(const char *pattern, size_t len,
                    void (*fn)(void *ctx, mm_ind_type type, const char *value, size_t n), void *ctx,
                    const char **why);

/* ---- MISP (misp.c) ---- */

/* A MISP composite value ("domain|ip", "filename|sha256"): the '|' that splits
 * v[0..n) — the first one, or the last (a file name may hold '|', a hash never
 * does) — or NULL when there is none. */
const char *mm_intel_composite_bar(const char *v, size_t n, bool first);

/* A MISP event (JSON export {"Event": {...}}, or a list of them, or a feed's
 * event file).  Attributes (and object attributes) with to_ids true become
 * records; composite types ("domain|ip", "filename|sha256"...) give one record
 * per part; tags give TLP ("tlp:amber"), actor ("misp-galaxy:threat-actor=..."),
 * malware ("misp-galaxy:malpedia=...", "misp-galaxy:tool=..."), ATT&CK
 * ("misp-galaxy:mitre-attack-pattern=... - T1071") and kill chain.  Returns 0, or
 * <0 with err set when the document is not a MISP event. */
int mm_misp_read(const char *json, size_t len, const char *feed, mm_indicator_fn fn, void *ctx,
                 mm_intel_stats *st, mm_err *err);
/* A MISP feed's manifest.json: calls fn(ctx, uuid) for each event listed (the
 * caller fetches <feed>/<uuid>.json).  Returns the count or <0. */
int mm_misp_manifest(const char *json, size_t len, void (*fn)(void *ctx, const char *uuid, int64_t ts),
                     void *ctx, mm_err *err);

/* ---- CSV, MISP freetext and plain lists (list.c) ---- */

/* How a list is laid out.  Columns are 1-based; 0 means "not given": the reader
 * then takes a header row's names (indicator/value/ioc, type, description,
 * actor, malware, confidence, first_seen...) or, without a header, column 1 as
 * the indicator. */
typedef struct mm_list_opts {
    int value_col, type_col, desc_col, actor_col, malware_col, confidence_col, first_seen_col;
    char delimiter;          /* ',' when 0; '\t', ';', '|' for other CSVs */
    int header;              /* -1 auto (default), 0 none, 1 the first data row is a header */
    mm_ind_type type;        /* every row is this type (MM_IND_NONE: from the text) */
    bool freetext;           /* MISP freetext: every token that is an indicator, anywhere */
    int confidence;          /* default confidence of the list's records, -1 none */
} mm_list_opts;

/* Records from a list (plain: one indicator per line, '#' comments; CSV with the
 * columns of o; freetext).  Defanged forms (hxxp, [.]) are refanged.  o may be
 * NULL (auto).  Returns 0, or <0 with err set when the text is not a list at all
 * (binary). */
int mm_list_read(const char *text, size_t len, const char *feed, const mm_list_opts *o,
                 mm_indicator_fn fn, void *ctx, mm_intel_stats *st, mm_err *err);

/* A URL fit for logs and the feeds table: user:password@ removed and every query
 * value replaced by "*" (API keys travel there).  Returns out. */
char *mm_intel_redact_url(const char *url, char *out, size_t cap);

/* The type a bare value is (address/CIDR, md5/sha1/sha256 by length, URL,
 * e-mail address, domain), MM_IND_NONE when none.  Refangs first. */
mm_ind_type mm_intel_guess_type(const char *v, size_t n);

/* Undo common defanging (hxxp -> http, [.] (.) {.} -> ., [:] -> :, [at] [@] -> @)
 * into out (cap bytes).  Returns the length written. */
size_t mm_intel_refang(const char *v, size_t n, char *out, size_t cap);

/* ---- HTTP(S) fetch with conditional requests and retries (fetch.c, libcurl) ---- */

typedef struct mm_fetch_opts {
    const char *user, *password;        /* basic auth; NULL = none (never logged) */
    const char *api_key_header;         /* e.g. "Authorization: <key>" for MISP; never logged */
    const char *accept;                 /* Accept header, NULL = any */
    const char *etag, *last_modified;   /* from the previous fetch: If-None-Match / If-Modified-Since */
    long timeout_s;                     /* whole request, 0 = 60 */
    long connect_timeout_s;             /* 0 = 10 */
    int retries;                        /* further attempts after a failure, -1 = 3 (0 = none) */
    int backoff_ms;                     /* first delay, doubled each retry; 0 = 1000 */
    size_t max_bytes;                   /* larger bodies fail; 0 = 256 MiB */
    const char *ca_file;                /* extra CA bundle, NULL = system */
    bool insecure;                      /* skip TLS verification (lab feeds only) */
} mm_fetch_opts;

typedef struct mm_fetch_result {
    long status;                        /* HTTP status of the last attempt; 304 = not modified */
    char *body;                         /* malloc'd, NUL-terminated (len excludes it); NULL on 304 */
    size_t len;
    char etag[256], last_modified[80];  /* validators of the response ("" when none) */
    char content_type[128];
    char taxii_added_first[48], taxii_added_last[48];   /* X-TAXII-Date-Added-First/Last */
    int attempts;
} mm_fetch_result;

/* GET url.  Retries (with backoff) on connection errors, timeouts, 429 and 5xx;
 * 4xx other than 429 fail at once.  Returns 0 with r->status 2xx or 304, else <0
 * with err naming the URL (credentials stripped) and the last cause.  On an HTTP
 * error r->body keeps the server's answer (TAXII and MISP explain themselves
 * there).  r must be zeroed or freed before reuse; free with mm_fetch_result_free. */
int mm_fetch(const char *url, const mm_fetch_opts *o, mm_fetch_result *r, mm_err *err);
void mm_fetch_result_free(mm_fetch_result *r);

/* ---- TAXII 2.1 client (taxii.c) ---- */

typedef struct mm_taxii_opts {
    const char *url;            /* a discovery URL (…/taxii2/), an API root, or a collection URL */
    const char *collection;     /* collection id or title; NULL = every collection that can_read */
    const char *added_after;    /* the cursor from the previous pull (RFC 3339), NULL = all */
    int page_limit;             /* limit= per request, 0 = 1000 */
    int max_pages;              /* stop after this many pages per collection, 0 = 10000 */
    mm_fetch_opts http;         /* auth, timeouts, retries */
} mm_taxii_opts;

typedef struct mm_taxii_result {
    char added_last[48];        /* newest X-TAXII-Date-Added-Last seen: the next added_after */
    int collections, pages;
    uint64_t objects;           /* STIX objects received */
} mm_taxii_result;

/* Discovery -> API root(s) -> collections -> objects (with added_after, limit and
 * `next` paging, Accept: application/taxii+json;version=2.1), each page read with
 * mm_stix_read into fn.  A failure after some pages returns <0 with err set; the
 * records already handed to fn stay handed (the caller decides whether to keep
 * them) and res->added_last is the cursor of the last complete page. */
int mm_taxii_pull(const mm_taxii_opts *o, const char *feed, mm_indicator_fn fn, void *ctx,
                  mm_intel_stats *st, mm_taxii_result *res, mm_err *err);

/* ---- MISP feeds over HTTP (misp_feed.c) ---- */

/* A MISP feed directory (…/manifest.json + <uuid>.json per event): events whose
 * manifest timestamp is newer than since_ts (seconds; 0 = all) are fetched and
 * read with mm_misp_read.  *newest is set to the newest timestamp read (the next
 * since_ts).  An event that fails to fetch is counted (st->malformed) and named
 * in st->last_reason; the others are still read. */
int mm_misp_feed_pull(const char *url, const mm_fetch_opts *http, int64_t since_ts, const char *feed,
                      mm_indicator_fn fn, void *ctx, mm_intel_stats *st, int64_t *newest, mm_err *err);

/* ---- the indicator store: import, load, retro-hunt (import.c, hunt.c) ----
 * These connect the readers above to the store (src/store) and the detection
 * engine's index (mm_ioc_set, src/detect). */
struct mm_store;
struct mm_ioc_set;
struct mm_config;
struct mm_indicator_filter;
struct mm_alert;

/* What an import sets on every record (the CLI's --actor, --confidence...). */
typedef struct mm_import_opts {
    const char *format;          /* "stix", "misp", "csv", "list", "freetext"; NULL/"auto": sniffed */
    const char *feed;            /* source name (default: the file's base name) */
    const mm_list_opts *list;    /* CSV/list layout, NULL = auto */
    const char *actor, *campaign, *malware, *description, *action, *tlp;   /* override when set */
    int confidence;              /* override when >= 0 */
    int64_t ttl_ns;              /* valid_until = now + ttl when > 0 */
    bool warning;                /* the records are a warning list */
} mm_import_opts;

typedef struct mm_import_stats {
    mm_intel_stats rd;           /* what the reader made of the document */
    uint64_t stored;             /* records written (new or updated) */
    uint64_t added;              /* of which new */
    uint64_t bad_value;          /* refused by the normaliser */
    char last_reason[256];
} mm_import_stats;

/* Read a document (STIX, MISP, CSV, list, freetext) and write its records to the
 * store, normalised, in one transaction.  Returns 0, or <0 with err set (nothing
 * written). */
int mm_intel_import(struct mm_store *st, const char *text, size_t len, const mm_import_opts *o,
                    mm_import_stats *out, mm_err *err);
/* Write one record (normalised first).  Returns 1 new, 0 updated, <0 refused
 * (*why set) or store error. */
int mm_intel_put(struct mm_store *st, const mm_indicator *ind, int64_t now_ns, const char **why);

/* Active indicators of the store (and warning lists) into set.  Returns the
 * number added or <0. */
int64_t mm_intel_load(struct mm_store *st, struct mm_ioc_set *set, const struct mm_indicator_filter *f,
                      mm_err *err);

/* The format of a document by its first bytes: "stix", "misp", "csv" or "list". */
const char *mm_intel_sniff(const char *text, size_t len);

typedef struct mm_hunt_stats {
    uint64_t indicators;         /* hunted */
    uint64_t unprobeable;        /* wide CIDRs: every block read */
    uint64_t blocks, blocks_read;
    uint64_t events_read, sightings;
    int64_t elapsed_ns;
} mm_hunt_stats;

/* A sighting: an alert of the indicator rules on a stored event (alert->ev is the
 * decoded event, alert->threat says "retrospective": true). */
typedef int (*mm_sighting_fn)(void *ctx, const struct mm_alert *a);

/* Retro-hunt: the indicators of the store selected by f (plus `extra`, values not
 * in the store) against the events stored since since_ns (event time) and
 * received before until_ns (0 = no bound: the daemon passes the time its engine
 * took the new indicators in, so what that engine saw live is not sighted twice).  Block sketches rule
 * out the blocks that cannot hold any of them; the others are decoded and run
 * through the configuration's indicator rules.  With store_alerts, each
 * sighting is also stored as an alert (dated at the event).  Returns 0 or <0. */
int mm_intel_hunt(struct mm_store *st, const struct mm_config *c, const struct mm_indicator_filter *f,
                  const mm_indicator *extra, int nextra, int64_t since_ns, int64_t until_ns, bool store_alerts,
                  mm_sighting_fn fn, void *ctx, mm_hunt_stats *hs, mm_err *err);

/* ---- configured feeds and their refresh (feeds.c) ---- */
typedef struct mm_feed_conf {
    char *name, *type, *url, *path, *collection;
    char *user, *password_file, *api_key_file;   /* secrets are read at refresh time, never logged */
    char *actor, *campaign, *malware, *tlp;
    int64_t interval_ns, ttl_ns;
    long timeout_s;
    bool warning;
    int confidence;              /* -1 unset */
    mm_list_opts list;
    int line;
} mm_feed_conf;

/* intel.feeds of the configuration.  Returns 0 (*out may be NULL when none), or
 * <0 with err naming the line. */
int mm_intel_feeds(const struct mm_config *c, mm_feed_conf **out, int *n, mm_err *err);
void mm_intel_feeds_free(mm_feed_conf *f, int n);

typedef struct mm_refresh_result {
    bool due;                    /* false: not due yet (nothing done) */
    bool not_modified;           /* the server said 304 */
    mm_import_stats st;
    int64_t started_ns;          /* indicators added since then are the new ones */
} mm_refresh_result;

/* Refresh one feed if it is due (or force): fetch with the stored validators
 * (ETag / Last-Modified, TAXII added_after cursor, MISP manifest timestamp),
 * import, and record the attempt in the feed's state.  A failure keeps every
 * indicator already stored (they go on matching) and is retried after
 * min(interval, 10 min).  Returns 0, or <0 with err set. */
int mm_intel_refresh(struct mm_store *st, const mm_feed_conf *f, bool force, mm_refresh_result *r, mm_err *err);

#endif
