/* fortigate: FortiOS 6.x-7.x key=value logs -> ECS event.
 *
 *   date=2024-08-28 time=10:33:52 devname="FW1" ... srcip=10.2.3.4 msg="a \"b\" c"
 *
 * One pass over the message finds every pair; values stay slices into the record
 * (only values that must be rebuilt — unescaped quotes, lowercased, normalised — go
 * to the event arena).  Every pair is kept under fortinet.firewall.<key>; the keys
 * we map are found through a small open-addressing table (one hash, one memcmp) and
 * parked in a per-record slot array, then the mapping below reads the slots.
 *
 * The ECS mapping follows Elastic's fortinet_fortigate integration (the documents
 * in the corpus are its expected output), including its choices per log type:
 * traffic / event / utm sub-pipelines, the "login" message handling, the VPN
 * source/destination swap, network.direction from internal (private) networks.
 * Where that integration is silent (IPS, antivirus hashes, configuration changes)
 * the mapping is ours and says so.
 *
 * Parsing rules (FortiOS and real-world damage):
 *   - pairs are separated by spaces; control bytes (NUL, CR, LF...) outside quotes
 *     count as spaces, as Elastic strips them;
 *   - value: "quoted" (may hold spaces and '='; \" is a quote, \x pairs are skipped
 *     over so \\" ends the value) or unquoted up to the next space;
 *   - a cut line leaves an unterminated quote: the value runs to the end;
 *   - tokens without '=' and keys that are not [A-Za-z0-9_-] are ignored;
 *   - "N/A" and empty values are absent for ECS, but kept under the vendor prefix;
 *   - a repeated key: the last value wins (as Elastic's map does). */
#include "decode.h"

#include <pthread.h>
#include <string.h>

#define NS 1000000000LL

/* ------------------------------------------------------------------ known keys */

#define FGT_KEYS(K)                                                                    \
    K(DATE, "date") K(TIME, "time") K(TZ, "tz") K(EVENTTIME, "eventtime")              \
    K(DEVNAME, "devname") K(DEVID, "devid") K(DEVICE_ID, "device_id")                  \
    K(LOGID, "logid") K(LOG_ID, "log_id") K(TYPE, "type") K(SUBTYPE, "subtype")        \
    K(EVENTTYPE, "eventtype") K(EVENTSUBTYPE, "eventsubtype") K(LEVEL, "level")        \
    K(PRI, "pri") K(MSG, "msg") K(ACTION, "action") K(REASON, "reason")                \
    K(DIR, "dir") K(DIRECTION, "direction") K(SRCIP, "srcip") K(DSTIP, "dstip")        \
    K(SRCPORT, "srcport") K(DSTPORT, "dstport") K(SRC_PORT, "src_port")                \
    K(DST_PORT, "dst_port") K(REMIP, "remip") K(LOCIP, "locip") K(REMPORT, "remport")  \
    K(LOCPORT, "locport") K(SRCINTF, "srcintf") K(DSTINTF, "dstintf")                  \
    K(SRC_INT, "src_int") K(DST_INT, "dst_int") K(INTERFACE, "interface")              \
    K(SRCMAC, "srcmac") K(SOURCE_MAC, "source_mac") K(DSTMAC, "dstmac")                \
    K(SENTBYTE, "sentbyte") K(RCVDBYTE, "rcvdbyte") K(SENTPKT, "sentpkt")              \
    K(RCVDPKT, "rcvdpkt") K(TRANIP, "tranip") K(TRANPORT, "tranport")                  \
    K(TRANSIP, "transip") K(TRANSPORT, "transport") K(PROTO, "proto")                  \
    K(SERVICE, "service") K(APP, "app") K(APPCAT, "appcat") K(APPLIST, "applist")      \
    K(CATDESC, "catdesc") K(POLICYID, "policyid") K(POLICY_ID, "policy_id")            \
    K(POLUUID, "poluuid") K(POLICYTYPE, "policytype") K(POLICYNAME, "policyname")      \
    K(PROFILE, "profile") K(COMMENT, "comment") K(LOGDESC, "logdesc") K(USER, "user")  \
    K(UNAUTHUSER, "unauthuser") K(DSTUNAUTHUSER, "dstunauthuser") K(GROUP, "group")    \
    K(XAUTHUSER, "xauthuser") K(EAPUSER, "eapuser") K(SRCDOMAIN, "srcdomain")          \
    K(SRCNAME, "srcname") K(DSTNAME, "dstname") K(SADDR, "saddr") K(DADDR, "daddr")    \
    K(DST_HOST, "dst_host") K(HOSTNAME, "hostname") K(URL, "url") K(AGENT, "agent")    \
    K(HTTPMETHOD, "httpmethod") K(REFERRALURL, "referralurl")                          \
    K(DURATION, "duration") K(SESS_DURATION, "sess_duration")                          \
    K(UTMACTION, "utmaction") K(RESULT, "result") K(STATUS, "status")                  \
    K(FILENAME, "filename") K(FILE, "file") K(FILESIZE, "filesize")                    \
    K(FILETYPE, "filetype") K(INFECTEDFILENAME, "infectedfilename")                    \
    K(INFECTEDFILESIZE, "infectedfilesize") K(INFECTEDFILETYPE, "infectedfiletype")    \
    K(MATCHEDFILENAME, "matchedfilename") K(MATCHEDFILETYPE, "matchedfiletype")        \
    K(ANALYTICSCKSUM, "analyticscksum") K(FILEHASH, "filehash") K(VIRUS, "virus")      \
    K(ATTACK, "attack") K(CVE, "cve") K(DTYPE, "dtype") K(REF, "ref")                  \
    K(QNAME, "qname") K(QTYPE, "qtype") K(QCLASS, "qclass") K(XID, "xid")              \
    K(IPADDR, "ipaddr") K(BOTNETDOMAIN, "botnetdomain") K(BOTNETIP, "botnetip")        \
    K(SCERTCNAME, "scertcname") K(SCERTISSUER, "scertissuer")                          \
    K(CCERTISSUER, "ccertissuer") K(ISSUER, "issuer") K(SNI, "sni")                    \
    K(CIPHER, "cipher") K(KXCURVE, "kxcurve") K(CERTHASH, "certhash") K(SN, "sn")      \
    K(SAN, "san") K(CN, "cn") K(KEYSIZE, "keysize") K(AUTHALGO, "authalgo")            \
    K(KEYALGO, "keyalgo") K(TLSVER, "tlsver") K(FROM, "from") K(TO, "to")              \
    K(SENDER, "sender") K(RECIPIENT, "recipient") K(CC, "cc") K(SUBJECT, "subject")    \
    K(COLLECTEDEMAIL, "collectedemail") K(DSTCOLLECTEDEMAIL, "dstcollectedemail")      \
    K(SRCTHREATFEED, "srcthreatfeed") K(ERROR_NUM, "error_num")                        \
    K(ERRORCODE, "errorcode") K(EVENT_ID, "event_id") K(EVENTID, "eventid")            \
    K(ADDR, "addr") K(ADDRGRP, "addrgrp") K(ADMINPROF, "adminprof")                    \
    K(USERFROM, "userfrom") K(DESC, "desc") K(CFGPATH, "cfgpath")

enum {
#define K(id, name) K_##id,
    FGT_KEYS(K)
#undef K
    K__COUNT
};

static const char *const key_names[K__COUNT] = {
#define K(id, name) name,
    FGT_KEYS(K)
#undef K
};

#define KT_SIZE 512 /* power of two, > 2x the keys */
static mm_nameslot ktab[KT_SIZE];
static pthread_once_t ktab_once = PTHREAD_ONCE_INIT;

static void ktab_build(void) { mm_names_build(ktab, KT_SIZE, key_names, K__COUNT); }

/* The hash is computed by the scanner while it walks the key (mm_name_step). */
static inline int key_lookup(const char *p, uint32_t n, uint32_t h) { return mm_names_find(ktab, KT_SIZE, p, n, h); }

/* ------------------------------------------------------------------ scanning */

typedef struct fgt {
    mm_event *ev;
    const mm_decode_opts *o;
    uint64_t seen[(K__COUNT + 63) / 64]; /* slot holds an ECS-usable value */
    uint64_t kept[(K__COUNT + 63) / 64]; /* key already stored as vendor field */
    mm_str v[K__COUNT];
    uint16_t vidx[K__COUNT];
} fgt;

#define HAS(f, k) (((f)->seen[(k) >> 6] >> ((k) & 63)) & 1)
#define V(f, k) ((f)->v[k])

/* Byte classes: separators (space, controls incl. NUL, DEL) and key characters. */
enum { C_SEP = 1, C_KEY = 2 };
static const uint8_t cls[256] = {
    [0 ... 0x20] = C_SEP, [0x7f] = C_SEP,  ['a' ... 'z'] = C_KEY, ['A' ... 'Z'] = C_KEY,
    ['0' ... '9'] = C_KEY, ['_'] = C_KEY, ['-'] = C_KEY,
};
static inline bool is_sep(unsigned char c) { return cls[c] & C_SEP; }

static inline bool str_is(mm_str s, const char *lit, uint32_t n) {
    return s.len == n && memcmp(s.p, lit, n) == 0;
}
#define IS(s, lit) str_is((s), (lit), (uint32_t)(sizeof(lit) - 1))

/* \" -> " (the only escape FortiOS writes that changes the value; other backslash
 * pairs such as \= in rawdata are kept as sent). */
static mm_str unescape(mm_arena *a, mm_str v) {
    char *o = mm_arena_alloc(a, v.len ? v.len : 1);
    uint32_t n = 0;
    for (uint32_t i = 0; i < v.len; i++) {
        if (v.p[i] == '\\' && i + 1 < v.len && v.p[i + 1] == '"') {
            o[n++] = '"';
            i++;
        } else {
            o[n++] = v.p[i];
        }
    }
    return (mm_str){o, n};
}

static void pair(fgt *f, mm_str key, uint32_t h, mm_str val) {
    mm_event *ev = f->ev;
    int k = key_lookup(key.p, key.len, h);
    if (k >= 0 && ((f->kept[k >> 6] >> (k & 63)) & 1)) {
        /* repeated key: last one wins, one vendor field */
        ev->vendor[f->vidx[k]].val = val;
    } else {
        uint16_t before = ev->nvendor;
        mm_event_vendor(ev, key, val);
        if (k >= 0 && ev->nvendor > before) {
            f->vidx[k] = (uint16_t)(ev->nvendor - 1);
            f->kept[k >> 6] |= 1ULL << (k & 63);
        }
    }
    if (k < 0) return;
    if (val.len == 0 || IS(val, "N/A")) {
        f->seen[k >> 6] &= ~(1ULL << (k & 63));
        return;
    }
    f->v[k] = val;
    f->seen[k >> 6] |= 1ULL << (k & 63);
}

/* Scan msg; returns the number of well-formed pairs. */
static int scan(fgt *f, mm_str msg) {
    const char *p = msg.p, *end = msg.p + msg.len;
    int npairs = 0;
    while (p < end) {
        while (p < end && is_sep((unsigned char)*p)) p++;
        if (p >= end) break;
        const char *ks = p;
        uint32_t h = MM_NAME_SEED;
        while (p < end && (cls[(unsigned char)*p] & C_KEY)) h = mm_name_step(h, (unsigned char)*p++);
        bool good = p < end && *p == '=';
        if (!good) { /* odd bytes in the key, or a token without '=' */
            while (p < end && *p != '=' && !is_sep((unsigned char)*p)) p++;
            if (p >= end || *p != '=') continue;
        }
        mm_str key = {ks, (uint32_t)(p - ks)};
        p++; /* '=' */
        mm_str val;
        bool esc = false;
        if (p < end && *p == '"') {
            const char *vs = ++p;
            for (;;) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                if (!q) { /* no closing quote: a cut line, the value runs to the end */
                    p = end;
                    break;
                }
                /* escaped when preceded by an odd run of backslashes (\\" ends it) */
                const char *b = q;
                while (b > vs && b[-1] == '\\') b--;
                if ((q - b) & 1) {
                    esc = true;
                    p = q + 1;
                    continue;
                }
                p = q;
                break;
            }
            val = (mm_str){vs, (uint32_t)(p - vs)};
            if (p < end) p++; /* the closing quote */
        } else {
            const char *vs = p;
            while (p < end && !is_sep((unsigned char)*p)) p++;
            val = (mm_str){vs, (uint32_t)(p - vs)};
        }
        if (!good || key.len == 0 || key.len > 64) continue;
        if (esc) val = unescape(f->ev->arena, val);
        pair(f, key, mm_name_end(h), val);
        npairs++;
    }
    return npairs;
}

/* ------------------------------------------------------------------ helpers */

static inline void set(fgt *f, mm_field fld, int k) {
    if (HAS(f, k)) mm_event_set(f->ev, fld, V(f, k));
}
/* First present key of a list (priority order). */
static int first_of(fgt *f, const int *ks, int n) {
    for (int i = 0; i < n; i++)
        if (HAS(f, ks[i])) return ks[i];
    return -1;
}
#define FIRST(f, ...)                                                                  \
    first_of((f), (const int[]){__VA_ARGS__}, (int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int)))

static void set_first(fgt *f, mm_field fld, int k) {
    if (k >= 0) mm_event_set(f->ev, fld, V(f, k));
}

static bool has_value(const mm_event *ev, mm_field fld, mm_str s) {
    for (const mm_value *v = mm_event_get(ev, fld); v; v = mm_event_next(ev, v))
        if (mm_str_eq(v->s, s)) return true;
    return false;
}

static void add_unique(mm_event *ev, mm_field fld, mm_str s) {
    if (!has_value(ev, fld, s)) mm_event_add(ev, fld, s);
}
#define ADD(ev, fld, lit) add_unique((ev), (fld), MM_STR(lit))

static mm_str lower(mm_arena *a, mm_str s) {
    uint32_t i = 0;
    while (i < s.len && !(s.p[i] >= 'A' && s.p[i] <= 'Z')) i++;
    if (i == s.len) return s;
    char *o = mm_arena_alloc(a, s.len);
    for (uint32_t j = 0; j < s.len; j++) {
        char c = s.p[j];
        o[j] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    return (mm_str){o, s.len};
}

/* Copy with every `from` byte (any of the set) replaced by `to`, optionally upper. */
static mm_str translate(mm_arena *a, mm_str s, const char *from, char to, bool upper) {
    char *o = mm_arena_alloc(a, s.len ? s.len : 1);
    for (uint32_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (c && strchr(from, c)) c = to;
        else if (upper && c >= 'a' && c <= 'z') c = (char)(c - 32);
        o[i] = c;
    }
    return (mm_str){o, s.len};
}

static bool starts_with(mm_str s, const char *lit) {
    size_t n = strlen(lit);
    return s.len >= n && memcmp(s.p, lit, n) == 0;
}

/* msg mentions "login" or "logged in" (any case): one pass. */
static bool mentions_login(mm_str s) {
    for (uint32_t i = 0; i + 5 <= s.len; i++) {
        if ((s.p[i] | 0x20) != 'l' || (s.p[i + 1] | 0x20) != 'o') continue;
        char c2 = (char)(s.p[i + 2] | 0x20);
        if (c2 == 'g' && (s.p[i + 3] | 0x20) == 'i' && (s.p[i + 4] | 0x20) == 'n') return true;
        if (c2 == 'g' && i + 9 <= s.len && (s.p[i + 3] | 0x20) == 'g' && (s.p[i + 4] | 0x20) == 'e' &&
            (s.p[i + 5] | 0x20) == 'd' && s.p[i + 6] == ' ' && (s.p[i + 7] | 0x20) == 'i' &&
            (s.p[i + 8] | 0x20) == 'n')
            return true;
    }
    return false;
}

static bool icontains(mm_str s, const char *lit) {
    size_t n = strlen(lit);
    if (n == 0) return true;
    for (uint32_t i = 0; i + n <= s.len; i++) {
        size_t j = 0;
        for (; j < n; j++) {
            char c = s.p[i + j];
            if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
            if (c != lit[j]) break;
        }
        if (j == n) return true;
    }
    return false;
}

/* Find lit in s at or after `from`; index or -1. */
static int64_t find(mm_str s, uint32_t from, const char *lit) {
    size_t n = strlen(lit);
    for (uint32_t i = from; i + n <= s.len; i++)
        if (memcmp(s.p + i, lit, n) == 0) return i;
    return -1;
}

/* mm_event_set_int/_time format through snprintf and a heap buffer; on the hot path
 * integers are rendered here and times are set from text the core parses, with the
 * exact value pinned afterwards. */
static void set_i64(mm_event *ev, mm_field fld, int64_t v) {
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    mm_event_set(ev, fld, mm_arena_str(ev->arena, p, (size_t)(e - p)));
}

static void set_time_text(mm_event *ev, mm_field fld, mm_str text, int64_t ns) {
    if (mm_event_set(ev, fld, text)) {
        mm_value *v = &ev->vals[ev->idx[fld]];
        v->i = ns;
        v->parsed = true;
        if (fld == MM_F_TIMESTAMP) ev->ts_ns = ns;
    } else {
        mm_event_set_time(ev, fld, ns);
    }
}

static bool parse_u64(mm_str s, int64_t *out) {
    if (s.len == 0 || s.len > 19) return false;
    uint64_t v = 0;
    for (uint32_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') return false;
        v = v * 10 + (uint64_t)(s.p[i] - '0'); /* 19 digits fit in uint64 */
    }
    if (v > (uint64_t)INT64_MAX) return false;
    *out = (int64_t)v;
    return true;
}

/* ------------------------------------------------------------------ time */

/* FortiOS tz values: "+0200", "-05:00", and for humans "UTC-5:00", "GMT+9".
 * *norm gets the Elastic-normalised text (prefix dropped, "+HHMM"). */
static bool fgt_tz(mm_arena *a, mm_str s, int32_t *off, mm_str *norm) {
    *norm = s;
    uint32_t i = 0;
    while (i < s.len && i < 4 && s.p[i] >= 'A' && s.p[i] <= 'Z') i++;
    if (i == s.len) return mm_tz_parse(s, off); /* "UTC", "JST" */
    if (s.p[i] != '+' && s.p[i] != '-') return false;
    char sign = s.p[i++];
    int hh = 0, nd = 0;
    while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9' && nd < 2) {
        hh = hh * 10 + (s.p[i++] - '0');
        nd++;
    }
    if (nd == 0) return false;
    int mm = 0;
    if (i < s.len && s.p[i] == ':') i++;
    if (i < s.len) {
        if (s.len - i != 2 || s.p[i] < '0' || s.p[i] > '9' || s.p[i + 1] < '0' || s.p[i + 1] > '9')
            return false;
        mm = (s.p[i] - '0') * 10 + (s.p[i + 1] - '0');
    } else if (nd == 1 && s.p[0] >= 'A' && s.p[0] <= 'Z') {
        /* "GMT+9": hours only */
    } else if (nd == 1 || (s.len > 0 && s.p[s.len - 1] == ':')) {
        return false;
    }
    if (hh > 14 || mm > 59) return false;
    *off = (sign == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    bool plain = s.p[0] == '+' || s.p[0] == '-';
    if (!plain) {
        char *o = mm_arena_alloc(a, 5);
        o[0] = sign;
        o[1] = (char)('0' + hh / 10);
        o[2] = (char)('0' + hh % 10);
        o[3] = (char)('0' + mm / 10);
        o[4] = (char)('0' + mm % 10);
        *norm = (mm_str){o, 5};
    }
    return true;
}

static int num2(const char *p) {
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* date=YYYY-MM-DD (or YYYY/MM/DD) time=hh:mm:ss -> seconds of that civil time */
static bool fgt_datetime(mm_str d, mm_str t, int64_t *sec) {
    if (d.len != 10 || (t.len != 8 && !(t.len > 8 && t.p[8] == '.'))) return false;
    if ((d.p[4] != '-' && d.p[4] != '/') || d.p[7] != d.p[4] || t.p[2] != ':' || t.p[5] != ':')
        return false;
    int y1 = num2(d.p), y2 = num2(d.p + 2), mo = num2(d.p + 5), dd = num2(d.p + 8);
    int h = num2(t.p), mi = num2(t.p + 3), s = num2(t.p + 6);
    int y = y1 * 100 + y2;
    /* years stop at 2200: nanoseconds since 1970 in an int64 end in 2262 */
    if (y1 < 0 || y2 < 0 || y < 1970 || y > 2200 || mo < 1 || mo > 12 || dd < 1 || dd > 31 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || s < 0 || s > 60)
        return false;
    *sec = mm_time_from_civil(y, mo, dd, h, mi, s);
    return true;
}

/* eventtime in s, ms, us or ns: decided by magnitude (FortiOS 6.2+ sends ns, older
 * releases seconds; a few builds ms or us). */
static bool fgt_eventtime(mm_str s, int64_t *ns) {
    int64_t v;
    if (!parse_u64(s, &v)) return false;
    int64_t mult = v >= 100000000000000000LL ? 1          /* >= 1e17: ns */
                   : v >= 100000000000000LL  ? 1000       /* >= 1e14: us */
                   : v >= 100000000000LL     ? 1000000    /* >= 1e11: ms */
                                             : NS;
    if (v > INT64_MAX / mult) return false;
    *ns = v * mult;
    return true;
}

/* ------------------------------------------------------------------ url, dns */

/* A public suffix with two labels?  A short list of the common ones (a full public
 * suffix list is not worth shipping for dns.question.*). */
static bool two_label_suffix(mm_str s) {
    static const char *const sfx[] = {
        "co.jp", "ne.jp", "or.jp", "go.jp", "ac.jp", "ad.jp", "ed.jp", "gr.jp", "lg.jp",
        "co.uk", "org.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "me.uk", "net.uk",
        "com.au", "net.au", "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "net.nz",
        "com.br", "net.br", "org.br", "gov.br", "com.cn", "net.cn", "org.cn", "gov.cn",
        "com.tw", "org.tw", "net.tw", "idv.tw", "com.hk", "org.hk", "net.hk", "co.kr",
        "or.kr", "go.kr", "ac.kr", "co.in", "net.in", "org.in", "com.sg", "edu.sg",
        "gov.sg", "co.za", "com.mx", "com.ar", "com.tr", "co.id", "co.th", "in.th",
        "com.my", "com.ph", "com.vn", "co.il", "com.ua", "com.ru", "com.es",
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(sfx); i++)
        if (mm_str_ieqc(s, sfx[i])) return true;
    return false;
}

static void dns_question(mm_event *ev, mm_str name) {
    if (name.len && name.p[name.len - 1] == '.') name.len--;
    if (name.len == 0) return;
    int64_t dots[4] = {-1, -1, -1, -1}; /* positions of the last dots, nearest first */
    int nd = 0;
    for (int64_t i = (int64_t)name.len - 1; i >= 0 && nd < 4; i--)
        if (name.p[i] == '.') dots[nd++] = i;
    if (nd == 0) return; /* a bare label: no registered domain */
    for (int i = 0; i < nd; i++) /* empty labels ("a..b"): give up */
        if (dots[i] == (int64_t)name.len - 1 || (i + 1 < nd && dots[i + 1] == dots[i] - 1))
            return;
    int tld_labels = 1;
    if (nd >= 2) {
        mm_str two = {name.p + dots[1] + 1, (uint32_t)(name.len - (uint32_t)dots[1] - 1)};
        if (two_label_suffix(two)) tld_labels = 2;
    }
    if (nd < tld_labels) return; /* the name is itself a public suffix */
    uint32_t tld_at = (uint32_t)dots[tld_labels - 1] + 1;
    mm_event_set(ev, MM_F_DNS_QUESTION_TLD, (mm_str){name.p + tld_at, name.len - tld_at});
    uint32_t reg_at = nd > tld_labels ? (uint32_t)dots[tld_labels] + 1 : 0;
    mm_event_set(ev, MM_F_DNS_QUESTION_REGISTERED_DOMAIN,
                 (mm_str){name.p + reg_at, name.len - reg_at});
    if (reg_at > 1) mm_event_set(ev, MM_F_DNS_QUESTION_SUBDOMAIN, (mm_str){name.p, reg_at - 1});
}

/* url= is a path ("/a?b") with hostname= beside it, or an absolute URL (proxy
 * policies).  url.original always; path/query split; scheme/domain/port from an
 * absolute URL; url.full rebuilt when a host is known.  hostname= wins for
 * url.domain, as in Elastic. */
static void map_url(fgt *f, bool has_url, bool has_host) {
    mm_event *ev = f->ev;
    mm_str host = has_host ? V(f, K_HOSTNAME) : (mm_str){NULL, 0};
    mm_str scheme = {NULL, 0};
    if (has_url) {
        mm_str u = V(f, K_URL);
        mm_event_set(ev, MM_F_URL_ORIGINAL, u);
        uint32_t i = 0;
        /* a scheme is short: only look for "://" near the start */
        int64_t sep = find((mm_str){u.p, u.len < 20 ? u.len : 20}, 0, "://");
        bool abs = false;
        if (sep > 0 && sep < 16) {
            abs = true;
            for (int64_t j = 0; j < sep; j++) {
                char c = u.p[j];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (j && c >= '0' && c <= '9') ||
                      (j && (c == '+' || c == '-' || c == '.'))))
                    abs = false;
            }
        }
        if (abs) {
            scheme = lower(ev->arena, (mm_str){u.p, (uint32_t)sep});
            mm_event_set(ev, MM_F_URL_SCHEME, scheme);
            i = (uint32_t)sep + 3;
            uint32_t as = i;
            while (i < u.len && u.p[i] != '/' && u.p[i] != '?' && u.p[i] != '#') i++;
            mm_str auth = {u.p + as, i - as};
            for (uint32_t j = auth.len; j > 0; j--) /* strip userinfo */
                if (auth.p[j - 1] == '@') {
                    auth.p += j;
                    auth.len -= j;
                    break;
                }
            mm_str h = auth;
            if (h.len && h.p[0] == '[') { /* [v6]:port */
                const char *rb = memchr(h.p, ']', h.len);
                if (rb) {
                    uint32_t hl = (uint32_t)(rb - h.p);
                    if (hl + 2 < h.len && rb[1] == ':')
                        mm_event_set(ev, MM_F_URL_PORT, (mm_str){rb + 2, h.len - hl - 2});
                    h = (mm_str){h.p + 1, hl - 1};
                }
            } else {
                const char *colon = memchr(h.p, ':', h.len);
                if (colon) {
                    uint32_t hl = (uint32_t)(colon - h.p);
                    if (hl + 1 < h.len)
                        mm_event_set(ev, MM_F_URL_PORT, (mm_str){colon + 1, h.len - hl - 1});
                    h.len = hl;
                }
            }
            if (h.len && !has_host) {
                host = h;
            }
        }
        uint32_t ps = i;
        const char *q = memchr(u.p + i, '?', u.len - i);
        const char *h = memchr(u.p + i, '#', u.len - i);
        if (h && q && h < q) q = NULL; /* '?' inside the fragment */
        uint32_t pe = q ? (uint32_t)(q - u.p) : h ? (uint32_t)(h - u.p) : u.len;
        if (pe > ps) mm_event_set(ev, MM_F_URL_PATH, (mm_str){u.p + ps, pe - ps});
        if (q) {
            uint32_t qs = pe + 1, qe = h ? (uint32_t)(h - u.p) : u.len;
            if (qe > qs) mm_event_set(ev, MM_F_URL_QUERY, (mm_str){u.p + qs, qe - qs});
        }
        if (abs) {
            mm_event_set(ev, MM_F_URL_FULL, u);
        } else if (host.len && u.len && u.p[0] == '/') {
            /* the scheme is not logged: infer it from the service/port */
            bool tls = false;
            if (HAS(f, K_SERVICE)) {
                mm_str s = V(f, K_SERVICE);
                tls = mm_str_ieqc(s, "HTTPS") || mm_str_ieqc(s, "SSL");
            }
            if (!tls && HAS(f, K_DSTPORT)) tls = IS(V(f, K_DSTPORT), "443");
            const char *sch = tls ? "https://" : "http://";
            size_t sl = strlen(sch);
            size_t n = sl + host.len + u.len;
            if (n < 65536) {
                char *o = mm_arena_alloc(ev->arena, n);
                memcpy(o, sch, sl);
                memcpy(o + sl, host.p, host.len);
                memcpy(o + sl + host.len, u.p, u.len);
                mm_event_set(ev, MM_F_URL_FULL, (mm_str){o, (uint32_t)n});
            }
        }
    }
    if (host.len) mm_event_set(ev, MM_F_URL_DOMAIN, host);
}

/* ------------------------------------------------------------------ endpoints */

/* Source and destination are gathered first and set last, because VPN logs swap
 * them (remip is the peer, i.e. the source of the tunnel). */
typedef struct endpoint {
    mm_str ip, port, bytes, packets, mac, address, nat_ip, nat_port;
} endpoint;

static inline void take(fgt *f, mm_str *dst, int k) {
    if (k >= 0 && HAS(f, k)) *dst = V(f, k);
}

static void set_endpoint(mm_event *ev, const endpoint *e, bool src) {
    if (e->ip.len) mm_event_set(ev, src ? MM_F_SOURCE_IP : MM_F_DESTINATION_IP, e->ip);
    if (e->port.len) mm_event_set(ev, src ? MM_F_SOURCE_PORT : MM_F_DESTINATION_PORT, e->port);
    if (e->bytes.len) mm_event_set(ev, src ? MM_F_SOURCE_BYTES : MM_F_DESTINATION_BYTES, e->bytes);
    if (e->packets.len)
        mm_event_set(ev, src ? MM_F_SOURCE_PACKETS : MM_F_DESTINATION_PACKETS, e->packets);
    if (e->address.len)
        mm_event_set(ev, src ? MM_F_SOURCE_ADDRESS : MM_F_DESTINATION_ADDRESS, e->address);
    if (e->nat_ip.len) mm_event_set(ev, src ? MM_F_SOURCE_NAT_IP : MM_F_DESTINATION_NAT_IP, e->nat_ip);
    if (e->nat_port.len)
        mm_event_set(ev, src ? MM_F_SOURCE_NAT_PORT : MM_F_DESTINATION_NAT_PORT, e->nat_port);
    if (e->mac.len) {
        /* ECS wants upper-case, dash-separated MACs */
        mm_str m = translate(ev->arena, e->mac, ":.", '-', true);
        mm_event_set(ev, src ? MM_F_SOURCE_MAC : MM_F_DESTINATION_MAC, m);
    }
}

/* ------------------------------------------------------------------ sub-mappings */

typedef struct ctx {
    endpoint s, d;
    mm_str user, group; /* source.user.* (never swapped) */
    bool is_login;
} ctx;

static void rule_category(fgt *f, int k) {
    if (k < 0) return;
    mm_str c = V(f, k);
    if (memchr(c.p, '.', c.len)) c = translate(f->ev->arena, c, ".", '-', false);
    mm_event_set(f->ev, MM_F_RULE_CATEGORY, c);
}

static void set_protocol(fgt *f) {
    set(f, MM_F_NETWORK_IANA_NUMBER, K_PROTO);
    if (HAS(f, K_SERVICE))
        mm_event_set(f->ev, MM_F_NETWORK_PROTOCOL, lower(f->ev->arena, V(f, K_SERVICE)));
}

static void map_event(fgt *f, ctx *c, mm_str subtype) {
    mm_event *ev = f->ev;
    mm_str action = HAS(f, K_ACTION) ? V(f, K_ACTION) : (mm_str){NULL, 0};
    if ((HAS(f, K_RESULT) && IS(V(f, K_RESULT), "ERROR")) ||
        (HAS(f, K_STATUS) && IS(V(f, K_STATUS), "negotiate_error")))
        mm_event_set(ev, MM_F_EVENT_OUTCOME, MM_STR("failure"));
    bool logon = IS(action, "FSSO-logon") || IS(action, "auth-logon");
    bool logoff = IS(action, "FSSO-logoff") || IS(action, "auth-logout");
    if ((HAS(f, K_RESULT) && IS(V(f, K_RESULT), "OK")) || logon || logoff)
        mm_event_set(ev, MM_F_EVENT_OUTCOME, MM_STR("success"));
    if (logon) ADD(ev, MM_F_EVENT_TYPE, "start");
    if (logoff) ADD(ev, MM_F_EVENT_TYPE, "end");
    bool vpn = IS(subtype, "vpn");
    if (vpn) {
        ADD(ev, MM_F_EVENT_TYPE, "connection");
        ADD(ev, MM_F_EVENT_CATEGORY, "network");
    }
    if (IS(action, "perf-stats")) {
        ADD(ev, MM_F_EVENT_TYPE, "info");
        ADD(ev, MM_F_EVENT_CATEGORY, "host");
    }
    if (IS(subtype, "update")) {
        ADD(ev, MM_F_EVENT_TYPE, "info");
        ADD(ev, MM_F_EVENT_CATEGORY, "host");
        ADD(ev, MM_F_EVENT_CATEGORY, "malware");
    }
    if (IS(subtype, "user")) ADD(ev, MM_F_EVENT_CATEGORY, "authentication");
    /* ours: configuration changes (cfgpath= on "Object attribute configured" etc.) */
    if (HAS(f, K_CFGPATH)) {
        ADD(ev, MM_F_EVENT_CATEGORY, "configuration");
        if (mm_str_ieqc(action, "Add")) ADD(ev, MM_F_EVENT_TYPE, "creation");
        else if (mm_str_ieqc(action, "Delete")) ADD(ev, MM_F_EVENT_TYPE, "deletion");
        else ADD(ev, MM_F_EVENT_TYPE, "change");
    }

    take(f, &c->d.ip, FIRST(f, K_DSTIP, K_REMIP));
    take(f, &c->d.port, FIRST(f, K_DSTPORT, K_REMPORT));
    take(f, &c->d.bytes, K_RCVDBYTE);
    take(f, &c->d.address, FIRST(f, K_DADDR, K_DST_HOST));
    take(f, &c->group, K_GROUP);
    take(f, &c->s.bytes, K_SENTBYTE);
    take(f, &c->s.ip, FIRST(f, K_SRCIP, K_LOCIP));
    take(f, &c->s.mac, FIRST(f, K_SRCMAC, K_SOURCE_MAC));
    take(f, &c->s.port, FIRST(f, K_SRCPORT, K_LOCPORT));
    take(f, &c->user, K_USER);
    take(f, &c->s.address, K_SADDR);
    set(f, MM_F_USER_AGENT_ORIGINAL, K_AGENT);
    set(f, MM_F_FILE_NAME, K_FILE);
    set(f, MM_F_FILE_SIZE, K_FILESIZE);
    set(f, MM_F_EVENT_CODE, K_LOGID);
    set(f, MM_F_RULE_ID, K_POLICYID);
    set_protocol(f);
    set(f, MM_F_ERROR_CODE, K_ERROR_NUM);
    set(f, MM_F_RULE_DESCRIPTION, K_LOGDESC);
    if (HAS(f, K_ADDR) && !HAS(f, K_ADDRGRP)) {
        /* addr= holds an address or, on dynamic-address updates, a group name;
         * Elastic moves the latter to addrgrp */
        mm_ip ip;
        if (!mm_ip_parse(V(f, K_ADDR), &ip)) mm_event_vendor(ev, MM_STR("addrgrp"), V(f, K_ADDR));
    }
    map_url(f, HAS(f, K_URL), HAS(f, K_HOSTNAME));
    if (!mm_event_has(ev, MM_F_EVENT_DURATION) && HAS(f, K_SESS_DURATION)) {
        int64_t d;
        if (parse_u64(V(f, K_SESS_DURATION), &d) && d < INT64_MAX / NS)
            set_i64(ev, MM_F_EVENT_DURATION, d * NS);
    }
    if (vpn) {
        take(f, &c->user, K_XAUTHUSER);
        take(f, &c->user, K_EAPUSER);
        endpoint t = c->s;
        c->s = c->d;
        c->d = t;
    }
}

static void map_traffic(fgt *f, ctx *c) {
    mm_event *ev = f->ev;
    bool has_action = HAS(f, K_ACTION);
    mm_str action = has_action ? V(f, K_ACTION) : (mm_str){NULL, 0};
    if (has_action) {
        mm_event_set(ev, MM_F_EVENT_ACTION, action);
        mm_event_set(ev, MM_F_EVENT_OUTCOME, MM_STR("success"));
    }
    ADD(ev, MM_F_EVENT_CATEGORY, "network");
    ADD(ev, MM_F_EVENT_TYPE, "connection");
    bool deny = IS(action, "deny");
    if (IS(action, "start")) ADD(ev, MM_F_EVENT_TYPE, "start");
    if (has_action && !IS(action, "start")) ADD(ev, MM_F_EVENT_TYPE, "end");
    if (HAS(f, K_APP) && !deny) ADD(ev, MM_F_EVENT_TYPE, "protocol");
    if (!HAS(f, K_UTMACTION) && !deny) ADD(ev, MM_F_EVENT_TYPE, "allowed");
    if ((HAS(f, K_UTMACTION) && IS(V(f, K_UTMACTION), "block")) || deny)
        ADD(ev, MM_F_EVENT_TYPE, "denied");

    take(f, &c->d.ip, K_DSTIP);
    take(f, &c->d.nat_ip, K_TRANIP);
    take(f, &c->d.port, K_DSTPORT);
    take(f, &c->d.nat_port, K_TRANPORT);
    take(f, &c->d.bytes, K_RCVDBYTE);
    take(f, &c->d.packets, K_RCVDPKT);
    take(f, &c->d.address, K_DSTNAME);
    if (HAS(f, K_DSTCOLLECTEDEMAIL)) add_unique(ev, MM_F_EMAIL_TO, V(f, K_DSTCOLLECTEDEMAIL));
    set(f, MM_F_DESTINATION_USER_NAME, K_DSTUNAUTHUSER);
    take(f, &c->group, K_GROUP);
    take(f, &c->s.bytes, K_SENTBYTE);
    set(f, MM_F_SOURCE_DOMAIN, K_SRCDOMAIN);
    take(f, &c->s.ip, K_SRCIP);
    take(f, &c->s.mac, K_SRCMAC);
    take(f, &c->s.port, K_SRCPORT);
    take(f, &c->user, FIRST(f, K_UNAUTHUSER, K_USER));
    if (HAS(f, K_COLLECTEDEMAIL)) add_unique(ev, MM_F_EMAIL_FROM, V(f, K_COLLECTEDEMAIL));
    take(f, &c->s.packets, K_SENTPKT);
    take(f, &c->s.nat_ip, K_TRANSIP);
    take(f, &c->s.nat_port, K_TRANSPORT);
    set(f, MM_F_NETWORK_APPLICATION, K_APP);
    set(f, MM_F_FILE_NAME, K_FILENAME);
    if (!mm_event_has(ev, MM_F_EVENT_CODE)) set(f, MM_F_EVENT_CODE, K_LOGID);
    set(f, MM_F_RULE_DESCRIPTION, K_COMMENT);
    if (!mm_event_has(ev, MM_F_RULE_ID)) set(f, MM_F_RULE_ID, K_POLICYID);
    set(f, MM_F_RULE_UUID, K_POLUUID);
    set(f, MM_F_RULE_RULESET, K_POLICYTYPE);
    set(f, MM_F_RULE_NAME, K_POLICYNAME);
    rule_category(f, FIRST(f, K_APPCAT));
    set_protocol(f);
    set(f, MM_F_THREAT_FEED_NAME, K_SRCTHREATFEED);
    map_url(f, HAS(f, K_URL), HAS(f, K_HOSTNAME)); /* hostname: ours */
}

static void hash_by_length(mm_event *ev, mm_str h) {
    for (uint32_t i = 0; i < h.len; i++) {
        char ch = h.p[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return;
    }
    if (h.len == 64) mm_event_set(ev, MM_F_FILE_HASH_SHA256, h);
    else if (h.len == 40) mm_event_set(ev, MM_F_FILE_HASH_SHA1, h);
    else if (h.len == 32) mm_event_set(ev, MM_F_FILE_HASH_MD5, h);
}

/* Lists are capped: add_unique is linear in the values present, and a hostile
 * 64 KB list must not turn into quadratic work. */
#define MAX_LIST 64

/* Split a list value ("a, b", "a;b") and add each item. */
static void add_list_x(mm_event *ev, mm_field fld, mm_str s, const char *seps, bool uniq) {
    uint32_t i = 0;
    for (int n = 0; i < s.len && n < MAX_LIST; n++) {
        while (i < s.len && (s.p[i] == ' ' || strchr(seps, s.p[i]))) i++;
        uint32_t st = i;
        while (i < s.len && !strchr(seps, s.p[i])) i++;
        uint32_t en = i;
        while (en > st && s.p[en - 1] == ' ') en--;
        if (en > st) {
            if (uniq) add_unique(ev, fld, (mm_str){s.p + st, en - st});
            else mm_event_add(ev, fld, (mm_str){s.p + st, en - st});
        }
    }
}
#define add_list(ev, fld, s, seps) add_list_x((ev), (fld), (s), (seps), true)

/* CVE-YYYY-NNNN[N...] ids mentioned in free text (IPS messages and references). */
static void add_cves(mm_event *ev, mm_str s) {
    int n = 0;
    for (uint32_t i = 0; i + 13 <= s.len && n < MAX_LIST; i++) {
        if ((s.p[i] | 0x20) != 'c' || (s.p[i + 1] | 0x20) != 'v' || (s.p[i + 2] | 0x20) != 'e' ||
            s.p[i + 3] != '-')
            continue;
        uint32_t j = i + 4, d = 0;
        while (j < s.len && d < 4 && s.p[j] >= '0' && s.p[j] <= '9') j++, d++;
        if (d != 4 || j >= s.len || s.p[j] != '-') continue;
        uint32_t k = ++j;
        while (j < s.len && j - k < 8 && s.p[j] >= '0' && s.p[j] <= '9') j++;
        if (j - k < 4) continue;
        char *o = mm_arena_alloc(ev->arena, j - i);
        memcpy(o, s.p + i, j - i);
        o[0] = 'C', o[1] = 'V', o[2] = 'E';
        add_unique(ev, MM_F_VULNERABILITY_ID, (mm_str){o, j - i});
        n++;
        i = j - 1;
    }
}

static void map_utm(fgt *f, ctx *c, mm_str subtype) {
    mm_event *ev = f->ev;
    bool has_action = HAS(f, K_ACTION);
    mm_str action = has_action ? V(f, K_ACTION) : (mm_str){NULL, 0};
    /* Elastic: block/blocked; ours: the other verbs IPS/AV use for a stopped flow */
    if (IS(action, "block") || IS(action, "blocked") || IS(action, "dropped") ||
        IS(action, "reset") || IS(action, "deny") || IS(action, "clear_session"))
        ADD(ev, MM_F_EVENT_TYPE, "denied");
    if (IS(subtype, "dns")) ADD(ev, MM_F_EVENT_TYPE, "info");
    if (IS(action, "pass") || IS(action, "passthrough")) ADD(ev, MM_F_EVENT_TYPE, "allowed");
    if (has_action) mm_event_set(ev, MM_F_EVENT_OUTCOME, MM_STR("success"));
    ADD(ev, MM_F_EVENT_CATEGORY, "network");
    /* ours: what the UTM profile found */
    if (IS(subtype, "ips") || IS(subtype, "anomaly"))
        ADD(ev, MM_F_EVENT_CATEGORY, "intrusion_detection");
    if (IS(subtype, "virus")) ADD(ev, MM_F_EVENT_CATEGORY, "malware");

    take(f, &c->d.ip, FIRST(f, K_DSTIP, K_REMIP));
    take(f, &c->d.port, FIRST(f, K_DST_PORT, K_REMPORT, K_DSTPORT));
    take(f, &c->d.bytes, K_RCVDBYTE);
    if (HAS(f, K_RECIPIENT)) add_list(ev, MM_F_EMAIL_TO, V(f, K_RECIPIENT), ",;");
    if (HAS(f, K_TO) && (IS(subtype, "emailfilter") || IS(subtype, "dlp") || IS(subtype, "virus")))
        add_list(ev, MM_F_EMAIL_TO, V(f, K_TO), ",;");
    take(f, &c->group, K_GROUP);
    take(f, &c->s.ip, FIRST(f, K_LOCIP, K_SRCIP));
    take(f, &c->s.port, FIRST(f, K_LOCPORT, K_SRC_PORT, K_SRCPORT));
    take(f, &c->s.bytes, K_SENTBYTE);
    set(f, MM_F_SOURCE_DOMAIN, K_SRCDOMAIN);
    set(f, MM_F_HTTP_REQUEST_METHOD, K_HTTPMETHOD);
    set(f, MM_F_HTTP_REQUEST_REFERRER, K_REFERRALURL);
    take(f, &c->s.mac, K_SRCMAC);
    take(f, &c->user, FIRST(f, K_UNAUTHUSER, K_USER));
    if (HAS(f, K_SENDER)) add_unique(ev, MM_F_EMAIL_SENDER, V(f, K_SENDER));
    if (HAS(f, K_FROM)) add_unique(ev, MM_F_EMAIL_FROM, V(f, K_FROM));
    set(f, MM_F_USER_AGENT_ORIGINAL, K_AGENT);
    set(f, MM_F_NETWORK_APPLICATION, K_APP);
    rule_category(f, FIRST(f, K_APPCAT, K_CATDESC));
    set_first(f, MM_F_RULE_RULESET, FIRST(f, K_APPLIST, K_PROFILE));
    set_first(f, MM_F_EVENT_CODE, FIRST(f, K_ERRORCODE, K_LOGID));
    set_first(f, MM_F_EVENT_ID, FIRST(f, K_EVENT_ID, K_EVENTID));
    set_first(f, MM_F_FILE_NAME, FIRST(f, K_FILENAME, K_INFECTEDFILENAME, K_MATCHEDFILENAME));
    set_first(f, MM_F_FILE_SIZE, FIRST(f, K_FILESIZE, K_INFECTEDFILESIZE));
    set_first(f, MM_F_FILE_EXTENSION, FIRST(f, K_FILETYPE, K_INFECTEDFILETYPE, K_MATCHEDFILETYPE));
    /* duplicates kept: the answer section may repeat an address */
    if (HAS(f, K_IPADDR)) add_list_x(ev, MM_F_DNS_RESOLVED_IP, V(f, K_IPADDR), ", ", false);
    set_first(f, MM_F_RULE_ID, FIRST(f, K_POLICY_ID, K_POLICYID));
    /* ours: the rule that fired, for IPS/anomaly/botnet; policyid stays rule.id */
    if (HAS(f, K_ATTACK)) mm_event_set(ev, MM_F_RULE_NAME, V(f, K_ATTACK));
    set(f, MM_F_RULE_UUID, K_POLUUID);
    set_protocol(f);
    set(f, MM_F_DNS_QUESTION_CLASS, K_QCLASS);
    set(f, MM_F_DNS_QUESTION_NAME, K_QNAME);
    set(f, MM_F_DNS_QUESTION_TYPE, K_QTYPE);
    map_url(f, HAS(f, K_URL), HAS(f, K_HOSTNAME));
    set(f, MM_F_DNS_ID, K_XID);
    if (HAS(f, K_SCERTCNAME)) add_unique(ev, MM_F_TLS_SERVER_SUBJECT_CN, V(f, K_SCERTCNAME));
    int iss = FIRST(f, K_SCERTISSUER, K_ISSUER);
    if (iss >= 0) {
        mm_event_set(ev, MM_F_TLS_SERVER_ISSUER, V(f, iss));
        add_unique(ev, MM_F_TLS_SERVER_ISSUER_CN, V(f, iss));
    }
    if (HAS(f, K_CCERTISSUER)) {
        mm_event_set(ev, MM_F_TLS_CLIENT_ISSUER, V(f, K_CCERTISSUER));
        add_unique(ev, MM_F_TLS_CLIENT_ISSUER_CN, V(f, K_CCERTISSUER));
    }
    set_first(f, MM_F_TLS_SERVER_KEY_ALG, FIRST(f, K_AUTHALGO, K_KEYALGO));
    set(f, MM_F_TLS_SERVER_KEY_SIZE, K_KEYSIZE);
    set(f, MM_F_TLS_SERVER_SERIAL, K_SN);
    set(f, MM_F_TLS_SERVER_SHA1, K_CERTHASH);
    if (HAS(f, K_SAN)) add_list(ev, MM_F_TLS_SERVER_SAN, V(f, K_SAN), ";");
    if (HAS(f, K_CN)) add_unique(ev, MM_F_TLS_SERVER_SAN, V(f, K_CN));
    set(f, MM_F_TLS_CURVE, K_KXCURVE);
    set(f, MM_F_TLS_CIPHER, K_CIPHER);
    if (HAS(f, K_SNI)) {
        mm_event_set(ev, MM_F_TLS_SERVER_NAME, V(f, K_SNI));
        mm_event_set(ev, MM_F_DESTINATION_DOMAIN, V(f, K_SNI));
    }
    if (HAS(f, K_TLSVER)) {
        /* "tls1.2" -> protocol "tls", version "1.2"; "ssl3" -> "ssl", "3.0" */
        mm_str t = lower(ev->arena, V(f, K_TLSVER));
        uint32_t i = 0;
        while (i < t.len && !(t.p[i] >= '0' && t.p[i] <= '9')) i++;
        if (i < t.len) {
            mm_event_set(ev, MM_F_TLS_VERSION_PROTOCOL, (mm_str){t.p, i});
            mm_str ver = {t.p + i, t.len - i};
            if (!memchr(ver.p, '.', ver.len)) {
                char *o = mm_arena_alloc(ev->arena, ver.len + 2);
                memcpy(o, ver.p, ver.len);
                memcpy(o + ver.len, ".0", 2);
                ver = (mm_str){o, ver.len + 2};
            }
            mm_event_set(ev, MM_F_TLS_VERSION, ver);
        }
    }
    if (HAS(f, K_DTYPE)) add_unique(ev, MM_F_VULNERABILITY_CATEGORY, V(f, K_DTYPE));
    set(f, MM_F_EVENT_REFERENCE, K_REF);
    if (HAS(f, K_QNAME)) dns_question(ev, V(f, K_QNAME));
    /* ours: antivirus / IPS / botnet details */
    if (HAS(f, K_CVE)) add_list(ev, MM_F_VULNERABILITY_ID, V(f, K_CVE), ",; ");
    else if (IS(subtype, "ips") || IS(subtype, "anomaly") || IS(subtype, "waf")) {
        /* FortiOS has no CVE key in IPS logs; some messages and references name one */
        if (HAS(f, K_MSG)) add_cves(ev, V(f, K_MSG));
        if (HAS(f, K_REF)) add_cves(ev, V(f, K_REF));
        if (HAS(f, K_ATTACK)) add_cves(ev, V(f, K_ATTACK));
    }
    if (HAS(f, K_ANALYTICSCKSUM)) hash_by_length(ev, V(f, K_ANALYTICSCKSUM));
    if (HAS(f, K_FILEHASH)) hash_by_length(ev, V(f, K_FILEHASH));
    int ind = FIRST(f, K_VIRUS, K_BOTNETDOMAIN, K_BOTNETIP);
    if (ind >= 0) mm_event_set(ev, MM_F_THREAT_INDICATOR, V(f, ind));
}

/* Elastic's "login" handling, for any record whose msg mentions a login: outcome,
 * user and source address from the well-known message shapes. */
static void map_login(fgt *f, ctx *c) {
    mm_event *ev = f->ev;
    if (!mm_event_has(ev, MM_F_EVENT_ACTION)) mm_event_set(ev, MM_F_EVENT_ACTION, MM_STR("login"));
    ADD(ev, MM_F_EVENT_CATEGORY, "authentication");
    if (c->user.len) mm_event_set(ev, MM_F_USER_NAME, c->user);
    if (HAS(f, K_ADMINPROF)) {
        add_unique(ev, MM_F_USER_ROLES, V(f, K_ADMINPROF));
        add_unique(ev, MM_F_SOURCE_USER_ROLES, V(f, K_ADMINPROF));
    }
    if (HAS(f, K_USERFROM) && starts_with(V(f, K_USERFROM), "JSON(")) {
        mm_str u = V(f, K_USERFROM);
        if (u.len > 6 && u.p[u.len - 1] == ')') c->s.ip = (mm_str){u.p + 5, u.len - 6};
    }
    mm_str msg = V(f, K_MSG);
    mm_str outcome = {NULL, 0};
    if (HAS(f, K_DESC) && starts_with(msg, "user")) {
        mm_str d = V(f, K_DESC);
        if (starts_with(d, "User login/logout ")) outcome = (mm_str){d.p + 18, d.len - 18};
    }
    if (starts_with(msg, "Login from ssh: ")) {
        /* Login from ssh: <outcome> for <user> from <ip> port <port> */
        int64_t a = find(msg, 16, " for ");
        int64_t b = a >= 0 ? find(msg, (uint32_t)a + 5, " from ") : -1;
        int64_t p = b >= 0 ? find(msg, (uint32_t)b + 6, " port ") : -1;
        if (p >= 0) {
            outcome = (mm_str){msg.p + 16, (uint32_t)a - 16};
            mm_event_set(ev, MM_F_USER_NAME, (mm_str){msg.p + a + 5, (uint32_t)(b - a - 5)});
            c->s.ip = (mm_str){msg.p + b + 6, (uint32_t)(p - b - 6)};
            c->s.port = (mm_str){msg.p + p + 6, (uint32_t)(msg.len - (uint32_t)p - 6)};
        }
    } else if (starts_with(msg, "Administrator")) {
        /* <role> <user> login <outcome> from <ui>(<ip>) ...
         * <role> <user> logged in <outcome> from <ui>(<ip>) */
        bool logged = icontains(msg, "logged in");
        const char *verb = logged ? " logged in " : " login ";
        int64_t s1 = find(msg, 0, " ");
        int64_t s2 = s1 >= 0 ? find(msg, (uint32_t)s1 + 1, verb) : -1;
        int64_t fr = s2 >= 0 ? find(msg, (uint32_t)s2 + (uint32_t)strlen(verb), " from ") : -1;
        int64_t lp = fr >= 0 ? find(msg, (uint32_t)fr + 6, "(") : -1;
        int64_t rp = lp >= 0 ? find(msg, (uint32_t)lp + 1, logged ? ")" : ") ") : -1;
        if (rp >= 0 && s2 > s1 + 1) {
            mm_str role = {msg.p, (uint32_t)s1};
            add_unique(ev, MM_F_USER_ROLES, role);
            add_unique(ev, MM_F_SOURCE_USER_ROLES, role);
            mm_event_set(ev, MM_F_USER_NAME, (mm_str){msg.p + s1 + 1, (uint32_t)(s2 - s1 - 1)});
            uint32_t os = (uint32_t)s2 + (uint32_t)strlen(verb);
            outcome = (mm_str){msg.p + os, (uint32_t)fr - os};
            c->s.ip = (mm_str){msg.p + lp + 1, (uint32_t)(rp - lp - 1)};
        }
    }
    if (outcome.len) {
        mm_str o = lower(ev->arena, outcome);
        if (starts_with(o, "fail")) mm_event_set(ev, MM_F_EVENT_OUTCOME, MM_STR("failure"));
        else if (starts_with(o, "success")) mm_event_set(ev, MM_F_EVENT_OUTCOME, MM_STR("success"));
        else mm_event_set(ev, MM_F_EVENT_OUTCOME, outcome);
    }
}

/* network.direction: the logged dir/direction, else from internal (private)
 * networks, as Elastic's network_direction processor with [private]. */
static void map_direction(fgt *f) {
    mm_event *ev = f->ev;
    int k = FIRST(f, K_DIR, K_DIRECTION);
    mm_str d = {NULL, 0};
    if (k >= 0) {
        d = lower(ev->arena, V(f, k));
        if (IS(d, "outgoing")) d = MM_STR("outbound");
        else if (IS(d, "incoming")) d = MM_STR("inbound");
    } else {
        const mm_value *s = mm_event_get(ev, MM_F_SOURCE_IP);
        const mm_value *t = mm_event_get(ev, MM_F_DESTINATION_IP);
        if (!s || !t || !s->parsed || !t->parsed) return;
        bool si = mm_ip_is_private(&s->ip), ti = mm_ip_is_private(&t->ip);
        d = si ? (ti ? MM_STR("internal") : MM_STR("outbound"))
               : (ti ? MM_STR("inbound") : MM_STR("external"));
    }
    if (!(IS(d, "ingress") || IS(d, "egress") || IS(d, "inbound") || IS(d, "outbound") ||
          IS(d, "internal") || IS(d, "external")))
        d = MM_STR("unknown");
    mm_event_set(ev, MM_F_NETWORK_DIRECTION, d);
    if (HAS(f, K_INTERFACE)) {
        bool in = IS(d, "ingress") || IS(d, "inbound") || IS(d, "internal");
        bool out = IS(d, "egress") || IS(d, "outbound") || IS(d, "external");
        if (in && !mm_event_has(ev, MM_F_OBSERVER_INGRESS_IF))
            mm_event_set(ev, MM_F_OBSERVER_INGRESS_IF, V(f, K_INTERFACE));
        if (out && !mm_event_has(ev, MM_F_OBSERVER_EGRESS_IF))
            mm_event_set(ev, MM_F_OBSERVER_EGRESS_IF, V(f, K_INTERFACE));
    }
}

static const char *iana_transport(mm_str n) {
    int64_t v;
    if (!parse_u64(n, &v)) return NULL;
    switch (v) {
    case 0: return "hopopt";
    case 1: return "icmp";
    case 2: return "igmp";
    case 6: return "tcp";
    case 8: return "egp";
    case 17: return "udp";
    case 47: return "gre";
    case 50: return "esp";
    case 58: return "ipv6-icmp";
    case 112: return "vrrp";
    case 132: return "sctp";
    default: return NULL;
    }
}

static void sum(mm_event *ev, mm_field a, mm_field b, mm_field out) {
    const mm_value *x = mm_event_get(ev, a), *y = mm_event_get(ev, b);
    int64_t total;
    if (x && y && x->parsed && y->parsed && !__builtin_add_overflow(x->i, y->i, &total))
        set_i64(ev, out, total);
}

/* ------------------------------------------------------------------ decode */

static int fgt_decode(mm_event *ev, mm_str msg, const mm_decode_opts *o) {
    pthread_once(&ktab_once, ktab_build);
    fgt f;
    f.ev = ev;
    f.o = o;
    memset(f.seen, 0, sizeof f.seen);
    memset(f.kept, 0, sizeof f.kept);
    if (scan(&f, msg) == 0) {
        mm_event_fail(ev, "not a FortiGate key=value record");
        return MM_EINVAL;
    }

    mm_event_set(ev, MM_F_OBSERVER_VENDOR, MM_STR("Fortinet"));
    mm_event_set(ev, MM_F_OBSERVER_PRODUCT, MM_STR("Fortigate"));
    mm_event_set(ev, MM_F_OBSERVER_TYPE, MM_STR("firewall"));

    /* time: @timestamp from date+time in tz (else the configured zone); event.start
     * from eventtime */
    int32_t off = o ? o->tz_offset : 0;
    if (HAS(&f, K_TZ)) {
        mm_str norm;
        int32_t t;
        if (fgt_tz(ev->arena, V(&f, K_TZ), &t, &norm)) off = t;
        mm_event_set(ev, MM_F_EVENT_TIMEZONE, norm);
    }
    bool have_ts = false;
    int64_t sec;
    if (HAS(&f, K_DATE) && HAS(&f, K_TIME) && fgt_datetime(V(&f, K_DATE), V(&f, K_TIME), &sec)) {
        /* text form: the device's local time and its offset, "2024-08-28T10:33:52+0200" */
        char *t = mm_arena_alloc(ev->arena, 24);
        memcpy(t, V(&f, K_DATE).p, 10);
        t[4] = t[7] = '-';
        t[10] = 'T';
        memcpy(t + 11, V(&f, K_TIME).p, 8);
        int32_t a = off < 0 ? -off : off;
        t[19] = off < 0 ? '-' : '+';
        t[20] = (char)('0' + a / 36000);
        t[21] = (char)('0' + a / 3600 % 10);
        t[22] = (char)('0' + a / 600 % 6);
        t[23] = (char)('0' + a / 60 % 10);
        set_time_text(ev, MM_F_TIMESTAMP, (mm_str){t, 24}, (sec - off) * NS);
        have_ts = true;
    }
    int64_t start;
    if (HAS(&f, K_EVENTTIME) && fgt_eventtime(V(&f, K_EVENTTIME), &start)) {
        set_time_text(ev, MM_F_EVENT_START, V(&f, K_EVENTTIME), start);
        if (!have_ts) set_time_text(ev, MM_F_TIMESTAMP, V(&f, K_EVENTTIME), start);
    }

    if (HAS(&f, K_DEVNAME)) {
        mm_event_set(ev, MM_F_OBSERVER_NAME, V(&f, K_DEVNAME));
        ev->observer = V(&f, K_DEVNAME);
    } else if (ev->observer.len) {
        mm_event_set(ev, MM_F_OBSERVER_NAME, ev->observer);
    }
    if (HAS(&f, K_DURATION)) {
        int64_t d;
        if (parse_u64(V(&f, K_DURATION), &d) && d < INT64_MAX / NS)
            set_i64(ev, MM_F_EVENT_DURATION, d * NS);
    }
    /* FortiManager/FortiAnalyzer-style records: device_id, log_id, pri */
    set_first(&f, MM_F_OBSERVER_SERIAL, FIRST(&f, K_DEVID, K_DEVICE_ID));
    set(&f, MM_F_EVENT_ID, K_LOG_ID);
    set_first(&f, MM_F_OBSERVER_EGRESS_IF, FIRST(&f, K_DST_INT, K_DSTINTF));
    set_first(&f, MM_F_OBSERVER_INGRESS_IF, FIRST(&f, K_SRC_INT, K_SRCINTF));
    set_first(&f, MM_F_LOG_LEVEL, FIRST(&f, K_LEVEL, K_PRI));
    if (HAS(&f, K_CC)) add_list(ev, MM_F_EMAIL_CC, V(&f, K_CC), ",;");
    set(&f, MM_F_EMAIL_SUBJECT, K_SUBJECT);
    if (HAS(&f, K_SRCNAME)) mm_event_set(ev, MM_F_HOST_NAME, lower(ev->arena, V(&f, K_SRCNAME)));
    set(&f, MM_F_MESSAGE, K_MSG);

    ctx c;
    memset(&c, 0, sizeof c);
    take(&f, &c.d.mac, K_DSTMAC);
    mm_str type = HAS(&f, K_TYPE) ? V(&f, K_TYPE) : (mm_str){NULL, 0};
    mm_str subtype = HAS(&f, K_SUBTYPE) ? V(&f, K_SUBTYPE) : (mm_str){NULL, 0};
    bool t_traffic = IS(type, "traffic"), t_event = IS(type, "event");
    /* "utm" and "dns" in Elastic; older FortiOS used the UTM subtype as type */
    bool t_utm = type.len && !t_traffic && !t_event;
    if (t_utm && !subtype.len) subtype = type;

    if (t_event) map_event(&f, &c, subtype);
    mm_str msg_s = HAS(&f, K_MSG) ? V(&f, K_MSG) : (mm_str){NULL, 0};
    if (mentions_login(msg_s)) map_login(&f, &c);
    if (t_traffic) map_traffic(&f, &c);
    if (t_utm) map_utm(&f, &c, subtype);
    if (!t_event && !t_traffic && !t_utm) {
        /* no type: at least the addresses, so detection and routing see them */
        take(&f, &c.s.ip, K_SRCIP);
        take(&f, &c.s.port, K_SRCPORT);
        take(&f, &c.d.ip, K_DSTIP);
        take(&f, &c.d.port, K_DSTPORT);
        take(&f, &c.user, K_USER);
        set(&f, MM_F_EVENT_CODE, K_LOGID);
    }
    set_endpoint(ev, &c.s, true);
    set_endpoint(ev, &c.d, false);
    if (c.user.len) mm_event_set(ev, MM_F_SOURCE_USER_NAME, c.user);
    if (c.group.len) mm_event_set(ev, MM_F_SOURCE_USER_GROUP, c.group);
    if (c.user.len && !mm_event_has(ev, MM_F_USER_NAME)) mm_event_set(ev, MM_F_USER_NAME, c.user);

    if (!mm_event_has(ev, MM_F_EVENT_ACTION)) {
        /* Elastic stops at eventtype; ours: the device's action verb otherwise */
        int k = FIRST(&f, K_EVENTTYPE, K_ACTION);
        set_first(&f, MM_F_EVENT_ACTION, k);
    }
    if (!mm_event_has(ev, MM_F_EVENT_REASON)) set_first(&f, MM_F_EVENT_REASON, FIRST(&f, K_REASON, K_EVENTSUBTYPE));
    map_direction(&f);
    sum(ev, MM_F_SOURCE_BYTES, MM_F_DESTINATION_BYTES, MM_F_NETWORK_BYTES);
    sum(ev, MM_F_SOURCE_PACKETS, MM_F_DESTINATION_PACKETS, MM_F_NETWORK_PACKETS);
    const mm_value *iana = mm_event_get(ev, MM_F_NETWORK_IANA_NUMBER);
    if (iana) {
        const char *tr = iana_transport(iana->s);
        if (tr) mm_event_set(ev, MM_F_NETWORK_TRANSPORT, mm_str_c(tr));
    }
    return 0;
}

/* Routing key: the srcip= value, found without decoding (quote-aware, so a srcip=
 * inside msg="..." does not count). */
/* The routing key: srcip, or for VPN events (which carry the client in remip, mapped
 * to source.ip) remip, so that burst windows grouped by source.ip see every event of
 * one source in one worker. */
static mm_str fgt_entity(mm_str rec) {
    mm_str fallback = {NULL, 0};
    if (!rec.p) return fallback;
    const char *p = rec.p, *end = rec.p + rec.len;
    while (p < end) {
        while (p < end && is_sep((unsigned char)*p)) p++;
        const char *ks = p;
        while (p < end && *p != '=' && !is_sep((unsigned char)*p)) p++;
        if (p >= end) break;
        if (*p != '=') continue;
        bool hit = p - ks == 5 && memcmp(ks, "srcip", 5) == 0;
        bool alt = p - ks == 5 && memcmp(ks, "remip", 5) == 0;
        p++;
        const char *vs = p;
        if (p < end && *p == '"') {
            vs = ++p;
            while (p < end && *p != '"') p += (*p == '\\' && p + 1 < end) ? 2 : 1;
            if (p > end) p = end;
            if (hit) return (mm_str){vs, (uint32_t)(p - vs)};
            if (alt) fallback = (mm_str){vs, (uint32_t)(p - vs)};
            if (p < end) p++;
        } else {
            while (p < end && !is_sep((unsigned char)*p)) p++;
            if (hit) return (mm_str){vs, (uint32_t)(p - vs)};
            if (alt) fallback = (mm_str){vs, (uint32_t)(p - vs)};
        }
    }
    return fallback;
}

const mm_decoder mm_decoder_fortigate = {
    .name = "fortigate",
    .vendor_prefix = "fortinet.firewall",
    .decode = fgt_decode,
    .entity = fgt_entity,
};
