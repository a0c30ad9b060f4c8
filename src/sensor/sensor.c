/* sensor: packets -> flows -> analyzers -> events.
 *
 * A packet is decoded (packet.c), finds its flow in a hash table keyed by the
 * 5-tuple and VLAN in either orientation, updates the flow's counters and TCP
 * history, and its payload goes through reassembly (stream.c) to the flow's
 * analyzer.  The analyzer is chosen by content: the first bytes of each direction
 * are offered to every analyzer of the transport (those whose ports match first)
 * until one says YES; bytes seen meanwhile are held (bounded) and replayed.
 *
 * Flows end on FIN/RST (after a short linger that absorbs the last ACKs), on idle
 * timeout, at the flow table's cap (the least recently seen goes) or at the end of
 * input; long flows emit a record every active timeout.  Every end emits one flow
 * record (event.category network), the raw material of behaviour analytics. */
#include "sensor_int.h"
#include "packet.h"
#include "stream.h"
#include "files_int.h"

#include <malloc.h>
#include <nettle/sha1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_MAX 4096           /* bytes held per direction while undecided */
#define PROBE_CHUNKS 12          /* data chunks per direction before giving up */
#define LINGER_NS (2LL * 1000000000LL)
#define EXPECT_MAX 256
#define EXPECT_TTL_NS (120LL * 1000000000LL)
#define NOVEL_SLOTS (1u << 16)

static const mm_analyzer *const analyzers[] = {
    &mm_app_http, &mm_app_tls, &mm_app_dns, &mm_app_smtp, &mm_app_ftp,
    &mm_app_ssh, &mm_app_irc, &mm_app_rawfile,
};
#define NANALYZERS (sizeof analyzers / sizeof analyzers[0])

typedef struct flow_ent {
    mm_flow f;
    struct flow_ent *hnext, *lprev, *lnext;
    uint32_t hash;
    mm_stream st[2];
    uint8_t *pend[2];
    uint32_t npend[2], probes[2];
    /* arrival order of the held bytes, for the replay: (direction, length) runs */
    uint8_t run_dir[2 * PROBE_CHUNKS + 2];
    uint32_t run_len[2 * PROBE_CHUNKS + 2];
    uint8_t nrun;
    bool app_off;                /* no analyzer (or it was given up) */
    bool ending;                 /* FIN both ways or RST: lingering */
    bool fin[2];
    bool syn_seen;               /* the client's SYN was seen: syn_seq is its ISN */
    uint32_t syn_seq;
    uint8_t cls;                 /* which LRU list */
    const char *end_reason;
    int64_t report_ns;           /* start of the current record (active timeout) */
    uint64_t rep_bytes[2], rep_pkts[2];
    char history[24];
    uint8_t hlen;
    uint16_t hseen;              /* history letters already written, per direction */
} flow_ent;

typedef struct expect {
    mm_ip cli, srv;
    bool any_cli;
    uint16_t port;
    const mm_analyzer *app;
    void *arg;
    void (*release)(void *);
    int64_t until_ns;
} expect;

typedef struct novel_slot {
    uint64_t key;
    int64_t t;                   /* host: first seen; pair: unused; value: host count */
} novel_slot;

struct mm_sensor {
    mm_sensor_opts o;
    mm_sensor_emit_fn emit;
    void *ctx;
    flow_ent **tab;
    uint32_t tabmask;
    /* least recently seen first, one list per idle limit (lingering, TCP, other),
     * so expiry only looks at list heads */
    flow_ent *lru_head[3], *lru_tail[3];
    uint64_t next_id, nflows;
    size_t stream_held;
    mm_frag_table *frag;
    mm_buf scratch, evbuf;
    mm_sev sev;
    bool building;
    int64_t now_ns, last_expire_ns;
    expect exp[EXPECT_MAX];
    int nexp;
    novel_slot *nhost, *npair, *nval;
    mm_sensor_files *files;
    mm_sensor_stats st;
    int64_t tsec;                /* the second whose text is in ttxt (event times) */
    char ttxt[24];
    size_t ttxt_len;
    uint64_t id_salt;
    const mm_analyzer *const *apps;
    size_t napps;
};

void mm_sensor_tune_malloc(void) { mallopt(M_TOP_PAD, 64 << 20); }

void mm_sensor_opts_default(mm_sensor_opts *o) {
    memset(o, 0, sizeof *o);
    o->max_flows = 1u << 20;
    o->tcp_idle_ns = 300LL * 1000000000LL;
    o->udp_idle_ns = 60LL * 1000000000LL;
    o->active_ns = 1800LL * 1000000000LL;
    o->stream_flow_max = 1u << 20;
    o->stream_total_max = 256u << 20;
    o->frag_max = 16u << 20;
    o->file_max = 64u << 20;
    o->quarantine_max = 1ULL << 30;
    o->flow_events = true;
    o->learn_ns = 600LL * 1000000000LL;
}

void mm_sensor_opts_from_conf(mm_sensor_opts *so, const mm_sensor_conf *c) {
    mm_sensor_opts_default(so);
    if (!c) return;
    so->home_net = c->home_net;
    so->nhome_net = c->nhome_net;
    so->quarantine_dir = c->quarantine_dir;
    so->quarantine_max = (uint64_t)c->quarantine_max_mb << 20;
    so->file_max = (size_t)c->file_max_mb << 20;
    so->max_flows = (uint32_t)c->max_flows;
    so->stream_total_max = (size_t)c->stream_mb << 20;
    so->flow_events = c->flow_events;
    so->learn_ns = c->learn_ns;
}

static const char *const risk_names[] = {
    "known_proto_non_std_port", "new_user_agent_for_host", "new_irc_host", "numeric_host",
    "cleartext_credentials", "malformed_app_data", "binary_transfer",
};

const char *mm_risk_name(uint32_t bit) {
    for (unsigned i = 0; i < sizeof risk_names / sizeof *risk_names; i++)
        if (bit == 1u << i) return risk_names[i];
    return "unknown";
}

int mm_sensor_new(mm_sensor **out, const mm_sensor_opts *o, mm_sensor_emit_fn emit, void *ctx, mm_err *err) {
    mm_sensor *s = mm_xcalloc(1, sizeof *s);
    s->o = *o;
    if (!s->o.max_flows) s->o.max_flows = 1u << 20;
    s->emit = emit, s->ctx = ctx;
    uint32_t n = 1024;
    while (n < s->o.max_flows * 2u && n < (1u << 30)) n <<= 1;
    s->tab = mm_xcalloc(n, sizeof *s->tab);
    s->tabmask = n - 1;
    s->frag = mm_frag_new(s->o.frag_max ? s->o.frag_max : (16u << 20));
    s->nhost = mm_xcalloc(NOVEL_SLOTS, sizeof(novel_slot));
    s->npair = mm_xcalloc(NOVEL_SLOTS, sizeof(novel_slot));
    s->nval = mm_xcalloc(NOVEL_SLOTS, sizeof(novel_slot));
    s->id_salt = (uint64_t)mm_now_ns();
    s->apps = analyzers, s->napps = NANALYZERS;
    if (mm_sensor_files_new(&s->files, &s->o, err) != 0) {
        mm_sensor_free(s);
        return MM_EINVAL;
    }
    *out = s;
    return 0;
}

/* ---------------------------------------------------------------- events */

/* Keys are the analyzers' own constants (plain ASCII): written without escaping. */
static void sev_key(mm_sev *e, const char *key) {
    /* a member while a list is open: the list ends here (the output stays JSON) */
    if (e->in_list) mm_sev_list_end(e);
    size_t n = strlen(key);
    mm_buf_reserve(e->b, n + 4);
    char *w = e->b->p + e->b->len;
    if (!e->first) *w++ = ',';
    e->first = false;
    *w++ = '"';
    memcpy(w, key, n);
    w += n;
    *w++ = '"', *w++ = ':';
    e->b->len = (size_t)(w - e->b->p);
}

static void put_i64(mm_buf *b, int64_t v) {
    char t[24], *p = t + sizeof t;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0) *--p = '-';
    mm_buf_put(b, p, (size_t)(t + sizeof t - p));
}

void mm_sev_str(mm_sev *e, const char *key, const void *p, size_t n) {
    if (!p) return;
    sev_key(e, key);
    mm_json_str(e->b, p, n);
}
void mm_sev_cstr(mm_sev *e, const char *key, const char *s) {
    if (s) mm_sev_str(e, key, s, strlen(s));
}
void mm_sev_int(mm_sev *e, const char *key, int64_t v) {
    sev_key(e, key);
    put_i64(e->b, v);
}
void mm_sev_time(mm_sev *e, const char *key, int64_t ns) {
    sev_key(e, key);
    mm_buf_putc(e->b, '"');
    mm_sensor *s = e->f ? e->f->s : NULL;
    int64_t sec = ns / 1000000000LL, frac = ns % 1000000000LL;
    if (!s || ns < 0) {
        mm_time_fmt(e->b, ns);
    } else {
        /* events come in time order: the date and time of day change once a second */
        if (sec != s->tsec || !s->ttxt_len) {
            mm_buf t = {0};
            mm_time_fmt(&t, sec * 1000000000LL);   /* "YYYY-MM-DDTHH:MM:SSZ" */
            s->ttxt_len = t.len > 1 && t.len - 1 < sizeof s->ttxt ? t.len - 1 : 0;
            if (s->ttxt_len) memcpy(s->ttxt, t.p, s->ttxt_len);
            s->tsec = sec;
            mm_buf_free(&t);
        }
        if (!s->ttxt_len || !frac) {
            mm_time_fmt(e->b, ns);
        } else {
            mm_buf_put(e->b, s->ttxt, s->ttxt_len);
            char d[10];
            int digits = frac % 1000000 == 0 ? 3 : frac % 1000 == 0 ? 6 : 9;
            int64_t v = digits == 3 ? frac / 1000000 : digits == 6 ? frac / 1000 : frac;
            d[0] = '.';
            for (int i = digits; i >= 1; i--, v /= 10) d[i] = (char)('0' + v % 10);
            mm_buf_put(e->b, d, (size_t)digits + 1);
            mm_buf_putc(e->b, 'Z');
        }
    }
    mm_buf_putc(e->b, '"');
}
void mm_sev_ip(mm_sev *e, const char *key, const mm_ip *ip) {
    char t[48];
    mm_ip_fmt(ip, t);
    mm_sev_cstr(e, key, t);
}
void mm_sev_bool(mm_sev *e, const char *key, bool v) {
    sev_key(e, key);
    mm_buf_puts(e->b, v ? "true" : "false");
}
void mm_sev_list(mm_sev *e, const char *key) {
    sev_key(e, key);
    mm_buf_putc(e->b, '[');
    e->in_list = true, e->list_first = true;
}
void mm_sev_item(mm_sev *e, const void *p, size_t n) {
    if (!e->in_list || !p) return;
    if (!e->list_first) mm_buf_putc(e->b, ',');
    e->list_first = false;
    mm_json_str(e->b, p, n);
}
void mm_sev_item_int(mm_sev *e, int64_t v) {
    if (!e->in_list) return;
    if (!e->list_first) mm_buf_putc(e->b, ',');
    e->list_first = false;
    put_i64(e->b, v);
}
void mm_sev_list_end(mm_sev *e) {
    if (!e->in_list) return;
    mm_buf_putc(e->b, ']');
    e->in_list = false;
}
void mm_sev_into(mm_sev *e, mm_buf *b) {
    memset(e, 0, sizeof *e);
    e->b = b;
    e->first = b->len == 0;
}
void mm_sev_raw(mm_sev *e, const char *members, size_t n) {
    if (!n) return;
    if (e->in_list) mm_sev_list_end(e);
    if (!e->first) mm_buf_putc(e->b, ',');
    e->first = false;
    mm_buf_put(e->b, members, n);
}

static bool is_home(const mm_sensor *s, const mm_ip *ip) {
    if (!s->o.nhome_net) return mm_ip_is_private(ip);
    for (int i = 0; i < s->o.nhome_net; i++)
        if (mm_cidr_contains(&s->o.home_net[i], ip)) return true;
    return false;
}

static const char *direction(const mm_sensor *s, const mm_flow *f) {
    bool c = is_home(s, &f->cli), v = is_home(s, &f->srv);
    return c ? (v ? "internal" : "outbound") : (v ? "inbound" : "external");
}

static const char *transport_name(uint8_t p) {
    switch (p) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 58: return "ipv6-icmp";
    case 132: return "sctp";
    case 47: return "gre";
    case 50: return "esp";
    default: return NULL;
    }
}

mm_sev *mm_sev_begin(mm_flow *f, const char *category, const char *type, const char *action) {
    mm_sensor *s = f->s;
    mm_sev *e = &s->sev;
    if (s->building) {   /* an analyzer broke the one-event-at-a-time rule: keep output valid */
        mm_sensor_app_error(f, "sensor", "nested event");
        mm_buf_reset(&s->evbuf);
    }
    s->building = true;
    mm_buf_reset(&s->evbuf);
    mm_sev_into(e, &s->evbuf);
    e->f = f;
    mm_buf_putc(e->b, '{');
    e->first = true;
    int64_t t = f->now_ns ? f->now_ns : s->now_ns;
    mm_sev_time(e, "@timestamp", t);
    mm_sev_cstr(e, "event.kind", "event");
    mm_sev_cstr(e, "event.category", category);
    mm_sev_cstr(e, "event.type", type);
    mm_sev_cstr(e, "event.action", action);
    mm_sev_cstr(e, "observer.type", "sensor");
    mm_sev_cstr(e, "observer.vendor", "mamori");
    mm_sev_cstr(e, "observer.product", "mamori sensor");
    mm_sev_cstr(e, "observer.ingress.interface.name", s->o.interface);
    mm_sev_ip(e, "source.ip", &f->cli);
    if (f->proto == 6 || f->proto == 17 || f->proto == 132) {
        mm_sev_int(e, "source.port", f->cport);
        mm_sev_ip(e, "destination.ip", &f->srv);
        mm_sev_int(e, "destination.port", f->sport);
    } else
        mm_sev_ip(e, "destination.ip", &f->srv);
    const char *tn = transport_name(f->proto);
    if (tn) mm_sev_cstr(e, "network.transport", tn);
    else mm_sev_int(e, "network.iana_number", f->proto);
    mm_sev_cstr(e, "network.type", f->cli.af == 6 ? "ipv6" : "ipv4");
    if (f->app_name) mm_sev_cstr(e, "network.protocol", f->app_name);
    if (f->community_id[0]) mm_sev_cstr(e, "network.community_id", f->community_id);
    mm_sev_cstr(e, "network.direction", direction(s, f));
    if (f->vlan) mm_sev_int(e, "network.vlan.id", f->vlan);
    char id[17];
    uint64_t v = f->id ^ s->id_salt;
    for (int i = 15; i >= 0; i--, v >>= 4) id[i] = "0123456789abcdef"[v & 15];
    id[16] = 0;
    mm_sev_cstr(e, "flow.id", id);
    return e;
}

void mm_sev_end(mm_sev *e) {
    mm_flow *f = e->f;
    mm_sensor *s = f->s;
    if (e->in_list) mm_sev_list_end(e);
    mm_buf_putc(e->b, '}');
    s->building = false;
    s->st.events++;
    if (s->emit) s->emit(s->ctx, e->b->p, e->b->len, f->now_ns ? f->now_ns : s->now_ns);
}

void mm_sev_cancel(mm_sev *e) {
    e->f->s->building = false;
    mm_buf_reset(e->b);
}

void mm_sensor_app_error(mm_flow *f, const char *analyzer, const char *why) {
    (void)analyzer, (void)why;
    f->s->st.app_errors++;
    f->risks |= MM_RISK_MALFORMED;
}

/* ---------------------------------------------------------------- community id */

/* Community ID v1 (corelight/community-id-spec): seed 0, the endpoints ordered so
 * that both directions hash the same, sha1, base64. */
static void community_id(flow_ent *e) {
    mm_flow *f = &e->f;
    size_t al = f->cli.af == 6 ? 16 : 4;
    const uint8_t *a = f->cli.b, *b = f->srv.b;
    uint16_t pa = f->cport, pb = f->sport;
    bool icmp = f->proto == 1 || f->proto == 58;
    bool ports = f->proto == 6 || f->proto == 17 || f->proto == 132 || icmp;
    /* ICMP "ports" are the type and its counterpart (packet.c); a one-way
     * message keeps its own direction */
    bool one_way = icmp && mm_icmp_counterpart(f->proto, (uint8_t)f->cport) < 0;
    int c = memcmp(a, b, al);
    if (!one_way && (c > 0 || (c == 0 && pa > pb))) {
        const uint8_t *t = a; a = b; b = t;
        uint16_t tp = pa; pa = pb; pb = tp;
    }
    uint8_t buf[2 + 32 + 2 + 4], *p = buf;
    *p++ = 0, *p++ = 0;
    memcpy(p, a, al), p += al;
    memcpy(p, b, al), p += al;
    *p++ = f->proto, *p++ = 0;
    if (ports) {
        *p++ = (uint8_t)(pa >> 8), *p++ = (uint8_t)pa;
        *p++ = (uint8_t)(pb >> 8), *p++ = (uint8_t)pb;
    }
    struct sha1_ctx ctx;
    uint8_t dg[SHA1_DIGEST_SIZE];
    sha1_init(&ctx);
    sha1_update(&ctx, (size_t)(p - buf), buf);
    sha1_digest(&ctx, sizeof dg, dg);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = f->community_id;
    *o++ = '1', *o++ = ':';
    for (int i = 0; i < 20; i += 3) {
        uint32_t v = (uint32_t)dg[i] << 16 | (i + 1 < 20 ? (uint32_t)dg[i + 1] << 8 : 0) | (i + 2 < 20 ? dg[i + 2] : 0);
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = i + 1 < 20 ? b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < 20 ? b64[v & 63] : '=';
    }
    *o = 0;
}

/* ---------------------------------------------------------------- helpers */

static inline uint8_t lcase(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

bool mm_iprefix(const void *a, size_t an, const char *b) {
    const uint8_t *x = a;
    size_t bn = strlen(b);
    if (an < bn) return false;
    for (size_t i = 0; i < bn; i++)
        if (lcase(x[i]) != lcase((uint8_t)b[i])) return false;
    return true;
}

bool mm_ieq(const void *a, size_t an, const char *b) { return an == strlen(b) && mm_iprefix(a, an, b); }

void mm_hex(char *out, const uint8_t *p, size_t n) {
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) out[2 * i] = hx[p[i] >> 4], out[2 * i + 1] = hx[p[i] & 15];
    out[2 * n] = 0;
}

bool mm_host_is_ip(const char *p, size_t n) {
    if (!n || n > 64) return false;
    if (p[0] == '[') return true;
    char t[65];
    memcpy(t, p, n);
    t[n] = 0;
    /* strip a :port from an IPv4 literal */
    char *colon = strchr(t, ':');
    if (colon && !strchr(colon + 1, ':')) *colon = 0;
    mm_ip ip;
    return mm_ip_parse(mm_str_c(t), &ip);
}

/* Novelty tables: direct-mapped, a colliding key replaces the old one (the oldest
 * knowledge is the first forgotten). */
bool mm_sensor_novel(mm_flow *f, const char *kind, const void *val, size_t n, int max_hosts) {
    mm_sensor *s = f->s;
    size_t al = f->cli.af == 6 ? 16 : 4;
    uint64_t hk = mm_hash(f->cli.b, al, 1) | 1;
    novel_slot *h = &s->nhost[hk & (NOVEL_SLOTS - 1)];
    if (h->key != hk) h->key = hk, h->t = f->now_ns;
    uint64_t vk = mm_hash(val, n, mm_hash(kind, strlen(kind), 2)) | 1;
    uint64_t pk = (vk * 0x9E3779B97F4A7C15ull) ^ hk;
    pk |= 1;
    novel_slot *pr = &s->npair[pk & (NOVEL_SLOTS - 1)];
    if (pr->key == pk) return false;          /* this host used it before */
    pr->key = pk;
    novel_slot *v = &s->nval[vk & (NOVEL_SLOTS - 1)];
    if (v->key != vk) v->key = vk, v->t = 0;
    v->t++;
    bool learned = f->now_ns - h->t >= s->o.learn_ns;
    return learned && v->t <= max_hosts;
}

/* ---------------------------------------------------------------- expectations */

void mm_sensor_expect(mm_flow *f, const mm_ip *cli, const mm_ip *srv, uint16_t srv_port,
                      const mm_analyzer *app, void *arg, void (*release)(void *arg)) {
    mm_sensor *s = f->s;
    if (s->nexp == EXPECT_MAX) {   /* full: the oldest goes */
        if (s->exp[0].release) s->exp[0].release(s->exp[0].arg);
        memmove(&s->exp[0], &s->exp[1], sizeof(expect) * (EXPECT_MAX - 1));
        s->nexp--;
    }
    expect *x = &s->exp[s->nexp++];
    memset(x, 0, sizeof *x);
    if (cli) x->cli = *cli;
    else x->any_cli = true;
    x->srv = *srv, x->port = srv_port, x->app = app, x->arg = arg, x->release = release;
    x->until_ns = f->now_ns + EXPECT_TTL_NS;
}

static void expect_drop(mm_sensor *s, int i) {
    if (s->exp[i].release) s->exp[i].release(s->exp[i].arg);
    memmove(&s->exp[i], &s->exp[i + 1], sizeof(expect) * (size_t)(s->nexp - i - 1));
    s->nexp--;
}

static void expect_expire(mm_sensor *s, int64_t now) {
    for (int i = 0; i < s->nexp;)
        if (s->exp[i].until_ns < now) expect_drop(s, i);
        else i++;
}

static bool expect_match(mm_sensor *s, flow_ent *e) {
    for (int i = 0; i < s->nexp; i++) {
        expect *x = &s->exp[i];
        if ((e->f.proto == 6 ? !x->app->tcp : !x->app->udp)) continue;   /* another transport */
        if (x->port == e->f.sport && mm_ip_eq(&x->srv, &e->f.srv) && (x->any_cli || mm_ip_eq(&x->cli, &e->f.cli))) {
            e->f.app = x->app;
            e->f.app_name = x->app->name;
            e->f.expect_arg = x->arg;
            x->release = NULL;    /* the analyzer owns it now */
            expect_drop(s, i);
            e->f.app_state = e->f.app->open(&e->f);
            if (!e->f.app_state) e->f.app = NULL, e->app_off = true;
            return true;
        }
    }
    return false;
}

/* ---------------------------------------------------------------- analyzers */

static bool port_of(const mm_analyzer *a, uint16_t port) {
    for (const uint16_t *p = a->ports; p && *p; p++)
        if (*p == port) return true;
    return false;
}

static void app_feed(flow_ent *e, int dir, const uint8_t *p, size_t n) {
    mm_flow *f = &e->f;
    f->payload[dir] += n;
    f->app->data(f->app_state, f, dir, p, n);
}

/* Choose an analyzer from the first bytes of each direction (TCP: what is held so
 * far; UDP: the datagram).  Returns true when decided. */
static bool app_choose(flow_ent *e, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) {
    mm_flow *f = &e->f;
    bool tcp = f->proto == 6;
    bool maybe = false;
    const mm_analyzer *pick = NULL;
    for (int pass = 0; pass < 2 && !pick; pass++)
        for (size_t i = 0; i < f->s->napps; i++) {
            const mm_analyzer *a = f->s->apps[i];
            if (tcp ? !a->tcp : !a->udp) continue;
            bool std = port_of(a, f->sport) || port_of(a, f->cport);
            if ((pass == 0) != std) continue;
            int r = a->probe(f, c2s, nc, s2c, ns);
            if (r == MM_PROBE_YES) { pick = a; break; }
            if (r == MM_PROBE_MAYBE) maybe = true;
        }
    if (!pick) {
        bool full = e->npend[0] >= PROBE_MAX || e->npend[1] >= PROBE_MAX ||
                    e->probes[0] >= PROBE_CHUNKS || e->probes[1] >= PROBE_CHUNKS || !tcp;
        if (!maybe || full) e->app_off = true;
        return e->app_off;
    }
    f->app = pick;
    f->app_name = pick->name;
    if (pick->ports && pick->ports[0] && !port_of(pick, f->sport) && !port_of(pick, f->cport)) f->risks |= MM_RISK_NONSTD_PORT;
    f->app_state = pick->open(f);
    if (!f->app_state) {
        f->app = NULL, e->app_off = true;
        return true;
    }
    return true;
}

static void pend_free(flow_ent *e) {
    free(e->pend[0]), free(e->pend[1]);
    e->pend[0] = e->pend[1] = NULL;
    e->npend[0] = e->npend[1] = 0;
    e->nrun = 0;
}

static void app_data(flow_ent *e, int dir, const uint8_t *p, size_t n) {
    mm_flow *f = &e->f;
    if (!n || e->app_off) return;
    if (f->app) { app_feed(e, dir, p, n); return; }
    if (f->proto != 6) {   /* UDP: each datagram is probed on its own */
        bool c2s = dir == MM_C2S;
        bool done = app_choose(e, c2s ? p : NULL, c2s ? n : 0, c2s ? NULL : p, c2s ? 0 : n);
        if (done && f->app) app_feed(e, dir, p, n);
        return;
    }
    uint32_t room = PROBE_MAX - e->npend[dir];
    uint32_t take = n < room ? (uint32_t)n : room;
    uint8_t *np = realloc(e->pend[dir], e->npend[dir] + take + 1);
    if (!np) { e->app_off = true; pend_free(e); return; }
    e->pend[dir] = np;
    memcpy(np + e->npend[dir], p, take);
    e->npend[dir] += take;
    e->probes[dir]++;
    if (take) {
        if (e->nrun && e->run_dir[e->nrun - 1] == dir) e->run_len[e->nrun - 1] += take;
        else if (e->nrun < sizeof e->run_dir) e->run_dir[e->nrun] = (uint8_t)dir, e->run_len[e->nrun++] = take;
        else e->run_len[e->nrun - 1] += take;   /* cannot happen: PROBE_CHUNKS bounds the runs */
    }
    if (!app_choose(e, e->pend[0], e->npend[0], e->pend[1], e->npend[1])) return;
    if (f->app) {
        /* replay what was held in the order it came (a server's greeting before
         * the client's answer, a request before its response) */
        uint8_t *h[2] = {e->pend[0], e->pend[1]};
        uint32_t used[2] = {0, 0};
        uint8_t nrun = e->nrun, rdir[sizeof e->run_dir];
        uint32_t rlen[sizeof e->run_dir];
        memcpy(rdir, e->run_dir, nrun);
        memcpy(rlen, e->run_len, nrun * sizeof *rlen);
        uint32_t have[2] = {e->npend[0], e->npend[1]};
        e->pend[0] = e->pend[1] = NULL, e->npend[0] = e->npend[1] = 0, e->nrun = 0;
        /* the bytes of this call beyond what fit in the probe buffer */
        const uint8_t *rest = p + take;
        size_t nrest = n - take;
        for (uint8_t i = 0; i < nrun; i++) {
            int d = rdir[i];
            uint32_t l = rlen[i] <= have[d] - used[d] ? rlen[i] : have[d] - used[d];
            if (l && f->app) app_feed(e, d, h[d] + used[d], l);
            used[d] += l;
        }
        for (int d = 0; d < 2; d++)
            if (used[d] < have[d] && f->app) app_feed(e, d, h[d] + used[d], have[d] - used[d]);
        if (nrest && f->app) app_feed(e, dir, rest, nrest);
        free(h[0]), free(h[1]);
    } else
        pend_free(e);
}

typedef struct deliver_ctx {
    flow_ent *e;
    int dir;
} deliver_ctx;

static void on_deliver(void *ctx, const uint8_t *p, size_t n) {
    deliver_ctx *d = ctx;
    app_data(d->e, d->dir, p, n);
}

static void on_gap(void *ctx, size_t n) {
    deliver_ctx *d = ctx;
    mm_flow *f = &d->e->f;
    if (f->app && f->app->gap) f->app->gap(f->app_state, f, d->dir, n);
    else if (!f->app && !d->e->app_off) {   /* undecided: content detection is over */
        d->e->app_off = true;
        pend_free(d->e);
    }
}

static mm_stream_ctx stream_ctx(mm_sensor *s, deliver_ctx *d) {
    return (mm_stream_ctx){
        .deliver = on_deliver, .gap = on_gap, .ctx = d,
        .flow_max = s->o.stream_flow_max ? s->o.stream_flow_max : (1u << 20),
        .total_held = &s->stream_held,
        .total_max = s->o.stream_total_max ? s->o.stream_total_max : (256u << 20),
        .gaps = &s->st.tcp_gaps, .gap_bytes = &s->st.tcp_gap_bytes, .overlaps = &s->st.tcp_overlaps,
        .overlap_mismatch = &s->st.tcp_overlap_mismatch, .dropped = &s->st.stream_dropped_bytes,
    };
}

/* ---------------------------------------------------------------- flow records */

static void flow_record(mm_sensor *s, flow_ent *e, const char *reason, bool final) {
    mm_flow *f = &e->f;
    if (!s->o.flow_events) return;
    int64_t keep = f->now_ns;
    f->now_ns = f->last_ns;
    mm_sev *ev = mm_sev_begin(f, "network", final ? "end" : "info", "flow");
    mm_sev_time(ev, "event.start", e->report_ns);
    mm_sev_time(ev, "event.end", f->last_ns);
    mm_sev_int(ev, "event.duration", f->last_ns - e->report_ns);
    uint64_t b0 = f->bytes[0] - e->rep_bytes[0], b1 = f->bytes[1] - e->rep_bytes[1];
    uint64_t p0 = f->pkts[0] - e->rep_pkts[0], p1 = f->pkts[1] - e->rep_pkts[1];
    mm_sev_int(ev, "source.bytes", (int64_t)b0);
    mm_sev_int(ev, "source.packets", (int64_t)p0);
    mm_sev_int(ev, "destination.bytes", (int64_t)b1);
    mm_sev_int(ev, "destination.packets", (int64_t)p1);
    mm_sev_int(ev, "network.bytes", (int64_t)(b0 + b1));
    mm_sev_int(ev, "network.packets", (int64_t)(p0 + p1));
    if (e->hlen) mm_sev_str(ev, "flow.history", e->history, e->hlen);
    mm_sev_cstr(ev, "flow.end_reason", reason);
    if (f->risks) {
        mm_sev_list(ev, "flow.risk");
        for (uint32_t b = 1; b; b <<= 1)
            if (f->risks & b) mm_sev_item(ev, mm_risk_name(b), strlen(mm_risk_name(b)));
        mm_sev_list_end(ev);
    }
    mm_sev_end(ev);
    f->now_ns = keep;
    e->report_ns = f->last_ns;
    e->rep_bytes[0] = f->bytes[0], e->rep_bytes[1] = f->bytes[1];
    e->rep_pkts[0] = f->pkts[0], e->rep_pkts[1] = f->pkts[1];
}

/* The analyzer's end: flush reassembly, let it emit what it holds. */
static void app_close(mm_sensor *s, flow_ent *e) {
    mm_flow *f = &e->f;
    if (f->proto == 6)
        for (int d = 0; d < 2; d++) {
            deliver_ctx dc = {e, d};
            mm_stream_ctx c = stream_ctx(s, &dc);
            mm_stream_flush(&e->st[d], &c);
        }
    if (f->app) {
        f->app->close(f->app_state, f);
        f->app = NULL;   /* app_name stays for the flow record */
        f->app_state = NULL;
    }
    e->app_off = true;
    pend_free(e);
}

/* ---------------------------------------------------------------- flow table */

static uint32_t key_hash(const mm_ip *a, uint16_t pa, const mm_ip *b, uint16_t pb, uint8_t proto, uint16_t vlan) {
    /* symmetric: both orientations hash alike */
    size_t al = a->af == 6 ? 16 : 4;
    uint64_t ha = mm_hash(a->b, al, (uint64_t)pa << 8 | proto);
    uint64_t hb = mm_hash(b->b, al, (uint64_t)pb << 8 | proto);
    uint64_t h = (ha ^ hb) + ((uint64_t)vlan << 17) + (ha + hb);
    return (uint32_t)(h ^ (h >> 32));
}

static void lru_unlink(mm_sensor *s, flow_ent *e) {
    int c = e->cls;
    if (e->lprev) e->lprev->lnext = e->lnext;
    else s->lru_head[c] = e->lnext;
    if (e->lnext) e->lnext->lprev = e->lprev;
    else s->lru_tail[c] = e->lprev;
    e->lprev = e->lnext = NULL;
}

static void lru_push(mm_sensor *s, flow_ent *e) {
    e->cls = e->ending ? 0 : e->f.proto == 6 ? 1 : 2;
    int c = e->cls;
    e->lprev = s->lru_tail[c];
    e->lnext = NULL;
    if (s->lru_tail[c]) s->lru_tail[c]->lnext = e;
    else s->lru_head[c] = e;
    s->lru_tail[c] = e;
}

/* The least recently seen flow of all, or NULL. */
static flow_ent *lru_oldest(mm_sensor *s) {
    flow_ent *o = NULL;
    for (int c = 0; c < 3; c++)
        if (s->lru_head[c] && (!o || s->lru_head[c]->f.last_ns < o->f.last_ns)) o = s->lru_head[c];
    return o;
}

static void flow_end(mm_sensor *s, flow_ent *e, const char *reason) {
    app_close(s, e);
    flow_record(s, e, e->end_reason ? e->end_reason : reason, true);
    for (int d = 0; d < 2; d++) mm_stream_free(&e->st[d], &s->stream_held);
    flow_ent **pp = &s->tab[e->hash & s->tabmask];
    while (*pp && *pp != e) pp = &(*pp)->hnext;
    if (*pp) *pp = e->hnext;
    lru_unlink(s, e);
    s->nflows--;
    free(e);
}

static void hist(flow_ent *e, int dir, char c) {
    /* each letter once per direction: upper case from the client, lower from the server */
    int bit = -1;
    switch (c) {
    case 'S': bit = 0; break;
    case 'H': bit = 1; break;
    case 'A': bit = 2; break;
    case 'D': bit = 3; break;
    case 'F': bit = 4; break;
    case 'R': bit = 5; break;
    case 'G': bit = 6; break;
    case 'T': bit = 7; break;
    default: return;
    }
    uint16_t m = (uint16_t)(1u << (bit + 8 * dir));
    if (e->hseen & m || e->hlen >= sizeof e->history) return;
    e->hseen |= m;
    e->history[e->hlen++] = dir ? (char)(c + 32) : c;
}

static flow_ent *flow_find(mm_sensor *s, const mm_pkt *p, int *dir) {
    uint32_t h = key_hash(&p->src, p->sport, &p->dst, p->dport, p->proto, p->vlan);
    for (flow_ent *e = s->tab[h & s->tabmask]; e; e = e->hnext) {
        if (e->hash != h || e->f.proto != p->proto || e->f.vlan != p->vlan) continue;
        if (e->f.cport == p->sport && e->f.sport == p->dport && mm_ip_eq(&e->f.cli, &p->src) &&
            mm_ip_eq(&e->f.srv, &p->dst)) {
            *dir = MM_C2S;
            return e;
        }
        if (e->f.cport == p->dport && e->f.sport == p->sport && mm_ip_eq(&e->f.cli, &p->dst) &&
            mm_ip_eq(&e->f.srv, &p->src)) {
            *dir = MM_S2C;
            return e;
        }
    }
    return NULL;
}

static bool low_port(uint16_t p) { return p && p < 1024; }

static flow_ent *flow_new(mm_sensor *s, const mm_pkt *p, int64_t ts, int *dir) {
    for (flow_ent *o; s->nflows >= s->o.max_flows && (o = lru_oldest(s));) {
        s->st.flows_evicted++;
        flow_end(s, o, "evicted");
    }
    flow_ent *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    /* the client is who sent the first packet, unless that packet is clearly the
     * server's answer (SYN+ACK, or from a well-known port to an ephemeral one) */
    bool swap = false;
    if (p->proto == 6) swap = (p->tcp_flags & (MM_TH_SYN | MM_TH_ACK)) == (MM_TH_SYN | MM_TH_ACK) ||
                              (!(p->tcp_flags & MM_TH_SYN) && low_port(p->sport) && !low_port(p->dport));
    else if (p->proto == 17) swap = low_port(p->sport) && !low_port(p->dport);
    e->f.s = s;
    e->f.id = ++s->next_id;
    e->f.cli = swap ? p->dst : p->src;
    e->f.srv = swap ? p->src : p->dst;
    e->f.cport = swap ? p->dport : p->sport;
    e->f.sport = swap ? p->sport : p->dport;
    e->f.proto = p->proto;
    e->f.vlan = p->vlan;
    e->f.first_ns = e->f.last_ns = e->f.now_ns = ts;
    e->report_ns = ts;
    e->hash = key_hash(&p->src, p->sport, &p->dst, p->dport, p->proto, p->vlan);
    e->hnext = s->tab[e->hash & s->tabmask];
    s->tab[e->hash & s->tabmask] = e;
    lru_push(s, e);
    s->nflows++;
    s->st.flows++;
    community_id(e);
    *dir = swap ? MM_S2C : MM_C2S;
    if (p->proto != 6 && p->proto != 17) e->app_off = true;
    else expect_match(s, e);
    return e;
}

static int64_t idle_for(const mm_sensor *s, const flow_ent *e) {
    if (e->ending) return LINGER_NS;
    return e->f.proto == 6 ? s->o.tcp_idle_ns : s->o.udp_idle_ns;
}

static void expire(mm_sensor *s, int64_t now) {
    for (int c = 0; c < 3; c++)
        while (s->lru_head[c] && now - s->lru_head[c]->f.last_ns >= idle_for(s, s->lru_head[c]))
            flow_end(s, s->lru_head[c], s->lru_head[c]->ending ? "closed" : "idle");
    mm_frag_expire(s->frag, now, &s->st.frag_dropped);
    expect_expire(s, now);
}

void mm_sensor_packet(mm_sensor *s, int linktype, int64_t ts, const uint8_t *pkt, uint32_t caplen, uint32_t wirelen) {
    if (ts < s->now_ns) ts = s->now_ns;
    s->now_ns = ts;
    s->st.packets++;
    s->st.bytes += wirelen;
    if (ts - s->last_expire_ns >= 1000000000LL) {
        if (s->last_expire_ns) expire(s, ts);
        s->last_expire_ns = ts;
    }
    mm_pkt p;
    mm_pkt_rc rc = mm_pkt_decode(linktype, pkt, caplen, ts, s->frag, &s->scratch, &p, &s->st.frag_reassembled,
                                 &s->st.frag_dropped);
    if (rc == MM_PKT_NON_IP) { s->st.non_ip++; return; }
    if (rc == MM_PKT_BAD) { s->st.decode_errors++; return; }
    if (rc == MM_PKT_HELD) return;
    int dir;
    flow_ent *e = flow_find(s, &p, &dir);
    if (e && e->ending && p.proto == 6 && (p.tcp_flags & (MM_TH_SYN | MM_TH_ACK)) == MM_TH_SYN &&
        !(e->syn_seen && dir == MM_C2S && p.seq == e->syn_seq)) {
        /* the ports are reused by a new connection while the last one lingers (a
         * retransmission of the flow's own SYN, refused by a RST, is not one) */
        flow_end(s, e, "closed");
        e = NULL;
    }
    if (!e) {
        /* (a packet arriving after its flow ended and lingered starts a new one,
         * as in Zeek: its record says what it saw) */
        e = flow_new(s, &p, ts, &dir);
        if (!e) return;
    } else {
        lru_unlink(s, e);
        lru_push(s, e);
    }
    mm_flow *f = &e->f;
    f->now_ns = ts;
    f->last_ns = ts;
    f->bytes[dir] += p.ip_len;
    f->pkts[dir]++;
    if (s->o.active_ns && ts - e->report_ns >= s->o.active_ns) flow_record(s, e, "active", false);
    if (p.proto == 6) {
        uint8_t fl = p.tcp_flags;
        if ((fl & (MM_TH_SYN | MM_TH_ACK)) == MM_TH_SYN) {
            hist(e, dir, 'S');
            if (dir == MM_C2S) e->syn_seen = true, e->syn_seq = p.seq;
        }
        if ((fl & (MM_TH_SYN | MM_TH_ACK)) == (MM_TH_SYN | MM_TH_ACK)) hist(e, dir, 'H');
        if ((fl & (MM_TH_SYN | MM_TH_FIN | MM_TH_RST | MM_TH_ACK)) == MM_TH_ACK && !p.plen) hist(e, dir, 'A');
        if (p.plen) hist(e, dir, 'D');
        if (fl & MM_TH_FIN) hist(e, dir, 'F');
        if (fl & MM_TH_RST) hist(e, dir, 'R');
        if (e->ending) return;
        deliver_ctx dc = {e, dir};
        mm_stream_ctx c = stream_ctx(s, &dc);
        mm_stream_segment(&e->st[dir], &c, p.seq, fl, p.payload, p.plen);
        if (fl & MM_TH_FIN) e->fin[dir] = true;
        if ((fl & MM_TH_RST) || (e->fin[0] && e->fin[1] && e->st[0].done && e->st[1].done)) {
            e->end_reason = fl & MM_TH_RST ? "reset" : "closed";
            app_close(s, e);
            lru_unlink(s, e);
            e->ending = true;
            lru_push(s, e);
        }
    } else if (p.proto == 17) {
        if (p.plen) hist(e, dir, 'D');
        app_data(e, dir, p.payload, p.plen);
    }
}

void mm_sensor_tick(mm_sensor *s, int64_t now_ns) {
    if (now_ns > s->now_ns) s->now_ns = now_ns;
    expire(s, s->now_ns);
    s->last_expire_ns = s->now_ns;
}

void mm_sensor_finish(mm_sensor *s) {
    for (flow_ent *o; (o = lru_oldest(s));) flow_end(s, o, "end_of_input");
    while (s->nexp) expect_drop(s, s->nexp - 1);
}

void mm_sensor_free(mm_sensor *s) {
    if (!s) return;
    s->emit = NULL;   /* flows still open end without output: the sink may be gone */
    if (s->tab)
        for (flow_ent *o; (o = lru_oldest(s));) flow_end(s, o, "free");
    while (s->nexp) expect_drop(s, s->nexp - 1);
    free(s->tab);
    mm_frag_free(s->frag);
    mm_buf_free(&s->scratch);
    mm_buf_free(&s->evbuf);
    free(s->nhost), free(s->npair), free(s->nval);
    mm_sensor_files_free(s->files);
    free(s);
}

void mm_sensor_stats_get(const mm_sensor *s, mm_sensor_stats *out) {
    *out = s->st;
    out->flows_active = s->nflows;
    mm_sensor_files_stats(s->files, out);
}

mm_sensor_files *mm_sensor_files_of(mm_flow *f) { return f->s->files; }

void mm_sensor_use_analyzers(mm_sensor *s, const mm_analyzer *const *list, size_t n) {
    s->apps = list, s->napps = n;
}
