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

#endif
