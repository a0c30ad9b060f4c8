/* bench_sensor: the packet sensor alone on one thread (issue #4's figures).
 *
 *   bench_sensor FILE.pcap     packets from the file (read into memory first, so
 *                              the disk is not measured) through one sensor with
 *                              every analyzer on; prints Gbit/s, packets/s and
 *                              events/s, and the sensor's counters
 *   bench_sensor --no-type-cache FILE.pcap
 *                              the same with every file typed by libmagic (the
 *                              replicated corpus repeats its files)
 *   bench_sensor --flows N     N concurrent TCP flows (handshake and a request
 *                              each, none closed): peak resident memory */
#include "sensor/sensor.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static uint64_t nevents, nbytes;
static void sink(void *ctx, const char *json, size_t len, int64_t ts) {
    (void)ctx, (void)json, (void)ts;
    nevents++;
    nbytes += len;
}

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) v = atol(line + 6);
    if (f) fclose(f);
    return v;
}

typedef struct rec {
    int64_t ts;
    uint32_t caplen, len;
} rec;

static int file_bench(const char *path, bool no_cache) {
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, eb);
    if (!pc) {
        fprintf(stderr, "bench_sensor: %s\n", eb);
        return 1;
    }
    int dlt = pcap_datalink(pc);
    size_t cap = 1 << 20, n = 0, rcap = 1 << 16, nr = 0;
    uint8_t *buf = malloc(cap);
    rec *r = malloc(rcap * sizeof *r);
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t wire = 0;
    while (pcap_next_ex(pc, &h, &d) == 1) {
        if (n + h->caplen > cap) {
            while (n + h->caplen > cap) cap *= 2;
            buf = realloc(buf, cap);
        }
        if (nr == rcap) r = realloc(r, (rcap *= 2) * sizeof *r);
        memcpy(buf + n, d, h->caplen);
        r[nr++] = (rec){(int64_t)h->ts.tv_sec * 1000000000LL + h->ts.tv_usec * 1000LL, h->caplen, h->len};
        n += h->caplen;
        wire += h->len;
    }
    pcap_close(pc);
    mm_sensor_opts o;
    mm_sensor_opts_default(&o);
    o.no_type_cache = no_cache;
    mm_sensor *s;
    mm_err err;
    if (mm_sensor_new(&s, &o, sink, NULL, &err) != 0) {
        fprintf(stderr, "bench_sensor: %s\n", err.msg);
        return 1;
    }
    int64_t t0 = mm_mono_ns();
    size_t off = 0;
    for (size_t i = 0; i < nr; i++) {
        mm_sensor_packet(s, dlt, r[i].ts, buf + off, r[i].caplen, r[i].len);
        off += r[i].caplen;
    }
    mm_sensor_finish(s);
    double secs = (double)(mm_mono_ns() - t0) / 1e9;
    mm_sensor_stats st;
    mm_sensor_stats_get(s, &st);
    const char *px = no_cache ? "sensor_nocache" : "sensor";
    if (no_cache) {   /* the same run with every file typed by libmagic */
        printf("%s_throughput %.2f Gbit/s\n", px, (double)wire * 8 / secs / 1e9);
        printf("%s_packets_per_second %.0f packets/s\n", px, (double)nr / secs);
        printf("%s_files_typed %llu files\n", px, (unsigned long long)st.files_typed);
        mm_sensor_free(s);
        free(buf);
        free(r);
        return 0;
    }
    printf("sensor_input_bytes %llu bytes\n", (unsigned long long)wire);
    printf("sensor_input_packets %zu packets\n", nr);
    printf("sensor_seconds %.3f s\n", secs);
    printf("sensor_throughput %.2f Gbit/s\n", (double)wire * 8 / secs / 1e9);
    printf("sensor_packets_per_second %.0f packets/s\n", (double)nr / secs);
    printf("sensor_events %llu events\n", (unsigned long long)nevents);
    printf("sensor_events_per_second %.0f events/s\n", (double)nevents / secs);
    printf("sensor_flows %llu flows\n", (unsigned long long)st.flows);
    printf("sensor_files %llu files\n", (unsigned long long)st.files);
    printf("sensor_files_typed %llu files (libmagic; the others by the content cache)\n",
           (unsigned long long)st.files_typed);
    printf("sensor_tcp_gaps %llu gaps\n", (unsigned long long)st.tcp_gaps);
    printf("sensor_app_errors %llu errors\n", (unsigned long long)st.app_errors);
    printf("sensor_peak_rss %.1f MiB\n", (double)rss_kb() / 1024);
    mm_sensor_free(s);
    free(buf);
    free(r);
    return 0;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v); }

static void tcp(mm_sensor *s, int64_t ts, uint32_t cli, uint16_t cport, uint32_t srv, uint16_t sport, bool back,
                uint32_t seq, uint32_t ack, uint8_t fl, const char *pl) {
    uint8_t p[14 + 20 + 20 + 128] = {0};
    size_t n = pl ? strlen(pl) : 0;
    p[12] = 0x08;
    uint8_t *ip = p + 14, *t = ip + 20;
    ip[0] = 0x45, ip[8] = 64, ip[9] = 6;
    put16(ip + 2, (uint16_t)(40 + n));
    put32(ip + 12, back ? srv : cli), put32(ip + 16, back ? cli : srv);
    put16(t, back ? sport : cport), put16(t + 2, back ? cport : sport);
    put32(t + 4, seq), put32(t + 8, ack);
    t[12] = 5 << 4, t[13] = fl;
    if (n) memcpy(t + 20, pl, n);
    mm_sensor_packet(s, 1, ts, p, (uint32_t)(54 + n), (uint32_t)(54 + n));
}

static int flows_bench(long nflows) {
    mm_sensor_opts o;
    mm_sensor_opts_default(&o);
    o.max_flows = (uint32_t)nflows + 16;
    mm_sensor *s;
    mm_err err;
    if (mm_sensor_new(&s, &o, sink, NULL, &err) != 0) {
        fprintf(stderr, "bench_sensor: %s\n", err.msg);
        return 1;
    }
    long before = rss_kb();
    int64_t ts = 1700000000LL * 1000000000LL;
    int64_t t0 = mm_mono_ns();
    for (long i = 0; i < nflows; i++) {
        uint32_t cli = 0x0a000000u | (uint32_t)(i >> 8), srv = 0xc6336400u | (uint32_t)(i & 0xff);
        uint16_t cp = (uint16_t)(1024 + i % 60000);
        ts += 1000;   /* 1M flows within one second: none idles out */
        tcp(s, ts, cli, cp, srv, 80, false, 1, 0, 0x02, NULL);
        tcp(s, ts, cli, cp, srv, 80, true, 9, 2, 0x12, NULL);
        tcp(s, ts, cli, cp, srv, 80, false, 2, 10, 0x18, "GET / HTTP/1.1\r\nHost: example.org\r\n");
    }
    double secs = (double)(mm_mono_ns() - t0) / 1e9;
    mm_sensor_stats st;
    mm_sensor_stats_get(s, &st);
    printf("flows_concurrent %llu flows\n", (unsigned long long)st.flows_active);
    printf("flows_setup_per_second %.0f flows/s\n", (double)nflows / secs);
    printf("flows_peak_rss %.1f MiB\n", (double)rss_kb() / 1024);
    printf("flows_rss_per_flow %.0f bytes\n", (double)(rss_kb() - before) * 1024 / (double)nflows);
    mm_sensor_free(s);
    return 0;
}

int main(int argc, char **argv) {
    mm_sensor_tune_malloc();   /* as `mamori` does */
    if (argc == 3 && !strcmp(argv[1], "--flows")) return flows_bench(atol(argv[2]));
    if (argc == 3 && !strcmp(argv[1], "--no-type-cache")) return file_bench(argv[2], true);
    if (argc != 2) {
        fprintf(stderr, "usage: bench_sensor [--no-type-cache] FILE.pcap | --flows N\n");
        return 2;
    }
    return file_bench(argv[1], false);
}
