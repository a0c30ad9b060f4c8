/* Conformance with SigmaHQ (../shared/corpora/sigma): every rule of the collection
 * loads (target: 99% loaded, the rest skipped with a reason, deprecated ones without
 * a crash), and the regression samples trigger the rules they were recorded for
 * (target: 97% of the cases, with exactly match_count alerts where info.yml gives
 * one).  The samples are read from their .evtx files through libevtx and the evtx
 * decoder, and evaluated with every SigmaHQ rule loaded, as in production. */
#include "decode/decode.h"
#include "detect/detect.h"
#include "input/input.h"
#include "test.h"

#include <dirent.h>
#include <sys/stat.h>

typedef struct kase {
    char *rule_id, *title, *evtx;
    int match_count;   /* -1: at least one */
} kase;

static kase *cases;
static int ncases;

static void find_info(const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (!d || depth > 12) {
        if (d) closedir(d);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            find_info(p, depth + 1);
            continue;
        }
        if (strcmp(de->d_name, "info.yml") != 0) continue;
        mm_err e = {{0}};
        mm_cnode *root = mm_cnode_parse_file(p, &e);
        if (!root) continue;
        const mm_cnode *meta = mm_cnode_get(root, "rule_metadata");
        const mm_cnode *tests = mm_cnode_get(root, "regression_tests_info");
        const mm_cnode *m0 = meta && meta->type == MM_CN_SEQ ? meta->child : NULL;
        const mm_cnode *id = mm_cnode_get(m0, "id"), *title = mm_cnode_get(m0, "title");
        for (const mm_cnode *t = tests && tests->type == MM_CN_SEQ ? tests->child : NULL; id && t; t = t->next) {
            const mm_cnode *ty = mm_cnode_get(t, "type"), *path = mm_cnode_get(t, "path");
            const mm_cnode *mc = mm_cnode_get(t, "match_count");
            if (!ty || !path || strcmp(ty->value, "evtx") != 0) continue;
            const char *rel = path->value;
            if (!strncmp(rel, "regression_data/", 16)) rel += 16;
            cases = realloc(cases, (size_t)(ncases + 1) * sizeof *cases);
            kase *k = &cases[ncases++];
            char full[4096];
            snprintf(full, sizeof full, "%s/sigma/regression/%s", t_corpora(), rel);
            k->evtx = strdup(full);
            k->rule_id = strdup(id->value);
            k->title = strdup(title && title->value ? title->value : "?");
            k->match_count = mc && mc->value ? atoi(mc->value) : -1;
        }
        mm_cnode_free(root);
    }
    closedir(d);
}

typedef struct run_ctx {
    mm_detect *d;
    mm_detect_state *st;
    const mm_decoder *dec;
    mm_arena arena;
    const char *want;
    int hits, events, errors;
} run_ctx;

static int one_record(void *ctx, const char *xml, size_t len) {
    run_ctx *r = ctx;
    static const mm_source src = {"regression", "default", "", "evtx"};
    mm_event ev;
    mm_event_init(&ev, &r->arena);
    ev.src = &src;
    mm_decode_opts o = {0};
    if (mm_decode(r->dec, &ev, (mm_str){xml, (uint32_t)(len > MM_MAX_RECORD ? MM_MAX_RECORD : len)}, &o) < 0)
        r->errors++;
    r->events++;
    mm_alert *al = NULL;
    mm_detect_event(r->d, r->st, &ev, &r->arena, &al);
    for (; al; al = al->next) r->hits += !strcmp(al->rule_id, r->want);
    mm_arena_reset(&r->arena);
    return 0;
}

static mm_detect *all_rules;

static void sigmahq_rules_load(void) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/sigma/rules", t_corpora());
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("  (no corpora at %s: skipped)\n", dir);
        return;
    }
    mm_config c;
    mm_config_defaults(&c);
    mm_rules_report rep = {0};
    char *dirs[] = {dir};
    mm_detect_opts o = {.extra = dirs, .nextra = 1, .only_extra = true, .report = &rep};
    mm_err e = {{0}};
    all_rules = mm_detect_load_opts(&c, &o, &e);
    mm_config_free(&c);
    CHECK(all_rules);
    int total = rep.loaded + rep.skipped;
    printf("  SigmaHQ rules: %d documents in %d files: %d loaded (%d active, %d without a log source mapping), "
           "%d skipped\n",
           total, rep.files, rep.loaded, rep.loaded - rep.inactive - rep.filters, rep.inactive, rep.skipped);
    for (int i = 0; i < rep.nskips; i++) printf("    skipped (%s): %s\n", rep.skips[i].reason, rep.skips[i].detail);
    CHECK(total >= 3700);
    CHECK(rep.loaded * 100 >= total * 99);
    mm_rules_report_free(&rep);
}

static void deprecated_rules_load_without_crash(void) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/sigma/deprecated", t_corpora());
    struct stat st;
    if (stat(dir, &st) != 0) return;
    mm_config c;
    mm_config_defaults(&c);
    mm_rules_report rep = {0};
    char *dirs[] = {dir};
    mm_detect_opts o = {.extra = dirs, .nextra = 1, .only_extra = true, .report = &rep};
    mm_err e = {{0}};
    mm_detect *d = mm_detect_load_opts(&c, &o, &e);
    mm_config_free(&c);
    CHECK(d);
    printf("  deprecated: %d loaded, %d skipped\n", rep.loaded, rep.skipped);
    CHECK(rep.loaded + rep.skipped >= 170);
    mm_detect_free(d);
    mm_rules_report_free(&rep);
}

static void regression_samples_trigger_their_rules(void) {
    if (!all_rules) return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/sigma/regression", t_corpora());
    find_info(dir, 0);
    CHECK(ncases >= 150);
    run_ctx r = {.d = all_rules, .dec = mm_decoder_find("evtx")};
    CHECK(r.dec);
    mm_arena_init(&r.arena, 1 << 16);
    int pass = 0, exact = 0, with_count = 0, events = 0;
    for (int i = 0; i < ncases; i++) {
        kase *k = &cases[i];
        r.st = mm_detect_state_new();
        r.want = k->rule_id;
        r.hits = r.events = r.errors = 0;
        mm_err e = {{0}};
        int rc = mm_evtx_each(k->evtx, 0, one_record, &r, NULL, &e);
        mm_detect_state_free(r.st);
        events += r.events;
        bool ok = rc == 0 && (k->match_count < 0 ? r.hits > 0 : r.hits == k->match_count);
        if (k->match_count >= 0) with_count++;
        if (ok) pass++;
        if (ok && k->match_count >= 0) exact++;
        if (!ok)
            printf("    miss: %s (%s): %d alerts from %d events, want %s%d%s%s\n", k->title, k->rule_id, r.hits,
                   r.events, k->match_count < 0 ? ">= " : "", k->match_count < 0 ? 1 : k->match_count,
                   rc ? ": " : "", rc ? e.msg : "");
    }
    printf("  regression: %d/%d cases pass (%.1f%%), %d/%d with the exact match_count; %d events\n", pass, ncases,
           100.0 * pass / ncases, exact, with_count, events);
    mm_arena_free(&r.arena);
    CHECK(pass * 100 >= ncases * 97);
}

int main(void) {
    TEST(sigmahq_rules_load);
    TEST(deprecated_rules_load_without_crash);
    TEST(regression_samples_trigger_their_rules);
    mm_detect_free(all_rules);
    for (int i = 0; i < ncases; i++) {
        free(cases[i].rule_id);
        free(cases[i].title);
        free(cases[i].evtx);
    }
    free(cases);
    TEST_MAIN_END();
}
