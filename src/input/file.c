/* input/file: log files read whole or followed like `tail -F`.
 *
 * Lines end at LF; one CR before it is dropped; empty lines are skipped; a line
 * longer than MM_MAX_RECORD is cut there (counted) and the rest of it skipped.
 * Following, a last line without its LF waits until the writer completes it; read
 * once (follow: false, `mamori ingest`), it is a record at end of file.
 *
 * Offsets.  Each followed path has the key "<input>:<path>".  After each chunk of
 * lines handed to the feeder, the offset just past the last complete line is
 * marked; the writer stores it in the same transaction as those lines, so a restart
 * resumes exactly where the stored events end: nothing lost, nothing repeated.
 *
 * Rotation, like tail -F: the name is followed, not the descriptor.
 *  - the path names another inode (rename + create): the old descriptor is read to
 *    its end (its unterminated last line included: that file is finished), then the
 *    new file is read from its start;
 *  - the path is missing: keep reading the old descriptor (the writer may not have
 *    reopened yet) and look again every poll;
 *  - the file got shorter than what was read (copytruncate): start again at 0.
 * Files we have read are remembered by inode with the position reached, so a
 * rotated file that a glob also matches (app.log -> app.log.1 with "app.log*") is
 * continued rather than read twice.  At start-up the stored offsets of every
 * matched path seed that memory; when a path's stored inode is gone from the path
 * (rotated while we were down), its directory is searched for that inode and the
 * rest of the old file is read first, so the lines written just before the
 * rotation are not lost either.
 *
 * Failures are never silent.  The daemon usually runs unprivileged (`user:`), so a
 * log writer that creates its new file readable by root only, or a directory that is
 * not searchable, would stop the following: every failed attempt (retried each poll)
 * is counted, and the path and the reason are logged once, until it opens again.
 *
 * Names come and go (dated files: fgt-2026-11-20.log): a name whose file is gone and
 * was read to its end is forgotten FORGET_NS after it went, and at most GONE_MAX such
 * names are kept, so the list does not grow forever.  Forgetting loses nothing: what
 * was read is in the inode memory and the stored offsets, and a name that comes back
 * is a new file. */
#define _GNU_SOURCE
#include "input.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (256 * 1024)
#define READ_BUDGET (4 * 1024 * 1024)   /* per file per turn: fair among files */
#define HISTORY 64
#define MISSING_GRACE_NS (5 * 1000000000LL)
#define FORGET_NS (600 * 1000000000LL)
#define GONE_MAX 64
#define NOT_REGULAR (-1)   /* an open "error" of our own: the path is not a plain file */

/* ---------------------------------------------------------------- lines */

typedef struct lines {
    bool discarding;         /* inside the rest of an oversize line */
    mm_feeder *f;
    const mm_source *src;
    const mm_decoder *dec;
    int64_t now;
    int64_t n;               /* lines put */
    /* following: the offset key, and the file offset of the buffer's first byte */
    const char *key;
    int64_t ino, base;
} lines;

/* `end` is the buffer position just past what this line consumed.  The offset is
 * marked before the put: a put may send the batch at once, and the mark it carries
 * must then already include this line (and nothing after it). */
static void put_line(lines *l, const char *p, size_t len, size_t end) {
    if (len == 0) return;
    mm_count(MM_C_FILE_LINES, 1);
    l->n++;
    if (l->key) mm_feeder_mark_offset(l->f, l->key, l->ino, l->base + (int64_t)end);
    mm_feeder_put(l->f, l->src, l->dec, p, len, l->now);
}

/* Splits b[0..n) into lines.  Returns the bytes consumed; the rest (at most
 * MM_MAX_RECORD + 1 bytes) is the head of an unfinished line.  With `eof` the
 * unfinished line is a line too. */
static size_t split_lines(lines *l, const char *b, size_t n, bool eof) {
    size_t pos = 0;
    while (pos < n) {
        if (l->discarding) {
            const char *nl = memchr(b + pos, '\n', n - pos);
            if (!nl) return n;
            pos = (size_t)(nl - b) + 1;
            l->discarding = false;
            continue;
        }
        size_t avail = n - pos;
        size_t lim = avail < (size_t)MM_MAX_RECORD + 2 ? avail : (size_t)MM_MAX_RECORD + 2;
        const char *nl = memchr(b + pos, '\n', lim);
        if (nl || eof) {
            size_t len = nl ? (size_t)(nl - (b + pos)) : lim;
            if (len && b[pos + len - 1] == '\r') len--;
            if (len > MM_MAX_RECORD) {
                len = MM_MAX_RECORD;
                mm_count(MM_C_LINES_TRUNCATED, 1);
            }
            size_t end = pos + (nl ? (size_t)(nl - (b + pos)) + 1 : lim);
            put_line(l, b + pos, len, end);
            pos = end;
            continue;
        }
        if (lim < (size_t)MM_MAX_RECORD + 2) return pos;
        put_line(l, b + pos, MM_MAX_RECORD, pos + lim);
        mm_count(MM_C_LINES_TRUNCATED, 1);
        l->discarding = true;
        pos += lim;
    }
    return pos;
}

int64_t mm_input_file_read_fd(mm_feeder *f, const mm_source *src, const mm_decoder *dec, int fd,
                              const char *name, mm_err *err) {
    size_t cap = CHUNK + MM_MAX_RECORD + 2;
    char *b = malloc(cap);
    if (!b) abort();
    lines l = {.f = f, .src = src, .dec = dec};
    size_t carry = 0;
    for (;;) {
        ssize_t r = read(fd, b + carry, cap - carry);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            mm_err_set(err, "%s: %s", name, strerror(errno));
            free(b);
            return MM_EIO;
        }
        l.now = mm_now_ns();
        size_t n = carry + (size_t)r;
        size_t c = split_lines(&l, b, n, r == 0);
        if (r == 0) break;
        carry = n - c;
        memmove(b, b + c, carry);
    }
    free(b);
    return l.n;
}

/* ---------------------------------------------------------------- following */

typedef struct tfile {
    char *path;
    char *key;
    int fd;                  /* -1 while the path does not exist */
    dev_t dev;
    ino_t ino;
    int64_t rd;              /* read position */
    char *carry;             /* head of an unfinished line (at most MM_MAX_RECORD + 1) */
    size_t ncarry, capcarry;
    bool discarding;
    int64_t marked;          /* last offset marked */
    bool at_eof;
    bool seen;               /* matched by the latest glob */
    int64_t missing_since;   /* monotonic ns the path was first found missing, or 0 */
    bool gone;               /* missing because it does not exist (not merely unreadable) */
    bool forget;             /* to be dropped by forget_vanished */
    int open_err;            /* errno (or NOT_REGULAR) already reported, 0: none */
} tfile;

typedef struct known {
    dev_t dev;               /* 0: any (from the store, which keeps the inode only) */
    ino_t ino;
    int64_t pos;
    int fplen;               /* -1: no fingerprint */
    uint64_t fp;             /* hash of the file's first fplen bytes */
} known;

typedef struct file_in {
    const mm_input_conf *c;
    mm_pipeline *p;
    const mm_decoder *dec;
    mm_feeder *feeder;
    const mm_source *src;    /* owned by the mm_input */
    int wake;
    atomic_bool stop;
    pthread_t th;
    tfile *files;
    int nfiles, capfiles;
    known hist[HISTORY];
    int nhist, hist_next;
    char *rb;                /* shared read buffer: carry + CHUNK */
    bool startup;
    int *pat_err;            /* per pattern: what was reported for it (like open_err) */
} file_in;

#define FP_MAX 256

/* Inode numbers are reused as soon as a file is deleted, so a remembered position is
 * only trusted for a file that still starts with the same bytes. */
static int fingerprint(int fd, int64_t pos, uint64_t *fp) {
    char b[FP_MAX];
    size_t want = pos < FP_MAX ? (size_t)pos : FP_MAX;
    ssize_t r = want ? pread(fd, b, want, 0) : 0;
    if (r < 0 || (size_t)r != want) return -1;
    *fp = mm_hash(b, want, 0x6d616d6f7269ULL);
    return (int)want;
}

static void remember(file_in *fi, int fd, dev_t dev, ino_t ino, int64_t pos) {
    known k = {dev, ino, pos, -1, 0};
    if (fd >= 0) k.fplen = fingerprint(fd, pos, &k.fp);
    if (fd >= 0 && k.fplen < 0) return;
    for (int i = 0; i < fi->nhist; i++)
        if (fi->hist[i].ino == ino && (fi->hist[i].dev == dev || !fi->hist[i].dev)) {
            fi->hist[i] = k;
            return;
        }
    fi->hist[fi->hist_next] = k;
    fi->hist_next = (fi->hist_next + 1) % HISTORY;
    if (fi->nhist < HISTORY) fi->nhist++;
}

static bool recall(file_in *fi, int fd, const struct stat *st, int64_t *pos) {
    for (int i = 0; i < fi->nhist; i++) {
        known *k = &fi->hist[i];
        if (k->ino != st->st_ino || (k->dev && k->dev != st->st_dev)) continue;
        if (k->fplen >= 0) {
            uint64_t fp;
            if (fingerprint(fd, k->fplen, &fp) != k->fplen || fp != k->fp) return false;
        }
        *pos = k->pos;
        return true;
    }
    return false;
}

/* Start-up seeds carry no fingerprint: once the matched paths are open they have
 * served, and keeping them would risk a reused inode later. */
static void forget_seeds(file_in *fi) {
    int n = 0;
    for (int i = 0; i < fi->nhist; i++)
        if (fi->hist[i].fplen >= 0) fi->hist[n++] = fi->hist[i];
    if (n != fi->nhist) fi->hist_next = n % HISTORY;
    fi->nhist = n;
}

static void mark(file_in *fi, tfile *t) {
    int64_t off = t->rd - (int64_t)t->ncarry;
    if (off == t->marked) return;
    mm_feeder_mark_offset(fi->feeder, t->key, (int64_t)t->ino, off);
    t->marked = off;
}

/* Reads what t's descriptor has, up to budget bytes (<0: to the end).  Returns true
 * when it read anything. */
static bool read_some(file_in *fi, tfile *t, int64_t budget, bool eof_is_end) {
    if (t->fd < 0) return false;
    lines l = {.discarding = t->discarding, .f = fi->feeder, .src = fi->src, .dec = fi->dec,
               .key = t->key, .ino = (int64_t)t->ino};
    bool any = false;
    int64_t done = 0;
    t->at_eof = false;
    while (budget < 0 || done < budget) {
        char *b = fi->rb;
        if (t->ncarry) memcpy(b, t->carry, t->ncarry);
        ssize_t r = read(t->fd, b + t->ncarry, CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            mm_warn("input %s: read %s: %s", fi->c->name, t->path, strerror(errno));
            r = 0;
        }
        if (r == 0) {
            t->at_eof = true;
            if (eof_is_end && t->ncarry) {
                l.now = mm_now_ns();
                l.base = t->rd - (int64_t)t->ncarry;
                split_lines(&l, b, t->ncarry, true);
                t->ncarry = 0;
            }
            break;
        }
        any = true;
        done += r;
        t->rd += r;
        l.now = mm_now_ns();
        size_t n = t->ncarry + (size_t)r;
        l.base = t->rd - (int64_t)n;
        size_t c = split_lines(&l, b, n, false);
        t->ncarry = n - c;
        if (t->ncarry > t->capcarry) {   /* usually a few hundred bytes: grown on need */
            size_t cap = t->capcarry ? t->capcarry : 1024;
            while (cap < t->ncarry) cap *= 2;
            t->carry = realloc(t->carry, cap);
            if (!t->carry) abort();
            t->capcarry = cap;
        }
        if (t->ncarry) memcpy(t->carry, b + c, t->ncarry);
        t->discarding = l.discarding;
        mark(fi, t);
    }
    t->discarding = l.discarding;
    mark(fi, t);
    return any;
}

/* Counted on every attempt (a retry each poll: the rate shows it is still failing);
 * logged once per path and reason until open_ok. */
static void open_failed(file_in *fi, int *reported, const char *what, const char *path, int err) {
    mm_count(MM_C_FILE_OPEN_ERRORS, 1);
    if (*reported == err) return;
    *reported = err;
    mm_warn("input %s: cannot %s %s: %s (retrying every %d ms)", fi->c->name, what, path,
            err == NOT_REGULAR ? "not a regular file" : strerror(err),
            fi->c->poll_ms > 0 ? fi->c->poll_ms : 250);
}

static void open_ok(file_in *fi, int *reported, const char *path) {
    if (*reported) mm_info("input %s: %s can be read again", fi->c->name, path);
    *reported = 0;
}

static void close_file(tfile *t) {
    if (t->fd >= 0) close(t->fd);
    t->fd = -1;
    t->ncarry = 0;
    t->discarding = false;
}

/* Opens t->path and positions it: where a remembered inode left off, else at 0. */
static void open_file(file_in *fi, tfile *t) {
    int fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        /* ENOENT: removed since it was seen; check_rotation deals with missing paths */
        if (errno != ENOENT) open_failed(fi, &t->open_err, "open", t->path, errno);
        return;
    }
    struct stat st;
    int e = fstat(fd, &st) < 0    ? errno
            : S_ISREG(st.st_mode) ? 0
            : S_ISDIR(st.st_mode) ? EISDIR
                                  : NOT_REGULAR;
    if (e) {
        open_failed(fi, &t->open_err, "open", t->path, e);
        close(fd);
        return;
    }
    open_ok(fi, &t->open_err, t->path);
    /* Another tracked name for the same open file (a rotated name matched by the
     * glob while the descriptor is still being followed under the old name). */
    for (int i = 0; i < fi->nfiles; i++) {
        tfile *o = &fi->files[i];
        if (o != t && o->fd >= 0 && o->dev == st.st_dev && o->ino == st.st_ino) {
            close(fd);
            return;
        }
    }
    int64_t pos = 0;
    if (recall(fi, fd, &st, &pos)) {
        if (pos > st.st_size) {
            mm_info("input %s: %s is shorter than its stored offset: reading it from the start",
                    fi->c->name, t->path);
            mm_count(MM_C_FILE_ROTATIONS, 1);
            pos = 0;
        }
    }
    if (pos && lseek(fd, pos, SEEK_SET) != pos) pos = 0;
    t->fd = fd;
    t->dev = st.st_dev;
    t->ino = st.st_ino;
    t->rd = pos;
    t->ncarry = 0;
    t->discarding = false;
    t->marked = -1;
    mm_debug("input %s: following %s from offset %lld", fi->c->name, t->path, (long long)pos);
}

/* The stored inode of a path is no longer at the path: the file was rotated while we
 * were not running.  Finish it from the stored offset if it is still in the same
 * directory under another name that no pattern matches. */
static void drain_rotated(file_in *fi, tfile *t, int64_t ino, int64_t off) {
    char dir[4096];
    const char *slash = strrchr(t->path, '/');
    if (slash) {
        size_t dl = (size_t)(slash - t->path);
        if (dl >= sizeof dir) return;
        memcpy(dir, t->path, dl);
        dir[dl ? dl : 1] = 0;
        if (!dl) dir[0] = '/';
    } else {
        strcpy(dir, ".");
    }
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    char found[4096 + 256];
    found[0] = 0;
    while ((de = readdir(d))) {
        /* d_ino is not st_ino on every file system (overlayfs): ask stat */
        struct stat es;
        if (fstatat(dirfd(d), de->d_name, &es, AT_SYMLINK_NOFOLLOW) < 0 || (int64_t)es.st_ino != ino ||
            !S_ISREG(es.st_mode))
            continue;
        snprintf(found, sizeof found, "%s/%s", dir, de->d_name);
        break;
    }
    closedir(d);
    if (!found[0]) return;
    for (int i = 0; i < fi->nfiles; i++) {
        struct stat ts;
        if (stat(fi->files[i].path, &ts) == 0 && (int64_t)ts.st_ino == ino)
            return;   /* a pattern matches it: followed under its own name */
    }
    int fd = open(found, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0) {
        int once = 0;
        open_failed(fi, &once, "open", found, errno);
        return;
    }
    if (fstat(fd, &st) < 0 || (int64_t)st.st_ino != ino || !S_ISREG(st.st_mode) ||
        off > st.st_size || lseek(fd, off, SEEK_SET) != off) {
        close(fd);
        return;
    }
    mm_info("input %s: %s was rotated to %s while stopped: reading its rest first",
            fi->c->name, t->path, found);
    mm_count(MM_C_FILE_ROTATIONS, 1);
    tfile old = {.path = found, .key = t->key, .fd = fd, .dev = st.st_dev, .ino = st.st_ino,
                 .rd = off, .marked = off};
    read_some(fi, &old, -1, true);
    mark(fi, &old);
    remember(fi, fd, st.st_dev, st.st_ino, old.rd);
    close(fd);
    free(old.carry);
}

static tfile *add_file(file_in *fi, const char *path) {
    if (fi->nfiles == fi->capfiles) {
        fi->capfiles = fi->capfiles ? fi->capfiles * 2 : 8;
        fi->files = realloc(fi->files, (size_t)fi->capfiles * sizeof *fi->files);
        if (!fi->files) abort();
    }
    tfile *t = &fi->files[fi->nfiles++];
    memset(t, 0, sizeof *t);
    t->path = strdup(path);
    size_t kl = strlen(fi->c->name) + strlen(path) + 2;
    t->key = malloc(kl);
    if (!t->path || !t->key) abort();
    snprintf(t->key, kl, "%s:%s", fi->c->name, path);
    t->fd = -1;
    t->marked = -1;
    return t;
}

static bool has_magic(const char *pat) { return strpbrk(pat, "*?[") != NULL; }

/* Expands pattern pi; new paths are tracked.  A glob silently skips what it cannot
 * read, so when nothing matched, the pattern itself (a plain path) or the directory
 * part before its first wildcard is checked: "does not exist" is normal (the file
 * comes later), anything else is reported. */
static void scan_pattern(file_in *fi, int pi) {
    const char *pat = fi->c->paths[pi];
    bool magic = has_magic(pat), tracked = false;
    int err = 0;
    const char *what = "open";
    char where[4096] = "";
    glob_t g;
    if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
        for (size_t k = 0; k < g.gl_pathc; k++) {
            const char *path = g.gl_pathv[k];
            tfile *t = NULL;
            for (int j = 0; j < fi->nfiles; j++)
                if (strcmp(fi->files[j].path, path) == 0) t = &fi->files[j];
            if (!t) {
                struct stat st;
                int e = 0;
                if (stat(path, &st) < 0) e = errno == ENOENT ? 0 : errno;
                else if (S_ISREG(st.st_mode)) t = add_file(fi, path);
                else if (!magic) e = S_ISDIR(st.st_mode) ? EISDIR : NOT_REGULAR;
                /* (a wildcard may well match directories: those are not errors) */
                if (e && !err) {
                    err = e;
                    snprintf(where, sizeof where, "%s", path);
                }
                if (!t) continue;
            }
            t->seen = true;
            tracked = true;
        }
    }
    globfree(&g);
    if (!tracked && !err) {
        struct stat st;
        if (!magic) {
            if (stat(pat, &st) < 0 && errno != ENOENT && errno != ENOTDIR) {
                err = errno;
                snprintf(where, sizeof where, "%s", pat);
            }
        } else {
            size_t dl = (size_t)(strpbrk(pat, "*?[") - pat);
            while (dl && pat[dl - 1] != '/') dl--;
            if (dl > 1) dl--;                 /* "/a/b/" -> "/a/b", "/" stays */
            snprintf(where, sizeof where, "%.*s", (int)dl, dl ? pat : ".");
            DIR *d = opendir(where);
            if (d) closedir(d);
            else if (errno != ENOENT && errno != ENOTDIR) {
                err = errno;
                what = "read directory";
            }
        }
    }
    if (err) open_failed(fi, &fi->pat_err[pi], what, where, err);
    else open_ok(fi, &fi->pat_err[pi], pat);
}

/* Expands the patterns; new paths are tracked (and opened, when they exist). */
static void scan(file_in *fi) {
    for (int i = 0; i < fi->nfiles; i++) fi->files[i].seen = false;
    int first_new = fi->nfiles;
    for (int i = 0; i < fi->c->npaths; i++) scan_pattern(fi, i);
    if (fi->startup) {
        /* Stored offsets of every matched path seed the inode memory first, so a
         * path continues where its inode was left under whichever name. */
        for (int i = first_new; i < fi->nfiles; i++) {
            int64_t ino, off;
            if (mm_pipeline_offset_get(fi->p, fi->files[i].key, &ino, &off))
                remember(fi, -1, 0, (ino_t)ino, off);
        }
        for (int i = first_new; i < fi->nfiles; i++) {
            tfile *t = &fi->files[i];
            int64_t ino, off;
            struct stat st;
            if (mm_pipeline_offset_get(fi->p, t->key, &ino, &off) &&
                (stat(t->path, &st) < 0 || (int64_t)st.st_ino != ino))
                drain_rotated(fi, t, ino, off);
        }
    }
    for (int i = first_new; i < fi->nfiles; i++) open_file(fi, &fi->files[i]);
}

/* tail -F's checks on a file at its end: renamed/recreated, truncated, missing. */
static void check_rotation(file_in *fi, tfile *t) {
    struct stat st;
    if (stat(t->path, &st) < 0) {
        /* Missing: the writer may still append to the renamed file until it reopens,
         * so keep reading the old descriptor for a while; then let it go (a deleted
         * file's space is only freed once nobody holds it open).  A path we may not
         * look at (EACCES on a directory) is handled the same way, and reported. */
        t->gone = errno == ENOENT || errno == ENOTDIR;
        if (!t->gone) open_failed(fi, &t->open_err, "open", t->path, errno);
        int64_t now = mm_mono_ns();
        if (!t->missing_since) t->missing_since = now;
        if (t->fd >= 0 && now - t->missing_since > MISSING_GRACE_NS) {
            read_some(fi, t, -1, true);
            remember(fi, t->fd, t->dev, t->ino, t->rd);
            mm_info("input %s: %s is gone: closed", fi->c->name, t->path);
            close_file(t);
        }
        return;
    }
    t->missing_since = 0;
    t->gone = false;
    if (t->fd >= 0) open_ok(fi, &t->open_err, t->path);
    if (t->fd < 0) {
        open_file(fi, t);                 /* (re)appeared */
        return;
    }
    if (st.st_ino != t->ino || st.st_dev != t->dev) {
        /* Renamed away and recreated: finish the old file, then take the new one. */
        read_some(fi, t, -1, true);
        mark(fi, t);
        remember(fi, t->fd, t->dev, t->ino, t->rd);
        mm_info("input %s: %s was rotated", fi->c->name, t->path);
        mm_count(MM_C_FILE_ROTATIONS, 1);
        close_file(t);
        open_file(fi, t);
        return;
    }
    struct stat fst;
    if (fstat(t->fd, &fst) == 0 && fst.st_size < t->rd) {
        mm_info("input %s: %s was truncated: reading it from the start", fi->c->name, t->path);
        mm_count(MM_C_FILE_ROTATIONS, 1);
        lseek(t->fd, 0, SEEK_SET);
        t->rd = 0;
        t->ncarry = 0;
        t->discarding = false;
        mark(fi, t);
    }
}

static void free_file(tfile *t) {
    close_file(t);
    free(t->path);
    free(t->key);
    free(t->carry);
}

/* See the file comment: names gone (and closed: read to their end) for FORGET_NS are
 * dropped, and the oldest gone ones beyond GONE_MAX. */
static void forget_vanished(file_in *fi) {
    int64_t now = mm_mono_ns();
    int64_t age = fi->c->forget_ms > 0 ? (int64_t)fi->c->forget_ms * 1000000 : FORGET_NS;
    int kept = 0;
    for (int i = 0; i < fi->nfiles; i++) {
        tfile *t = &fi->files[i];
        t->forget = false;
        if (t->fd >= 0 || !t->gone || !t->missing_since || t->seen) continue;
        if (now - t->missing_since >= age) t->forget = true;
        else kept++;
    }
    for (; kept > GONE_MAX; kept--) {
        tfile *oldest = NULL;
        for (int i = 0; i < fi->nfiles; i++) {
            tfile *t = &fi->files[i];
            if (t->fd < 0 && t->gone && t->missing_since && !t->seen && !t->forget &&
                (!oldest || t->missing_since < oldest->missing_since))
                oldest = t;
        }
        oldest->forget = true;
    }
    int n = 0;
    for (int i = 0; i < fi->nfiles; i++) {
        tfile *t = &fi->files[i];
        if (!t->forget) {
            if (n != i) fi->files[n] = *t;
            n++;
            continue;
        }
        mm_debug("input %s: %s is gone: forgotten", fi->c->name, t->path);
        mm_count(MM_C_FILE_FORGOTTEN, 1);
        free_file(t);
    }
    fi->nfiles = n;
}

static void *file_main(void *arg) {
    file_in *fi = arg;
    bool follow = fi->c->follow;
    int poll_ms = fi->c->poll_ms > 0 ? fi->c->poll_ms : 250;
    fi->startup = true;
    scan(fi);
    fi->startup = false;
    forget_seeds(fi);
    int64_t last_check = mm_mono_ns();
    while (!atomic_load(&fi->stop)) {
        bool progress = false;
        for (int i = 0; i < fi->nfiles && !atomic_load(&fi->stop); i++)
            progress |= read_some(fi, &fi->files[i], READ_BUDGET, !follow);
        if (!follow) {
            if (progress) continue;
            break;   /* read once: every file is at its end */
        }
        int64_t now = mm_mono_ns();
        if (now - last_check >= (int64_t)poll_ms * 1000000) {
            last_check = now;
            scan(fi);
            for (int i = 0; i < fi->nfiles; i++)
                if (fi->files[i].at_eof || fi->files[i].fd < 0) check_rotation(fi, &fi->files[i]);
            forget_vanished(fi);
            continue;
        }
        if (progress) continue;
        mm_feeder_flush(fi->feeder);   /* idle: what was read leaves now */
        int wait = poll_ms - (int)((now - last_check) / 1000000);
        if (wait < 1) wait = 1;
        struct pollfd pf = {.fd = fi->wake, .events = POLLIN};
        poll(&pf, 1, wait);
    }
    mm_feeder_flush(fi->feeder);
    return NULL;
}

int mm_input_file_start(void **out, const mm_input_conf *c, const mm_source *src, mm_pipeline *p,
                        mm_err *err) {
    const mm_decoder *dec = mm_decoder_find(c->format);
    if (!dec) {
        mm_err_set(err, "input %s: unknown format '%s'", c->name, c->format);
        return MM_EINVAL;
    }
    file_in *fi = calloc(1, sizeof *fi);
    if (!fi) return MM_ENOMEM;
    fi->c = c;
    fi->p = p;
    fi->dec = dec;
    fi->src = src;
    fi->rb = malloc((size_t)CHUNK + MM_MAX_RECORD + 2);
    fi->pat_err = calloc((size_t)c->npaths + 1, sizeof *fi->pat_err);
    fi->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!fi->rb || !fi->pat_err || fi->wake < 0) {
        mm_err_set(err, "input %s: %s", c->name, strerror(errno));
        if (fi->wake >= 0) close(fi->wake);
        free(fi->rb);
        free(fi->pat_err);
        free(fi);
        return MM_EIO;
    }
    fi->feeder = mm_feeder_new(p, true);
    int rc = pthread_create(&fi->th, NULL, file_main, fi);
    if (rc != 0) {
        mm_err_set(err, "input %s: thread: %s", c->name, strerror(rc));
        mm_feeder_free(fi->feeder);
        close(fi->wake);
        free(fi->rb);
        free(fi->pat_err);
        free(fi);
        return MM_EIO;
    }
    *out = fi;
    return MM_OK;
}

void mm_input_file_stop(void *st) {
    file_in *fi = st;
    if (!fi) return;
    atomic_store(&fi->stop, true);
    uint64_t one = 1;
    if (write(fi->wake, &one, sizeof one) < 0) { /* the poll timeout still ends the wait */ }
    pthread_join(fi->th, NULL);
    mm_feeder_free(fi->feeder);
    for (int i = 0; i < fi->nfiles; i++) free_file(&fi->files[i]);
    free(fi->files);
    close(fi->wake);
    free(fi->rb);
    free(fi->pat_err);
    free(fi);
}
