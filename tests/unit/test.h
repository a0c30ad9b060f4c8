/* Minimal unit-test harness.  Each TEST prints "PASS name" or "FAIL name: why";
 * tests/run.sh counts those lines.  A failed CHECK ends the test case. */
#ifndef MM_TEST_H
#define MM_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_total;
static const char *t_name;
static int t_failed;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            printf("FAIL %s: %s:%d: %s\n", t_name, __FILE__, __LINE__, #cond);         \
            t_failed = 1;                                                              \
            return;                                                                    \
        }                                                                              \
    } while (0)

#define CHECK_STR(got, want)                                                           \
    do {                                                                               \
        const char *g_ = (got), *w_ = (want);                                          \
        if (!g_ || strcmp(g_, w_) != 0) {                                              \
            printf("FAIL %s: %s:%d: got \"%s\", want \"%s\"\n", t_name, __FILE__,        \
                   __LINE__, g_ ? g_ : "(null)", w_);                                  \
            t_failed = 1;                                                              \
            return;                                                                    \
        }                                                                              \
    } while (0)

#define CHECK_INT(got, want)                                                           \
    do {                                                                               \
        long long g_ = (long long)(got), w_ = (long long)(want);                       \
        if (g_ != w_) {                                                                \
            printf("FAIL %s: %s:%d: %s = %lld, want %lld\n", t_name, __FILE__, __LINE__, \
                   #got, g_, w_);                                                      \
            t_failed = 1;                                                              \
            return;                                                                    \
        }                                                                              \
    } while (0)

#define TEST(fn)                                                                       \
    do {                                                                               \
        t_name = #fn;                                                                  \
        t_failed = 0;                                                                  \
        fn();                                                                          \
        if (!t_failed)                                                                 \
            printf("PASS %s\n", t_name);                                               \
        else                                                                           \
            t_failed_total++;                                                          \
        fflush(stdout);                                                                \
    } while (0)

#define TEST_MAIN_END() return t_failed_total ? 1 : 0

/* Corpora shared by CI: ../shared/corpora relative to the repository. */
static inline const char *t_corpora(void) {
    const char *e = getenv("MM_CORPORA");
    return e ? e : MM_HOME "/../shared/corpora";
}

#endif
