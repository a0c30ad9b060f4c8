/* ioc: indicator lists (IP, CIDR, domain, URL, md5/sha1/sha256) and their lookup.
 *
 * Lists come from feeds, so every line is untrusted: it is normalised into a key
 * with bounded buffers, and a line that is not an indicator is counted and skipped.
 *
 * Formats (auto-detected on the first data line):
 *   plain  one indicator per line; '#' starts a comment (whole line, or after
 *          whitespace); text after the indicator is its description.  CRLF is fine.
 *   CSV    the first data line holds a comma outside quotes.  Column 1 is the
 *          indicator, column 2 an optional type, column 3 an optional description;
 *          an optional header row may name the columns instead (indicator/ioc/value/
 *          url/domain/ip/sha256..., type/ioc_type, description/comment/threat).
 *          Quoted fields with "" escapes are understood (not across lines).
 * Defanged forms (hxxp://, evil[.]example) are refanged.
 *
 * Types, decided by the text unless a type column says otherwise:
 *   IPv4/IPv6 address, or CIDR (host bits are masked off);
 *   domain: lower-cased, trailing dot and leading "*." removed; matches itself and
 *     every subdomain (evil.example matches a.b.evil.example, not notevil.example);
 *   URL: scheme dropped (http://x/a, https://x/a and x/a are the same key), host
 *     lower-cased, default ports (80, 443) dropped, fragment dropped, empty path
 *     becomes "/"; an indicator without a query also matches the URL with one;
 *   md5/sha1/sha256 by hex length, case-insensitive.
 *
 * Lookup is one hash table keyed by (type, normalised key): addresses are probed
 * once per prefix length present in the set (longest first), domains once per
 * parent domain, so a lookup costs a handful of probes whatever the list size. */
#include "detect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 2048     /* longest normalised indicator or event value looked up */
#define DESC_MAX 256

typedef struct ient {
    uint64_t h;
    const char *key;
    uint32_t klen;
    uint8_t type;
    const char *text;    /* display form */
    const char *list;
    const char *desc;
} ient;

struct mm_ioc_set {
    mm_arena arena;
    ient *e;
    uint32_t n, cap;
    uint32_t *slot;      /* index+1, 0 = empty */
    uint32_t mask;       /* slots - 1 */
    const char **lists;
    int nlists, caplists;
    uint32_t nlen4[33], nlen6[129];
    uint8_t ord4[33], ord6[129];   /* prefix lengths present, longest first */
    int nord4, nord6;
};

static inline char lc(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }
static inline bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
static inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static mm_str trim(mm_str s) {
    while (s.len && is_space(s.p[0])) s.p++, s.len--;
    while (s.len && is_space(s.p[s.len - 1])) s.len--;
    return s;
}

/* ---------------------------------------------------------------- set */

mm_ioc_set *mm_ioc_set_new(void) {
    mm_ioc_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    mm_arena_init(&s->arena, 64 * 1024);
    return s;
}

void mm_ioc_set_free(mm_ioc_set *s) {
    if (!s) return;
    mm_arena_free(&s->arena);
    free(s->e);
    free(s->slot);
    free(s->lists);
    free(s);
}

int mm_ioc_count(const mm_ioc_set *s) { return s ? (int)s->n : 0; }

static uint64_t key_hash(unsigned type, const char *k, size_t n) {
    return mm_hash(k, n, 0x9e3779b97f4a7c15ULL * (type + 1));
}

static const ient *find(const mm_ioc_set *s, unsigned type, const char *k, uint32_t n,
                        uint64_t h) {
    if (!s->slot) return NULL;
    for (uint32_t i = (uint32_t)h & s->mask;; i = (i + 1) & s->mask) {
        uint32_t x = s->slot[i];
        if (!x) return NULL;
        const ient *e = &s->e[x - 1];
        if (e->h == h && e->type == type && e->klen == n && memcmp(e->key, k, n) == 0)
            return e;
    }
}

static bool grow(mm_ioc_set *s) {
    if (s->n == s->cap) {
        uint32_t nc = s->cap ? s->cap * 2 : 256;
        ient *ne = realloc(s->e, (size_t)nc * sizeof *ne);
        if (!ne) return false;
        s->e = ne;
        s->cap = nc;
    }
    /* keep the table at most half full */
    if (!s->slot || (uint64_t)(s->n + 1) * 2 > (uint64_t)s->mask + 1) {
        uint32_t ns = s->slot ? (s->mask + 1) * 2 : 1024;
        uint32_t *sl = calloc(ns, sizeof *sl);
        if (!sl) return false;
        for (uint32_t j = 0; j < s->n; j++) {
            uint32_t i = (uint32_t)s->e[j].h & (ns - 1);
            while (sl[i]) i = (i + 1) & (ns - 1);
            sl[i] = j + 1;
        }
        free(s->slot);
        s->slot = sl;
        s->mask = ns - 1;
    }
    return true;
}

/* 1 added, 0 duplicate, -1 out of memory */
static int add(mm_ioc_set *s, unsigned type, const char *k, uint32_t n, const char *text,
               size_t tlen, const char *list, mm_str desc) {
    uint64_t h = key_hash(type, k, n);
    if (find(s, type, k, n, h)) return 0;
    if (!grow(s)) return -1;
    ient *e = &s->e[s->n];
    e->h = h;
    e->type = (uint8_t)type;
    e->key = mm_arena_strndup(&s->arena, k, n);
    e->klen = n;
    e->text = mm_arena_strndup(&s->arena, text, tlen);
    e->list = list;
    e->desc = desc.len ? mm_arena_strndup(&s->arena, desc.p, desc.len > DESC_MAX ? DESC_MAX : desc.len)
                       : NULL;
    uint32_t i = (uint32_t)h & s->mask;
    while (s->slot[i]) i = (i + 1) & s->mask;
    s->slot[i] = ++s->n;
    return 1;
}

static void note_len(mm_ioc_set *s, int af, int bits) {
    uint32_t *cnt = af == 4 ? s->nlen4 : s->nlen6;
    if (cnt[bits]++) return;
    int maxb = af == 4 ? 32 : 128;
    uint8_t *ord = af == 4 ? s->ord4 : s->ord6;
    int n = 0;
    for (int b = maxb; b >= 0; b--)
        if (cnt[b]) ord[n++] = (uint8_t)b;
    if (af == 4) s->nord4 = n; else s->nord6 = n;
}

/* ---------------------------------------------------------------- normalisers */

/* Address key: af, prefix bits, address with host bits cleared. */
static uint32_t ip_key(const mm_ip *ip, int bits, char out[18]) {
    int nbytes = ip->af == 4 ? 4 : 16;
    memset(out, 0, 18);
    out[0] = (char)ip->af;
    out[1] = (char)bits;
    for (int i = 0; i < nbytes; i++) {
        int keep = bits - i * 8;
        uint8_t m = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        out[2 + i] = (char)(ip->b[i] & m);
    }
    return 18;
}

/* ::ffff:a.b.c.d -> a.b.c.d, so v4 indicators match v4-mapped event addresses. */
static mm_ip unmap(const mm_ip *ip) {
    static const uint8_t pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    mm_ip r = *ip;
    if (ip->af == 6 && memcmp(ip->b, pre, 12) == 0) {
        memset(&r, 0, sizeof r);
        r.af = 4;
        memcpy(r.b, ip->b + 12, 4);
    }
    return r;
}

static bool parse_ip_text(mm_str s, mm_ip *ip) {
    if (s.len == 0 || s.len > 64) return false;
    if (s.len >= 2 && s.p[0] == '[' && s.p[s.len - 1] == ']') s.p++, s.len -= 2;
    return mm_ip_parse(s, ip);
}

/* Domain: lower-case into out, trailing dot and leading "*." / "." removed.  At
 * least two labels, labels 1..63 bytes of [a-z0-9_-] (or UTF-8), and not all
 * digits in the last label (that is a broken address, not a domain). */
static int norm_domain(mm_str s, char *out, size_t cap) {
    if (s.len >= 2 && s.p[0] == '*' && s.p[1] == '.') s.p += 2, s.len -= 2;
    while (s.len && s.p[0] == '.') s.p++, s.len--;
    if (s.len && s.p[s.len - 1] == '.') s.len--;
    if (s.len == 0 || s.len > 253 || s.len >= cap) return -1;
    int labels = 1, lablen = 0;
    bool lastdigits = true;
    for (uint32_t i = 0; i < s.len; i++) {
        char c = lc(s.p[i]);
        if (c == '.') {
            if (lablen == 0) return -1;
            labels++;
            lablen = 0;
            lastdigits = true;
        } else if ((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_' ||
                   (unsigned char)c >= 0x80) {
            if (++lablen > 63) return -1;
            if (!is_digit(c)) lastdigits = false;
        } else {
            return -1;
        }
        out[i] = c;
    }
    if (lablen == 0 || labels < 2 || lastdigits) return -1;
    return (int)s.len;
}

static int hash_type(mm_str s) {
    unsigned t = s.len == 32 ? MM_IOC_MD5 : s.len == 40 ? MM_IOC_SHA1 : s.len == 64 ? MM_IOC_SHA256 : 0;
    if (!t) return 0;
    for (uint32_t i = 0; i < s.len; i++)
        if (!is_hex(s.p[i])) return 0;
    return (int)t;
}

typedef struct url_parts {
    mm_str host;          /* as written (without brackets for IPv6) */
    bool host_is_ip;
    mm_ip ip;
    char hostn[256];      /* normalised domain or address text */
    int hostn_len;
    mm_str port;          /* kept only when not a default port */
    mm_str path;          /* from '/' or '?' up to '#', may be empty */
} url_parts;

static bool scheme_len(mm_str s, uint32_t *n) {
    uint32_t i = 0;
    if (!s.len || !((lc(s.p[0]) >= 'a' && lc(s.p[0]) <= 'z'))) return false;
    while (i < s.len && i < 32) {
        char c = lc(s.p[i]);
        if ((c >= 'a' && c <= 'z') || is_digit(c) || c == '+' || c == '-' || c == '.') i++;
        else break;
    }
    if (i + 3 <= s.len && s.p[i] == ':' && s.p[i + 1] == '/' && s.p[i + 2] == '/') {
        *n = i;
        return true;
    }
    return false;
}

/* Split and normalise a URL.  need_path: a scheme-less text must have a '/' to be a
 * URL at all (otherwise it is a bare host). */
static bool url_split(mm_str s, url_parts *u, bool need_path) {
    memset(u, 0, sizeof *u);
    uint32_t sl = 0;
    mm_str scheme = {s.p, 0};
    bool has_scheme = scheme_len(s, &sl);
    if (has_scheme) {
        scheme.len = sl;
        s.p += sl + 3;
        s.len -= sl + 3;
    } else if (s.len >= 2 && s.p[0] == '/' && s.p[1] == '/') {
        s.p += 2, s.len -= 2;
        has_scheme = true;
    }
    uint32_t a = 0;
    while (a < s.len && s.p[a] != '/' && s.p[a] != '?' && s.p[a] != '#') a++;
    if (!has_scheme && need_path && a == s.len) return false;
    mm_str auth = {s.p, a};
    mm_str rest = {s.p + a, s.len - a};
    for (uint32_t i = auth.len; i > 0; i--)
        if (auth.p[i - 1] == '@') { auth.p += i; auth.len -= i; break; }
    /* host and port */
    mm_str host = auth, port = {NULL, 0};
    if (auth.len && auth.p[0] == '[') {
        uint32_t e = 1;
        while (e < auth.len && auth.p[e] != ']') e++;
        if (e >= auth.len) return false;
        host = (mm_str){auth.p + 1, e - 1};
        if (e + 1 < auth.len) {
            if (auth.p[e + 1] != ':') return false;
            port = (mm_str){auth.p + e + 2, auth.len - e - 2};
        }
    } else {
        for (uint32_t i = 0; i < auth.len; i++)
            if (auth.p[i] == ':') {
                host = (mm_str){auth.p, i};
                port = (mm_str){auth.p + i + 1, auth.len - i - 1};
                break;
            }
    }
    if (host.len == 0) return false;
    if (port.p) {
        if (port.len == 0 || port.len > 5) return false;
        for (uint32_t i = 0; i < port.len; i++)
            if (!is_digit(port.p[i])) return false;
        bool http = scheme.len == 4 && lc(scheme.p[0]) == 'h' && lc(scheme.p[3]) == 'p';
        bool https = scheme.len == 5 && lc(scheme.p[0]) == 'h' && lc(scheme.p[4]) == 's';
        bool p80 = port.len == 2 && port.p[0] == '8' && port.p[1] == '0';
        bool p443 = port.len == 3 && memcmp(port.p, "443", 3) == 0;
        if ((p80 && (http || !scheme.len)) || (p443 && (https || !scheme.len)))
            port = (mm_str){NULL, 0};
    }
    u->host = host;
    if (parse_ip_text(host, &u->ip)) {
        u->host_is_ip = true;
        char buf[48];
        mm_ip v = unmap(&u->ip);
        mm_ip_fmt(&v, buf);
        size_t bl = strlen(buf);
        memcpy(u->hostn, buf, bl);
        u->hostn_len = (int)bl;
    } else {
        int n = norm_domain(host, u->hostn, sizeof u->hostn);
        if (n < 0) return false;
        u->hostn_len = n;
    }
    u->port = port;
    uint32_t f = 0;
    while (f < rest.len && rest.p[f] != '#') f++;
    u->path = (mm_str){rest.p, f};
    return true;
}

/* host[:port]/path[?query] into out; with_query false drops "?...". */
static int url_key(const url_parts *u, bool with_query, char *out, size_t cap) {
    size_t n = 0;
    mm_str path = u->path;
    if (!with_query)
        for (uint32_t i = 0; i < path.len; i++)
            if (path.p[i] == '?') { path.len = i; break; }
    size_t need = (size_t)u->hostn_len + (u->port.p ? u->port.len + 1 : 0) + path.len + 1;
    if (need >= cap) return -1;
    memcpy(out, u->hostn, (size_t)u->hostn_len);
    n = (size_t)u->hostn_len;
    if (u->port.p) {
        out[n++] = ':';
        memcpy(out + n, u->port.p, u->port.len);
        n += u->port.len;
    }
    if (path.len == 0 || path.p[0] != '/') out[n++] = '/';
    memcpy(out + n, path.p, path.len);
    n += path.len;
    return (int)n;
}

static bool has_query(const url_parts *u) {
    return memchr(u->path.p ? u->path.p : "", '?', u->path.len) != NULL;
}

/* ---------------------------------------------------------------- types */

static const struct { const char *name; unsigned bits; } type_names[] = {
    {"any", MM_IOC_ANY},          {"ip", MM_IOC_IP},           {"cidr", MM_IOC_IP},
    {"ipv4", MM_IOC_IP},          {"ipv6", MM_IOC_IP},         {"ip-src", MM_IOC_IP},
    {"ip-dst", MM_IOC_IP},        {"ipv4-addr", MM_IOC_IP},    {"ipv6-addr", MM_IOC_IP},
    {"ip_address", MM_IOC_IP},    {"address", MM_IOC_IP},      {"domain", MM_IOC_DOMAIN},
    {"hostname", MM_IOC_DOMAIN},  {"fqdn", MM_IOC_DOMAIN},     {"domain-name", MM_IOC_DOMAIN},
    {"host", MM_IOC_DOMAIN},      {"url", MM_IOC_URL},         {"uri", MM_IOC_URL},
    {"link", MM_IOC_URL},         {"hash", MM_IOC_HASH},       {"filehash", MM_IOC_HASH},
    {"md5", MM_IOC_MD5},          {"sha1", MM_IOC_SHA1},       {"sha256", MM_IOC_SHA256},
    {"filehash-md5", MM_IOC_MD5}, {"filehash-sha1", MM_IOC_SHA1},
    {"filehash-sha256", MM_IOC_SHA256},
};

static unsigned type_lookup(mm_str s) {
    s = trim(s);
    for (size_t i = 0; i < MM_ARRAY_LEN(type_names); i++) {
        const char *n = type_names[i].name;
        size_t l = strlen(n);
        if (l != s.len) continue;
        size_t j = 0;
        while (j < l && lc(s.p[j]) == n[j]) j++;
        if (j == l) return type_names[i].bits;
    }
    return 0;
}

unsigned mm_ioc_type_parse(const char *name) { return name ? type_lookup(mm_str_c(name)) : 0; }

const char *mm_ioc_type_name(unsigned type) {
    switch (type) {
    case MM_IOC_IP: return "ip";
    case MM_IOC_DOMAIN: return "domain";
    case MM_IOC_URL: return "url";
    case MM_IOC_MD5: return "md5";
    case MM_IOC_SHA1: return "sha1";
    case MM_IOC_SHA256: return "sha256";
    default: return "indicator";
    }
}

/* ---------------------------------------------------------------- parsing */

/* Undo common defanging into out: hxxp -> http, [.] (.) {.} -> ., [:] -> :, [at] -> @ */
static mm_str refang(mm_str s, char *out, size_t cap) {
    size_t n = 0;
    uint32_t i = 0;
    if (s.len >= 5 && lc(s.p[0]) == 'h' && lc(s.p[1]) == 'x' && lc(s.p[2]) == 'x' &&
        lc(s.p[3]) == 'p' && (s.p[4] == ':' || lc(s.p[4]) == 's') && n + 4 < cap) {
        memcpy(out, "http", 4);
        n = 4;
        i = 4;
    }
    while (i < s.len && n + 1 < cap) {
        if (i + 2 < s.len && (s.p[i] == '[' || s.p[i] == '(' || s.p[i] == '{') &&
            (s.p[i + 1] == '.' || s.p[i + 1] == ':') &&
            (s.p[i + 2] == ']' || s.p[i + 2] == ')' || s.p[i + 2] == '}')) {
            out[n++] = s.p[i + 1];
            i += 3;
        } else {
            out[n++] = s.p[i++];
        }
    }
    return (mm_str){out, (uint32_t)n};
}

/* Classify and add one indicator.  `want` (0 = auto) is the type column.
 * Returns 1 added, 0 duplicate, -1 bad, -2 out of memory. */
static int add_indicator(mm_ioc_set *s, const char *list, mm_str raw, unsigned want, mm_str desc) {
    char fang[KEY_MAX], key[KEY_MAX];
    raw = trim(raw);
    if (raw.len == 0 || raw.len >= KEY_MAX) return -1;
    mm_str v = refang(raw, fang, sizeof fang);
    if (v.len == 0) return -1;
    int r;

    /* address or CIDR (parsed here so host bits can be masked off) */
    mm_ip net;
    int bits = -1;
    bool slash = memchr(v.p, '/', v.len) != NULL;
    if (v.len <= 64) {
        uint32_t sp = 0;
        while (sp < v.len && v.p[sp] != '/') sp++;
        if (parse_ip_text((mm_str){v.p, sp}, &net)) {
            int maxb = net.af == 4 ? 32 : 128;
            if (sp == v.len) {
                bits = maxb;
            } else {
                /* an address followed by '/': a prefix length or a broken line */
                if (sp + 1 >= v.len || v.len - sp - 1 > 3) return -1;
                bits = 0;
                for (uint32_t i = sp + 1; i < v.len; i++) {
                    if (!is_digit(v.p[i])) return -1;
                    bits = bits * 10 + (v.p[i] - '0');
                }
                if (bits > maxb) return -1;
            }
        }
    }
    if (bits >= 0) {
        if (want && !(want & MM_IOC_IP)) return -1;
        if (net.af == 6 && bits == 128) net = unmap(&net);   /* ::ffff:a.b.c.d as a v4 host */
        if (net.af == 4 && bits > 32) bits = 32;
        uint32_t kl = ip_key(&net, bits, key);
        mm_ip masked;
        memset(&masked, 0, sizeof masked);
        masked.af = net.af;
        memcpy(masked.b, key + 2, 16);
        char txt[64];
        mm_ip_fmt(&masked, txt);
        size_t tl = strlen(txt);
        if ((net.af == 4 && bits < 32) || (net.af == 6 && bits < 128))
            tl += (size_t)snprintf(txt + tl, sizeof txt - tl, "/%d", bits);
        r = add(s, MM_IOC_IP, key, kl, txt, tl, list, desc);
        if (r > 0) note_len(s, net.af, bits);
        return r < 0 ? -2 : r;
    }

    /* hash */
    int ht = hash_type(v);
    if (ht) {
        if (want && !(want & (unsigned)ht)) return -1;
        for (uint32_t i = 0; i < v.len; i++) key[i] = lc(v.p[i]);
        r = add(s, (unsigned)ht, key, v.len, key, v.len, list, desc);
        return r < 0 ? -2 : r;
    }

    /* URL: has a scheme, or a path after a host */
    uint32_t sl;
    bool urlish = scheme_len(v, &sl) || slash;
    if (urlish) {
        url_parts u;
        if (!url_split(v, &u, true)) return -1;
        if (want && !(want & MM_IOC_URL)) {
            /* typed as a domain but written as a URL: a bare site is fine */
            if (!(want & MM_IOC_DOMAIN) || u.host_is_ip) return -1;
            if (!(u.path.len == 0 || (u.path.len == 1 && u.path.p[0] == '/'))) return -1;
            r = add(s, MM_IOC_DOMAIN, u.hostn, (uint32_t)u.hostn_len, u.hostn,
                    (size_t)u.hostn_len, list, desc);
            return r < 0 ? -2 : r;
        }
        int kl = url_key(&u, true, key, sizeof key);
        if (kl < 0) return -1;
        r = add(s, MM_IOC_URL, key, (uint32_t)kl, key, (size_t)kl, list, desc);
        return r < 0 ? -2 : r;
    }

    /* domain (a URL-typed bare host is taken as the site: a domain) */
    if (want && !(want & (MM_IOC_DOMAIN | MM_IOC_URL))) return -1;
    int dl = norm_domain(v, key, sizeof key);
    if (dl < 0) return -1;
    r = add(s, MM_IOC_DOMAIN, key, (uint32_t)dl, key, (size_t)dl, list, desc);
    return r < 0 ? -2 : r;
}

/* CSV: split one line into up to max fields (slices into line or into scratch for
 * quoted fields with "" escapes).  Returns the field count, -1 if malformed. */
static int csv_split(mm_str line, mm_str *f, int max, char *scratch, size_t cap) {
    int n = 0;
    uint32_t i = 0;
    size_t used = 0;
    for (;;) {
        while (i < line.len && is_space(line.p[i])) i++;
        mm_str cur = {line.p + i, 0};
        if (i < line.len && line.p[i] == '"') {
            i++;
            char *dst = scratch + used;
            size_t dn = 0;
            bool closed = false;
            while (i < line.len) {
                if (line.p[i] == '"') {
                    if (i + 1 < line.len && line.p[i + 1] == '"') {
                        if (used + dn >= cap) return -1;
                        dst[dn++] = '"';
                        i += 2;
                        continue;
                    }
                    closed = true;
                    i++;
                    break;
                }
                if (used + dn >= cap) return -1;
                dst[dn++] = line.p[i++];
            }
            if (!closed) return -1;
            cur = (mm_str){dst, (uint32_t)dn};
            used += dn;
            while (i < line.len && is_space(line.p[i])) i++;
            if (i < line.len && line.p[i] != ',') return -1;
        } else {
            uint32_t st = i;
            while (i < line.len && line.p[i] != ',') i++;
            cur = trim((mm_str){line.p + st, i - st});
        }
        if (n < max) f[n] = cur;
        n++;
        if (i >= line.len) break;
        i++;   /* the comma */
    }
    return n < max ? n : max;
}

static bool has_comma_outside_quotes(mm_str line) {
    bool q = false;
    for (uint32_t i = 0; i < line.len; i++) {
        if (line.p[i] == '"') q = !q;
        else if (line.p[i] == ',' && !q) return true;
    }
    return false;
}

static bool header_word(mm_str s, const char *const *names) {
    for (; *names; names++) {
        size_t l = strlen(*names);
        if (l != s.len) continue;
        size_t j = 0;
        while (j < l && lc(s.p[j]) == (*names)[j]) j++;
        if (j == l) return true;
    }
    return false;
}

static bool looks_like_header(const mm_str *f, int n) {
    for (int i = 0; i < n; i++)
        for (uint32_t j = 0; j < f[i].len; j++) {
            char c = lc(f[i].p[j]);
            if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-' || c == ' ' || c == '.' ||
                  c == '#'))
                return false;
        }
    return n > 0;
}

static const char *const hdr_ind_primary[] = {"indicator", "ioc", "ioc_value", "value", "observable",
                                             "indicator_value", NULL};
static const char *const hdr_ind_other[] = {"url", "domain", "hostname", "host", "ip", "ip_address",
                                           "dst_ip", "ipaddress", "address", "sha256_hash", "sha256",
                                           "md5_hash", "md5", "sha1_hash", "sha1", "hash", NULL};
static const char *const hdr_type[] = {"type", "ioc_type", "indicator_type", "kind", NULL};
static const char *const hdr_desc[] = {"description", "desc", "comment", "comments", "threat",
                                      "malware", "note", "notes", NULL};

/* Could this cell be an indicator (used to tell a header row from data)? */
static bool indicator_like(mm_str v) {
    char tmp[KEY_MAX], dk[256];
    mm_ip ip;
    v = refang(trim(v), tmp, sizeof tmp);
    uint32_t sl;
    return parse_ip_text(v, &ip) || hash_type(v) || norm_domain(v, dk, sizeof dk) >= 0 ||
           scheme_len(v, &sl) || (v.len && memchr(v.p, '/', v.len));
}

static const char *intern_list(mm_ioc_set *s, const char *name) {
    if (!name || !*name) name = "indicators";
    for (int i = 0; i < s->nlists; i++)
        if (strcmp(s->lists[i], name) == 0) return s->lists[i];
    if (s->nlists == s->caplists) {
        int nc = s->caplists ? s->caplists * 2 : 8;
        const char **nl = realloc(s->lists, (size_t)nc * sizeof *nl);
        if (!nl) return NULL;
        s->lists = nl;
        s->caplists = nc;
    }
    const char *c = mm_arena_strndup(&s->arena, name, strlen(name));
    s->lists[s->nlists++] = c;
    return c;
}

int mm_ioc_parse(mm_ioc_set *s, const char *name, const char *text, size_t len, int *bad) {
    int added = 0, nbad = 0;
    if (bad) *bad = 0;
    if (!s || (!text && len)) return 0;
    const char *list = intern_list(s, name);
    if (!list) return 0;
    int mode = 0;            /* 0 undecided, 1 plain, 2 csv */
    bool header_done = false;
    int ci = 0, ct = 1, cd = 2;   /* csv column of indicator, type, description */
    char scratch[KEY_MAX * 2];
    size_t pos = 0;
    if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb &&
        (unsigned char)text[2] == 0xbf)
        pos = 3;   /* UTF-8 BOM */
    while (pos < len) {
        size_t e = pos;
        while (e < len && text[e] != '\n') e++;
        size_t ll = e - pos;
        mm_str line = trim((mm_str){text + pos, (uint32_t)(ll > MM_MAX_RECORD ? 0 : ll)});
        pos = e + 1;
        if (ll > MM_MAX_RECORD) { nbad++; continue; }
        if (line.len == 0 || line.p[0] == '#') continue;
        if (line.len >= 2 && line.p[0] == '/' && line.p[1] == '/') continue;
        if (mode == 0) mode = (has_comma_outside_quotes(line) || line.p[0] == '"') ? 2 : 1;

        int r;
        if (mode == 1) {
            /* strip a trailing "# comment" (whitespace before '#') */
            uint32_t tok = 0;
            while (tok < line.len && !is_space(line.p[tok])) tok++;
            mm_str ind = {line.p, tok};
            mm_str desc = trim((mm_str){line.p + tok, line.len - tok});
            if (desc.len && desc.p[0] == '#') desc = trim((mm_str){desc.p + 1, desc.len - 1});
            r = add_indicator(s, list, ind, 0, desc);
        } else {
            mm_str f[16];
            int nf = csv_split(line, f, 16, scratch, sizeof scratch);
            if (nf <= 0) { nbad++; continue; }
            if (!header_done) {
                header_done = true;
                if (!indicator_like(f[0]) && looks_like_header(f, nf)) {
                    /* a header: find the columns it names, else keep 1/2/3 */
                    int hi = -1, ho = -1, ht = -1, hd = -1;
                    for (int i = 0; i < nf; i++) {
                        if (hi < 0 && header_word(f[i], hdr_ind_primary)) hi = i;
                        else if (ho < 0 && header_word(f[i], hdr_ind_other)) ho = i;
                        else if (ht < 0 && header_word(f[i], hdr_type)) ht = i;
                        else if (hd < 0 && header_word(f[i], hdr_desc)) hd = i;
                    }
                    if (hi >= 0 || ho >= 0 || ht >= 0 || hd >= 0) {
                        ci = hi >= 0 ? hi : ho >= 0 ? ho : 0;
                        ct = ht;
                        cd = hd;
                    }
                    continue;
                }
            }
            if (ci >= nf) { nbad++; continue; }
            unsigned want = 0;
            if (ct >= 0 && ct < nf && f[ct].len) want = type_lookup(f[ct]);
            mm_str desc = (cd >= 0 && cd < nf) ? f[cd] : (mm_str){NULL, 0};
            r = add_indicator(s, list, f[ci], want, desc);
        }
        if (r > 0) added++;
        else if (r == -1) nbad++;
        else if (r == -2) { nbad++; break; }
    }
    if (bad) *bad = nbad;
    if (added) mm_count(MM_C_IOC_LOADED, (uint64_t)added);
    if (nbad) mm_count(MM_C_IOC_ERRORS, (uint64_t)nbad);
    return added;
}

/* ---------------------------------------------------------------- lookup */

static bool hit_from(const ient *e, mm_ioc_hit *hit) {
    if (!e) return false;
    if (hit) {
        hit->indicator = e->text;
        hit->list = e->list;
        hit->desc = e->desc;
        hit->type = e->type;
    }
    return true;
}

static bool lookup_ip(const mm_ioc_set *s, const mm_ip *ip0, mm_ioc_hit *hit) {
    mm_ip ip = unmap(ip0);
    const uint8_t *ord = ip.af == 4 ? s->ord4 : ip.af == 6 ? s->ord6 : NULL;
    int n = ip.af == 4 ? s->nord4 : ip.af == 6 ? s->nord6 : 0;
    char key[18];
    for (int i = 0; ord && i < n; i++) {
        uint32_t kl = ip_key(&ip, ord[i], key);
        if (hit_from(find(s, MM_IOC_IP, key, kl, key_hash(MM_IOC_IP, key, kl)), hit)) return true;
    }
    return false;
}

/* The domain and each parent with at least two labels. */
static bool lookup_domain(const mm_ioc_set *s, const char *d, uint32_t n, mm_ioc_hit *hit) {
    uint32_t i = 0;
    while (i < n) {
        mm_str rest = {d + i, n - i};
        if (!memchr(rest.p, '.', rest.len)) break;
        if (hit_from(find(s, MM_IOC_DOMAIN, rest.p, rest.len, key_hash(MM_IOC_DOMAIN, rest.p, rest.len)), hit))
            return true;
        while (i < n && d[i] != '.') i++;
        i++;
    }
    return false;
}

/* Event-side domain: lower-case, tolerate a trailing dot; no validation beyond
 * length (an odd value simply finds nothing). */
static bool match_domain_text(const mm_ioc_set *s, mm_str v, mm_ioc_hit *hit) {
    char buf[256];
    if (v.len && v.p[v.len - 1] == '.') v.len--;
    if (v.len == 0 || v.len >= sizeof buf) return false;
    for (uint32_t i = 0; i < v.len; i++) buf[i] = lc(v.p[i]);
    return lookup_domain(s, buf, v.len, hit);
}

static bool match_url(const mm_ioc_set *s, const url_parts *u, unsigned types, mm_ioc_hit *hit) {
    char key[KEY_MAX];
    if (types & MM_IOC_URL) {
        int kl = url_key(u, true, key, sizeof key);
        if (kl > 0 && hit_from(find(s, MM_IOC_URL, key, (uint32_t)kl, key_hash(MM_IOC_URL, key, (size_t)kl)), hit))
            return true;
        if (has_query(u)) {
            kl = url_key(u, false, key, sizeof key);
            if (kl > 0 &&
                hit_from(find(s, MM_IOC_URL, key, (uint32_t)kl, key_hash(MM_IOC_URL, key, (size_t)kl)), hit))
                return true;
        }
    }
    if (u->host_is_ip) return (types & MM_IOC_IP) && lookup_ip(s, &u->ip, hit);
    return (types & MM_IOC_DOMAIN) && lookup_domain(s, u->hostn, (uint32_t)u->hostn_len, hit);
}

bool mm_ioc_match(const mm_ioc_set *s, mm_str val, const mm_ip *ip, unsigned types,
                  mm_ioc_hit *hit) {
    if (!s || s->n == 0 || !types) return false;
    if (ip && ip->af) return (types & MM_IOC_IP) && lookup_ip(s, ip, hit);
    val = trim(val);
    if (val.len == 0) return false;
    if (val.len >= KEY_MAX) {
        /* A long URL must not hide from indicators: without its query string it
         * may still be a URL indicator; cut anywhere else, only its host can match. */
        const char *q = memchr(val.p, '?', val.len);
        if (q && (size_t)(q - val.p) < KEY_MAX) val.len = (uint32_t)(q - val.p);
        else {
            val.len = KEY_MAX - 1;
            types &= ~(unsigned)MM_IOC_URL;
        }
    }
    mm_ip pip;
    if (val.len <= 64 && parse_ip_text(val, &pip)) return (types & MM_IOC_IP) && lookup_ip(s, &pip, hit);
    int ht = hash_type(val);
    if (ht) {
        if (!(types & (unsigned)ht)) return false;
        char key[64];
        for (uint32_t i = 0; i < val.len; i++) key[i] = lc(val.p[i]);
        return hit_from(find(s, (unsigned)ht, key, val.len, key_hash((unsigned)ht, key, val.len)), hit);
    }
    uint32_t sl;
    if (scheme_len(val, &sl) || (memchr(val.p, '/', val.len) && val.p[0] != '/')) {
        url_parts u;
        if (!url_split(val, &u, true)) return false;
        return match_url(s, &u, types, hit);
    }
    return (types & MM_IOC_DOMAIN) && match_domain_text(s, val, hit);
}

bool mm_ioc_match_url_parts(const mm_ioc_set *s, mm_str host, mm_str port, mm_str path,
                            mm_str query, mm_ioc_hit *hit) {
    if (!s || s->n == 0 || host.len == 0) return false;
    char buf[KEY_MAX];
    size_t n = 0;
    if ((size_t)host.len + port.len + path.len + query.len + 4 >= sizeof buf)
        query.len = 0;   /* a long query string must not hide the URL from indicators */
    if ((size_t)host.len + port.len + path.len + 4 >= sizeof buf) path.len = 0;   /* host only */
    if ((size_t)host.len + port.len + 4 >= sizeof buf) return false;
    memcpy(buf, host.p, host.len);
    n = host.len;
    if (port.len) {
        buf[n++] = ':';
        memcpy(buf + n, port.p, port.len);
        n += port.len;
    }
    if (!path.len || path.p[0] != '/') buf[n++] = '/';
    if (path.len) memcpy(buf + n, path.p, path.len);
    n += path.len;
    if (query.len && !(path.len && memchr(path.p, '?', path.len))) {
        if (query.p[0] != '?') buf[n++] = '?';
        memcpy(buf + n, query.p, query.len);
        n += query.len;
    }
    url_parts u;
    if (!url_split((mm_str){buf, (uint32_t)n}, &u, true)) return false;
    return match_url(s, &u, MM_IOC_URL, hit);
}
