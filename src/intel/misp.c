/* intel/misp: MISP events (JSON exports, REST search output, feed event files and
 * feed manifests) turned into indicator records with their 5W1H context.
 *
 * MISP is the tool most CTI labs share intelligence with, and its exports vary:
 * booleans come as true, "1" or 1; timestamps as strings or numbers; the event may
 * be wrapped in {"Event": ...}, in a search's {"response": [...]}, in a plain list,
 * or not wrapped at all.  Everything here is read from untrusted feeds, so every
 * field is type-checked, every copy bounded, and an attribute that cannot become
 * an indicator is counted with its reason (mm_intel_stats) rather than dropped.
 *
 * Decisions an analyst should know about:
 *  - Only attributes with to_ids set become records; the others are context (links,
 *    free text) and are counted in not_for_detection.
 *  - Deleted attributes (and attributes of deleted objects) were withdrawn by their
 *    source: skipped and counted under `expired`.
 *  - Proposals (ShadowAttribute) were not accepted by the event's owner: ignored.
 *  - "link" is a reference to a report and "uri" a path without a host; neither
 *    can be matched on its own, so both are refused as unsupported types.
 *  - Confidence: a tag on the attribute, else on its object, else on the event
 *    (confidence-level, admiralty-scale information-credibility, osint:certainty,
 *    estimative-language likelihood), else the event's threat level
 *    (1 high -> 90, 2 medium -> 70, 3 low -> 50, 4 undefined -> -1).  The
 *    `analysis` field says how far the analysis went, not how sure its result is,
 *    so it does not move the confidence.
 *  - TLP: the attribute's tag wins over its object's, which wins over the event's;
 *    within one level the most restrictive tag wins.  tlp:white is TLP 2.0 "clear".
 *  - Actor / malware / ATT&CK / kill chain are the union of the event's, the
 *    object's and the attribute's tags and galaxy clusters.
 *  - The creating organisation (Orgc) goes into the description: a community feed
 *    carries events of many organisations, and who reported it matters. */
#include "intel.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DOC_MAX   (512u << 20)   /* a MISP event export larger than this is refused */
#define VAL_MAX   8192           /* longest attribute value taken */
#define LIST_MAX  1024           /* joined actor / malware / attack / kill-chain text */
#define DESC_MAX  1024

/* ---------------------------------------------------------------- json helpers */

static const char *jstr(const json_t *o, const char *k) {
    const json_t *v = json_is_object(o) ? json_object_get(o, k) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* MISP writes booleans as true, 1, "1" or "true" depending on version and path. */
static bool jtrue(const json_t *v) {
    if (json_is_true(v)) return true;
    if (json_is_integer(v)) return json_integer_value(v) != 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return !strcmp(s, "1") || !strcasecmp(s, "true");
    }
    return false;
}

static bool jint(const json_t *v, int64_t *out) {
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_string(v)) return mm_str_to_i64((mm_str){json_string_value(v), (uint32_t)json_string_length(v)}, out);
    return false;
}

/* Unix seconds (string or number), an ISO 8601 time, or a bare "YYYY-MM-DD"
 * (Event.date) -> ns; 0 when absent, zero or unreadable (unknown, not an error:
 * the record is still worth matching without its time). */
static int64_t jtime(const json_t *v) {
    int64_t ns = 0, n;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
        return n > 0 && n <= INT64_MAX / 1000000000LL ? n * 1000000000LL : 0;   /* seconds, up to 2262 */
    }
    if (!json_is_string(v)) return 0;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len > 64) return 0;
    if (len == 10 && s[4] == '-' && s[7] == '-') {
        int f[3] = {0, 0, 0}, w[3] = {4, 2, 2}, i = 0;
        for (int k = 0; k < 3; k++, i++)
            for (int d = 0; d < w[k]; d++, i++) {
                if (s[i] < '0' || s[i] > '9') return 0;
                f[k] = f[k] * 10 + (s[i] - '0');
            }
        if (f[0] < 1970 || f[0] > 2261 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31) return 0;
        return mm_time_from_civil(f[0], f[1], f[2], 0, 0, 0) * 1000000000LL;
    }
    if (!mm_time_parse((mm_str){s, (uint32_t)len}, &ns) || ns < 0) return 0;
    return ns;
}

/* ---------------------------------------------------------------- context (5W1H) */

/* What one level (event, object or attribute) says through its tags and galaxies. */
typedef struct mctx {
    int tlp_rank;              /* -1 none, else index into tlp_names */
    int conf;                  /* -2 none said, -1 "cannot be evaluated", 0..100 */
    char actor[LIST_MAX], malware[LIST_MAX], attack[LIST_MAX], kill_chain[LIST_MAX];
} mctx;

static const char *const tlp_names[] = {"clear", "green", "amber", "amber+strict", "red"};

static void ctx_init(mctx *c) {
    c->tlp_rank = -1;
    c->conf = -2;
    c->actor[0] = c->malware[0] = c->attack[0] = c->kill_chain[0] = 0;
}

/* Append an item to a "a,b,c" list unless already there or the list is full.
 * Commas inside the item would split it, so they become spaces. */
static void list_add(char *list, const char *item, size_t n) {
    while (n && (item[0] == ' ' || item[0] == '"')) item++, n--;
    while (n && (item[n - 1] == ' ' || item[n - 1] == '"')) n--;
    if (n == 0 || n >= 256) return;
    char it[256];
    for (size_t i = 0; i < n; i++) {
        char c = item[i];
        it[i] = (c == ',' || (unsigned char)c < 0x20) ? ' ' : c;
    }
    it[n] = 0;
    size_t len = strlen(list);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && memcmp(p, it, n) == 0) return;
        p += l + (e ? 1 : 0);
    }
    if (len + n + 2 > LIST_MAX) return;   /* context is capped; the record is not */
    if (len) list[len++] = ',';
    memcpy(list + len, it, n + 1);
}

/* "Application Layer Protocol - T1071" -> "T1071" (and T1071.001); a name without
 * an id is kept as it is. */
static void attack_add(mctx *c, const char *v, size_t n) {
    for (size_t i = n; i-- > 0;) {
        if (v[i] == 'T' && i + 1 < n && v[i + 1] >= '0' && v[i + 1] <= '9' &&
            (i == 0 || v[i - 1] == ' ' || v[i - 1] == '"' || v[i - 1] == '-')) {
            size_t j = i + 1;
            while (j < n && ((v[j] >= '0' && v[j] <= '9') || v[j] == '.')) j++;
            if (j - i >= 5) {
                list_add(c->attack, v + i, j - i);
                return;
            }
        }
    }
    list_add(c->attack, v, n);
}

static bool type_in(const char *t, size_t n, const char *const *set) {
    for (; *set; set++)
        if (strlen(*set) == n && !strncasecmp(t, *set, n)) return true;
    return false;
}

/* A galaxy cluster of type `t` (length n) with value v. */
static void galaxy_add(mctx *c, const char *t, size_t n, const char *v, size_t vn) {
    static const char *const actor[] = {"threat-actor", "mitre-intrusion-set", "intrusion-set",
                                        "mitre-enterprise-attack-intrusion-set",
                                        "mitre-mobile-attack-intrusion-set", "microsoft-activity-group", NULL};
    static const char *const malware[] = {"malpedia", "tool", "ransomware", "mitre-malware", "mitre-tool",
                                          "mitre-enterprise-attack-malware", "mitre-enterprise-attack-tool",
                                          "mitre-mobile-attack-malware", "mitre-mobile-attack-tool", "rat",
                                          "botnet", "exploit-kit", "banker", "stealer", "backdoor",
                                          "android", "malware", NULL};
    static const char *const attack[] = {"mitre-attack-pattern", "attack-pattern",
                                         "mitre-enterprise-attack-attack-pattern",
                                         "mitre-mobile-attack-attack-pattern",
                                         "mitre-pre-attack-attack-pattern", NULL};
    if (type_in(t, n, actor)) list_add(c->actor, v, vn);
    else if (type_in(t, n, malware)) list_add(c->malware, v, vn);
    else if (type_in(t, n, attack)) attack_add(c, v, vn);
}

static int word_conf(const char *v, size_t n) {
    static const struct { const char *w; int c; } words[] = {
        {"completely-confident", 100}, {"usually-confident", 75}, {"fairly-confident", 50},
        {"rarely-confident", 25}, {"unconfident", 0}, {"confidence-cannot-be-evaluated", -1},
        {"almost-certain", 95}, {"very-likely", 85}, {"likely", 70}, {"roughly-even-chance", 50},
        {"unlikely", 30}, {"very-unlikely", 10}, {"almost-no-chance", 2},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i].w) == n && !strncasecmp(v, words[i].w, n)) return words[i].c;
    return -2;
}

/* One tag name: "namespace:predicate=\"value\"" or "namespace:value". */
static void tag_apply(mctx *c, const char *name, size_t len) {
    if (len == 0 || len > 1024) return;
    const char *colon = memchr(name, ':', len);
    if (!colon) return;
    size_t nsl = (size_t)(colon - name);
    const char *rest = colon + 1;
    size_t rl = len - nsl - 1;
    const char *eq = memchr(rest, '=', rl);
    const char *pred = rest, *val = rest;
    size_t pl = 0, vl = rl;
    if (eq) {
        pl = (size_t)(eq - rest);
        val = eq + 1;
        vl = rl - pl - 1;
    }
    while (vl && (val[0] == '"' || val[0] == ' ')) val++, vl--;
    while (vl && (val[vl - 1] == '"' || val[vl - 1] == ' ')) vl--;
#define NS(s) (nsl == sizeof(s) - 1 && !strncasecmp(name, s, nsl))
#define PRED(s) (pl == sizeof(s) - 1 && !strncasecmp(pred, s, pl))
    if (NS("tlp") && !eq) {
        int r = -1;
        if (vl == 5 && !strncasecmp(val, "white", 5)) r = 0;
        for (int i = 0; i < 5 && r < 0; i++)
            if (strlen(tlp_names[i]) == vl && !strncasecmp(val, tlp_names[i], vl)) r = i;
        if (r > c->tlp_rank) c->tlp_rank = r;   /* most restrictive of one level */
    } else if (NS("misp-galaxy") && eq) {
        galaxy_add(c, pred, pl, val, vl);
    } else if (NS("kill-chain")) {
        list_add(c->kill_chain, val, vl);
    } else if (NS("confidence-level") && PRED("confidence")) {
        int v = word_conf(val, vl);
        if (v > -2) c->conf = v;
    } else if (NS("estimative-language") && PRED("likelihood-probability")) {
        int v = word_conf(val, vl);
        if (v > -2) c->conf = v;
    } else if (NS("admiralty-scale") && PRED("information-credibility")) {
        if (vl == 1 && val[0] >= '1' && val[0] <= '6') c->conf = val[0] == '6' ? -1 : 100 - (val[0] - '1') * 20;
    } else if (NS("osint") && PRED("certainty")) {
        int64_t v;
        if (mm_str_to_i64((mm_str){val, (uint32_t)vl}, &v) && v >= 0 && v <= 100) c->conf = (int)v;
    }
#undef NS
#undef PRED
}

/* Tag[] and Galaxy[] of one level. */
static void ctx_read(mctx *c, const json_t *o) {
    size_t i, j;
    const json_t *t, *g, *cl;
    const json_t *tags = json_object_get(o, "Tag");
    if (json_is_array(tags))
        json_array_foreach(tags, i, t) {
            const json_t *nm = json_is_object(t) ? json_object_get(t, "name") : t;
            if (json_is_string(nm)) tag_apply(c, json_string_value(nm), json_string_length(nm));
        }
    const json_t *gal = json_object_get(o, "Galaxy");
    if (!json_is_array(gal)) return;
    json_array_foreach(gal, i, g) {
        const char *gtype = jstr(g, "type");
        const json_t *cls = json_is_object(g) ? json_object_get(g, "GalaxyCluster") : NULL;
        if (!json_is_array(cls)) continue;
        json_array_foreach(cls, j, cl) {
            const char *ct = jstr(cl, "type");
            const char *v = jstr(cl, "value");
            if (!ct) ct = gtype;
            if (ct && v) galaxy_add(c, ct, strlen(ct), v, strlen(v));
            const json_t *meta = json_is_object(cl) ? json_object_get(cl, "meta") : NULL;
            const json_t *kc = json_is_object(meta) ? json_object_get(meta, "kill_chain") : NULL;
            size_t k;
            const json_t *ph;
            if (json_is_array(kc))
                json_array_foreach(kc, k, ph) if (json_is_string(ph))
                    list_add(c->kill_chain, json_string_value(ph), json_string_length(ph));
        }
    }
}

/* Lay `over` (a deeper level) on `base`: single values are replaced, lists joined. */
static void ctx_merge(mctx *base, const mctx *over) {
    if (over->tlp_rank >= 0) base->tlp_rank = over->tlp_rank;
    if (over->conf > -2) base->conf = over->conf;
    char *dst[4] = {base->actor, base->malware, base->attack, base->kill_chain};
    const char *src[4] = {over->actor, over->malware, over->attack, over->kill_chain};
    for (int k = 0; k < 4; k++)
        for (const char *p = src[k]; *p;) {
            const char *e = strchr(p, ',');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            list_add(dst[k], p, l);
            p += l + (e ? 1 : 0);
        }
}

/* ---------------------------------------------------------------- values */

/* Undo the defanging analysts apply before pasting indicators into reports:
 * hxxp(s):// -> http(s)://, [.] (.) {.} [dot] -> ., [:] -> :, [@] [at] -> @,
 * [://] -> ://.  The output is never longer than the input. */
static size_t refang(const char *s, size_t n, char *out) {
    size_t i = 0, o = 0;
    if (n >= 4 && (s[0] == 'h' || s[0] == 'H') && (s[1] == 'x' || s[1] == 'X') && (s[2] == 'x' || s[2] == 'X') &&
        (s[3] == 'p' || s[3] == 'P')) {
        memcpy(out, "http", 4);
        i = o = 4;
    }
    static const struct { const char *in, *out; } br[] = {
        {".", "."}, {"dot", "."}, {":", ":"}, {"@", "@"}, {"at", "@"}, {"://", "://"},
    };
    while (i < n) {
        char c = s[i];
        if (c == '[' || c == '(' || c == '{') {
            char close = c == '[' ? ']' : c == '(' ? ')' : '}';
            bool done = false;
            for (size_t k = 0; k < sizeof br / sizeof br[0] && !done; k++) {
                size_t l = strlen(br[k].in);
                if (i + l + 1 < n && s[i + l + 1] == close && !strncasecmp(s + i + 1, br[k].in, l)) {
                    size_t ol = strlen(br[k].out);
                    memcpy(out + o, br[k].out, ol);
                    o += ol;
                    i += l + 2;
                    done = true;
                }
            }
            if (done) continue;
        }
        out[o++] = s[i++];
    }
    return o;
}

/* How a MISP type becomes records: one or two parts, split at the first or the
 * last '|' (a file name may hold '|' on some systems, a hash never does). */
enum { SPLIT_NONE, SPLIT_FIRST, SPLIT_LAST };
typedef struct mtype {
    const char *name;
    mm_ind_type a, b;   /* b: type of the part after '|' (NONE: not an indicator, e.g. a port) */
    int split;
    bool optional;      /* the second part may be missing (malware-sample "name|md5") */
} mtype;

static const mtype mtypes[] = {
    {"ip-src", MM_IND_IP, 0, SPLIT_NONE, false},
    {"ip-dst", MM_IND_IP, 0, SPLIT_NONE, false},
    {"ip-src|port", MM_IND_IP, MM_IND_NONE, SPLIT_LAST, false},
    {"ip-dst|port", MM_IND_IP, MM_IND_NONE, SPLIT_LAST, false},
    {"domain", MM_IND_DOMAIN, 0, SPLIT_NONE, false},
    {"hostname", MM_IND_DOMAIN, 0, SPLIT_NONE, false},
    {"domain|ip", MM_IND_DOMAIN, MM_IND_IP, SPLIT_FIRST, false},
    {"hostname|port", MM_IND_DOMAIN, MM_IND_NONE, SPLIT_LAST, false},
    {"url", MM_IND_URL, 0, SPLIT_NONE, false},
    {"md5", MM_IND_MD5, 0, SPLIT_NONE, false},
    {"sha1", MM_IND_SHA1, 0, SPLIT_NONE, false},
    {"sha256", MM_IND_SHA256, 0, SPLIT_NONE, false},
    {"filename|md5", MM_IND_FILENAME, MM_IND_MD5, SPLIT_LAST, false},
    {"filename|sha1", MM_IND_FILENAME, MM_IND_SHA1, SPLIT_LAST, false},
    {"filename|sha256", MM_IND_FILENAME, MM_IND_SHA256, SPLIT_LAST, false},
    {"malware-sample", MM_IND_FILENAME, MM_IND_MD5, SPLIT_LAST, true},
    {"ja3-fingerprint-md5", MM_IND_JA3, 0, SPLIT_NONE, false},
    {"email", MM_IND_EMAIL, 0, SPLIT_NONE, false},
    {"email-src", MM_IND_EMAIL, 0, SPLIT_NONE, false},
    {"email-dst", MM_IND_EMAIL, 0, SPLIT_NONE, false},
    {"email-reply-to", MM_IND_EMAIL, 0, SPLIT_NONE, false},
    {"filename", MM_IND_FILENAME, 0, SPLIT_NONE, false},
    {"email-attachment", MM_IND_FILENAME, 0, SPLIT_NONE, false},
    {"user-agent", MM_IND_USER_AGENT, 0, SPLIT_NONE, false},
};

static const mtype *mtype_find(const char *t) {
    for (size_t i = 0; i < sizeof mtypes / sizeof mtypes[0]; i++)
        if (!strcmp(t, mtypes[i].name)) return &mtypes[i];
    return NULL;
}

/* ---------------------------------------------------------------- reader */

typedef struct rd {
    const char *feed;
    mm_indicator_fn fn;
    void *ctx;
    mm_intel_stats *st;
    bool stop;
    /* the event being read */
    const char *info, *org;
    int64_t ev_date, ev_ts;
    int ev_conf;          /* from threat_level_id */
    mctx ev;
} rd;

static void refuse(rd *r, uint64_t *counter, const char *fmt, const char *arg) {
    r->st->skipped++;
    if (counter) (*counter)++;
    snprintf(r->st->last_reason, sizeof r->st->last_reason, fmt, arg ? arg : "");
}

static void desc_add(char *d, const char *s) {
    if (!s || !*s) return;
    size_t len = strlen(d);
    if (len + 4 >= DESC_MAX) return;
    snprintf(d + len, DESC_MAX - len, "%s%s", len ? " | " : "", s);
}

static void emit(rd *r, mm_ind_type t, const char *v, const json_t *a, const mctx *c, const char *desc,
                 int64_t fs, int64_t ls) {
    if (r->stop) return;
    mm_indicator ind = {
        .type = t, .value = v, .feed = r->feed, .id = jstr(a, "uuid"),
        .first_seen = fs, .last_seen = ls, .confidence = c->conf > -2 ? c->conf : r->ev_conf,
        .tlp = c->tlp_rank >= 0 ? tlp_names[c->tlp_rank] : NULL,
        .actor = c->actor[0] ? c->actor : NULL, .malware = c->malware[0] ? c->malware : NULL,
        .kill_chain = c->kill_chain[0] ? c->kill_chain : NULL, .attack = c->attack[0] ? c->attack : NULL,
        .description = desc[0] ? desc : NULL,
    };
    r->st->imported++;
    if (r->fn && r->fn(r->ctx, &ind)) r->stop = true;
}

/* One part of a value: trimmed, refanged for network types, checked, emitted. */
static bool part(rd *r, mm_ind_type t, const char *s, size_t n, char *buf, const json_t *a, const mctx *c,
                 const char *desc, int64_t fs, int64_t ls) {
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) n--;
    if (t == MM_IND_IP || t == MM_IND_DOMAIN || t == MM_IND_URL || t == MM_IND_EMAIL) n = refang(s, n, buf);
    else memcpy(buf, s, n);
    buf[n] = 0;
    if (mm_intel_value_check(t, buf, n)) return false;
    emit(r, t, buf, a, c, desc, fs, ls);
    return true;
}

/* obj: the MISP object holding the attribute (NULL for event attributes), with
 * its context already merged into oc. */
static void attribute(rd *r, const json_t *a, const json_t *obj, const mctx *oc, bool obj_deleted) {
    mm_intel_stats *st = r->st;
    st->objects++;
    if (!json_is_object(a)) {
        refuse(r, &st->malformed, "attribute is not a JSON object%s", NULL);
        return;
    }
    if (obj_deleted || jtrue(json_object_get(a, "deleted"))) {
        refuse(r, &st->expired, "deleted attribute (withdrawn by its source)%s", NULL);
        return;
    }
    if (!jtrue(json_object_get(a, "to_ids"))) {
        st->not_for_detection++;
        return;
    }
    const char *type = jstr(a, "type");
    const json_t *jv = json_object_get(a, "value");
    if (!type || !json_is_string(jv)) {
        refuse(r, &st->malformed, "attribute without a type or a string value%s", NULL);
        return;
    }
    char tshort[64];
    snprintf(tshort, sizeof tshort, "%s", type);
    const mtype *mt = mtype_find(type);
    if (!mt) {
        if (!strcmp(type, "link"))
            refuse(r, &st->unsupported_type, "MISP type %s: a reference to a report, not an indicator", type);
        else if (!strcmp(type, "uri"))
            refuse(r, &st->unsupported_type, "MISP type %s: a path without a host, not matchable alone", type);
        else
            refuse(r, &st->unsupported_type, "unsupported MISP type %s", tshort);
        return;
    }
    const char *v = json_string_value(jv);
    size_t n = json_string_length(jv);
    if (n > VAL_MAX || memchr(v, 0, n)) {
        refuse(r, &st->bad_value, "%s value too long or holding a NUL", tshort);
        return;
    }

    /* context: event, then object, then attribute */
    mctx c = r->ev, ac;
    if (oc) ctx_merge(&c, oc);
    ctx_init(&ac);
    ctx_read(&ac, a);
    ctx_merge(&c, &ac);

    char desc[DESC_MAX];
    desc[0] = 0;
    desc_add(desc, r->info);
    if (obj) {
        char o[256];
        const char *nm = jstr(obj, "name"), *mc = jstr(obj, "meta-category");
        if (nm) {
            snprintf(o, sizeof o, "object %.100s%s%.100s%s", nm, mc ? " (" : "", mc ? mc : "", mc ? ")" : "");
            desc_add(desc, o);
        }
        desc_add(desc, jstr(obj, "comment"));
    }
    desc_add(desc, jstr(a, "comment"));
    if (r->org) {
        char o[160];
        snprintf(o, sizeof o, "org: %.140s", r->org);
        desc_add(desc, o);
    }

    int64_t fs = jtime(json_object_get(a, "first_seen"));
    if (!fs && obj) fs = jtime(json_object_get(obj, "first_seen"));
    if (!fs) fs = r->ev_date;
    int64_t ls = jtime(json_object_get(a, "last_seen"));
    if (!ls && obj) ls = jtime(json_object_get(obj, "last_seen"));
    if (!ls) ls = jtime(json_object_get(a, "timestamp"));
    if (!ls) ls = r->ev_ts;
    if (ls && fs && ls < fs) ls = fs;

    char buf[VAL_MAX + 1];
    bool ok = true;
    if (mt->split == SPLIT_NONE) {
        ok = part(r, mt->a, v, n, buf, a, &c, desc, fs, ls);
    } else {
        const char *bar = mm_intel_composite_bar(v, n, mt->split == SPLIT_FIRST);
        if (!bar && !mt->optional) {
            refuse(r, &st->bad_value, "%s value without its '|' separator", tshort);
            return;
        }
        size_t n1 = bar ? (size_t)(bar - v) : n;
        ok = part(r, mt->a, v, n1, buf, a, &c, desc, fs, ls);
        if (bar && mt->b != MM_IND_NONE && !r->stop)
            ok = part(r, mt->b, bar + 1, n - n1 - 1, buf, a, &c, desc, fs, ls) && ok;
    }
    if (!ok) refuse(r, &st->bad_value, "%s value is not a valid indicator", tshort);
}

static void attributes(rd *r, const json_t *list, const json_t *obj, const mctx *oc, bool obj_deleted) {
    size_t i;
    const json_t *a;
    if (json_is_object(list)) {   /* a lone attribute instead of a list */
        attribute(r, list, obj, oc, obj_deleted);
        return;
    }
    if (!json_is_array(list)) {
        if (list) refuse(r, &r->st->malformed, "Attribute is neither a list nor an object%s", NULL);
        return;
    }
    json_array_foreach(list, i, a) {
        if (r->stop) return;
        attribute(r, a, obj, oc, obj_deleted);
    }
}

static void event(rd *r, const json_t *e) {
    r->info = jstr(e, "info");
    const json_t *orgc = json_object_get(e, "Orgc");
    r->org = jstr(orgc, "name");
    r->ev_date = jtime(json_object_get(e, "date"));
    r->ev_ts = jtime(json_object_get(e, "timestamp"));
    int64_t tl;
    r->ev_conf = -1;
    if (jint(json_object_get(e, "threat_level_id"), &tl)) r->ev_conf = tl == 1 ? 90 : tl == 2 ? 70 : tl == 3 ? 50 : -1;
    ctx_init(&r->ev);
    ctx_read(&r->ev, e);

    attributes(r, json_object_get(e, "Attribute"), NULL, NULL, false);
    const json_t *objs = json_object_get(e, "Object");
    if (objs && !json_is_array(objs)) {
        refuse(r, &r->st->malformed, "Object is not a list%s", NULL);
        return;
    }
    size_t i;
    const json_t *o;
    json_array_foreach(objs, i, o) {
        if (r->stop) return;
        if (!json_is_object(o)) {
            refuse(r, &r->st->malformed, "MISP object is not a JSON object%s", NULL);
            continue;
        }
        mctx oc;
        ctx_init(&oc);
        ctx_read(&oc, o);
        attributes(r, json_object_get(o, "Attribute"), o, &oc, jtrue(json_object_get(o, "deleted")));
    }
}

/* A bare event (feed files of some tools, PyMISP's to_json) has no "Event" key:
 * recognise it by the keys only an event has. */
static bool looks_like_event(const json_t *o) {
    static const char *const keys[] = {"Attribute", "Object", "info", "threat_level_id", "analysis", "Tag", "Galaxy", NULL};
    for (const char *const *k = keys; *k; k++)
        if (json_object_get(o, *k)) return true;
    return false;
}

/* {"Event": {...}} or a bare event; returns 1 when it was one. */
static int one(rd *r, const json_t *v) {
    if (!json_is_object(v)) return 0;
    const json_t *e = json_object_get(v, "Event");
    if (json_is_object(e)) {
        event(r, e);
        return 1;
    }
    if (json_is_array(e)) {   /* some exports list the events under one "Event" */
        size_t i;
        const json_t *x;
        json_array_foreach(e, i, x) {
            if (r->stop) break;
            if (json_is_object(x)) {
                event(r, x);
            } else {
                refuse(r, &r->st->malformed, "Event list element is not an object%s", NULL);
            }
        }
        return 1;
    }
    if (looks_like_event(v)) {
        event(r, v);
        return 1;
    }
    return 0;
}

static int list(rd *r, const json_t *arr) {
    size_t i;
    const json_t *x;
    int n = 0;
    json_array_foreach(arr, i, x) {
        if (r->stop) break;
        if (one(r, x)) n++;
        else refuse(r, &r->st->malformed, "list element is not a MISP event%s", NULL);
    }
    return n;
}

int mm_misp_read(const char *json, size_t len, const char *feed, mm_indicator_fn fn, void *ctx,
                 mm_intel_stats *st, mm_err *err) {
    mm_intel_stats dummy;
    if (!st) {
        memset(&dummy, 0, sizeof dummy);
        st = &dummy;
    }
    if (!json || len > DOC_MAX) {
        if (err) mm_err_set(err, "misp: document missing or larger than %u bytes", DOC_MAX);
        return MM_EINVAL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        if (err) mm_err_set(err, "misp: not JSON: line %d: %s", jerr.line, jerr.text);
        return MM_EINVAL;
    }
    rd r = {.feed = feed, .fn = fn, .ctx = ctx, .st = st};
    int found = 0;
    bool empty_list = false;
    if (json_is_array(root)) {
        empty_list = json_array_size(root) == 0;
        found = list(&r, root);
    } else if (json_is_object(root)) {
        const json_t *resp = json_object_get(root, "response");
        if (json_is_array(resp)) {   /* REST search: an empty result is a valid answer */
            empty_list = json_array_size(resp) == 0;
            found = list(&r, resp);
        } else if (json_is_object(resp)) {
            found = one(&r, resp);
        } else {
            found = one(&r, root);
        }
    }
    json_decref(root);
    if (!found && !empty_list) {
        if (err) mm_err_set(err, "misp: not a MISP event (no Event, Attribute, Object or info)");
        return MM_EINVAL;
    }
    return 0;
}

/* The caller builds "<feed>/<uuid>.json" from the key, so a key that is not a
 * UUID (a path, "..") must never reach it. */
static bool is_uuid(const char *s, size_t n) {
    if (n != 36) return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex) return false;
    }
    return true;
}

int mm_misp_manifest(const char *json, size_t len, void (*fn)(void *ctx, const char *uuid, int64_t ts),
                     void *ctx, mm_err *err) {
    if (!json || len > DOC_MAX) {
        if (err) mm_err_set(err, "misp manifest: missing or larger than %u bytes", DOC_MAX);
        return MM_EINVAL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        if (err) mm_err_set(err, "misp manifest: not JSON: line %d: %s", jerr.line, jerr.text);
        return MM_EINVAL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        if (err) mm_err_set(err, "misp manifest: not a JSON object of event uuids");
        return MM_EINVAL;
    }
    int n = 0;
    const char *k;
    size_t kl;
    json_t *v;
    json_object_keylen_foreach(root, k, kl, v) {
        if (!is_uuid(k, kl)) continue;   /* not an event: never a file name */
        int64_t ts = json_is_object(v) ? jtime(json_object_get(v, "timestamp")) : 0;
        if (fn) fn(ctx, k, ts);
        if (n < INT32_MAX) n++;
    }
    json_decref(root);
    return n;
}
