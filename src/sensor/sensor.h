/* sensor: the network behaviour sensor (DESIGN.md §1, "packets").  Packets in,
 * ECS events out: flow records, one event per protocol transaction (DNS, HTTP,
 * TLS, SMTP, FTP, IRC, SSH) and one `file` event per file carried by HTTP, SMTP or
 * FTP.  The sensor does not know the pipeline: it hands each event, as one JSON
 * object with dotted ECS keys, to the emit callback; the capture input feeds them
 * to the pipeline through the `ecs` decoder like any other record.
 *
 * One mm_sensor owns one flow table and is used by one thread (a capture input
 * thread); two interfaces get two sensors.  Every memory use is capped by the
 * options and every cap that bites is counted (mm_sensor_stats). */
#ifndef MM_SENSOR_H
#define MM_SENSOR_H

#include "../core/core.h"

typedef struct mm_sensor mm_sensor;

typedef struct mm_sensor_opts {
    uint32_t max_flows;           /* flow table size cap (oldest idle evicted) */
    int64_t tcp_idle_ns;          /* flow ends after this long without packets */
    int64_t udp_idle_ns;
    int64_t active_ns;            /* long flows emit a record at least this often */
    size_t stream_flow_max;       /* out-of-order bytes held per TCP direction */
    size_t stream_total_max;      /* ... and for all flows */
    size_t frag_max;              /* bytes held for IP fragment reassembly */
    size_t file_max;              /* bytes of one file hashed and stored */
    const char *quarantine_dir;   /* NULL: files are hashed, not stored */
    uint64_t quarantine_max;      /* bytes kept in the quarantine (oldest removed) */
    const mm_cidr *home_net;      /* internal ranges (network.direction); NULL: private ranges */
    int nhome_net;
    int64_t learn_ns;             /* novelty: a host is learnt this long before its new values count */
    bool flow_events;             /* emit a flow record per flow (default on) */
    bool no_type_cache;           /* type every file with libmagic, even content seen before */
    const char *interface;        /* observer.ingress.interface.name, may be NULL */
} mm_sensor_opts;

void mm_sensor_opts_default(mm_sensor_opts *o);
/* Process-wide allocator setting for a process that runs sensors (call once, early):
 * flows, analyzer state and file buffers come and go by the hundred thousand per
 * second; a generous heap top pad stops glibc from handing memory back to the
 * kernel and faulting it in again (about 10% of the sensor's time otherwise). */
void mm_sensor_tune_malloc(void);
/* Defaults, then the `sensor` section of the configuration (c may be NULL). */
void mm_sensor_opts_from_conf(mm_sensor_opts *o, const mm_sensor_conf *c);

/* ts_ns: the event's time (packet time); json is one object, not NUL-terminated,
 * valid only during the call. */
typedef void (*mm_sensor_emit_fn)(void *ctx, const char *json, size_t len, int64_t ts_ns);

/* Returns 0, or <0 with err set (libmagic could not load, quarantine not writable). */
int mm_sensor_new(mm_sensor **out, const mm_sensor_opts *o, mm_sensor_emit_fn emit, void *ctx, mm_err *err);

/* One captured packet.  linktype: a pcap DLT_* value (EN10MB, RAW, LINUX_SLL,
 * LINUX_SLL2, NULL, LOOP, IPV4, IPV6); caplen bytes are at pkt, wirelen is the
 * length on the wire.  Time must not go backwards by much (older packets are
 * processed at the latest time seen). */
void mm_sensor_packet(mm_sensor *s, int linktype, int64_t ts_ns, const uint8_t *pkt,
                      uint32_t caplen, uint32_t wirelen);
/* Expire idle flows as of now_ns (packet time); capture inputs call it when idle. */
void mm_sensor_tick(mm_sensor *s, int64_t now_ns);
/* End of input: every flow ends and emits what it holds. */
void mm_sensor_finish(mm_sensor *s);
void mm_sensor_free(mm_sensor *s);

typedef struct mm_sensor_stats {
    uint64_t packets, bytes;
    uint64_t decode_errors;       /* truncated or malformed headers */
    uint64_t non_ip;              /* ARP, LLDP...: counted, not analysed */
    uint64_t frag_reassembled, frag_dropped;
    uint64_t flows, flows_evicted, flows_active;
    uint64_t tcp_gaps, tcp_gap_bytes, tcp_overlaps, tcp_overlap_mismatch;
    uint64_t stream_dropped_bytes;  /* out-of-order data over a memory cap */
    uint64_t events;
    uint64_t files, files_truncated, files_stored;
    uint64_t files_typed;         /* files typed by libmagic (the others: by the content cache) */
    uint64_t app_errors;          /* malformed application data, all analyzers */
} mm_sensor_stats;
void mm_sensor_stats_get(const mm_sensor *s, mm_sensor_stats *out);

#endif
