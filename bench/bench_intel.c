/* bench_intel: the threat-intelligence engine's figures (issue #5).
 *
 *   bench_intel [--indicators N] [--store-count N] [--match-events N] [--dns-events N]
 *               [--hunt-events N] [--hunt-indicators N] [--plants N] [--ctx-group N]
 *               [--txn N] [--dir DIR] [--keep] [--only load,match,store,hunt] [--rule FILE]
 *
 * The parts (10-12 of bench/run.sh; 1-3 of issue #5):
 *   10. N mixed indicators (default 10M) from a deterministic generator into an
 *      mm_ioc_set with mm_ioc_add: load time and resident memory; 10b. the same
 *      records written to a SQLite store with mm_intel_put (transactions of --txn
 *      records) and loaded back with mm_intel_load by a fresh process (this binary
 *      re-executed), as `mamori run` does at start-up.
 *   11. Match cost per event with the N-indicator set, one core: FortiGate lines and
 *      sensor-style DNS events (ECS JSON), decoded before the clock starts, through
 *      an engine holding only rules/fortigate/indicator_match.yml; the same with an
 *      empty set (baseline); and the raw mm_ioc_match lookups alone on each event's
 *      indicator-bearing values (source.ip, destination.ip, dns.resolved_ip,
 *      url.full, dns.question.name).  About 0.1% of the events carry an indicator.
 *   12. Retro-hunt: --hunt-events FortiGate lines decoded and stored (batches of
 *      1,000, one transaction each), --hunt-indicators new indicators put into the
 *      store (--plants of them occur in a few events each), mm_intel_hunt over the
 *      new ones (added_since), then over a single indicator.  Also the bytes the
 *      per-block indicator sketches cost per event.
 *
 * The generator (all values from a seeded splitmix64, so every run sees the same
 * data): ~38% IPv4 addresses, ~2% IPv4 CIDRs (/16-/30, mostly /24), ~5% IPv6, ~25%
 * domains, ~15% URLs (paths, some queries, a few defanged), ~10% md5/sha1/sha256,
 * ~5% JA3 / e-mail / file name / User-Agent.  Context comes per group of
 * --ctx-group consecutive records (one report or MISP event: 64 by default): one
 * of 30 feeds, a few hundred actor and malware names, 500 campaigns, descriptions
 * from 3,000 strings, TLP, kill chain, ATT&CK ids; confidence 0-100 per group
 * (15% of records their own); 10% of groups valid until a future date.
 * Indicators live in address blocks and top-level domains that the benign event
 * traffic does not use, so hits are exactly the values injected into events.
 *
 * Prints "name value unit" lines; never asserts timings.  The store (parts 10b and
 * 12 use one file, as a deployment does: 10M indicators and 10M events are about
 * 12 GB) goes under --dir (default: the current directory) and is deleted at the
 * end unless --keep. */
#include "decode/decode.h"
#include "detect/detect.h"
#include "detect/detect_int.h"
#include "intel/intel.h"
#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define DAY_NS (86400LL * NS)

/* ---------------------------------------------------------------- options */

typedef struct opts {
    long indicators, store_count, match_events, dns_events, hunt_events, hunt_indicators, plants;
    long ctx_group, txn;
    const char *dir;
    const char *rule;            /* the indicator rule file, NULL: rules/fortigate/indicator_match.yml */
    bool keep;
    bool only_load, only_match, only_store, only_hunt;   /* all false = every part */
} opts;

static bool want(const opts *o, bool part) {
    return part || !(o->only_load || o->only_match || o->only_store || o->only_hunt);
}

/* ---------------------------------------------------------------- small tools */

static inline uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

typedef struct rng {
    uint64_t s;
} rng;
static inline uint64_t rnext(rng *r) { return mix(r->s += 0x9e3779b97f4a7c15ULL); }
static inline uint32_t rbelow(rng *r, uint32_t n) { return (uint32_t)(((rnext(r) >> 32) * n) >> 32); }
static inline double runit(rng *r) { return (double)(rnext(r) >> 11) * 0x1.0p-53; }
/* A popularity skew: index i of n with density ~ 1/sqrt(i) (a few values are busy). */
static inline uint32_t rskew(rng *r, uint32_t n) {
    double u = runit(r);
    uint32_t i = (uint32_t)(u * u * n);
    return i < n ? i : n - 1;
}

static double status_mib(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') v = (double)atol(line + kl + 1) / 1024.0;
    if (f) fclose(f);
    return v;
}

static double secs_since(int64_t t0) { return (double)(mm_mono_ns() - t0) / 1e9; }

static int64_t file_bytes(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static int64_t db_bytes(const char *db) {
    char p[4200];
    int64_t n = file_bytes(db);
    snprintf(p, sizeof p, "%s-wal", db);
    n += file_bytes(p);
    snprintf(p, sizeof p, "%s-shm", db);
    return n + file_bytes(p);
}

/* A bit per pool value: how many distinct values the events used. */
typedef struct bitmap {
    uint64_t *w;
    uint32_t n;
    uint64_t set;
} bitmap;
static void bm_init(bitmap *b, uint32_t n) {
    b->w = calloc((n + 63) / 64, 8);
    if (!b->w) abort();
    b->n = n;
    b->set = 0;
}
static void bm_put(bitmap *b, uint32_t i) {
    uint64_t m = 1ULL << (i & 63);
    if (!(b->w[i >> 6] & m)) b->set++;
    b->w[i >> 6] |= m;
}
static void bm_free(bitmap *b) { free(b->w); }

/* ---------------------------------------------------------------- names */

static const char *const SYL[64] = {
    "ka", "ri", "to", "mo", "na", "zu", "lex", "tron", "vi", "sa", "pro", "net", "clo", "da", "sof", "web",
    "ma", "sho", "in", "tek", "sec", "hos", "lin", "zen", "neo", "max", "sta", "blu", "re", "gre", "ori", "pix",
    "qua", "ne", "xo", "ly", "fy", "ra", "me", "ko", "ta", "shi", "ba", "do", "gu", "ha", "ji", "ku",
    "mi", "no", "pe", "ro", "su", "te", "wa", "yo", "el", "ar", "is", "om", "ux", "ev", "al", "ix"};
static const char *const BAD_TLD[10] = {"xyz", "top", "ru", "su", "cc", "info", "biz", "online", "site", "club"};
static const char *const GOOD_TLD[8] = {"com", "net", "org", "jp", "co.jp", "de", "io", "cloud"};
/* first octets of the indicators' IPv4 space and of the benign traffic's: disjoint */
static const uint8_t BAD_O1[24] = {45, 46, 62, 77, 78, 79, 80, 81, 82, 83, 84, 85,
                                   91, 92, 93, 94, 95, 109, 141, 176, 178, 185, 193, 194};
static const uint8_t GOOD_O1[16] = {13, 20, 23, 31, 34, 35, 40, 52, 54, 104, 142, 151, 157, 199, 204, 216};
static const char *const SUB[8] = {"www", "api", "cdn", "mail", "login", "static", "img", "update"};
static const char *const SEG[16] = {"wp-content", "admin", "images", "js", "api", "v1", "download", "files",
                                    "update", "gate", "panel", "login", "static", "uploads", "inc", "data"};
static const char *const FILE_EXT[6] = {"php", "exe", "js", "html", "zip", "bin"};

static size_t word(char *o, uint64_t h, int nsyl) {
    size_t n = 0;
    for (int i = 0; i < nsyl; i++, h >>= 6) {
        const char *s = SYL[h & 63];
        size_t l = strlen(s);
        memcpy(o + n, s, l);
        n += l;
    }
    o[n] = 0;
    return n;
}

/* Context tables: the strings the records point at (static for the whole run). */
enum { NFEED = 30, NACTOR = 300, NMAL = 200, NCAMP = 500, NDESC = 3000 };
static char feeds[NFEED][40], actors[NACTOR][40], malware[NMAL][40], campaigns[NCAMP][48], descs[NDESC][120];
static const char *const TLP[6] = {"clear", "green", "green", "amber", "amber+strict", "red"};
static const char *const KILL[7] = {"reconnaissance", "weaponization", "delivery", "exploitation",
                                    "installation", "command-and-control", "actions-on-objectives"};
static const char *const ATTACK[8] = {"T1071", "T1105", "T1566", "T1190", "T1059", "T1071.001,T1573", "T1486",
                                      "T1041"};
static const char *const ACTION[5] = {"block at the perimeter", "isolate the host and reimage",
                                      "reset the user's credentials", "monitor", "report to the CSIRT"};

static void tables_init(void) {
    static const char *const fk[6] = {"abuse", "intel", "osint", "isac", "vendor", "misp"};
    for (int i = 0; i < NFEED; i++) {
        char w[32];
        word(w, mix((uint64_t)i + 1000), 2);
        snprintf(feeds[i], sizeof feeds[i], "%s-%s-%d", fk[i % 6], w, i);
    }
    for (int i = 0; i < NACTOR; i++) {
        char w[32];
        word(w, mix((uint64_t)i + 2000), 3);
        if (i % 3 == 0) snprintf(actors[i], sizeof actors[i], "APT%d", 1 + i);
        else if (i % 3 == 1) snprintf(actors[i], sizeof actors[i], "TA%d", 400 + i);
        else snprintf(actors[i], sizeof actors[i], "%c%s Spider", w[0] - 32, w + 1);
    }
    for (int i = 0; i < NMAL; i++) {
        char w[32];
        word(w, mix((uint64_t)i + 3000), 2 + i % 2);
        snprintf(malware[i], sizeof malware[i], "%c%s%s", w[0] - 32, w + 1, i % 4 == 0 ? "Loader" : i % 4 == 1 ? "RAT" : "");
    }
    for (int i = 0; i < NCAMP; i++) {
        char w[32];
        word(w, mix((uint64_t)i + 4000), 3);
        snprintf(campaigns[i], sizeof campaigns[i], "Operation %c%s", w[0] - 32, w + 1);
    }
    static const char *const dk[6] = {"Command and control server", "Phishing landing page",
                                      "Malware distribution site", "Scanning host", "Exfiltration endpoint",
                                      "Credential harvesting kit"};
    for (int i = 0; i < NDESC; i++)
        snprintf(descs[i], sizeof descs[i], "%s of %s observed in %s (report %d)", dk[i % 6], malware[i % NMAL],
                 campaigns[(i * 7) % NCAMP], 1000 + i);
}

/* ---------------------------------------------------------------- indicators */

enum { K_IP4 = 1, K_CIDR4, K_IP6, K_DOMAIN, K_URL, K_HASH, K_OTHER };   /* 0: none */

typedef struct gen_out {
    int kind;
    uint32_t v4;         /* K_IP4, K_CIDR4 (the network) */
    int plen;            /* K_CIDR4 */
} gen_out;

static void put_v4(char *o, size_t cap, uint32_t a) {
    snprintf(o, cap, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static uint32_t bad_v4(uint64_t h) {
    uint32_t a = ((uint32_t)BAD_O1[h % 24] << 24) | ((uint32_t)(h >> 8) & 0xffffff);
    if ((a & 255) == 0 || (a & 255) == 255) a ^= 7;
    return a;
}

static size_t bad_domain(char *o, uint64_t h, bool sub) {
    size_t n = 0;
    if (sub) n = (size_t)sprintf(o, "%s.", SUB[(h >> 50) & 7]);
    n += word(o + n, h, 2 + (int)((h >> 40) & 1) + (int)((h >> 41) & 1));
    if ((h >> 42) & 1) n += (size_t)sprintf(o + n, "%u", (unsigned)((h >> 43) & 127));
    n += (size_t)sprintf(o + n, ".%s", BAD_TLD[(h >> 54) % 10]);
    return n;
}

static size_t hexs(char *o, rng *r, int n, bool upper) {
    static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
    uint64_t x = 0;
    for (int i = 0; i < n; i++) {
        if (i % 16 == 0) x = rnext(r);
        o[i] = (upper ? up : lo)[x & 15];
        x >>= 4;
    }
    o[n] = 0;
    return (size_t)n;
}

/* Defang in place the way reports do (evil.top -> evil[.]top, http -> hxxp). */
static void defang(char *v, size_t cap) {
    char t[600];
    size_t n = 0;
    const char *p = v;
    if (!strncmp(p, "http", 4)) {
        memcpy(t, "hxxp", 4);
        n = 4;
        p += 4;
    }
    for (; *p && n + 4 < sizeof t; p++) {
        if (*p == '.') {
            memcpy(t + n, "[.]", 3);
            n += 3;
        } else t[n++] = *p;
    }
    t[n] = 0;
    snprintf(v, cap, "%s", t);
}

/* Record i of the stream `seed`: the value into vbuf (cap bytes), the context
 * pointing at the static tables.  clean: never defanged (values put into events). */
static void gen_indicator(uint64_t seed, uint64_t i, long ctx_group, int64_t now, mm_indicator *ind, char *vbuf,
                          size_t cap, bool clean, gen_out *go) {
    rng r = {mix(seed ^ mix(i))};
    uint64_t g = mix(seed * 31 + i / (uint64_t)ctx_group);   /* the group (report) */
    memset(ind, 0, sizeof *ind);
    gen_out local;
    if (!go) go = &local;
    memset(go, 0, sizeof *go);
    uint32_t k = rbelow(&r, 1000);
    mm_ind_type t;
    bool may_defang = false;
    if (k < 380) {
        go->kind = K_IP4;
        go->v4 = bad_v4(rnext(&r));
        put_v4(vbuf, cap, go->v4);
        t = MM_IND_IP;
    } else if (k < 400) {
        static const int lens[15] = {16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
        static const int w[15] = {1, 1, 1, 1, 2, 2, 4, 4, 50, 6, 6, 6, 6, 6, 4};
        uint32_t x = rbelow(&r, 100), acc = 0;
        int li = 0;
        while (li < 14 && x >= acc + (uint32_t)w[li]) acc += (uint32_t)w[li++];
        go->kind = K_CIDR4;
        go->plen = lens[li];
        uint32_t a = bad_v4(rnext(&r));
        go->v4 = a & (0xffffffffu << (32 - go->plen));
        put_v4(vbuf, cap, rbelow(&r, 10) == 0 ? a : go->v4);   /* a few with host bits set */
        size_t n = strlen(vbuf);
        snprintf(vbuf + n, cap - n, "/%d", go->plen);
        t = MM_IND_IP;
    } else if (k < 450) {
        go->kind = K_IP6;
        uint64_t h = rnext(&r);
        if (rbelow(&r, 10) == 0)
            snprintf(vbuf, cap, "2a0%x:%x:%x::/%d", (unsigned)(h & 15), (unsigned)((h >> 4) & 0xffff),
                     (unsigned)((h >> 20) & 0xffff), 48);
        else
            snprintf(vbuf, cap, "2a0%x:%x:%x:%x::%x", (unsigned)(h & 15), (unsigned)((h >> 4) & 0xffff),
                     (unsigned)((h >> 20) & 0xffff), (unsigned)((h >> 36) & 0xffff), (unsigned)((h >> 52) & 0xfff) + 1);
        t = MM_IND_IP;
    } else if (k < 700) {
        go->kind = K_DOMAIN;
        bad_domain(vbuf, rnext(&r), rbelow(&r, 5) == 0);
        t = MM_IND_DOMAIN;
        may_defang = true;
    } else if (k < 850) {
        go->kind = K_URL;
        uint64_t h = rnext(&r);
        size_t n = (size_t)snprintf(vbuf, cap, "%s://", (h & 3) == 0 ? "http" : "https");
        if (((h >> 2) & 15) == 0) {
            put_v4(vbuf + n, cap - n, bad_v4(rnext(&r)));
            n = strlen(vbuf);
            if ((h >> 6) & 1) n += (size_t)snprintf(vbuf + n, cap - n, ":8080");
        } else {
            n += bad_domain(vbuf + n, rnext(&r), ((h >> 7) & 3) == 0);
        }
        int segs = 1 + (int)((h >> 9) % 4);
        for (int s = 0; s < segs; s++) n += (size_t)snprintf(vbuf + n, cap - n, "/%s", SEG[(h >> (12 + 4 * s)) & 15]);
        uint64_t h2 = rnext(&r);
        n += (size_t)snprintf(vbuf + n, cap - n, "/%x.%s", (unsigned)(h2 & 0xfffff), FILE_EXT[(h2 >> 20) % 6]);
        if (((h2 >> 24) % 10) < 3)
            snprintf(vbuf + n, cap - n, "?id=%x&u=%x", (unsigned)((h2 >> 28) & 0xffffff), (unsigned)(h2 >> 52));
        t = MM_IND_URL;
        may_defang = true;
    } else if (k < 950) {
        go->kind = K_HASH;
        uint32_t x = k - 850;
        bool up = rbelow(&r, 20) == 0;
        if (x < 30) t = MM_IND_MD5, hexs(vbuf, &r, 32, up);
        else if (x < 60) t = MM_IND_SHA1, hexs(vbuf, &r, 40, up);
        else t = MM_IND_SHA256, hexs(vbuf, &r, 64, up);
    } else {
        go->kind = K_OTHER;
        uint32_t x = k - 950;
        uint64_t h = rnext(&r);
        if (x < 15) {
            t = MM_IND_JA3;
            hexs(vbuf, &r, 32, false);
        } else if (x < 30) {
            t = MM_IND_EMAIL;
            char w1[32], d[128];
            word(w1, h, 3);
            bad_domain(d, rnext(&r), false);
            snprintf(vbuf, cap, "%s.%u@%s", w1, (unsigned)((h >> 30) & 1023), d);
        } else if (x < 40) {
            t = MM_IND_FILENAME;
            static const char *const base[5] = {"invoice", "scan", "payment", "update", "document"};
            static const char *const ext[5] = {"exe", "dll", "js", "docm", "lnk"};
            snprintf(vbuf, cap, "%s_%06u.%s", base[h % 5], (unsigned)((h >> 8) % 1000000), ext[(h >> 40) % 5]);
        } else {
            t = MM_IND_USER_AGENT;
            char w1[32];
            word(w1, h, 2);
            snprintf(vbuf, cap, "Mozilla/5.0 (compatible; %c%sBot/%u.%u; +http://%s.%s/bot)", w1[0] - 32, w1 + 1,
                     (unsigned)((h >> 20) & 7), (unsigned)((h >> 24) & 15), w1, BAD_TLD[(h >> 30) % 10]);
        }
    }
    if (!clean && may_defang && rbelow(&r, 50) == 0) defang(vbuf, cap);
    /* lists without a type column: the reader guesses */
    if ((t == MM_IND_IP || t == MM_IND_DOMAIN || t == MM_IND_URL) && rbelow(&r, 20) == 0) t = MM_IND_NONE;
    ind->type = t;
    ind->value = vbuf;
    ind->feed = feeds[g % NFEED];
    ind->tlp = (g >> 8) % 8 < 6 ? TLP[(g >> 8) % 8] : NULL;
    ind->actor = (g >> 12) % 10 < 7 ? actors[(g >> 16) % NACTOR] : NULL;
    ind->malware = (g >> 24) % 10 < 8 ? malware[(g >> 28) % NMAL] : NULL;
    ind->campaign = (g >> 36) % 10 < 3 ? campaigns[(g >> 40) % NCAMP] : NULL;
    ind->description = descs[mix(g) % NDESC];
    ind->kill_chain = (g >> 50) % 10 < 4 ? KILL[(g >> 54) % 7] : NULL;
    ind->attack = (g >> 57) % 2 ? ATTACK[(g >> 58) % 8] : NULL;
    ind->action = (g >> 61) == 0 ? ACTION[(g >> 5) % 5] : NULL;
    ind->confidence = rbelow(&r, 100) < 15 ? (int)rbelow(&r, 101) : (int)(mix(g + 1) % 101);
    ind->first_seen = now - (int64_t)(mix(g + 2) % 365) * DAY_NS - (int64_t)rbelow(&r, 86400) * NS;
    ind->last_seen = ind->first_seen + (int64_t)rbelow(&r, 30) * DAY_NS;
    if (mix(g + 3) % 10 == 0) ind->valid_until = now + (30 + (int64_t)(mix(g + 4) % 335)) * DAY_NS;
    if ((g >> 3) % 3 == 0) {
        static _Thread_local char id[64];   /* a STIX-like id for the STIX-ish feeds */
        snprintf(id, sizeof id, "indicator--%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(i & 0xffffffff),
                 (unsigned)(seed & 0xffff), (unsigned)(g & 0xfff), (unsigned)((g >> 12) & 0xfff),
                 (unsigned long long)(mix(i) & 0xffffffffffffULL));
        ind->id = id;
    }
}

/* A chunk of generated records (values in one buffer), so the clock only runs over
 * the calls being measured. */
enum { CHUNK = 16384, VCAP = 512 };
typedef struct chunk {
    mm_indicator ind[CHUNK];
    char id[CHUNK][64];
    char val[CHUNK][VCAP];
    int n;
} chunk;

static void chunk_fill(chunk *c, uint64_t seed, long from, long to, long ctx_group, int64_t now) {
    c->n = 0;
    for (long i = from; i < to; i++, c->n++) {
        gen_indicator(seed, (uint64_t)i, ctx_group, now, &c->ind[c->n], c->val[c->n], VCAP, false, NULL);
        if (c->ind[c->n].id) {
            snprintf(c->id[c->n], sizeof c->id[c->n], "%s", c->ind[c->n].id);
            c->ind[c->n].id = c->id[c->n];
        }
    }
}

/* ---------------------------------------------------------------- events */

enum { POOL_DST4 = 200000, POOL_DST6 = 20000, POOL_DOM = 150000, POOL_URL = 100000, POOL_SRC = 8000 };

typedef struct pools {
    bitmap dst4, dst6, dom, url, src;
} pools;

static uint32_t good_v4(uint32_t i) {
    uint64_t h = mix((uint64_t)i * 7919 + 17);
    uint32_t a = ((uint32_t)GOOD_O1[h % 16] << 24) | ((uint32_t)(h >> 8) & 0xffffff);
    if ((a & 255) == 0 || (a & 255) == 255) a ^= 9;
    return a;
}

static size_t good_domain(char *o, uint32_t i) {
    uint64_t h = mix((uint64_t)i * 104729 + 5);
    size_t n = 0;
    if (h & 1) n = (size_t)sprintf(o, "%s.", SUB[(h >> 1) & 7]);
    n += word(o + n, h >> 4, 2 + (int)((h >> 20) & 1));
    n += (size_t)sprintf(o + n, ".%s", GOOD_TLD[(h >> 24) % 8]);
    return n;
}

/* URL pool entry: host and path(+query) apart, as FortiGate's hostname= and url=. */
static void good_url(uint32_t i, char *host, char *path, size_t cap) {
    uint64_t h = mix((uint64_t)i * 15485863 + 3);
    good_domain(host, (uint32_t)(h % POOL_DOM));
    size_t n = 0;
    int segs = (int)((h >> 20) % 4);
    for (int s = 0; s < segs; s++) n += (size_t)snprintf(path + n, cap - n, "/%s", SEG[(h >> (24 + 4 * s)) & 15]);
    if ((h >> 40) % 4 == 0) n += (size_t)snprintf(path + n, cap - n, "/");
    else n += (size_t)snprintf(path + n, cap - n, "/%x.%s", (unsigned)((h >> 42) & 0xfff), FILE_EXT[(h >> 54) % 6]);
    if ((h >> 58) % 4 == 0) snprintf(path + n, cap - n, "?q=%x&lang=ja", (unsigned)((h >> 8) & 0xfff));
}

static void internal_ip(char *o, uint32_t i) { sprintf(o, "10.10.%u.%u", (i >> 8) & 31, 1 + i % 254); }

/* What an event carries instead of pool values (an injected or planted indicator). */
typedef struct inject {
    int kind;            /* 0 none, K_IP4 (also CIDR hosts), K_IP6, K_DOMAIN, K_URL */
    char v[VCAP];        /* the address, domain or URL (with scheme) */
} inject;

static const char DEV[] = "devname=\"FGT-HQ01\" devid=\"FG200FTK21000001\"";

static size_t tstamp(char *o, int64_t ns) {
    time_t s = (time_t)(ns / NS);
    struct tm tm;
    gmtime_r(&s, &tm);
    return (size_t)sprintf(o, "date=%04d-%02d-%02d time=%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* One FortiGate line: 55% traffic (3% denied, 3% IPv6), 20% web filter (hostname
 * and url: half a path, half the whole URL), 20% DNS, 5% admin events. */
static size_t fgt_line(char *out, size_t cap, rng *r, int64_t ts, const inject *inj, pools *p) {
    char t[64], src[32], dst[VCAP], host[VCAP], path[VCAP];
    tstamp(t, ts);
    uint32_t si = rskew(r, POOL_SRC);
    internal_ip(src, si);
    if (p) bm_put(&p->src, si);
    uint32_t k = rbelow(r, 100);
    if (inj && inj->kind) k = inj->kind == K_DOMAIN ? (rbelow(r, 2) ? 60 : 80) : inj->kind == K_URL ? 60 : 0;
    unsigned sess = (unsigned)rbelow(r, 900000000), sport = 1024 + rbelow(r, 60000);
    if (k < 55) {
        bool v6 = rbelow(r, 100) < 3, deny = rbelow(r, 100) < 3;
        if (inj && inj->kind) {
            snprintf(dst, sizeof dst, "%s", inj->v);
            deny = false;
        } else if (v6) {
            uint32_t i = rskew(r, POOL_DST6);
            uint64_t h = mix(i + 77);
            snprintf(dst, sizeof dst, "2606:4700:%x:%x::%x", (unsigned)(h & 0xffff), (unsigned)((h >> 16) & 0xffff),
                     (unsigned)((h >> 32) & 0xfff) + 1);
            if (p) bm_put(&p->dst6, i);
        } else {
            uint32_t i = rskew(r, POOL_DST4);
            put_v4(dst, sizeof dst, good_v4(i));
            if (p) bm_put(&p->dst4, i);
        }
        static const char *const svc[4] = {"HTTPS", "HTTP", "DNS", "SSH"};
        static const unsigned dport[4] = {443, 80, 53, 22};
        uint32_t s = rbelow(r, 4);
        return (size_t)snprintf(out, cap,
                                "<189>%s %s eventtime=%lld tz=\"+0000\" logid=\"0000000013\" type=\"traffic\" "
                                "subtype=\"forward\" level=\"%s\" vd=\"root\" srcip=%s srcport=%u srcintf=\"internal1\" "
                                "srcintfrole=\"lan\" dstip=%s dstport=%u dstintf=\"wan1\" dstintfrole=\"wan\" "
                                "srccountry=\"Reserved\" dstcountry=\"United States\" sessionid=%u proto=6 action=\"%s\" "
                                "policyid=%d policytype=\"policy\" poluuid=\"5c1d0a3e-7f2b-51ef-8a4e-3f1c2b9d0a05\" "
                                "policyname=\"LAN-to-Internet\" service=\"%s\" trandisp=\"snat\" transip=203.0.113.10 "
                                "transport=%u appcat=\"unscanned\" duration=%u sentbyte=%u rcvdbyte=%u sentpkt=%u "
                                "rcvdpkt=%u",
                                t, DEV, (long long)ts, deny ? "warning" : "notice", src, sport, dst, dport[s], sess,
                                deny ? "deny" : "close", deny ? 0 : 5, svc[s], sport + 1, rbelow(r, 600),
                                rbelow(r, 100000), rbelow(r, 1000000), rbelow(r, 200), rbelow(r, 900));
    }
    put_v4(dst, sizeof dst, good_v4(rskew(r, POOL_DST4)));
    if (k < 75) {
        bool whole = rbelow(r, 2) == 0;
        char url[2 * VCAP + 16];
        if (inj && inj->kind == K_URL) {
            /* the indicator's URL: host and path apart, or whole */
            const char *h = strstr(inj->v, "://");
            h = h ? h + 3 : inj->v;
            const char *sl = strchr(h, '/');
            size_t hl = sl ? (size_t)(sl - h) : strlen(h);
            snprintf(host, sizeof host, "%.*s", (int)hl, h);
            char *colon = strchr(host, ':');
            if (colon) {
                *colon = 0;
                whole = true;   /* hostname= has no port: the whole URL keeps it */
            }
            snprintf(path, sizeof path, "%s", sl ? sl : "/");
            if (whole) snprintf(url, sizeof url, "%s", inj->v);
            else snprintf(url, sizeof url, "%s", path);
        } else {
            uint32_t i = rskew(r, POOL_URL);
            good_url(i, host, path, sizeof path);
            if (p) bm_put(&p->url, i);
            if (inj && inj->kind == K_DOMAIN) snprintf(host, sizeof host, "%s", inj->v);
            if (whole) snprintf(url, sizeof url, "https://%s%s", host, path);
            else snprintf(url, sizeof url, "%s", path);
        }
        return (size_t)snprintf(out, cap,
                                "<189>%s %s eventtime=%lld tz=\"+0000\" logid=\"0317013312\" type=\"utm\" "
                                "subtype=\"webfilter\" eventtype=\"ftgd_allow\" level=\"notice\" vd=\"root\" policyid=5 "
                                "sessionid=%u srcip=%s srcport=%u srcintf=\"internal1\" srcintfrole=\"lan\" dstip=%s "
                                "dstport=443 dstintf=\"wan1\" dstintfrole=\"wan\" proto=6 service=\"HTTPS\" "
                                "hostname=\"%s\" profile=\"web\" action=\"passthrough\" reqtype=\"direct\" url=\"%s\" "
                                "sentbyte=%u rcvdbyte=%u direction=\"outgoing\" msg=\"URL belongs to an allowed "
                                "category in policy\" method=\"domain\" cat=52 catdesc=\"Information Technology\"",
                                t, DEV, (long long)ts, sess, src, sport, dst, host, url, rbelow(r, 2000),
                                rbelow(r, 200000));
    }
    if (k < 95) {
        char q[VCAP];
        if (inj && inj->kind == K_DOMAIN) snprintf(q, sizeof q, "%s", inj->v);
        else {
            uint32_t i = rskew(r, POOL_DOM);
            good_domain(q, i);
            if (p) bm_put(&p->dom, i);
        }
        uint32_t ri = rskew(r, POOL_DST4);
        char res[32];
        put_v4(res, sizeof res, good_v4(ri));
        if (p) bm_put(&p->dst4, ri);
        return (size_t)snprintf(out, cap,
                                "<190>%s %s eventtime=%lld tz=\"+0000\" logid=\"1501054802\" type=\"utm\" "
                                "subtype=\"dns\" eventtype=\"dns-response\" level=\"information\" vd=\"root\" "
                                "policyid=3 sessionid=%u srcip=%s srcport=%u srcintf=\"internal1\" "
                                "srcintfrole=\"lan\" dstip=10.10.0.53 dstport=53 dstintf=\"internal2\" "
                                "dstintfrole=\"lan\" proto=17 profile=\"default\" xid=%u qname=\"%s\" qtype=\"A\" "
                                "qtypeval=1 qclass=\"IN\" ipaddr=\"%s\" msg=\"Domain is monitored\" action=\"pass\" "
                                "cat=52 catdesc=\"Information Technology\"",
                                t, DEV, (long long)ts, sess, src, sport, rbelow(r, 65536), q, res);
    }
    return (size_t)snprintf(out, cap,
                            "<189>%s %s eventtime=%lld tz=\"+0000\" logid=\"0100032001\" type=\"event\" "
                            "subtype=\"system\" level=\"information\" vd=\"root\" logdesc=\"Admin login successful\" "
                            "sn=\"%u\" user=\"admin\" ui=\"https(%s)\" method=\"https\" srcip=%s dstip=10.10.0.1 "
                            "action=\"login\" status=\"success\" reason=\"none\" profile=\"super_admin\" "
                            "msg=\"Administrator admin logged in successfully from https(%s)\"",
                            t, DEV, (long long)ts, sess, src, src, src);
}

/* A sensor DNS event as the sensor writes it (flat ECS JSON): 60% queries, 40%
 * answers with one to three A/AAAA addresses. */
static size_t dns_line(char *out, size_t cap, rng *r, const inject *inj, pools *p) {
    char src[32], q[VCAP];
    uint32_t si = rskew(r, POOL_SRC);
    internal_ip(src, si);
    if (p) bm_put(&p->src, si);
    bool answer = rbelow(r, 10) < 4;
    if (inj && inj->kind) answer = inj->kind != K_DOMAIN;
    if (inj && inj->kind == K_DOMAIN) snprintf(q, sizeof q, "%s", inj->v);
    else {
        uint32_t i = rskew(r, POOL_DOM);
        good_domain(q, i);
        if (p) bm_put(&p->dom, i);
    }
    size_t n = (size_t)snprintf(out, cap,
                                "{\"@timestamp\":\"2026-11-20T10:00:00.000000Z\",\"event.kind\":\"event\","
                                "\"event.category\":\"network\",\"event.type\":\"protocol\",\"event.action\":\"%s\","
                                "\"observer.type\":\"sensor\",\"observer.vendor\":\"mamori\",\"observer.product\":"
                                "\"mamori sensor\",\"source.ip\":\"%s\",\"source.port\":%u,\"destination.ip\":"
                                "\"10.10.0.53\",\"destination.port\":53,\"network.transport\":\"udp\",\"network.type\":"
                                "\"ipv4\",\"network.protocol\":\"dns\",\"network.direction\":\"outbound\",\"flow.id\":"
                                "\"%016llx\",\"dns.id\":\"%u\",\"dns.type\":\"%s\",\"dns.question.name\":\"%s\","
                                "\"dns.question.type\":\"A\",\"dns.question.class\":\"IN\"",
                                answer ? "dns-answer" : "dns-query", src, 1024 + rbelow(r, 60000),
                                (unsigned long long)rnext(r), rbelow(r, 65536), answer ? "answer" : "query", q);
    if (answer) {
        int na = 1 + (int)rbelow(r, 3);
        char ips[3][VCAP];
        for (int i = 0; i < na; i++) {
            if (i == 0 && inj && inj->kind && inj->kind != K_DOMAIN) snprintf(ips[i], sizeof ips[i], "%s", inj->v);
            else if (rbelow(r, 10) == 0) {
                uint32_t x = rskew(r, POOL_DST6);
                uint64_t h = mix(x + 77);
                snprintf(ips[i], sizeof ips[i], "2606:4700:%x:%x::%x", (unsigned)(h & 0xffff),
                         (unsigned)((h >> 16) & 0xffff), (unsigned)((h >> 32) & 0xfff) + 1);
                if (p) bm_put(&p->dst6, x);
            } else {
                uint32_t x = rskew(r, POOL_DST4);
                put_v4(ips[i], sizeof ips[i], good_v4(x));
                if (p) bm_put(&p->dst4, x);
            }
        }
        n += (size_t)snprintf(out + n, cap - n, ",\"dns.response_code\":\"NOERROR\",\"dns.answers.data\":[");
        for (int i = 0; i < na; i++) n += (size_t)snprintf(out + n, cap - n, "%s\"%s\"", i ? "," : "", ips[i]);
        n += (size_t)snprintf(out + n, cap - n, "],\"dns.resolved_ip\":[");
        for (int i = 0; i < na; i++) n += (size_t)snprintf(out + n, cap - n, "%s\"%s\"", i ? "," : "", ips[i]);
        n += (size_t)snprintf(out + n, cap - n, "]");
    }
    n += (size_t)snprintf(out + n, cap - n, "}");
    return n;
}

/* An indicator of the loaded set to put into an event: a random record of the
 * stream that an event field can carry (address, CIDR host, domain, and URL when
 * urls: a DNS event has no URL). */
static void pick_hit(rng *r, uint64_t seed, long n, long ctx_group, int64_t now, bool urls, inject *inj) {
    for (;;) {
        mm_indicator ind;
        gen_out go;
        gen_indicator(seed, rnext(r) % (uint64_t)n, ctx_group, now, &ind, inj->v, sizeof inj->v, true, &go);
        if (ind.valid_until && ind.valid_until < now) continue;
        switch (go.kind) {
        case K_IP4: inj->kind = K_IP4; return;
        case K_CIDR4: {
            uint32_t host = go.plen >= 31 ? 0 : rbelow(r, (1u << (32 - go.plen)) - 2) + 1;
            put_v4(inj->v, sizeof inj->v, go.v4 | host);
            inj->kind = K_IP4;
            return;
        }
        case K_IP6:
            if (strchr(inj->v, '/')) continue;
            inj->kind = K_IP6;
            return;
        case K_DOMAIN: inj->kind = K_DOMAIN; return;
        case K_URL:
            if (!urls) continue;
            inj->kind = K_URL;
            return;
        default: continue;
        }
    }
}

/* ---------------------------------------------------------------- part 10: the index */

static const uint64_t SEED_MAIN = 0x6d616d6f7269ULL, SEED_NEW = 0x68756e74ULL;

static mm_ioc_set *part_load(const opts *o, chunk *c, int64_t now) {
    printf("# 10. %ld indicators into the engine's index (mm_ioc_add)\n", o->indicators);
    fflush(stdout);
    double rss0 = status_mib("VmRSS");
    mm_ioc_set *set = mm_ioc_set_new();
    if (!set) abort();
    int64_t t_res = mm_mono_ns();
    mm_ioc_reserve(set, (size_t)o->indicators);
    int64_t spent = mm_mono_ns() - t_res;
    long bad = 0, merged = 0;
    const char *why = NULL, *last_why = NULL;
    for (long i = 0; i < o->indicators; i += CHUNK) {
        long to = i + CHUNK < o->indicators ? i + CHUNK : o->indicators;
        chunk_fill(c, SEED_MAIN, i, to, o->ctx_group, now);
        int64_t t0 = mm_mono_ns();
        for (int k = 0; k < c->n; k++) {
            int r = mm_ioc_add(set, &c->ind[k], 0, &why);
            if (r == 0) merged++;
            else if (r < 0) {
                bad++;
                last_why = why;
            }
        }
        spent += mm_mono_ns() - t0;
    }
    double s = (double)spent / 1e9;
    double rss = status_mib("VmRSS");
    printf("intel_ioc_records %ld records\n", o->indicators);
    printf("intel_ioc_loaded %d indicators\n", mm_ioc_count(set));
    printf("intel_ioc_merged %ld records\n", merged);
    printf("intel_ioc_refused %ld records\n", bad);
    if (bad) printf("# last refusal: %s\n", last_why ? last_why : "?");
    printf("intel_ioc_load_seconds %.2f s\n", s);
    printf("intel_ioc_load_rate %.0f indicators/s\n", (double)o->indicators / s);
    printf("intel_ioc_rss_after_load %.1f MiB\n", rss);
    printf("intel_ioc_rss_added %.1f MiB\n", rss - rss0);
    printf("intel_ioc_peak_rss %.1f MiB\n", status_mib("VmHWM"));
    printf("intel_ioc_bytes_per_indicator %.0f bytes\n", (rss - rss0) * 1048576.0 / (double)mm_ioc_count(set));
    fflush(stdout);
    return set;
}

/* ---------------------------------------------------------------- part 11: match cost */

static const char *const LOOKUP_FIELDS[] = {"source.ip", "destination.ip", "dns.resolved_ip", "url.full",
                                            "dns.question.name"};

typedef struct lk {
    mm_field f[5];
    unsigned types[5];
} lk;

static void lk_init(lk *l) {
    static const unsigned ty[5] = {MM_IOC_IP, MM_IOC_IP, MM_IOC_IP, MM_IOC_URL | MM_IOC_DOMAIN | MM_IOC_IP,
                                   MM_IOC_DOMAIN};
    for (int i = 0; i < 5; i++) {
        l->f[i] = mm_field_by_name(LOOKUP_FIELDS[i], strlen(LOOKUP_FIELDS[i]));
        l->types[i] = ty[i];
    }
}

enum { BATCH = 4096, LINE_CAP = 1600 };

typedef struct match_run {
    const char *name;             /* "fgt" or "dns" */
    bool dns;
    long n;
    uint64_t seed;
} match_run;

typedef struct match_res {
    double ns[3];                 /* per event: empty set, loaded set, raw lookups */
    uint64_t alerts[2], lookups, hits, injected;
} match_res;

/* One pass over the run's events (regenerated identically each pass): mode 0
 * engine with the empty set, 1 engine with the loaded set, 2 raw lookups. */
static int64_t match_pass(const match_run *mr, int mode, const mm_detect *d, const mm_ioc_set *set, const opts *o,
                          int64_t now, char *lines, mm_event *evs, match_res *res, pools *p) {
    const mm_decoder *dec = mm_decoder_find(mr->dns ? "ecs" : "fortigate");
    mm_source src = {"bench", "default", "", mr->dns ? "ecs" : "fortigate"};
    mm_decode_opts dopt = {.peek = true};
    mm_detect_state *st = mm_detect_state_new();
    mm_arena a, aa;
    mm_arena_init(&a, 1 << 20);
    mm_arena_init(&aa, 1 << 16);
    lk l;
    lk_init(&l);
    rng r = {mr->seed}, rh = {mr->seed ^ 0xabcdef};
    int64_t spent = 0, ts = now - DAY_NS;
    for (long i = 0; i < mr->n; i += BATCH) {
        int nb = (int)(mr->n - i < BATCH ? mr->n - i : BATCH);
        mm_arena_reset(&a);
        for (int k = 0; k < nb; k++) {
            inject inj = {0};
            if (rbelow(&rh, 1000) == 0) {
                pick_hit(&rh, SEED_MAIN, o->indicators, o->ctx_group, now, !mr->dns, &inj);
                if (mode == 0) res->injected++;
            }
            char *ln = lines + (size_t)k * LINE_CAP;
            size_t len = mr->dns ? dns_line(ln, LINE_CAP, &r, &inj, mode == 0 ? p : NULL)
                                 : fgt_line(ln, LINE_CAP, &r, ts += 1000000, &inj, mode == 0 ? p : NULL);
            if (len >= LINE_CAP) len = LINE_CAP - 1;
            mm_event_init(&evs[k], &a);
            evs[k].src = &src;
            mm_decode(dec, &evs[k], (mm_str){ln, (uint32_t)len}, &dopt);
        }
        int64_t t0 = mm_mono_ns();
        if (mode < 2) {
            uint64_t al = 0;
            for (int k = 0; k < nb; k++) {
                if (evs[k].kind != MM_KIND_EVENT) continue;
                mm_alert *alerts = NULL;
                al += (uint64_t)mm_detect_event(d, st, &evs[k], &aa, &alerts);
            }
            res->alerts[mode] += al;
        } else {
            uint64_t lookups = 0, hits = 0;
            for (int k = 0; k < nb; k++) {
                const mm_event *ev = &evs[k];
                for (int f = 0; f < 5; f++)
                    for (const mm_value *v = mm_event_get(ev, l.f[f]); v; v = mm_event_next(ev, v)) {
                        mm_ioc_hit hit;
                        const mm_ip *ip = v->parsed && v->ip.af ? &v->ip : NULL;
                        lookups++;
                        if (mm_ioc_match(set, v->s, ip, l.types[f], &hit)) hits++;
                    }
            }
            res->lookups += lookups;
            res->hits += hits;
        }
        spent += mm_mono_ns() - t0;
        mm_arena_reset(&aa);
    }
    mm_arena_free(&a);
    mm_arena_free(&aa);
    mm_detect_state_free(st);
    return spent;
}

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    mm_buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) mm_buf_put(&b, tmp, n);
    fclose(f);
    *len = b.len;
    mm_buf_putc(&b, 0);
    return b.p;
}

static int part_match(const opts *o, mm_ioc_set *set, int64_t now) {
    char path[4096];
    snprintf(path, sizeof path, "%s", o->rule ? o->rule : "");
    if (!o->rule) snprintf(path, sizeof path, "%s/rules/fortigate/indicator_match.yml", mm_home());
    size_t len;
    char *text = read_all(path, &len);
    if (!text) {
        fprintf(stderr, "bench_intel: %s: %s\n", path, strerror(errno));
        return 1;
    }
    mm_err err = {{0}};
    mm_detect *empty = mm_detect_from_text("indicator_match.yml", text, len, NULL, &err);
    mm_detect *full = empty ? mm_detect_from_text("indicator_match.yml", text, len, set, &err) : NULL;
    free(text);
    if (!full) {
        fprintf(stderr, "bench_intel: %s\n", err.msg);
        mm_detect_free(empty);
        return 1;
    }
    printf("# 11. match cost per event, one core, %d indicators loaded; rule: indicator_match.yml only\n",
           mm_ioc_count(set));
    char *lines = malloc((size_t)BATCH * LINE_CAP);
    mm_event *evs = malloc(sizeof(mm_event) * BATCH);
    if (!lines || !evs) abort();
    match_run runs[2] = {{"fgt", false, o->match_events, 0x1234}, {"dns", true, o->dns_events, 0x5678}};
    for (int ri = 0; ri < 2; ri++) {
        const match_run *mr = &runs[ri];
        if (mr->n <= 0) continue;
        match_res res;
        memset(&res, 0, sizeof res);
        pools p;
        bm_init(&p.dst4, POOL_DST4);
        bm_init(&p.dst6, POOL_DST6);
        bm_init(&p.dom, POOL_DOM);
        bm_init(&p.url, POOL_URL);
        bm_init(&p.src, POOL_SRC);
        for (int mode = 0; mode < 3; mode++) {
            int64_t ns = match_pass(mr, mode, mode == 0 ? empty : full, set, o, now, lines, evs, &res, &p);
            res.ns[mode] = (double)ns / (double)mr->n;
        }
        uint64_t distinct = p.dst4.set + p.dst6.set + p.dom.set + p.url.set + p.src.set;
        const char *nm = mr->name;
        printf("intel_match_%s_events %ld events\n", nm, mr->n);
        printf("intel_match_%s_distinct_values %llu values\n", nm, (unsigned long long)distinct);
        printf("intel_match_%s_injected %llu events\n", nm, (unsigned long long)res.injected);
        printf("intel_match_%s_alerts %llu alerts\n", nm, (unsigned long long)res.alerts[1]);
        printf("intel_match_%s_hit_rate %.3f %%\n", nm, 100.0 * (double)res.alerts[1] / (double)mr->n);
        printf("intel_match_%s_detect_empty_set %.0f ns/event\n", nm, res.ns[0]);
        printf("intel_match_%s_detect_loaded_set %.0f ns/event\n", nm, res.ns[1]);
        printf("intel_match_%s_added_by_matching %.0f ns/event\n", nm, res.ns[1] - res.ns[0]);
        printf("intel_match_%s_raw_lookups %.0f ns/event\n", nm, res.ns[2]);
        printf("intel_match_%s_lookups_per_event %.2f lookups\n", nm, (double)res.lookups / (double)mr->n);
        printf("intel_match_%s_ns_per_lookup %.0f ns\n", nm, res.ns[2] * (double)mr->n / (double)res.lookups);
        printf("intel_match_%s_lookup_hits %llu hits\n", nm, (unsigned long long)res.hits);
        fflush(stdout);
        bm_free(&p.dst4);
        bm_free(&p.dst6);
        bm_free(&p.dom);
        bm_free(&p.url);
        bm_free(&p.src);
    }
    free(lines);
    free(evs);
    mm_detect_free(empty);
    mm_detect_free(full);   /* frees the set it owns */
    return 0;
}

/* ---------------------------------------------------------------- part 10b: the store */

static int part_store_put(const opts *o, const char *db, chunk *c, int64_t now) {
    printf("# 10b. %ld indicators into the SQLite store (mm_intel_put, %ld per transaction), then a fresh"
           " process loads them (mm_intel_load)\n", o->store_count, o->txn);
    fflush(stdout);
    mm_store *st = NULL;
    mm_err err = {{0}};
    if (mm_store_open(&st, db, &err) < 0) {
        fprintf(stderr, "bench_intel: %s\n", err.msg);
        return 1;
    }
    int64_t spent = 0;
    long in_txn = 0, fresh = 0, refused = 0;
    int rc = 0;
    int64_t t0 = mm_mono_ns();
    if (mm_store_begin(st) < 0) rc = -1;
    spent += mm_mono_ns() - t0;
    for (long i = 0; rc == 0 && i < o->store_count; i += CHUNK) {
        long to = i + CHUNK < o->store_count ? i + CHUNK : o->store_count;
        chunk_fill(c, SEED_MAIN, i, to, o->ctx_group, now);
        t0 = mm_mono_ns();
        for (int k = 0; rc == 0 && k < c->n; k++) {
            const char *why = NULL;
            int r = mm_intel_put(st, &c->ind[k], now, &why);
            if (r == 1) fresh++;
            else if (r == -1) refused++;
            else if (r < -1) rc = r;
            if (++in_txn == o->txn) {
                if (mm_store_commit(st) < 0 || mm_store_begin(st) < 0) rc = -1;
                in_txn = 0;
            }
        }
        spent += mm_mono_ns() - t0;
    }
    t0 = mm_mono_ns();
    if (rc == 0 && mm_store_commit(st) < 0) rc = -1;
    mm_store_close(st);   /* the WAL checkpoint on close is part of writing */
    spent += mm_mono_ns() - t0;
    if (rc < 0) {
        fprintf(stderr, "bench_intel: store write failed\n");
        return 1;
    }
    double s = (double)spent / 1e9;
    printf("intel_store_put_records %ld records\n", o->store_count);
    printf("intel_store_put_rows %ld rows\n", fresh);
    printf("intel_store_put_refused %ld records\n", refused);
    printf("intel_store_put_seconds %.1f s\n", s);
    printf("intel_store_put_rate %.0f indicators/s\n", (double)o->store_count / s);
    printf("intel_store_db_bytes %lld bytes\n", (long long)db_bytes(db));
    fflush(stdout);
    return 0;
}

/* The start-up load, in a fresh process (this binary, --load-child DB). */
static int load_child(const char *db) {
    mm_store *st = NULL;
    mm_err err = {{0}};
    double rss0 = status_mib("VmRSS");
    int64_t t0 = mm_mono_ns();
    if (mm_store_open(&st, db, &err) < 0) {
        fprintf(stderr, "bench_intel: %s\n", err.msg);
        return 1;
    }
    mm_ioc_set *set = mm_ioc_set_new();
    int64_t n = mm_intel_load(st, set, NULL, &err);
    mm_store_close(st);
    double s = secs_since(t0);
    if (n < 0) {
        fprintf(stderr, "bench_intel: %s\n", err.msg);
        return 1;
    }
    double rss = status_mib("VmRSS");
    printf("intel_store_load_indicators %lld indicators\n", (long long)n);
    printf("intel_store_load_seconds %.1f s\n", s);
    printf("intel_store_load_rate %.0f indicators/s\n", (double)n / s);
    printf("intel_store_load_rss %.1f MiB\n", rss);
    printf("intel_store_load_rss_added %.1f MiB\n", rss - rss0);
    printf("intel_store_load_peak_rss %.1f MiB\n", status_mib("VmHWM"));
    fflush(stdout);
    mm_ioc_set_free(set);
    return 0;
}

static int spawn_load(const char *db) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        char *argv[] = {"bench_intel", "--load-child", (char *)db, NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* ---------------------------------------------------------------- part 12: retro-hunt */

typedef struct plant {
    long at;                     /* event index */
    int which;                   /* planted value */
} plant;

static int cmp_plant(const void *a, const void *b) {
    long x = ((const plant *)a)->at, y = ((const plant *)b)->at;
    return x < y ? -1 : x > y;
}
static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct sight {
    const int64_t *ids;
    size_t n;
    uint64_t total, planted;
} sight;

static int on_sighting(void *ctx, const mm_alert *a) {
    sight *s = ctx;
    s->total++;
    int64_t id = a->ev ? a->ev->store_id : 0;
    if (bsearch(&id, s->ids, s->n, sizeof *s->ids, cmp_i64)) s->planted++;
    return 0;
}

static int count_rows(void *ctx, const mm_stored_indicator *si) {
    (void)si;
    ++*(int64_t *)ctx;
    return 0;
}

static void sketch_stats(const char *db) {
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h,
                           "SELECT count(*), sum(rows), sum(length(ioc_terms)), sum(length(bloom)) FROM event_blocks",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        double blocks = (double)sqlite3_column_int64(st, 0), rows = (double)sqlite3_column_int64(st, 1);
        double terms = (double)sqlite3_column_int64(st, 2), bloom = (double)sqlite3_column_int64(st, 3);
        if (rows > 0) {
            printf("intel_hunt_sketch_bytes %.0f bytes\n", terms);
            printf("intel_hunt_sketch_bytes_per_event %.1f bytes\n", terms / rows);
            printf("intel_hunt_sketch_terms_per_block %.0f terms\n", (terms - 8 * blocks) / 8 / blocks);
            printf("intel_hunt_entity_bloom_bytes_per_event %.1f bytes\n", bloom / rows);
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static int part_hunt(const opts *o, const char *db, chunk *c, int64_t now) {
    printf("# 12. retro-hunt: %ld stored FortiGate events, %ld new indicators (%ld occur in the events)\n",
           o->hunt_events, o->hunt_indicators, o->plants);
    fflush(stdout);
    mm_store *st = NULL;
    mm_err err = {{0}};
    if (mm_store_open(&st, db, &err) < 0) {
        fprintf(stderr, "bench_intel: %s\n", err.msg);
        return 1;
    }
    /* planted values: addresses, domains and URLs of the new indicators' kind, each
     * in 1-10 events close together in time (one campaign's traffic) */
    long np = o->plants < o->hunt_indicators ? o->plants : o->hunt_indicators;
    inject *pv = calloc((size_t)(np ? np : 1), sizeof *pv);
    mm_ind_type *pt = calloc((size_t)(np ? np : 1), sizeof *pt);
    plant *pl = NULL;
    size_t npl = 0, cappl = 0;
    rng r = {0x706c616e74ULL};
    for (long k = 0; k < np; k++) {
        uint64_t h = rnext(&r);
        int kind = k % 3 == 0 ? K_IP4 : k % 3 == 1 ? K_DOMAIN : K_URL;
        pv[k].kind = kind;
        if (kind == K_IP4) {
            put_v4(pv[k].v, sizeof pv[k].v, bad_v4(h));
            pt[k] = MM_IND_IP;
        } else if (kind == K_DOMAIN) {
            size_t n = bad_domain(pv[k].v, h, false);
            snprintf(pv[k].v + n, sizeof pv[k].v - n, "%s", "");
            pt[k] = MM_IND_DOMAIN;
        } else {
            char d[128];
            bad_domain(d, h, true);
            snprintf(pv[k].v, sizeof pv[k].v, "https://%s/%s/%x.php", d, SEG[h % 16], (unsigned)(h >> 40));
            pt[k] = MM_IND_URL;
        }
        int times = 1 + (int)rbelow(&r, 10);
        long center = o->hunt_events > 0 ? (long)(rnext(&r) % (uint64_t)o->hunt_events) : 0;
        for (int j = 0; j < times && o->hunt_events > 0; j++) {
            long at = center + (long)rbelow(&r, 40000) - 20000;
            if (at < 0) at = 0;
            if (at >= o->hunt_events) at = o->hunt_events - 1;
            if (npl == cappl) {
                cappl = cappl ? cappl * 2 : 1024;
                pl = realloc(pl, cappl * sizeof *pl);
                if (!pl) abort();
            }
            pl[npl++] = (plant){at, (int)k};
        }
    }
    qsort(pl, npl, sizeof *pl, cmp_plant);
    /* two plants on one event: the later one wins, the count follows */
    size_t u = 0;
    for (size_t i = 0; i < npl; i++) {
        if (u && pl[u - 1].at == pl[i].at) pl[u - 1] = pl[i];
        else pl[u++] = pl[i];
    }
    npl = u;
    int64_t *ids = calloc(npl ? npl : 1, sizeof *ids);

    /* the events: decoded and stored, 1,000 per transaction */
    const mm_decoder *dec = mm_decoder_find("fortigate");
    mm_source src = {"fgt", "default", "", "fortigate"};
    mm_decode_opts dopt = {0};
    mm_arena a;
    mm_arena_init(&a, 1 << 20);
    char *lines = malloc((size_t)1000 * LINE_CAP);
    mm_event ev;
    rng re = {0x65766e74ULL};
    int64_t span = 30 * DAY_NS, ts0 = now - span;
    size_t pi = 0;
    uint64_t raw_bytes = 0;
    int rc = 0;
    int64_t t0 = mm_mono_ns();
    for (long i = 0; rc == 0 && i < o->hunt_events; i += 1000) {
        int nb = (int)(o->hunt_events - i < 1000 ? o->hunt_events - i : 1000);
        mm_arena_reset(&a);
        if (mm_store_begin(st) < 0) rc = -1;
        for (int k = 0; rc == 0 && k < nb; k++) {
            long at = i + k;
            const inject *inj = NULL;
            bool planted = pi < npl && pl[pi].at == at;
            if (planted) inj = &pv[pl[pi].which];
            char *ln = lines + (size_t)k * LINE_CAP;
            int64_t ts = ts0 + (int64_t)((double)span * (double)at / (double)o->hunt_events);
            size_t len = fgt_line(ln, LINE_CAP, &re, ts, inj, NULL);
            if (len >= LINE_CAP) len = LINE_CAP - 1;
            raw_bytes += len;
            mm_event_init(&ev, &a);
            ev.src = &src;
            ev.recv_ns = ts;
            mm_decode(dec, &ev, (mm_str){ln, (uint32_t)len}, &dopt);
            if (mm_store_put_event(st, &ev) < 0) rc = -1;
            if (planted) ids[pi++] = ev.store_id;
        }
        if (rc == 0 && mm_store_commit(st) < 0) rc = -1;
    }
    double wsecs = secs_since(t0);
    mm_arena_free(&a);
    free(lines);
    if (rc < 0) {
        fprintf(stderr, "bench_intel: event store write failed\n");
        mm_store_close(st);
        return 1;
    }
    printf("intel_hunt_events_stored %ld events\n", o->hunt_events);
    printf("intel_hunt_events_planted %zu events\n", npl);
    printf("intel_hunt_store_write_seconds %.1f s\n", wsecs);
    printf("intel_hunt_store_write_rate %.0f events/s\n", (double)o->hunt_events / wsecs);
    printf("intel_hunt_raw_bytes_per_event %.1f bytes\n", (double)raw_bytes / (double)(o->hunt_events ? o->hunt_events : 1));
    fflush(stdout);

    /* the new indicators: the planted values and generated ones, one import */
    int64_t added_since = mm_now_ns(), put_now = added_since;
    t0 = mm_mono_ns();
    rc = mm_store_begin(st);
    for (long k = 0; rc == 0 && k < np; k++) {
        mm_indicator ind;
        char tmp[VCAP];
        gen_indicator(SEED_NEW, (uint64_t)k, o->ctx_group, now, &ind, tmp, sizeof tmp, false, NULL);
        ind.type = pt[k];
        ind.value = pv[k].v;
        ind.valid_until = 0;
        ind.feed = "campaign-feed";
        if (mm_intel_put(st, &ind, put_now, NULL) < -1) rc = -1;
    }
    for (long i = np; rc == 0 && i < o->hunt_indicators; i += CHUNK) {
        long to = i + CHUNK < o->hunt_indicators ? i + CHUNK : o->hunt_indicators;
        chunk_fill(c, SEED_NEW, i, to, o->ctx_group, now);
        for (int k = 0; rc == 0 && k < c->n; k++)
            if (mm_intel_put(st, &c->ind[k], put_now, NULL) < -1) rc = -1;
    }
    if (rc == 0 && mm_store_commit(st) < 0) rc = -1;
    printf("intel_hunt_new_indicators_put_seconds %.2f s\n", secs_since(t0));
    if (rc < 0) {
        fprintf(stderr, "bench_intel: indicator write failed\n");
        mm_store_close(st);
        return 1;
    }
    /* what the hunt's two indicator queries cost alone (informational) */
    mm_indicator_filter f = {.added_since_ns = added_since, .warning = 1};
    int64_t cnt = 0;
    t0 = mm_mono_ns();
    mm_store_indicators_each(st, &f, count_rows, &cnt);
    printf("intel_hunt_query_new_seconds %.2f s\n", secs_since(t0));
    printf("intel_hunt_query_new_rows %lld rows\n", (long long)cnt);
    int64_t new_rows = cnt;
    mm_indicator_filter wf = {.warning = 2};
    cnt = 0;
    t0 = mm_mono_ns();
    mm_store_indicators_each(st, &wf, count_rows, &cnt);
    printf("intel_hunt_query_warning_seconds %.2f s\n", secs_since(t0));
    fflush(stdout);

    mm_config cfg;
    mm_config_defaults(&cfg);
    int64_t since = now - 90 * DAY_NS;
    sight sg = {ids, npl, 0, 0};
    mm_hunt_stats hs;
    rc = mm_intel_hunt(st, &cfg, &f, NULL, 0, since, 0, false, on_sighting, &sg, &hs, &err);
    if (rc < 0) {
        fprintf(stderr, "bench_intel: hunt: %s\n", err.msg);
    } else {
        printf("intel_hunt_seconds %.2f s\n", (double)hs.elapsed_ns / 1e9);
        printf("intel_hunt_indicators %llu indicators\n", (unsigned long long)hs.indicators);
        /* stored rows the hunt could not take back (the engine refused their canonical text) */
        printf("intel_hunt_rows_not_hunted %lld rows\n", (long long)(new_rows - (int64_t)hs.indicators));
        printf("intel_hunt_unprobeable %llu indicators\n", (unsigned long long)hs.unprobeable);
        printf("intel_hunt_blocks %llu blocks\n", (unsigned long long)hs.blocks);
        printf("intel_hunt_blocks_read %llu blocks\n", (unsigned long long)hs.blocks_read);
        printf("intel_hunt_events_decoded %llu events\n", (unsigned long long)hs.events_read);
        printf("intel_hunt_sightings %llu sightings\n", (unsigned long long)hs.sightings);
        printf("intel_hunt_sightings_on_planted %llu sightings\n", (unsigned long long)sg.planted);
    }
    fflush(stdout);

    /* one indicator, as `mamori hunt --indicator VALUE` (a planted domain) */
    if (rc == 0 && np > 1) {
        char canon[2048];
        int t = pt[1];
        mm_ioc_normalise(t, pv[1].v, strlen(pv[1].v), canon, sizeof canon, &t, NULL);
        mm_indicator_filter f1 = {.type = (mm_ind_type)t, .value = canon, .warning = 1};
        sight s1 = {ids, npl, 0, 0};
        rc = mm_intel_hunt(st, &cfg, &f1, NULL, 0, since, 0, false, on_sighting, &s1, &hs, &err);
        if (rc < 0) fprintf(stderr, "bench_intel: hunt: %s\n", err.msg);
        else {
            printf("intel_hunt1_seconds %.2f s\n", (double)hs.elapsed_ns / 1e9);
            printf("intel_hunt1_blocks_read %llu blocks\n", (unsigned long long)hs.blocks_read);
            printf("intel_hunt1_events_decoded %llu events\n", (unsigned long long)hs.events_read);
            printf("intel_hunt1_sightings %llu sightings\n", (unsigned long long)hs.sightings);
        }
    }
    mm_config_free(&cfg);
    mm_store_close(st);
    sketch_stats(db);
    printf("intel_hunt_db_bytes %lld bytes\n", (long long)db_bytes(db));
    fflush(stdout);
    free(pv);
    free(pt);
    free(pl);
    free(ids);
    return rc < 0 ? 1 : 0;
}

/* ---------------------------------------------------------------- main */

static bool num_arg(const char *a, const char *name, int i, int argc, char **argv, long *out) {
    if (strcmp(a, name) != 0 || i + 1 >= argc) return false;
    char *end;
    double v = strtod(argv[i + 1], &end);   /* 1e7 and 10000000 both */
    *out = (long)v;
    return *end == 0 && v >= 0;
}

static void usage(void) {
    fprintf(stderr, "usage: bench_intel [--indicators N] [--store-count N] [--match-events N] [--dns-events N]\n"
                    "                   [--hunt-events N] [--hunt-indicators N] [--plants N] [--ctx-group N]\n"
                    "                   [--txn N] [--dir DIR] [--keep] [--only load,match,store,hunt]\n"
                    "                   [--rule FILE]\n");
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--load-child")) return load_child(argv[2]);
    opts o = {.indicators = 10000000, .store_count = -1, .match_events = 1000000, .dns_events = 1000000,
              .hunt_events = 10000000, .hunt_indicators = 100000, .plants = 300, .ctx_group = 64, .txn = 50000};
    o.dir = ".";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long *dst = !strcmp(a, "--indicators") ? &o.indicators
                    : !strcmp(a, "--store-count") ? &o.store_count
                    : !strcmp(a, "--match-events") ? &o.match_events
                    : !strcmp(a, "--dns-events") ? &o.dns_events
                    : !strcmp(a, "--hunt-events") ? &o.hunt_events
                    : !strcmp(a, "--hunt-indicators") ? &o.hunt_indicators
                    : !strcmp(a, "--plants") ? &o.plants
                    : !strcmp(a, "--ctx-group") ? &o.ctx_group
                    : !strcmp(a, "--txn") ? &o.txn
                    : NULL;
        if (dst) {
            if (!num_arg(a, a, i, argc, argv, dst)) {
                usage();
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--dir") && i + 1 < argc) {
            o.dir = argv[++i];
        } else if (!strcmp(a, "--rule") && i + 1 < argc) {
            o.rule = argv[++i];
        } else if (!strcmp(a, "--keep")) {
            o.keep = true;
        } else if (!strcmp(a, "--only") && i + 1 < argc) {
            const char *w = argv[++i];
            o.only_load = strstr(w, "load") != NULL;
            o.only_match = strstr(w, "match") != NULL;
            o.only_store = strstr(w, "store") != NULL;
            o.only_hunt = strstr(w, "hunt") != NULL;
        } else {
            usage();
            return 2;
        }
    }
    if (o.store_count < 0) o.store_count = o.indicators;
    if (o.ctx_group < 1) o.ctx_group = 1;
    if (o.txn < 1) o.txn = 1;
    if (o.indicators < 1) o.indicators = 1;
    mm_log_set_level(MM_LOG_WARN);
    tables_init();
    int64_t now = mm_now_ns();
    printf("intel_cpu_cores %ld cores\n", sysconf(_SC_NPROCESSORS_ONLN));
    printf("intel_ctx_group %ld records\n", o.ctx_group);
    chunk *c = malloc(sizeof *c);
    if (!c) abort();
    int rc = 0;
    mm_ioc_set *set = NULL;
    if (want(&o, o.only_load || o.only_match)) set = part_load(&o, c, now);
    char db[4096];
    snprintf(db, sizeof db, "%s/bench-intel-%ld.db", o.dir, (long)getpid());
    bool made = false;
    if (want(&o, o.only_store)) {
        made = true;
        rc |= part_store_put(&o, db, c, now);
        if (rc == 0) rc |= spawn_load(db);
    }
    if (set && rc == 0 && want(&o, o.only_match)) rc |= part_match(&o, set, now);   /* frees the set */
    else mm_ioc_set_free(set);
    if (rc == 0 && want(&o, o.only_hunt)) {
        made = true;
        rc |= part_hunt(&o, db, c, now);
    }
    if (made && !o.keep) {
        char p[4200];
        unlink(db);
        snprintf(p, sizeof p, "%s-wal", db);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", db);
        unlink(p);
    } else if (made) {
        printf("# kept %s\n", db);
    }
    free(c);
    return rc;
}
