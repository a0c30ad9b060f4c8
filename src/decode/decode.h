/* decode: one vendor format -> event.  Each format is one file registering an
 * mm_decoder in the table in decode.c (adding a format = one file + one row).
 *
 * mm_decode() is the single entry point: it strips and parses a syslog header
 * (RFC 3164 / RFC 5424, or a bare "<PRI>" as FortiGate sends) when the record has
 * one, fills log.syslog.* and the observer, then hands the message to the format's
 * decoder.  A record that does not decode becomes a pipeline_error event (raw kept,
 * error text set, decode_errors counted): nothing is lost, nothing crashes. */
#ifndef MM_DECODE_H
#define MM_DECODE_H

#include "../core/core.h"

typedef struct mm_decode_opts {
    int32_t tz_offset;       /* seconds east of UTC for timestamps that carry no zone */
    bool peek;               /* a look ahead (replay's ordering): not counted */
} mm_decode_opts;

typedef struct mm_decoder {
    const char *name;            /* "fortigate" */
    const char *vendor_prefix;   /* "fortinet.firewall": where vendor keys are kept */
    /* Decode msg (the record without its syslog header) into ev.  ev is initialised,
     * raw/src/recv time set, log.syslog.* set when there was a header.  Return 0, or
     * a negative code after mm_event_fail(ev, why). */
    int (*decode)(mm_event *ev, mm_str msg, const mm_decode_opts *o);
    /* Cheap pre-scan for the entity key that routes a record to a worker (the
     * internal host or user), without decoding.  Empty slice when none. */
    mm_str (*entity)(mm_str rec);
} mm_decoder;

const mm_decoder *mm_decoder_find(const char *name);
/* Names of all decoders, NULL-terminated. */
const char *const *mm_decoder_names(void);

/* Decode rec into ev (ev must be mm_event_init'ed; raw/src/recv_ns set here).
 * Always leaves a usable event: kind EVENT or PIPELINE_ERROR.  Returns 0 or <0. */
int mm_decode(const mm_decoder *d, mm_event *ev, mm_str rec, const mm_decode_opts *o);

/* ---- syslog header (used by mm_decode and by the syslog input for routing) ---- */

typedef struct mm_syslog_hdr {
    int pri;                 /* -1 when absent */
    int version;             /* 1 for RFC 5424, 0 otherwise */
    int64_t ts_ns;           /* 0 when absent or unparsable */
    mm_str host, app, procid, msgid;
    mm_str msg;              /* what follows the header (structured data skipped) */
} mm_syslog_hdr;

/* Parse rec.  Returns 0 with hdr filled (msg = rec when there is no header at all),
 * or MM_EINVAL when a header is present but malformed (hdr->msg then holds the best
 * guess of the message).  tz_offset applies to RFC 3164 timestamps, which have no
 * zone; `now_ns` supplies their missing year. */
int mm_syslog_hdr_parse(mm_str rec, mm_syslog_hdr *hdr, int32_t tz_offset, int64_t now_ns);

/* ---- a decoder's vocabulary: its known key names, looked up by bytes ----
 *
 * An open-addressing table built once from a name list; FNV-1a hashes that a
 * scanner can compute while it walks the key (step/end), so a lookup costs one
 * probe and one short compare.  slots: a power of two, more than twice the names. */
typedef struct mm_nameslot {
    const char *name;
    uint16_t len;
    uint16_t id;     /* index + 1, 0 = empty */
} mm_nameslot;

#define MM_NAME_SEED 2166136261u
static inline uint32_t mm_name_step(uint32_t h, uint8_t c) { return (h ^ c) * 16777619u; }
static inline uint32_t mm_name_end(uint32_t h) { return h ^ (h >> 15); }
static inline uint32_t mm_name_hash(const char *p, uint32_t n) {
    uint32_t h = MM_NAME_SEED;
    for (uint32_t i = 0; i < n; i++) h = mm_name_step(h, (uint8_t)p[i]);
    return mm_name_end(h);
}

void mm_names_build(mm_nameslot *slots, uint32_t nslots, const char *const *names, int n);

/* The index of the name p[0..n) whose hash is h, or -1. */
static inline int mm_names_find(const mm_nameslot *slots, uint32_t nslots, const char *p, uint32_t n, uint32_t h) {
    for (uint32_t i = h & (nslots - 1);; i = (i + 1) & (nslots - 1)) {
        const mm_nameslot *s = &slots[i];
        if (!s->id) return -1;
        if (s->len == n) {
            uint32_t k = 0;
            while (k < n && s->name[k] == p[k]) k++;
            if (k == n) return s->id - 1;
        }
    }
}

#endif
