/* app_rawfile: executables sent over a TCP connection with no application protocol
 * (a Metasploit/Meterpreter stage pushed down a reverse shell, a worm copying itself
 * to its next victim, `nc host 4444 < tool.exe`).
 *
 * Chosen by content only, after every other analyzer (it is last in the table and
 * has no standard port, so it is never "a known protocol on another port"): a
 * direction of the flow starts with a PE header ("MZ" whose e_lfanew points at
 * "PE\0\0" when those bytes are there) or an ELF header ("\x7fELF", a valid class,
 * byte order, version and e_type) — at offset 0, or at offset 4 after a 4-byte
 * little-endian length, which is how Metasploit stagers receive their stage.
 *
 * Each direction is decided on its own from its first bytes (held, at most
 * HOLD_MAX): an executable there is carved into a file ("file-upload" when the
 * client sends it, "file-download" when the server does), with no declared name.
 * A length-prefixed file ends after that many bytes (what follows is the stage's
 * own session traffic, not the file) and is marked truncated when fewer arrived;
 * an unprefixed one runs to the end of the direction.  The file event is emitted
 * when the file ends or at flow close.  The other direction (acknowledgements, a
 * shell's commands) is not a file unless it too starts with an executable. */
#include "sensor_int.h"

#include <stdlib.h>
#include <string.h>

#define HDR_MIN 64                /* a PE's DOS header (e_lfanew is at 0x3c) */
#define ELF_MIN 18                /* through e_type */
#define PE_WAIT 1024              /* e_lfanew beyond this: not waited for */
#define PE_LFANEW_MAX 0x10000     /* beyond this: not a plausible PE */
#define PREFIX_MIN 52             /* smallest ELF (ELF32 header) */
#define PREFIX_MAX (64u << 20)    /* a stage length beyond this: not a length */
#define HOLD_MAX (PE_WAIT + 8)    /* bytes held per direction while undecided */

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int pe_at(const uint8_t *p, size_t n) {
    if (n < 1) return MM_PROBE_MAYBE;
    if (p[0] != 'M' || (n >= 2 && p[1] != 'Z')) return MM_PROBE_NO;
    if (n < HDR_MIN) return MM_PROBE_MAYBE;
    uint32_t lfanew = le32(p + 0x3c);
    if (lfanew < 4 || lfanew > PE_LFANEW_MAX) return MM_PROBE_NO;
    if ((size_t)lfanew + 4 <= n) return memcmp(p + lfanew, "PE\0\0", 4) == 0 ? MM_PROBE_YES : MM_PROBE_NO;
    if (lfanew + 4 <= PE_WAIT) return MM_PROBE_MAYBE;
    return MM_PROBE_YES;   /* a DOS header whose PE header is further than we wait */
}

static int elf_at(const uint8_t *p, size_t n) {
    static const uint8_t mag[4] = {0x7f, 'E', 'L', 'F'};
    size_t k = n < 4 ? n : 4;
    if (k && memcmp(p, mag, k) != 0) return MM_PROBE_NO;
    if (n >= 5 && p[4] != 1 && p[4] != 2) return MM_PROBE_NO;     /* EI_CLASS: 32 / 64 bit */
    if (n >= 6 && p[5] != 1 && p[5] != 2) return MM_PROBE_NO;     /* EI_DATA: LE / BE */
    if (n >= 7 && p[6] != 1) return MM_PROBE_NO;                  /* EI_VERSION */
    if (n < ELF_MIN) return MM_PROBE_MAYBE;
    unsigned type = p[5] == 1 ? (unsigned)p[16] | (unsigned)p[17] << 8 : (unsigned)p[16] << 8 | p[17];
    return type >= 1 && type <= 4 ? MM_PROBE_YES : MM_PROBE_NO;  /* REL, EXEC, DYN, CORE */
}

static int exec_at(const uint8_t *p, size_t n) {
    int a = pe_at(p, n), b = elf_at(p, n);
    return a > b ? a : b;
}

/* A direction's first n bytes: YES with *off (0, or 4 after a length prefix whose
 * value goes to *len), MAYBE, or NO. */
static int classify(const uint8_t *p, size_t n, size_t *off, uint32_t *len) {
    int r0 = exec_at(p, n);
    if (r0 == MM_PROBE_YES) {
        *off = 0, *len = 0;
        return r0;
    }
    int r4;
    if (n < 4) r4 = MM_PROBE_MAYBE;
    else {
        uint32_t l = le32(p);
        r4 = l >= PREFIX_MIN && l <= PREFIX_MAX ? exec_at(p + 4, n - 4) : MM_PROBE_NO;
        if (r4 == MM_PROBE_YES) {
            *off = 4, *len = l;
            return r4;
        }
    }
    return r0 == MM_PROBE_MAYBE || r4 == MM_PROBE_MAYBE ? MM_PROBE_MAYBE : MM_PROBE_NO;
}

static int probe(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) {
    size_t off;
    uint32_t len;
    int a = nc ? classify(c2s, nc, &off, &len) : -1;
    int b = ns ? classify(s2c, ns, &off, &len) : -1;
    if (a == MM_PROBE_YES || b == MM_PROBE_YES) return MM_PROBE_YES;
    if (a == MM_PROBE_MAYBE || b == MM_PROBE_MAYBE) return MM_PROBE_MAYBE;
    /* a direction that spoke and is not an executable: not this (waiting for the
     * silent side would hold every unknown flow) */
    return nc || ns ? MM_PROBE_NO : MM_PROBE_MAYBE;
}

enum { D_UNDECIDED, D_FILE, D_OFF };

typedef struct rdir {
    int state;
    uint8_t *hold;
    size_t nhold;
    mm_sfile *file;
    bool bounded;                 /* length-prefixed: `left` bytes still belong to it */
    uint64_t left;
} rdir;

typedef struct rstate {
    rdir d[2];
} rstate;

static void *open_(mm_flow *f) {
    rstate *s = calloc(1, sizeof *s);
    if (!s) mm_sensor_app_error(f, "raw-file", "out of memory");
    return s;
}

static void file_end(mm_flow *f, rdir *d) {
    if (!d->file) return;
    if (d->bounded && d->left) mm_sfile_gap(d->file, 0);   /* fewer bytes than announced */
    mm_sfile_close(d->file, NULL);
    d->file = NULL;
    d->state = D_OFF;
}

static void carve(mm_flow *f, rdir *d, const uint8_t *p, size_t n) {
    if (d->bounded) {
        if (n > d->left) n = (size_t)d->left;
        d->left -= n;
    }
    mm_sfile_write(d->file, p, n);
    if (d->bounded && !d->left) file_end(f, d);
}

/* Decide a direction from its held bytes (final: nothing more will come). */
static void decide(mm_flow *f, rdir *d, int dir, bool final) {
    size_t off = 0;
    uint32_t len = 0;
    int r = classify(d->hold, d->nhold, &off, &len);
    if (r == MM_PROBE_MAYBE && !final && d->nhold < HOLD_MAX) return;
    if (r == MM_PROBE_YES) {
        d->file = mm_sfile_open(f, dir, dir == MM_C2S ? "file-upload" : "file-download", NULL, 0);
        if (d->file) {
            d->state = D_FILE;
            d->bounded = off != 0;
            d->left = len;
            carve(f, d, d->hold + off, d->nhold - off);
        } else
            d->state = D_OFF;
    } else
        d->state = D_OFF;
    free(d->hold);
    d->hold = NULL;
    d->nhold = 0;
}

static void data(void *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    rstate *s = st;
    rdir *d = &s->d[dir & 1];
    while (n && d->state == D_UNDECIDED) {
        if (!d->hold && !(d->hold = malloc(HOLD_MAX))) {
            mm_sensor_app_error(f, "raw-file", "out of memory");
            d->state = D_OFF;
            return;
        }
        size_t k = HOLD_MAX - d->nhold < n ? HOLD_MAX - d->nhold : n;
        memcpy(d->hold + d->nhold, p, k);
        d->nhold += k;
        p += k, n -= k;
        decide(f, d, dir & 1, false);
    }
    if (n && d->state == D_FILE) carve(f, d, p, n);
}

static void gap(void *st, mm_flow *f, int dir, size_t n) {
    rstate *s = st;
    rdir *d = &s->d[dir & 1];
    /* undecided: decide on what came before the gap (the header may be gone) */
    if (d->state == D_UNDECIDED) decide(f, d, dir & 1, true);
    if (d->state == D_FILE) {
        mm_sfile_gap(d->file, n);
        if (d->bounded) {
            d->left = n >= d->left ? 0 : d->left - n;
            if (!d->left) file_end(f, d);
        }
    }
}

static void close_(void *st, mm_flow *f) {
    rstate *s = st;
    if (!s) return;
    for (int dir = 0; dir < 2; dir++) {
        rdir *d = &s->d[dir];
        if (d->state == D_UNDECIDED && d->nhold) decide(f, d, dir, true);
        file_end(f, d);
        free(d->hold);
    }
    free(s);
}

/* No standard port: raw connections use whatever port the tool listens on. */
const mm_analyzer mm_app_rawfile = {"raw-file", 1, 0, NULL, probe, open_, data, gap, close_};
