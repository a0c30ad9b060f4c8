/* Time: clocks, civil conversion without libc timezone state, RFC 3339 output,
 * zone offsets and durations. */
#include "core.h"

#include <string.h>
#include <time.h>

int64_t mm_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t mm_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int64_t mm_time_from_civil(int y, int mon, int d, int h, int mi, int s) {
    return days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* "YYYY-MM-DD<sep>hh:mm:ss" of whole seconds since the epoch. */
static void put_civil(mm_buf *b, int64_t sec, char sep) {
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days -= 1;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) {
        mm_buf_printf(b, "%04lld-%02d-%02d%c%02d:%02d:%02d", (long long)y, m, d, sep, (int)(rem / 3600),
                      (int)(rem / 60 % 60), (int)(rem % 60));
        return;
    }
    /* by hand: events are written by the million and printf is the cost */
    int h = (int)(rem / 3600), mi = (int)(rem / 60 % 60), se = (int)(rem % 60), yy = (int)y;
    char t[19] = {(char)('0' + yy / 1000), (char)('0' + yy / 100 % 10), (char)('0' + yy / 10 % 10),
                  (char)('0' + yy % 10), '-', (char)('0' + m / 10), (char)('0' + m % 10), '-',
                  (char)('0' + d / 10), (char)('0' + d % 10), sep, (char)('0' + h / 10), (char)('0' + h % 10),
                  ':', (char)('0' + mi / 10), (char)('0' + mi % 10), ':', (char)('0' + se / 10),
                  (char)('0' + se % 10)};
    mm_buf_put(b, t, sizeof t);
}

/* '.' and `digits` digits of v (zero-padded). */
static void put_frac(mm_buf *b, int64_t v, int digits) {
    char t[10];
    t[0] = '.';
    for (int i = digits; i >= 1; i--, v /= 10) t[i] = (char)('0' + v % 10);
    mm_buf_put(b, t, (size_t)digits + 1);
}

void mm_time_fmt(mm_buf *b, int64_t ts_ns) {
    int64_t sec = ts_ns / 1000000000LL;
    int64_t ns = ts_ns % 1000000000LL;
    if (ns < 0) {
        ns += 1000000000LL;
        sec -= 1;
    }
    put_civil(b, sec, 'T');
    if (ns) {
        if (ns % 1000000 == 0) put_frac(b, ns / 1000000, 3);
        else if (ns % 1000 == 0) put_frac(b, ns / 1000, 6);
        else put_frac(b, ns, 9);
    }
    mm_buf_putc(b, 'Z');
}

void mm_time_fmt_local(mm_buf *b, int64_t ts_ns, int32_t off_sec) {
    int64_t sec = ts_ns / 1000000000LL + off_sec;
    if (ts_ns < 0 && ts_ns % 1000000000LL) sec -= 1;
    put_civil(b, sec, ' ');
}

/* RFC 3339 / ISO 8601 ("2024-08-28T10:33:52.123+02:00", space allowed for T), or an
 * epoch number whose magnitude tells s / ms / us / ns. */
bool mm_time_parse(mm_str s, int64_t *ns) {
    int64_t v;
    if (mm_str_to_i64(s, &v)) {
        /* nanoseconds in an int64 end in 2262: refuse what would overflow */
        if (v < 0) return false;
        if (v < 10000000000LL) {                                   /* seconds */
            if (v > INT64_MAX / 1000000000LL) return false;        /* past 2262 */
            *ns = v * 1000000000LL;
        }
        else if (v < 100000000000000LL) {                          /* ms */
            if (v > INT64_MAX / 1000000LL) return false;
            *ns = v * 1000000LL;
        } else if (v < 100000000000000000LL) {                     /* us */
            if (v > INT64_MAX / 1000LL) return false;
            *ns = v * 1000LL;
        }
        else *ns = v;
        return true;
    }
    const char *p = s.p;
    uint32_t n = s.len, i = 0;
    int f[6] = {0};
    static const int w[6] = {4, 2, 2, 2, 2, 2};
    static const char sep[6] = {'-', '-', 'T', ':', ':', 0};
    for (int k = 0; k < 6; k++) {
        for (int d = 0; d < w[k]; d++, i++) {
            if (i >= n || p[i] < '0' || p[i] > '9') return false;
            f[k] = f[k] * 10 + (p[i] - '0');
        }
        if (k < 5) {
            if (i >= n) return false;
            if (!(p[i] == sep[k] || (k == 2 && (p[i] == ' ' || p[i] == 't')))) return false;
            i++;
        }
    }
    if (f[0] < 1678 || f[0] > 2261 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 ||
        f[4] > 59 || f[5] > 60)
        return false;
    int64_t frac = 0;
    if (i < n && (p[i] == '.' || p[i] == ',')) {
        i++;
        int digits = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            if (digits < 9) {
                frac = frac * 10 + (p[i] - '0');
                digits++;
            }
            i++;
        }
        if (!digits) return false;
        while (digits < 9) {
            frac *= 10;
            digits++;
        }
    }
    int32_t off = 0;
    if (i < n) {
        if (!mm_tz_parse((mm_str){p + i, n - i}, &off)) return false;
    }
    *ns = (mm_time_from_civil(f[0], f[1], f[2], f[3], f[4], f[5]) - off) * 1000000000LL + frac;
    return true;
}

bool mm_tz_parse(mm_str s, int32_t *off) {
    if (s.len == 0) return false;
    if (mm_str_eqc(s, "Z") || mm_str_ieqc(s, "UTC") || mm_str_ieqc(s, "GMT")) {
        *off = 0;
        return true;
    }
    if (mm_str_ieqc(s, "JST")) {
        *off = 9 * 3600;
        return true;
    }
    if (s.p[0] != '+' && s.p[0] != '-') return false;
    int sign = s.p[0] == '-' ? -1 : 1;
    char dig[4];
    int nd = 0;
    for (uint32_t i = 1; i < s.len; i++) {
        char c = s.p[i];
        if (c == ':' && i == 3) continue;
        if (c < '0' || c > '9' || nd == 4) return false;
        dig[nd++] = c;
    }
    int hh, mm = 0;
    if (nd == 2) hh = (dig[0] - '0') * 10 + (dig[1] - '0');
    else if (nd == 4) {
        hh = (dig[0] - '0') * 10 + (dig[1] - '0');
        mm = (dig[2] - '0') * 10 + (dig[3] - '0');
    } else
        return false;
    if (hh > 14 || mm > 59) return false;
    *off = sign * (hh * 3600 + mm * 60);
    return true;
}

bool mm_duration_parse(const char *s, int64_t *ns) {
    if (!s || !*s) return false;
    int64_t v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9') {
        if (v > 1000000000LL) return false;
        v = v * 10 + (*p - '0');
        p++;
    }
    if (p == s) return false;
    int64_t mult;
    if (strcmp(p, "ms") == 0) mult = 1000000LL;
    else if (strcmp(p, "s") == 0 || *p == 0) mult = 1000000000LL;
    else if (strcmp(p, "m") == 0 || strcmp(p, "min") == 0) mult = 60LL * 1000000000LL;
    else if (strcmp(p, "h") == 0) mult = 3600LL * 1000000000LL;
    else if (strcmp(p, "d") == 0) mult = 86400LL * 1000000000LL;
    else if (strcmp(p, "w") == 0) mult = 7 * 86400LL * 1000000000LL;
    else return false;
    if (__builtin_mul_overflow(v, mult, ns)) return false;
    return true;
}
