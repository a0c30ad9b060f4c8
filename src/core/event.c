/* The event: known fields addressed by id (fields.def), values as slices into the
 * raw record or the batch arena, vendor keys kept under the decoder's prefix, and
 * the nested ECS JSON rendering used by --events, evidence and search output. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* STRS/IPS (array fields) parse like STR/IP and are printed as arrays. */
#define FT_STR MM_T_STR, false
#define FT_INT MM_T_INT, false
#define FT_IP MM_T_IP, false
#define FT_TIME MM_T_TIME, false
#define FT_STRS MM_T_STR, true
#define FT_IPS MM_T_IP, true
static const struct {
    const char *name;
    mm_ftype type;
    bool list;
} field_tab[MM_F__COUNT] = {
#define X(id, name, type) {name, FT_##type},
#include "fields.def"
#undef X
};

bool mm_field_is_list(mm_field f) { return f < MM_F__COUNT && field_tab[f].list; }

const char *mm_field_name(mm_field f) { return f < MM_F__COUNT ? field_tab[f].name : "?"; }
mm_ftype mm_field_type(mm_field f) { return f < MM_F__COUNT ? field_tab[f].type : MM_T_STR; }

/* Name lookup: a sorted index built once. */
static uint16_t by_name[MM_F__COUNT];
static pthread_once_t by_name_once = PTHREAD_ONCE_INIT;
static int cmp_by_name(const void *a, const void *b) {
    return strcmp(field_tab[*(const uint16_t *)a].name, field_tab[*(const uint16_t *)b].name);
}
static void by_name_init(void) {
    for (int i = 0; i < MM_F__COUNT; i++) by_name[i] = (uint16_t)i;
    qsort(by_name, MM_F__COUNT, sizeof by_name[0], cmp_by_name);
}

mm_field mm_field_by_name(const char *name, size_t len) {
    pthread_once(&by_name_once, by_name_init);
    size_t lo = 0, hi = MM_F__COUNT;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *n = field_tab[by_name[mid]].name;
        /* name may hold a NUL (a JSON key with \u0000): compare lengths, not terminators */
        size_t nl = strlen(n);
        int c = memcmp(n, name, nl < len ? nl : len);
        if (c == 0) c = nl < len ? -1 : nl > len ? 1 : 0;
        if (c == 0) return (mm_field)by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return MM_F_NONE;
}

const char *mm_kind_name(mm_kind k) {
    switch (k) {
    case MM_KIND_EVENT: return "event";
    case MM_KIND_ALERT: return "alert";
    case MM_KIND_PIPELINE_ERROR: return "pipeline_error";
    }
    return "event";
}

void mm_event_init(mm_event *ev, mm_arena *a) {
    memset(ev, 0, sizeof *ev);
    ev->arena = a;
}

static mm_value *new_value(mm_event *ev, mm_field f) {
    if (ev->nvals == ev->capvals) {
        uint16_t nc = ev->capvals ? (uint16_t)(ev->capvals * 2) : 32;
        if (nc < ev->capvals) return NULL;  /* 65k values: refuse */
        mm_value *nv = mm_arena_alloc(ev->arena, sizeof(mm_value) * (nc + 1));
        if (ev->nvals) memcpy(nv, ev->vals, sizeof(mm_value) * (ev->nvals + 1));
        else memset(&nv[0], 0, sizeof nv[0]);  /* slot 0 unused: idx 0 means absent */
        ev->vals = nv;
        ev->capvals = nc;
    }
    mm_value *v = &ev->vals[++ev->nvals];
    memset(v, 0, sizeof *v);
    v->field = (uint16_t)f;
    return v;
}

static bool parse_into(mm_value *v, mm_field f, mm_str s) {
    v->s = s;
    switch (field_tab[f].type) {
    case MM_T_STR: return true;
    case MM_T_INT: v->parsed = mm_str_to_i64(s, &v->i); return v->parsed;
    case MM_T_IP: v->parsed = mm_ip_parse(s, &v->ip); return v->parsed;
    case MM_T_TIME: v->parsed = mm_time_parse(s, &v->i); return v->parsed;
    }
    return false;
}

bool mm_event_set(mm_event *ev, mm_field f, mm_str s) {
    if (f >= MM_F__COUNT) return false;
    mm_value tmp;
    memset(&tmp, 0, sizeof tmp);
    if (!parse_into(&tmp, f, s)) return false;
    mm_value *v;
    if (ev->idx[f]) {
        v = &ev->vals[ev->idx[f]];
        v->next = 0;  /* replace: drop further values */
    } else {
        v = new_value(ev, f);
        if (!v) return false;
        ev->idx[f] = ev->nvals;
    }
    tmp.field = (uint16_t)f;
    *v = tmp;
    return true;
}

bool mm_event_add(mm_event *ev, mm_field f, mm_str s) {
    if (f >= MM_F__COUNT) return false;
    if (!ev->idx[f]) return mm_event_set(ev, f, s);
    mm_value tmp;
    memset(&tmp, 0, sizeof tmp);
    if (!parse_into(&tmp, f, s)) return false;
    uint16_t last = ev->idx[f];
    while (ev->vals[last].next) last = ev->vals[last].next;
    mm_value *v = new_value(ev, f);
    if (!v) return false;
    tmp.field = (uint16_t)f;
    *v = tmp;
    ev->vals[last].next = ev->nvals;
    return true;
}

void mm_event_set_int(mm_event *ev, mm_field f, int64_t val) {
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)val);
    mm_str s = mm_arena_str(ev->arena, tmp, (size_t)n);
    if (field_tab[f].type == MM_T_INT) {
        mm_event_set(ev, f, s);
    } else if (mm_event_set(ev, f, s) && field_tab[f].type == MM_T_TIME) {
        ev->vals[ev->idx[f]].i = val;
    }
}

void mm_event_set_time(mm_event *ev, mm_field f, int64_t ns) {
    mm_buf b = {0};
    mm_time_fmt(&b, ns);
    mm_str s = mm_arena_str(ev->arena, b.p, b.len);
    mm_buf_free(&b);
    if (mm_event_set(ev, f, s)) {
        mm_value *v = &ev->vals[ev->idx[f]];
        v->i = ns;
        v->parsed = true;
    }
    if (f == MM_F_TIMESTAMP) ev->ts_ns = ns;
}

void mm_event_set_ip(mm_event *ev, mm_field f, const mm_ip *ip) {
    char tmp[48];
    mm_ip_fmt(ip, tmp);
    mm_event_set(ev, f, mm_arena_str(ev->arena, tmp, strlen(tmp)));
}

void mm_event_unset(mm_event *ev, mm_field f) {
    if (f < MM_F__COUNT) ev->idx[f] = 0;
}

const mm_value *mm_event_get(const mm_event *ev, mm_field f) {
    if (f >= MM_F__COUNT || !ev->idx[f]) return NULL;
    return &ev->vals[ev->idx[f]];
}

const mm_value *mm_event_next(const mm_event *ev, const mm_value *v) {
    return v->next ? &ev->vals[v->next] : NULL;
}

void mm_event_vendor(mm_event *ev, mm_str key, mm_str val) {
    if (ev->nvendor == ev->capvendor) {
        uint16_t nc = ev->capvendor ? (uint16_t)(ev->capvendor * 2) : 64;
        if (nc < ev->capvendor) return;
        mm_kv *nv = mm_arena_alloc(ev->arena, sizeof(mm_kv) * nc);
        if (ev->nvendor) memcpy(nv, ev->vendor, sizeof(mm_kv) * ev->nvendor);
        ev->vendor = nv;
        ev->capvendor = nc;
    }
    ev->vendor[ev->nvendor++] = (mm_kv){key, val};
}

const mm_str *mm_event_vendor_get(const mm_event *ev, const char *key) {
    size_t n = strlen(key);
    for (uint16_t i = 0; i < ev->nvendor; i++) {
        const mm_kv *kv = &ev->vendor[i];
        if (kv->key.len == n && kv->key.p[0] == key[0] && memcmp(kv->key.p, key, n) == 0)
            return &kv->val;
    }
    return NULL;
}

int mm_event_lookup(const mm_event *ev, const char *name, size_t len,
                    void (*fn)(void *ctx, mm_str val, const mm_value *v), void *ctx) {
    mm_field f = mm_field_by_name(name, len);
    int n = 0;
    if (f != MM_F_NONE) {
        for (const mm_value *v = mm_event_get(ev, f); v; v = mm_event_next(ev, v), n++)
            if (fn) fn(ctx, v->s, v);
        return n;
    }
    if (ev->vendor_prefix) {
        size_t pl = strlen(ev->vendor_prefix);
        if (len > pl + 1 && memcmp(name, ev->vendor_prefix, pl) == 0 && name[pl] == '.') {
            mm_str key = {name + pl + 1, (uint32_t)(len - pl - 1)};
            for (uint16_t i = 0; i < ev->nvendor; i++)
                if (mm_str_eq(ev->vendor[i].key, key)) {
                    if (fn) fn(ctx, ev->vendor[i].val, NULL);
                    n++;
                }
        }
    }
    return n;
}

void mm_event_fail(mm_event *ev, const char *why) {
    ev->kind = MM_KIND_PIPELINE_ERROR;
    ev->error = mm_arena_str(ev->arena, why, strlen(why));
}

/* ---- JSON ---- */

enum { J_FIELD, J_VENDOR, J_LIT };
typedef struct jent {
    const char *name;   /* full dotted name */
    int what;
    uint16_t ref;       /* field id / vendor index */
    mm_str lit;
    uint32_t ord;       /* insertion order, for a stable sort */
} jent;

/* By name; equal names (a vendor key repeated in one record) keep their order, so
 * the first occurrence is the one printed. */
static int jent_cmp(const void *a, const void *b) {
    const jent *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static void put_value(mm_buf *out, const mm_event *ev, mm_field f, const mm_value *v) {
    mm_ftype t = field_tab[f].type;
    if (t == MM_T_INT && v->parsed) mm_buf_printf(out, "%lld", (long long)v->i);
    else if (t == MM_T_TIME && v->parsed) {
        mm_buf tb = {0};
        mm_time_fmt(&tb, v->i);
        mm_json_str(out, tb.p, tb.len);
        mm_buf_free(&tb);
    } else
        mm_json_str(out, v->s.p, v->s.len);
    (void)ev;
}

static void put_field(mm_buf *out, const mm_event *ev, mm_field f) {
    const mm_value *v = mm_event_get(ev, f);
    if (v->next || field_tab[f].list) {
        mm_buf_putc(out, '[');
        for (int i = 0; v; v = mm_event_next(ev, v), i++) {
            if (i) mm_buf_putc(out, ',');
            put_value(out, ev, f, v);
        }
        mm_buf_putc(out, ']');
    } else
        put_value(out, ev, f, v);
}

/* Emit sorted entries as nested objects; writes members only (no outer braces). */
static void emit_nested(mm_buf *out, const mm_event *ev, jent *e, size_t n) {
    for (size_t i = 0; i < n; i++) e[i].ord = (uint32_t)i;
    qsort(e, n, sizeof *e, jent_cmp);
    const char *open[16];      /* open component path */
    size_t openlen[16];
    int depth = 0;
    bool first_at[17] = {true};
    for (int i = 0; i < 17; i++) first_at[i] = true;
    for (size_t k = 0; k < n; k++) {
        const char *name = e[k].name;
        /* skip exact duplicates */
        if (k && strcmp(name, e[k - 1].name) == 0) continue;
        /* close the open levels that are not components of this name */
        while (depth > 0) {
            const char *p = name;
            bool ok = true;
            for (int d = 0; d < depth; d++) {
                const char *dot = strchr(p, '.');
                size_t cl = dot ? (size_t)(dot - p) : 0;
                if (!dot || cl != openlen[d] || memcmp(p, open[d], cl) != 0) {
                    ok = false;
                    break;
                }
                p = dot + 1;
            }
            if (ok) break;
            mm_buf_putc(out, '}');
            depth--;
        }
        /* rest of name after the open components */
        const char *p = name;
        for (int d = 0; d < depth; d++) p = strchr(p, '.') + 1;
        /* a leaf that is also a prefix of this name (a.b and a.b.c): keep the dotted rest */
        bool flat = k && strncmp(name, e[k - 1].name, strlen(e[k - 1].name)) == 0 &&
                    name[strlen(e[k - 1].name)] == '.';
        const char *dot;
        while (!flat && depth < 15 && (dot = strchr(p, '.')) != NULL) {
            if (!first_at[depth]) mm_buf_putc(out, ',');
            first_at[depth] = false;
            mm_json_str(out, p, (size_t)(dot - p));
            mm_buf_puts(out, ":{");
            open[depth] = p;
            openlen[depth] = (size_t)(dot - p);
            depth++;
            first_at[depth] = true;
            p = dot + 1;
        }
        if (!first_at[depth]) mm_buf_putc(out, ',');
        first_at[depth] = false;
        mm_json_str(out, p, strlen(p));
        mm_buf_putc(out, ':');
        switch (e[k].what) {
        case J_FIELD: put_field(out, ev, (mm_field)e[k].ref); break;
        case J_VENDOR: mm_json_str(out, ev->vendor[e[k].ref].val.p, ev->vendor[e[k].ref].val.len); break;
        default: mm_json_str(out, e[k].lit.p, e[k].lit.len); break;
        }
    }
    while (depth-- > 0) mm_buf_putc(out, '}');
}

void mm_event_json(const mm_event *ev, mm_buf *out, bool with_raw) {
    size_t cap = (size_t)MM_F__COUNT + ev->nvendor + 16;
    jent *e = calloc(cap, sizeof *e);
    if (!e) abort();
    size_t n = 0;
    mm_buf names = {0};
    /* vendor names are built into one buffer; offsets fixed up after */
    size_t *off = calloc(ev->nvendor ? ev->nvendor : 1, sizeof *off);
    if (!off) abort();
    for (uint16_t i = 0; i < ev->nvendor; i++) {
        off[i] = names.len;
        mm_buf_puts(&names, ev->vendor_prefix ? ev->vendor_prefix : "vendor");
        mm_buf_putc(&names, '.');
        /* a key with odd bytes still yields a valid JSON key (escaped when printed) */
        mm_buf_put(&names, ev->vendor[i].key.p, ev->vendor[i].key.len);
        mm_buf_putc(&names, 0);
    }
    for (uint16_t i = 0; i < ev->nvendor; i++) {
        /* keys with an embedded NUL are cut there by strcmp, which is harmless */
        e[n++] = (jent){names.p + off[i], J_VENDOR, i, {0}, 0};
    }
    for (int f = 0; f < MM_F__COUNT; f++)
        if (ev->idx[f] && !(f == MM_F_EVENT_KIND && ev->kind != MM_KIND_EVENT)) e[n++] = (jent){field_tab[f].name, J_FIELD, (uint16_t)f, {0}, 0};
    mm_buf ts = {0};
    if (!ev->idx[MM_F_TIMESTAMP]) {
        mm_time_fmt(&ts, ev->ts_ns);
        e[n++] = (jent){"@timestamp", J_LIT, 0, {ts.p, (uint32_t)ts.len}, 0};
    }
    if (!ev->idx[MM_F_EVENT_KIND] || ev->kind != MM_KIND_EVENT) {
        const char *k = mm_kind_name(ev->kind);
        e[n++] = (jent){"event.kind", J_LIT, 0, mm_str_c(k), 0};
    }
    if (with_raw) e[n++] = (jent){"event.original", J_LIT, 0, ev->raw, 0};
    if (ev->kind == MM_KIND_PIPELINE_ERROR && !ev->idx[MM_F_ERROR_MESSAGE])
        e[n++] = (jent){"error.message", J_LIT, 0, ev->error, 0};
    if (ev->tenant.len) e[n++] = (jent){"mamori.tenant", J_LIT, 0, ev->tenant, 0};
    if (ev->segment.len) e[n++] = (jent){"mamori.segment", J_LIT, 0, ev->segment, 0};
    if (ev->src && ev->src->input) e[n++] = (jent){"mamori.input", J_LIT, 0, mm_str_c(ev->src->input), 0};
    if (ev->src && ev->src->format) e[n++] = (jent){"mamori.format", J_LIT, 0, mm_str_c(ev->src->format), 0};
    if (ev->observer.len && !ev->idx[MM_F_OBSERVER_NAME] && !ev->idx[MM_F_LOG_SYSLOG_HOSTNAME])
        e[n++] = (jent){"observer.hostname", J_LIT, 0, ev->observer, 0};
    mm_buf_putc(out, '{');
    emit_nested(out, ev, e, n);
    mm_buf_putc(out, '}');
    mm_buf_free(&ts);
    mm_buf_free(&names);
    free(off);
    free(e);
}

const uint16_t mm_key_fields[] = {
    MM_F_TIMESTAMP,        MM_F_EVENT_CATEGORY,   MM_F_EVENT_ACTION,      MM_F_EVENT_OUTCOME,
    MM_F_EVENT_CODE,       MM_F_SOURCE_IP,        MM_F_SOURCE_PORT,       MM_F_DESTINATION_IP,
    MM_F_DESTINATION_PORT, MM_F_DESTINATION_DOMAIN, MM_F_NETWORK_TRANSPORT, MM_F_USER_NAME,
    MM_F_SOURCE_USER_NAME, MM_F_HOST_NAME,        MM_F_URL_DOMAIN,        MM_F_URL_ORIGINAL,
    MM_F_URL_FULL,         MM_F_DNS_QUESTION_NAME, MM_F_FILE_NAME,        MM_F_FILE_HASH_MD5,
    MM_F_FILE_HASH_SHA1,   MM_F_FILE_HASH_SHA256, MM_F_RULE_NAME,         MM_F_RULE_CATEGORY,
    MM_F_OBSERVER_NAME,    MM_F_MESSAGE,          MM_F_VULNERABILITY_ID,  MM_F_EMAIL_FROM,
    MM_F_TLS_SERVER_NAME,
};
const size_t mm_key_fields_n = MM_ARRAY_LEN(mm_key_fields);

int mm_event_json_fields(const mm_event *ev, mm_buf *out, const uint16_t *fields, size_t nf) {
    jent *e = calloc(nf + 1, sizeof *e);
    if (!e) abort();
    size_t n = 0;
    for (size_t i = 0; i < nf; i++)
        if (fields[i] < MM_F__COUNT && ev->idx[fields[i]])
            e[n++] = (jent){field_tab[fields[i]].name, J_FIELD, fields[i], {0}, 0};
    if (n) emit_nested(out, ev, e, n);
    free(e);
    return (int)n;
}
