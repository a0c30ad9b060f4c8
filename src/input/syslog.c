/* input/syslog: UDP and TCP syslog listeners and the TCP framer.
 *
 * The listener only frames: one UDP datagram is one record, a TCP stream is cut into
 * records by mm_framer (RFC 6587).  The syslog header is parsed later, in the decode
 * stage, so a malformed header never costs the listener anything.  Each record is
 * stamped with the input's source, or with the first `sources` rule whose CIDR holds
 * the sender.
 *
 * UDP has to keep up with bursts (100k msgs/s) without losing anything: a large
 * receive buffer (SO_RCVBUFFORCE when we may, else SO_RCVBUF up to rmem_max), batches
 * of recvmmsg(), a feeder that never blocks (a full worker queue is a counted drop,
 * not a stalled socket) and SO_RXQ_OVFL so the kernel tells us what it dropped.
 *
 * TCP is one poll() loop over the listener and the connections, with a feeder that
 * blocks: when the workers fall behind we stop reading and TCP's own flow control
 * pushes back on the senders.
 *
 * Connections are a bounded resource that anyone who can reach the port could hold:
 * `allow` refuses other senders outright (UDP datagrams too), a connection silent
 * for `idle_timeout` is closed, and at max_connections the connection silent the
 * longest makes room for the new one, so a firewall reconnecting after a reboot wins
 * over its own half-open sockets and over idle strangers.  Only connections silent
 * for a while are closed that way: cutting an active sender would only make it
 * reconnect and cut another.  Before a connection is closed for being idle, whatever
 * it sent is read (it may have arrived while the feeder was blocked) and its
 * unfinished frame is delivered. */
#define _GNU_SOURCE
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---------------------------------------------------------------- framer */

/* Framing choices (RFC 6587 leaves them to the receiver):
 *  - A frame that starts with a digit 1-9, at most 7 digits, then a space is
 *    octet-counted.  A count of 0, a leading zero, or a count above FRAMER_MAX_COUNT
 *    is a bad count: counted as a frame error, and that frame is taken as a
 *    newline-terminated one (the digits are part of it).
 *  - Otherwise the frame ends at LF or NUL (old BSD senders terminate with NUL);
 *    one CR before the LF is dropped.  Empty frames (keep-alive newlines, an LF after
 *    an octet-counted frame) are skipped silently.
 *  - Oversize frames are cut at MM_MAX_RECORD and counted (truncated and frame
 *    error).  An octet-counted one is skipped exactly by its count, so the stream
 *    stays in step; a newline one is skipped up to the next LF or NUL.
 *  - Octet-counted frames are taken byte for byte: NUL, CR, LF and invalid UTF-8
 *    inside them are kept (the raw record is evidence; output escapes them).
 * The buffer never holds more than one incomplete frame's head (MM_MAX_RECORD plus
 * the count), whatever the sender does, so a hostile peer costs at most that. */
#define FRAMER_MAX_DIGITS 7
#define FRAMER_MAX_COUNT ((size_t)16 * MM_MAX_RECORD)
#define FRAMER_BUF_MAX ((size_t)MM_MAX_RECORD + 16)

typedef void (*frame_fn)(void *ctx, const char *frame, size_t len);

void mm_framer_init(mm_framer *f) { memset(f, 0, sizeof *f); }

void mm_framer_free(mm_framer *f) {
    free(f->buf);
    memset(f, 0, sizeof *f);
}

static void framer_error(mm_framer *f) {
    f->frame_errors++;
    mm_count(MM_C_SYSLOG_FRAME_ERRORS, 1);
}

static void framer_truncated(mm_framer *f) {
    f->truncated++;
    mm_count(MM_C_LINES_TRUNCATED, 1);
    framer_error(f);
}

static const char *find_term(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\n' || p[i] == '\0') return p + i;
    return NULL;
}

/* Frames in d[0..n); returns the bytes consumed.  What is left is the head of an
 * incomplete frame (at most FRAMER_BUF_MAX - 1 bytes): when `eof`, it is emitted as
 * the last frame instead. */
static size_t framer_run(mm_framer *f, const char *d, size_t n, bool eof, frame_fn fn, void *ctx) {
    size_t pos = 0;
    /* A sender trickling a long line byte by byte must not make us rescan it on
     * every read: the buffered head's terminator search resumes where it stopped. */
    size_t hint = f->scanned;
    f->scanned = 0;
    while (pos < n) {
        if (f->skip) {
            size_t k = n - pos < f->skip ? n - pos : f->skip;
            pos += k;
            f->skip -= k;
            continue;
        }
        if (f->discarding) {
            const char *t = find_term(d + pos, n - pos);
            if (!t) return n;
            pos = (size_t)(t - d) + 1;
            f->discarding = false;
            continue;
        }
        const char *s = d + pos;
        size_t avail = n - pos;
        if (*s >= '0' && *s <= '9') {
            size_t j = 0;
            while (j < avail && j <= FRAMER_MAX_DIGITS && s[j] >= '0' && s[j] <= '9') j++;
            if (j == avail && j <= FRAMER_MAX_DIGITS) {
                if (!eof) return pos;        /* the count may go on */
            } else if (j <= FRAMER_MAX_DIGITS && s[j] == ' ') {
                size_t count = 0;
                for (size_t k = 0; k < j; k++) count = count * 10 + (size_t)(s[k] - '0');
                if (s[0] == '0' || count == 0 || count > FRAMER_MAX_COUNT) {
                    framer_error(f);         /* taken as a newline frame below */
                } else {
                    size_t body = avail - j - 1;
                    size_t keep = count > MM_MAX_RECORD ? (size_t)MM_MAX_RECORD : count;
                    if (body < keep) {
                        if (!eof) return pos;
                        framer_error(f);     /* stream ended inside the frame */
                        if (body) fn(ctx, s + j + 1, body);
                        return n;
                    }
                    fn(ctx, s + j + 1, keep);
                    if (count > keep) {
                        framer_truncated(f);
                        f->skip = count - keep;
                    }
                    pos += j + 1 + keep;
                    continue;
                }
            }
        }
        /* newline framing */
        size_t lim = avail < (size_t)MM_MAX_RECORD + 2 ? avail : (size_t)MM_MAX_RECORD + 2;
        size_t from = pos == 0 && hint <= lim ? hint : 0;
        const char *t = find_term(s + from, lim - from);
        if (t || eof) {
            size_t len = t ? (size_t)(t - s) : lim;
            if (len && s[len - 1] == '\r') len--;
            if (len > MM_MAX_RECORD) {
                len = MM_MAX_RECORD;
                framer_truncated(f);
            }
            if (len) fn(ctx, s, len);
            pos += t ? (size_t)(t - s) + 1 : lim;
            continue;
        }
        if (lim < (size_t)MM_MAX_RECORD + 2) {
            f->scanned = lim;        /* wait for the terminator */
            return pos;
        }
        fn(ctx, s, MM_MAX_RECORD);
        framer_truncated(f);
        f->discarding = true;
        pos += lim;
    }
    return pos;
}

static void framer_append(mm_framer *f, const char *p, size_t n) {
    if (n == 0) return;
    if (f->len + n > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < f->len + n) cap *= 2;
        char *b = realloc(f->buf, cap);
        if (!b) abort();
        f->buf = b;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, p, n);
    f->len += n;
}

void mm_framer_feed(mm_framer *f, const char *p, size_t n, frame_fn fn, void *ctx) {
    while (n > 0) {
        if (f->len == 0) {
            /* Frame straight from the caller's bytes; keep only the incomplete tail. */
            size_t c = framer_run(f, p, n, false, fn, ctx);
            framer_append(f, p + c, n - c);
            return;
        }
        /* Complete the buffered head with just enough new bytes: FRAMER_BUF_MAX always
         * resolves a frame (see framer_run), so the buffer stays bounded. */
        size_t k = FRAMER_BUF_MAX - f->len;
        if (k > n) k = n;
        framer_append(f, p, k);
        p += k;
        n -= k;
        size_t c = framer_run(f, f->buf, f->len, false, fn, ctx);
        if (c) {
            memmove(f->buf, f->buf + c, f->len - c);
            f->len -= c;
        }
    }
}

void mm_framer_finish(mm_framer *f, frame_fn fn, void *ctx) {
    if (f->len) framer_run(f, f->buf, f->len, true, fn, ctx);
    f->len = 0;
    f->skip = 0;
    f->scanned = 0;
    f->discarding = false;
}

/* ---------------------------------------------------------------- listeners */

#define UDP_BATCH 64
#define TCP_READ (64 * 1024)
#define FLUSH_NS (50 * 1000000LL)   /* partial batches leave at least this often */
#define WAIT_MS 100
/* At max_connections, a connection silent this long may be closed for a new one. */
#define EVICT_MIN_IDLE_NS (1000 * 1000000LL)
/* Refused senders are logged at most this often per listener (and always counted). */
#define REFUSED_LOG_NS (60 * 1000000000LL)

typedef struct conn {
    int fd;
    const mm_source *src;
    mm_framer fr;
    int64_t last_rx;         /* monotonic ns of the last data (or the accept) */
    char peer[48];           /* address, for the log */
} conn;

typedef struct syslog_in {
    const mm_input_conf *c;
    mm_pipeline *p;
    const mm_decoder *dec;
    mm_feeder *feeder;
    const mm_source *src;    /* owned by the mm_input */
    bool tcp;
    int fd;                 /* UDP socket or TCP listener */
    int wake;               /* eventfd: stop */
    int port;
    atomic_bool stop;
    pthread_t th;
    bool started;
    /* UDP */
    uint32_t kdrops_seen;
    /* TCP */
    conn *conns;
    int nconns;
    char *rb;                /* read buffer (TCP_READ) */
    int64_t last_flush;
    /* allow */
    uint64_t nrefused;
    int64_t refused_logged;  /* monotonic ns of the last warning, 0: none yet */
} syslog_in;

/* "addr:port", "[v6]:port", ":port" (every address) or "port". */
static int parse_listen(const char *s, char *host, size_t hostsz, char *port, size_t portsz) {
    const char *colon;
    size_t hl;
    const char *hp = s;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':') return -1;
        hp = s + 1;
        hl = (size_t)(rb - hp);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) {
            colon = s - 1;   /* bare port */
            hl = 0;
        } else {
            hl = (size_t)(colon - s);
            if (memchr(s, ':', hl)) return -1;   /* v6 without brackets is ambiguous */
        }
    }
    const char *pp = colon + 1;
    size_t pl = strlen(pp);
    if (pl == 0 || pl >= portsz || hl >= hostsz) return -1;
    for (size_t i = 0; i < pl; i++)
        if (pp[i] < '0' || pp[i] > '9') return -1;
    if (atol(pp) > 65535) return -1;
    memcpy(host, hp, hl);
    host[hl] = 0;
    memcpy(port, pp, pl + 1);
    return 0;
}

static int open_socket(syslog_in *s, mm_err *err) {
    char host[256], port[16];
    if (parse_listen(s->c->listen, host, sizeof host, port, sizeof port) < 0) {
        mm_err_set(err, "input %s: listen '%s' is not addr:port, [v6addr]:port or :port",
                   s->c->name, s->c->listen);
        return MM_EINVAL;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = s->tcp ? SOCK_STREAM : SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    hints.ai_family = AF_UNSPEC;
    /* ":port" means every address: one dual-stack v6 socket when the host has v6. */
    bool any = host[0] == 0;
    int rc = getaddrinfo(any ? "::" : host, port, &hints, &res);
    if (rc != 0 && any) rc = getaddrinfo("0.0.0.0", port, &hints, &res);
    if (rc != 0) {
        mm_err_set(err, "input %s: listen '%s': %s", s->c->name, s->c->listen, gai_strerror(rc));
        return MM_EINVAL;
    }
    int fd = -1, last_errno = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int one = 1, zero = 0;
        if (s->tcp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || (s->tcp && listen(fd, 128) < 0)) {
            last_errno = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0 && any && last_errno == EAFNOSUPPORT) {
        /* no v6 on this host: bind every v4 address instead */
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
        fd = socket(AF_INET, (s->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd >= 0 && s->tcp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd >= 0 && (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
                        (s->tcp && listen(fd, 128) < 0))) {
            last_errno = errno;
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        mm_err_set(err, "input %s: cannot listen on %s (%s): %s", s->c->name, s->c->listen,
                   s->tcp ? "tcp" : "udp", strerror(last_errno));
        return MM_EIO;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    s->fd = fd;
    if (!s->tcp) {
        /* Bursts must land in the kernel buffer while a batch is being handed on.
         * SO_RCVBUFFORCE passes rmem_max when we hold CAP_NET_ADMIN. */
        int want = s->c->rcvbuf > 0 ? s->c->rcvbuf : 16 * 1024 * 1024;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) < 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
        int got = 0;
        socklen_t gl = sizeof got;
        getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
        /* the kernel reports twice the usable size (bookkeeping overhead included) */
        mm_info("input %s: udp %s port %d, receive buffer %d bytes (asked %d)", s->c->name,
                s->c->listen, s->port, got / 2, want);
        if (got / 2 < want)
            mm_warn("input %s: receive buffer smaller than asked; raise net.core.rmem_max or "
                    "run with CAP_NET_ADMIN to avoid drops in bursts", s->c->name);
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0)
            mm_warn("input %s: SO_RXQ_OVFL unavailable: kernel drops will not be counted",
                    s->c->name);
    } else {
        mm_info("input %s: tcp %s port %d", s->c->name, s->c->listen, s->port);
    }
    return MM_OK;
}

/* The sender's address; a v4 peer of a dual-stack socket (::ffff:a.b.c.d) is v4, so
 * v4 CIDRs in `sources` and `allow` match it.  ip->af stays 0 for other families. */
static void sender_ip(const struct sockaddr_storage *ss, mm_ip *ip) {
    memset(ip, 0, sizeof *ip);
    if (ss->ss_family == AF_INET) {
        ip->af = 4;
        memcpy(ip->b, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, 12) == 0) {
            ip->af = 4;
            memcpy(ip->b, a + 12, 4);
        } else {
            ip->af = 6;
            memcpy(ip->b, a, 16);
        }
    }
}

static const mm_source *source_for(syslog_in *s, const mm_ip *ip) {
    if (ip->af == 0) return s->src;
    for (int i = 0; i < s->c->nsources; i++)
        if (mm_cidr_contains(&s->c->sources[i].match, ip)) return &s->c->sources[i].src;
    return s->src;
}

/* No allow list: everyone.  Otherwise the sender must be in one of its CIDRs. */
static bool allowed(const syslog_in *s, const mm_ip *ip) {
    if (s->c->nallow == 0) return true;
    if (ip->af == 0) return false;
    for (int i = 0; i < s->c->nallow; i++)
        if (mm_cidr_contains(&s->c->allow[i], ip)) return true;
    return false;
}

/* Counted every time; logged at most once a minute per listener, so a scanner or a
 * misdirected device cannot flood the log. */
static void refused(syslog_in *s, const mm_ip *ip, const char *what) {
    mm_count(MM_C_SYSLOG_REFUSED, 1);
    s->nrefused++;
    int64_t now = mm_mono_ns();
    if (s->refused_logged && now - s->refused_logged < REFUSED_LOG_NS) return;
    s->refused_logged = now;
    char a[48] = "?";
    if (ip->af) mm_ip_fmt(ip, a);
    mm_warn("input %s: refused %s from %s: not in allow (%llu refused so far)", s->c->name, what,
            a, (unsigned long long)s->nrefused);
}

/* A non-blocking feeder drops whole batches when a worker queue is full and counts
 * them (queue_drops) without saying how many were ours: the difference of that
 * counter around the failed call is this listener's share (exact unless two UDP
 * listeners drop at the same instant). */
static void udp_dropped(uint64_t before) {
    uint64_t after = mm_counter_get(MM_C_QUEUE_DROPS);
    mm_count(MM_C_SYSLOG_UDP_QDROPS, after > before ? after - before : 1);
}

static void udp_put(syslog_in *s, const mm_source *src, const char *m, size_t len, int64_t now) {
    uint64_t before = mm_counter_get(MM_C_QUEUE_DROPS);
    if (mm_feeder_put(s->feeder, src, s->dec, m, len, now) == MM_EFULL) udp_dropped(before);
}

/* The kernel's drop counter is cumulative for the socket.  SO_RXQ_OVFL stamps it on
 * each datagram as it is queued, so drops show up with the next datagram after them;
 * SO_MEMINFO reads it now, for the drops at the end of a burst. */
static void kdrops_update(syslog_in *s, uint32_t d) {
    if ((int32_t)(d - s->kdrops_seen) > 0) {
        mm_count(MM_C_SYSLOG_UDP_KDROPS, d - s->kdrops_seen);
        s->kdrops_seen = d;
    }
}

static void kdrops_poll(syslog_in *s) {
    uint32_t mi[SK_MEMINFO_VARS];
    socklen_t ml = sizeof mi;
    if (getsockopt(s->fd, SOL_SOCKET, SO_MEMINFO, mi, &ml) == 0 &&
        ml > SK_MEMINFO_DROPS * sizeof(uint32_t))
        kdrops_update(s, mi[SK_MEMINFO_DROPS]);
}

static void maybe_flush(syslog_in *s, bool force) {
    int64_t now = mm_mono_ns();
    if (force || now - s->last_flush >= FLUSH_NS) {
        uint64_t before = mm_counter_get(MM_C_QUEUE_DROPS);
        if (mm_feeder_flush(s->feeder) == MM_EFULL && !s->tcp) udp_dropped(before);
        if (!s->tcp) kdrops_poll(s);
        s->last_flush = now;
    }
}

/* Waits for fd or the stop eventfd.  Returns true when fd is readable. */
static bool wait_readable(syslog_in *s, int fd, int ms) {
    struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->wake, .events = POLLIN}};
    int n = poll(pf, 2, ms);
    return n > 0 && (pf[0].revents & (POLLIN | POLLERR | POLLHUP));
}

static void *udp_main(void *arg) {
    syslog_in *s = arg;
    const size_t bufsz = MM_MAX_RECORD;
    char *bufs = malloc(UDP_BATCH * bufsz);
    struct mmsghdr *msgs = calloc(UDP_BATCH, sizeof *msgs);
    struct iovec *iov = calloc(UDP_BATCH, sizeof *iov);
    struct sockaddr_storage *addrs = calloc(UDP_BATCH, sizeof *addrs);
    enum { CTRL = CMSG_SPACE(sizeof(uint32_t)) + 64 };
    char(*ctrl)[CTRL] = calloc(UDP_BATCH, CTRL);
    if (!bufs || !msgs || !iov || !addrs || !ctrl) abort();
    for (int i = 0; i < UDP_BATCH; i++) {
        iov[i].iov_base = bufs + (size_t)i * bufsz;
        iov[i].iov_len = bufsz;
    }
    while (!atomic_load(&s->stop)) {
        if (!wait_readable(s, s->fd, WAIT_MS)) {
            maybe_flush(s, true);
            continue;
        }
        /* Drain what is queued, then look at the stop flag again. */
        for (int round = 0; round < 64 && !atomic_load(&s->stop); round++) {
            for (int i = 0; i < UDP_BATCH; i++) {
                msgs[i].msg_hdr = (struct msghdr){
                    .msg_name = &addrs[i],
                    .msg_namelen = sizeof addrs[i],
                    .msg_iov = &iov[i],
                    .msg_iovlen = 1,
                    .msg_control = ctrl[i],
                    .msg_controllen = CTRL,
                };
                msgs[i].msg_len = 0;
            }
            int n = recvmmsg(s->fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
            if (n <= 0) {
                if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    mm_warn("input %s: recvmmsg: %s", s->c->name, strerror(errno));
                break;
            }
            int64_t now = mm_now_ns();
            mm_count(MM_C_SYSLOG_UDP_RX, (uint64_t)n);
            for (int i = 0; i < n; i++) {
                struct msghdr *h = &msgs[i].msg_hdr;
                for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
                    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL &&
                        cm->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
                        uint32_t d;
                        memcpy(&d, CMSG_DATA(cm), sizeof d);
                        kdrops_update(s, d);
                    }
                }
                mm_ip ip;
                sender_ip(&addrs[i], &ip);
                if (!allowed(s, &ip)) {
                    refused(s, &ip, "datagram");
                    continue;
                }
                const char *m = iov[i].iov_base;
                size_t len = msgs[i].msg_len;
                if (h->msg_flags & MSG_TRUNC) mm_count(MM_C_LINES_TRUNCATED, 1);
                if (len > bufsz) len = bufsz;
                /* One datagram is one message (RFC 5426); trailing LF/CR/NUL are
                 * transport noise some senders add. */
                while (len && (m[len - 1] == '\n' || m[len - 1] == '\r' || m[len - 1] == '\0')) len--;
                if (len == 0) {
                    mm_count(MM_C_SYSLOG_FRAME_ERRORS, 1);
                    continue;
                }
                udp_put(s, source_for(s, &ip), m, len, now);
            }
            maybe_flush(s, false);
            if (n < UDP_BATCH) break;
        }
    }
    kdrops_poll(s);
    free(bufs);
    free(msgs);
    free(iov);
    free(addrs);
    free(ctrl);
    return NULL;
}

typedef struct put_ctx {
    syslog_in *s;
    const mm_source *src;
    int64_t now;
} put_ctx;

static void tcp_frame(void *ctx, const char *frame, size_t len) {
    put_ctx *pc = ctx;
    mm_count(MM_C_SYSLOG_TCP_RX, 1);
    mm_feeder_put(pc->s->feeder, pc->src, pc->s->dec, frame, len, pc->now);
}

static void conn_close(syslog_in *s, int i) {
    conn *c = &s->conns[i];
    put_ctx pc = {s, c->src, mm_now_ns()};
    mm_framer_finish(&c->fr, tcp_frame, &pc);   /* bytes the peer sent are not lost */
    mm_framer_free(&c->fr);
    close(c->fd);
    s->conns[i] = s->conns[--s->nconns];
}

/* Reads what the peer has sent, a little per turn (fair to the others).  Returns 1
 * when it read something, 0 when nothing was waiting, -1 when the peer closed (EOF or
 * reset; what came before is framed). */
static int conn_read(syslog_in *s, conn *c) {
    int got = 0;
    for (int k = 0; k < 4; k++) {
        ssize_t r = read(c->fd, s->rb, TCP_READ);
        if (r > 0) {
            got = 1;
            c->last_rx = mm_mono_ns();
            put_ctx pc = {s, c->src, mm_now_ns()};
            mm_framer_feed(&c->fr, s->rb, (size_t)r, tcp_frame, &pc);
            if (r < TCP_READ) break;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        return -1;
    }
    return got;
}

/* At max_connections: closes the connection silent the longest, if it has been silent
 * for EVICT_MIN_IDLE_NS.  Returns true when there is room for one more. */
static bool make_room(syslog_in *s) {
    int64_t now = mm_mono_ns();
    int best = -1;
    for (int i = 0; i < s->nconns; i++)
        if (now - s->conns[i].last_rx >= EVICT_MIN_IDLE_NS &&
            (best < 0 || s->conns[i].last_rx < s->conns[best].last_rx))
            best = i;
    if (best < 0) return false;
    conn *c = &s->conns[best];
    int r = conn_read(s, c);
    if (r > 0) return false;     /* it was sending after all */
    if (r == 0) {
        mm_count(MM_C_SYSLOG_TCP_EVICTED, 1);
        mm_info("input %s: max_connections (%d) reached: closing the connection from %s, "
                "silent for %lld s, for a new one", s->c->name, s->c->max_connections, c->peer,
                (long long)((now - c->last_rx) / 1000000000LL));
    }
    conn_close(s, best);
    return true;
}

static void tcp_accept(syslog_in *s) {
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(s->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                mm_warn("input %s: accept: %s", s->c->name, strerror(errno));
            return;
        }
        mm_ip ip;
        sender_ip(&ss, &ip);
        if (!allowed(s, &ip)) {
            refused(s, &ip, "connection");
            close(fd);
            continue;
        }
        if (s->nconns >= s->c->max_connections && !make_room(s)) {
            mm_count(MM_C_SYSLOG_TCP_LIMIT_REFUSED, 1);
            mm_warn("input %s: refusing connection: max_connections (%d) reached and every "
                    "connection is active", s->c->name, s->c->max_connections);
            close(fd);
            continue;
        }
        mm_count(MM_C_SYSLOG_TCP_CONNS, 1);
        conn *c = &s->conns[s->nconns++];
        c->fd = fd;
        c->src = source_for(s, &ip);
        c->last_rx = mm_mono_ns();
        strcpy(c->peer, "?");
        if (ip.af) mm_ip_fmt(&ip, c->peer);
        mm_framer_init(&c->fr);
    }
}

/* Connections silent for idle_timeout are closed (their unfinished frame delivered).
 * A connection is only idle once a last read finds nothing: its data may have come
 * while this thread was blocked on a full worker queue. */
static void close_idle(syslog_in *s) {
    int64_t now = mm_mono_ns();
    int64_t limit = (int64_t)s->c->idle_timeout * 1000000000LL;
    for (int i = s->nconns - 1; i >= 0; i--) {
        conn *c = &s->conns[i];
        if (now - c->last_rx < limit) continue;
        int r = conn_read(s, c);
        if (r > 0) continue;
        if (r == 0) {
            mm_count(MM_C_SYSLOG_TCP_IDLE_CLOSED, 1);
            mm_debug("input %s: closing the connection from %s: idle for %d s", s->c->name,
                     c->peer, s->c->idle_timeout);
        }
        conn_close(s, i);
    }
}

static void *tcp_main(void *arg) {
    syslog_in *s = arg;
    int maxc = s->c->max_connections > 0 ? s->c->max_connections : 1;
    struct pollfd *pf = calloc((size_t)maxc + 2, sizeof *pf);
    if (!pf) abort();
    while (!atomic_load(&s->stop)) {
        pf[0] = (struct pollfd){.fd = s->wake, .events = POLLIN};
        pf[1] = (struct pollfd){.fd = s->fd, .events = POLLIN};
        int nc = s->nconns;
        for (int i = 0; i < nc; i++) pf[2 + i] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
        int n = poll(pf, (nfds_t)nc + 2, WAIT_MS);
        if (atomic_load(&s->stop)) break;
        if (n > 0) {
            /* Connections first (by index, backwards, so closing one keeps the rest's
             * pollfd indices valid), then new ones. */
            for (int i = nc - 1; i >= 0; i--) {
                if (!(pf[2 + i].revents & (POLLIN | POLLERR | POLLHUP))) continue;
                if (conn_read(s, &s->conns[i]) < 0) conn_close(s, i);
            }
            if (pf[1].revents & POLLIN) tcp_accept(s);
            maybe_flush(s, false);
        } else {
            maybe_flush(s, true);
        }
        if (s->c->idle_timeout > 0) close_idle(s);
    }
    while (s->nconns) conn_close(s, s->nconns - 1);
    free(pf);
    return NULL;
}

int mm_input_syslog_start(void **out, const mm_input_conf *c, const mm_source *src, mm_pipeline *p,
                          mm_err *err) {
    const mm_decoder *dec = mm_decoder_find(c->format);
    if (!dec) {
        mm_err_set(err, "input %s: unknown format '%s'", c->name, c->format);
        return MM_EINVAL;
    }
    syslog_in *s = calloc(1, sizeof *s);
    if (!s) return MM_ENOMEM;
    s->c = c;
    s->p = p;
    s->dec = dec;
    s->src = src;
    s->tcp = c->protocol && strcmp(c->protocol, "tcp") == 0;
    s->fd = -1;
    s->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int rc;
    if (s->wake < 0) {
        mm_err_set(err, "input %s: eventfd: %s", c->name, strerror(errno));
        rc = MM_EIO;
        goto fail;
    }
    if ((rc = open_socket(s, err)) < 0) goto fail;
    if (s->tcp) {
        int maxc = c->max_connections > 0 ? c->max_connections : 1;
        s->conns = calloc((size_t)maxc, sizeof *s->conns);
        s->rb = malloc(TCP_READ);
        if (!s->conns || !s->rb) abort();
    }
    s->feeder = mm_feeder_new(p, s->tcp);   /* UDP never waits: it counts drops */
    s->last_flush = mm_mono_ns();
    if ((rc = pthread_create(&s->th, NULL, s->tcp ? tcp_main : udp_main, s)) != 0) {
        mm_err_set(err, "input %s: thread: %s", c->name, strerror(rc));
        mm_feeder_free(s->feeder);
        rc = MM_EIO;
        goto fail;
    }
    s->started = true;
    *out = s;
    return MM_OK;
fail:
    if (s->fd >= 0) close(s->fd);
    if (s->wake >= 0) close(s->wake);
    free(s->conns);
    free(s->rb);
    free(s);
    return rc;
}

void mm_input_syslog_stop(void *st) {
    syslog_in *s = st;
    if (!s) return;
    atomic_store(&s->stop, true);
    uint64_t one = 1;
    if (write(s->wake, &one, sizeof one) < 0) { /* the poll timeout still ends the wait */ }
    pthread_join(s->th, NULL);
    mm_feeder_free(s->feeder);
    close(s->fd);
    close(s->wake);
    free(s->conns);
    free(s->rb);
    free(s);
}

int mm_input_syslog_port(const void *st) { return st ? ((const syslog_in *)st)->port : -1; }
