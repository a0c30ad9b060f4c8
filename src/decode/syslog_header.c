/* syslog_header: split a record into its syslog header and message.
 *
 * Devices send what they like, so this accepts, in order of preference:
 *   RFC 5424   <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [BOM]MSG
 *   RFC 3164   <PRI>Mmm dd hh:mm:ss [HOST] [TAG[PID]:] MSG
 *   ISO 3164   <PRI>2024-01-05T12:00:00+09:00 HOST TAG: MSG  (rsyslog and friends)
 *   bare PRI   <PRI>MSG                                    (FortiGate, many UTMs)
 *   no header  MSG, or the 3164/ISO forms above without <PRI> (lines from log files)
 *
 * Everything is a slice into the record: nothing is copied and nothing is read past
 * rec.p + rec.len (records are not NUL-terminated).  RFC 3164 timestamps carry
 * neither year nor zone: the year comes from `now_ns` (previous year when that would
 * put the record more than a day in the future, e.g. "Dec 31" read on Jan 1) and the
 * zone from the configured tz_offset. */
#include "decode.h"

#include <string.h>

#define NS 1000000000LL

typedef struct cur {
    const char *p, *end;
} cur;

static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
static inline size_t left(const cur *c) { return (size_t)(c->end - c->p); }

/* n decimal digits at p (caller checked length). */
static int digits(const char *p, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(p[i])) return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Years stop at 2200: nanoseconds since 1970 in an int64 end in 2262. */
static bool valid_civil(int y, int mo, int d, int h, int mi, int s) {
    return y >= 1970 && y <= 2200 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 &&
           h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

/* "+09:00", "-0500", "Z" at c->p; advances past it.  No zone: *has = false. */
static bool parse_zone(cur *c, int32_t *off, bool *has) {
    *has = false;
    if (left(c) >= 1 && (c->p[0] == 'Z' || c->p[0] == 'z')) {
        c->p++;
        *off = 0;
        *has = true;
        return true;
    }
    if (left(c) >= 3 && (c->p[0] == '+' || c->p[0] == '-')) {
        int sign = c->p[0] == '-' ? -1 : 1;
        int hh = digits(c->p + 1, 2);
        if (hh < 0 || hh > 14) return false;
        const char *q = c->p + 3;
        int mm = 0;
        if (q < c->end && *q == ':') q++;
        if (c->end - q >= 2 && is_digit(q[0]) && is_digit(q[1])) {
            mm = digits(q, 2);
            q += 2;
        } else if (q != c->p + 3) {
            return false; /* "+09:" */
        }
        if (mm > 59) return false;
        *off = sign * (hh * 3600 + mm * 60);
        *has = true;
        c->p = q;
        return true;
    }
    return true;
}

/* RFC 3339 / ISO 8601: YYYY-MM-DD[T ]hh:mm:ss[.frac][zone].  The fraction may have
 * up to 9 significant digits; more are ignored.  Advances c on success. */
static bool parse_iso(cur *c, int32_t tz_offset, int64_t *out) {
    const char *p = c->p;
    if (left(c) < 19) return false;
    if (p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't' && p[10] != ' ') ||
        p[13] != ':' || p[16] != ':')
        return false;
    int y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
    int h = digits(p + 11, 2), mi = digits(p + 14, 2), s = digits(p + 17, 2);
    if (!valid_civil(y, mo, d, h, mi, s)) return false;
    cur q = {p + 19, c->end};
    int64_t frac = 0;
    if (left(&q) >= 2 && (q.p[0] == '.' || q.p[0] == ',') && is_digit(q.p[1])) {
        q.p++;
        int nd = 0;
        while (q.p < q.end && is_digit(*q.p)) {
            if (nd < 9) {
                frac = frac * 10 + (*q.p - '0');
                nd++;
            }
            q.p++;
        }
        for (; nd < 9; nd++) frac *= 10;
    }
    int32_t off = tz_offset;
    bool has = false;
    if (!parse_zone(&q, &off, &has)) return false;
    if (!has) off = tz_offset;
    *out = (mm_time_from_civil(y, mo, d, h, mi, s) - off) * NS + frac;
    c->p = q.p;
    return true;
}

static int month_of(const char *p) {
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++) {
        const char *n = names + i * 3;
        /* accept any case: some devices send "JAN" */
        if ((p[0] | 0x20) == (n[0] | 0x20) && (p[1] | 0x20) == n[1] && (p[2] | 0x20) == n[2])
            return i + 1;
    }
    return 0;
}

static int year_of(int64_t sec) {
    int64_t days = sec / 86400;
    if (sec < 0 && sec % 86400) days--;
    /* civil year from days since epoch (inverse of days_from_civil, year part only) */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    return (int)(yoe + era * 400 + (m <= 2));
}

/* RFC 3164: "Mmm dd hh:mm:ss" (day space- or zero-padded), tolerating an optional
 * fraction and an optional year after the time ("Jan  5 12:00:00 2024", Cisco-style)
 * or before it ("Jan  5 2024 12:00:00"). */
static bool parse_3164(cur *c, int32_t tz_offset, int64_t now_ns, int64_t *out) {
    const char *p = c->p;
    if (left(c) < 14) return false;
    int mo = month_of(p);
    if (!mo || p[3] != ' ') return false;
    const char *q = p + 4;
    int d;
    if (q[0] == ' ' && is_digit(q[1])) d = q[1] - '0';
    else if (is_digit(q[0]) && is_digit(q[1])) d = digits(q, 2);
    else if (is_digit(q[0]) && q[1] == ' ') {
        d = q[0] - '0';
        q--; /* single-digit day without padding: "Jan 5 12:00:00" */
    } else
        return false;
    q += 2;
    if (q >= c->end || *q != ' ') return false;
    q++;
    int year = 0;
    if (c->end - q >= 5 && is_digit(q[0]) && is_digit(q[1]) && is_digit(q[2]) && is_digit(q[3]) &&
        q[4] == ' ') {
        year = digits(q, 4);
        q += 5;
    }
    if (c->end - q < 8 || q[2] != ':' || q[5] != ':') return false;
    int h = digits(q, 2), mi = digits(q + 3, 2), s = digits(q + 6, 2);
    q += 8;
    int64_t frac = 0;
    if (c->end - q >= 2 && q[0] == '.' && is_digit(q[1])) {
        q++;
        int nd = 0;
        while (q < c->end && is_digit(*q)) {
            if (nd < 9) {
                frac = frac * 10 + (*q - '0');
                nd++;
            }
            q++;
        }
        for (; nd < 9; nd++) frac *= 10;
    }
    if (!year && c->end - q >= 5 && q[0] == ' ' && is_digit(q[1]) && is_digit(q[2]) &&
        is_digit(q[3]) && is_digit(q[4]) && (c->end - q == 5 || q[5] == ' ')) {
        year = digits(q + 1, 4);
        q += 5;
    }
    bool guessed = year == 0;
    if (guessed) year = year_of(now_ns / NS + tz_offset);
    if (!valid_civil(year, mo, d, h, mi, s)) return false;
    int64_t t = (mm_time_from_civil(year, mo, d, h, mi, s) - tz_offset) * NS + frac;
    if (guessed && t > now_ns + 86400 * NS)
        t = (mm_time_from_civil(year - 1, mo, d, h, mi, s) - tz_offset) * NS + frac;
    /* an explicit zone after the time is rare but cheap to honour */
    cur z = {q, c->end};
    if (left(&z) >= 2 && z.p[0] == ' ' && (z.p[1] == '+' || z.p[1] == '-')) {
        z.p++;
        int32_t off;
        bool has;
        if (parse_zone(&z, &off, &has) && has && (z.p == z.end || *z.p == ' ' || *z.p == ':')) {
            t += (int64_t)(tz_offset - off) * NS;
            q = z.p;
        }
    }
    *out = t;
    c->p = q;
    return true;
}

/* Next space-delimited token (does not skip leading spaces). */
static mm_str token(cur *c) {
    const char *s = c->p;
    while (c->p < c->end && *c->p != ' ') c->p++;
    return (mm_str){s, (uint32_t)(c->p - s)};
}

static void skip_spaces(cur *c) {
    while (c->p < c->end && *c->p == ' ') c->p++;
}

static mm_str nil_dash(mm_str s) {
    if (s.len == 1 && s.p[0] == '-') return (mm_str){s.p, 0};
    return s;
}

static mm_str rest(const cur *c) { return (mm_str){c->p, (uint32_t)(c->end - c->p)}; }

static bool hostname_like(mm_str t) {
    if (t.len == 0 || t.len > 255) return false;
    for (uint32_t i = 0; i < t.len; i++) {
        unsigned char ch = (unsigned char)t.p[i];
        /* '=' or a quote means we are already inside key=value content */
        if (ch == '=' || ch == '"' || ch < 0x21 || ch == 0x7f) return false;
    }
    return true;
}

/* "app[pid]:" or "app:" -> app/procid.  Returns false when t is not a tag. */
static bool split_tag(mm_str t, mm_str *app, mm_str *pid) {
    if (t.len < 2 || t.p[t.len - 1] != ':') return false;
    uint32_t n = t.len - 1;
    *pid = (mm_str){NULL, 0};
    if (n >= 3 && t.p[n - 1] == ']') {
        const char *lb = memchr(t.p, '[', n);
        if (!lb || lb == t.p) return false;
        uint32_t a = (uint32_t)(lb - t.p);
        *app = (mm_str){t.p, a};
        *pid = (mm_str){lb + 1, n - a - 2};
    } else {
        *app = (mm_str){t.p, n};
    }
    for (uint32_t i = 0; i < app->len; i++)
        if (app->p[i] == '=' || app->p[i] == '"' || app->p[i] == '[') return false;
    return app->len > 0 && app->len <= 48;
}

/* After a 3164-style timestamp: [HOST] [TAG:] MSG. */
static void parse_3164_rest(cur *c, mm_syslog_hdr *h) {
    if (c->p < c->end && *c->p == ':') { /* "Jan  5 12:00:00: msg" (Cisco) */
        c->p++;
        skip_spaces(c);
        h->msg = rest(c);
        return;
    }
    skip_spaces(c);
    cur save = *c;
    mm_str t1 = token(c);
    mm_str app, pid;
    if (split_tag(t1, &app, &pid)) { /* no hostname */
        h->app = app;
        h->procid = pid;
        skip_spaces(c);
        h->msg = rest(c);
        return;
    }
    if (!hostname_like(t1) || c->p >= c->end) {
        /* no host: the message starts right after the timestamp */
        *c = save;
        h->msg = rest(c);
        return;
    }
    h->host = t1;
    skip_spaces(c);
    save = *c;
    mm_str t2 = token(c);
    if (split_tag(t2, &app, &pid)) {
        h->app = app;
        h->procid = pid;
        skip_spaces(c);
    } else {
        *c = save;
    }
    h->msg = rest(c);
}

/* RFC 5424 structured data: "-" or one or more [id k="v" ...] elements.  Inside
 * quoted values '\' escapes '"', '\' and ']'. */
static bool skip_sd(cur *c) {
    if (c->p < c->end && *c->p == '-') {
        c->p++;
        return true;
    }
    if (c->p >= c->end || *c->p != '[') return false;
    while (c->p < c->end && *c->p == '[') {
        c->p++;
        bool inq = false;
        for (;;) {
            if (c->p >= c->end) return false;
            char ch = *c->p++;
            if (inq) {
                if (ch == '\\') {
                    if (c->p >= c->end) return false;
                    c->p++;
                } else if (ch == '"')
                    inq = false;
            } else if (ch == '"') {
                inq = true;
            } else if (ch == ']') {
                break;
            }
        }
    }
    return true;
}

static int parse_5424(cur *c, mm_syslog_hdr *h, int32_t tz_offset) {
    /* c is just past "VERSION " */
    int64_t ts = 0;
    if (left(c) >= 1 && *c->p == '-') {
        c->p++;
    } else if (!parse_iso(c, tz_offset, &ts)) {
        return MM_EINVAL;
    }
    if (c->p >= c->end || *c->p != ' ') return MM_EINVAL;
    h->ts_ns = ts;
    mm_str *f[4] = {&h->host, &h->app, &h->procid, &h->msgid};
    for (int i = 0; i < 4; i++) {
        if (c->p >= c->end || *c->p != ' ') return MM_EINVAL;
        c->p++;
        mm_str t = token(c);
        if (t.len == 0) return MM_EINVAL;
        *f[i] = nil_dash(t);
    }
    if (c->p >= c->end) { /* SD missing entirely: tolerate as "-" */
        h->msg = rest(c);
        return 0;
    }
    c->p++; /* the space before SD */
    if (!skip_sd(c)) return MM_EINVAL;
    if (c->p < c->end) {
        if (*c->p != ' ') return MM_EINVAL;
        c->p++;
    }
    if (left(c) >= 3 && (unsigned char)c->p[0] == 0xEF && (unsigned char)c->p[1] == 0xBB &&
        (unsigned char)c->p[2] == 0xBF)
        c->p += 3;
    h->msg = rest(c);
    return 0;
}

int mm_syslog_hdr_parse(mm_str rec, mm_syslog_hdr *h, int32_t tz_offset, int64_t now_ns) {
    memset(h, 0, sizeof *h);
    h->pri = -1;
    h->msg = rec;
    if (!rec.p || rec.len == 0) return 0;
    cur c = {rec.p, rec.p + rec.len};

    if (*c.p == '<') {
        const char *q = c.p + 1;
        int pri = 0, nd = 0;
        while (q < c.end && is_digit(*q) && nd < 4) {
            pri = pri * 10 + (*q - '0');
            nd++;
            q++;
        }
        /* '<' and a letter is markup (event XML), not a broken header */
        if (nd == 0 && q < c.end && ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || *q == '?')) return 0;
        if (nd == 0 || nd > 3 || q >= c.end || *q != '>' || pri > 191) {
            /* looks like a header but is not one: leave the record whole */
            return MM_EINVAL;
        }
        h->pri = pri;
        c.p = q + 1;
        h->msg = rest(&c);
        /* RFC 5424: VERSION (1-2 digits, not 0) then a space */
        if (left(&c) >= 2 && is_digit(c.p[0]) && c.p[0] != '0' &&
            (c.p[1] == ' ' || (left(&c) >= 3 && is_digit(c.p[1]) && c.p[2] == ' '))) {
            int ver = c.p[1] == ' ' ? c.p[0] - '0' : digits(c.p, 2);
            cur save = c;
            c.p += c.p[1] == ' ' ? 2 : 3;
            mm_syslog_hdr tmp = *h;
            tmp.version = ver;
            int rc = parse_5424(&c, &tmp, tz_offset);
            if (rc == 0) {
                *h = tmp;
                return 0;
            }
            /* "<13>1 garbage": a 5424 header that does not parse.  Unless the rest
             * is recognisably something else, report it. */
            c = save;
            int64_t ts;
            cur t = c;
            if (!parse_iso(&t, tz_offset, &ts) && !parse_3164(&t, tz_offset, now_ns, &ts)) {
                h->msg = rest(&save);
                return MM_EINVAL;
            }
        }
    }

    /* 3164 timestamp, or an ISO timestamp in its place */
    int64_t ts = 0;
    cur t = c;
    if (left(&t) >= 14 && parse_3164(&t, tz_offset, now_ns, &ts)) {
        h->ts_ns = ts;
        c = t;
        parse_3164_rest(&c, h);
        return 0;
    }
    t = c;
    if (left(&t) >= 19 && is_digit(*t.p) && parse_iso(&t, tz_offset, &ts) &&
        (t.p == t.end || *t.p == ' ')) {
        h->ts_ns = ts;
        c = t;
        parse_3164_rest(&c, h);
        return 0;
    }
    /* bare <PRI> (FortiGate) or no header at all; FortiGate sometimes puts a space
     * after the PRI */
    if (h->pri >= 0) skip_spaces(&c);
    h->msg = rest(&c);
    return 0;
}
