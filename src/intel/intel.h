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

#endif
