/* The TCP syslog framer: RFC 6587 octet counting and newline framing, detected per
 * frame, whatever the chunking of the stream, with oversize and malformed frames
 * cut, counted and resynchronised. */
#define _GNU_SOURCE
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "input/input.h"
#include "store/store.h"

typedef struct frames {
    char **f;
    size_t *len;
    int n, cap;
} frames;

static void collect(void *ctx, const char *p, size_t n) {
    frames *fr = ctx;
    if (fr->n == fr->cap) {
        fr->cap = fr->cap ? fr->cap * 2 : 16;
        fr->f = realloc(fr->f, sizeof(char *) * (size_t)fr->cap);
        fr->len = realloc(fr->len, sizeof(size_t) * (size_t)fr->cap);
    }
    fr->f[fr->n] = malloc(n + 1);
    memcpy(fr->f[fr->n], p, n);
    fr->f[fr->n][n] = 0;
    fr->len[fr->n++] = n;
}

static void frames_free(frames *fr) {
    for (int i = 0; i < fr->n; i++) free(fr->f[i]);
    free(fr->f);
    free(fr->len);
    memset(fr, 0, sizeof *fr);
}

static bool frames_eq(const frames *a, const frames *b) {
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++)
        if (a->len[i] != b->len[i] || memcmp(a->f[i], b->f[i], a->len[i]) != 0) return false;
    return true;
}

/* Frames the whole of p[0..n) in one feed plus finish. */
static void frame_all(const char *p, size_t n, frames *out, mm_framer *keep) {
    mm_framer f;
    mm_framer_init(&f);
    mm_framer_feed(&f, p, n, collect, out);
    mm_framer_finish(&f, collect, out);
    if (keep) *keep = f;
    else mm_framer_free(&f);
}

#define FRAME(s, out, fr) frame_all((s), sizeof(s) - 1, (out), (fr))

static void newline_frames_strip_cr(void) {
    frames o = {0};
    FRAME("<13>one\n<13>two\r\n<13>three\n", &o, NULL);
    CHECK_INT(o.n, 3);
    CHECK_STR(o.f[0], "<13>one");
    CHECK_STR(o.f[1], "<13>two");
    CHECK_STR(o.f[2], "<13>three");
    frames_free(&o);
}

static void octet_counted_frames(void) {
    frames o = {0};
    mm_framer f;
    FRAME("11 <13>one two9 <13>three", &o, &f);
    CHECK_INT(o.n, 2);
    CHECK_STR(o.f[0], "<13>one two");
    CHECK_STR(o.f[1], "<13>three");
    CHECK_INT(f.frame_errors, 0);
    mm_framer_free(&f);
    frames_free(&o);
}

static void octet_counted_keeps_newlines_and_nul(void) {
    frames o = {0};
    FRAME("9 <1>a\nb\0c\r12 <1>next line", &o, NULL);
    CHECK_INT(o.n, 2);
    CHECK_INT(o.len[0], 9);
    CHECK(memcmp(o.f[0], "<1>a\nb\0c\r", 9) == 0);
    CHECK_STR(o.f[1], "<1>next line");
    frames_free(&o);
}

static void mixed_framing_per_frame(void) {
    frames o = {0};
    FRAME("5 <1>ab<2>newline\n6 <3>cde\n<4>last\n", &o, NULL);
    CHECK_INT(o.n, 4);
    CHECK_STR(o.f[0], "<1>ab");
    CHECK_STR(o.f[1], "<2>newline");
    CHECK_STR(o.f[2], "<3>cde");   /* the LF after it is an empty frame, skipped */
    CHECK_STR(o.f[3], "<4>last");
    frames_free(&o);
}

static void digits_without_space_are_newline_framed(void) {
    frames o = {0};
    mm_framer f;
    FRAME("2024-08-28 10:00:00 host msg\n123456789012 x\n42\n", &o, &f);
    CHECK_INT(o.n, 3);
    CHECK_STR(o.f[0], "2024-08-28 10:00:00 host msg");
    CHECK_STR(o.f[1], "123456789012 x");
    CHECK_STR(o.f[2], "42");
    CHECK_INT(f.frame_errors, 0);
    mm_framer_free(&f);
    frames_free(&o);
}

static void bad_octet_count_falls_back_to_newline(void) {
    frames o = {0};
    mm_framer f;
    FRAME("0 zero\n05 <1>lead\n9999999 <1>huge\n3 abc", &o, &f);
    CHECK_INT(o.n, 4);
    CHECK_STR(o.f[0], "0 zero");
    CHECK_STR(o.f[1], "05 <1>lead");
    CHECK_STR(o.f[2], "9999999 <1>huge");
    CHECK_STR(o.f[3], "abc");
    CHECK_INT(f.frame_errors, 3);
    mm_framer_free(&f);
    frames_free(&o);
}

static void empty_frames_are_skipped(void) {
    frames o = {0};
    mm_framer f;
    FRAME("\n\n\r\n\0\0<1>a\n\r\n", &o, &f);
    CHECK_INT(o.n, 1);
    CHECK_STR(o.f[0], "<1>a");
    CHECK_INT(f.frame_errors, 0);
    mm_framer_free(&f);
    frames_free(&o);
}

static void nul_terminates_newline_frames(void) {
    frames o = {0};
    FRAME("<1>a\0<1>b\n<1>c\0", &o, NULL);
    CHECK_INT(o.n, 3);
    CHECK_STR(o.f[0], "<1>a");
    CHECK_STR(o.f[1], "<1>b");
    CHECK_STR(o.f[2], "<1>c");
    frames_free(&o);
}

static void invalid_utf8_passes_through(void) {
    frames o = {0};
    FRAME("<1>\xff\xfe\xc3(\n4 \x80\x81\x82\x83", &o, NULL);
    CHECK_INT(o.n, 2);
    CHECK_INT(o.len[0], 7);
    CHECK(memcmp(o.f[0], "<1>\xff\xfe\xc3(", 7) == 0);
    CHECK_INT(o.len[1], 4);
    frames_free(&o);
}

static void exact_max_record_is_not_cut(void) {
    size_t n = MM_MAX_RECORD;
    char *s = malloc(n + 4);
    memset(s, 'x', n);
    memcpy(s + n, "\r\n", 2);
    frames o = {0};
    mm_framer f;
    frame_all(s, n + 2, &o, &f);
    CHECK_INT(o.n, 1);
    CHECK_INT(o.len[0], MM_MAX_RECORD);
    CHECK_INT(f.truncated, 0);
    mm_framer_free(&f);
    frames_free(&o);
    free(s);
}

static void oversize_newline_frame_is_cut_and_resynced(void) {
    size_t n = MM_MAX_RECORD + 5000;
    char *s = malloc(n + 32);
    memset(s, 'y', n);
    memcpy(s + n, "\n<1>ok\n", 7);
    uint64_t before = mm_counter_get(MM_C_LINES_TRUNCATED);
    frames o = {0};
    mm_framer f;
    frame_all(s, n + 7, &o, &f);
    CHECK_INT(o.n, 2);
    CHECK_INT(o.len[0], MM_MAX_RECORD);
    CHECK_STR(o.f[1], "<1>ok");
    CHECK_INT(f.truncated, 1);
    CHECK_INT(mm_counter_get(MM_C_LINES_TRUNCATED) - before, 1);
    mm_framer_free(&f);
    frames_free(&o);
    free(s);
}

static void oversize_octet_frame_is_skipped_by_its_count(void) {
    size_t body = MM_MAX_RECORD + 1234;
    char *s = malloc(body + 64);
    int h = sprintf(s, "%zu ", body);
    memset(s + h, 'z', body);
    memcpy(s + h + body, "6 <1>abc", 8);   /* next frame has no LF: only the count finds it */
    frames o = {0};
    mm_framer f;
    frame_all(s, (size_t)h + body + 8, &o, &f);
    CHECK_INT(o.n, 2);
    CHECK_INT(o.len[0], MM_MAX_RECORD);
    CHECK_STR(o.f[1], "<1>abc");
    CHECK_INT(f.truncated, 1);
    mm_framer_free(&f);
    frames_free(&o);
    free(s);
}

static void finish_flushes_unterminated_frames(void) {
    frames o = {0};
    mm_framer f;
    FRAME("<1>no newline", &o, NULL);
    CHECK_INT(o.n, 1);
    CHECK_STR(o.f[0], "<1>no newline");
    frames_free(&o);
    FRAME("20 <1>short", &o, &f);   /* stream ended inside a counted frame */
    CHECK_INT(o.n, 1);
    CHECK_STR(o.f[0], "<1>short");
    CHECK_INT(f.frame_errors, 1);
    mm_framer_free(&f);
    frames_free(&o);
    FRAME("1234", &o, NULL);
    CHECK_INT(o.n, 1);
    CHECK_STR(o.f[0], "1234");
    frames_free(&o);
}

/* A stream mixing every case above must frame identically however it is cut. */
static size_t build_stream(char *s) {
    size_t n = 0;
#define ADD(lit) (memcpy(s + n, (lit), sizeof(lit) - 1), n += sizeof(lit) - 1)
    ADD("12 <13>counted!");
    ADD("<14>newline frame\r\n");
    ADD("\n\n");
    ADD("0 bad count\n");
    ADD("7 <1>a\nb\0");
    ADD("<2>nul end\0");
    ADD("123456789 eight digits then space\n");
    ADD("2024-08-28 not counted\n");
    size_t big = MM_MAX_RECORD + 300;
    n += (size_t)sprintf(s + n, "%zu ", big);
    memset(s + n, 'b', big);
    n += big;
    ADD("5 <1>xy");
    memset(s + n, 'c', MM_MAX_RECORD + 10);
    n += MM_MAX_RECORD + 10;
    ADD("\r\n<3>after long\n");
    ADD("<4>tail without newline");
#undef ADD
    return n;
}

static void split_at_every_position(void) {
    char *s = malloc(3 * MM_MAX_RECORD);
    size_t n = build_stream(s);
    frames want = {0};
    frame_all(s, n, &want, NULL);
    CHECK_INT(want.n, 12);
    CHECK_STR(want.f[11], "<4>tail without newline");
    /* every split point near the interesting places, and a stride elsewhere */
    for (size_t cut = 0; cut <= n; cut += (cut < 400 || cut > n - 400 ||
                                            (cut > 65800 && cut < 66200) ||
                                            (cut > 131300 && cut < 131800)) ? 1 : 97) {
        mm_framer f;
        mm_framer_init(&f);
        frames got = {0};
        mm_framer_feed(&f, s, cut, collect, &got);
        mm_framer_feed(&f, s + cut, n - cut, collect, &got);
        mm_framer_finish(&f, collect, &got);
        bool same = frames_eq(&got, &want);
        if (!same) printf("# split at %zu: %d frames, want %d\n", cut, got.n, want.n);
        mm_framer_free(&f);
        frames_free(&got);
        CHECK(same);
    }
    /* byte by byte, and in random chunk sizes */
    for (int mode = 0; mode < 4; mode++) {
        mm_framer f;
        mm_framer_init(&f);
        frames got = {0};
        unsigned seed = 12345u + (unsigned)mode;
        for (size_t i = 0; i < n;) {
            seed = seed * 1103515245u + 12345u;
            size_t k = mode == 0 ? 1 : 1 + (seed >> 8) % (mode == 1 ? 7 : mode == 2 ? 4000 : 90000);
            if (k > n - i) k = n - i;
            mm_framer_feed(&f, s + i, k, collect, &got);
            i += k;
        }
        mm_framer_finish(&f, collect, &got);
        bool same = frames_eq(&got, &want);
        mm_framer_free(&f);
        frames_free(&got);
        CHECK(same);
    }
    frames_free(&want);
    free(s);
}

static void buffer_stays_bounded(void) {
    /* A peer that never sends a terminator costs at most one record of memory. */
    mm_framer f;
    mm_framer_init(&f);
    frames o = {0};
    char chunk[1000];
    memset(chunk, 'q', sizeof chunk);
    for (int i = 0; i < 2000; i++) mm_framer_feed(&f, chunk, sizeof chunk, collect, &o);
    CHECK(f.cap <= 2 * (size_t)MM_MAX_RECORD + 64);
    CHECK_INT(o.n, 1);
    CHECK(f.discarding);
    mm_framer_feed(&f, "\n<1>ok\n", 7, collect, &o);
    CHECK_INT(o.n, 2);
    CHECK_STR(o.f[1], "<1>ok");
    mm_framer_free(&f);
    frames_free(&o);
}


/* ---------------------------------------------------------------- listeners */

static char l_dir[64], l_db[128];

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool wait_counter(mm_counter c, uint64_t base, uint64_t n) {
    for (int i = 0; i < 500 && mm_counter_get(c) - base < n; i++) sleep_ms(10);
    return mm_counter_get(c) - base >= n;
}

typedef struct lrig {
    mm_store *store;
    mm_pipeline *p;
    mm_input *in;
    mm_input_conf c;
    mm_source_rule rule;
    mm_cidr allow[4];
} lrig;

/* What a test changes in the listener's configuration (zero: lrig's defaults). */
typedef struct lopts {
    int max_connections;
    int idle_timeout;
    const char *allow[4];
} lopts;

static int lrig_start_with(lrig *r, const char *proto, const char *listen, const lopts *lo,
                           mm_err *err);

static int lrig_start(lrig *r, const char *proto, const char *listen, mm_err *err) {
    return lrig_start_with(r, proto, listen, NULL, err);
}

static int lrig_start_with(lrig *r, const char *proto, const char *listen, const lopts *lo,
                           mm_err *err) {
    memset(r, 0, sizeof *r);
    snprintf(l_dir, sizeof l_dir, "/tmp/mm_syslog_XXXXXX");
    if (!mkdtemp(l_dir)) exit(2);
    snprintf(l_db, sizeof l_db, "%s/mamori.db", l_dir);
    if (mm_store_open(&r->store, l_db, err) != 0) exit(2);
    mm_pipeline_opts o = {.workers = 2, .store_events = true, .batch_rows = 500, .batch_ms = 20};
    if (mm_pipeline_start(&r->p, &o, r->store, NULL, err) != 0) exit(2);
    mm_cidr_parse(MM_STR("127.0.0.0/8"), &r->rule.match);
    r->rule.src = (mm_source){"sl", "loopback-city", "lgwan", "fortigate"};
    r->c = (mm_input_conf){.name = "sl", .type = MM_IN_SYSLOG, .format = "fortigate",
                           .tenant = "default-city", .segment = "internet",
                           .protocol = (char *)proto, .listen = (char *)listen,
                           .rcvbuf = 4 * 1024 * 1024, .max_connections = 4,
                           .sources = &r->rule, .nsources = 1};
    if (lo) {
        if (lo->max_connections) r->c.max_connections = lo->max_connections;
        r->c.idle_timeout = lo->idle_timeout;
        r->c.allow = r->allow;
        for (int i = 0; i < 4 && lo->allow[i]; i++)
            if (!mm_cidr_parse(mm_str_c(lo->allow[i]), &r->allow[r->c.nallow++])) exit(2);
    }
    return mm_input_start(&r->in, &r->c, r->p, err);
}

static void lrig_stop(lrig *r) {
    mm_input_stop(r->in);
    mm_pipeline_finish(r->p);
    mm_input_free(r->in);   /* its records pointed at its source until now */
    mm_pipeline_free(r->p);
    mm_store_close(r->store);
}

typedef struct tally {
    int64_t n, tagged, fgt;
    mm_buf *raw;             /* when set: every stored record, one a line */
} tally;

static int tally_cb(void *ctx, const mm_stored_event *e) {
    tally *t = ctx;
    t->n++;
    if (t->raw) {
        mm_buf_put(t->raw, e->raw.p, e->raw.len);
        mm_buf_putc(t->raw, '\n');
    }
    if (e->tenant && strcmp(e->tenant, "loopback-city") == 0 && e->segment &&
        strcmp(e->segment, "lgwan") == 0)
        t->tagged++;
    if (memmem(e->raw.p, e->raw.len, "devname=", 8)) t->fgt++;
    return 0;
}

static tally lrig_tally_raw(mm_buf *raw) {
    tally t = {.raw = raw};
    mm_store *st;
    mm_err err = {{0}};
    if (mm_store_open(&st, l_db, &err) != 0) exit(2);
    mm_event_filter f = {0};
    mm_store_events_each(st, &f, tally_cb, &t);
    mm_store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", l_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", l_dir);
    return t;
}

static tally lrig_tally(void) { return lrig_tally_raw(NULL); }

static const char fgt_msg[] =
    "<189>date=2024-08-28 time=10:15:02 devname=\"FGT60F\" devid=\"FGT60FTK22000001\" "
    "logid=\"0419016384\" type=\"utm\" subtype=\"ips\" eventtype=\"signature\" level=\"alert\" "
    "severity=\"critical\" srcip=198.51.100.23 dstip=10.0.1.15 action=\"dropped\" "
    "attack=\"Apache.Log4j.Error.Log.Remote.Code.Execution\"";

static void udp_datagrams_reach_the_store_tagged_by_sender(void) {
    lrig r;
    mm_err err = {{0}};
    CHECK(lrig_start(&r, "udp", "127.0.0.1:0", &err) == 0);
    int port = mm_input_port(r.in);
    CHECK(port > 0);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint64_t rx = mm_counter_get(MM_C_SYSLOG_UDP_RX), fe = mm_counter_get(MM_C_SYSLOG_FRAME_ERRORS);
    for (int i = 0; i < 2000; i++) {
        CHECK(sendto(fd, fgt_msg, sizeof fgt_msg - 1, 0, (struct sockaddr *)&to, sizeof to) > 0);
        if (i % 200 == 199) sleep_ms(5);
    }
    /* hostile datagrams: empty, NULs and a newline only, invalid UTF-8, 60 KB */
    sendto(fd, "", 0, 0, (struct sockaddr *)&to, sizeof to);
    sendto(fd, "\n\0\r", 3, 0, (struct sockaddr *)&to, sizeof to);
    sendto(fd, "<13>\xff\xfe\x00\x01 bad", 12, 0, (struct sockaddr *)&to, sizeof to);
    char *big = malloc(60000);
    memset(big, 'A', 60000);
    sendto(fd, big, 60000, 0, (struct sockaddr *)&to, sizeof to);
    free(big);
    close(fd);
    CHECK(wait_counter(MM_C_SYSLOG_UDP_RX, rx, 2004));
    lrig_stop(&r);
    CHECK_INT(mm_counter_get(MM_C_SYSLOG_FRAME_ERRORS) - fe, 2);
    tally t = lrig_tally();
    CHECK_INT(t.n, 2002);
    CHECK_INT(t.tagged, 2002);
    CHECK_INT(t.fgt, 2000);
}

static int tcp_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void tcp_streams_are_framed(void) {
    lrig r;
    mm_err err = {{0}};
    CHECK(lrig_start(&r, "tcp", "127.0.0.1:0", &err) == 0);
    int port = mm_input_port(r.in);
    CHECK(port > 0);
    uint64_t conns = mm_counter_get(MM_C_SYSLOG_TCP_CONNS), rx = mm_counter_get(MM_C_SYSLOG_TCP_RX);
    /* connection 1: octet counting, written in awkward pieces */
    int a = tcp_connect(port);
    CHECK(a >= 0);
    char frame[1024];
    int n = snprintf(frame, sizeof frame, "%zu %s", sizeof fgt_msg - 1, fgt_msg);
    for (int i = 0; i < 100; i++) {
        CHECK(write(a, frame, 7) == 7);
        CHECK(write(a, frame + 7, (size_t)n - 7) == n - 7);
    }
    /* connection 2, at the same time: newline framing with CRLF, then garbage */
    int b = tcp_connect(port);
    CHECK(b >= 0);
    for (int i = 0; i < 100; i++) {
        CHECK(write(b, fgt_msg, sizeof fgt_msg - 1) == (ssize_t)sizeof fgt_msg - 1);
        CHECK(write(b, "\r\n", 2) == 2);
    }
    CHECK(write(b, "0 bad count\n\n\n", 14) == 14);
    close(a);
    CHECK(wait_counter(MM_C_SYSLOG_TCP_RX, rx, 201));
    /* an unterminated last frame still arrives when the peer closes */
    CHECK(write(b, fgt_msg, sizeof fgt_msg - 1) == (ssize_t)sizeof fgt_msg - 1);
    close(b);
    CHECK(wait_counter(MM_C_SYSLOG_TCP_RX, rx, 202));
    lrig_stop(&r);
    CHECK_INT(mm_counter_get(MM_C_SYSLOG_TCP_CONNS) - conns, 2);
    tally t = lrig_tally();
    CHECK_INT(t.n, 202);
    CHECK_INT(t.fgt, 201);
    CHECK_INT(t.tagged, 202);
}

static void tcp_connection_limit_and_stop_with_open_peers(void) {
    lrig r;
    mm_err err = {{0}};
    CHECK(lrig_start(&r, "tcp", "[::1]:0", &err) == 0 || lrig_start(&r, "tcp", "127.0.0.1:0", &err) == 0);
    int port = mm_input_port(r.in);
    uint64_t lim = mm_counter_get(MM_C_SYSLOG_TCP_LIMIT_REFUSED);
    uint64_t ev = mm_counter_get(MM_C_SYSLOG_TCP_EVICTED);
    int fds[6];
    for (int i = 0; i < 6; i++) {
        int fd = socket(strchr(r.c.listen, '[') ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
        if (strchr(r.c.listen, '[')) {
            struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                                      .sin6_addr = IN6ADDR_LOOPBACK_INIT};
            CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
        } else {
            struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
            to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
        }
        fds[i] = fd;
        CHECK(write(fd, "<1>half a fr", 12) == 12);
    }
    sleep_ms(100);
    /* every open one is active (data less than a second ago): the new ones wait out */
    CHECK_INT(mm_counter_get(MM_C_SYSLOG_TCP_LIMIT_REFUSED) - lim, 2);
    CHECK_INT(mm_counter_get(MM_C_SYSLOG_TCP_EVICTED) - ev, 0);
    lrig_stop(&r);   /* must not hang on peers that never finish */
    for (int i = 0; i < 6; i++) close(fds[i]);
    tally t = lrig_tally();
    CHECK_INT(t.n, 4);   /* max_connections: the two extra were refused */
}

/* A socket to the listener on 127.0.0.1:port, sent from `from` (any 127.x address is
 * this host's), connected (TCP) or aimed (UDP). */
static int connect_from(const char *from, int port, int type) {
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in me = {.sin_family = AF_INET};
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || inet_pton(AF_INET, from, &me.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&me, sizeof me) < 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static bool send_str(int fd, const char *s) {
    size_t n = strlen(s);
    return send(fd, s, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* True when the listener closed fd (EOF or reset) within ms. */
static bool closed_by_peer(int fd, int ms) {
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, ms) <= 0) return false;
        char b[256];
        ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno == ECONNRESET)) return true;
        if (r < 0 && errno != EAGAIN && errno != EINTR) return false;
    }
}

static void tcp_idle_connections_are_closed(void) {
    lrig r;
    mm_err err = {{0}};
    lopts lo = {.idle_timeout = 1};
    CHECK(lrig_start_with(&r, "tcp", "127.0.0.1:0", &lo, &err) == 0);
    int port = mm_input_port(r.in);
    uint64_t idle = mm_counter_get(MM_C_SYSLOG_TCP_IDLE_CLOSED);
    int quiet = connect_from("127.0.0.1", port, SOCK_STREAM);
    int busy = connect_from("127.0.0.1", port, SOCK_STREAM);
    CHECK(quiet >= 0 && busy >= 0);
    CHECK(send_str(quiet, "<1>unfinished"));
    /* busy sends a record every 300 ms: never a second without data */
    for (int i = 0; i < 6; i++) {
        CHECK(send_str(busy, "<1>busy\n"));
        sleep_ms(300);
    }
    CHECK(closed_by_peer(quiet, 2000));
    CHECK(!closed_by_peer(busy, 0));
    CHECK_INT(mm_counter_get(MM_C_SYSLOG_TCP_IDLE_CLOSED) - idle, 1);
    /* and busy too, once it falls silent */
    CHECK(closed_by_peer(busy, 3000));
    CHECK_INT(mm_counter_get(MM_C_SYSLOG_TCP_IDLE_CLOSED) - idle, 2);
    close(quiet);
    close(busy);
    lrig_stop(&r);
    mm_buf raw = {0};
    tally t = lrig_tally_raw(&raw);
    bool unfinished = strstr(mm_buf_cstr(&raw), "<1>unfinished\n") != NULL;
    mm_buf_free(&raw);
    CHECK_INT(t.n, 7);
    CHECK(unfinished);   /* the idle peer's unterminated frame was delivered at close */
}

static void udp_allow_list_refuses_other_senders(void) {
    lrig r;
    mm_err err = {{0}};
    lopts lo = {.allow = {"192.0.2.0/24", "127.0.0.2"}};
    CHECK(lrig_start_with(&r, "udp", "127.0.0.1:0", &lo, &err) == 0);
    int port = mm_input_port(r.in);
    uint64_t rx = mm_counter_get(MM_C_SYSLOG_UDP_RX), ref = mm_counter_get(MM_C_SYSLOG_REFUSED);
    int stranger = connect_from("127.0.0.1", port, SOCK_DGRAM);
    int allowed = connect_from("127.0.0.2", port, SOCK_DGRAM);
    CHECK(stranger >= 0 && allowed >= 0);
    for (int i = 0; i < 10; i++) CHECK(send(stranger, fgt_msg, sizeof fgt_msg - 1, 0) > 0);
    for (int i = 0; i < 5; i++) CHECK(send(allowed, fgt_msg, sizeof fgt_msg - 1, 0) > 0);
    CHECK(wait_counter(MM_C_SYSLOG_UDP_RX, rx, 15));
    CHECK(wait_counter(MM_C_SYSLOG_REFUSED, ref, 10));
    close(stranger);
    close(allowed);
    lrig_stop(&r);
    CHECK_INT(mm_counter_get(MM_C_SYSLOG_REFUSED) - ref, 10);
    tally t = lrig_tally();
    CHECK_INT(t.n, 5);
    CHECK_INT(t.fgt, 5);
}

static void tcp_allow_list_refuses_other_senders(void) {
    lrig r;
    mm_err err = {{0}};
    lopts lo = {.allow = {"127.0.0.2/32"}};
    /* every address: a dual-stack socket sees v4 peers as ::ffff:a.b.c.d */
    CHECK(lrig_start_with(&r, "tcp", ":0", &lo, &err) == 0);
    int port = mm_input_port(r.in);
    uint64_t rx = mm_counter_get(MM_C_SYSLOG_TCP_RX), ref = mm_counter_get(MM_C_SYSLOG_REFUSED);
    uint64_t conns = mm_counter_get(MM_C_SYSLOG_TCP_CONNS);
    int stranger = connect_from("127.0.0.1", port, SOCK_STREAM);
    CHECK(stranger >= 0);
    send_str(stranger, "<1>from a stranger\n");   /* may already fail: refused */
    CHECK(closed_by_peer(stranger, 2000));
    int allowed = connect_from("127.0.0.2", port, SOCK_STREAM);
    CHECK(allowed >= 0);
    for (int i = 0; i < 3; i++) CHECK(send_str(allowed, "<1>from the firewall\n"));
    close(allowed);
    CHECK(wait_counter(MM_C_SYSLOG_TCP_RX, rx, 3));
    close(stranger);
    lrig_stop(&r);
    CHECK_INT(mm_counter_get(MM_C_SYSLOG_REFUSED) - ref, 1);
    CHECK_INT(mm_counter_get(MM_C_SYSLOG_TCP_CONNS) - conns, 1);
    mm_buf raw = {0};
    tally t = lrig_tally_raw(&raw);
    bool stranger_stored = strstr(mm_buf_cstr(&raw), "stranger") != NULL;
    mm_buf_free(&raw);
    CHECK_INT(t.n, 3);
    CHECK(!stranger_stored);
}

/* Idle peers (a rebooted firewall's half-open sockets, a port scanner) must not lock
 * the listener: at max_connections the longest idle connection makes room. */
static void tcp_limit_closes_the_longest_idle_connection(void) {
    lrig r;
    mm_err err = {{0}};
    lopts lo = {.max_connections = 2};   /* and no idle timeout */
    CHECK(lrig_start_with(&r, "tcp", "127.0.0.1:0", &lo, &err) == 0);
    int port = mm_input_port(r.in);
    uint64_t rx = mm_counter_get(MM_C_SYSLOG_TCP_RX), ev = mm_counter_get(MM_C_SYSLOG_TCP_EVICTED);
    uint64_t lim = mm_counter_get(MM_C_SYSLOG_TCP_LIMIT_REFUSED);
    int a = connect_from("127.0.0.1", port, SOCK_STREAM);
    CHECK(a >= 0);
    CHECK(send_str(a, "<1>stale-a"));
    sleep_ms(200);
    int b = connect_from("127.0.0.1", port, SOCK_STREAM);
    CHECK(b >= 0);
    CHECK(send_str(b, "<1>stale-b"));
    sleep_ms(1300);   /* both silent for over a second; a the longest */
    int c = connect_from("127.0.0.1", port, SOCK_STREAM);   /* the firewall, reconnecting */
    CHECK(c >= 0);
    char line[64];
    for (int i = 0; i < 5; i++) {
        snprintf(line, sizeof line, "<1>fortigate-%d\n", i);
        CHECK(send_str(c, line));
    }
    CHECK(wait_counter(MM_C_SYSLOG_TCP_RX, rx, 6));   /* a's unfinished frame + c's five */
    CHECK(closed_by_peer(a, 2000));
    CHECK(!closed_by_peer(b, 0));
    CHECK(send_str(b, "-done\n"));
    CHECK(wait_counter(MM_C_SYSLOG_TCP_RX, rx, 7));
    CHECK_INT(mm_counter_get(MM_C_SYSLOG_TCP_EVICTED) - ev, 1);
    CHECK_INT(mm_counter_get(MM_C_SYSLOG_TCP_LIMIT_REFUSED) - lim, 0);
    close(a);
    close(b);
    close(c);
    lrig_stop(&r);
    mm_buf raw = {0};
    tally t = lrig_tally_raw(&raw);
    const char *all = mm_buf_cstr(&raw);
    bool ok = strstr(all, "<1>stale-a\n") && strstr(all, "<1>stale-b-done\n") &&
              strstr(all, "<1>fortigate-0\n") && strstr(all, "<1>fortigate-4\n");
    if (!ok) printf("# stored:\n%s", all);
    mm_buf_free(&raw);
    CHECK_INT(t.n, 7);
    CHECK(ok);
}

static void listen_errors_are_reported_at_start(void) {
    lrig r;
    mm_err err = {{0}};
    CHECK(lrig_start(&r, "tcp", "127.0.0.1:0", &err) == 0);
    char taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%d", mm_input_port(r.in));
    mm_input_conf c2 = r.c;
    c2.listen = taken;
    mm_input *in2 = NULL;
    CHECK(mm_input_start(&in2, &c2, r.p, &err) < 0);
    CHECK(in2 == NULL);
    CHECK(strstr(err.msg, "cannot listen") != NULL);
    static const char *const bad[] = {"nonsense", "1.2.3.4:", "::1:514", "[::1]514", "1.2.3.4:99999",
                                      "1.2.3.4:-1"};
    for (size_t i = 0; i < MM_ARRAY_LEN(bad); i++) {
        c2.listen = (char *)bad[i];
        err.msg[0] = 0;
        CHECK(mm_input_start(&in2, &c2, r.p, &err) < 0);
        CHECK(err.msg[0] != 0);
    }
    c2.listen = "127.0.0.1:0";
    c2.format = "no-such-decoder";
    CHECK(mm_input_start(&in2, &c2, r.p, &err) < 0);
    CHECK(strstr(err.msg, "no-such-decoder") != NULL);
    lrig_stop(&r);
    lrig_tally();
}

int main(void) {
    mm_log_set_level(MM_LOG_WARN);
    TEST(newline_frames_strip_cr);
    TEST(octet_counted_frames);
    TEST(octet_counted_keeps_newlines_and_nul);
    TEST(mixed_framing_per_frame);
    TEST(digits_without_space_are_newline_framed);
    TEST(bad_octet_count_falls_back_to_newline);
    TEST(empty_frames_are_skipped);
    TEST(nul_terminates_newline_frames);
    TEST(invalid_utf8_passes_through);
    TEST(exact_max_record_is_not_cut);
    TEST(oversize_newline_frame_is_cut_and_resynced);
    TEST(oversize_octet_frame_is_skipped_by_its_count);
    TEST(finish_flushes_unterminated_frames);
    TEST(split_at_every_position);
    TEST(buffer_stays_bounded);
    TEST(udp_datagrams_reach_the_store_tagged_by_sender);
    TEST(tcp_streams_are_framed);
    TEST(tcp_connection_limit_and_stop_with_open_peers);
    TEST(tcp_idle_connections_are_closed);
    TEST(udp_allow_list_refuses_other_senders);
    TEST(tcp_allow_list_refuses_other_senders);
    TEST(tcp_limit_closes_the_longest_idle_connection);
    TEST(listen_errors_are_reported_at_start);
    TEST_MAIN_END();
}
