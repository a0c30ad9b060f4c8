/* libFuzzer target: raw captured frames through the whole sensor (link and IP
 * decoding, fragments, flows, reassembly, every analyzer).  Input: one byte that
 * picks the link type, then frames as [len16][bytes]. */
#include "../sensor_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int links[] = {1, 101, 113, 276, 0, 108, 228, 229};
    if (size < 1) return 0;
    int lt = links[data[0] % 8];
    mm_sensor_opts o = sh_opts();
    o.max_flows = 64;
    o.stream_flow_max = 4096;
    o.stream_total_max = 65536;
    o.frag_max = 65536;
    o.file_max = 1 << 16;
    mm_sensor *s = sh_sensor_make(&o, sh_fuzz_sink, NULL);
    size_t i = 1;
    int64_t ts = 1700000000LL * 1000000000LL;
    while (i + 2 <= size) {
        size_t n = (size_t)data[i] << 8 | data[i + 1];
        i += 2;
        if (n > size - i) n = size - i;
        uint8_t *pkt = malloc(n ? n : 1);   /* exact size: ASan sees any over-read */
        memcpy(pkt, data + i, n);
        mm_sensor_packet(s, lt, ts, pkt, (uint32_t)n, (uint32_t)n);
        free(pkt);
        i += n;
        ts += 1000000;
    }
    mm_sensor_finish(s);
    mm_sensor_free(s);
    return 0;
}
