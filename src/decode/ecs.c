/* ecs: events that are already ECS JSON — the packet sensor's output, and JSON
 * lines written by other ECS producers (Elastic agents, Filebeat outputs).
 *
 * Keys may be dotted ("dns.question.name") or nested objects, or both; a known
 * field (fields.def) is set by id, an array sets every value of a list field, and
 * any other key is kept as a vendor field printed under "ecs.".  "@timestamp" is
 * the event's time.
 *
 * Flat objects (the sensor's form: dotted keys, scalar values and arrays of
 * scalars) go through a bounded scanner whose values are slices of the record
 * (unescaped into the batch arena only when they hold escapes): the sensor
 * writes tens of thousands of these per second.  Anything else — nested objects,
 * or what the scanner does not take — is parsed with jansson. */
#include "decode.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16
#define MAX_KEY 256

/* A real as the shortest text that reads back as the same double, integral
 * values without a fraction: 4.43e2 is "443", 0.1 is "0.1".  Both paths use it,
 * so a record reads the same whichever path takes it. */
static mm_str real_text(mm_arena *a, double d) {
    char t[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, d);
        if (strtod(t, NULL) == d) break;
    }
    return mm_arena_str(a, t, strlen(t));
}

/* Last value wins for a key given twice (as jansson keeps it): drop what an
 * earlier occurrence set. */
static void vendor_drop(mm_event *ev, mm_str key) {
    uint16_t w = 0;
    for (uint16_t i = 0; i < ev->nvendor; i++) {
        const mm_kv *kv = &ev->vendor[i];
        if (kv->key.len == key.len && memcmp(kv->key.p, key.p, key.len) == 0) continue;
        ev->vendor[w++] = ev->vendor[i];
    }
    ev->nvendor = w;
}

static void forget(mm_event *ev, mm_str key) {
    mm_field f = mm_field_by_name(key.p, key.len);
    if (f == MM_F_NONE) vendor_drop(ev, key);
    else mm_event_unset(ev, f);
}

static mm_str text_of(mm_arena *a, const json_t *v, char *tmp, size_t cap) {
    switch (json_typeof(v)) {
    case JSON_STRING:
        return mm_arena_str(a, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(tmp, cap, "%lld", (long long)json_integer_value(v));
        return mm_arena_str(a, tmp, strlen(tmp));
    case JSON_REAL:
        return real_text(a, json_real_value(v));
    case JSON_TRUE: return MM_STR("true");
    case JSON_FALSE: return MM_STR("false");
    default: return (mm_str){NULL, 0};
    }
}

static void put(mm_event *ev, const char *key, size_t klen, const json_t *v, bool add) {
    char tmp[64];
    mm_str s = text_of(ev->arena, v, tmp, sizeof tmp);
    if (!s.p) return;
    mm_field f = mm_field_by_name(key, klen);
    if (f == MM_F_NONE) {
        mm_event_vendor(ev, mm_arena_str(ev->arena, key, klen), s);
        return;
    }
    if (add) mm_event_add(ev, f, s);
    else mm_event_set(ev, f, s);
}

static void walk(mm_event *ev, char *key, size_t klen, const json_t *v, int depth) {
    if (depth > MAX_DEPTH) return;
    if (json_is_object(v)) {
        const char *k;
        const json_t *c;
        json_object_foreach((json_t *)v, k, c) {
            size_t n = strlen(k);
            if (klen + 1 + n >= MAX_KEY) continue;
            size_t nl = klen;
            if (klen) key[nl++] = '.';
            memcpy(key + nl, k, n);
            key[nl + n] = 0;
            walk(ev, key, nl + n, c, depth + 1);
            key[klen] = 0;
        }
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *c;
        json_array_foreach(v, i, c) {
            if (json_is_object(c)) walk(ev, key, klen, c, depth + 1);
            else put(ev, key, klen, c, true);
        }
    } else if (klen)
        put(ev, key, klen, v, false);
}

/* ---- the flat scanner ---- */

typedef struct scan {
    const char *p, *end;
} scan;

static void ws(scan *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int hexv(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool hex4(const char *p, const char *end, uint32_t *v) {
    if (end - p < 4) return false;
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexv(p[i]);
        if (h < 0) return false;
        x = x << 4 | (uint32_t)h;
    }
    *v = x;
    return true;
}

/* A string at s->p (on the opening quote): a slice of the record, or an unescaped
 * copy in the arena. */
static bool str(scan *s, mm_arena *a, mm_str *out) {
    if (s->p >= s->end || *s->p != '"') return false;
    const char *b = ++s->p;
    bool esc = false;
    while (s->p < s->end && *s->p != '"') {
        if ((unsigned char)*s->p < 0x20) return false;   /* raw controls are not JSON */
        if (*s->p == '\\') {
            esc = true;
            s->p++;
            if (s->p >= s->end || !strchr("\"\\/bfnrtu", *s->p)) return false;
        }
        s->p++;
    }
    if (s->p >= s->end) return false;
    const char *e = s->p++;
    if (!esc) {
        *out = (mm_str){b, (uint32_t)(e - b)};
        return true;
    }
    char *o = mm_arena_alloc(a, (size_t)(e - b) + 1), *w = o;
    for (const char *p = b; p < e; p++) {
        if (*p != '\\') { *w++ = *p; continue; }
        if (++p >= e) return false;
        switch (*p) {
        case 'n': *w++ = '\n'; break;
        case 't': *w++ = '\t'; break;
        case 'r': *w++ = '\r'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'u': {
            uint32_t c;
            if (!hex4(p + 1, e, &c)) return false;
            p += 4;
            if (c >= 0xd800 && c <= 0xdbff) {   /* a surrogate pair */
                uint32_t lo;
                if (e - p >= 7 && p[1] == '\\' && p[2] == 'u' && hex4(p + 3, e, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                    c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                } else
                    c = 0xfffd;
            } else if (c >= 0xdc00 && c <= 0xdfff)
                c = 0xfffd;
            /* a \uXXXX needs 6 bytes of input for at most 4 of output */
            if (c < 0x80) *w++ = (char)c;
            else if (c < 0x800) *w++ = (char)(0xc0 | c >> 6), *w++ = (char)(0x80 | (c & 63));
            else if (c < 0x10000)
                *w++ = (char)(0xe0 | c >> 12), *w++ = (char)(0x80 | (c >> 6 & 63)), *w++ = (char)(0x80 | (c & 63));
            else
                *w++ = (char)(0xf0 | c >> 18), *w++ = (char)(0x80 | (c >> 12 & 63)),
                *w++ = (char)(0x80 | (c >> 6 & 63)), *w++ = (char)(0x80 | (c & 63));
            break;
        }
        default: *w++ = *p; break;   /* \" \\ \/ */
        }
    }
    *out = (mm_str){o, (uint32_t)(w - o)};
    return true;
}

static bool digits(const char **p, const char *e) {
    const char *b = *p;
    while (*p < e && **p >= '0' && **p <= '9') (*p)++;
    return *p > b;
}

/* A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; real says it has
 * a fraction or an exponent. */
static bool number(const char *p, const char *e, bool *real) {
    *real = false;
    if (p < e && *p == '-') p++;
    if (p < e && *p == '0') p++;
    else if (!digits(&p, e)) return false;
    if (p < e && *p == '.') {
        p++, *real = true;
        if (!digits(&p, e)) return false;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++, *real = true;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (!digits(&p, e)) return false;
    }
    return p == e;
}

/* A scalar that is not a string: number, true, false (null: skipped).  A number
 * with a fraction or an exponent is written as jansson's path writes it. */
static bool bare(scan *s, mm_arena *a, mm_str *out, bool *is_null) {
    const char *b = s->p;
    while (s->p < s->end && *s->p != ',' && *s->p != '}' && *s->p != ']' && *s->p != ' ' && *s->p != '\n' &&
           *s->p != '\r' && *s->p != '\t')
        s->p++;
    if (s->p == b) return false;
    *out = (mm_str){b, (uint32_t)(s->p - b)};
    *is_null = out->len == 4 && !memcmp(b, "null", 4);
    if (*is_null || mm_str_eqc(*out, "true") || mm_str_eqc(*out, "false")) return true;
    bool real;
    if (!number(b, s->p, &real)) return false;
    if (real) {
        char t[64];
        if (out->len >= sizeof t) return false;   /* jansson's path takes it */
        memcpy(t, b, out->len);
        t[out->len] = 0;
        *out = real_text(a, strtod(t, NULL));
    }
    return true;
}

/* add: a list's second and later items; otherwise the value replaces what an
 * earlier occurrence of the key set. */
static void put_str(mm_event *ev, mm_str key, mm_str v, bool add, bool apply) {
    if (!apply) return;
    mm_field f = mm_field_by_name(key.p, key.len);
    if (f == MM_F_NONE) {
        if (!add) vendor_drop(ev, key);
        mm_event_vendor(ev, key, v);
    } else if (add)
        mm_event_add(ev, f, v);
    else {
        mm_event_unset(ev, f);   /* a value that does not parse must not leave the old one */
        mm_event_set(ev, f, v);
    }
}

/* 1: flat (and decoded when apply), 0: not flat (use jansson), -1: malformed.
 * Run once without apply first, so that a record the scanner refuses half-way
 * leaves the event untouched for jansson. */
static int flat(mm_event *ev, mm_str msg, bool apply) {
    scan s = {msg.p, msg.p + msg.len};
    ws(&s);
    if (s.p >= s.end || *s.p != '{') return -1;
    s.p++;
    ws(&s);
    if (s.p < s.end && *s.p == '}') return 1;
    for (;;) {
        mm_str key, v;
        ws(&s);
        if (!str(&s, ev->arena, &key) || key.len == 0 || key.len >= MAX_KEY) return -1;
        ws(&s);
        if (s.p >= s.end || *s.p++ != ':') return -1;
        ws(&s);
        if (s.p >= s.end) return -1;
        bool null = false;
        if (*s.p == '"') {
            if (!str(&s, ev->arena, &v)) return -1;
            put_str(ev, key, v, false, apply);
        } else if (*s.p == '[') {
            s.p++;
            ws(&s);
            if (apply) forget(ev, key);   /* the last occurrence of a key is its value */
            if (s.p < s.end && *s.p == ']') s.p++;
            else
                for (bool firstv = true;;) {
                    ws(&s);
                    if (s.p < s.end && *s.p == '"') {
                        if (!str(&s, ev->arena, &v)) return -1;
                    } else if (s.p < s.end && (*s.p == '{' || *s.p == '[')) {
                        return 0;
                    } else if (!bare(&s, ev->arena, &v, &null))
                        return -1;
                    if (!null) put_str(ev, key, v, !firstv, apply), firstv = false;
                    ws(&s);
                    if (s.p < s.end && *s.p == ',') { s.p++; continue; }
                    if (s.p < s.end && *s.p == ']') { s.p++; break; }
                    return -1;
                }
        } else if (*s.p == '{') {
            return 0;
        } else {
            if (!bare(&s, ev->arena, &v, &null)) return -1;
            if (!null) put_str(ev, key, v, false, apply);
            else if (apply) forget(ev, key);
        }
        ws(&s);
        if (s.p < s.end && *s.p == ',') { s.p++; continue; }
        if (s.p < s.end && *s.p == '}') { s.p++; break; }
        return -1;
    }
    ws(&s);
    return s.p == s.end ? 1 : -1;
}

static void finish(mm_event *ev) {
    const mm_value *t = mm_event_get(ev, MM_F_TIMESTAMP);
    if (t && t->parsed) ev->ts_ns = t->i;
    const mm_value *obs = mm_event_get(ev, MM_F_OBSERVER_NAME);
    if (obs) ev->observer = obs->s;
}

static int ecs_decode(mm_event *ev, mm_str msg, const mm_decode_opts *o) {
    (void)o;
    if (flat(ev, msg, false) == 1 && flat(ev, msg, true) == 1) {
        finish(ev);
        return 0;
    }
    /* nested or malformed: jansson (which also says why a record is malformed) */
    json_error_t jerr;
    json_t *root = json_loadb(msg.p, msg.len, JSON_ALLOW_NUL, &jerr);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        mm_event_fail(ev, "ecs: not a JSON object");
        return MM_EINVAL;
    }
    char key[MAX_KEY];
    key[0] = 0;
    walk(ev, key, 0, root, 0);
    json_decref(root);
    finish(ev);
    return 0;
}

/* Route by the internal side: the client of a sensor event is usually the host. */
static mm_str ecs_entity(mm_str rec) {
    static const char key[] = "\"source.ip\":\"";
    const char *p = rec.p, *end = rec.p + rec.len;
    size_t kl = sizeof key - 1;
    for (; p + kl < end; p++)
        if (*p == '"' && memcmp(p, key, kl) == 0) {
            const char *v = p + kl, *q = v;
            while (q < end && *q != '"') q++;
            return (mm_str){v, (uint32_t)(q - v)};
        }
    return (mm_str){NULL, 0};
}

const mm_decoder mm_decoder_ecs = {"ecs", "ecs", ecs_decode, ecs_entity};
