/* libFuzzer target: indicator list parser and lookups.  Any bytes are a list; then
 * every line of the input is also looked up as an event value of every type. */
#include "detect/detect_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mm_ioc_set *s = mm_ioc_set_new();
    int bad = 0;
    mm_ioc_parse(s, "fuzz", (const char *)data, size, &bad);
    size_t pos = 0;
    int lines = 0;
    while (pos < size && lines++ < 64) {
        size_t e = pos;
        while (e < size && data[e] != '\n') e++;
        mm_str v = {(const char *)data + pos, (uint32_t)(e - pos > 100000 ? 100000 : e - pos)};
        mm_ioc_hit hit;
        mm_ioc_match(s, v, NULL, MM_IOC_ANY, &hit);
        mm_ioc_match(s, v, NULL, MM_IOC_URL, &hit);
        mm_ioc_match(s, v, NULL, MM_IOC_DOMAIN, &hit);
        mm_ioc_match_url_parts(s, v, (mm_str){NULL, 0}, v, v, &hit);
        mm_ip ip;
        if (mm_ip_parse(v, &ip)) mm_ioc_match(s, v, &ip, MM_IOC_IP, &hit);
        pos = e + 1;
    }
    mm_ioc_set_free(s);
    return 0;
}
