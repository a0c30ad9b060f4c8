/* pcap: packets into the sensor, the sensor's events into the pipeline.
 *
 * Offline (mamori ingest --pcap): pcap and pcapng files, or directories of them
 * (read in name order); each file is one capture with its own flow table, so the
 * times of unrelated captures never mix.  Live (input type pcap): `threads` capture
 * threads per interface (default 1), each with its own handle, sensor and feeder;
 * with several, Linux's PACKET_FANOUT hashes each flow (the same both ways) to one
 * of them, so one busy link uses several cores.  BPF filter, snaplen and kernel
 * buffer per interface; pcap_stats' kernel drops become counters.  The device is opened
 * in start, before `run` drops its privileges. */
#include "input.h"
#include "../sensor/sensor.h"

#include <dirent.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct sink {
    mm_feeder *f;
    const mm_source *src;
    const mm_decoder *dec;
    uint64_t dropped;
} sink;

static void emit(void *ctx, const char *json, size_t len, int64_t ts_ns) {
    sink *s = ctx;
    (void)ts_ns;
    if (mm_feeder_put(s->f, s->src, s->dec, json, len, mm_now_ns()) != MM_OK) s->dropped++;
}

static void add_stats(mm_sensor_stats *t, const mm_sensor_stats *s) {
    const uint64_t *a = (const uint64_t *)s;
    uint64_t *b = (uint64_t *)t;
    for (size_t i = 0; i < sizeof *s / sizeof(uint64_t); i++) b[i] += a[i];
}

/* Publish what a sensor counted since the last call into the process counters. */
static void publish(const mm_sensor_stats *now, mm_sensor_stats *last) {
    mm_count(MM_C_PCAP_PACKETS, now->packets - last->packets);
    mm_count(MM_C_SENSOR_DECODE_ERRORS, now->decode_errors - last->decode_errors);
    mm_count(MM_C_SENSOR_FLOWS, now->flows - last->flows);
    mm_count(MM_C_SENSOR_FLOWS_EVICTED, now->flows_evicted - last->flows_evicted);
    mm_count(MM_C_SENSOR_TCP_GAPS, now->tcp_gaps - last->tcp_gaps);
    mm_count(MM_C_SENSOR_TCP_OVERLAP_MISMATCH, now->tcp_overlap_mismatch - last->tcp_overlap_mismatch);
    mm_count(MM_C_SENSOR_STREAM_DROPPED, now->stream_dropped_bytes - last->stream_dropped_bytes);
    mm_count(MM_C_SENSOR_FRAG_DROPPED, now->frag_dropped - last->frag_dropped);
    mm_count(MM_C_SENSOR_APP_ERRORS, now->app_errors - last->app_errors);
    mm_count(MM_C_SENSOR_FILES, now->files - last->files);
    *last = *now;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool capture_name(const char *n) {
    const char *dot = strrchr(n, '.');
    return dot && (!strcasecmp(dot, ".pcap") || !strcasecmp(dot, ".pcapng") || !strcasecmp(dot, ".cap") ||
                   !strcasecmp(dot, ".dmp"));
}

/* One capture file through a fresh sensor. */
static int read_one(const char *path, const mm_sensor_opts *so, sink *sk, mm_sensor_stats *tot, mm_err *err) {
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, eb);
    if (!pc) {
        mm_err_set(err, "%s: %s", path, eb);
        return MM_EIO;
    }
    mm_sensor *s;
    if (mm_sensor_new(&s, so, emit, sk, err) != 0) {
        pcap_close(pc);
        return MM_EINVAL;
    }
    int dlt = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    mm_sensor_stats last = {0}, now;
    uint64_t n = 0;
    while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
        int64_t ts = (int64_t)h->ts.tv_sec * 1000000000LL + h->ts.tv_usec;   /* nano precision */
        mm_sensor_packet(s, dlt, ts, data, h->caplen, h->len);
        if ((++n & 0xffff) == 0) {
            mm_sensor_stats_get(s, &now);
            publish(&now, &last);
        }
    }
    int ret = 0;
    if (rc == PCAP_ERROR) {   /* a truncated file: what was read counts, the rest is named */
        mm_err_set(err, "%s: %s (read %llu packets)", path, pcap_geterr(pc), (unsigned long long)n);
        mm_count(MM_C_PCAP_FILE_ERRORS, 1);
        ret = MM_EIO;
    }
    mm_sensor_finish(s);
    mm_sensor_stats_get(s, &now);
    publish(&now, &last);
    add_stats(tot, &now);
    mm_sensor_free(s);
    pcap_close(pc);
    return ret;
}

int64_t mm_input_read_pcap(mm_pipeline *p, const mm_source *src, const mm_sensor_opts *so, char *const *paths,
                           int npaths, mm_sensor_stats *tot, mm_err *err) {
    const mm_decoder *dec = mm_decoder_find("ecs");
    mm_feeder *f = mm_feeder_new(p, true);
    sink sk = {f, src, dec, 0};
    mm_sensor_stats zero = {0};
    *tot = zero;
    err->msg[0] = 0;
    mm_err ferr = {{0}};
    for (int i = 0; i < npaths; i++) {
        struct stat st;
        if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(paths[i]);
            if (!d) {
                mm_err_set(err, "%s: cannot read the directory", paths[i]);
                continue;
            }
            char **names = NULL;
            size_t nn = 0, cap = 0;
            struct dirent *de;
            while ((de = readdir(d)))
                if (capture_name(de->d_name)) {
                    if (nn == cap) names = mm_xrealloc(names, (cap = cap ? cap * 2 : 16) * sizeof *names);
                    size_t l = strlen(paths[i]) + strlen(de->d_name) + 2;
                    names[nn] = mm_xmalloc(l);
                    snprintf(names[nn++], l, "%s/%s", paths[i], de->d_name);
                }
            closedir(d);
            if (nn) qsort(names, nn, sizeof *names, name_cmp);
            for (size_t k = 0; k < nn; k++) {
                if (read_one(names[k], so, &sk, tot, &ferr) != 0) *err = ferr;
                free(names[k]);
            }
            free(names);
        } else if (read_one(paths[i], so, &sk, tot, &ferr) != 0)
            *err = ferr;
    }
    mm_feeder_free(f);
    if (sk.dropped) mm_count(MM_C_QUEUE_DROPS, sk.dropped);
    return (int64_t)tot->packets;
}

/* ---------------------------------------------------------------- live */

typedef struct live {
    pcap_t *pc;
    mm_sensor *s;
    sink sk;
    pthread_t th;
    _Atomic bool stop;
    char *name;
    struct pcap_stat last_ps;
    mm_sensor_stats last;
    bool started;
    int index;                   /* thread number within the input */
} live;

static void on_packet(u_char *u, const struct pcap_pkthdr *h, const u_char *data) {
    live *l = (live *)u;
    int64_t ts = (int64_t)h->ts.tv_sec * 1000000000LL + (int64_t)h->ts.tv_usec * 1000LL;
    mm_sensor_packet(l->s, pcap_datalink(l->pc), ts, data, h->caplen, h->len);
}

static void live_stats(live *l) {
    struct pcap_stat ps;
    if (pcap_stats(l->pc, &ps) == 0) {
        if (ps.ps_drop >= l->last_ps.ps_drop) mm_count(MM_C_PCAP_KERNEL_DROPS, ps.ps_drop - l->last_ps.ps_drop);
        if (ps.ps_ifdrop >= l->last_ps.ps_ifdrop) mm_count(MM_C_PCAP_IF_DROPS, ps.ps_ifdrop - l->last_ps.ps_ifdrop);
        l->last_ps = ps;
    }
    mm_sensor_stats now;
    mm_sensor_stats_get(l->s, &now);
    publish(&now, &l->last);
}

static void *live_main(void *arg) {
    live *l = arg;
    int64_t last_tick = mm_mono_ns();
    while (!l->stop) {
        int n = pcap_dispatch(l->pc, 4096, on_packet, (u_char *)l);
        if (n == PCAP_ERROR) {
            mm_log(MM_LOG_ERROR, "pcap %s: %s", l->name, pcap_geterr(l->pc));
            break;
        }
        int64_t now = mm_mono_ns();
        if (now - last_tick >= 1000000000LL) {
            mm_sensor_tick(l->s, mm_now_ns());
            live_stats(l);
            mm_feeder_flush(l->sk.f);
            last_tick = now;
        }
        if (n == 0) mm_feeder_flush(l->sk.f);
    }
    mm_sensor_finish(l->s);
    live_stats(l);
    mm_feeder_flush(l->sk.f);
    return NULL;
}

/* One capture thread: its own handle, sensor and feeder. */
static int live_open(live *l, const mm_input_conf *c, const mm_source *src, mm_pipeline *p, int fanout_group,
                     int thread, mm_err *err) {
    char eb[PCAP_ERRBUF_SIZE];
    l->name = mm_xstrdup(c->interface);
    pcap_t *pc = pcap_create(c->interface, eb);
    if (!pc) {
        mm_err_set(err, "input %s: pcap %s: %s", c->name, c->interface, eb);
        return MM_EIO;
    }
    l->pc = pc;
    pcap_set_snaplen(pc, c->snaplen);
    pcap_set_promisc(pc, c->promisc);
    pcap_set_timeout(pc, 100);
    /* int bytes: a buffer of 2 GiB or more would overflow the shift */
    pcap_set_buffer_size(pc, c->buffer_mb >= 2048 ? 2047 << 20 : c->buffer_mb << 20);
    int rc = pcap_activate(pc);
    if (rc < 0) {
        mm_err_set(err, "input %s: cannot capture on %s: %s", c->name, c->interface, pcap_geterr(pc));
        return MM_EIO;
    }
    if (c->filter && *c->filter) {
        struct bpf_program prog;
        if (pcap_compile(pc, &prog, c->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            mm_err_set(err, "input %s: filter '%s': %s", c->name, c->filter, pcap_geterr(pc));
            return MM_EINVAL;
        }
        int frc = pcap_setfilter(pc, &prog);
        pcap_freecode(&prog);   /* the kernel (or libpcap) has its own copy */
        if (frc != 0) {
            mm_err_set(err, "input %s: filter '%s': %s", c->name, c->filter, pcap_geterr(pc));
            return MM_EINVAL;
        }
    }
    if (fanout_group >= 0) {
        /* the kernel spreads packets over the threads' sockets by a hash of the flow
         * that is the same both ways (and after defragmenting), so each thread's
         * sensor sees whole conversations */
        int v = (fanout_group & 0xffff) | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
        if (setsockopt(pcap_fileno(pc), SOL_PACKET, PACKET_FANOUT, &v, sizeof v) != 0) {
            mm_err_set(err, "input %s: %s: cannot spread the capture over %d threads (PACKET_FANOUT): %s", c->name,
                       c->interface, c->threads, strerror(errno));
            return MM_EIO;
        }
    }
    mm_sensor_opts so;
    mm_sensor_opts_from_conf(&so, c->sensor);
    so.interface = l->name;
    if (mm_sensor_new(&l->s, &so, emit, &l->sk, err) != 0) return MM_EINVAL;
    l->sk = (sink){mm_feeder_new(p, false), src, mm_decoder_find("ecs"), 0};
    if (pthread_create(&l->th, NULL, live_main, l) != 0) {
        mm_err_set(err, "input %s: cannot start capture thread %d", c->name, thread);
        mm_feeder_free(l->sk.f);
        l->sk.f = NULL;
        return MM_EIO;
    }
    l->started = true;
    l->index = thread;
    return 0;
}

static void live_close(live *l) {
    if (l->started) {
        l->stop = true;
        pcap_breakloop(l->pc);
        pthread_join(l->th, NULL);
        if (l->sk.dropped) mm_count(MM_C_QUEUE_DROPS, l->sk.dropped);
        mm_feeder_free(l->sk.f);
        mm_sensor_stats st;
        mm_sensor_stats_get(l->s, &st);
        mm_info("capture %s thread %d: %llu packets, %llu flows, %llu kernel drops", l->name, l->index,
                (unsigned long long)st.packets, (unsigned long long)st.flows, (unsigned long long)l->last_ps.ps_drop);
    }
    if (l->s) mm_sensor_free(l->s);
    if (l->pc) pcap_close(l->pc);
    free(l->name);
}

typedef struct live_input {
    int n;
    live t[];
} live_input;

int mm_input_pcap_start(void **st, const mm_input_conf *c, const mm_source *src, mm_pipeline *p, mm_err *err) {
    int n = c->threads > 0 ? c->threads : 1;
    live_input *li = mm_xcalloc(1, sizeof *li + (size_t)n * sizeof(live));
    li->n = n;
    static _Atomic int groups;
    int group = n > 1 ? (int)((getpid() * 31 + atomic_fetch_add(&groups, 1)) & 0xffff) : -1;
    for (int i = 0; i < n; i++)
        if (live_open(&li->t[i], c, src, p, group, i, err) != 0) {
            for (int k = 0; k <= i; k++) live_close(&li->t[k]);
            free(li);
            return MM_EIO;
        }
    *st = li;
    return 0;
}

void mm_input_pcap_stop(void *st) {
    live_input *li = st;
    for (int i = 0; i < li->n; i++) li->t[i].stop = true;
    for (int i = 0; i < li->n; i++) live_close(&li->t[i]);
    free(li);
}
