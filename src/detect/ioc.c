/* ioc: the detection engine's indicator index — normalised keys of addresses,
 * CIDRs, domains, URLs, hashes, JA3 fingerprints, e-mail addresses, file names and
 * User-Agents, each pointing at its context (feed, confidence, TLP and the 5W1H).
 *
 * Records come from the indicator store and from list files (mm_ioc_parse, through
 * the intel list reader); every value is untrusted: it is normalised into a key
 * with bounded buffers, and a value that is not an indicator is refused.
 *
 * Keys, by type:
 *   IPv4/IPv6 address or CIDR: binary (af, prefix bits, masked address); the text
 *     form follows the key in memory for alerts.  ::ffff:a.b.c.d is a.b.c.d.
 *   domain: lower-cased, IDN as punycode, trailing dot and leading "*." removed;
 *     matches itself and every subdomain (evil.example matches a.b.evil.example,
 *     not notevil.example);
 *   URL: scheme dropped (http://x/a, https://x/a and x/a are the same key, as
 *     PAN-OS and FortiGate log URLs without one), host lower-cased, default ports
 *     dropped, fragment dropped, empty path "/", percent escapes of unreserved
 *     characters decoded and the others upper-cased; an indicator without a query
 *     also matches the URL with one;
 *   md5/sha1/sha256 and JA3: lower-case hex; e-mail: lower-cased; file name: the
 *     base name, lower-cased; User-Agent: trimmed, lower-cased.
 *
 * Lookup is one open-addressing table keyed by (type, key): addresses are probed
 * once per prefix length present in the set (longest first), domains once per
 * parent domain, so a lookup costs a handful of probes whatever the set size.
 * Memory per indicator: a 24-byte entry, two 8-byte slots and the key. */
#include "detect_int.h"

#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KEY_MAX 2048     /* longest normalised indicator or event value looked up */
#define DESC_MAX 1024
#define UA_MAX 1024

typedef struct ient {
    const char *key;             /* IP keys: 18 binary bytes then the text, NUL-terminated */
    const mm_ioc_ctx *ctx;
    uint32_t valid_until;        /* seconds since the epoch, 0 = open-ended */
    uint16_t klen;
    uint16_t type;
} ient;

typedef struct islot {
    uint32_t idx;                /* entry index + 1, 0 = empty */
    uint32_t hf;                 /* high bits of the key hash: most misses end here */
} islot;

/* Interned strings and contexts: an item is a header and its bytes. */
typedef struct iitem {
    uint64_t h;
    uint32_t n, pad;     /* data starts 16 bytes in: contexts are stored there, aligned */
    char data[];
} iitem;
typedef struct itab {
    iitem **slot;
    uint32_t mask, n;
} itab;

/* Keys are packed into big chunks without alignment (10M keys are most of the set). */
typedef struct kchunk {
    struct kchunk *next;
    size_t used, cap;
    char data[];
} kchunk;

struct mm_ioc_set {
    mm_arena arena;              /* contexts, interned strings */
    kchunk *keys;
    ient *e;
    uint32_t n, cap;
    islot *slot;
    uint32_t mask;               /* slots - 1 */
    itab strs, ctxs;
    uint32_t nlen4[33], nlen6[129];
    uint8_t ord4[33], ord6[129]; /* prefix lengths present, longest first */
    int nord4, nord6;
    /* IPv4: for each /16, the prefix lengths 16..32 present inside it (bit b-16),
     * so an address probes only what its /16 holds (most /16s hold nothing);
     * lengths below 16 are probed for every address (ord4 lists them too). */
    uint32_t *mask16;
    /* A blocked Bloom filter over every key, in front of the table: a miss (the
     * usual answer) costs one cache line that stays in L2/L3 instead of a slot
     * of a table of hundreds of MB.  Rebuilt whenever the table grows. */
    uint64_t *bloom;
    uint32_t bloom_blocks;       /* power of two; 8 words (512 bits) each */
    struct mm_ioc_set *warn;     /* warning lists: values that never match */
    unsigned present;            /* MM_IOC_* bits of the types the set holds: the others
                                  * are not even classified for */
};

static inline char lc(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }
static inline bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
static inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

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
    mm_ioc_set_free(s->warn);
    mm_arena_free(&s->arena);
    for (kchunk *k = s->keys, *nx; k; k = nx) {
        nx = k->next;
        free(k);
    }
    free(s->e);
    free(s->slot);
    free(s->mask16);
    free(s->bloom);
    free(s->strs.slot);
    free(s->ctxs.slot);
    free(s);
}

int mm_ioc_count(const mm_ioc_set *s) { return s ? (int)s->n : 0; }

/* The index's own hash (in memory only, never stored): eight bytes a step, then a
 * full avalanche, since the Bloom filter and the table use different bits of it. */
static inline uint64_t rd64(const char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static uint64_t key_hash(unsigned type, const char *k, size_t n) {
    uint64_t h = (0x9e3779b97f4a7c15ULL * (type + 1)) ^ ((uint64_t)n * 0xff51afd7ed558ccdULL);
    while (n >= 8) {
        h = (h ^ rd64(k)) * 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 31;
        k += 8;
        n -= 8;
    }
    uint64_t t = 0;
    memcpy(&t, k, n);
    h = (h ^ t) * 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

static char *key_store(mm_ioc_set *s, const char *k, size_t n) {
    if (!s->keys || s->keys->cap - s->keys->used < n + 1) {
        size_t cap = n + 1 > (1u << 20) ? n + 1 : (1u << 20);
        kchunk *c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = s->keys;
        c->used = 0;
        c->cap = cap;
        s->keys = c;
    }
    char *p = s->keys->data + s->keys->used;
    memcpy(p, k, n);
    p[n] = 0;
    s->keys->used += n + 1;
    return p;
}

/* Six bits in one 512-bit block: the block from the hash's high bits, the bits
 * from six 9-bit slices of its low bits. */
static inline uint64_t *bloom_block(const mm_ioc_set *s, uint64_t h) {
    return s->bloom + (size_t)((uint32_t)(h >> 40) & (s->bloom_blocks - 1)) * 8;
}
static inline void bloom_add(mm_ioc_set *s, uint64_t h) {
    uint64_t *b = bloom_block(s, h);
    for (int i = 0; i < 6; i++) {
        unsigned bit = (unsigned)(h >> (i * 9)) & 511;
        b[bit >> 6] |= 1ULL << (bit & 63);
    }
}
static inline bool bloom_may(const mm_ioc_set *s, uint64_t h) {
    if (!s->bloom) return true;
    const uint64_t *b = bloom_block(s, h);
    for (int i = 0; i < 6; i++) {
        unsigned bit = (unsigned)(h >> (i * 9)) & 511;
        if (!(b[bit >> 6] & (1ULL << (bit & 63)))) return false;
    }
    return true;
}

static const ient *find(const mm_ioc_set *s, unsigned type, const char *k, uint32_t n, uint64_t h) {
    if (!s->slot || !bloom_may(s, h)) return NULL;
    uint32_t hf = (uint32_t)(h >> 32);
    for (uint32_t i = (uint32_t)h & s->mask;; i = (i + 1) & s->mask) {
        const islot *x = &s->slot[i];
        if (!x->idx) return NULL;
        if (x->hf != hf) continue;
        const ient *e = &s->e[x->idx - 1];
        if (e->type == type && e->klen == n && memcmp(e->key, k, n) == 0) return e;
    }
}

static bool rehash(mm_ioc_set *s, uint32_t ns) {
    islot *sl = calloc(ns, sizeof *sl);
    if (!sl) return false;
    /* the filter: 4 bits per slot, i.e. at least 8 per key (about 2% false hits) */
    uint32_t nb = ns / 128 ? ns / 128 : 1;
    uint64_t *bl = calloc((size_t)nb * 8, sizeof *bl);
    if (!bl) {
        free(sl);
        return false;
    }
    free(s->bloom);
    s->bloom = bl;
    s->bloom_blocks = nb;
    for (uint32_t j = 0; j < s->n; j++) {
        uint64_t h = key_hash(s->e[j].type, s->e[j].key, s->e[j].klen);
        bloom_add(s, h);
        uint32_t i = (uint32_t)h & (ns - 1);
        while (sl[i].idx) i = (i + 1) & (ns - 1);
        sl[i] = (islot){j + 1, (uint32_t)(h >> 32)};
    }
    free(s->slot);
    s->slot = sl;
    s->mask = ns - 1;
    return true;
}

static bool reserve(mm_ioc_set *s, size_t want) {
    if (want > (1u << 30)) return false;
    if (want > s->cap) {
        uint32_t nc = s->cap ? s->cap : 256;
        while (nc < want) nc *= 2;
        ient *ne = realloc(s->e, (size_t)nc * sizeof *ne);
        if (!ne) return false;
        s->e = ne;
        s->cap = nc;
    }
    /* keep the table at most half full */
    if (!s->slot || (uint64_t)want * 2 > (uint64_t)s->mask + 1) {
        uint32_t ns = s->slot ? s->mask + 1 : 1024;
        while ((uint64_t)want * 2 > ns) ns *= 2;
        if (!rehash(s, ns)) return false;
    }
    return true;
}

void mm_ioc_reserve(mm_ioc_set *s, size_t n) {
    if (s) reserve(s, (size_t)s->n + n);
}

/* 1 added (*out set), 0 exists (*out = it), -1 out of memory */
static int put(mm_ioc_set *s, unsigned type, const char *k, uint32_t n, const char *text, size_t tlen,
               ient **out) {
    uint64_t h = key_hash(type, k, n);
    const ient *f = find(s, type, k, n, h);
    if (f) {
        *out = (ient *)f;
        return 0;
    }
    if (!reserve(s, (size_t)s->n + 1)) return -1;
    char *kp;
    if (type == MM_IOC_IP) {
        char tmp[18 + 64];
        memcpy(tmp, k, n);
        memcpy(tmp + n, text, tlen);
        kp = key_store(s, tmp, n + tlen);
    } else {
        kp = key_store(s, k, n);
    }
    if (!kp) return -1;
    ient *e = &s->e[s->n];
    memset(e, 0, sizeof *e);
    e->key = kp;
    e->klen = (uint16_t)n;
    e->type = (uint16_t)type;
    uint32_t i = (uint32_t)h & s->mask;
    while (s->slot[i].idx) i = (i + 1) & s->mask;
    s->slot[i] = (islot){++s->n, (uint32_t)(h >> 32)};
    bloom_add(s, h);
    *out = e;
    return 1;
}

static const char *ent_text(const ient *e) { return e->type == MM_IOC_IP ? e->key + e->klen : e->key; }

/* An IPv4 prefix of >= 16 bits: mark its /16.  Returns false when out of memory. */
static bool note16(mm_ioc_set *s, const char *key, int bits) {
    if (!s->mask16 && !(s->mask16 = calloc(65536, sizeof *s->mask16))) return false;
    unsigned i16 = ((unsigned)(uint8_t)key[2] << 8) | (uint8_t)key[3];
    s->mask16[i16] |= 1u << (bits - 16);
    return true;
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

/* ---------------------------------------------------------------- interning */

static const void *intern(mm_ioc_set *s, itab *t, const void *p, size_t n) {
    uint64_t h = mm_hash(p, n, 0x51ed27);
    if (!t->slot || (uint64_t)(t->n + 1) * 2 > (uint64_t)t->mask + 1) {
        uint32_t ns = t->slot ? (t->mask + 1) * 2 : 256;
        iitem **sl = calloc(ns, sizeof *sl);
        if (!sl) return NULL;
        for (uint32_t j = 0; t->slot && j <= t->mask; j++) {
            iitem *it = t->slot[j];
            if (!it) continue;
            uint32_t i = (uint32_t)it->h & (ns - 1);
            while (sl[i]) i = (i + 1) & (ns - 1);
            sl[i] = it;
        }
        free(t->slot);
        t->slot = sl;
        t->mask = ns - 1;
    }
    uint32_t i = (uint32_t)h & t->mask;
    for (; t->slot[i]; i = (i + 1) & t->mask) {
        iitem *it = t->slot[i];
        if (it->h == h && it->n == n && memcmp(it->data, p, n) == 0) return it->data;
    }
    iitem *it = mm_arena_alloc(&s->arena, sizeof *it + n + 1);
    it->h = h;
    it->n = (uint32_t)n;
    memcpy(it->data, p, n);
    it->data[n] = 0;
    t->slot[i] = it;
    t->n++;
    return it->data;
}

/* NULL or "" -> NULL; long texts are cut (descriptions can be whole reports). */
static const char *istr(mm_ioc_set *s, const char *v, size_t max) {
    if (!v || !*v) return NULL;
    size_t n = strnlen(v, max);
    return intern(s, &s->strs, v, n);
}

static const mm_ioc_ctx *ictx(mm_ioc_set *s, const mm_ioc_ctx *c) {
    mm_ioc_ctx k;
    memset(&k, 0, sizeof k);   /* padding too: the bytes are the key */
    k.feed = c->feed;
    k.tlp = c->tlp;
    k.actor = c->actor;
    k.campaign = c->campaign;
    k.malware = c->malware;
    k.kill_chain = c->kill_chain;
    k.attack = c->attack;
    k.description = c->description;
    k.action = c->action;
    k.confidence = c->confidence;
    k.also = c->also;
    return intern(s, &s->ctxs, &k, sizeof k);
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

/* An internationalised name (UTF-8, already lower-cased ASCII) to its punycode
 * form in place: the form DNS carries and most logs print. */
static int idn_ascii(char *out, size_t n, size_t cap) {
    char in[256];
    if (n >= sizeof in) return -1;
    memcpy(in, out, n);
    in[n] = 0;
    char *a = NULL;
    if (idn2_to_ascii_8z(in, &a, IDN2_NONTRANSITIONAL) != IDN2_OK || !a) {
        /* not a valid IDN: keep the lower-cased UTF-8, it can still match itself */
        idn2_free(a);
        return (int)n;
    }
    size_t l = strlen(a);
    if (l >= cap || l > 253) {
        idn2_free(a);
        return -1;
    }
    /* what came back must be a host name (NFKC can turn a thin space into a space) */
    for (size_t i = 0; i < l; i++) {
        char c = lc(a[i]);
        bool ok = (c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_' ||
                  (c == '.' && i > 0 && i + 1 < l && a[i + 1] != '.');
        if (!ok) {
            idn2_free(a);
            return -1;
        }
        out[i] = c;
    }
    idn2_free(a);
    return (int)l;
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
    bool lastdigits = true, utf8 = false;
    for (uint32_t i = 0; i < s.len; i++) {
        char c = lc(s.p[i]);
        if (c == '.') {
            if (lablen == 0) return -1;
            labels++;
            lablen = 0;
            lastdigits = true;
        } else if ((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_' ||
                   (unsigned char)c >= 0x80) {
            if (++lablen > 63 && !utf8 && (unsigned char)c < 0x80) return -1;
            if (!is_digit(c)) lastdigits = false;
            if ((unsigned char)c >= 0x80) utf8 = true;
        } else {
            return -1;
        }
        out[i] = c;
    }
    if (lablen == 0 || labels < 2 || lastdigits) return -1;
    if (utf8) {
        int l = idn_ascii(out, s.len, cap);
        if (l <= 0 || l >= 256) return -1;
        bool ascii = true;
        for (int i = 0; i < l; i++) ascii &= (unsigned char)out[i] < 0x80;
        if (!ascii) return l;   /* not an IDN: kept as written, it can match itself */
        /* what NFKC made of it must pass as a name too ("₉7" is "97": a number) */
        char tmp[256];
        memcpy(tmp, out, (size_t)l);
        return norm_domain((mm_str){tmp, (uint32_t)l}, out, cap);
    }
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
    mm_str port;          /* kept only when not a default port (points at portn) */
    char portn[6];
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
    bool has_scheme = scheme_len(s, &sl);
    if (has_scheme) {
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
        /* The key has no scheme, so the port alone decides: 80 and 443 are the web's
         * defaults whatever the scheme said (a key must not change when it is
         * normalised again); others are kept as a number ("0081" is 81). */
        unsigned pn = 0;
        for (uint32_t i = 0; i < port.len; i++) pn = pn * 10 + (unsigned)(port.p[i] - '0');
        if (pn > 65535) return false;
        if (pn == 80 || pn == 443) {
            port = (mm_str){NULL, 0};
        } else {
            int pl = snprintf(u->portn, sizeof u->portn, "%u", pn);
            port = (mm_str){u->portn, (uint32_t)pl};
        }
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

static int hexv(char c) { return c <= '9' ? c - '0' : (lc(c) - 'a' + 10); }

/* host[:port]/path[?query] into out; with_query false drops "?...". */
static int url_key(const url_parts *u, bool with_query, char *out, size_t cap) {
    size_t n = 0;
    mm_str path = u->path;
    if (!with_query)
        for (uint32_t i = 0; i < path.len; i++)
            if (path.p[i] == '?') { path.len = i; break; }
    /* an IPv6 host keeps its brackets, or its port could not be told from it */
    bool v6 = u->host_is_ip && memchr(u->hostn, ':', (size_t)u->hostn_len);
    size_t need = (size_t)u->hostn_len + (v6 ? 2 : 0) + (u->port.p ? u->port.len + 1 : 0) + path.len + 1;
    if (need >= cap) return -1;
    if (v6) out[n++] = '[';
    memcpy(out + n, u->hostn, (size_t)u->hostn_len);
    n += (size_t)u->hostn_len;
    if (v6) out[n++] = ']';
    if (u->port.p) {
        out[n++] = ':';
        memcpy(out + n, u->port.p, u->port.len);
        n += u->port.len;
    }
    if (path.len == 0 || path.p[0] != '/') out[n++] = '/';
    /* %41 and A are the same URL; %2f and %2F too (but not /: escaping changes meaning) */
    for (uint32_t i = 0; i < path.len; i++) {
        char c = path.p[i];
        if (c == '%' && i + 2 < path.len && is_hex(path.p[i + 1]) &&
            is_hex(path.p[i + 2])) {
            int v = hexv(path.p[i + 1]) * 16 + hexv(path.p[i + 2]);
            if ((v >= 'A' && v <= 'Z') || (v >= 'a' && v <= 'z') || (v >= '0' && v <= '9') || v == '-' ||
                v == '.' || v == '_' || v == '~') {
                if (n + 1 >= cap) return -1;
                out[n++] = (char)v;
            } else {
                if (n + 3 >= cap) return -1;
                out[n++] = '%';
                out[n++] = "0123456789ABCDEF"[v >> 4];
                out[n++] = "0123456789ABCDEF"[v & 15];
            }
            i += 2;
            continue;
        }
        unsigned char uc = (unsigned char)c;
        if (c == '%' || uc <= 0x20 || uc >= 0x7f) {
            /* a stray '%' is written %25 (decoding a later escape must not make a new
             * one); spaces, controls and non-ASCII bytes as escapes too, as a
             * browser sends them */
            if (n + 3 >= cap) return -1;
            out[n++] = '%';
            out[n++] = "0123456789ABCDEF"[uc >> 4];
            out[n++] = "0123456789ABCDEF"[uc & 15];
            continue;
        }
        if (n + 1 >= cap) return -1;
        out[n++] = c;
    }
    /* room for the '/' a re-read may add: a key must survive being normalised again */
    if (n + 1 >= cap) return -1;
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
    {"ja3", MM_IOC_JA3},          {"ja3-fingerprint-md5", MM_IOC_JA3},
    {"email", MM_IOC_EMAIL},      {"email-src", MM_IOC_EMAIL}, {"email-dst", MM_IOC_EMAIL},
    {"email-addr", MM_IOC_EMAIL}, {"filename", MM_IOC_FILENAME}, {"file-name", MM_IOC_FILENAME},
    {"user-agent", MM_IOC_UA},    {"user_agent", MM_IOC_UA},   {"useragent", MM_IOC_UA},
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
    case MM_IOC_JA3: return "ja3";
    case MM_IOC_EMAIL: return "email";
    case MM_IOC_FILENAME: return "filename";
    case MM_IOC_UA: return "user-agent";
    default: return "indicator";
    }
}

unsigned mm_ioc_bits_of(mm_ind_type t) {
    switch (t) {
    case MM_IND_IP: return MM_IOC_IP;
    case MM_IND_DOMAIN: return MM_IOC_DOMAIN;
    case MM_IND_URL: return MM_IOC_URL;
    case MM_IND_MD5: return MM_IOC_MD5;
    case MM_IND_SHA1: return MM_IOC_SHA1;
    case MM_IND_SHA256: return MM_IOC_SHA256;
    case MM_IND_JA3: return MM_IOC_JA3;
    case MM_IND_EMAIL: return MM_IOC_EMAIL;
    case MM_IND_FILENAME: return MM_IOC_FILENAME;
    case MM_IND_USER_AGENT: return MM_IOC_UA;
    default: return 0;
    }
}

static mm_ind_type ind_of_bits(unsigned b) {
    for (int t = MM_IND_IP; t < MM_IND__COUNT; t++)
        if (mm_ioc_bits_of((mm_ind_type)t) == b) return (mm_ind_type)t;
    return MM_IND_NONE;
}

/* ---------------------------------------------------------------- normalising */

/* The key of one value.  `want` is the type (one bit) or 0 to classify the text.
 * key gets the lookup key (binary for addresses), text the canonical text (for
 * addresses; the key itself otherwise).  Returns the key length, -1 with *why. */
typedef struct nkey {
    unsigned type;
    char key[KEY_MAX];
    uint32_t klen;
    char text[64];       /* addresses only */
    uint32_t tlen;
    int af, bits;        /* addresses */
} nkey;

static bool email_key(mm_str v, nkey *k) {
    const char *at = memchr(v.p, '@', v.len);
    if (!at || at == v.p || v.len > 320) return false;
    uint32_t ll = (uint32_t)(at - v.p);
    if (ll > 64) return false;
    for (uint32_t i = 0; i < ll; i++) {
        /* RFC 5322 atext and '.' (no quoted local parts: nobody sends malware from them) */
        char c = v.p[i];
        if (!c || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || strchr(".!#$%&'*+-/=?^_`{|}~", c)))
            return false;
        k->key[i] = lc(c);
    }
    k->key[ll] = '@';
    int dl = norm_domain((mm_str){at + 1, v.len - ll - 1}, k->key + ll + 1, sizeof k->key - ll - 1);
    if (dl < 0) return false;
    k->klen = ll + 1 + (uint32_t)dl;
    k->type = MM_IOC_EMAIL;
    return true;
}

/* Refang the scheme and the host (hxxp, [.], [:], [at]...), not the path: a path
 * is compared byte for byte with what logs hold, and refanging it would change a
 * value each time it is normalised again. */
static mm_str refang_head(mm_str raw, char *out, size_t cap) {
    /* a scheme: a letter, scheme characters (and the brackets of a defanged
     * colon), then ':' or ']' and the value's first "//" (hxxp://, hxxps[:]//,
     * hxxp[://]); "host//path" is a host */
    size_t start = 0, i = 0;
    bool schemeish = raw.len && ((raw.p[0] | 32) >= 'a' && (raw.p[0] | 32) <= 'z');
    while (i < raw.len && raw.p[i] != '/') {
        char c = raw.p[i];
        if (!((c | 32) >= 'a' && (c | 32) <= 'z') && !is_digit(c) && !strchr("+-.[]:", c)) schemeish = false;
        i++;
    }
    if (schemeish && i > 0 && i < 24 && i + 1 < raw.len && raw.p[i + 1] == '/' &&
        (raw.p[i - 1] == ':' || raw.p[i - 1] == ']')) {
        start = i + 2;
        if (start < raw.len && raw.p[start] == ']') start++;
    }
    size_t e = start;
    while (e < raw.len && raw.p[e] != '/' && raw.p[e] != '?' && raw.p[e] != '#') e++;
    size_t n = mm_intel_refang(raw.p, e, out, cap);
    /* until nothing changes ("{{.}}" is "{.}" once refanged): the canonical text
     * must not refang any further */
    char again[KEY_MAX];
    for (int round = 0; round < 8 && cap <= sizeof again; round++) {
        size_t m = mm_intel_refang(out, n, again, sizeof again);
        if (m == n && memcmp(again, out, n) == 0) break;
        memcpy(out, again, m);
        n = m;
    }
    size_t tail = raw.len - e;
    if (n + tail >= cap) tail = cap - 1 - n;
    memcpy(out + n, raw.p + e, tail);
    out[n + tail] = 0;
    return (mm_str){out, (uint32_t)(n + tail)};
}

static int normalise(unsigned want, mm_str raw, nkey *k, const char **why) {
    char fang[KEY_MAX];
    *why = NULL;
    raw = trim(raw);
    if (raw.len == 0) { *why = "empty value"; return -1; }
    if (raw.len >= KEY_MAX) { *why = "value too long"; return -1; }
    k->tlen = 0;
    /* literal types: no refanging, no classification */
    /* no indicator holds a control character (and the canonical text is a C string) */
    for (uint32_t i = 0; i < raw.len; i++)
        if ((unsigned char)raw.p[i] < 0x20 || raw.p[i] == 0x7f) { *why = "control character in the value"; return -1; }
    if (want == MM_IOC_UA) {
        if (raw.len > UA_MAX) { *why = "User-Agent too long"; return -1; }
        for (uint32_t i = 0; i < raw.len; i++) k->key[i] = lc(raw.p[i]);
        k->klen = raw.len;
        k->type = MM_IOC_UA;
        return (int)k->klen;
    }
    if (want == MM_IOC_FILENAME) {
        uint32_t st = 0;
        for (uint32_t i = 0; i < raw.len; i++)
            if (raw.p[i] == '/' || raw.p[i] == '\\') st = i + 1;
        mm_str base = trim((mm_str){raw.p + st, raw.len - st});
        if (base.len == 0 || base.len > 255) { *why = "not a file name"; return -1; }
        for (uint32_t i = 0; i < base.len; i++) k->key[i] = lc(base.p[i]);
        k->klen = base.len;
        k->type = MM_IOC_FILENAME;
        return (int)k->klen;
    }
    mm_str v = refang_head(raw, fang, sizeof fang);
    v = trim(v);
    if (v.len == 0) { *why = "empty value"; return -1; }

    /* address or CIDR (parsed here so host bits can be masked off) */
    mm_ip net;
    int bits = -1;
    bool slash = memchr(v.p, '/', v.len) != NULL;
    /* "a.b.c.d/NN" is a CIDR; "a.b.c.d/path", "a.b.c.d/" and "[v6]/x" are URLs
     * (the form the store keeps URLs in: without their scheme) */
    if (v.len <= 64 && want != MM_IOC_URL && !(v.p[0] == '[' && slash)) {
        uint32_t sp = 0;
        while (sp < v.len && v.p[sp] != '/') sp++;
        if (parse_ip_text((mm_str){v.p, sp}, &net)) {
            int maxb = net.af == 4 ? 32 : 128;
            bool digits = sp + 1 < v.len && v.len - sp - 1 <= 3;
            for (uint32_t i = sp + 1; digits && i < v.len; i++) digits = is_digit(v.p[i]);
            if (sp == v.len) {
                bits = maxb;
            } else if (digits) {
                bits = 0;
                for (uint32_t i = sp + 1; i < v.len; i++) bits = bits * 10 + (v.p[i] - '0');
                if (bits > maxb) { *why = "prefix length too long"; return -1; }
            } else if (want == MM_IOC_IP) {
                *why = "bad prefix length";
                return -1;
            }
        }
    }
    if (bits >= 0) {
        if (want && want != MM_IOC_IP) { *why = "an address where another type was expected"; return -1; }
        if (net.af == 6 && bits == 128) net = unmap(&net);   /* ::ffff:a.b.c.d as a v4 host */
        if (net.af == 4 && bits > 32) bits = 32;
        k->klen = ip_key(&net, bits, k->key);
        mm_ip masked;
        memset(&masked, 0, sizeof masked);
        masked.af = net.af;
        memcpy(masked.b, k->key + 2, 16);
        mm_ip_fmt(&masked, k->text);
        size_t tl = strlen(k->text);
        if ((net.af == 4 && bits < 32) || (net.af == 6 && bits < 128))
            tl += (size_t)snprintf(k->text + tl, sizeof k->text - tl, "/%d", bits);
        k->tlen = (uint32_t)tl;
        k->type = MM_IOC_IP;
        k->af = net.af;
        k->bits = bits;
        return (int)k->klen;
    }
    if (want == MM_IOC_IP) { *why = "not an IP address or CIDR"; return -1; }

    /* hex: hashes by length; a JA3 is an md5-shaped fingerprint */
    int ht = hash_type(v);
    if (want == MM_IOC_JA3) {
        if (ht != MM_IOC_MD5) { *why = "a JA3 is 32 hex digits"; return -1; }
        ht = MM_IOC_JA3;
    }
    if (ht) {
        if (want && want != (unsigned)ht) { *why = "hash of the wrong length for its type"; return -1; }
        for (uint32_t i = 0; i < v.len; i++) k->key[i] = lc(v.p[i]);
        k->klen = v.len;
        k->type = (unsigned)ht;
        return (int)k->klen;
    }
    if (want & (MM_IOC_HASH | MM_IOC_JA3)) { *why = "not a hex hash"; return -1; }

    /* e-mail address (no scheme, no slash, one '@') */
    uint32_t sl;
    bool has_scheme = scheme_len(v, &sl);
    if (want == MM_IOC_EMAIL || (!want && !has_scheme && !slash && memchr(v.p, '@', v.len))) {
        if (v.len > 7 && !strncasecmp(v.p, "mailto:", 7)) v.p += 7, v.len -= 7;
        if (!email_key(v, k)) { *why = "not an e-mail address"; return -1; }
        return (int)k->klen;
    }

    /* URL: has a scheme, or a path after a host */
    if (has_scheme || slash) {
        url_parts u;
        if (!url_split(v, &u, true)) { *why = "not a URL"; return -1; }
        if (want == MM_IOC_DOMAIN) {
            /* typed as a domain but written as a URL: a bare site is fine */
            if (u.host_is_ip || !(u.path.len == 0 || (u.path.len == 1 && u.path.p[0] == '/'))) {
                *why = "a URL where a domain was expected";
                return -1;
            }
            memcpy(k->key, u.hostn, (size_t)u.hostn_len);
            k->klen = (uint32_t)u.hostn_len;
            k->type = MM_IOC_DOMAIN;
            return (int)k->klen;
        }
        int kl = url_key(&u, true, k->key, sizeof k->key);
        if (kl < 0) { *why = "URL too long"; return -1; }
        k->klen = (uint32_t)kl;
        k->type = MM_IOC_URL;
        return kl;
    }

    /* domain (a URL-typed bare host is taken as the site: a domain) */
    if (want && !(want & (MM_IOC_DOMAIN | MM_IOC_URL))) { *why = "value does not fit its type"; return -1; }
    int dl = norm_domain(v, k->key, sizeof k->key);
    if (dl < 0) { *why = want ? "not a domain name" : "not an indicator"; return -1; }
    k->klen = (uint32_t)dl;
    k->type = MM_IOC_DOMAIN;
    return dl;
}

int mm_ioc_normalise(int t, const char *v, size_t n, char *out, size_t cap, int *t_out, const char **why) {
    const char *w = NULL;
    static const char too_long[] = "value too long";
    nkey k;
    if (!why) why = &w;
    if (n >= KEY_MAX) { *why = too_long; return -1; }
    unsigned want = t ? mm_ioc_bits_of((mm_ind_type)t) : 0;
    if (t && !want) { *why = "unknown indicator type"; return -1; }
    if (normalise(want, (mm_str){v, (uint32_t)n}, &k, why) < 0) return -1;
    const char *txt = k.type == MM_IOC_IP ? k.text : k.key;
    size_t tl = k.type == MM_IOC_IP ? k.tlen : k.klen;
    if (tl >= cap) { *why = too_long; return -1; }
    memcpy(out, txt, tl);
    out[tl] = 0;
    if (t_out) *t_out = (int)ind_of_bits(k.type);
    return (int)tl;
}

/* ---------------------------------------------------------------- adding */

static uint32_t until_s(int64_t ns) {
    if (ns <= 0) return 0;
    int64_t s = ns / 1000000000;
    return s > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)(s ? s : 1);
}

static bool chain_has_feed(const mm_ioc_ctx *c, const char *feed) {
    for (; c; c = c->also)
        if (c->feed == feed) return true;   /* interned: pointer equality */
    return false;
}

/* A copy of chain `c` with `n` inserted by confidence (contexts are shared, so the
 * chain is rebuilt, not edited). */
static const mm_ioc_ctx *chain_insert(mm_ioc_set *s, const mm_ioc_ctx *c, const mm_ioc_ctx *n) {
    if (!c || n->confidence > c->confidence) {
        mm_ioc_ctx x = *n;
        x.also = c;
        return ictx(s, &x);
    }
    mm_ioc_ctx x = *c;
    x.also = chain_insert(s, c->also, n);
    return ictx(s, &x);
}

int mm_ioc_add(mm_ioc_set *s, const mm_indicator *ind, unsigned flags, const char **why) {
    const char *w = NULL;
    if (!why) why = &w;
    *why = NULL;
    if (!s || !ind || !ind->value) { *why = "no value"; return -1; }
    if (flags & MM_IOC_ADD_WARNING) {
        if (!s->warn && !(s->warn = mm_ioc_set_new())) return -2;
        return mm_ioc_add(s->warn, ind, flags & ~MM_IOC_ADD_WARNING, why);
    }
    if (ind->revoked) return 0;
    uint32_t vu = until_s(ind->valid_until);
    if (vu && vu < (uint32_t)time(NULL)) return 0;
    unsigned want = mm_ioc_bits_of(ind->type);
    nkey k;
    if (normalise(want, mm_str_c(ind->value), &k, why) < 0) return -1;
    mm_ioc_ctx c = {
        .feed = istr(s, ind->feed ? ind->feed : "indicators", 256),
        .tlp = istr(s, ind->tlp, 32),
        .actor = istr(s, ind->actor, 256),
        .campaign = istr(s, ind->campaign, 256),
        .malware = istr(s, ind->malware, 256),
        .kill_chain = istr(s, ind->kill_chain, 256),
        .attack = istr(s, ind->attack, 256),
        .description = istr(s, ind->description, DESC_MAX),
        .action = istr(s, ind->action, DESC_MAX),
        .confidence = ind->confidence < -1 ? -1 : ind->confidence > 100 ? 100 : ind->confidence,
    };
    ient *e;
    int r = put(s, k.type, k.key, k.klen, k.text, k.tlen, &e);
    if (r < 0) return -2;
    if (r == 1) {
        s->present |= k.type;
        e->ctx = ictx(s, &c);
        e->valid_until = vu;
        if (k.type == MM_IOC_IP) {
            note_len(s, k.af, k.bits);
            if (k.af == 4 && k.bits >= 16 && !note16(s, k.key, k.bits)) return -2;
        }
        return 1;
    }
    /* the same indicator again: another feed's view is kept; the longest validity wins */
    if (!chain_has_feed(e->ctx, c.feed)) e->ctx = chain_insert(s, e->ctx, ictx(s, &c));
    if (e->valid_until && (!vu || vu > e->valid_until)) e->valid_until = vu;
    return 0;
}

/* ---------------------------------------------------------------- lists */

typedef struct list_ctx {
    mm_ioc_set *s;
    int added, bad;
    bool oom;
} list_ctx;

static int list_rec(void *vc, const mm_indicator *ind) {
    list_ctx *lc_ = vc;
    int r = mm_ioc_add(lc_->s, ind, 0, NULL);
    if (r > 0) lc_->added++;
    else if (r == -1) lc_->bad++;
    else if (r == -2) {
        lc_->oom = true;
        return 1;
    }
    return 0;
}

int mm_ioc_parse(mm_ioc_set *s, const char *name, const char *text, size_t len, int *bad) {
    if (bad) *bad = 0;
    if (!s || (!text && len)) return 0;
    list_ctx lc_ = {.s = s};
    mm_intel_stats st;
    memset(&st, 0, sizeof st);
    mm_err err;
    if (mm_list_read(text ? text : "", len, name && *name ? name : "indicators", NULL, list_rec, &lc_, &st,
                     &err) < 0)
        lc_.bad++;
    int nbad = lc_.bad + (int)st.skipped;
    if (bad) *bad = nbad;
    if (lc_.added) mm_count(MM_C_IOC_LOADED, (uint64_t)lc_.added);
    if (nbad) mm_count(MM_C_IOC_ERRORS, (uint64_t)nbad);
    return lc_.added;
}

/* ---------------------------------------------------------------- lookup */

static bool alive(const ient *e) {
    return !e->valid_until || (uint32_t)time(NULL) <= e->valid_until;
}

static bool hit_from(const ient *e, mm_ioc_hit *hit) {
    if (!e || !alive(e)) return false;
    if (hit) {
        hit->indicator = ent_text(e);
        hit->ctx = e->ctx;
        hit->list = e->ctx ? e->ctx->feed : "indicators";
        hit->desc = e->ctx ? e->ctx->description : NULL;
        hit->type = e->type;
    }
    return true;
}

static bool probe(const mm_ioc_set *s, unsigned type, const char *k, uint32_t n, mm_ioc_hit *hit) {
    return hit_from(find(s, type, k, n, key_hash(type, k, n)), hit);
}

static bool lookup_ip(const mm_ioc_set *s, const mm_ip *ip0, mm_ioc_hit *hit) {
    mm_ip ip = unmap(ip0);
    char key[18];
    if (ip.af == 4) {
        /* the lengths >= 16 present in this address's /16, longest first, then the
         * short ones present anywhere */
        uint32_t m = s->mask16 ? s->mask16[((unsigned)ip.b[0] << 8) | ip.b[1]] : 0;
        while (m) {
            int b = 31 - __builtin_clz(m);
            m &= ~(1u << b);
            uint32_t kl = ip_key(&ip, b + 16, key);
            if (probe(s, MM_IOC_IP, key, kl, hit)) return true;
        }
        for (int i = 0; i < s->nord4; i++) {
            if (s->ord4[i] >= 16) continue;
            uint32_t kl = ip_key(&ip, s->ord4[i], key);
            if (probe(s, MM_IOC_IP, key, kl, hit)) return true;
        }
        return false;
    }
    const uint8_t *ord = ip.af == 4 ? s->ord4 : ip.af == 6 ? s->ord6 : NULL;
    int n = ip.af == 4 ? s->nord4 : ip.af == 6 ? s->nord6 : 0;
    for (int i = 0; ord && i < n; i++) {
        uint32_t kl = ip_key(&ip, ord[i], key);
        if (probe(s, MM_IOC_IP, key, kl, hit)) return true;
    }
    return false;
}

/* The domain and each parent with at least two labels. */
static bool lookup_domain(const mm_ioc_set *s, const char *d, uint32_t n, mm_ioc_hit *hit) {
    uint32_t i = 0;
    while (i < n) {
        mm_str rest = {d + i, n - i};
        if (!memchr(rest.p, '.', rest.len)) break;
        if (probe(s, MM_IOC_DOMAIN, rest.p, rest.len, hit)) return true;
        while (i < n && d[i] != '.') i++;
        i++;
    }
    return false;
}

/* An event-side name: lower-cased (punycode when it is UTF-8), a trailing dot
 * dropped, no validation beyond that (an odd value simply finds nothing).  The
 * sketch terms use the same form.  Returns the length in buf, or -1. */
static int event_name(mm_str v, char buf[256]) {
    if (v.len && v.p[v.len - 1] == '.') v.len--;
    if (v.len == 0 || v.len >= 256) return -1;
    bool utf8 = false;
    for (uint32_t i = 0; i < v.len; i++) {
        buf[i] = lc(v.p[i]);
        if ((unsigned char)buf[i] >= 0x80) utf8 = true;
    }
    return utf8 ? idn_ascii(buf, v.len, 256) : (int)v.len;
}

static bool match_domain_text(const mm_ioc_set *s, mm_str v, mm_ioc_hit *hit) {
    char buf[256];
    int n = event_name(v, buf);
    return n > 0 && lookup_domain(s, buf, (uint32_t)n, hit);
}

static bool match_url(const mm_ioc_set *s, const url_parts *u, unsigned types, mm_ioc_hit *hit) {
    char key[KEY_MAX];
    if (types & MM_IOC_URL) {
        int kl = url_key(u, true, key, sizeof key);
        if (kl > 0 && probe(s, MM_IOC_URL, key, (uint32_t)kl, hit)) return true;
        if (has_query(u)) {
            kl = url_key(u, false, key, sizeof key);
            if (kl > 0 && probe(s, MM_IOC_URL, key, (uint32_t)kl, hit)) return true;
        }
    }
    if (u->host_is_ip) return (types & MM_IOC_IP) && lookup_ip(s, &u->ip, hit);
    return (types & MM_IOC_DOMAIN) && lookup_domain(s, u->hostn, (uint32_t)u->hostn_len, hit);
}

/* The literal types: the value is what it is, whatever it looks like. */
static bool match_literal(const mm_ioc_set *s, mm_str val, unsigned types, mm_ioc_hit *hit) {
    nkey k;
    const char *why;
    if ((types & MM_IOC_UA) && normalise(MM_IOC_UA, val, &k, &why) > 0 &&
        probe(s, MM_IOC_UA, k.key, k.klen, hit))
        return true;
    if ((types & MM_IOC_FILENAME) && normalise(MM_IOC_FILENAME, val, &k, &why) > 0 &&
        probe(s, MM_IOC_FILENAME, k.key, k.klen, hit))
        return true;
    return false;
}

static bool match_raw(const mm_ioc_set *s, mm_str val, const mm_ip *ip, unsigned types, mm_ioc_hit *hit) {
    if (!s || s->n == 0) return false;
    /* only the types the set holds (a URL's host still goes to the domain and
     * address lookups when those are asked for and held) */
    types &= s->present;
    if (!types) return false;
    if (ip && ip->af) return (types & MM_IOC_IP) && lookup_ip(s, ip, hit);
    val = trim(val);
    if (val.len == 0) return false;
    if ((types & (MM_IOC_UA | MM_IOC_FILENAME)) && match_literal(s, val, types, hit)) return true;
    types &= ~(unsigned)(MM_IOC_UA | MM_IOC_FILENAME);
    if (!types) return false;
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
    if (val.len <= 64 && parse_ip_text(val, &pip)) {
        if (types & MM_IOC_IP) return lookup_ip(s, &pip, hit);
        /* "1.2.3.4%x@host" parses as an address with a zone: it may still be a mailbox */
        if (!((types & MM_IOC_EMAIL) && memchr(val.p, '@', val.len))) return false;
    }
    int ht = hash_type(val);
    if (ht) {
        char key[64];
        for (uint32_t i = 0; i < val.len; i++) key[i] = lc(val.p[i]);
        if ((types & (unsigned)ht) && probe(s, (unsigned)ht, key, val.len, hit)) return true;
        return ht == MM_IOC_MD5 && (types & MM_IOC_JA3) && probe(s, MM_IOC_JA3, key, val.len, hit);
    }
    uint32_t sl;
    bool scheme = scheme_len(val, &sl);
    if (!scheme && (types & MM_IOC_EMAIL) && memchr(val.p, '@', val.len)) {
        nkey k;
        mm_str v = val;
        if (v.len > 7 && !strncasecmp(v.p, "mailto:", 7)) v.p += 7, v.len -= 7;
        if (email_key(v, &k) && probe(s, MM_IOC_EMAIL, k.key, k.klen, hit)) return true;
        /* a '/' may be in a mailbox's local part, or the value is a URL with user info */
        if (!memchr(val.p, '/', val.len)) return false;
    }
    if (scheme || (memchr(val.p, '/', val.len) && val.p[0] != '/')) {
        url_parts u;
        if (!url_split(val, &u, true)) return false;
        return match_url(s, &u, types, hit);
    }
    return (types & MM_IOC_DOMAIN) && match_domain_text(s, val, hit);
}

/* A hit whose value is on a warning list, as the type that hit, is not a hit: a
 * warning-listed domain suppresses domain hits under it, not a URL indicator on
 * one of its sites (phishing pages on docs.google.com). */
static bool warned(const mm_ioc_set *s, mm_str val, const mm_ip *ip, unsigned hit_type) {
    if (!s->warn || !match_raw(s->warn, val, ip, hit_type, NULL)) return false;
    mm_count(MM_C_IOC_SUPPRESSED, 1);
    return true;
}

bool mm_ioc_match(const mm_ioc_set *s, mm_str val, const mm_ip *ip, unsigned types, mm_ioc_hit *hit) {
    mm_ioc_hit local;
    if (!hit) hit = &local;
    return match_raw(s, val, ip, types, hit) && !warned(s, val, ip, hit->type);
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
    mm_ioc_hit local;
    if (!hit) hit = &local;
    if (!url_split((mm_str){buf, (uint32_t)n}, &u, true)) return false;
    return match_url(s, &u, MM_IOC_URL, hit) && !warned(s, (mm_str){buf, (uint32_t)n}, NULL, hit->type);
}


/* ---------------------------------------------------------------- sketch terms */

/* Terms are hashed under a class seed, not the exact type: an md5-shaped value in
 * an event is one term whether a feed calls it an md5 or a JA3. */
enum { T_IP = 1, T_DOMAIN, T_URL, T_HEX, T_EMAIL, T_FILENAME, T_UA };

/* Terms are stored on disk (the store's block sketches), so their hash depends on
 * nothing outside this file: FNV-1a over the class byte and the key, then a
 * splitmix64 finaliser.  Changing it makes old sketches useless (never wrong:
 * the store keeps a format number with them). */
static uint64_t term(int cls, const char *k, size_t n) {
    /* eight bytes a step (little-endian reads, so the same on every host we build
     * for), the length and class mixed in, then the splitmix64 finaliser */
    uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)(uint8_t)cls << 56) ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--) v = (v << 8) | (uint8_t)k[i];
        h = (h ^ v) * 0x100000001b3ULL;
        h ^= h >> 29;
        k += 8;
        n -= 8;
    }
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) v = (v << 8) | (uint8_t)k[i - 1];
    h = (h ^ v) * 0x100000001b3ULL;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

typedef struct tsink {
    void (*fn)(void *ctx, uint64_t t);
    void *ctx;
} tsink;

static void ip_terms(const mm_ip *ip0, tsink *t) {
    mm_ip ip = unmap(ip0);
    char key[18];
    static const int v4[] = {32, 24, 16, 8}, v6[] = {128, 64, 48, 32};
    const int *b = ip.af == 4 ? v4 : v6;
    if (ip.af != 4 && ip.af != 6) return;
    for (int i = 0; i < 4; i++) t->fn(t->ctx, term(T_IP, key, ip_key(&ip, b[i], key)));
}

static void domain_terms(const char *d, uint32_t n, tsink *t) {
    uint32_t i = 0;
    while (i < n) {
        if (!memchr(d + i, '.', n - i)) break;
        t->fn(t->ctx, term(T_DOMAIN, d + i, n - i));
        while (i < n && d[i] != '.') i++;
        i++;
    }
}

/* A value as match_domain_text looks it up. */
static void domain_text_terms(mm_str v, tsink *t) {
    char buf[256];
    int n = event_name(v, buf);
    if (n > 0) domain_terms(buf, (uint32_t)n, t);
}

static void value_terms(mm_str val, const mm_value *v, tsink *t) {
    if (v && v->parsed && v->ip.af) {
        ip_terms(&v->ip, t);
        return;
    }
    val = trim(val);
    if (val.len == 0) return;
    if (val.len >= KEY_MAX) {
        /* cut as the matcher cuts (match_raw): at the query, else only the host counts */
        const char *q = memchr(val.p, '?', val.len);
        val.len = q && (size_t)(q - val.p) < KEY_MAX ? (uint32_t)(q - val.p) : KEY_MAX - 1;
    }
    mm_ip ip;
    if (val.len <= 64 && parse_ip_text(val, &ip)) {
        ip_terms(&ip, t);
        if (!memchr(val.p, '@', val.len)) return;   /* else also a mailbox (zone syntax) */
    }
    char key[KEY_MAX];
    if (hash_type(val)) {
        for (uint32_t i = 0; i < val.len; i++) key[i] = lc(val.p[i]);
        t->fn(t->ctx, term(T_HEX, key, val.len));
        return;
    }
    uint32_t sl;
    bool scheme = scheme_len(val, &sl);
    if (!scheme && memchr(val.p, '@', val.len)) {
        nkey k;
        mm_str mb = val;
        if (mb.len > 7 && !strncasecmp(mb.p, "mailto:", 7)) mb.p += 7, mb.len -= 7;
        if (email_key(mb, &k)) t->fn(t->ctx, term(T_EMAIL, k.key, k.klen));
        if (!memchr(val.p, '/', val.len)) {
            /* the matcher also tries such a value as a domain (fields without the
             * e-mail type) */
            domain_text_terms(val, t);
            return;
        }
    }
    if (scheme || (memchr(val.p, '/', val.len) && val.p[0] != '/')) {
        url_parts u;
        if (!url_split(val, &u, true)) return;
        int kl = url_key(&u, true, key, sizeof key);
        if (kl > 0) t->fn(t->ctx, term(T_URL, key, (size_t)kl));
        if (has_query(&u) && (kl = url_key(&u, false, key, sizeof key)) > 0) t->fn(t->ctx, term(T_URL, key, (size_t)kl));
        if (u.host_is_ip) ip_terms(&u.ip, t);
        else domain_terms(u.hostn, (uint32_t)u.hostn_len, t);
        return;
    }
    domain_text_terms(val, t);
}

static void literal_terms(int cls, unsigned type, mm_str val, tsink *t) {
    nkey k;
    const char *why;
    if (normalise(type, val, &k, &why) > 0) t->fn(t->ctx, term(cls, k.key, k.klen));
}

/* The fields the indicator rule reads (rules/fortigate/indicator_match.yml and
 * the e-mail, file name and User-Agent selections). */
static const uint16_t term_fields[] = {
    MM_F_SOURCE_IP, MM_F_DESTINATION_IP, MM_F_DNS_RESOLVED_IP, MM_F_URL_FULL, MM_F_URL_ORIGINAL,
    MM_F_URL_DOMAIN, MM_F_DNS_QUESTION_NAME, MM_F_DESTINATION_DOMAIN, MM_F_TLS_SERVER_NAME, MM_F_EMAIL_URLS,
    MM_F_TLS_JA3, MM_F_TLS_JA3S, MM_F_TLS_SERVER_SHA1, MM_F_FILE_HASH_MD5, MM_F_FILE_HASH_SHA1, MM_F_FILE_HASH_SHA256,
    MM_F_EMAIL_ATT_SHA256, MM_F_EMAIL_FROM, MM_F_EMAIL_TO, MM_F_EMAIL_SENDER, MM_F_EMAIL_CC,
};

void mm_ioc_event_terms(const mm_event *ev, void (*fn)(void *ctx, uint64_t term), void *ctx) {
    tsink t = {fn, ctx};
    for (size_t i = 0; i < MM_ARRAY_LEN(term_fields); i++)
        for (const mm_value *v = mm_event_get(ev, (mm_field)term_fields[i]); v; v = mm_event_next(ev, v))
            value_terms(v->s, v, &t);
    const mm_value *v;
    if ((v = mm_event_get(ev, MM_F_URL_DOMAIN)) && mm_event_has(ev, MM_F_URL_PATH)) {
        /* FortiGate logs host and path apart: the URL they make */
        const mm_value *pv = mm_event_get(ev, MM_F_URL_PATH), *qv = mm_event_get(ev, MM_F_URL_QUERY);
        char buf[KEY_MAX];
        size_t n = 0;
        mm_str parts[3] = {v->s, pv->s, qv ? qv->s : (mm_str){NULL, 0}};
        for (int i = 0; i < 3; i++) {
            if (i == 2 && parts[i].len && parts[i].p[0] != '?' && n + 1 < sizeof buf) buf[n++] = '?';
            if (i == 1 && (!parts[i].len || parts[i].p[0] != '/') && n + 1 < sizeof buf) buf[n++] = '/';
            if (n + parts[i].len >= sizeof buf) break;
            if (parts[i].len) memcpy(buf + n, parts[i].p, parts[i].len);
            n += parts[i].len;
        }
        value_terms((mm_str){buf, (uint32_t)n}, NULL, &t);
    }
    for (v = mm_event_get(ev, MM_F_FILE_NAME); v; v = mm_event_next(ev, v)) literal_terms(T_FILENAME, MM_IOC_FILENAME, v->s, &t);
    for (v = mm_event_get(ev, MM_F_EMAIL_ATT_NAME); v; v = mm_event_next(ev, v))
        literal_terms(T_FILENAME, MM_IOC_FILENAME, v->s, &t);
    for (v = mm_event_get(ev, MM_F_USER_AGENT_ORIGINAL); v; v = mm_event_next(ev, v)) literal_terms(T_UA, MM_IOC_UA, v->s, &t);
}

typedef struct tbuf {
    uint64_t *out;
    int n, max;
} tbuf;
static void tb_put(void *c, uint64_t h) {
    tbuf *b = c;
    if (b->n < b->max) b->out[b->n] = h;
    b->n++;
}

int mm_ioc_probe_terms(int t, const char *canonical, size_t n, uint64_t *out, int max) {
    nkey k;
    const char *why;
    unsigned want = mm_ioc_bits_of((mm_ind_type)t);
    if (!want || normalise(want, (mm_str){canonical, (uint32_t)n}, &k, &why) < 0) return 0;
    tbuf b = {out, 0, max};
    switch (k.type) {
    case MM_IOC_IP: {
        /* The event side has /32 /24 /16 /8 (v4), /128 /64 /48 /32 (v6).  Every
         * address in a /b shares its prefix at the finest of those levels <= b:
         * one term, a superset (the match itself is exact); none below /8 (/32). */
        mm_ip net;
        memset(&net, 0, sizeof net);
        net.af = k.af;
        memcpy(net.b, k.key + 2, 16);
        static const int v4[] = {32, 24, 16, 8}, v6[] = {128, 64, 48, 32};
        const int *lv = k.af == 4 ? v4 : v6;
        int fine = -1;
        for (int i = 0; i < 4; i++)
            if (lv[i] <= k.bits) { fine = lv[i]; break; }
        if (fine < 0) return -1;
        char key[18];
        tb_put(&b, term(T_IP, key, ip_key(&net, fine, key)));
        break;
    }
    case MM_IOC_DOMAIN: tb_put(&b, term(T_DOMAIN, k.key, k.klen)); break;
    case MM_IOC_URL: tb_put(&b, term(T_URL, k.key, k.klen)); break;
    case MM_IOC_MD5: case MM_IOC_SHA1: case MM_IOC_SHA256: case MM_IOC_JA3:
        tb_put(&b, term(T_HEX, k.key, k.klen));
        break;
    case MM_IOC_EMAIL: tb_put(&b, term(T_EMAIL, k.key, k.klen)); break;
    case MM_IOC_FILENAME: tb_put(&b, term(T_FILENAME, k.key, k.klen)); break;
    case MM_IOC_UA: tb_put(&b, term(T_UA, k.key, k.klen)); break;
    default: return 0;
    }
    return b.n;
}

