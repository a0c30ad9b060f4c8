/* ecs: events that are already ECS JSON — the packet sensor's output, and JSON
 * lines written by other ECS producers (Elastic agents, Filebeat outputs).
 *
 * Keys may be dotted ("dns.question.name") or nested objects, or both; a known
 * field (fields.def) is set by id, an array sets every value of a list field, and
 * any other key is kept as a vendor field printed under "ecs.".  "@timestamp" is
 * the event's time.  Parsed with jansson: one allocation tree per record, freed
 * before returning (values are copied into the batch arena). */
#include "decode.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 16
#define MAX_KEY 256

static mm_str text_of(mm_arena *a, const json_t *v, char *tmp, size_t cap) {
    switch (json_typeof(v)) {
    case JSON_STRING:
        return mm_arena_str(a, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(tmp, cap, "%lld", (long long)json_integer_value(v));
        return mm_arena_str(a, tmp, strlen(tmp));
    case JSON_REAL:
        snprintf(tmp, cap, "%.17g", json_real_value(v));
        return mm_arena_str(a, tmp, strlen(tmp));
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

static int ecs_decode(mm_event *ev, mm_str msg, const mm_decode_opts *o) {
    (void)o;
    json_error_t jerr;
    json_t *root = json_loadb(msg.p, msg.len, 0, &jerr);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        mm_event_fail(ev, "ecs: not a JSON object");
        return MM_EINVAL;
    }
    char key[MAX_KEY];
    key[0] = 0;
    walk(ev, key, 0, root, 0);
    json_decref(root);
    const mm_value *t = mm_event_get(ev, MM_F_TIMESTAMP);
    if (t && t->parsed) ev->ts_ns = t->i;
    const mm_value *obs = mm_event_get(ev, MM_F_OBSERVER_NAME);
    if (obs) ev->observer = obs->s;
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
