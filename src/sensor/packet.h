/* packet: link and network layer decoding (Ethernet, 802.1Q/QinQ, Linux cooked,
 * BSD loopback, raw IP; IPv4 with fragment reassembly, IPv6 with extension
 * headers) down to the transport header.  Bounds-checked; what does not decode is
 * counted by the caller. */
#ifndef MM_SENSOR_PACKET_H
#define MM_SENSOR_PACKET_H

#include "sensor_int.h"

typedef struct mm_pkt {
    mm_ip src, dst;
    uint8_t proto;              /* transport protocol */
    uint16_t sport, dport;      /* 0 for non TCP/UDP */
    uint16_t vlan;              /* innermost 802.1Q id, 0 if none */
    uint8_t tcp_flags;
    uint32_t seq, ack;
    const uint8_t *payload;     /* transport payload */
    uint32_t plen;
    uint32_t ip_len;            /* IP packet length (header + payload), as captured or reassembled */
    bool fragment_held;         /* a fragment was stored; nothing to analyse yet */
} mm_pkt;

enum { MM_TH_FIN = 0x01, MM_TH_SYN = 0x02, MM_TH_RST = 0x04, MM_TH_PSH = 0x08, MM_TH_ACK = 0x10, MM_TH_URG = 0x20 };

typedef struct mm_frag_table mm_frag_table;
mm_frag_table *mm_frag_new(size_t max_bytes);
void mm_frag_free(mm_frag_table *t);
/* Fragments older than 30 s (packet time) are dropped. */
void mm_frag_expire(mm_frag_table *t, int64_t now_ns, uint64_t *dropped);

/* ICMP/ICMPv6 (proto 1/58): the type answering `type` (echo -> echo reply...),
 * or -1 for a one-way message. */
int mm_icmp_counterpart(uint8_t proto, uint8_t type);

typedef enum { MM_PKT_OK, MM_PKT_NON_IP, MM_PKT_BAD, MM_PKT_HELD } mm_pkt_rc;

/* Decode one captured frame.  A reassembled datagram lives in `scratch` (owned by
 * the caller, reused) until the next call. */
mm_pkt_rc mm_pkt_decode(int linktype, const uint8_t *p, uint32_t n, int64_t ts_ns, mm_frag_table *ft,
                        mm_buf *scratch, mm_pkt *out, uint64_t *reassembled, uint64_t *frag_dropped);

#endif
