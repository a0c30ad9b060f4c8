/* input/evtx: Windows event log files (.evtx), read with libevtx.
 *
 * Every record is rendered by libevtx as the XML Windows itself shows
 * (<Event><System>...</System><EventData>...</EventData></Event>) and handed on as
 * one record, for the "evtx" decoder (decode/evtx.c).  After the live records come
 * the ones libevtx recovers from the file's free space: events overwritten or
 * cleared (an attacker's `wevtutil cl` leaves them there), which an investigation
 * wants too.  A recovered copy of a live record (same record number) is skipped;
 * many recovered fragments are too damaged to render, or render without an
 * EventID, and are only counted.
 *
 * Files are untrusted: one that is missing, is not an .evtx file or that libevtx
 * cannot open is reported by name and counted (evtx_files_bad), and the next file
 * is read; a file libevtx flags as corrupt (dirty, cut) is read as far as its
 * records render (evtx_files_corrupt); a record that does not render is counted
 * (evtx_records_bad) and skipped.  libevtx itself runs in a child process per file
 * (see "isolation" below), so its bugs on hostile files cannot crash, hang or leak
 * into mamori.  libevtx takes a path, so data in memory (stdin, the fuzz target)
 * goes through a temporary file that is unlinked once read.
 *
 * libevtx also renders hex values zero-padded where Windows does not (unpad_hex).
 *
 * Debian's libevtx-dev does not depend on libbfio-dev although libevtx.h includes
 * <libbfio.h> for its file-IO-handle functions.  We use none of them, so the
 * feature is switched off before the header is read (features.h has an include
 * guard, libevtx.h does not define it again). */
#define _GNU_SOURCE /* memmem */
#include "input.h"

#include <libevtx/features.h>
#undef LIBEVTX_HAVE_BFIO
#include <libevtx.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* No rendered record comes near this (a chunk is 64 KB); a bigger size is damage. */
#define MAX_XML (16u << 20)

/* The first line of a libevtx error (the rest is its call stack). */
static void lib_err(libevtx_error_t **e, char *out, size_t n) {
    out[0] = 0;
    if (e && *e) {
        libevtx_error_sprint(*e, out, n);
        libevtx_error_free(e);
    }
    char *nl = strchr(out, '\n');
    if (nl) *nl = 0;
    if (!out[0]) snprintf(out, n, "unknown libevtx error");
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* libevtx renders win:HexInt32/HexInt64 values zero-padded ("0x001fffff",
 * "0x00000000000003e7"); Windows, Winlogbeat and WEF write "0x1fffff" and "0x3e7",
 * and detection rules match those (GrantedAccess: '0x1fffff', LogonId: '0x3e7').
 * So <Data> values that are exactly 0x + 8 or 16 hex digits lose their leading
 * zeros, in place.  Returns the new length. */
static size_t unpad_hex(char *x, size_t n) {
    static const char tail[] = "</Data>";
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        if (x[i] == '>' && i + 3 < n && x[i + 1] == '0' && x[i + 2] == 'x') {
            size_t d = i + 3, e = d;
            while (e < n && hexval(x[e]) >= 0) e++;
            size_t nd = e - d;
            bool data_end = n - e >= sizeof tail - 1 && memcmp(x + e, tail, sizeof tail - 1) == 0;
            if ((nd == 8 || nd == 16) && data_end) {
                size_t z = d;
                while (z + 1 < e && x[z] == '0') z++;
                memmove(x + out, x + i, 3);
                memmove(x + out + 3, x + z, e - z);
                out += 3 + (e - z);
                i = e;
                continue;
            }
        }
        x[out++] = x[i++];
    }
    return out;
}

typedef struct xmlbuf {
    char *p;
    size_t cap;
} xmlbuf;

/* Render one record; returns its length (without the NUL) or 0 when it does not
 * render. */
static size_t render(libevtx_record_t *r, xmlbuf *b) {
    libevtx_error_t *e = NULL;
    size_t sz = 0;
    if (libevtx_record_get_utf8_xml_string_size(r, &sz, &e) != 1 || sz < 2 || sz > MAX_XML) {
        libevtx_error_free(&e);
        return 0;
    }
    if (sz > b->cap) {
        char *np = realloc(b->p, sz);
        if (!np) return 0;
        b->p = np;
        b->cap = sz;
    }
    if (libevtx_record_get_utf8_xml_string(r, (uint8_t *)b->p, sz, &e) != 1) {
        libevtx_error_free(&e);
        return 0;
    }
    size_t n = strnlen(b->p, sz);
    while (n && (b->p[n - 1] == '\n' || b->p[n - 1] == '\r' || b->p[n - 1] == ' ')) n--;
    n = unpad_hex(b->p, n);
    b->p[n] = 0;
    return n;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int open_evtx(const char *path, libevtx_file_t **out, mm_err *err) {
    char msg[256];
    struct stat sb;
    if (stat(path, &sb) != 0) {
        int en = errno;
        mm_err_set(err, "%s: %s", path, strerror(en));
        return en == ENOENT ? MM_ENOENT : MM_EIO;
    }
    if (!S_ISREG(sb.st_mode)) {
        mm_err_set(err, "%s: not a regular file", path);
        return MM_EINVAL;
    }
    if (sb.st_size < 4096) {
        mm_err_set(err, "%s: not an .evtx file (%lld bytes, shorter than its header)", path,
                   (long long)sb.st_size);
        return MM_EINVAL;
    }
    libevtx_error_t *e = NULL;
    int sig = libevtx_check_file_signature(path, &e);
    if (sig != 1) {
        if (sig == 0) mm_err_set(err, "%s: not an .evtx file (no ElfFile signature)", path);
        else {
            lib_err(&e, msg, sizeof msg);
            mm_err_set(err, "%s: cannot read: %s", path, msg);
        }
        libevtx_error_free(&e);
        return sig == 0 ? MM_EINVAL : MM_EIO;
    }
    libevtx_file_t *f = NULL;
    if (libevtx_file_initialize(&f, &e) != 1) {
        lib_err(&e, msg, sizeof msg);
        mm_err_set(err, "%s: %s", path, msg);
        return MM_ENOMEM;
    }
    if (libevtx_file_open(f, path, libevtx_get_access_flags_read(), &e) != 1) {
        lib_err(&e, msg, sizeof msg);
        mm_err_set(err, "%s: not a readable .evtx file: %s", path, msg);
        libevtx_file_free(&f, NULL);
        return MM_EINVAL;
    }
    *out = f;
    return MM_OK;
}

/* The reader itself; runs in the child (see mm_evtx_each). */
static int each_inproc(const char *path, unsigned flags, int (*fn)(void *ctx, const char *xml, size_t len),
                       void *ctx, mm_evtx_stats *st, mm_err *err) {
    memset(st, 0, sizeof *st);
    libevtx_file_t *f = NULL;
    int rc = open_evtx(path, &f, err);
    if (rc < 0) return rc;
    libevtx_error_t *e = NULL;
    st->corrupt = libevtx_file_is_corrupted(f, &e) == 1;
    libevtx_error_free(&e);
    int n = 0, nr = 0;
    if (libevtx_file_get_number_of_records(f, &n, &e) != 1) n = 0;
    libevtx_error_free(&e);
    if ((flags & MM_EVTX_RECOVERED) && libevtx_file_get_number_of_recovered_records(f, &nr, &e) != 1) nr = 0;
    libevtx_error_free(&e);
    if (n < 0) n = 0;
    if (nr < 0) nr = 0;

    xmlbuf b = {NULL, 0};
    uint64_t *ids = calloc((size_t)n + 1, sizeof *ids);
    int nids = 0;
    bool stop = !ids;
    for (int i = 0; i < n && !stop; i++) {
        libevtx_record_t *r = NULL;
        if (libevtx_file_get_record_by_index(f, i, &r, &e) != 1) {
            libevtx_error_free(&e);
            st->bad++;
            continue;
        }
        uint64_t id;
        if (libevtx_record_get_identifier(r, &id, &e) == 1) ids[nids++] = id;
        libevtx_error_free(&e);
        size_t len = render(r, &b);
        libevtx_record_free(&r, NULL);
        if (!len) {
            st->bad++;
            continue;
        }
        st->records++;
        stop = fn(ctx, b.p, len) != 0;
    }
    if (ids) qsort(ids, (size_t)nids, sizeof *ids, cmp_u64);
    for (int i = 0; i < nr && !stop; i++) {
        libevtx_record_t *r = NULL;
        if (libevtx_file_get_recovered_record_by_index(f, i, &r, &e) != 1) {
            libevtx_error_free(&e);
            st->recovered_unreadable++;
            continue;
        }
        uint64_t id;
        bool dup = libevtx_record_get_identifier(r, &id, &e) == 1 &&
                   bsearch(&id, ids, (size_t)nids, sizeof *ids, cmp_u64) != NULL;
        libevtx_error_free(&e);
        size_t len = dup ? 0 : render(r, &b);
        libevtx_record_free(&r, NULL);
        if (dup) continue;
        /* a fragment whose template is damaged renders with garbage element names;
         * without an <EventID> it is no usable event */
        if (len && !memmem(b.p, len, "<EventID", 8)) len = 0;
        if (!len) {
            st->recovered_unreadable++;
            continue;
        }
        st->records++;
        st->recovered++;
        stop = fn(ctx, b.p, len) != 0;
    }
    free(ids);
    free(b.p);
    libevtx_file_close(f, NULL);
    libevtx_file_free(&f, NULL);
    return MM_OK;
}

static bool write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* ------------------------------------------------------------------ isolation */

/* libevtx parses untrusted binary data and is not ours to fix: on damaged files
 * the Debian build leaks (libfwevt's error paths), and a crash or an endless loop
 * in it would take the whole daemon down.  So each file is read in a child
 * process that renders the records and streams them back through a pipe as
 * frames — kind (1 byte), length (4 bytes), payload — and exits.  Whatever the
 * child does wrong ends with it: a crash, a hang (no frame for READ_TIMEOUT_MS)
 * or a broken frame make the file bad, and the records already delivered stand. */

#define READ_TIMEOUT_MS 60000

enum { FR_RECORD = 'R', FR_DONE = 'D', FR_ERROR = 'E' };

typedef struct frame_out {
    int fd;
    bool broken;
} frame_out;

static void frame_send(frame_out *o, char kind, const void *p, size_t n) {
    char hdr[5];
    uint32_t len = (uint32_t)n;
    hdr[0] = kind;
    memcpy(hdr + 1, &len, 4);
    if (!o->broken && !(write_all(o->fd, hdr, 5) && write_all(o->fd, p, n))) o->broken = true;
}

static int child_record(void *ctx, const char *xml, size_t len) {
    frame_out *o = ctx;
    frame_send(o, FR_RECORD, xml, len);
    return o->broken; /* the parent stopped reading */
}

/* One file in the reader: its records, then DONE with the totals or ERROR. */
static void child_file(frame_out *o, const char *path, unsigned flags) {
    mm_evtx_stats st;
    mm_err err = {{0}};
    int rc = each_inproc(path, flags, child_record, o, &st, &err);
    if (rc < 0) {
        char buf[sizeof(int32_t) + sizeof err.msg];
        int32_t r = rc;
        memcpy(buf, &r, sizeof r);
        size_t ml = strnlen(err.msg, sizeof err.msg);
        memcpy(buf + sizeof r, err.msg, ml);
        frame_send(o, FR_ERROR, buf, sizeof r + ml);
    } else {
        frame_send(o, FR_DONE, &st, sizeof st);
    }
}

/* The reader process serves one file per command (flags, path length, path) until
 * its command socket closes: forking once per file would copy the parent's page
 * tables each time (milliseconds with thousands of rules loaded). */
static _Noreturn void child_main(int cmd, int fd) {
    signal(SIGPIPE, SIG_DFL);
    frame_out o = {fd, false};
    for (;;) {
        uint32_t hdr[2];
        char path[4096];
        if (read(cmd, hdr, sizeof hdr) != (ssize_t)sizeof hdr || hdr[1] == 0 || hdr[1] >= sizeof path) break;
        size_t got = 0;
        while (got < hdr[1]) {
            ssize_t k = read(cmd, path + got, hdr[1] - got);
            if (k <= 0) _exit(0);
            got += (size_t)k;
        }
        path[got] = 0;
        child_file(&o, path, hdr[0]);
        if (o.broken) break;
    }
    _exit(0); /* no atexit handlers, no stdio flush: the parent's state is not ours */
}

/* Read exactly n bytes, waiting at most READ_TIMEOUT_MS for each chunk.
 * 1: done, 0: end of stream or timeout, -1: error. */
static int read_full(int fd, void *buf, size_t n) {
    char *p = buf;
    while (n) {
        struct pollfd pf = {fd, POLLIN, 0};
        int pr = poll(&pf, 1, READ_TIMEOUT_MS);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return pr == 0 ? 0 : -1;
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return k == 0 ? 0 : -1;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

/* Parent side: deliver the child's records.  Returns 1 when the child finished
 * (its result in *rc), 0 when it died or broke the stream. */
static int receive(int fd, int (*fn)(void *ctx, const char *xml, size_t len), void *ctx,
                   mm_evtx_stats *st, int *rc, mm_err *err, bool *stopped) {
    xmlbuf b = {NULL, 0};
    int done = 0;
    for (;;) {
        char hdr[5];
        uint32_t len;
        if (read_full(fd, hdr, 5) != 1) break;
        memcpy(&len, hdr + 1, 4);
        if (len > MAX_XML) break;
        if (len + 1 > b.cap) {
            char *np = realloc(b.p, len + 1);
            if (!np) break;
            b.p = np;
            b.cap = len + 1;
        }
        if (len && read_full(fd, b.p, len) != 1) break;
        b.p[len] = 0;
        if (hdr[0] == FR_RECORD) {
            st->records++; /* counted here too: a child that dies leaves no totals */
            if (fn(ctx, b.p, len) != 0) {
                *stopped = true;
                break;
            }
        } else if (hdr[0] == FR_DONE && len == sizeof *st) {
            memcpy(st, b.p, sizeof *st);
            *rc = MM_OK;
            done = 1;
            break;
        } else if (hdr[0] == FR_ERROR && len >= sizeof(int32_t)) {
            int32_t r;
            memcpy(&r, b.p, sizeof r);
            mm_err_set(err, "%.*s", (int)(len - sizeof r), b.p + sizeof r);
            *rc = r < 0 ? r : MM_EIO;
            done = 1;
            break;
        } else {
            break;
        }
    }
    free(b.p);
    return done;
}

/* The reader process, shared by the callers of mm_evtx_each (one at a time). */
static struct {
    pthread_mutex_t mu;
    pid_t pid;
    int cmd, data;
    int files;        /* served since it started */
} rd = {PTHREAD_MUTEX_INITIALIZER, 0, -1, -1, 0};

#define READER_FILES 256   /* then a fresh reader: what libevtx leaked on damaged files goes */

/* Stop the reader: kill when it misbehaved, else let it see the end of its
 * commands.  *status gets its wait status. */
static void reader_stop(bool kill_it, int *status) {
    if (!rd.pid) return;
    if (kill_it) kill(rd.pid, SIGKILL);
    close(rd.cmd);
    close(rd.data);
    int st = 0;
    while (waitpid(rd.pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (status) *status = st;
    rd.pid = 0;
    rd.cmd = rd.data = -1;
}

static int reader_start(mm_err *err) {
    int cmd[2], data[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cmd) != 0) {
        mm_err_set(err, "evtx reader: socketpair: %s", strerror(errno));
        return MM_EIO;
    }
    if (pipe2(data, O_CLOEXEC) != 0) {
        mm_err_set(err, "evtx reader: pipe: %s", strerror(errno));
        close(cmd[0]);
        close(cmd[1]);
        return MM_EIO;
    }
    pid_t pid = fork();
    if (pid < 0) {
        mm_err_set(err, "evtx reader: fork: %s", strerror(errno));
        close(cmd[0]);
        close(cmd[1]);
        close(data[0]);
        close(data[1]);
        return MM_EIO;
    }
    if (pid == 0) {
        close(cmd[0]);
        close(data[0]);
        child_main(cmd[1], data[1]);
    }
    close(cmd[1]);
    close(data[1]);
    rd.pid = pid;
    rd.cmd = cmd[0];
    rd.data = data[0];
    rd.files = 0;
    return MM_OK;
}

static bool reader_send(const char *path, unsigned flags) {
    size_t n = strlen(path);
    if (n == 0 || n >= 4096) return false;
    uint32_t hdr[2] = {flags, (uint32_t)n};
    char buf[8 + 4096];
    memcpy(buf, hdr, 8);
    memcpy(buf + 8, path, n);
    size_t off = 0, len = 8 + n;
    while (off < len) {
        ssize_t k = send(rd.cmd, buf + off, len - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        off += (size_t)k;
    }
    return true;
}

void mm_evtx_close(void) {
    pthread_mutex_lock(&rd.mu);
    reader_stop(false, NULL);
    pthread_mutex_unlock(&rd.mu);
}

int mm_evtx_each(const char *path, unsigned flags, int (*fn)(void *ctx, const char *xml, size_t len),
                 void *ctx, mm_evtx_stats *st, mm_err *err) {
    mm_evtx_stats local;
    if (!st) st = &local;
    memset(st, 0, sizeof *st);
    if (strlen(path) >= 4096) {
        mm_err_set(err, "%.200s...: path too long", path);
        return MM_EINVAL;
    }
    pthread_mutex_lock(&rd.mu);
    if (rd.pid && rd.files >= READER_FILES) reader_stop(false, NULL);
    bool sent = false;
    for (int attempt = 0; attempt < 2 && !sent; attempt++) {   /* a reader that died idle is replaced */
        if (!rd.pid && reader_start(err) < 0) {
            pthread_mutex_unlock(&rd.mu);
            return MM_EIO;
        }
        sent = reader_send(path, flags);
        if (!sent) reader_stop(true, NULL);
    }
    if (!sent) {
        mm_err_set(err, "%s: the .evtx reader does not take commands", path);
        pthread_mutex_unlock(&rd.mu);
        return MM_EIO;
    }
    rd.files++;
    int rc = MM_EIO;
    bool stopped = false;
    int done = receive(rd.data, fn, ctx, st, &rc, err, &stopped);
    int status = 0;
    /* stopped early, hung or broke the stream: that reader is finished.  A file it
     * could not read may have made libevtx leak: start afresh for the next. */
    if (!done || rc < 0) reader_stop(!done, &status);
    pthread_mutex_unlock(&rd.mu);
    if (done || stopped) return done ? rc : MM_OK;
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
        mm_err_set(err, "%s: the .evtx reader crashed (signal %d) after %llu records: damaged file", path,
                   WTERMSIG(status), (unsigned long long)st->records);
    else
        mm_err_set(err, "%s: the .evtx reader stopped or broke off after %llu records: damaged file", path,
                   (unsigned long long)st->records);
    return MM_EIO;
}

/* A new temporary file holding what `in` reads (in >= 0) or data[0..n); returns
 * its path (the caller unlinks and frees it) or NULL with err set. */
static char *spool(int in, const void *data, size_t n, mm_err *err) {
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    size_t pl = strlen(dir) + 32;
    char *path = malloc(pl);
    if (!path) return NULL;
    snprintf(path, pl, "%s/mamori-evtx-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        mm_err_set(err, "temporary file in %s: %s", dir, strerror(errno));
        free(path);
        return NULL;
    }
    bool ok = true;
    if (in >= 0) {
        char buf[65536];
        for (;;) {
            ssize_t got = read(in, buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                ok = got == 0;
                break;
            }
            if (!(ok = write_all(fd, buf, (size_t)got))) break;
        }
    } else if (n) {
        ok = write_all(fd, data, n);
    }
    int en = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        en = errno;
    }
    if (!ok) {
        mm_err_set(err, "temporary file %s: %s", path, strerror(en));
        unlink(path);
        free(path);
        return NULL;
    }
    return path;
}

int mm_evtx_each_mem(const void *data, size_t n, unsigned flags,
                     int (*fn)(void *ctx, const char *xml, size_t len), void *ctx,
                     mm_evtx_stats *st, mm_err *err) {
    if (st) memset(st, 0, sizeof *st);
    char *path = spool(-1, data, n, err);
    if (!path) return MM_EIO;
    int rc = mm_evtx_each(path, flags, fn, ctx, st, err);
    unlink(path);
    free(path);
    return rc;
}

/* ------------------------------------------------------------------ ingest */

typedef struct put_ctx {
    mm_feeder *f;
    const mm_source *src;
    const mm_decoder *dec;
    int64_t now;
} put_ctx;

static int put_record(void *ctx, const char *xml, size_t len) {
    put_ctx *c = ctx;
    mm_feeder_put(c->f, c->src, c->dec, xml, len, c->now);
    return 0;
}

static void count(const mm_evtx_stats *st) {
    mm_count(MM_C_EVTX_RECORDS, st->records);
    mm_count(MM_C_EVTX_RECOVERED, st->recovered);
    mm_count(MM_C_EVTX_RECORDS_BAD, st->bad);
    mm_count(MM_C_EVTX_RECOVERED_UNREADABLE, st->recovered_unreadable);
}

int64_t mm_input_read_evtx(mm_pipeline *p, const mm_source *src, const mm_decoder *dec,
                           char *const *paths, int npaths, unsigned flags, mm_err *err) {
    if (!dec) dec = mm_decoder_find("evtx");
    if (err) err->msg[0] = 0;
    mm_feeder *f = mm_feeder_new(p, true);
    int64_t total = 0;
    int nbad = 0;
    for (int i = 0; i < npaths; i++) {
        bool is_stdin = strcmp(paths[i], "-") == 0;
        const char *name = is_stdin ? "<stdin>" : paths[i];
        mm_err ferr = {{0}};
        mm_evtx_stats st;
        memset(&st, 0, sizeof st);
        char *tmp = is_stdin ? spool(STDIN_FILENO, NULL, 0, &ferr) : NULL;
        put_ctx c = {f, src, dec, mm_now_ns()};
        int rc = MM_EIO;
        if (!is_stdin || tmp) rc = mm_evtx_each(tmp ? tmp : paths[i], flags, put_record, &c, &st, &ferr);
        if (tmp) {
            unlink(tmp);
            free(tmp);
        }
        count(&st);
        total += (int64_t)st.records;
        if (rc < 0) {
            mm_count(MM_C_EVTX_FILES_BAD, 1);
            mm_error("%s%s", is_stdin ? "<stdin>: " : "", ferr.msg);
            if (err && !nbad) mm_err_set(err, "%s%s", is_stdin ? "<stdin>: " : "", ferr.msg);
            nbad++;
            continue;
        }
        if (st.corrupt) {
            mm_count(MM_C_EVTX_FILES_CORRUPT, 1);
            mm_warn("%s: libevtx reports the file as corrupt; read %llu records that render", name,
                    (unsigned long long)st.records);
        }
        if (st.bad)
            mm_warn("%s: %llu records could not be rendered and were skipped", name,
                    (unsigned long long)st.bad);
    }
    mm_feeder_free(f);
    if (err && nbad > 1) {
        char first[sizeof err->msg];
        memcpy(first, err->msg, sizeof first);
        mm_err_set(err, "%.400s (and %d more .evtx files that could not be read)", first, nbad - 1);
    }
    return total;
}
