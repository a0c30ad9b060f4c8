/* intel/list: indicator lists as analysts and feeds write them, turned into
 * indicator records — plain lists (one indicator a line), CSV exports (abuse.ch
 * URLhaus / ThreatFox / Feodo, MISP's CSV, hand-made spreadsheets) and free text
 * (a report or an e-mail pasted whole, read the way MISP's freetext import reads
 * it).
 *
 * The reader classifies and validates; it does not normalise (lower-casing,
 * masking CIDR host bits, dropping default ports are the store's job), so a
 * record's value is the source's text, trimmed and refanged.  Every line that
 * cannot become a record is counted with its reason in mm_intel_stats.
 *
 * Decisions an analyst should know about:
 *  - Plain or CSV is decided on the first data line: CSV when it starts with a
 *    quote or holds the delimiter, unless it reads "INDICATOR <space> text" with
 *    the space before the delimiter (a plain line whose comment has a comma).
 *  - A CSV header is the first data row when its cells are words and none is an
 *    indicator; abuse.ch dumps put theirs in the last '#' comment line instead
 *    ("# id,dateadded,url,..."), which is taken when the data has no header row.
 *  - Without a header: column 1 is the indicator, column 2 a type when it names
 *    one (anything else there is ignored), column 3 the description.
 *  - A type column names the type in the spellings feeds use (MISP's ip-dst,
 *    OTX's FileHash-SHA256, ThreatFox's ip:port...).  MISP composite types
 *    (domain|ip, filename|sha256) give one record per part.  A name the reader
 *    does not know is refused (unsupported_type), never guessed over: the feed
 *    said what it is.  MISP "link" (a reference to a report) is refused too.
 *  - A URL-typed bare host is a domain; a domain-typed "http://host/" is the
 *    host; an address typed as a hostname is an address; "ip:port" loses its port.
 *  - A MISP CSV to_ids column that says false keeps the row out of detection
 *    (counted as not_for_detection, like the MISP JSON reader).
 *  - Hosts-file blocklists ("0.0.0.0 evil.example") give the host, not 0.0.0.0.
 *  - Free text takes only what is unlikely to be prose: a domain needs a TLD-like
 *    last label (letters, 2..24, not Title-case) that is not a file extension, so
 *    "report.pdf", "Node.js", "Mr.Smith" and version numbers ("1.2.3.4.5") are not
 *    indicators; "host:port" gives the host, "sha256:<hex>" / "ip=<addr>" the value,
 *    and markdown links are looked into.  One document hands out a value once.  Bytes
 *    outside ASCII separate words, so indicators inside Japanese sentences are
 *    found (and IDN domains in free text are not: reports write them in punycode).
 *  - Defanged forms are refanged for network types only: a file name or a user
 *    agent is taken as written. */
#include "intel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DOC_MAX    (512u << 20)     /* a list larger than this is refused */
#define LINE_MAX_B MM_MAX_RECORD    /* longer lines are counted malformed */
#define VAL_MAX    8192             /* longest value (mm_intel_value_check's bound) */
#define DESC_MAX   1024
#define CTX_MAX    256              /* actor, malware, id cells are cut here */
#define MAX_COLS   256
#define BIN_PROBE  4096             /* a NUL in this prefix: binary, not a list */

/* Pseudo types for a type column: "a hash, length tells which" and "guess". */
#define T_HASH ((int)MM_IND__COUNT + 1)
#define T_AUTO ((int)MM_IND__COUNT + 2)

static inline char lc(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }
static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
static inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
static inline bool is_hex(char c) { return is_digit(c) || (lc(c) >= 'a' && lc(c) <= 'f'); }
static inline bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static void trim(const char **s, size_t *n) {
    while (*n && is_ws((*s)[0])) (*s)++, (*n)--;
    while (*n && is_ws((*s)[*n - 1])) (*n)--;
}

/* ---------------------------------------------------------------- refang */

static bool put(char *out, size_t cap, size_t *o, const char *s, size_t n) {
    if (*o + n >= cap) return false;   /* keep one byte for the NUL */
    memcpy(out + *o, s, n);
    *o += n;
    return true;
}

/* "hxxp" / "hXXps" / "fxp" starting at s[i]: how many bytes it spans (0 when it is
 * not one) and what it stands for. */
static size_t fanged_scheme(const char *s, size_t n, size_t i, const char **real) {
    if (i && is_alnum(s[i - 1])) return 0;   /* inside a word: "xhxxp" is not a scheme */
    size_t k = i;
    if (k + 4 <= n && lc(s[k]) == 'h' && lc(s[k + 1]) == 'x' && lc(s[k + 2]) == 'x' && lc(s[k + 3]) == 'p') {
        k += 4;
        *real = "http";
        if (k < n && lc(s[k]) == 's') {
            k++;
            *real = "https";
        }
    } else if (k + 3 <= n && lc(s[k]) == 'f' && lc(s[k + 1]) == 'x' && lc(s[k + 2]) == 'p') {
        k += 3;
        *real = "ftp";
    } else {
        return 0;
    }
    return k < n && (s[k] == ':' || s[k] == '[' || s[k] == '(') ? k - i : 0;
}

size_t mm_intel_refang(const char *v, size_t n, char *out, size_t cap) {
    static const struct { const char *in, *out; } br[] = {
        {"://", "://"}, {".", "."}, {"dot", "."}, {":", ":"}, {"@", "@"}, {"at", "@"}, {"/", "/"},
    };
    if (!out || cap == 0) return 0;
    if (!v) n = 0;
    size_t i = 0, o = 0;
    while (i < n) {
        char c = v[i];
        const char *real;
        size_t k = (c == 'h' || c == 'H' || c == 'f' || c == 'F') ? fanged_scheme(v, n, i, &real) : 0;
        if (k) {
            if (!put(out, cap, &o, real, strlen(real))) break;
            i += k;
            continue;
        }
        if (c == '[' || c == '(' || c == '{') {
            char close = c == '[' ? ']' : c == '(' ? ')' : '}';
            bool done = false;
            for (size_t b = 0; b < sizeof br / sizeof br[0] && !done; b++) {
                size_t l = strlen(br[b].in);
                if (i + l + 1 < n && v[i + l + 1] == close && !strncasecmp(v + i + 1, br[b].in, l)) {
                    if (!put(out, cap, &o, br[b].out, strlen(br[b].out))) goto full;
                    i += l + 2;
                    done = true;
                }
            }
            if (done) continue;
        }
        if (!put(out, cap, &o, &c, 1)) break;
        i++;
    }
full:
    out[o] = 0;
    return o;
}

/* ---------------------------------------------------------------- classify */

/* File extensions that look like top-level domains in prose ("report.pdf"). */
static const char *const file_ext[] = {
    "exe", "dll", "pdf", "doc", "docx", "docm", "xls", "xlsx", "xlsm", "ppt", "pptx", "zip", "rar", "7z",
    "gz", "tgz", "tar", "txt", "js", "vbs", "vbe", "jse", "wsf", "ps1", "psm1", "bat", "cmd", "lnk", "iso",
    "img", "vhd", "vhdx", "jpg", "jpeg", "png", "gif", "bmp", "svg", "ico", "html", "htm", "php", "asp",
    "aspx", "jsp", "cgi", "msi", "scr", "hta", "jar", "apk", "dmg", "rtf", "eml", "msg", "one", "cab",
    "cpl", "sys", "dat", "tmp", "log", "csv", "json", "xml", "yaml", "yml", "ini", "cfg", "conf", "bin",
    "elf", "py", "pl", "rb", "java", "class", "cpp", "hpp", "md", "db", "sqlite", "bak", "old", "pcap",
    "pcapng", "evtx", "reg", "chm", "url", "iqy", "xll", "wav", "mp3", "mp4", "avi", NULL,
};

static bool word_in(const char *s, size_t n, const char *const *set) {
    for (; *set; set++)
        if (strlen(*set) == n && !strncasecmp(s, *set, n)) return true;
    return false;
}

/* A host name: labels of letters, digits, '-', '_' (or UTF-8), at least two, the
 * last not all digits (that is a broken address).  wild: a leading "*." is
 * allowed.  strict (free text): ASCII only, no label starts or ends with '-', and
 * the last label is TLD-like — letters, 2..24, one case, or punycode — and no
 * file extension. */
static bool domain_ok(const char *s, size_t n, bool strict, bool wild) {
    if (wild && n >= 2 && s[0] == '*' && s[1] == '.') s += 2, n -= 2;
    if (n && s[n - 1] == '.') n--;
    if (n == 0 || n > 253) return false;
    size_t labels = 0, lab = 0, last = 0;
    bool digits = true, lastdigits = true;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (lab == 0 || lab > 63) return false;
            if (strict && (s[i - lab] == '-' || s[i - 1] == '-')) return false;
            labels++;
            last = i - lab;
            lastdigits = digits;
            lab = 0;
            digits = true;
            continue;
        }
        char c = s[i];
        if (is_alnum(c) || c == '-' || c == '_' || (!strict && (unsigned char)c >= 0x80)) {
            lab++;
            if (!is_digit(c)) digits = false;
        } else {
            return false;
        }
    }
    if (labels < 2 || lastdigits) return false;
    if (strict) {
        const char *t = s + last;
        size_t tl = n - last;
        if (tl > 4 && !strncasecmp(t, "xn--", 4)) return true;
        if (tl < 2 || tl > 24) return false;
        bool up = false, low = false;
        for (size_t i = 0; i < tl; i++) {
            if (!is_alpha(t[i])) return false;
            if (t[i] >= 'a') low = true;
            else up = true;
        }
        if (up && low) return false;   /* "Mr.Smith": prose writes names, not hosts, in title case */
        if (word_in(t, tl, file_ext)) return false;
    }
    return true;
}

/* An address or CIDR block, in brackets or not. */
static bool ip_ok(const char *s, size_t n) {
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') s++, n -= 2;
    mm_cidr c;
    return n && n <= 64 && mm_cidr_parse((mm_str){s, (uint32_t)n}, &c);
}

static bool scheme_len(const char *s, size_t n, size_t *len) {
    size_t i = 0;
    if (!n || !is_alpha(s[0])) return false;
    while (i < n && i < 32 && (is_alnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) i++;
    if (i + 3 <= n && s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
        *len = i;
        return true;
    }
    return false;
}

/* The host of "[scheme://][user@]host[:port][/path]" starting at s[start]: its
 * span, and where the authority ends. */
static void url_host(const char *s, size_t n, size_t start, size_t *hs, size_t *hn, size_t *aend) {
    size_t a = start;
    while (a < n && s[a] != '/' && s[a] != '?' && s[a] != '#') a++;
    size_t h = start;
    for (size_t i = a; i > start; i--)
        if (s[i - 1] == '@') {
            h = i;
            break;
        }
    size_t e = h;
    if (h < a && s[h] == '[') {
        while (e < a && s[e] != ']') e++;
        if (e < a) e++;
    } else {
        while (e < a && s[e] != ':') e++;
    }
    *hs = h;
    *hn = e - h;
    *aend = a;
}

static bool all_digits(const char *s, size_t n) {
    if (!n) return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i])) return false;
    return true;
}

static bool url_ok(const char *s, size_t n, bool strict) {
    size_t sl, hs, hn, a;
    if (scheme_len(s, n, &sl)) {
        url_host(s, n, sl + 3, &hs, &hn, &a);
        if (!hn) return false;
        for (size_t i = 0; i < n; i++)
            if (is_ws(s[i])) return false;
        return !strict || ip_ok(s + hs, hn) || domain_ok(s + hs, hn, false, false) ||
               (hn == 9 && !strncasecmp(s + hs, "localhost", 9));
    }
    /* no scheme: a host followed by a path */
    if (!n || s[0] == '/' || !memchr(s, '/', n)) return false;
    for (size_t i = 0; i < n; i++)
        if (is_ws(s[i])) return false;
    url_host(s, n, 0, &hs, &hn, &a);
    if (hs != 0 || a >= n || s[a] != '/') return false;   /* no user@ without a scheme */
    if (ip_ok(s, hn)) return !all_digits(s + a + 1, n - a - 1);   /* "10.0.0.0/33": a broken CIDR */
    return domain_ok(s, hn, strict, false);
}

static bool email_ok(const char *s, size_t n, bool strict) {
    const char *at = memchr(s, '@', n);
    if (!at || at == s) return false;
    size_t ln = (size_t)(at - s);
    if (ln > 64) return false;
    for (size_t i = 0; i < ln; i++) {
        char c = s[i];
        if (!(is_alnum(c) || strchr(".!#$%&'*+-/=?^_`{|}~", c) || (!strict && (unsigned char)c >= 0x80))) return false;
    }
    if (s[0] == '.' || s[ln - 1] == '.') return false;
    return domain_ok(at + 1, n - ln - 1, strict, false);
}

/* The type of a refanged value v (length *n); an address in brackets loses them
 * (in place, v stays NUL-terminated). */
static mm_ind_type classify(char *v, size_t *n, bool strict) {
    size_t m = *n;
    if (!m) return MM_IND_NONE;
    if (m <= 66 && ip_ok(v, m)) {
        if (v[0] == '[') {
            memmove(v, v + 1, m - 2);
            m -= 2;
            v[m] = 0;
            *n = m;
        }
        return MM_IND_IP;
    }
    if (m == 32 || m == 40 || m == 64) {
        size_t i = 0;
        while (i < m && is_hex(v[i])) i++;
        if (i == m) return m == 32 ? MM_IND_MD5 : m == 40 ? MM_IND_SHA1 : MM_IND_SHA256;
    }
    if (url_ok(v, m, strict)) return MM_IND_URL;
    if (email_ok(v, m, strict)) return MM_IND_EMAIL;
    if (domain_ok(v, m, strict, !strict)) return MM_IND_DOMAIN;
    return MM_IND_NONE;
}

mm_ind_type mm_intel_guess_type(const char *v, size_t n) {
    if (!v) return MM_IND_NONE;
    trim(&v, &n);
    if (!n || n > VAL_MAX) return MM_IND_NONE;
    char buf[VAL_MAX + 1];
    size_t m = mm_intel_refang(v, n, buf, sizeof buf);
    return classify(buf, &m, false);
}

/* ---------------------------------------------------------------- type names */

enum { SPLIT_NONE, SPLIT_FIRST, SPLIT_LAST };

/* How a type column's value becomes records.  Names are compared with '-', '_'
 * and ' ' taken as one character and case ignored (see name_eq).  a / b: the
 * types of the parts (b MM_IND_NONE: the part after '|' is no indicator, a port);
 * a MM_IND_NONE: known but refused, with `why`. */
typedef struct ltype {
    const char *name;
    int a, b;
    int split;
    bool optional;          /* the second part may be missing (malware-sample "name|md5") */
    const char *why;
} ltype;

static const ltype ltypes[] = {
    {"ip", MM_IND_IP, 0, 0, 0, 0},           {"ipv4", MM_IND_IP, 0, 0, 0, 0},
    {"ipv6", MM_IND_IP, 0, 0, 0, 0},         {"cidr", MM_IND_IP, 0, 0, 0, 0},
    {"ip-src", MM_IND_IP, 0, 0, 0, 0},       {"ip-dst", MM_IND_IP, 0, 0, 0, 0},
    {"ipv4-addr", MM_IND_IP, 0, 0, 0, 0},    {"ipv6-addr", MM_IND_IP, 0, 0, 0, 0},
    {"ip-address", MM_IND_IP, 0, 0, 0, 0},   {"ipaddress", MM_IND_IP, 0, 0, 0, 0},
    {"address", MM_IND_IP, 0, 0, 0, 0},      {"ip:port", MM_IND_IP, 0, 0, 0, 0},
    {"ipv4-cidr", MM_IND_IP, 0, 0, 0, 0},    {"ipv6-cidr", MM_IND_IP, 0, 0, 0, 0},
    {"netblock", MM_IND_IP, 0, 0, 0, 0},
    {"ip-src|port", MM_IND_IP, MM_IND_NONE, SPLIT_LAST, 0, 0},
    {"ip-dst|port", MM_IND_IP, MM_IND_NONE, SPLIT_LAST, 0, 0},
    {"domain", MM_IND_DOMAIN, 0, 0, 0, 0},   {"hostname", MM_IND_DOMAIN, 0, 0, 0, 0},
    {"fqdn", MM_IND_DOMAIN, 0, 0, 0, 0},     {"domain-name", MM_IND_DOMAIN, 0, 0, 0, 0},
    {"host", MM_IND_DOMAIN, 0, 0, 0, 0},     {"host-name", MM_IND_DOMAIN, 0, 0, 0, 0},
    {"domain|ip", MM_IND_DOMAIN, MM_IND_IP, SPLIT_FIRST, 0, 0},
    {"hostname|port", MM_IND_DOMAIN, MM_IND_NONE, SPLIT_LAST, 0, 0},
    {"url", MM_IND_URL, 0, 0, 0, 0},         {"uri", MM_IND_URL, 0, 0, 0, 0},
    {"md5", MM_IND_MD5, 0, 0, 0, 0},         {"sha1", MM_IND_SHA1, 0, 0, 0, 0},
    {"sha256", MM_IND_SHA256, 0, 0, 0, 0},   {"md5-hash", MM_IND_MD5, 0, 0, 0, 0},
    {"sha1-hash", MM_IND_SHA1, 0, 0, 0, 0},  {"sha256-hash", MM_IND_SHA256, 0, 0, 0, 0},
    {"filehash-md5", MM_IND_MD5, 0, 0, 0, 0}, {"filehash-sha1", MM_IND_SHA1, 0, 0, 0, 0},
    {"filehash-sha256", MM_IND_SHA256, 0, 0, 0, 0},
    {"file-md5", MM_IND_MD5, 0, 0, 0, 0},    {"file-sha1", MM_IND_SHA1, 0, 0, 0, 0},
    {"file-sha256", MM_IND_SHA256, 0, 0, 0, 0},
    {"hash", T_HASH, 0, 0, 0, 0},            {"filehash", T_HASH, 0, 0, 0, 0},
    {"file-hash", T_HASH, 0, 0, 0, 0},
    {"ja3", MM_IND_JA3, 0, 0, 0, 0},         {"ja3-fingerprint-md5", MM_IND_JA3, 0, 0, 0, 0},
    {"ja3-fingerprint", MM_IND_JA3, 0, 0, 0, 0}, {"ja3-md5", MM_IND_JA3, 0, 0, 0, 0},
    {"email", MM_IND_EMAIL, 0, 0, 0, 0},     {"e-mail", MM_IND_EMAIL, 0, 0, 0, 0},
    {"email-src", MM_IND_EMAIL, 0, 0, 0, 0}, {"email-dst", MM_IND_EMAIL, 0, 0, 0, 0},
    {"email-reply-to", MM_IND_EMAIL, 0, 0, 0, 0}, {"email-addr", MM_IND_EMAIL, 0, 0, 0, 0},
    {"email-address", MM_IND_EMAIL, 0, 0, 0, 0}, {"emailaddress", MM_IND_EMAIL, 0, 0, 0, 0},
    {"filename", MM_IND_FILENAME, 0, 0, 0, 0}, {"file-name", MM_IND_FILENAME, 0, 0, 0, 0},
    {"email-attachment", MM_IND_FILENAME, 0, 0, 0, 0},
    {"filename|md5", MM_IND_FILENAME, MM_IND_MD5, SPLIT_LAST, 0, 0},
    {"filename|sha1", MM_IND_FILENAME, MM_IND_SHA1, SPLIT_LAST, 0, 0},
    {"filename|sha256", MM_IND_FILENAME, MM_IND_SHA256, SPLIT_LAST, 0, 0},
    {"malware-sample", MM_IND_FILENAME, MM_IND_MD5, SPLIT_LAST, true, 0},
    {"user-agent", MM_IND_USER_AGENT, 0, 0, 0, 0}, {"useragent", MM_IND_USER_AGENT, 0, 0, 0, 0},
    {"ua", MM_IND_USER_AGENT, 0, 0, 0, 0},   {"http-user-agent", MM_IND_USER_AGENT, 0, 0, 0, 0},
    {"any", T_AUTO, 0, 0, 0, 0},             {"auto", T_AUTO, 0, 0, 0, 0},
    {"indicator", T_AUTO, 0, 0, 0, 0},       {"ioc", T_AUTO, 0, 0, 0, 0},
    {"link", MM_IND_NONE, 0, 0, 0, "a reference to a report, not an indicator"},
};

/* Case-insensitive, with '-', '_' and ' ' the same character: feeds write
 * "ip-dst", "IP_DST" and "First Seen" for the same thing. */
static bool name_eq(const char *s, size_t n, const char *name) {
    size_t l = strlen(name);
    if (l != n) return false;
    for (size_t i = 0; i < n; i++) {
        char a = lc(s[i]), b = name[i];
        if (a == ' ' || a == '_') a = '-';
        if (b == ' ' || b == '_') b = '-';
        if (a != b) return false;
    }
    return true;
}

static const ltype *ltype_find(const char *s, size_t n) {
    for (size_t i = 0; i < sizeof ltypes / sizeof ltypes[0]; i++)
        if (name_eq(s, n, ltypes[i].name)) return &ltypes[i];
    return NULL;
}

/* ---------------------------------------------------------------- header names */

enum { F_VALUE, F_TYPE, F_DESC, F_ACTOR, F_MALWARE, F_CONF, F_FIRST, F_LAST, F_ID, F_TOIDS, F_TAGS, F__N };

/* Column names and their rank (0 wins over 1): URLhaus has "url" and
 * "urlhaus_link", ThreatFox "malware_printable" and "fk_malware". */
static const struct { int field, rank; const char *name; } hnames[] = {
    {F_VALUE, 0, "indicator"}, {F_VALUE, 0, "ioc"}, {F_VALUE, 0, "ioc_value"}, {F_VALUE, 0, "value"},
    {F_VALUE, 0, "observable"}, {F_VALUE, 0, "indicator_value"}, {F_VALUE, 0, "observable_value"},
    {F_VALUE, 1, "url"}, {F_VALUE, 1, "domain"}, {F_VALUE, 1, "hostname"}, {F_VALUE, 1, "host"},
    {F_VALUE, 1, "fqdn"}, {F_VALUE, 1, "ip"}, {F_VALUE, 1, "ip_address"}, {F_VALUE, 1, "ipaddress"},
    {F_VALUE, 1, "dst_ip"}, {F_VALUE, 1, "ipv4"}, {F_VALUE, 1, "ipv6"}, {F_VALUE, 1, "address"},
    {F_VALUE, 1, "sha256"}, {F_VALUE, 1, "sha256_hash"}, {F_VALUE, 1, "md5"}, {F_VALUE, 1, "md5_hash"},
    {F_VALUE, 1, "sha1"}, {F_VALUE, 1, "sha1_hash"}, {F_VALUE, 1, "hash"}, {F_VALUE, 1, "filehash"},
    {F_VALUE, 1, "email"}, {F_VALUE, 1, "ja3"}, {F_VALUE, 1, "ja3_md5"}, {F_VALUE, 2, "src_ip"},
    {F_TYPE, 0, "type"}, {F_TYPE, 0, "ioc_type"}, {F_TYPE, 0, "indicator_type"}, {F_TYPE, 0, "kind"},
    {F_TYPE, 0, "attribute_type"}, {F_TYPE, 0, "observable_type"},
    {F_DESC, 0, "description"}, {F_DESC, 0, "desc"}, {F_DESC, 0, "comment"}, {F_DESC, 0, "comments"},
    {F_DESC, 0, "note"}, {F_DESC, 0, "notes"}, {F_DESC, 1, "threat"}, {F_DESC, 1, "threat_type"},
    {F_DESC, 1, "info"}, {F_DESC, 1, "title"},
    {F_ACTOR, 0, "actor"}, {F_ACTOR, 0, "threat_actor"}, {F_ACTOR, 0, "adversary"},
    {F_ACTOR, 0, "intrusion_set"}, {F_ACTOR, 1, "actor_name"}, {F_ACTOR, 1, "group"},
    {F_MALWARE, 0, "malware"}, {F_MALWARE, 0, "malware_family"}, {F_MALWARE, 0, "family"},
    {F_MALWARE, 0, "malware_printable"}, {F_MALWARE, 0, "malware_name"}, {F_MALWARE, 1, "fk_malware"},
    {F_MALWARE, 1, "signature"},
    {F_CONF, 0, "confidence"}, {F_CONF, 0, "score"}, {F_CONF, 0, "confidence_level"},
    {F_CONF, 0, "confidence_score"},
    {F_FIRST, 0, "first_seen"}, {F_FIRST, 0, "firstseen"}, {F_FIRST, 0, "first_seen_utc"},
    {F_FIRST, 0, "dateadded"}, {F_FIRST, 0, "date_added"}, {F_FIRST, 1, "date"}, {F_FIRST, 1, "created"},
    {F_FIRST, 1, "submission_time"}, {F_FIRST, 2, "timestamp"},
    {F_LAST, 0, "last_seen"}, {F_LAST, 0, "lastseen"}, {F_LAST, 0, "last_seen_utc"}, {F_LAST, 1, "last_online"},
    {F_ID, 0, "uuid"}, {F_ID, 0, "id"}, {F_ID, 0, "ioc_id"}, {F_ID, 0, "attribute_uuid"}, {F_ID, 0, "indicator_id"},
    {F_TOIDS, 0, "to_ids"},
    {F_TAGS, 0, "tags"}, {F_TAGS, 0, "tag"}, {F_TAGS, 0, "attribute_tag"},
};

typedef struct cols {
    int c[F__N];           /* 0-based column of each field, -1 none */
    bool implicit;         /* headerless defaults: a type cell that names no type is ignored */
} cols;

/* ---------------------------------------------------------------- reader state */

typedef struct rowctx {
    const char *desc, *actor, *malware, *id, *tlp;
    int conf;
    int64_t first, last;
} rowctx;

typedef struct rd {
    const char *feed;
    mm_indicator_fn fn;
    void *ctx;
    mm_intel_stats *st;
    bool stop;
    char delim;
    int conf;                 /* the list's confidence, -1 none */
    mm_ind_type force;
    size_t lineno;
    int ncell;
    const char *cell[MAX_COLS];
    char fbuf[2 * LINE_MAX_B + 16];   /* split cells, NUL-terminated (csv_split's bound) */
    char val[VAL_MAX + 1];
    char desc[DESC_MAX + 1];
    uint64_t *seen;           /* free text: hashes of (type, value) already handed out */
    size_t nseen, capseen;
} rd;

static void refuse(rd *r, uint64_t *counter, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(rd *r, uint64_t *counter, const char *fmt, ...) {
    mm_intel_stats *st = r->st;
    st->skipped++;
    if (counter) (*counter)++;
    size_t cap = sizeof st->last_reason;
    int k = r->lineno ? snprintf(st->last_reason, cap, "line %zu: ", r->lineno) : 0;
    if (k < 0 || (size_t)k >= cap) k = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->last_reason + k, cap - (size_t)k, fmt, ap);
    va_end(ap);
}

/* Feed text quoted in a reason: printable ASCII only, cut short. */
static const char *shown(const char *s, char out[48]) {
    size_t o = 0;
    for (; s && *s && o < 40; s++) out[o++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    if (s && *s) out[o++] = '.', out[o++] = '.', out[o++] = '.';
    out[o] = 0;
    return out;
}

static void emit(rd *r, mm_ind_type t, const char *v, const rowctx *x) {
    if (r->stop) return;
    mm_indicator ind = {
        .type = t, .value = v, .feed = r->feed, .id = x->id,
        .first_seen = x->first, .last_seen = x->last, .confidence = x->conf, .tlp = x->tlp,
        .actor = x->actor, .malware = x->malware, .description = x->desc,
    };
    r->st->imported++;
    if (r->fn && r->fn(r->ctx, &ind)) r->stop = true;
}

/* ---------------------------------------------------------------- values */

/* "host:port" / "[v6]:port" -> host, in place; false when v is no such thing. */
static bool strip_port(char *v, size_t *n) {
    size_t m = *n;
    const char *c = NULL;
    for (size_t i = m; i > 0; i--)
        if (v[i - 1] == ':') {
            c = v + i - 1;
            break;
        }
    if (!c || !all_digits(c + 1, (size_t)(v + m - c - 1)) || v + m - c - 1 > 5) return false;
    size_t h = (size_t)(c - v);
    if (h >= 2 && v[0] == '[' && v[h - 1] == ']') {
        memmove(v, v + 1, h - 2);
        h -= 2;
    } else if (memchr(v, ':', h)) {
        return false;   /* a bare IPv6 address: its last group is not a port */
    }
    v[h] = 0;
    *n = h;
    return true;
}

/* Turn s (n bytes, as the source wrote it) into the value of a record: trimmed,
 * refanged for network types, its type settled (want: a type, T_HASH or
 * MM_IND_NONE to guess) and checked.  Writes r->val; returns NULL and the type,
 * or the reason it cannot be a record. */
static const char *prep(rd *r, int want, const char *s, size_t n, mm_ind_type *tout) {
    char *v = r->val;
    trim(&s, &n);
    if (!n) return "empty value";
    if (n > VAL_MAX) return "value too long";
    size_t m;
    if (want == MM_IND_NONE || want == MM_IND_IP || want == MM_IND_DOMAIN || want == MM_IND_URL ||
        want == MM_IND_EMAIL) {
        m = mm_intel_refang(s, n, v, VAL_MAX + 1);
    } else {
        memcpy(v, s, n);
        v[n] = 0;
        m = n;
    }
    mm_ind_type t = (mm_ind_type)want, g;
    switch (want) {
    case MM_IND_NONE:
        t = classify(v, &m, false);
        if (t == MM_IND_NONE) return "not an indicator (no type recognised)";
        break;
    case T_HASH:
        t = m == 32 ? MM_IND_MD5 : m == 40 ? MM_IND_SHA1 : m == 64 ? MM_IND_SHA256 : MM_IND_NONE;
        if (t == MM_IND_NONE) return "hash of the wrong length";
        break;
    case MM_IND_IP:
        if (classify(v, &m, false) != MM_IND_IP && !strip_port(v, &m)) return "not an IP address or CIDR";
        break;
    case MM_IND_URL:
        g = classify(v, &m, false);
        if (g == MM_IND_DOMAIN || g == MM_IND_IP) t = g;   /* a bare site: the host is the indicator */
        else if (v[0] == '/') return "a path without a host";
        break;
    case MM_IND_DOMAIN: {
        size_t sl, hs, hn, a;
        if (scheme_len(v, m, &sl)) {
            url_host(v, m, sl + 3, &hs, &hn, &a);
            if (a < m && !(a + 1 == m && v[a] == '/')) return "a URL with a path where a domain was expected";
            memmove(v, v + hs, hn);
            m = hn;
            v[m] = 0;
        }
        if (classify(v, &m, false) == MM_IND_IP) t = MM_IND_IP;   /* a hostname column holding an address */
        else if (!domain_ok(v, m, false, true)) return "not a domain name";
        break;
    }
    default:
        break;
    }
    const char *why = mm_intel_value_check(t, v, m);
    if (why) return why;
    *tout = t;
    return NULL;
}

/* ---------------------------------------------------------------- cells */

/* Split one line into cells: NUL-terminated copies in r->fbuf, pointers in
 * r->cell (cells past MAX_COLS are dropped).  RFC 4180 quoting with "" escapes,
 * within the line; spaces around cells are dropped (ThreatFox writes `", "`).
 * Each input byte gives at most one output byte plus one NUL per cell, so a line
 * of n bytes needs at most 2n + 1 bytes of fbuf.  Returns the cell count, or -1
 * with *why set. */
static int csv_split(rd *r, const char *p, size_t n, const char **why) {
    char d = r->delim;
    size_t i = 0, o = 0;
    int nf = 0;
    char *fb = r->fbuf;
#define PAD(c) ((c) != d && ((c) == ' ' || (c) == '\t' || (c) == '\r'))
    for (;;) {
        while (i < n && PAD(p[i])) i++;
        char *cp = fb + o;
        if (i < n && p[i] == '"') {
            i++;
            bool closed = false;
            while (i < n) {
                if (p[i] == '"') {
                    if (i + 1 < n && p[i + 1] == '"') {
                        fb[o++] = '"';
                        i += 2;
                        continue;
                    }
                    closed = true;
                    i++;
                    break;
                }
                fb[o++] = p[i++];
            }
            if (!closed) {
                *why = "unterminated quoted cell";
                return -1;
            }
            while (i < n && PAD(p[i])) i++;
            if (i < n && p[i] != d) {
                *why = "text after a closing quote";
                return -1;
            }
        } else {
            size_t st = i;
            while (i < n && p[i] != d) i++;
            size_t e = i;
            while (e > st && PAD(p[e - 1])) e--;
            memcpy(fb + o, p + st, e - st);
            o += e - st;
        }
#undef PAD
        fb[o++] = 0;
        if (nf < MAX_COLS) r->cell[nf++] = cp;
        if (i >= n) break;
        i++;   /* the delimiter */
    }
    r->ncell = nf;
    return nf;
}

/* Cell k trimmed (in place) and cut at max bytes on a UTF-8 boundary; NULL when
 * absent or empty. */
static const char *cell_at(rd *r, int k, size_t max) {
    if (k < 0 || k >= r->ncell) return NULL;
    char *c = (char *)r->cell[k];
    size_t n = strlen(c);
    const char *s = c;
    trim(&s, &n);
    if (!n) return NULL;
    if (n > max) {
        n = max;
        while (n && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
    }
    c = (char *)s;
    c[n] = 0;
    return n ? c : NULL;
}

/* A header cell's field, and the rank of the name (lower is better). */
static int header_field(const char *s, int *rank) {
    size_t n = strlen(s);
    trim(&s, &n);
    for (size_t i = 0; i < sizeof hnames / sizeof hnames[0]; i++)
        if (name_eq(s, n, hnames[i].name)) {
            *rank = hnames[i].rank;
            return hnames[i].field;
        }
    return -1;
}

/* A header row: every cell a short word, none an indicator, some letter. */
static bool looks_like_header(rd *r) {
    bool letter = false;
    for (int i = 0; i < r->ncell; i++) {
        const char *c = r->cell[i];
        size_t n = strlen(c);
        if (n > 64) return false;
        for (size_t j = 0; j < n; j++) {
            char ch = c[j];
            if (is_alpha(ch)) letter = true;
            else if (!(is_digit(ch) || strchr(" _-.#()/", ch))) return false;
        }
        if (n && mm_intel_guess_type(c, n) != MM_IND_NONE) return false;
    }
    return letter;
}

/* The columns a header row names; returns how many fields it named. */
static int map_header(rd *r, cols *c) {
    int rank[F__N], found = 0;
    for (int f = 0; f < F__N; f++) c->c[f] = -1, rank[f] = 99;
    c->implicit = false;
    for (int i = 0; i < r->ncell; i++) {
        int rk, f = header_field(r->cell[i], &rk);
        if (f < 0 || rk >= rank[f]) continue;
        if (c->c[f] < 0) found++;
        c->c[f] = i;
        rank[f] = rk;
    }
    return found;
}

/* Explicit columns of the options win over a header and the defaults. */
static void apply_opts(cols *c, const mm_list_opts *o) {
    if (!o) return;
    const int want[] = {o->value_col, o->type_col, o->desc_col, o->actor_col, o->malware_col, o->confidence_col,
                        o->first_seen_col};
    const int field[] = {F_VALUE, F_TYPE, F_DESC, F_ACTOR, F_MALWARE, F_CONF, F_FIRST};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (want[i] > 0) c->c[field[i]] = want[i] - 1;
    if (o->type_col > 0) c->implicit = false;
}

static bool explicit_cols(const mm_list_opts *o) {
    return o && (o->value_col > 0 || o->type_col > 0 || o->desc_col > 0 || o->actor_col > 0 ||
                 o->malware_col > 0 || o->confidence_col > 0 || o->first_seen_col > 0);
}

/* Headerless layout: indicator, type (when it names one), description. */
static void default_cols(cols *c, const mm_list_opts *o) {
    for (int f = 0; f < F__N; f++) c->c[f] = -1;
    c->c[F_VALUE] = 0;
    c->implicit = !explicit_cols(o);
    if (c->implicit) {
        c->c[F_TYPE] = 1;
        c->c[F_DESC] = 2;
    }
}

static int parse_conf(const char *s, int def) {
    if (!s) return def;
    size_t n = strlen(s);
    if (n && s[n - 1] == '%') n--;
    int64_t v;
    if (mm_str_to_i64((mm_str){s, (uint32_t)n}, &v)) return v >= 0 && v <= 100 ? (int)v : def;
    if (!strncasecmp(s, "high", n) && n == 4) return 90;
    if (!strncasecmp(s, "medium", n) && n == 6) return 60;
    if (!strncasecmp(s, "low", n) && n == 3) return 30;
    return def;
}

/* RFC 3339, "YYYY-MM-DD hh:mm:ss" (abuse.ch, optionally " UTC"), "YYYY-MM-DD",
 * or epoch seconds (MISP CSV) -> ns; 0 when unknown. */
static int64_t parse_time(const char *s) {
    if (!s) return 0;
    size_t n = strlen(s);
    if (n == 0 || n > 64) return 0;
    char t[72];
    memcpy(t, s, n);
    t[n] = 0;
    if (n > 4 && !strcasecmp(t + n - 4, " UTC")) {
        t[n - 4] = 'Z';
        n -= 3;
        t[n] = 0;
    }
    if (n == 10 && t[4] == '-' && t[7] == '-' && all_digits(t, 4) && all_digits(t + 5, 2) && all_digits(t + 8, 2)) {
        int y = atoi(t), mo = atoi(t + 5), d = atoi(t + 8);
        if (y < 1970 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > 31) return 0;
        return mm_time_from_civil(y, mo, d, 0, 0, 0) * 1000000000LL;
    }
    int64_t ns;
    return mm_time_parse((mm_str){t, (uint32_t)n}, &ns) && ns > 0 ? ns : 0;
}

/* The most restrictive "tlp:x" in a tags cell. */
static const char *tags_tlp(const char *s) {
    static const char *const names[] = {"clear", "green", "amber", "amber+strict", "red"};
    int best = -1;
    for (const char *p = s; p && *p; p++) {
        if (lc(p[0]) != 't' || lc(p[1]) != 'l' || lc(p[2]) != 'p' || p[3] != ':') continue;
        p += 4;
        size_t n = 0;
        while (is_alpha(p[n]) || p[n] == '+') n++;
        int r = -1;
        if (n == 5 && !strncasecmp(p, "white", 5)) r = 0;
        for (int i = 0; i < 5 && r < 0; i++)
            if (strlen(names[i]) == n && !strncasecmp(p, names[i], n)) r = i;
        if (r > best) best = r;
        p += n ? n - 1 : 0;
    }
    return best >= 0 ? names[best] : NULL;
}

static bool says_false(const char *s) {
    return s && (!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "f") ||
                 !strcasecmp(s, "n"));
}

/* Copy a description, cut on a UTF-8 boundary, control bytes as spaces. */
static const char *desc_copy(rd *r, const char *s, size_t n) {
    trim(&s, &n);
    if (!n) return NULL;
    if (n > DESC_MAX) {
        n = DESC_MAX;
        while (n && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
    }
    for (size_t i = 0; i < n; i++) r->desc[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    r->desc[n] = 0;
    return n ? r->desc : NULL;
}

/* ---------------------------------------------------------------- rows */

static void csv_row(rd *r, const cols *cl) {
    mm_intel_stats *st = r->st;
    int nf = r->ncell;
    st->objects++;
    /* a context column that is also the indicator column would be cut in place
     * (cell_at) before the indicator is read: the indicator wins */
    cols cx = *cl, *c = &cx;
    for (int f = 0; f < F__N; f++)
        if (f != F_VALUE && cx.c[f] == cx.c[F_VALUE]) cx.c[f] = -1;
    if (c->c[F_VALUE] >= nf) {
        refuse(r, &st->malformed, "%d cell(s), no indicator column %d", nf, c->c[F_VALUE] + 1);
        return;
    }
    if (says_false(cell_at(r, c->c[F_TOIDS], 16))) {
        st->not_for_detection++;
        return;
    }
    int want = r->force;
    const ltype *lt = NULL;
    char tname[48] = "";
    const char *tc = want == MM_IND_NONE ? cell_at(r, c->c[F_TYPE], 64) : NULL;
    if (tc) {
        lt = ltype_find(tc, strlen(tc));
        mm_ind_type canon = lt ? MM_IND_NONE : mm_intel_type_parse(tc);
        shown(tc, tname);
        if (lt && lt->a == MM_IND_NONE) {
            refuse(r, &st->unsupported_type, "type %s: %s", tname, lt->why);
            return;
        }
        if (lt) want = lt->a == T_AUTO ? MM_IND_NONE : lt->a;
        else if (canon != MM_IND_NONE) want = canon;
        else if (!c->implicit) {
            refuse(r, &st->unsupported_type, "type %s is not an indicator type", tname);
            return;
        } else {
            tname[0] = 0;   /* headerless: column 2 was not a type after all */
        }
    }
    rowctx x = {
        .actor = cell_at(r, c->c[F_ACTOR], CTX_MAX), .malware = cell_at(r, c->c[F_MALWARE], CTX_MAX),
        .id = cell_at(r, c->c[F_ID], CTX_MAX), .tlp = tags_tlp(cell_at(r, c->c[F_TAGS], DESC_MAX)),
        .conf = parse_conf(cell_at(r, c->c[F_CONF], 16), r->conf),
        .first = parse_time(cell_at(r, c->c[F_FIRST], 64)), .last = parse_time(cell_at(r, c->c[F_LAST], 64)),
    };
    const char *d = cell_at(r, c->c[F_DESC], DESC_MAX);
    x.desc = d ? desc_copy(r, d, strlen(d)) : NULL;
    if (x.first && x.last && x.last < x.first) x.last = x.first;

    const char *v = r->cell[c->c[F_VALUE]];
    size_t n = strlen(v);
    mm_ind_type t;
    const char *why;
    if (!lt || lt->split == SPLIT_NONE) {
        why = prep(r, want, v, n, &t);
        if (why) refuse(r, &st->bad_value, "%s%s%s", tname, tname[0] ? " value: " : "", why);
        else emit(r, t, r->val, &x);
        return;
    }
    /* a MISP composite: split at the first or the last '|' (a file name may hold
     * '|', a hash never does) */
    const char *bar = mm_intel_composite_bar(v, n, lt->split == SPLIT_FIRST);
    if (!bar && !lt->optional) {
        refuse(r, &st->bad_value, "%s value without its '|' separator", tname);
        return;
    }
    size_t n1 = bar ? (size_t)(bar - v) : n;
    const char *bad = prep(r, lt->a, v, n1, &t);
    if (!bad) emit(r, t, r->val, &x);
    if (bar && lt->b != MM_IND_NONE && !r->stop) {
        why = prep(r, lt->b, bar + 1, n - n1 - 1, &t);
        if (!why) emit(r, t, r->val, &x);
        else if (!bad) bad = why;
    }
    if (bad) refuse(r, &st->bad_value, "%s value: %s", tname, bad);
}

/* Hosts files: "0.0.0.0 evil.example" blocks evil.example, not 0.0.0.0; their
 * preamble ("127.0.0.1 localhost", "ff02::1 ip6-allnodes") is format, not data. */
static bool sink_address(const char *s, size_t n) {
    static const char *const sinks[] = {"0.0.0.0", "127.0.0.1", "::", "::1", "0", NULL};
    return word_in(s, n, sinks);
}
static bool hosts_preamble(const char *s, size_t n) {
    static const char *const names[] = {"localhost", "localhost.localdomain", "local", "broadcasthost",
                                        "0.0.0.0", NULL};
    return word_in(s, n, names) || (n > 4 && !strncasecmp(s, "ip6-", 4));
}

/* The types whose values hold spaces: a plain line is the value up to " #". */
static bool whole_line_type(mm_ind_type t) { return t == MM_IND_USER_AGENT || t == MM_IND_FILENAME; }

static void plain_row(rd *r, const char *p, size_t n) {
    mm_intel_stats *st = r->st;
    const char *v = p, *rest;
    size_t vn, rn;
    if (whole_line_type(r->force)) {
        vn = 0;
        while (vn < n && !(p[vn] == '#' && vn && is_ws(p[vn - 1]))) vn++;
    } else {
        vn = 0;
        while (vn < n && !is_ws(p[vn])) vn++;
        rest = p + vn;
        rn = n - vn;
        trim(&rest, &rn);
        size_t tn = 0;
        while (tn < rn && !is_ws(rest[tn])) tn++;
        if (tn && rest[0] != '#' && rest[0] != ';' && ip_ok(v, vn)) {
            if (hosts_preamble(rest, tn)) return;
            if (sink_address(v, vn)) {
                v = rest;
                vn = tn;
            }
        }
    }
    st->objects++;
    rest = v + vn;
    rn = (size_t)(p + n - rest);
    trim(&rest, &rn);
    if (rn && (rest[0] == '#' || rest[0] == ';')) rest++, rn--;
    else if (rn >= 2 && rest[0] == '/' && rest[1] == '/') rest += 2, rn -= 2;
    rowctx x = {.desc = desc_copy(r, rest, rn), .conf = r->conf};
    mm_ind_type t;
    const char *why = prep(r, r->force, v, vn, &t);
    if (why) refuse(r, &st->bad_value, "%s", why);
    else emit(r, t, r->val, &x);
}

/* Is this first data line a CSV row?  A quote or the delimiter says so, except
 * "INDICATOR  text, more text": a plain line whose comment holds a comma. */
static bool csv_line(const char *p, size_t n, char d) {
    if (p[0] == '"') return true;
    const char *dp = memchr(p, d, n);
    if (!dp) return false;
    size_t t = 0;
    while (t < n && p[t] != d && !is_ws(p[t])) t++;
    if (t == n || p[t] == d) return true;
    size_t k = t;
    while (k < n && is_ws(p[k])) k++;
    if (k < n && p[k] == d) return true;   /* "value ,type": spaces before the delimiter */
    return mm_intel_guess_type(p, t) == MM_IND_NONE;
}

static int lines(rd *r, const char *p, size_t n, const mm_list_opts *o) {
    mm_intel_stats *st = r->st;
    int header = o ? o->header : -1;
    bool force_csv = explicit_cols(o) || header == 1 || r->delim != ',';
    int mode = 0;                  /* 0 undecided, 1 plain, 2 CSV */
    bool header_done = header == 0, cmt_found = false;
    cols c, cc;
    default_cols(&c, o);
    apply_opts(&c, o);
    cc = c;
    size_t pos = 0;
    while (pos < n && !r->stop) {
        const char *nl = memchr(p + pos, '\n', n - pos);
        size_t e = nl ? (size_t)(nl - p) : n;
        const char *s = p + pos;
        size_t ll = e - pos;
        pos = e + 1;
        r->lineno++;
        if (ll > LINE_MAX_B) {
            st->objects++;
            refuse(r, &st->malformed, "line longer than %u bytes", (unsigned)LINE_MAX_B);
            continue;
        }
        /* trim, keeping leading tabs of a TSV (they are empty cells) */
        while (ll && (s[0] == ' ' || (s[0] == '\t' && r->delim != '\t'))) s++, ll--;
        while (ll && (s[ll - 1] == '\r' || s[ll - 1] == ' ' || (s[ll - 1] == '\t' && r->delim != '\t'))) ll--;
        if (!ll) continue;
        if (memchr(s, 0, ll)) {
            st->objects++;
            refuse(r, &st->malformed, "NUL byte in the line");
            continue;
        }
        if (s[0] == '#') {
            /* abuse.ch: the header is the last '#' line naming an indicator column */
            if (mode != 1 && !header_done && header == -1) {
                const char *h = s;
                size_t hl = ll;
                while (hl && (h[0] == '#' || is_ws(h[0]))) h++, hl--;
                const char *why;
                cols t;
                if (hl && memchr(h, r->delim, hl) && csv_split(r, h, hl, &why) >= 2 && looks_like_header(r) &&
                    map_header(r, &t) && t.c[F_VALUE] >= 0) {
                    cc = t;
                    cmt_found = true;
                }
            }
            continue;
        }
        if (ll >= 2 && s[0] == '/' && s[1] == '/') continue;
        if (s[0] == ';' && r->delim != ';') continue;   /* Spamhaus-style comments */
        if (!mode)
            mode = force_csv || s[0] == '"' || (!whole_line_type(r->force) && csv_line(s, ll, r->delim)) ? 2 : 1;
        if (mode == 1) {
            if (!header_done) {
                header_done = true;
                /* a one-column CSV: "url" above the URLs */
                size_t t = 0;
                int rk;
                while (t < ll && !is_ws(s[t])) t++;
                char w[72];
                if (t < sizeof w) {
                    memcpy(w, s, t);
                    w[t] = 0;
                }
                if (header == 1 || (t == ll && t < sizeof w && mm_intel_guess_type(s, t) == MM_IND_NONE &&
                                    header_field(w, &rk) == F_VALUE))
                    continue;
            }
            plain_row(r, s, ll);
            continue;
        }
        const char *why;
        if (csv_split(r, s, ll, &why) < 0) {
            st->objects++;
            refuse(r, &st->malformed, "%s", why);
            continue;
        }
        if (!header_done) {
            header_done = true;
            if (header == 1 || looks_like_header(r)) {
                cols h;
                if (map_header(r, &h)) {
                    if (h.c[F_VALUE] < 0) h.c[F_VALUE] = cmt_found && cc.c[F_VALUE] >= 0 ? cc.c[F_VALUE] : 0;
                    c = h;
                } else if (cmt_found) {
                    c = cc;
                }
                apply_opts(&c, o);
                continue;
            }
            if (cmt_found) {
                c = cc;
                apply_opts(&c, o);
            }
        }
        csv_row(r, &c);
    }
    return 0;
}

/* ---------------------------------------------------------------- free text */

static bool ft_sep(char c) {
    unsigned char u = (unsigned char)c;
    return u <= ' ' || u >= 0x7f || strchr("\"'<>,;|`\\", c) != NULL;
}

/* Remember (type, value); false when it was already handed out. */
static int seen_add(rd *r, mm_ind_type t, const char *v, size_t n) {
    uint64_t h = mm_hash(v, n, 0x51ed270b27f1ab4dULL + (uint64_t)t);
    if (!h) h = 1;
    if ((r->nseen + 1) * 2 > r->capseen) {
        size_t nc = r->capseen ? r->capseen * 2 : 1024;
        uint64_t *ns = calloc(nc, sizeof *ns);
        if (!ns) return -1;
        for (size_t i = 0; i < r->capseen; i++) {
            if (!r->seen[i]) continue;
            size_t j = r->seen[i] & (nc - 1);
            while (ns[j]) j = (j + 1) & (nc - 1);
            ns[j] = r->seen[i];
        }
        free(r->seen);
        r->seen = ns;
        r->capseen = nc;
    }
    size_t j = h & (r->capseen - 1);
    while (r->seen[j]) {
        if (r->seen[j] == h) return 0;
        j = (j + 1) & (r->capseen - 1);
    }
    r->seen[j] = h;
    r->nseen++;
    return 1;
}

/* Strip what prose puts around an indicator: quotes, markdown, sentence
 * punctuation, and brackets that do not belong to it ("(see evil[.]example)").
 * Bracket counts are kept as the edges go, so this is linear in the token. */
static void ft_edges(const char **s, size_t *n) {
    static const char open[] = "([{", close[] = ")]}";
    size_t co[3] = {0, 0, 0}, cc[3] = {0, 0, 0};
    for (size_t i = 0; i < *n; i++)
        for (int k = 0; k < 3; k++) {
            co[k] += (*s)[i] == open[k];
            cc[k] += (*s)[i] == close[k];
        }
    while (*n) {
        char a = (*s)[0], z = (*s)[*n - 1];
        const char *ao = strchr(open, a), *zc = strchr(close, z);
        if (ao && a) {
            int k = (int)(ao - open);
            if (*n >= 2 && z == close[k] && *n != 3) {   /* "(x)"; "(.)" alone is a defang */
                co[k]--, cc[k]--;
                (*s)++, *n -= 2;
                continue;
            }
            if (!cc[k]) {
                co[k]--;
                (*s)++, (*n)--;
                continue;
            }
        }
        if (zc && z) {
            int k = (int)(zc - close);
            if (cc[k] > co[k]) {
                cc[k]--;
                (*n)--;
                continue;
            }
        }
        if (a && strchr("*~_", a) && *n > 1) {
            (*s)++, (*n)--;
            continue;
        }
        if (z && strchr(".:!?*~_", z) && !(z == ':' && *n >= 2 && (*s)[*n - 2] == ':')) {
            (*n)--;
            continue;
        }
        break;
    }
}

/* One word of free text: an indicator in it is handed out once per document. */
static int ft_token(rd *r, const char *s, size_t n, int depth) {
    ft_edges(&s, &n);
    if (n < 3 || n > VAL_MAX) return 0;
    if (depth < 2) {
        /* a markdown link "[text](url)": both halves may hold indicators */
        for (size_t i = 0; i + 1 < n; i++)
            if (s[i] == ']' && s[i + 1] == '(') {
                if (ft_token(r, s, i + 1, depth + 1) < 0) return -1;
                return ft_token(r, s + i + 1, n - i - 1, depth + 1);
            }
    }
    if (n > 7 && !strncasecmp(s, "mailto:", 7)) s += 7, n -= 7;
    char *v = r->val;
    size_t m = mm_intel_refang(s, n, v, VAL_MAX + 1);
    mm_ind_type t = classify(v, &m, true);
    if (t == MM_IND_NONE && m < VAL_MAX) {
        /* "203.0.113.5:8080", "evil.example:443": the host is the indicator */
        size_t m2 = m;
        if (strip_port(v, &m2) && m2) {
            mm_ind_type t2 = classify(v, &m2, true);
            if (t2 == MM_IND_IP || t2 == MM_IND_DOMAIN) t = t2, m = m2;
        }
    }
    if (t == MM_IND_NONE) {
        /* "sha256:<hex>", "ip=203.0.113.5", "URL:hxxp://...": try after the label */
        if (depth >= 2) return 0;
        for (size_t i = 1; i + 1 < n; i++)
            if (s[i] == '=' || (s[i] == ':' && !(i + 2 < n && s[i + 1] == '/' && s[i + 2] == '/'))) {
                for (size_t j = 0; j < i; j++)
                    if (!is_alnum(s[j]) && s[j] != '-' && s[j] != '_' && s[j] != '.') return 0;
                return ft_token(r, s + i + 1, n - i - 1, depth + 1);
            }
        return 0;
    }
    int fresh = seen_add(r, t, v, m);
    if (fresh < 0) return -1;
    if (!fresh) return 0;
    r->st->objects++;
    const char *why = mm_intel_value_check(t, v, m);
    if (why) {
        refuse(r, &r->st->bad_value, "%s", why);
        return 0;
    }
    rowctx x = {.conf = r->conf};
    emit(r, t, v, &x);
    return 0;
}

static int freetext(rd *r, const char *p, size_t n, mm_err *err) {
    size_t i = 0;
    r->lineno = 1;
    while (i < n && !r->stop) {
        while (i < n && ft_sep(p[i])) {
            if (p[i] == '\n') r->lineno++;
            i++;
        }
        size_t s = i;
        while (i < n && !ft_sep(p[i])) i++;
        if (i > s && ft_token(r, p + s, i - s, 0) < 0) {
            if (err) mm_err_set(err, "list: out of memory");
            return MM_ENOMEM;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- entry */

int mm_list_read(const char *text, size_t len, const char *feed, const mm_list_opts *o, mm_indicator_fn fn,
                 void *ctx, mm_intel_stats *st, mm_err *err) {
    mm_intel_stats dummy;
    if (!st) {
        memset(&dummy, 0, sizeof dummy);
        st = &dummy;
    }
    if ((!text && len) || len > DOC_MAX) {
        if (err) mm_err_set(err, "list: text missing or larger than %u bytes", DOC_MAX);
        return MM_EINVAL;
    }
    if (!text) text = "";
    const char *nul = memchr(text, 0, len < BIN_PROBE ? len : BIN_PROBE);
    if (nul) {
        if (err) mm_err_set(err, "list: binary data (a NUL byte at offset %zu), not a text list", (size_t)(nul - text));
        return MM_EINVAL;
    }
    char d = o && o->delimiter ? o->delimiter : ',';
    if (d == '"' || d == '#' || d == '\n' || d == '\r' || d == ' ' || is_alnum(d) || (unsigned char)d >= 0x80) {
        if (err) mm_err_set(err, "list: unusable delimiter (use , tab ; or |)");
        return MM_EINVAL;
    }
    if (o) {
        const int c[] = {o->value_col, o->type_col, o->desc_col, o->actor_col, o->malware_col, o->confidence_col,
                         o->first_seen_col};
        for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
            if (c[i] < 0 || c[i] > MAX_COLS) {
                if (err) mm_err_set(err, "list: column %d out of range (1..%d, 0 = from the header)", c[i], MAX_COLS);
                return MM_EINVAL;
            }
        if (o->type < MM_IND_NONE || o->type >= MM_IND__COUNT) {
            if (err) mm_err_set(err, "list: unknown indicator type %d", (int)o->type);
            return MM_EINVAL;
        }
    }
    rd *r = calloc(1, sizeof *r);
    if (!r) {
        if (err) mm_err_set(err, "list: out of memory");
        return MM_ENOMEM;
    }
    r->feed = feed;
    r->fn = fn;
    r->ctx = ctx;
    r->st = st;
    r->delim = d;
    r->conf = o ? (o->confidence >= 0 && o->confidence <= 100 ? o->confidence : -1) : -1;
    r->force = o ? o->type : MM_IND_NONE;
    size_t pos = 0;
    if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb &&
        (unsigned char)text[2] == 0xbf)
        pos = 3;   /* UTF-8 BOM (spreadsheet exports) */
    int rc = o && o->freetext ? freetext(r, text + pos, len - pos, err) : lines(r, text + pos, len - pos, o);
    free(r->seen);
    free(r);
    return rc;
}
