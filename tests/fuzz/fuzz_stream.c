/* libFuzzer target: TCP and UDP flows with valid headers and fuzzed payloads,
 * sequence numbers and flags, so reassembly (holes, overlaps, retransmissions,
 * caps) and the analyzers behind content detection get exercised.
 * Input: [port selector][proto] then segments [dir|flags][seq delta16][len8][bytes]. */
#include "../sensor_harness.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint16_t ports[] = {80, 443, 25, 21, 22, 6667, 53, 8000, 12345, 587, 8080, 20};
    if (size < 2) return 0;
    uint16_t sport = ports[data[0] % 12];
    bool udp = data[1] & 1;
    mm_sensor_opts o = sh_opts();
    o.stream_flow_max = 2048;
    o.stream_total_max = 8192;
    o.file_max = 1 << 15;
    mm_sensor *s = sh_sensor_make(&o, sh_fuzz_sink, NULL);
    uint32_t seq[2] = {1000, 500000};
    int64_t ts = 1700000000LL * 1000000000LL;
    size_t i = 2;
    uint8_t pkt[14 + 20 + 20 + 256];
    while (i + 4 <= size) {
        int dir = data[i] >> 7;
        uint8_t flags = data[i] & 0x3f;
        int16_t delta = (int16_t)(data[i + 1] << 8 | data[i + 2]);
        size_t n = data[i + 3];
        i += 4;
        if (n > size - i) n = size - i;
        memset(pkt, 0, 34);
        pkt[12] = 0x08, pkt[13] = 0x00;
        uint8_t *ip = pkt + 14;
        ip[0] = 0x45, ip[8] = 64, ip[9] = udp ? 17 : 6;
        uint8_t a[4] = {10, 0, 0, 1}, b[4] = {93, 184, 216, 34};
        memcpy(ip + 12, dir ? b : a, 4);
        memcpy(ip + 16, dir ? a : b, 4);
        uint8_t *l4 = ip + 20;
        uint16_t cp = 40000, spp = sport;
        size_t hl = udp ? 8 : 20;
        memset(l4, 0, hl);
        put16(l4, dir ? spp : cp);
        put16(l4 + 2, dir ? cp : spp);
        if (udp) put16(l4 + 4, (uint16_t)(8 + n));
        else {
            seq[dir] += (uint32_t)(int32_t)delta;
            put32(l4 + 4, seq[dir]);
            put32(l4 + 8, seq[!dir]);
            l4[12] = 5 << 4;
            l4[13] = flags;
        }
        memcpy(l4 + hl, data + i, n);
        put16(ip + 2, (uint16_t)(20 + hl + n));
        size_t tot = 14 + 20 + hl + n;
        mm_sensor_packet(s, 1, ts, pkt, (uint32_t)tot, (uint32_t)tot);
        if (!udp && !(flags & 0x02)) seq[dir] += (uint32_t)n;
        i += n;
        ts += 1000000;
    }
    mm_sensor_finish(s);
    mm_sensor_free(s);
    return 0;
}
