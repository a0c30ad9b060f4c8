/* app_ssh: SSH version exchange and a guess at the login's outcome (RFC 4253).
 *
 * Each side's identification line gives ssh.client.software / ssh.server.software.
 * The binary packets are read in the clear up to each side's NEWKEYS; after it only
 * the sizes of the server's data chunks are kept (one data() call is one TCP segment
 * in practice, and every user-auth answer is its own segment).
 *
 * The outcome heuristic (in the spirit of Zeek's size-based inference): a failed
 * password answers every attempt with the same small USERAUTH_FAILURE, so a session
 * whose server side after the key exchange is little more than a run of equal-size
 * small chunks is a failed login, one failure per attempt minus the answer to the
 * "none" method query clients send first.  A login that worked is followed by the
 * session itself: channel confirmations, host keys, a prompt or command output, i.e.
 * several chunks of other sizes and usually kilobytes.  Anything in between is
 * "unknown".  One event per connection, at close. */
#include "sensor_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSH_LINE_MAX 255          /* RFC 4253 §4.2, CR LF included */
#define SSH_PRELINES 20           /* lines a server may send before its version */
#define SSH_PKT_MAX 35000         /* RFC 4253 §6.1 */
#define SSH_SIZES 64              /* server chunk sizes kept after NEWKEYS */
#define SSH_SUCCESS_BYTES 8192    /* server bytes after NEWKEYS that mean a session */
#define SSH_SUCCESS_CHUNKS 40     /* more answers than any auth dialogue needs */

static const uint16_t ports[] = {22, 0};

enum { MSG_NEWKEYS = 21 };

typedef struct ssh_dir {
    char line[SSH_LINE_MAX + 1];
    size_t len;
    int prelines;
    bool cut, have_version, binary, dead;
    uint8_t hdr[6];               /* packet_length, padding_length, message code */
    uint8_t hdr_len;
    size_t skip;                  /* rest of the current clear packet */
    bool newkeys;                 /* NEWKEYS sent: this direction is ciphertext */
    uint64_t enc_bytes, enc_chunks;
} ssh_dir;

typedef struct ssh_state {
    ssh_dir d[2];
    char sw[2][SSH_LINE_MAX + 1];
    size_t swlen[2];
    uint16_t sizes[SSH_SIZES];
    int nsizes;
} ssh_state;

/* The identification line: "SSH-protoversion-softwareversion SP comments". */
static void version_line(ssh_state *s, mm_flow *f, int dir, const char *l, size_t n) {
    ssh_dir *d = &s->d[dir];
    if (n < 4 || memcmp(l, "SSH-", 4)) {
        if (++d->prelines > SSH_PRELINES) {
            mm_sensor_app_error(f, "ssh", "no-version-line");
            d->dead = true;
        }
        return;
    }
    d->have_version = true;
    const char *p = l + 4, *e = l + n;
    const char *dash = memchr(p, '-', (size_t)(e - p));
    if (!dash) {
        mm_sensor_app_error(f, "ssh", "bad-version-line");
        d->dead = true;
        return;
    }
    /* SSH-1.x other than 1.99 is the old protocol: no NEWKEYS to look for. */
    d->binary = (dash - p == 3 && !memcmp(p, "2.0", 3)) || (dash - p == 4 && !memcmp(p, "1.99", 4));
    const char *sw = dash + 1;
    size_t k = (size_t)(e - sw);
    memcpy(s->sw[dir], sw, k);
    s->swlen[dir] = k;
}

/* Clear binary packets up to NEWKEYS.  Returns the bytes used; the rest of the chunk,
 * if any, is ciphertext. */
static size_t packets(ssh_state *s, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    ssh_dir *d = &s->d[dir];
    size_t used = 0;
    while (used < n && !d->newkeys) {
        if (d->skip) {
            size_t k = n - used < d->skip ? n - used : d->skip;
            used += k;
            d->skip -= k;
            if (!d->skip && d->hdr[5] == MSG_NEWKEYS) d->newkeys = true;
            continue;
        }
        size_t k = 6u - d->hdr_len;
        if (k > n - used) k = n - used;
        memcpy(d->hdr + d->hdr_len, p + used, k);
        d->hdr_len = (uint8_t)(d->hdr_len + k);
        used += k;
        if (d->hdr_len < 6) break;
        d->hdr_len = 0;
        uint32_t len = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 | (uint32_t)d->hdr[2] << 8 | d->hdr[3];
        if (len < 5 || len > SSH_PKT_MAX || d->hdr[4] >= len) {
            mm_sensor_app_error(f, "ssh", "bad-packet");
            d->dead = true;
            return n;
        }
        d->skip = len - 2;
        if (!d->skip && d->hdr[5] == MSG_NEWKEYS) d->newkeys = true;
    }
    return used;
}

static void enc_chunk(ssh_state *s, int dir, size_t n) {
    ssh_dir *d = &s->d[dir];
    d->enc_bytes += n;
    d->enc_chunks++;
    if (dir == MM_S2C && s->nsizes < SSH_SIZES) s->sizes[s->nsizes++] = (uint16_t)(n > 65535 ? 65535 : n);
}

static void data(void *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    ssh_state *s = st;
    dir &= 1;
    ssh_dir *d = &s->d[dir];
    if (d->newkeys) {
        enc_chunk(s, dir, n);
        return;
    }
    while (n && !d->dead && !d->have_version) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) + 1 : n;
        size_t room = SSH_LINE_MAX - d->len, c = k < room ? k : room;
        memcpy(d->line + d->len, p, c);
        d->len += c;
        if (c < k && !d->cut) {
            d->cut = true;
            mm_sensor_app_error(f, "ssh", "line-too-long");
        }
        p += k;
        n -= k;
        if (!nl) return;
        size_t l = d->len;
        while (l && (d->line[l - 1] == '\n' || d->line[l - 1] == '\r')) l--;
        version_line(s, f, dir, d->line, l);
        d->len = 0;
        d->cut = false;
    }
    if (!n || d->dead || !d->binary) return;
    size_t used = packets(s, f, dir, p, n);
    if (d->newkeys && used < n) enc_chunk(s, dir, n - used);
}

static void gap(void *st, mm_flow *f, int dir, size_t n) {
    ssh_state *s = st;
    ssh_dir *d = &s->d[dir & 1];
    if (d->newkeys) enc_chunk(s, dir & 1, n);   /* still bytes the side sent */
    else d->dead = true;
}

/* The outcome guess; see the file comment.  *attempts is set for failures. */
static const char *outcome(const ssh_state *s, int *attempts, const char **why) {
    const ssh_dir *c = &s->d[MM_C2S], *sv = &s->d[MM_S2C];
    *attempts = 0;
    if (!c->newkeys || !sv->newkeys) {
        *why = "no key exchange completed";
        return "unknown";
    }
    if (sv->enc_bytes >= SSH_SUCCESS_BYTES || sv->enc_chunks > SSH_SUCCESS_CHUNKS) {
        *why = "session data after authentication";
        return "success";
    }
    if (s->nsizes < 2 || c->enc_chunks < 2) {
        *why = "no authentication answer seen";
        return "unknown";
    }
    /* The failure size: the most frequent one after the first chunk (SERVICE_ACCEPT). */
    int best = 0;
    uint16_t fsize = 0;
    for (int i = 1; i < s->nsizes; i++) {
        int k = 0;
        for (int j = 1; j < s->nsizes; j++) k += s->sizes[j] == s->sizes[i];
        if (k > best) best = k, fsize = s->sizes[i];
    }
    /* After the first failure-size answer, what else did the server say?  A banner
     * comes before it; a big chunk after it is the session (host keys, a prompt). */
    int first = 1;
    while (first < s->nsizes && s->sizes[first] != fsize) first++;
    uint16_t other[SSH_SIZES];
    int nother = 0;
    bool bulk = false;
    for (int i = first + 1; i < s->nsizes; i++) {
        if (s->sizes[i] == fsize) continue;
        if (s->sizes[i] >= 2 * fsize + 64) bulk = true;
        bool seen = false;
        for (int j = 0; j < nother; j++) seen |= other[j] == s->sizes[i];
        if (!seen) other[nother++] = s->sizes[i];
    }
    if (bulk || nother >= 3) {
        *why = "session messages after authentication";
        return "success";
    }
    /* Only failures, perhaps with keyboard-interactive prompts and a DISCONNECT. */
    *attempts = best >= 2 ? best - 1 : 1;
    *why = "only small same-size authentication answers from the server";
    return "failure";
}

static int probe(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) {
    int r[2] = {-1, -1};
    const uint8_t *p[2] = {c2s, s2c};
    size_t n[2] = {nc, ns};
    for (int i = 0; i < 2; i++) {
        if (!n[i]) continue;
        size_t k = n[i] < 4 ? n[i] : 4;
        r[i] = memcmp(p[i], "SSH-", k) ? MM_PROBE_NO : k == 4 ? MM_PROBE_YES : MM_PROBE_MAYBE;
        if (r[i] == MM_PROBE_YES) return MM_PROBE_YES;
    }
    if (r[0] != MM_PROBE_MAYBE && r[1] != MM_PROBE_MAYBE && (nc || ns)) return MM_PROBE_NO;
    return MM_PROBE_MAYBE;
}

static void *open_(mm_flow *f) { return calloc(1, sizeof(ssh_state)); }

static void close_(void *st, mm_flow *f) {
    ssh_state *s = st;
    if (!s) return;
    if (s->d[0].have_version || s->d[1].have_version) {
        int attempts;
        const char *why;
        const char *o = outcome(s, &attempts, &why);
        bool auth = strcmp(o, "unknown") != 0;
        mm_sev *e = auth ? mm_sev_begin(f, "authentication", "start", "ssh-login")
                         : mm_sev_begin(f, "network", "protocol", "ssh-session");
        mm_sev_cstr(e, "event.outcome", o);
        mm_sev_cstr(e, "event.reason", why);
        if (s->d[MM_C2S].have_version) mm_sev_str(e, "ssh.client.software", s->sw[MM_C2S], s->swlen[MM_C2S]);
        if (s->d[MM_S2C].have_version) mm_sev_str(e, "ssh.server.software", s->sw[MM_S2C], s->swlen[MM_S2C]);
        if (attempts) mm_sev_int(e, "ssh.auth_attempts", attempts);
        mm_sev_end(e);
    }
    free(s);
}

const mm_analyzer mm_app_ssh = {"ssh", 1, 0, ports, probe, open_, data, gap, close_};
