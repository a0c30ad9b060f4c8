/* Logging to stderr, rate-limited per call site, and the process-wide counters. */
#include "core.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

_Atomic uint64_t mm_counters[MM_C__COUNT];

static const char *counter_names[MM_C__COUNT] = {
#define C(id, name, help) name,
#include "counters.def"
#undef C
};
static const char *counter_help[MM_C__COUNT] = {
#define C(id, name, help) help,
#include "counters.def"
#undef C
};

const char *mm_counter_name(mm_counter c) { return c < MM_C__COUNT ? counter_names[c] : "?"; }
const char *mm_counter_help(mm_counter c) { return c < MM_C__COUNT ? counter_help[c] : "?"; }
void mm_counters_reset(void) {
    for (int i = 0; i < MM_C__COUNT; i++) atomic_store(&mm_counters[i], 0);
}

static _Atomic int log_level = MM_LOG_INFO;

void mm_log_set_level(mm_loglevel l) { atomic_store(&log_level, (int)l); }

bool mm_log_level_parse(const char *s, mm_loglevel *out) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (mm_loglevel)i;
            return true;
        }
    if (strcmp(s, "warning") == 0) {
        *out = MM_LOG_WARN;
        return true;
    }
    return false;
}

#define LOG_BURST 10

void mm_log_at(mm_loglevel level, _Atomic int64_t *window, _Atomic int *n, const char *fmt, ...) {
    if ((int)level < atomic_load(&log_level)) return;
    int64_t now_s = mm_mono_ns() / 1000000000LL;
    int64_t w = atomic_load(window);
    int suppressed = 0;
    if (w != now_s && atomic_compare_exchange_strong(window, &w, now_s)) {
        int prev = atomic_exchange(n, 0);
        if (prev > LOG_BURST) suppressed = prev - LOG_BURST;
    }
    int k = atomic_fetch_add(n, 1);
    if (k >= LOG_BURST) {
        mm_count(MM_C_LOG_SUPPRESSED, 1);
        return;
    }
    static const char *lv[] = {"debug", "info", "warn", "error"};
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (suppressed)
        fprintf(stderr, "%s mamori %s: (%d similar messages suppressed)\n", ts, lv[level], suppressed);
    fprintf(stderr, "%s mamori %s: %s\n", ts, lv[level], msg);
}
