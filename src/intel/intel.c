/* intel: what the feed readers share — the indicator type names and the check of
 * a value against its type. */
#include "intel.h"

#include <string.h>
#include <strings.h>

static const char *const names[MM_IND__COUNT] = {
    [MM_IND_NONE] = "none",         [MM_IND_IP] = "ip",         [MM_IND_DOMAIN] = "domain",
    [MM_IND_URL] = "url",           [MM_IND_MD5] = "md5",       [MM_IND_SHA1] = "sha1",
    [MM_IND_SHA256] = "sha256",     [MM_IND_JA3] = "ja3",       [MM_IND_EMAIL] = "email",
    [MM_IND_FILENAME] = "filename", [MM_IND_USER_AGENT] = "user_agent",
};

const char *mm_intel_type_name(mm_ind_type t) {
    return t > MM_IND_NONE && t < MM_IND__COUNT ? names[t] : "none";
}

mm_ind_type mm_intel_type_parse(const char *name) {
    if (!name) return MM_IND_NONE;
    for (int t = MM_IND_NONE + 1; t < MM_IND__COUNT; t++)
        if (!strcasecmp(name, names[t])) return (mm_ind_type)t;
    if (!strcasecmp(name, "ipv4") || !strcasecmp(name, "ipv6") || !strcasecmp(name, "cidr")) return MM_IND_IP;
    if (!strcasecmp(name, "hostname") || !strcasecmp(name, "fqdn")) return MM_IND_DOMAIN;
    if (!strcasecmp(name, "ua") || !strcasecmp(name, "user-agent") || !strcasecmp(name, "useragent"))
        return MM_IND_USER_AGENT;
    /* the spellings feeds use (MISP, OTX, STIX object names) */
    static const struct { const char *n; mm_ind_type t; } syn[] = {
        {"ip-src", MM_IND_IP},        {"ip-dst", MM_IND_IP},          {"ipv4-addr", MM_IND_IP},
        {"ipv6-addr", MM_IND_IP},     {"ip_address", MM_IND_IP},      {"domain-name", MM_IND_DOMAIN},
        {"uri", MM_IND_URL},          {"filehash-md5", MM_IND_MD5},   {"filehash-sha1", MM_IND_SHA1},
        {"filehash-sha256", MM_IND_SHA256}, {"ja3-fingerprint-md5", MM_IND_JA3},
        {"email-src", MM_IND_EMAIL},  {"email-dst", MM_IND_EMAIL},    {"email-addr", MM_IND_EMAIL},
        {"file-name", MM_IND_FILENAME}, {"user_agent", MM_IND_USER_AGENT},
    };
    for (size_t i = 0; i < sizeof syn / sizeof syn[0]; i++)
        if (!strcasecmp(name, syn[i].n)) return syn[i].t;
    return MM_IND_NONE;
}

static bool all_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
    }
    return true;
}

const char *mm_intel_value_check(mm_ind_type t, const char *v, size_t n) {
    if (!n) return "empty value";
    if (n > 8192) return "value too long";
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)v[k] < 0x20 || v[k] == 0x7f) return "control byte in value";
    size_t want = t == MM_IND_MD5 || t == MM_IND_JA3 ? 32 : t == MM_IND_SHA1 ? 40 : t == MM_IND_SHA256 ? 64 : 0;
    if (want) {
        if (n != want) return "hash of the wrong length";
        if (!all_hex(v, n)) return "hash not in hex";
    }
    switch (t) {
    case MM_IND_IP: {
        mm_cidr c;
        if (n > 64 || !mm_cidr_parse((mm_str){v, (uint32_t)n}, &c)) return "not an IP address or CIDR";
        break;
    }
    case MM_IND_DOMAIN: {
        if (n > 254) return "domain name too long";
        bool alnum = false;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)v[i];
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80) alnum = true;
            else if (c == ' ') return "space in a domain name";
            else if (c != '-' && c != '.' && c != '_' && c != '*') return "character not allowed in a domain name";
        }
        if (!alnum) return "not a domain name";
        break;
    }
    case MM_IND_EMAIL: {
        if (memchr(v, ' ', n)) return "space in the value";
        const char *at = memchr(v, '@', n);
        if (!at) return "e-mail address without @";
        if (at == v || at == v + n - 1 || memchr(at + 1, '@', (size_t)(v + n - at - 1)))
            return "not one address (local@domain)";
        break;
    }
    case MM_IND_URL:
        if (memchr(v, ' ', n)) return "space in the value";
        break;
    default:
        break;
    }
    return NULL;
}

char *mm_intel_redact_url(const char *url, char *out, size_t cap) {
    size_t o = 0;
    if (!cap) return out;
    if (!url) url = "";
    const char *p = url;
    const char *sch = strstr(p, "://");
    const char *auth = sch ? sch + 3 : p;
    /* scheme */
    for (; p < auth && o + 1 < cap; p++) out[o++] = *p;
    /* authority: drop everything up to the last '@' before the path */
    const char *end = auth;
    while (*end && *end != '/' && *end != '?' && *end != '#') end++;
    const char *at = NULL;
    for (const char *q = auth; q < end; q++)
        if (*q == '@') at = q;
    if (at) p = at + 1;
    bool in_query = false, in_value = false;
    for (; *p && o + 1 < cap; p++) {
        char c = *p;
        if (c == '#') in_query = in_value = false;
        if (in_query && in_value && c != '&') continue;
        if (c == '?') in_query = true;
        if (in_query && (c == '&' || c == '?')) in_value = false;
        out[o++] = c;
        if (in_query && c == '=' && !in_value) {
            in_value = true;
            if (o + 1 < cap) out[o++] = '*';
        }
    }
    out[o] = 0;
    return out;
}

const char *mm_intel_composite_bar(const char *v, size_t n, bool first) {
    if (first) return memchr(v, '|', n);
    for (size_t i = n; i-- > 0;)
        if (v[i] == '|') return v + i;
    return NULL;
}
