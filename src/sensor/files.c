/* files: files carried by HTTP, SMTP and FTP.  Each is hashed as it streams
 * (md5, sha1, sha256 with nettle), typed by its first bytes with libmagic (the
 * type it really has, whatever its name says), and, when a quarantine directory
 * is configured, stored content-addressed (<dir>/<sha256[0..2]>/<sha256>) for
 * the file-analysis stage.  The quarantine has a size cap: the oldest files go
 * first.  Closing a file emits one `file` event that links it to its flow and to
 * what the protocol said about it (URL, sender, recipients, FTP command). */
#include "files_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <magic.h>
#include <nettle/md5.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC_HEAD (16 * 1024)    /* bytes libmagic looks at: enough for PE, ELF, OLE2, zip, PDF headers */

typedef struct qfile {
    int64_t mtime;
    uint64_t size;
    char *path;
} qfile;

/* Types already found, by content (sha256): the same file downloaded by many PCs,
 * or the same attachment mailed to a whole town hall, is typed by libmagic once.
 * Direct-mapped; a colliding entry replaces the older one. */
#define TYPE_CACHE 4096
typedef struct tcache {
    uint8_t sha[32];
    bool used;
    char mime[96];
    char magic[160];
} tcache;

struct mm_sensor_files {
    magic_t mime, desc;
    tcache *cache;                /* NULL: off */
    uint64_t typed, cache_hits;
    char *dir;
    uint64_t max_total, total;
    size_t file_max;
    qfile *q;                     /* stored files, oldest first */
    size_t nq, capq, headq;
    uint64_t seq;
    uint64_t files, truncated, stored, store_errors;
};

struct mm_sfile {
    mm_flow *f;
    int dir;
    char action[32];
    char *name;
    size_t name_len;
    mm_buf meta;
    mm_sev msev;
    struct md5_ctx md5;
    struct sha1_ctx sha1;
    struct sha256_ctx sha256;
    uint8_t *head;
    size_t hlen;
    uint64_t size;
    uint64_t stored;              /* bytes written to the temp file (≤ file_max) */
    bool truncated;
    int fd;                       /* temp file in the quarantine, -1 if none */
    char tmp[400];
};

static int qcmp(const void *a, const void *b) {
    const qfile *x = a, *y = b;
    return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

static void q_add(mm_sensor_files *fs, const char *path, uint64_t size, int64_t mtime) {
    if (fs->nq == fs->capq) {
        fs->capq = fs->capq ? fs->capq * 2 : 256;
        fs->q = mm_xrealloc(fs->q, fs->capq * sizeof *fs->q);
    }
    fs->q[fs->nq++] = (qfile){mtime, size, mm_xstrdup(path)};
    fs->total += size;
}

/* Remove the oldest stored files until the quarantine is under its cap. */
static void q_trim(mm_sensor_files *fs) {
    while (fs->total > fs->max_total && fs->headq < fs->nq) {
        qfile *o = &fs->q[fs->headq++];
        unlink(o->path);
        fs->total -= o->size;
        free(o->path);
    }
    if (fs->headq > 1024 && fs->headq * 2 > fs->nq) {
        memmove(fs->q, fs->q + fs->headq, (fs->nq - fs->headq) * sizeof *fs->q);
        fs->nq -= fs->headq;
        fs->headq = 0;
    }
}

/* What is already in the quarantine counts toward its cap. */
static void q_scan(mm_sensor_files *fs) {
    DIR *d = opendir(fs->dir);
    if (!d) return;
    struct dirent *de;
    char path[1024];
    while ((de = readdir(d))) {
        if (strlen(de->d_name) != 2) continue;
        snprintf(path, sizeof path, "%s/%s", fs->dir, de->d_name);
        DIR *sd = opendir(path);
        if (!sd) continue;
        struct dirent *fe;
        while ((fe = readdir(sd))) {
            if (fe->d_name[0] == '.') continue;
            char fp[1400];
            snprintf(fp, sizeof fp, "%s/%s", path, fe->d_name);
            struct stat st;
            if (stat(fp, &st) == 0 && S_ISREG(st.st_mode)) q_add(fs, fp, (uint64_t)st.st_size, (int64_t)st.st_mtime);
        }
        closedir(sd);
    }
    closedir(d);
    if (fs->nq) qsort(fs->q, fs->nq, sizeof *fs->q, qcmp);
    q_trim(fs);
}

int mm_sensor_files_new(mm_sensor_files **out, const mm_sensor_opts *o, mm_err *err) {
    mm_sensor_files *fs = mm_xcalloc(1, sizeof *fs);
    fs->file_max = o->file_max ? o->file_max : (64u << 20);
    if (!o->no_type_cache) fs->cache = mm_xcalloc(TYPE_CACHE, sizeof *fs->cache);
    fs->max_total = o->quarantine_max ? o->quarantine_max : (1ULL << 30);
    fs->mime = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
    fs->desc = magic_open(MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
    if (!fs->mime || !fs->desc || magic_load(fs->mime, NULL) != 0 || magic_load(fs->desc, NULL) != 0) {
        mm_err_set(err, "libmagic: cannot load the magic database: %s",
                   fs->mime && magic_error(fs->mime) ? magic_error(fs->mime) : "magic_open failed");
        mm_sensor_files_free(fs);
        return MM_EINVAL;
    }
    if (o->quarantine_dir && *o->quarantine_dir) {
        if (strlen(o->quarantine_dir) > 300) {
            mm_err_set(err, "quarantine: directory name longer than 300 bytes");
            mm_sensor_files_free(fs);
            return MM_EINVAL;
        }
        fs->dir = mm_xstrdup(o->quarantine_dir);
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s/tmp", fs->dir);
        if ((mkdir(fs->dir, 0700) != 0 && errno != EEXIST) || (mkdir(tmp, 0700) != 0 && errno != EEXIST) ||
            access(tmp, W_OK) != 0) {
            mm_err_set(err, "quarantine %s: %s", fs->dir, strerror(errno));
            mm_sensor_files_free(fs);
            return MM_EIO;
        }
        q_scan(fs);
    }
    *out = fs;
    return 0;
}

void mm_sensor_files_free(mm_sensor_files *fs) {
    if (!fs) return;
    if (fs->mime) magic_close(fs->mime);
    if (fs->desc) magic_close(fs->desc);
    for (size_t i = fs->headq; i < fs->nq; i++) free(fs->q[i].path);
    free(fs->q);
    free(fs->cache);
    free(fs->dir);
    free(fs);
}

void mm_sensor_files_stats(const mm_sensor_files *fs, mm_sensor_stats *out) {
    if (!fs) return;
    out->files = fs->files;
    out->files_truncated = fs->truncated;
    out->files_stored = fs->stored;
    out->files_typed = fs->typed;
}

mm_sfile *mm_sfile_open(mm_flow *f, int dir, const char *action, const void *name, size_t name_len) {
    mm_sensor_files *fs = mm_sensor_files_of(f);
    mm_sfile *h = calloc(1, sizeof *h);
    if (!h) { mm_sensor_app_error(f, "files", "out of memory"); return NULL; }
    h->f = f, h->dir = dir, h->fd = -1;
    snprintf(h->action, sizeof h->action, "%s", action ? action : "file-transfer");
    if (name && name_len) {
        if (name_len > 1024) name_len = 1024;
        h->name = malloc(name_len + 1);
        if (h->name) memcpy(h->name, name, name_len), h->name[name_len] = 0, h->name_len = name_len;
    }
    md5_init(&h->md5);
    sha1_init(&h->sha1);
    sha256_init(&h->sha256);
    if (fs->dir) {
        snprintf(h->tmp, sizeof h->tmp, "%s/tmp/%llx-%llx-%d", fs->dir, (unsigned long long)f->id,
                 (unsigned long long)++fs->seq, (int)getpid());
        h->fd = open(h->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (h->fd < 0) fs->store_errors++;
    }
    mm_sev_into(&h->msev, &h->meta);
    h->msev.f = f;
    return h;
}

mm_sev *mm_sfile_fields(mm_sfile *h) { return &h->msev; }

void mm_sfile_write(mm_sfile *h, const void *p, size_t n) {
    if (!h || !n) return;
    mm_sensor_files *fs = mm_sensor_files_of(h->f);
    if (h->size >= fs->file_max) { h->truncated = true; h->size += n; return; }
    if (h->size + n > fs->file_max) {
        h->truncated = true;
        size_t keep = (size_t)(fs->file_max - h->size);
        h->size += n - keep;
        n = keep;
    }
    md5_update(&h->md5, n, p);
    sha1_update(&h->sha1, n, p);
    sha256_update(&h->sha256, n, p);
    if (h->hlen < MAGIC_HEAD) {
        if (!h->head) h->head = malloc(MAGIC_HEAD);
        if (h->head) {
            size_t t = MAGIC_HEAD - h->hlen < n ? MAGIC_HEAD - h->hlen : n;
            memcpy(h->head + h->hlen, p, t);
            h->hlen += t;
        }
    }
    if (h->fd >= 0) {
        const uint8_t *q = p;
        size_t left = n;
        while (left) {
            ssize_t w = write(h->fd, q, left);
            if (w <= 0) {
                if (w < 0 && errno == EINTR) continue;
                fs->store_errors++;
                close(h->fd), h->fd = -1, unlink(h->tmp);
                break;
            }
            q += w, left -= (size_t)w;
        }
        if (h->fd >= 0) h->stored += n;
    }
    h->size += n;
}

void mm_sfile_gap(mm_sfile *h, size_t n) {
    if (h) h->truncated = true;
}

static bool is_executable_mime(const char *m) {
    static const char *const ex[] = {"application/x-dosexec", "application/x-msdownload", "application/x-executable",
                                     "application/x-sharedlib", "application/x-pie-executable", "application/x-mach-binary",
                                     "application/vnd.microsoft.portable-executable", "application/x-msdos-program",
                                     "application/x-java-applet", "application/x-mach-o-executable", NULL};
    for (int i = 0; ex[i]; i++)
        if (strcmp(m, ex[i]) == 0) return true;
    return false;
}

static void ext_of(const char *name, char *out, size_t cap) {
    out[0] = 0;
    if (!name) return;
    const char *base = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base || !dot[1]) return;
    size_t n = strlen(dot + 1);
    if (n >= cap || n > 16) return;
    for (size_t i = 0; i <= n; i++) {
        char c = dot[1 + i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
}

void mm_sfile_close(mm_sfile *h, mm_sfile_info *out) {
    if (!h) return;
    mm_flow *f = h->f;
    mm_sensor_files *fs = mm_sensor_files_of(f);
    mm_sfile_info info;
    memset(&info, 0, sizeof info);
    info.size = h->size;
    info.truncated = h->truncated;
    uint8_t d[SHA256_DIGEST_SIZE];
    md5_digest(&h->md5, MD5_DIGEST_SIZE, d);
    mm_hex(info.md5, d, MD5_DIGEST_SIZE);
    sha1_digest(&h->sha1, SHA1_DIGEST_SIZE, d);
    mm_hex(info.sha1, d, SHA1_DIGEST_SIZE);
    sha256_digest(&h->sha256, SHA256_DIGEST_SIZE, d);
    mm_hex(info.sha256, d, SHA256_DIGEST_SIZE);
    tcache *tc = fs->cache ? &fs->cache[((uint32_t)d[0] << 8 | d[1]) & (TYPE_CACHE - 1)] : NULL;
    if (tc && tc->used && memcmp(tc->sha, d, 32) == 0) {
        memcpy(info.mime, tc->mime, sizeof info.mime);
        memcpy(info.magic, tc->magic, sizeof info.magic);
        fs->cache_hits++;
    } else if (h->hlen) {
        fs->typed++;
        const char *m = magic_buffer(fs->mime, h->head, h->hlen);
        if (m) snprintf(info.mime, sizeof info.mime, "%s", m);
        /* the description costs a second pass over libmagic's tests: worth it for
         * binaries (PE32 executable, PDF document, version 1.5), not for text */
        if (strncmp(info.mime, "text/", 5) != 0) {
            const char *ds = magic_buffer(fs->desc, h->head, h->hlen);
            if (ds) snprintf(info.magic, sizeof info.magic, "%s", ds);
        }
        if (tc) {
            tc->used = true;
            memcpy(tc->sha, d, 32);
            memcpy(tc->mime, info.mime, sizeof info.mime);
            memcpy(tc->magic, info.magic, sizeof info.magic);
        }
    }
    if (h->fd >= 0) {
        close(h->fd);
        char sub[400];
        snprintf(sub, sizeof sub, "%s/%.2s", fs->dir, info.sha256);
        if (mkdir(sub, 0700) != 0 && errno != EEXIST) fs->store_errors++;
        snprintf(info.path, sizeof info.path, "%s/%s", sub, info.sha256);
        struct stat st;
        if (stat(info.path, &st) == 0) {
            unlink(h->tmp);   /* already there: content-addressed */
        } else if (rename(h->tmp, info.path) == 0) {
            fs->stored++;
            /* the cap counts what is on disk, not the size the protocol carried */
            q_add(fs, info.path, h->stored, f->now_ns / 1000000000LL);
            q_trim(fs);
            if (stat(info.path, &st) != 0) info.path[0] = 0;   /* trimmed at once: bigger than the cap */
        } else {
            fs->store_errors++;
            unlink(h->tmp);
            info.path[0] = 0;
        }
    }
    fs->files++;
    if (h->truncated) fs->truncated++;
    if (info.mime[0] && is_executable_mime(info.mime)) f->risks |= MM_RISK_BINARY_TRANSFER;

    mm_sev *e = mm_sev_begin(f, "file", "info", h->action);
    if (h->name) mm_sev_str(e, "file.name", h->name, h->name_len);
    char ext[20];
    ext_of(h->name, ext, sizeof ext);
    if (ext[0]) mm_sev_cstr(e, "file.extension", ext);
    mm_sev_int(e, "file.size", (int64_t)info.size);
    mm_sev_cstr(e, "file.hash.md5", info.md5);
    mm_sev_cstr(e, "file.hash.sha1", info.sha1);
    mm_sev_cstr(e, "file.hash.sha256", info.sha256);
    if (info.mime[0]) mm_sev_cstr(e, "file.mime_type", info.mime);
    if (info.magic[0]) mm_sev_cstr(e, "file.magic", info.magic);
    if (info.path[0]) mm_sev_cstr(e, "file.path", info.path);
    if (info.truncated) mm_sev_cstr(e, "file.truncated", "true");
    if (h->msev.in_list) mm_sev_list_end(&h->msev);   /* left open by the analyzer */
    mm_sev_raw(e, h->meta.p, h->meta.len);
    mm_sev_end(e);
    if (out) *out = info;
    mm_buf_free(&h->meta);
    free(h->head);
    free(h->name);
    free(h);
}
