/* decode: the decoder table and the single entry point every record goes through.
 *
 * mm_decode() owns the parts common to all formats — the syslog header, the
 * log.syslog.* fields, the observer, the counters and the pipeline_error contract —
 * so a format decoder only ever sees the message and only has to say yes or no. */
#include "decode.h"

#include <string.h>

/* One row per format (adding a format = one file + one row here). */
extern const mm_decoder mm_decoder_fortigate;
extern const mm_decoder mm_decoder_winlog;
extern const mm_decoder mm_decoder_evtx;
extern const mm_decoder mm_decoder_ecs;

static const mm_decoder *const decoders[] = {
    &mm_decoder_fortigate,
    &mm_decoder_winlog,
    &mm_decoder_evtx,
    &mm_decoder_ecs,
};

static const char *const decoder_names[] = {
    "fortigate",
    "winlog",
    "evtx",
    "ecs",
    NULL,
};

const mm_decoder *mm_decoder_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < MM_ARRAY_LEN(decoders); i++)
        if (strcmp(decoders[i]->name, name) == 0) return decoders[i];
    return NULL;
}

const char *const *mm_decoder_names(void) { return decoder_names; }

static bool blank(mm_str s) {
    for (uint32_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\0' && c != '\v' && c != '\f')
            return false;
    }
    return true;
}

/* mm_event_set_int goes through snprintf; this is on every record's path. */
static void set_small(mm_event *ev, mm_field f, int v) {
    static const char digits[] = "0123456789";
    char tmp[4];
    int n = 0;
    if (v >= 100) tmp[n++] = digits[v / 100];
    if (v >= 10) tmp[n++] = digits[v / 10 % 10];
    tmp[n++] = digits[v % 10];
    mm_event_set(ev, f, mm_arena_str(ev->arena, tmp, (size_t)n));
}

/* Fail once: the format decoder may already have called mm_event_fail. */
static int fail(mm_event *ev, const char *why) {
    if (ev->kind != MM_KIND_PIPELINE_ERROR) mm_event_fail(ev, why);
    return MM_EINVAL;
}

int mm_decode(const mm_decoder *d, mm_event *ev, mm_str rec, const mm_decode_opts *o) {
    static const mm_decode_opts defaults = {0};
    if (!o) o = &defaults;
    if (!rec.p) rec.len = 0;
    ev->raw = rec;
    if (!ev->recv_ns) ev->recv_ns = mm_now_ns();
    if (!ev->ts_ns) ev->ts_ns = ev->recv_ns;

    int rc;
    if (!d) {
        ev->vendor_prefix = NULL;
        rc = fail(ev, "no decoder for this input");
    } else if (blank(rec)) {
        ev->vendor_prefix = d->vendor_prefix;
        rc = fail(ev, "empty record");
    } else {
        ev->vendor_prefix = d->vendor_prefix;
        mm_syslog_hdr h;
        if (mm_syslog_hdr_parse(rec, &h, o->tz_offset, ev->recv_ns) < 0)
            if (!o->peek) mm_count(MM_C_SYSLOG_HDR_ERRORS, 1); /* the message is still decoded */
        if (h.pri >= 0) {
            set_small(ev, MM_F_LOG_SYSLOG_PRIORITY, h.pri); /* 0..191 */
            set_small(ev, MM_F_LOG_SYSLOG_FACILITY, h.pri >> 3);
            set_small(ev, MM_F_LOG_SYSLOG_SEVERITY, h.pri & 7);
        }
        if (h.host.len) {
            mm_event_set(ev, MM_F_LOG_SYSLOG_HOSTNAME, h.host);
            ev->observer = h.host;
        }
        if (h.app.len) mm_event_set(ev, MM_F_LOG_SYSLOG_APPNAME, h.app);
        if (h.ts_ns) ev->ts_ns = h.ts_ns;
        if (blank(h.msg)) {
            rc = fail(ev, "empty message");
        } else {
            rc = d->decode(ev, h.msg, o);
            if (rc < 0) rc = fail(ev, "record did not decode");
            else if (ev->kind == MM_KIND_PIPELINE_ERROR) rc = MM_EINVAL;
        }
    }
    if (rc < 0) {
        if (ev->kind != MM_KIND_PIPELINE_ERROR) ev->kind = MM_KIND_PIPELINE_ERROR;
        /* mm_event_fail only marks the event; the count happens here, once */
        if (!o->peek) mm_count(MM_C_DECODE_ERRORS, 1);
        return rc;
    }
    if (!o->peek) mm_count(MM_C_EVENTS_DECODED, 1);
    return 0;
}

void mm_names_build(mm_nameslot *slots, uint32_t nslots, const char *const *names, int n) {
    for (int k = 0; k < n; k++) {
        uint32_t len = (uint32_t)strlen(names[k]);
        uint32_t i = mm_name_hash(names[k], len) & (nslots - 1);
        while (slots[i].id) i = (i + 1) & (nslots - 1);
        slots[i] = (mm_nameslot){names[k], (uint16_t)len, (uint16_t)(k + 1)};
    }
}
