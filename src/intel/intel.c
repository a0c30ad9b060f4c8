/* intel: what the feed readers share — the indicator type names. */
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
    if (!strcasecmp(name, "ua") || !strcasecmp(name, "user-agent")) return MM_IND_USER_AGENT;
    return MM_IND_NONE;
}
