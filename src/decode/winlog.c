/* winlog: Windows events sent as JSON, one event per record, in the three shapes
 * met in practice:
 *
 *   Winlogbeat / Elastic Agent (ECS):
 *     {"@timestamp":..., "winlog":{"event_id":4624, "channel":"Security",
 *      "provider_name":..., "computer_name":..., "record_id":..., "level":...,
 *      "keywords":[...], "process":{"pid":..,"thread":{"id":..}},
 *      "event_data":{"TargetUserName":...}}, "host":{"name":...}, "event":{...}}
 *   NXLog im_msvistalog to_json (flat):
 *     {"EventTime":"2024-05-01 10:00:00", "Hostname":..., "EventID":4624,
 *      "SourceName":..., "Channel":..., "RecordNumber":..., "TargetUserName":...}
 *     (every key NXLog does not define itself is an EventData field)
 *   evtx_dump's rendering of the XML (SigmaHQ's regression data):
 *     {"Event":{"System":{"Provider":{"#attributes":{"Name":..}}, "EventID":4624,
 *      "TimeCreated":{"#attributes":{"SystemTime":..}}, ...},
 *      "EventData":{...} | "UserData":{"<Element>":{...}}}}
 *
 * The record is parsed with jansson (one allocation tree per record, freed before
 * returning); every string kept is copied into the event's arena.  What the shapes
 * say is gathered into an mm_winevt, and winlog_ecs.c maps it (shared with the XML
 * decoder in evtx.c, so the same event gives the same fields whichever way it
 * came).  Values are kept as text: numbers are rendered in decimal.
 *
 * A record that is XML instead (WEF, NXLog's to_xml on the same input) goes to
 * the XML decoder, so one "winlog" input takes every rendering.
 *
 * Nested EventData/UserData values are flattened to their leaf names (UserData has
 * one element holding the fields; its name is kept as xml_name, as Winlogbeat
 * does); arrays give Name1, Name2... like unnamed <Data> elements.  Nesting deeper
 * than MAX_DEPTH is not followed. */
#include "winlog_int.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 6

/* ------------------------------------------------------------------ values */

/* The text of a scalar, in the arena; {NULL,0} for objects and arrays.  null is
 * an empty value (evtx_dump writes it for <Data Name="X"/>). */
static mm_str text(mm_arena *a, const json_t *v) {
    char tmp[40];
    int n;
    switch (json_typeof(v)) {
    case JSON_STRING: return mm_arena_str(a, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        n = snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return mm_arena_str(a, tmp, (size_t)n);
    case JSON_REAL:
        /* shortest text that reads back the same */
        n = snprintf(tmp, sizeof tmp, "%.15g", json_real_value(v));
        if (strtod(tmp, NULL) != json_real_value(v))
            n = snprintf(tmp, sizeof tmp, "%.17g", json_real_value(v));
        return mm_arena_str(a, tmp, (size_t)n);
    case JSON_TRUE: return MM_STR("true");
    case JSON_FALSE: return MM_STR("false");
    case JSON_NULL: return MM_STR("");
    default: return (mm_str){NULL, 0};
    }
}

/* evtx_dump renders an element with attributes as {"#attributes":{..},"#text":v}. */
static const json_t *inner(const json_t *v) {
    const json_t *t = json_is_object(v) ? json_object_get(v, "#text") : NULL;
    return t ? t : v;
}

static void sys(mm_winevt *w, mm_winsys k, const json_t *v) {
    if (!v) return;
    mm_str s = text(w->ev->arena, inner(v));
    if (s.p) w->sys[k] = s;
}

/* obj.a.b... (NULL-terminated path) */
static const json_t *path(const json_t *obj, const char *const *keys) {
    for (; *keys && obj; keys++) obj = json_is_object(obj) ? json_object_get(obj, *keys) : NULL;
    return obj;
}
#define PATH(obj, ...) path((obj), (const char *const[]){__VA_ARGS__, NULL})

static mm_str key_str(mm_arena *a, const char *k, size_t n) { return mm_arena_str(a, k, n); }

/* One EventData/UserData member, flattened (see the top of the file). */
static void flatten(mm_winevt *w, mm_str key, const json_t *v, int depth) {
    mm_arena *a = w->ev->arena;
    v = inner(v);
    if (json_is_array(v)) {
        bool unnamed = mm_str_eqc(key, "Data");
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
            if (i >= 1024) break;
            mm_str s = text(a, inner(e));
            if (!s.p) continue; /* arrays of objects: not a shape Windows produces */
            if (unnamed) {
                mm_winevt_data_unnamed(w, s);
            } else {
                char name[96];
                int kl = key.len > 80 ? 80 : (int)key.len;
                int n = snprintf(name, sizeof name, "%.*s%zu", kl, key.p, i + 1);
                mm_winevt_data(w, mm_arena_str(a, name, (size_t)n), s);
            }
        }
        return;
    }
    if (json_is_object(v)) {
        if (depth >= MAX_DEPTH) return;
        const char *k;
        size_t kl;
        const json_t *m;
        json_object_keylen_foreach((json_t *)v, k, kl, m) {
            if (kl && k[0] == '#') continue; /* #attributes */
            flatten(w, key_str(a, k, kl), m, depth + 1);
        }
        return;
    }
    mm_winevt_data(w, key, text(a, v));
}

static void data_object(mm_winevt *w, const json_t *obj) {
    if (!json_is_object(obj)) return;
    const char *k;
    size_t kl;
    const json_t *m;
    json_object_keylen_foreach((json_t *)obj, k, kl, m) {
        if (kl && k[0] == '#') continue;
        flatten(w, key_str(w->ev->arena, k, kl), m, 1);
    }
}

/* UserData: {"LogFileCleared": {"SubjectUserName": ...}} -> xml_name + the fields.
 * Winlogbeat has already done this (its user_data holds xml_name). */
static void user_data(mm_winevt *w, const json_t *obj) {
    if (!json_is_object(obj)) return;
    if (json_object_size(obj) == 1) {
        const char *k;
        size_t kl;
        const json_t *m;
        json_object_keylen_foreach((json_t *)obj, k, kl, m) {
            if (json_is_object(m) && kl && k[0] != '#') {
                mm_winevt_data(w, MM_STR("xml_name"), key_str(w->ev->arena, k, kl));
                data_object(w, m);
                return;
            }
        }
    }
    data_object(w, obj);
}

static void keywords(mm_winevt *w, const json_t *v) {
    size_t i;
    const json_t *e;
    if (json_is_string(v)) {
        mm_winevt_keyword(w, text(w->ev->arena, v));
        return;
    }
    json_array_foreach(v, i, e) {
        if (json_is_string(e)) mm_winevt_keyword(w, text(w->ev->arena, e));
    }
}

/* ------------------------------------------------------------------ Winlogbeat */

static const struct {
    const char *key;
    mm_winsys ws;
} wlb_keys[] = {
    {"event_id", WS_EVENT_ID}, {"channel", WS_CHANNEL}, {"provider_name", WS_PROVIDER},
    {"provider_guid", WS_PROVIDER_GUID}, {"computer_name", WS_COMPUTER}, {"record_id", WS_RECORD_ID},
    {"level", WS_LEVEL_TEXT}, {"task", WS_TASK_TEXT}, {"opcode", WS_OPCODE_TEXT},
    {"version", WS_VERSION}, {"activity_id", WS_ACTIVITY_ID},
    {"related_activity_id", WS_RELATED_ACTIVITY_ID}, {"time_created", WS_TIME},
    {"outcome", WS_OUTCOME},
};

static void winlogbeat(mm_winevt *w, const json_t *root, const json_t *wl) {
    for (size_t i = 0; i < MM_ARRAY_LEN(wlb_keys); i++)
        sys(w, wlb_keys[i].ws, json_object_get(wl, wlb_keys[i].key));
    sys(w, WS_PID, PATH(wl, "process", "pid"));
    sys(w, WS_TID, PATH(wl, "process", "thread", "id"));
    sys(w, WS_USER_ID, PATH(wl, "user", "identifier"));
    sys(w, WS_USER_NAME, PATH(wl, "user", "name"));
    sys(w, WS_USER_DOMAIN, PATH(wl, "user", "domain"));
    sys(w, WS_USER_TYPE, PATH(wl, "user", "type"));
    const json_t *kw = json_object_get(wl, "keywords");
    if (kw) keywords(w, kw);
    data_object(w, json_object_get(wl, "event_data"));
    data_object(w, json_object_get(wl, "user_data"));
    /* what the shipper adds around winlog.*: used where winlog.* is silent */
    sys(w, WS_TIMESTAMP, json_object_get(root, "@timestamp"));
    sys(w, WS_MESSAGE, json_object_get(root, "message"));
    sys(w, WS_HOST, PATH(root, "host", "name"));
    sys(w, WS_ACTION, PATH(root, "event", "action"));
    if (!w->sys[WS_EVENT_ID].p) sys(w, WS_EVENT_ID, PATH(root, "event", "code"));
    if (!w->sys[WS_OUTCOME].p) sys(w, WS_OUTCOME, PATH(root, "event", "outcome"));
    if (!w->sys[WS_LEVEL_TEXT].p) sys(w, WS_LEVEL_TEXT, PATH(root, "log", "level"));
    if (!w->sys[WS_PROVIDER].p) sys(w, WS_PROVIDER, PATH(root, "event", "provider"));
}

/* ------------------------------------------------------------------ evtx_dump */

static void evtx_dump(mm_winevt *w, const json_t *e) {
    const json_t *s = json_object_get(e, "System");
    sys(w, WS_PROVIDER, PATH(s, "Provider", "#attributes", "Name"));
    sys(w, WS_PROVIDER_GUID, PATH(s, "Provider", "#attributes", "Guid"));
    sys(w, WS_EVENT_ID, json_object_get(s, "EventID"));
    sys(w, WS_VERSION, json_object_get(s, "Version"));
    sys(w, WS_LEVEL, json_object_get(s, "Level"));
    sys(w, WS_TASK, json_object_get(s, "Task"));
    sys(w, WS_OPCODE, json_object_get(s, "Opcode"));
    sys(w, WS_KEYWORDS, json_object_get(s, "Keywords"));
    sys(w, WS_TIME, PATH(s, "TimeCreated", "#attributes", "SystemTime"));
    sys(w, WS_RECORD_ID, json_object_get(s, "EventRecordID"));
    sys(w, WS_ACTIVITY_ID, PATH(s, "Correlation", "#attributes", "ActivityID"));
    sys(w, WS_RELATED_ACTIVITY_ID, PATH(s, "Correlation", "#attributes", "RelatedActivityID"));
    sys(w, WS_PID, PATH(s, "Execution", "#attributes", "ProcessID"));
    sys(w, WS_TID, PATH(s, "Execution", "#attributes", "ThreadID"));
    sys(w, WS_CHANNEL, json_object_get(s, "Channel"));
    sys(w, WS_COMPUTER, json_object_get(s, "Computer"));
    sys(w, WS_USER_ID, PATH(s, "Security", "#attributes", "UserID"));
    data_object(w, json_object_get(e, "EventData"));
    user_data(w, json_object_get(e, "UserData"));
    /* Windows Event Forwarding's RenderedText, when a converter kept it */
    const json_t *r = json_object_get(e, "RenderingInfo");
    sys(w, WS_MESSAGE, json_object_get(r, "Message"));
    sys(w, WS_LEVEL_TEXT, json_object_get(r, "Level"));
    sys(w, WS_TASK_TEXT, json_object_get(r, "Task"));
    sys(w, WS_OPCODE_TEXT, json_object_get(r, "Opcode"));
    const json_t *kw = PATH(r, "Keywords", "Keyword");
    if (kw) keywords(w, kw);
}

/* ------------------------------------------------------------------ NXLog */

/* NXLog's own keys (im_msvistalog); every other key is an EventData field. */
static const struct {
    const char *key;
    int ws; /* mm_winsys, or -1: NXLog's bookkeeping, dropped */
} nx_keys[] = {
    {"EventID", WS_EVENT_ID}, {"Channel", WS_CHANNEL}, {"SourceName", WS_PROVIDER},
    {"ProviderName", WS_PROVIDER}, {"ProviderGuid", WS_PROVIDER_GUID}, {"Hostname", WS_COMPUTER},
    {"EventTime", WS_TIME_LOCAL}, {"RecordNumber", WS_RECORD_ID}, {"Version", WS_VERSION},
    {"Task", WS_TASK}, {"Category", WS_TASK_TEXT}, {"OpcodeValue", WS_OPCODE},
    {"Opcode", WS_OPCODE_TEXT}, {"Keywords", WS_KEYWORDS}, {"ProcessID", WS_PID},
    {"ThreadID", WS_TID}, {"UserID", WS_USER_ID}, {"Domain", WS_USER_DOMAIN},
    {"AccountType", WS_USER_TYPE}, {"ActivityID", WS_ACTIVITY_ID},
    {"RelatedActivityID", WS_RELATED_ACTIVITY_ID}, {"Message", WS_MESSAGE},
    {"Severity", -1}, {"SeverityValue", -1}, {"EventType", -1}, {"EventReceivedTime", -1},
    {"SourceModuleName", -1}, {"SourceModuleType", -1}, {"EventTimeWritten", -1},
};

static const struct {
    const char *nx, *level;
} nx_levels[] = {
    {"INFO", "information"}, {"WARNING", "warning"}, {"ERROR", "error"},
    {"CRITICAL", "critical"}, {"DEBUG", "verbose"}, {"VERBOSE", "verbose"},
};

static void nxlog(mm_winevt *w, const json_t *root) {
    mm_arena *a = w->ev->arena;
    const char *k;
    size_t kl;
    const json_t *m;
    json_object_keylen_foreach((json_t *)root, k, kl, m) {
        int ws = -2;
        for (size_t i = 0; i < MM_ARRAY_LEN(nx_keys) && ws == -2; i++)
            if (strlen(nx_keys[i].key) == kl && memcmp(nx_keys[i].key, k, kl) == 0) ws = nx_keys[i].ws;
        if (ws >= 0) sys(w, (mm_winsys)ws, m);
        /* AccountName is NXLog's name for UserID, and an EventData name (4778): both */
        if (kl == 11 && memcmp(k, "AccountName", 11) == 0) sys(w, WS_USER_NAME, m);
        if (ws == -2) flatten(w, key_str(a, k, kl), m, 1);
    }
    const json_t *sev = json_object_get(root, "Severity");
    const char *sv = json_is_string(sev) ? json_string_value(sev) : "";
    for (size_t i = 0; i < MM_ARRAY_LEN(nx_levels); i++)
        if (strcmp(sv, nx_levels[i].nx) == 0) w->sys[WS_LEVEL_TEXT] = mm_str_c(nx_levels[i].level);
    /* the audit result: from Keywords when there, else NXLog's EventType */
    const json_t *et = json_object_get(root, "EventType");
    const char *type = json_is_string(et) ? json_string_value(et) : "";
    if (!w->sys[WS_KEYWORDS].p && strcmp(type, "AUDIT_SUCCESS") == 0) mm_winevt_keyword(w, MM_STR("Audit Success"));
    if (!w->sys[WS_KEYWORDS].p && strcmp(type, "AUDIT_FAILURE") == 0) mm_winevt_keyword(w, MM_STR("Audit Failure"));
}

/* ------------------------------------------------------------------ decode */

static int winlog_decode(mm_event *ev, mm_str msg, const mm_decode_opts *o) {
    /* an input set to winlog may also carry the XML rendering (WEF, NXLog to_xml) */
    uint32_t i = 0;
    while (i < msg.len && strchr(" \t\r\n", msg.p[i]) && msg.p[i]) i++;
    if (i < msg.len && msg.p[i] == '<') return mm_decoder_evtx.decode(ev, msg, o);
    mm_winevt w;
    mm_winevt_init(&w, ev, o);
    json_error_t jerr;
    json_t *root = json_loadb(msg.p, msg.len, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        char why[200];
        snprintf(why, sizeof why, "not a JSON Windows event: %s (column %d)", jerr.text, jerr.column);
        mm_event_fail(ev, why);
        return MM_EINVAL;
    }
    const json_t *wl = json_object_get(root, "winlog");
    const json_t *e = json_object_get(root, "Event");
    const char *why = NULL;
    if (json_is_object(wl)) winlogbeat(&w, root, wl);
    else if (json_is_object(e) && json_is_object(json_object_get(e, "System"))) evtx_dump(&w, e);
    else if (json_is_object(root) && json_object_get(root, "EventID")) nxlog(&w, root);
    else why = "JSON without a Windows event (no winlog, Event.System or EventID)";
    json_decref(root);
    if (why) {
        mm_event_fail(ev, why);
        return MM_EINVAL;
    }
    int rc = mm_winevt_finish(&w);
    if (rc < 0) ev->nvendor = 0; /* a pipeline_error carries the raw record only */
    return rc;
}

const mm_decoder mm_decoder_winlog = {
    .name = "winlog",
    .vendor_prefix = "winlog.event_data",
    .decode = winlog_decode,
    .entity = mm_winevt_entity,
};
