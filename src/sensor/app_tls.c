/* app_tls: the clear part of a TLS handshake (RFC 5246, RFC 8446).  Records are read
 * in both directions; handshake messages are reassembled per direction (up to
 * TLS_HS_MAX, larger ones are skipped and counted) until the direction turns to
 * ciphertext (ChangeCipherSpec, or the ServerHello of TLS 1.3).
 *
 * From the ClientHello: SNI, ALPN offers, JA3 (Salesforce's fingerprint; GREASE values
 * dropped from every list).  From the ServerHello: version (supported_versions wins),
 * cipher, chosen ALPN, JA3S.  From the first certificate of a TLS <= 1.2 Certificate
 * message: subject and issuer DNs (written "C=GB, ST=London, ..., CN=x" like nDPI),
 * validity, SANs, serial and SHA-1 of the DER.
 *
 * One "tls-handshake" event per connection, sent when the handshake is complete (both
 * sides switched to ciphertext) so it can say tls.established, or at close with what
 * was seen. */
#include "sensor_int.h"

#include <nettle/md5.h>
#include <nettle/sha1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TLS_HS_MAX (64 * 1024)        /* one handshake message, buffered */
#define TLS_REC_MAX (16384 + 2048)    /* TLSCiphertext limit */
#define TLS_ALPN_MAX 32               /* protocols kept from the offer */
#define TLS_SAN_MAX 256
#define TLS_DN_MAX 1024               /* subject / issuer text */

static const uint16_t ports[] = {443, 465, 993, 995, 8443, 636, 853, 0};

enum { HS_CLIENT_HELLO = 1, HS_SERVER_HELLO = 2, HS_CERTIFICATE = 11 };
enum { REC_CCS = 20, REC_ALERT = 21, REC_HANDSHAKE = 22, REC_APPDATA = 23, REC_HEARTBEAT = 24 };

typedef struct tls_dir {
    uint8_t hdr[5];
    uint8_t hdr_len;
    uint8_t rec_type;
    size_t rec_left;          /* body bytes of the current record still to come */
    uint8_t *hs;              /* handshake reassembly, grows to TLS_HS_MAX */
    size_t hs_len, hs_cap, hs_skip;
    bool started;             /* a record header was read (SSLv2 check is first-only) */
    bool enc;                 /* handshake records are ciphertext from here on */
    bool ccs, appdata, dead;
} tls_dir;

typedef struct tls_state {
    tls_dir d[2];
    bool have_ch, have_sh, have_cert, emitted;
    uint16_t sh_version, sh_cipher;
    char sni[256];
    size_t sni_len;
    char ja3[33], ja3s[33];
    mm_buf ja3_str;
    mm_buf alpn;              /* offered: [len][bytes]... */
    int nalpn;
    char alpn_chosen[256];
    size_t alpn_chosen_len;
    /* first certificate */
    mm_buf subject, issuer;
    char subject_cn[256], issuer_cn[256];
    int64_t not_before, not_after;
    bool have_nb, have_na;
    char sha1[2 * SHA1_DIGEST_SIZE + 1];
    char serial[2 * 32 + 1];
    mm_buf san;               /* [len][bytes]... */
    int nsan;
} tls_state;

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static size_t be24(const uint8_t *p) { return (size_t)p[0] << 16 | (size_t)p[1] << 8 | p[2]; }
static bool grease(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

/* A bounds-checked reader over one handshake message. */
typedef struct rd {
    const uint8_t *p;
    size_t n;
    bool bad;
} rd;

static const uint8_t *take(rd *r, size_t k) {
    if (r->bad || k > r->n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += k;
    r->n -= k;
    return p;
}
static unsigned u8(rd *r) {
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}
static unsigned u16(rd *r) {
    const uint8_t *p = take(r, 2);
    return p ? be16(p) : 0;
}
/* A sub-reader over the next k bytes. */
static rd sub(rd *r, size_t k) {
    const uint8_t *p = take(r, k);
    return (rd){p, p ? k : 0, !p};
}

static void md5_hex(const void *p, size_t n, char out[33]) {
    struct md5_ctx c;
    uint8_t d[MD5_DIGEST_SIZE];
    md5_init(&c);
    md5_update(&c, n, p);
    md5_digest(&c, sizeof d, d);
    mm_hex(out, d, sizeof d);
}

/* ---- ClientHello ---- */

static void put_u16_list(mm_buf *b, rd r, bool dash_first) {
    bool first = true;
    while (r.n >= 2) {
        unsigned v = u16(&r);
        if (grease((uint16_t)v)) continue;
        if (!first || dash_first) mm_buf_putc(b, '-');
        mm_buf_printf(b, "%u", v);
        first = false;
    }
}

static void client_hello(tls_state *s, mm_flow *f, const uint8_t *p, size_t n) {
    if (s->have_ch) return;   /* the second hello after a HelloRetryRequest */
    rd r = {p, n, false};
    unsigned version = u16(&r);
    take(&r, 32);
    take(&r, u8(&r));
    rd ciphers = sub(&r, u16(&r));
    take(&r, u8(&r));         /* compression methods */
    if (r.bad || ciphers.n % 2) {
        mm_sensor_app_error(f, "tls", "bad-client-hello");
        return;
    }
    rd exts = {0};
    if (r.n >= 2) exts = sub(&r, u16(&r));
    if (r.bad) {
        mm_sensor_app_error(f, "tls", "bad-client-hello");
        return;
    }
    s->have_ch = true;
    mm_buf *j = &s->ja3_str;
    mm_buf ext_list = {0}, groups = {0}, formats = {0};
    bool first_ext = true;
    while (exts.n >= 4 && !exts.bad) {
        unsigned type = u16(&exts);
        rd e = sub(&exts, u16(&exts));
        if (exts.bad) break;
        if (!grease((uint16_t)type)) {
            mm_buf_printf(&ext_list, first_ext ? "%u" : "-%u", type);
            first_ext = false;
        }
        if (type == 0 && !s->sni_len) {            /* server_name */
            rd list = sub(&e, u16(&e));
            while (list.n >= 3 && !list.bad) {
                unsigned nt = u8(&list);
                rd name = sub(&list, u16(&list));
                if (list.bad) break;
                if (nt == 0 && name.n && name.n < sizeof s->sni) {
                    memcpy(s->sni, name.p, name.n);
                    s->sni_len = name.n;
                    break;
                }
            }
        } else if (type == 10) {                   /* supported_groups */
            if (!groups.len) put_u16_list(&groups, sub(&e, u16(&e)), false);
        } else if (type == 11) {                   /* ec_point_formats */
            rd l = sub(&e, u8(&e));
            for (size_t i = 0; i < l.n; i++) mm_buf_printf(&formats, i ? "-%u" : "%u", l.p[i]);
        } else if (type == 16) {                   /* ALPN */
            rd l = sub(&e, u16(&e));
            while (l.n && !l.bad) {
                rd proto = sub(&l, u8(&l));
                if (l.bad || !proto.n) break;
                if (s->nalpn == TLS_ALPN_MAX) {
                    mm_sensor_app_error(f, "tls", "too-many-alpn");
                    break;
                }
                mm_buf_putc(&s->alpn, (char)proto.n);
                mm_buf_put(&s->alpn, proto.p, proto.n);
                s->nalpn++;
            }
        }
    }
    mm_buf_printf(j, "%u,", version);
    put_u16_list(j, ciphers, false);
    mm_buf_putc(j, ',');
    if (ext_list.len) mm_buf_put(j, ext_list.p, ext_list.len);
    mm_buf_putc(j, ',');
    if (groups.len) mm_buf_put(j, groups.p, groups.len);
    mm_buf_putc(j, ',');
    if (formats.len) mm_buf_put(j, formats.p, formats.len);
    md5_hex(j->p, j->len, s->ja3);
    mm_buf_free(&ext_list);
    mm_buf_free(&groups);
    mm_buf_free(&formats);
    if (s->sni_len && mm_host_is_ip(s->sni, s->sni_len)) f->risks |= MM_RISK_NUMERIC_HOST;
}

/* ---- ServerHello ---- */

/* SHA-256("HelloRetryRequest"): the random of a ServerHello that is really an HRR. */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

static void server_hello(tls_state *s, mm_flow *f, const uint8_t *p, size_t n) {
    if (s->have_sh) return;
    rd r = {p, n, false};
    unsigned version = u16(&r);
    const uint8_t *random = take(&r, 32);
    take(&r, u8(&r));
    unsigned cipher = u16(&r);
    u8(&r);
    if (r.bad) {
        mm_sensor_app_error(f, "tls", "bad-server-hello");
        return;
    }
    if (!memcmp(random, hrr_random, 32)) return;   /* the real ServerHello follows */
    rd exts = {0};
    if (r.n >= 2) exts = sub(&r, u16(&r));
    mm_buf js = {0};
    mm_buf_printf(&js, "%u,%u,", version, cipher);
    unsigned chosen = version;
    bool first = true;
    while (exts.n >= 4 && !exts.bad) {
        unsigned type = u16(&exts);
        rd e = sub(&exts, u16(&exts));
        if (exts.bad) break;
        if (!grease((uint16_t)type)) {
            mm_buf_printf(&js, first ? "%u" : "-%u", type);
            first = false;
        }
        if (type == 43 && e.n == 2) chosen = be16(e.p);
        if (type == 16) {
            rd l = sub(&e, u16(&e));
            rd proto = sub(&l, u8(&l));
            if (!l.bad && proto.n) {
                memcpy(s->alpn_chosen, proto.p, proto.n);   /* n <= 255 */
                s->alpn_chosen_len = proto.n;
            }
        }
    }
    if (exts.bad) mm_sensor_app_error(f, "tls", "bad-server-hello");
    md5_hex(js.p, js.len, s->ja3s);
    mm_buf_free(&js);
    s->have_sh = true;
    s->sh_version = (uint16_t)chosen;
    s->sh_cipher = (uint16_t)cipher;
    /* TLS 1.3 (and its drafts, 0x7fxx): everything after the ServerHello is sealed. */
    if (chosen == 0x0304 || (chosen >> 8) == 0x7f) s->d[MM_S2C].enc = true;
}

/* ---- X.509, as much DER as the event needs ---- */

typedef struct der {
    const uint8_t *p;
    size_t n;
} der;

/* Next TLV of in: tag and contents.  Low-tag-number form and definite lengths only
 * (DER). */
static bool der_next(der *in, uint8_t *tag, der *val) {
    if (in->n < 2) return false;
    uint8_t t = in->p[0];
    if ((t & 0x1f) == 0x1f) return false;
    size_t l = in->p[1], hl = 2;
    if (l & 0x80) {
        size_t k = l & 0x7f;
        if (k == 0 || k > 4 || in->n < 2 + k) return false;
        l = 0;
        for (size_t i = 0; i < k; i++) l = l << 8 | in->p[2 + i];
        hl += k;
    }
    if (l > in->n - hl) return false;
    *tag = t;
    val->p = in->p + hl;
    val->n = l;
    in->p += hl + l;
    in->n -= hl + l;
    return true;
}

static bool der_expect(der *in, uint8_t want, der *val) {
    uint8_t t;
    return der_next(in, &t, val) && t == want;
}

static const struct {
    uint8_t len;
    uint8_t oid[11];
    const char *name;
} attr_names[] = {
    {3, {0x55, 0x04, 0x03}, "CN"},           {3, {0x55, 0x04, 0x06}, "C"},
    {3, {0x55, 0x04, 0x07}, "L"},            {3, {0x55, 0x04, 0x08}, "ST"},
    {3, {0x55, 0x04, 0x0a}, "O"},            {3, {0x55, 0x04, 0x0b}, "OU"},
    {3, {0x55, 0x04, 0x05}, "serialNumber"}, {3, {0x55, 0x04, 0x09}, "street"},
    {3, {0x55, 0x04, 0x11}, "postalCode"},   {3, {0x55, 0x04, 0x04}, "SN"},
    {3, {0x55, 0x04, 0x2a}, "GN"},           {3, {0x55, 0x04, 0x0c}, "title"},
    {3, {0x55, 0x04, 0x0f}, "businessCategory"},
    {9, {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01}, "emailAddress"},
    {10, {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19}, "DC"},
    {10, {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01}, "UID"},
    {11, {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x03}, "jurisdictionC"},
    {11, {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x02}, "jurisdictionST"},
    {11, {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x01}, "jurisdictionL"},
};

static void put_oid(mm_buf *b, der oid) {
    for (size_t i = 0; i < sizeof attr_names / sizeof attr_names[0]; i++)
        if (oid.n == attr_names[i].len && !memcmp(oid.p, attr_names[i].oid, oid.n)) {
            mm_buf_puts(b, attr_names[i].name);
            return;
        }
    /* Dotted form of anything else (arcs past 2^56 end the text). */
    uint64_t v = 0;
    bool first = true;
    for (size_t i = 0; i < oid.n && !(v >> 56); i++) {
        v = v << 7 | (oid.p[i] & 0x7f);
        if (oid.p[i] & 0x80) continue;
        if (first) {
            unsigned top = v < 80 ? (unsigned)(v / 40) : 2;
            mm_buf_printf(b, "%u.%llu", top, (unsigned long long)(v - top * 40u));
            first = false;
        } else {
            mm_buf_printf(b, ".%llu", (unsigned long long)v);
        }
        v = 0;
    }
}

/* A directory string as UTF-8: BMPString and UniversalString are converted, the
 * 8-bit kinds copied as they are (the JSON writer escapes what is not UTF-8). */
static void put_dstring(mm_buf *b, uint8_t tag, der v) {
    if (tag == 0x1e || tag == 0x1c) {
        size_t w = tag == 0x1e ? 2 : 4;
        for (size_t i = 0; i + w <= v.n; i += w) {
            uint32_t c = 0;
            for (size_t k = 0; k < w; k++) c = c << 8 | v.p[i + k];
            if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;
            char u[4];
            size_t l;
            if (c < 0x80) u[0] = (char)c, l = 1;
            else if (c < 0x800) u[0] = (char)(0xc0 | c >> 6), u[1] = (char)(0x80 | (c & 0x3f)), l = 2;
            else if (c < 0x10000)
                u[0] = (char)(0xe0 | c >> 12), u[1] = (char)(0x80 | ((c >> 6) & 0x3f)),
                u[2] = (char)(0x80 | (c & 0x3f)), l = 3;
            else
                u[0] = (char)(0xf0 | c >> 18), u[1] = (char)(0x80 | ((c >> 12) & 0x3f)),
                u[2] = (char)(0x80 | ((c >> 6) & 0x3f)), u[3] = (char)(0x80 | (c & 0x3f)), l = 4;
            mm_buf_put(b, u, l);
        }
        return;
    }
    mm_buf_put(b, v.p, v.n);
}

/* Name -> "C=GB, ST=London, CN=x" into out (capped), first CN into cn. */
static bool dn(mm_flow *f, der name, mm_buf *out, char cn[256]) {
    mm_buf tmp = {0};
    bool ok = true;
    uint8_t t;
    der set, seq;
    while (name.n && ok) {
        if (!der_next(&name, &t, &set) || t != 0x31) {
            ok = false;
            break;
        }
        while (set.n) {
            der oid, val;
            if (!der_expect(&set, 0x30, &seq) || !der_expect(&seq, 0x06, &oid) ||
                !der_next(&seq, &t, &val)) {
                ok = false;
                break;
            }
            if (tmp.len) mm_buf_puts(&tmp, ", ");
            size_t at = tmp.len;
            put_oid(&tmp, oid);
            bool is_cn = tmp.len - at == 2 && !memcmp(tmp.p + at, "CN", 2);
            mm_buf_putc(&tmp, '=');
            at = tmp.len;
            put_dstring(&tmp, t, val);
            if (is_cn && !cn[0]) {
                size_t l = tmp.len - at < 255 ? tmp.len - at : 255;
                memcpy(cn, tmp.p + at, l);
                cn[l] = 0;
            }
        }
    }
    if (tmp.len > TLS_DN_MAX) {
        mm_sensor_app_error(f, "tls", "dn-too-long");
        tmp.len = TLS_DN_MAX;
    }
    if (tmp.len) mm_buf_put(out, tmp.p, tmp.len);
    mm_buf_free(&tmp);
    return ok;
}

static bool digits(const uint8_t *p, size_t n, int *v) {
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        *v = *v * 10 + (p[i] - '0');
    }
    return true;
}

/* UTCTime (YYMMDDhhmm[ss]Z) or GeneralizedTime (YYYYMMDDhhmmss[.f]Z) -> ns.  Years past
 * what int64 nanoseconds hold (RFC 5280's 99991231235959Z "no expiry") are clamped. */
static bool cert_time(uint8_t tag, der v, int64_t *ns) {
    int y, mo, d, h, mi, s = 0;
    const uint8_t *p = v.p;
    size_t yl = tag == 0x17 ? 2 : tag == 0x18 ? 4 : 0;
    if (!yl || v.n < yl + 8 + 1) return false;
    if (!digits(p, yl, &y) || !digits(p + yl, 2, &mo) || !digits(p + yl + 2, 2, &d) ||
        !digits(p + yl + 4, 2, &h) || !digits(p + yl + 6, 2, &mi))
        return false;
    if (v.n >= yl + 10 + 1 && !digits(p + yl + 8, 2, &s)) s = 0;
    if (yl == 2) y += y < 50 ? 2000 : 1900;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
    if (y < 1678) return false;
    if (y > 2261) y = 2261, mo = 12, d = 31, h = 23, mi = 59, s = 59;
    *ns = mm_time_from_civil(y, mo, d, h, mi, s) * 1000000000LL;
    return true;
}

static void san(tls_state *s, mm_flow *f, der ext) {
    der seq;
    if (!der_expect(&ext, 0x30, &seq)) return;
    while (seq.n) {
        uint8_t t;
        der v;
        if (!der_next(&seq, &t, &v)) {
            mm_sensor_app_error(f, "tls", "bad-certificate");
            return;
        }
        char ipbuf[48];
        const void *txt = v.p;
        size_t l = v.n;
        if (t == 0x87 && (v.n == 4 || v.n == 16)) {   /* iPAddress */
            mm_ip ip = {.af = v.n == 4 ? 4 : 6};
            memcpy(ip.b, v.p, v.n);
            mm_ip_fmt(&ip, ipbuf);
            txt = ipbuf;
            l = strlen(ipbuf);
        } else if (t != 0x82 && t != 0x81) {          /* dNSName, rfc822Name */
            continue;
        }
        if (s->nsan == TLS_SAN_MAX) {
            mm_sensor_app_error(f, "tls", "too-many-san");
            return;
        }
        if (l > 255) l = 255;
        mm_buf_putc(&s->san, (char)l);
        mm_buf_put(&s->san, txt, l);
        s->nsan++;
    }
}

static void certificate(tls_state *s, mm_flow *f, const uint8_t *p, size_t n) {
    if (s->have_cert) return;
    rd r = {p, n, false};
    size_t total = 0, clen = 0;
    const uint8_t *q = take(&r, 3);
    if (q) total = be24(q);
    if (q && total && (q = take(&r, 3))) clen = be24(q);
    const uint8_t *cert = take(&r, clen);
    if (r.bad || !cert || !clen) {
        if (r.bad) mm_sensor_app_error(f, "tls", "bad-certificate");
        return;
    }
    s->have_cert = true;
    struct sha1_ctx c;
    uint8_t dg[SHA1_DIGEST_SIZE];
    sha1_init(&c);
    sha1_update(&c, clen, cert);
    sha1_digest(&c, sizeof dg, dg);
    mm_hex(s->sha1, dg, sizeof dg);

    der in = {cert, clen}, crt, tbs, v, name;
    uint8_t t;
    if (!der_expect(&in, 0x30, &crt) || !der_expect(&crt, 0x30, &tbs)) goto bad;
    if (!der_next(&tbs, &t, &v)) goto bad;
    if (t == 0xa0 && !der_next(&tbs, &t, &v)) goto bad;   /* [0] version */
    if (t != 0x02) goto bad;                               /* serialNumber */
    {
        size_t sn = v.n, off = 0;
        while (sn - off > 1 && v.p[off] == 0) off++;
        if (sn - off > 32) off = sn - 32;
        mm_hex(s->serial, v.p + off, sn - off);
        for (char *x = s->serial; *x; x++)
            if (*x >= 'a' && *x <= 'f') *x = (char)(*x - 32);   /* ECS: upper case */
    }
    if (!der_expect(&tbs, 0x30, &v)) goto bad;             /* signature algorithm */
    if (!der_expect(&tbs, 0x30, &name) || !dn(f, name, &s->issuer, s->issuer_cn)) goto bad;
    der validity, tv;
    if (!der_expect(&tbs, 0x30, &validity)) goto bad;
    if (der_next(&validity, &t, &tv)) s->have_nb = cert_time(t, tv, &s->not_before);
    if (der_next(&validity, &t, &tv)) s->have_na = cert_time(t, tv, &s->not_after);
    if (!der_expect(&tbs, 0x30, &name) || !dn(f, name, &s->subject, s->subject_cn)) goto bad;
    if (!der_expect(&tbs, 0x30, &v)) goto bad;             /* subjectPublicKeyInfo */
    while (der_next(&tbs, &t, &v)) {
        if (t != 0xa3) continue;                           /* [3] extensions */
        der exts, ext, oid, val;
        if (!der_expect(&v, 0x30, &exts)) goto bad;
        while (der_expect(&exts, 0x30, &ext)) {
            if (!der_expect(&ext, 0x06, &oid)) goto bad;
            if (!der_next(&ext, &t, &val)) goto bad;
            if (t == 0x01 && !der_next(&ext, &t, &val)) goto bad;   /* critical */
            if (t == 0x04 && oid.n == 3 && !memcmp(oid.p, "\x55\x1d\x11", 3)) san(s, f, val);
        }
    }
    return;
bad:
    mm_sensor_app_error(f, "tls", "bad-certificate");
}

/* ---- record and handshake layers ---- */

static void handshake(tls_state *s, mm_flow *f, int dir, unsigned type, const uint8_t *p, size_t n) {
    if (dir == MM_C2S && type == HS_CLIENT_HELLO) client_hello(s, f, p, n);
    else if (dir == MM_S2C && type == HS_SERVER_HELLO) server_hello(s, f, p, n);
    else if (dir == MM_S2C && type == HS_CERTIFICATE) certificate(s, f, p, n);
}

/* Hand complete messages of the reassembly buffer to handshake(). */
static void hs_process(tls_state *s, mm_flow *f, int dir) {
    tls_dir *d = &s->d[dir];
    size_t off = 0;
    while (d->hs_len - off >= 4) {
        size_t mlen = be24(d->hs + off + 1);
        if (mlen > TLS_HS_MAX - 4) {
            mm_sensor_app_error(f, "tls", "handshake-too-large");
            d->hs_skip = 4 + mlen - (d->hs_len - off);
            d->hs_len = 0;
            return;
        }
        if (d->hs_len - off < 4 + mlen) break;
        handshake(s, f, dir, d->hs[off], d->hs + off + 4, mlen);
        off += 4 + mlen;
        if (d->enc) {
            d->hs_len = 0;
            return;
        }
    }
    memmove(d->hs, d->hs + off, d->hs_len - off);
    d->hs_len -= off;
}

static void hs_feed(tls_state *s, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    tls_dir *d = &s->d[dir];
    while (n && !d->enc) {
        if (d->hs_skip) {
            size_t k = n < d->hs_skip ? n : d->hs_skip;
            p += k;
            n -= k;
            d->hs_skip -= k;
            continue;
        }
        size_t k = TLS_HS_MAX - d->hs_len;   /* > 0: hs_process leaves a partial message only */
        if (k > n) k = n;
        if (d->hs_len + k > d->hs_cap) {
            size_t cap = d->hs_cap ? d->hs_cap : 4096;
            while (cap < d->hs_len + k) cap *= 2;
            if (cap > TLS_HS_MAX) cap = TLS_HS_MAX;
            uint8_t *nb = realloc(d->hs, cap);
            if (!nb) {
                mm_sensor_app_error(f, "tls", "out-of-memory");
                d->dead = true;
                return;
            }
            d->hs = nb;
            d->hs_cap = cap;
        }
        memcpy(d->hs + d->hs_len, p, k);
        d->hs_len += k;
        p += k;
        n -= k;
        hs_process(s, f, dir);
    }
}

static void emit(tls_state *s, mm_flow *f, bool established) {
    if (s->emitted || (!s->have_ch && !s->have_sh)) return;
    s->emitted = true;
    mm_sev *e = mm_sev_begin(f, "network", "protocol", "tls-handshake");
    if (s->have_sh) {
        uint16_t v = s->sh_version;
        char vb[16];
        const char *proto = "tls", *vs = vb;
        if (v == 0x0300) proto = "ssl", vs = "3.0";
        else if (v >= 0x0301 && v <= 0x0304) snprintf(vb, sizeof vb, "1.%u", (unsigned)(v - 0x0301));
        else if ((v >> 8) == 0x7f) vs = "1.3";
        else snprintf(vb, sizeof vb, "0x%04x", v);
        mm_sev_cstr(e, "tls.version", vs);
        mm_sev_cstr(e, "tls.version_protocol", proto);
        static const struct { uint16_t id; const char *name; } suites[] = {
            {0x0004, "TLS_RSA_WITH_RC4_128_MD5"}, {0x0005, "TLS_RSA_WITH_RC4_128_SHA"},
            {0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"}, {0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
            {0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"}, {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
            {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"}, {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
            {0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"}, {0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
            {0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"}, {0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"},
            {0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"}, {0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
            {0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"}, {0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
            {0x1301, "TLS_AES_128_GCM_SHA256"}, {0x1302, "TLS_AES_256_GCM_SHA384"},
            {0x1303, "TLS_CHACHA20_POLY1305_SHA256"}, {0x1304, "TLS_AES_128_CCM_SHA256"},
            {0x1305, "TLS_AES_128_CCM_8_SHA256"},
            {0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"}, {0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
            {0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"}, {0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
            {0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"}, {0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
            {0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"}, {0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
            {0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"}, {0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
            {0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"}, {0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
            {0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}, {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
            {0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"}, {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
            {0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
            {0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
        };
        const char *cn = NULL;
        for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
            if (suites[i].id == s->sh_cipher) cn = suites[i].name;
        char cb[8];
        if (!cn) snprintf(cb, sizeof cb, "0x%04x", s->sh_cipher), cn = cb;
        mm_sev_cstr(e, "tls.cipher", cn);
    }
    if (s->sni_len) mm_sev_str(e, "tls.client.server_name", s->sni, s->sni_len);
    if (s->have_ch) {
        mm_sev_cstr(e, "tls.client.ja3", s->ja3);
        mm_sev_str(e, "tls.client.ja3_string", s->ja3_str.p, s->ja3_str.len);
    }
    if (s->nalpn) {
        mm_sev_list(e, "tls.client.supported_alpn");
        for (size_t i = 0; i < s->alpn.len; i += 1 + (uint8_t)s->alpn.p[i])
            mm_sev_item(e, s->alpn.p + i + 1, (uint8_t)s->alpn.p[i]);
        mm_sev_list_end(e);
    }
    if (s->alpn_chosen_len) mm_sev_str(e, "tls.next_protocol", s->alpn_chosen, s->alpn_chosen_len);
    else if (s->nalpn) mm_sev_str(e, "tls.next_protocol", s->alpn.p + 1, (uint8_t)s->alpn.p[0]);
    if (s->have_sh) mm_sev_cstr(e, "tls.server.ja3s", s->ja3s);
    if (s->have_cert) {
        if (s->subject.len) mm_sev_str(e, "tls.server.subject", s->subject.p, s->subject.len);
        if (s->issuer.len) mm_sev_str(e, "tls.server.issuer", s->issuer.p, s->issuer.len);
        if (s->subject_cn[0]) mm_sev_cstr(e, "tls.server.x509.subject.common_name", s->subject_cn);
        if (s->issuer_cn[0]) mm_sev_cstr(e, "tls.server.x509.issuer.common_name", s->issuer_cn);
        if (s->have_nb) mm_sev_time(e, "tls.server.not_before", s->not_before);
        if (s->have_na) mm_sev_time(e, "tls.server.not_after", s->not_after);
        if (s->serial[0]) mm_sev_cstr(e, "tls.server.x509.serial_number", s->serial);
        mm_sev_cstr(e, "tls.server.hash.sha1", s->sha1);
        if (s->nsan) {
            mm_sev_list(e, "tls.server.x509.alternative_names");
            for (size_t i = 0; i < s->san.len; i += 1 + (uint8_t)s->san.p[i])
                mm_sev_item(e, s->san.p + i + 1, (uint8_t)s->san.p[i]);
            mm_sev_list_end(e);
        }
    }
    mm_sev_cstr(e, "tls.established", established ? "true" : "false");
    mm_sev_end(e);
}

/* Both sides past the clear handshake: CCS both ways (<= 1.2), or sealed records both
 * ways after the ServerHello (1.3, where the CCS is optional). */
static bool established(const tls_state *s) {
    if (!s->have_sh) return s->d[0].appdata && s->d[1].appdata;
    return (s->d[0].ccs && s->d[1].ccs) || (s->d[0].appdata && s->d[1].appdata);
}

static void data(void *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    tls_state *s = st;
    tls_dir *d = &s->d[dir & 1];
    if (s->emitted) return;
    while (n && !d->dead) {
        if (d->rec_left == 0) {
            size_t k = 5 - d->hdr_len;
            if (k > n) k = n;
            memcpy(d->hdr + d->hdr_len, p, k);
            d->hdr_len = (uint8_t)(d->hdr_len + k);
            p += k;
            n -= k;
            if (d->hdr_len < 5) break;
            d->hdr_len = 0;
            const uint8_t *h = d->hdr;
            if (!d->started && dir == MM_C2S && (h[0] & 0x80) && h[2] == 1) {
                /* SSLv2-compatible ClientHello: not fingerprinted; the server answers
                 * in TLS records, which are still read. */
                size_t l = (size_t)(h[0] & 0x7f) << 8 | h[1];
                d->started = true;
                mm_sensor_app_error(f, "tls", "sslv2-client-hello");
                if (l < 3) {
                    d->dead = true;
                    break;
                }
                d->rec_type = 0;
                d->rec_left = l - 3;
                continue;
            }
            d->started = true;
            size_t len = be16(h + 3);
            if (h[0] < REC_CCS || h[0] > REC_HEARTBEAT || h[1] != 3 || h[2] > 4 || len > TLS_REC_MAX) {
                mm_sensor_app_error(f, "tls", "bad-record");
                d->dead = true;
                break;
            }
            d->rec_type = h[0];
            d->rec_left = len;
            if (h[0] == REC_CCS) d->ccs = d->enc = true;
            if (h[0] == REC_APPDATA && (s->have_sh || dir == MM_S2C)) d->appdata = true;
            continue;
        }
        size_t k = d->rec_left < n ? d->rec_left : n;
        if (d->rec_type == REC_HANDSHAKE && !d->enc) hs_feed(s, f, dir & 1, p, k);
        p += k;
        n -= k;
        d->rec_left -= k;
    }
    if (d->enc && d->hs) {   /* nothing more to reassemble in this direction */
        free(d->hs);
        d->hs = NULL;
        d->hs_len = d->hs_cap = 0;
    }
    if (established(s)) {
        emit(s, f, true);
        s->emitted = true;   /* a flow picked up mid-stream: nothing to say, stop reading */
    }
}

/* Lost bytes: the record boundaries are lost with them. */
static void gap(void *st, mm_flow *f, int dir, size_t n) {
    tls_state *s = st;
    s->d[dir & 1].dead = true;
}

static int probe_dir(const uint8_t *p, size_t n, uint8_t hs_type) {
    static const uint8_t max[6] = {0x16, 0x03, 0x04};
    for (size_t i = 0; i < n && i < 3; i++)
        if (i == 2 ? p[i] > max[i] : p[i] != max[i]) return MM_PROBE_NO;
    if (n < 6) return MM_PROBE_MAYBE;
    size_t len = be16(p + 3);
    if (len < 4 || len > TLS_REC_MAX || p[5] != hs_type) return MM_PROBE_NO;
    return MM_PROBE_YES;
}

static int probe(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) {
    int a = nc ? probe_dir(c2s, nc, HS_CLIENT_HELLO) : -1;
    if (a == MM_PROBE_YES) return a;
    int b = ns ? probe_dir(s2c, ns, HS_SERVER_HELLO) : -1;
    if (b == MM_PROBE_YES) return b;
    if (a != MM_PROBE_MAYBE && b != MM_PROBE_MAYBE && (nc || ns)) return MM_PROBE_NO;
    return MM_PROBE_MAYBE;
}

static void *open_(mm_flow *f) { return calloc(1, sizeof(tls_state)); }

static void close_(void *st, mm_flow *f) {
    tls_state *s = st;
    if (!s) return;
    emit(s, f, established(s));
    for (int i = 0; i < 2; i++) free(s->d[i].hs);
    mm_buf_free(&s->ja3_str);
    mm_buf_free(&s->alpn);
    mm_buf_free(&s->subject);
    mm_buf_free(&s->issuer);
    mm_buf_free(&s->san);
    free(s);
}

const mm_analyzer mm_app_tls = {"tls", 1, 0, ports, probe, open_, data, gap, close_};
