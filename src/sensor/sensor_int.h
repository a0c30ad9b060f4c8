/* sensor_int: what the sensor's parts share — the flow, the analyzer interface,
 * the event builder and the file-extraction calls.  Analyzers (app_*.c) include
 * this header only; they never see packets, only each direction's bytes in order.
 *
 * Rules for analyzers:
 *   - data() gets the next in-order bytes of one direction; chunk boundaries are
 *     arbitrary (one byte at a time must work).  Buffer what you need, with a cap;
 *     over the cap or malformed: count it (mm_sensor_app_error) and stop parsing that
 *     direction, never crash.
 *   - gap() says `len` bytes of that direction were lost (capture loss): resync or
 *     give up on the direction.
 *   - Events are built one at a time: mm_sev_begin .. mm_sev_end without another
 *     event (or mm_sfile_close, which emits a file event) in between.
 *   - close() is called once when the flow ends (FIN/RST/timeout/end of input):
 *     emit what is pending, free the state. */
#ifndef MM_SENSOR_INT_H
#define MM_SENSOR_INT_H

#include "sensor.h"

enum { MM_C2S = 0, MM_S2C = 1 };   /* client (initiator) to server, and back */

typedef struct mm_analyzer mm_analyzer;

typedef struct mm_flow {
    mm_sensor *s;
    uint64_t id;                 /* unique within the sensor */
    mm_ip cli, srv;              /* client = the side that opened the flow */
    uint16_t cport, sport;
    uint8_t proto;               /* IPPROTO_TCP, IPPROTO_UDP, ICMP... */
    uint16_t vlan;
    int64_t first_ns, last_ns;
    int64_t now_ns;              /* time of the packet being processed */
    uint64_t bytes[2], pkts[2];  /* IP bytes per direction */
    uint64_t payload[2];         /* application bytes delivered per direction */
    const mm_analyzer *app;      /* NULL until recognised */
    void *app_state;
    const char *app_name;        /* app->name, or a name an analyzer set */
    uint32_t risks;              /* MM_RISK_* bits, printed in flow.risk */
    char community_id[32];       /* Community ID v1 ("1:" + base64), set by the core */
    void *expect_arg;            /* for open(): the argument of the mm_sensor_expect
                                    that created this flow (the analyzer owns it) */
} mm_flow;

/* Flow risks: facts about a flow worth a rule (nDPI calls them flow risks). */
enum {
    MM_RISK_NONSTD_PORT = 1u << 0,     /* known protocol on a port not its own */
    MM_RISK_NEW_UA_FOR_HOST = 1u << 1, /* a User-Agent this host never used, few hosts use */
    MM_RISK_NEW_IRC_HOST = 1u << 2,    /* IRC from a host never seen speaking IRC */
    MM_RISK_NUMERIC_HOST = 1u << 3,    /* HTTP Host / TLS SNI is an IP address */
    MM_RISK_CLEARTEXT_CREDS = 1u << 4, /* a password sent in clear (FTP, SMTP AUTH, IRC) */
    MM_RISK_MALFORMED = 1u << 5,       /* the analyzer found malformed data */
    MM_RISK_BINARY_TRANSFER = 1u << 6, /* an executable was transferred */
};
const char *mm_risk_name(uint32_t bit);

/* ---- analyzers: one file each, one row in the table in sensor.c ---- */

enum { MM_PROBE_NO = 0, MM_PROBE_MAYBE = 1, MM_PROBE_YES = 2 };

struct mm_analyzer {
    const char *name;            /* network.protocol: "dns", "http"... */
    uint8_t tcp, udp;            /* transports it speaks */
    const uint16_t *ports;       /* its standard ports, 0-terminated */
    /* Recognise the protocol from the first bytes seen in each direction (either may
     * be empty; the server speaks first in SMTP, FTP and SSH).  MAYBE asks for more. */
    int (*probe)(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns);
    void *(*open)(mm_flow *f);   /* NULL return: out of memory (counted, flow not analysed) */
    /* UDP: one datagram per call; TCP: the next in-order bytes of direction dir. */
    void (*data)(void *st, mm_flow *f, int dir, const uint8_t *p, size_t n);
    void (*gap)(void *st, mm_flow *f, int dir, size_t n);   /* may be NULL */
    void (*close)(void *st, mm_flow *f);
};

/* Tests: dispatch to these analyzers instead of the built-in table (list must
 * outlive the sensor). */
void mm_sensor_use_analyzers(mm_sensor *s, const mm_analyzer *const *list, size_t n);

extern const mm_analyzer mm_app_dns, mm_app_http, mm_app_tls, mm_app_smtp,
    mm_app_ftp, mm_app_ftp_data, mm_app_irc, mm_app_ssh;
extern const mm_analyzer mm_app_rawfile;   /* no standard port: chosen by content only */
extern const mm_analyzer mm_app_irc_dcc;   /* IRC DCC SEND data: chosen by an expectation */

/* Count malformed application data (and mark the flow). */
void mm_sensor_app_error(mm_flow *f, const char *analyzer, const char *why);

/* ---- events: one JSON object of dotted ECS keys per event ---- */

typedef struct mm_sev {
    mm_buf *b;
    bool first, in_list, list_first;
    mm_flow *f;                  /* set by mm_sev_begin */
} mm_sev;

/* Start an event about flow f at f->now_ns: writes @timestamp, event.kind,
 * event.category, event.type, event.action, observer, source/destination (client/
 * server), network.transport/protocol/community_id/direction, flow.id.  The builder
 * belongs to the sensor: one event at a time. */
mm_sev *mm_sev_begin(mm_flow *f, const char *category, const char *type, const char *action);
void mm_sev_end(mm_sev *e);      /* emit */
void mm_sev_cancel(mm_sev *e);   /* drop what was built */

/* Members.  Strings are escaped (invalid UTF-8 and controls become \u00XX); a NULL
 * pointer writes nothing. */
void mm_sev_str(mm_sev *e, const char *key, const void *p, size_t n);
void mm_sev_cstr(mm_sev *e, const char *key, const char *s);
void mm_sev_int(mm_sev *e, const char *key, int64_t v);
void mm_sev_time(mm_sev *e, const char *key, int64_t ns);
void mm_sev_ip(mm_sev *e, const char *key, const mm_ip *ip);
void mm_sev_bool(mm_sev *e, const char *key, bool v);
/* Arrays: list(key), then items, then list_end. */
void mm_sev_list(mm_sev *e, const char *key);
void mm_sev_item(mm_sev *e, const void *p, size_t n);
void mm_sev_item_int(mm_sev *e, int64_t v);
void mm_sev_list_end(mm_sev *e);
/* A builder that writes members into a caller's buffer (no event is emitted); used
 * to prepare members that a later event copies with mm_sev_raw. */
void mm_sev_into(mm_sev *e, mm_buf *b);
/* Copy members prepared with mm_sev_into (text as written there). */
void mm_sev_raw(mm_sev *e, const char *members, size_t n);

/* ---- files carried by a protocol ---- */

typedef struct mm_sfile mm_sfile;

typedef struct mm_sfile_info {
    uint64_t size;               /* bytes seen (the whole file unless truncated) */
    bool truncated;              /* a gap, or over file_max: hashes are of what was seen */
    char md5[33], sha1[41], sha256[65];
    char mime[96];               /* by magic (libmagic), "" when unknown */
    char magic[160];             /* libmagic's description */
    char path[512];              /* where it was stored in the quarantine, "" if not */
} mm_sfile_info;

/* Start a file carried in direction dir of flow f (MM_C2S: the client sends it, an
 * upload).  action: "file-download", "file-upload", "mail-attachment"... name: as
 * declared (may be NULL/empty).  Returns NULL on out of memory (counted). */
mm_sfile *mm_sfile_open(mm_flow *f, int dir, const char *action, const void *name, size_t name_len);
/* The file event's linking fields (url.*, email.*, ftp.*...): a builder writing
 * into the file's own buffer; call it before close. */
mm_sev *mm_sfile_fields(mm_sfile *h);
void mm_sfile_write(mm_sfile *h, const void *p, size_t n);
void mm_sfile_gap(mm_sfile *h, size_t n);   /* marks it truncated */
/* Finish: hash, type by magic, store in the quarantine, emit the `file` event.
 * out (may be NULL) receives the result.  Frees h. */
void mm_sfile_close(mm_sfile *h, mm_sfile_info *out);

/* ---- related flows (FTP data channels) ---- */

/* The next flow from cli (any port) to srv:srv_port, opened within two minutes, is
 * analysed by `app`; its open() finds `arg` in f->expect_arg and owns it from then
 * on.  An expectation never met is dropped with release(arg) (may be NULL).
 * cli may be NULL: any client. */
void mm_sensor_expect(mm_flow *f, const mm_ip *cli, const mm_ip *srv, uint16_t srv_port,
                      const mm_analyzer *app, void *arg, void (*release)(void *arg));

/* ---- helpers shared by analyzers ---- */

/* ASCII case-insensitive: a[0..an) equals the C string b / starts with it. */
bool mm_ieq(const void *a, size_t an, const char *b);
bool mm_iprefix(const void *a, size_t an, const char *b);
/* Lower-case hex of n bytes into out (2n+1). */
void mm_hex(char *out, const uint8_t *p, size_t n);
/* Is the host part a literal IP address? */
bool mm_host_is_ip(const char *p, size_t n);
/* Novelty of a value for a host (User-Agent, protocol use): record that host used
 * value and tell whether it is new for this host while few other hosts (< max_hosts)
 * use it, after the host has been watched for the learning period.  Bounded tables;
 * old entries are forgotten first. */
bool mm_sensor_novel(mm_flow *f, const char *kind, const void *val, size_t n, int max_hosts);

#endif
