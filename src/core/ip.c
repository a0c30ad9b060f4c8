/* IPv4/IPv6 addresses and CIDR blocks: parsed once, compared as bytes. */
#include "core.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

bool mm_ip_parse(mm_str s, mm_ip *out) {
    char tmp[64];
    if (s.len == 0 || s.len >= sizeof tmp) return false;
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = 0;
    /* IPv6 zone ids (fe80::1%eth0) are dropped */
    char *pct = strchr(tmp, '%');
    if (pct) *pct = 0;
    memset(out, 0, sizeof *out);
    if (memchr(tmp, ':', strlen(tmp))) {
        if (inet_pton(AF_INET6, tmp, out->b) != 1) return false;
        out->af = 6;
        /* v4-mapped addresses compare as v4 */
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(out->b, mapped, 12) == 0) {
            memmove(out->b, out->b + 12, 4);
            memset(out->b + 4, 0, 12);
            out->af = 4;
        }
        return true;
    }
    /* inet_pton(AF_INET) refuses leading zeros and short forms, which is what we want */
    if (inet_pton(AF_INET, tmp, out->b) != 1) return false;
    out->af = 4;
    return true;
}

void mm_ip_fmt(const mm_ip *ip, char out[48]) {
    if (ip->af == 4) {   /* by hand: inet_ntop goes through printf */
        char *o = out;
        for (int i = 0; i < 4; i++) {
            unsigned v = ip->b[i];
            if (v >= 100) *o++ = (char)('0' + v / 100);
            if (v >= 10) *o++ = (char)('0' + v / 10 % 10);
            *o++ = (char)('0' + v % 10);
            *o++ = i < 3 ? '.' : 0;
        }
    } else if (ip->af == 6) inet_ntop(AF_INET6, ip->b, out, 48);
    else if (ip->af == 6) inet_ntop(AF_INET6, ip->b, out, 48);
    else out[0] = 0;
}

bool mm_ip_eq(const mm_ip *a, const mm_ip *b) {
    if (a->af != b->af) return false;
    return memcmp(a->b, b->b, a->af == 4 ? 4 : 16) == 0;
}

bool mm_cidr_parse(mm_str s, mm_cidr *out) {
    uint32_t slash = s.len;
    for (uint32_t i = 0; i < s.len; i++)
        if (s.p[i] == '/') {
            slash = i;
            break;
        }
    if (!mm_ip_parse((mm_str){s.p, slash}, &out->net)) return false;
    int max = out->net.af == 4 ? 32 : 128;
    int bits = max;
    if (slash < s.len) {
        int64_t v;
        if (!mm_str_to_i64((mm_str){s.p + slash + 1, s.len - slash - 1}, &v) || v < 0 || v > max)
            return false;
        bits = (int)v;
    }
    out->bits = (uint8_t)bits;
    /* clear host bits so contains() is a plain prefix compare */
    int nbytes = max / 8;
    for (int i = 0; i < nbytes; i++) {
        int lo = i * 8;
        if (lo >= bits) out->net.b[i] = 0;
        else if (lo + 8 > bits) out->net.b[i] &= (uint8_t)(0xff << (8 - (bits - lo)));
    }
    return true;
}

bool mm_cidr_contains(const mm_cidr *c, const mm_ip *ip) {
    if (c->net.af != ip->af) return false;
    int bits = c->bits, full = bits / 8;
    if (memcmp(c->net.b, ip->b, (size_t)full) != 0) return false;
    int rem = bits % 8;
    if (rem == 0) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rem));
    return (c->net.b[full] & mask) == (ip->b[full] & mask);
}

bool mm_ip_is_private(const mm_ip *ip) {
    const uint8_t *b = ip->b;
    if (ip->af == 4) {
        return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
               b[0] == 127 || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && (b[1] & 0xc0) == 64);
    }
    if (ip->af == 6) {
        static const uint8_t lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
               memcmp(b, lo, 16) == 0;
    }
    return false;
}
