/* winlog_ecs: what the Windows decoders share once a record is parsed (see
 * winlog_int.h) — the System values under Winlogbeat's names, and the ECS fields.
 *
 * System values arrive as Windows writes them in XML (numbers: Level 4, Opcode 0,
 * Keywords 0x8020000000000000) or already rendered by the sender (Winlogbeat,
 * NXLog, RenderingInfo: "Information", "Info", "Audit Success").  Both end up as
 * Winlogbeat's text, so a rule or a search sees winlog.level "information" whichever
 * way the event came in.
 *
 * The ECS mapping of the Security channel follows Elastic's system/security
 * integration (its expected documents are the conformance corpus): one table row
 * per EventID gives event.action/category/type and the steps of Elastic's pipeline
 * the event takes part in (who is user.* and who user.target.*, source.ip from
 * IpAddress, process.* of 4688...).  The steps run in Elastic's order, because
 * later ones overwrite earlier ones (4648: the subject wins over the target).
 * Where we differ from Elastic on purpose it says "ours" below:
 *   - ECS fields never get "-" or empty values (Windows' way of saying none);
 *   - user.target.domain of group-membership events is the DNS domain of the
 *     member's DN (all DC= parts), where Elastic takes the 4th RDN;
 *   - file.path/file.target_path keep Windows' backslashes as they are (Elastic's
 *     template escapes those of the directory part);
 *   - a few newer events get the steps their fields call for (4662, 5136...), and
 *     the firewall events 5152-5158 get source/destination.
 * EventData values are never rewritten: winlog.event_data.* is what Windows sent. */
#define _GNU_SOURCE /* memmem */
#include "winlog_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define NS 1000000000LL

/* ------------------------------------------------------------------ known names */

static const char *const data_names[WD__COUNT] = {
#define X(id, name) name,
    WIN_DATA_KEYS(X)
#undef X
};

#define DT_SIZE 256 /* power of two, > 2x the names */
static mm_nameslot dtab[DT_SIZE];
static pthread_once_t dtab_once = PTHREAD_ONCE_INIT;

static void dtab_build(void) { mm_names_build(dtab, DT_SIZE, data_names, WD__COUNT); }

static int data_lookup(mm_str k) {
    if (k.len == 0 || k.len > 64) return -1;
    return mm_names_find(dtab, DT_SIZE, k.p, k.len, mm_name_hash(k.p, k.len));
}

/* ------------------------------------------------------------------ collecting */

void mm_winevt_init(mm_winevt *w, mm_event *ev, const mm_decode_opts *o) {
    pthread_once(&dtab_once, dtab_build);
    memset(w, 0, sizeof *w);
    w->ev = ev;
    w->o = o;
    ev->vendor_prefix = "winlog.event_data";
}

void mm_winevt_data(mm_winevt *w, mm_str key, mm_str val) {
    if (!val.p) val = MM_STR(""); /* present but empty stays distinguishable from absent */
    mm_event_vendor(w->ev, key, val);
    int k = data_lookup(key);
    if (k >= 0 && !w->data[k].p) w->data[k] = val;
}

void mm_winevt_data_unnamed(mm_winevt *w, mm_str val) {
    char name[16];
    int n = snprintf(name, sizeof name, "Data%d", ++w->unnamed);
    mm_winevt_data(w, mm_arena_str(w->ev->arena, name, (size_t)n), val);
}

void mm_winevt_keyword(mm_winevt *w, mm_str name) {
    if (name.len && w->nkw < MM_WIN_MAX_KEYWORDS) w->kw[w->nkw++] = name;
}

/* ------------------------------------------------------------------ helpers */

static mm_str trim(mm_str s) {
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t' || s.p[0] == '\r' || s.p[0] == '\n')) {
        s.p++;
        s.len--;
    }
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' || s.p[s.len - 1] == '\r' ||
                     s.p[s.len - 1] == '\n'))
        s.len--;
    return s;
}

/* A value worth an ECS field: present, not empty, not Windows' "-". */
static bool usable(mm_str s) { return s.p && s.len && !(s.len == 1 && s.p[0] == '-'); }

static bool eq(mm_str s, const char *lit) { return mm_str_eqc(s, lit); }

static void set(mm_event *ev, mm_field f, mm_str s) {
    if (usable(s)) mm_event_set(ev, f, s);
}

/* Decimal, or hex with 0x (Windows writes process ids and masks that way). */
static bool parse_num(mm_str s, uint64_t *out) {
    s = trim(s);
    uint64_t v = 0;
    if (s.len > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
        if (s.len > 18) return false;
        for (uint32_t i = 2; i < s.len; i++) {
            char c = s.p[i];
            int d = c >= '0' && c <= '9' ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0) return false;
            v = v << 4 | (uint64_t)d;
        }
    } else {
        if (s.len == 0 || s.len > 19) return false;
        for (uint32_t i = 0; i < s.len; i++) {
            if (s.p[i] < '0' || s.p[i] > '9') return false;
            v = v * 10 + (uint64_t)(s.p[i] - '0');
        }
    }
    *out = v;
    return true;
}

static void set_i64(mm_event *ev, mm_field f, uint64_t v) {
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    mm_event_set(ev, f, mm_arena_str(ev->arena, p, (size_t)(e - p)));
}

static void set_num(mm_event *ev, mm_field f, mm_str s) {
    uint64_t v;
    if (usable(s) && parse_num(s, &v) && v <= (uint64_t)INT64_MAX) set_i64(ev, f, v);
}

static mm_str lower(mm_arena *a, mm_str s) {
    char *o = mm_arena_alloc(a, s.len ? s.len : 1);
    for (uint32_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        o[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    return (mm_str){o, s.len};
}

static mm_str concat3(mm_arena *a, mm_str x, const char *sep, mm_str y) {
    size_t sl = strlen(sep);
    char *o = mm_arena_alloc(a, x.len + sl + y.len + 1);
    memcpy(o, x.p, x.len);
    memcpy(o + x.len, sep, sl);
    memcpy(o + x.len + sl, y.p, y.len);
    return (mm_str){o, (uint32_t)(x.len + sl + y.len)};
}

/* GUIDs with braces, as Windows writes them in XML (evtx_dump drops them). */
static mm_str braced(mm_arena *a, mm_str g) {
    g = trim(g);
    if (!g.len || g.p[0] == '{') return g;
    mm_str t = concat3(a, MM_STR("{"), "", g);
    return concat3(a, t, "}", MM_STR(""));
}

/* Text after the last backslash: the file name of a Windows path. */
static mm_str basename_win(mm_str p) {
    uint32_t i = p.len;
    while (i && p.p[i - 1] != '\\') i--;
    return (mm_str){p.p + i, p.len - i};
}

/* "user@REALM" -> "user" (Kerberos events write the UPN). */
static mm_str before_at(mm_str s) {
    const char *at = s.p ? memchr(s.p, '@', s.len) : NULL;
    return at ? (mm_str){s.p, (uint32_t)(at - s.p)} : s;
}

static mm_str strip_v4mapped(mm_str ip) {
    if (ip.len > 7 && (memcmp(ip.p, "::ffff:", 7) == 0 || memcmp(ip.p, "::FFFF:", 7) == 0))
        return (mm_str){ip.p + 7, ip.len - 7};
    return ip;
}

/* ------------------------------------------------------------------ System */

/* Standard levels (winmeta.xml); 0 is "log always", which Windows shows as
 * Information. */
static const char *const level_names[] = {"information", "critical", "error",
                                          "warning",     "information", "verbose"};

static const struct {
    uint8_t code;
    const char *name;
} opcode_names[] = {
    {0, "Info"},    {1, "Start"},   {2, "Stop"},    {3, "DCStart"}, {4, "DCStop"}, {7, "Extension"},
    {8, "Reply"},   {9, "Resume"},  {10, "Suspend"}, {11, "Send"},  {240, "Receive"},
};

/* Task numbers of Microsoft-Windows-Security-Auditing: its audit subcategories. */
static const struct {
    uint16_t code;
    const char *name;
} security_tasks[] = {
    {12288, "Security State Change"}, {12289, "Security System Extension"},
    {12290, "System Integrity"}, {12291, "IPsec Driver"}, {12292, "Other System Events"},
    {12544, "Logon"}, {12545, "Logoff"}, {12546, "Account Lockout"}, {12547, "IPsec Main Mode"},
    {12548, "Special Logon"}, {12549, "IPsec Quick Mode"}, {12550, "IPsec Extended Mode"},
    {12551, "Other Logon/Logoff Events"}, {12552, "Network Policy Server"},
    {12553, "User / Device Claims"}, {12554, "Group Membership"}, {12800, "File System"},
    {12801, "Registry"}, {12802, "Kernel Object"}, {12803, "SAM"},
    {12804, "Other Object Access Events"}, {12805, "Certification Services"},
    {12806, "Application Generated"}, {12807, "Handle Manipulation"}, {12808, "File Share"},
    {12809, "Filtering Platform Packet Drop"}, {12810, "Filtering Platform Connection"},
    {12811, "Detailed File Share"}, {12812, "Removable Storage"},
    {12813, "Central Policy Staging"}, {13056, "Sensitive Privilege Use"},
    {13057, "Non Sensitive Privilege Use"}, {13058, "Other Privilege Use Events"},
    {13312, "Process Creation"}, {13313, "Process Termination"}, {13314, "DPAPI Activity"},
    {13315, "RPC Events"}, {13316, "Plug and Play Events"}, {13317, "Token Right Adjusted Events"},
    {13568, "Audit Policy Change"}, {13569, "Authentication Policy Change"},
    {13570, "Authorization Policy Change"}, {13571, "MPSSVC Rule-Level Policy Change"},
    {13572, "Filtering Platform Policy Change"}, {13573, "Other Policy Change Events"},
    {13824, "User Account Management"}, {13825, "Computer Account Management"},
    {13826, "Security Group Management"}, {13827, "Distribution Group Management"},
    {13828, "Application Group Management"}, {13829, "Other Account Management Events"},
    {14080, "Directory Service Access"}, {14081, "Directory Service Changes"},
    {14082, "Directory Service Replication"}, {14083, "Detailed Directory Service Replication"},
    {14336, "Credential Validation"}, {14337, "Kerberos Service Ticket Operations"},
    {14338, "Other Account Logon Events"}, {14339, "Kerberos Authentication Service"},
};

/* The named standard keywords (winmeta.xml), bits 48-55 of the mask. */
static const char *const keyword_bits[8] = {
    "Response Time", NULL, "WDI Diag", "SQM", "Audit Failure", "Audit Success", "Correlation Hint",
    "Classic",
};

static bool is_security_provider(mm_str p) {
    return eq(p, "Microsoft-Windows-Security-Auditing") || eq(p, "Microsoft-Windows-Eventlog");
}

/* Numbers as Winlogbeat renders them: the sender's text when it sent one. */
static void map_level_opcode_task(mm_winevt *w) {
    mm_event *ev = w->ev;
    uint64_t n;
    mm_str level = {NULL, 0};
    if (usable(w->sys[WS_LEVEL_TEXT])) level = lower(ev->arena, trim(w->sys[WS_LEVEL_TEXT]));
    else if (parse_num(w->sys[WS_LEVEL], &n))
        level = n < 6 ? mm_str_c(level_names[n]) : trim(w->sys[WS_LEVEL]);
    if (level.len) {
        mm_event_set(ev, MM_F_WINLOG_LEVEL, level);
        mm_event_set(ev, MM_F_LOG_LEVEL, level);
    }
    if (usable(w->sys[WS_OPCODE_TEXT])) {
        mm_event_set(ev, MM_F_WINLOG_OPCODE, trim(w->sys[WS_OPCODE_TEXT]));
    } else if (parse_num(w->sys[WS_OPCODE], &n)) {
        mm_str o = trim(w->sys[WS_OPCODE]);
        for (size_t i = 0; i < MM_ARRAY_LEN(opcode_names); i++)
            if (opcode_names[i].code == n) o = mm_str_c(opcode_names[i].name);
        mm_event_set(ev, MM_F_WINLOG_OPCODE, o);
    }
    if (usable(w->sys[WS_TASK_TEXT])) {
        mm_event_set(ev, MM_F_WINLOG_TASK, trim(w->sys[WS_TASK_TEXT]));
    } else if (parse_num(w->sys[WS_TASK], &n) && n) {
        mm_str t = trim(w->sys[WS_TASK]);
        if (is_security_provider(w->sys[WS_PROVIDER]))
            for (size_t i = 0; i < MM_ARRAY_LEN(security_tasks); i++)
                if (security_tasks[i].code == n) t = mm_str_c(security_tasks[i].name);
        mm_event_set(ev, MM_F_WINLOG_TASK, t);
    }
}

/* Keywords: the sender's names, else the named bits of the mask; then the outcome
 * (Audit Success / Audit Failure) as Winlogbeat derives it. */
static void map_keywords(mm_winevt *w) {
    mm_event *ev = w->ev;
    if (w->nkw) {
        for (int i = 0; i < w->nkw; i++) mm_event_add(ev, MM_F_WINLOG_KEYWORDS, w->kw[i]);
    } else {
        mm_str k = trim(w->sys[WS_KEYWORDS]);
        uint64_t mask = 0;
        bool neg = k.len > 1 && k.p[0] == '-'; /* NXLog prints the mask as a signed int64 */
        if (neg) k = (mm_str){k.p + 1, k.len - 1};
        if (parse_num(k, &mask)) {
            if (neg) mask = 0 - mask;
            for (int b = 0; b < 8; b++)
                if ((mask >> (48 + b) & 1) && keyword_bits[b])
                    mm_event_add(ev, MM_F_WINLOG_KEYWORDS, mm_str_c(keyword_bits[b]));
        }
    }
    mm_str outcome = {NULL, 0};
    if (usable(w->sys[WS_OUTCOME])) outcome = lower(ev->arena, trim(w->sys[WS_OUTCOME]));
    const mm_value *v = mm_event_get(ev, MM_F_WINLOG_KEYWORDS);
    for (; v && !outcome.len; v = mm_event_next(ev, v)) {
        if (mm_str_ieqc(v->s, "Audit Success")) outcome = MM_STR("success");
        else if (mm_str_ieqc(v->s, "Audit Failure")) outcome = MM_STR("failure");
    }
    if (outcome.len) {
        mm_event_set(ev, MM_F_WINLOG_OUTCOME, outcome);
        mm_event_set(ev, MM_F_EVENT_OUTCOME, outcome);
    }
}

/* "2024-05-01 10:00:00" and other times without a zone. */
static bool has_zone(mm_str s) {
    s = trim(s);
    if (s.len < 19) return false;
    uint32_t i = 19;
    if (i < s.len && (s.p[i] == '.' || s.p[i] == ',')) {
        i++;
        while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9') i++;
    }
    return i < s.len;
}

/* mm_time_parse reads a bare number as epoch s/ms/us/ns by its magnitude, but does
 * not refuse ms and us values past 2262 (their ns overflow int64); senders write
 * anything, so those are refused here first. */
static bool time_parse(mm_str t, int64_t *ns) {
    int64_t v;
    if (mm_str_to_i64(t, &v)) {
        bool ms = v >= 10000000000LL && v < 100000000000000LL;
        bool us = v >= 100000000000000LL && v < 100000000000000000LL;
        if ((ms && v > INT64_MAX / 1000000) || (us && v > INT64_MAX / 1000)) return false;
    }
    return mm_time_parse(t, ns);
}

static void map_time(mm_winevt *w) {
    mm_event *ev = w->ev;
    int64_t ns;
    mm_str t = trim(w->sys[WS_TIME]);
    if (t.len && time_parse(t, &ns)) {
        if (mm_event_set(ev, MM_F_TIMESTAMP, t)) ev->ts_ns = ev->vals[ev->idx[MM_F_TIMESTAMP]].i;
        return;
    }
    t = trim(w->sys[WS_TIME_LOCAL]);
    if (t.len && time_parse(t, &ns)) {
        int32_t off = w->o ? w->o->tz_offset : 0;
        if (!has_zone(t) && !mm_str_to_i64(t, &(int64_t){0})) ns -= (int64_t)off * NS;
        mm_event_set_time(ev, MM_F_TIMESTAMP, ns);
        return;
    }
    t = trim(w->sys[WS_TIMESTAMP]);
    if (t.len && time_parse(t, &ns) && mm_event_set(ev, MM_F_TIMESTAMP, t))
        ev->ts_ns = ev->vals[ev->idx[MM_F_TIMESTAMP]].i;
}

static void map_system(mm_winevt *w, mm_str id) {
    mm_event *ev = w->ev;
    mm_arena *a = ev->arena;
    mm_event_set(ev, MM_F_EVENT_CODE, id);
    mm_event_set(ev, MM_F_WINLOG_EVENT_ID, id);
    mm_str prov = trim(w->sys[WS_PROVIDER]);
    set(ev, MM_F_WINLOG_PROVIDER_NAME, prov);
    set(ev, MM_F_EVENT_PROVIDER, prov);
    if (usable(w->sys[WS_PROVIDER_GUID]))
        mm_event_set(ev, MM_F_WINLOG_PROVIDER_GUID, braced(a, w->sys[WS_PROVIDER_GUID]));
    set(ev, MM_F_WINLOG_CHANNEL, trim(w->sys[WS_CHANNEL]));
    mm_str host = trim(w->sys[WS_COMPUTER]);
    if (usable(host)) {
        mm_event_set(ev, MM_F_WINLOG_COMPUTER_NAME, host);
    } else {
        host = trim(w->sys[WS_HOST]);
    }
    if (usable(host)) {
        mm_event_set(ev, MM_F_HOST_NAME, host);
        if (!ev->observer.len) ev->observer = host;
    }
    set(ev, MM_F_WINLOG_RECORD_ID, trim(w->sys[WS_RECORD_ID]));
    set_num(ev, MM_F_WINLOG_VERSION, w->sys[WS_VERSION]);
    set_num(ev, MM_F_WINLOG_PROCESS_PID, w->sys[WS_PID]);
    set_num(ev, MM_F_WINLOG_THREAD_ID, w->sys[WS_TID]);
    set(ev, MM_F_WINLOG_USER_ID, trim(w->sys[WS_USER_ID]));
    set(ev, MM_F_WINLOG_USER_NAME, w->sys[WS_USER_NAME]);
    set(ev, MM_F_WINLOG_USER_DOMAIN, w->sys[WS_USER_DOMAIN]);
    set(ev, MM_F_WINLOG_USER_TYPE, w->sys[WS_USER_TYPE]);
    if (usable(w->sys[WS_ACTIVITY_ID]))
        mm_event_set(ev, MM_F_WINLOG_ACTIVITY_ID, braced(a, w->sys[WS_ACTIVITY_ID]));
    if (usable(w->sys[WS_RELATED_ACTIVITY_ID]))
        mm_event_set(ev, MM_F_WINLOG_RELATED_ACTIVITY_ID, braced(a, w->sys[WS_RELATED_ACTIVITY_ID]));
    set(ev, MM_F_MESSAGE, w->sys[WS_MESSAGE]);
    set(ev, MM_F_EVENT_ACTION, trim(w->sys[WS_ACTION]));
}

/* ------------------------------------------------------------------ Security */

/* The steps of Elastic's standard pipeline an EventID takes part in. */
enum {
    S_TARGET = 1 << 0,       /* Target* -> user.* (logon, Kerberos, NTLM) */
    S_GROUP = 1 << 1,        /* MemberName -> user.target, Target* -> group.* */
    S_TARGET_LOGON = 1 << 2, /* TargetLogonId -> winlog.logon.id */
    S_SUBJECT = 1 << 3,      /* Subject* -> user.* */
    S_TO_TARGET = 1 << 4,    /* Target* -> user.target.* */
    S_EFFECTIVE = 1 << 5,    /* Target* -> user.effective.* */
    S_AUTH = 1 << 6,         /* ProcessId/Name, IpAddress/Port, WorkstationName */
    S_PROCESS = 1 << 7,      /* 4688: the new process and its parent */
    S_SHARE = 1 << 8,        /* 5140/5145: file.* of the share access */
    S_STATUS = 1 << 9,       /* 4625/4776: failure status texts */
    S_SESSION = 1 << 10,     /* 4778/4779: AccountName, ClientAddress... */
    S_FIREWALL = 1 << 11,    /* ours: 5152-5158 addresses */
};
#define T_ S_TARGET
#define G_ S_GROUP
#define L_ S_TARGET_LOGON
#define S_ S_SUBJECT
#define O_ S_TO_TARGET
#define E_ S_EFFECTIVE
#define A_ S_AUTH
#define GSA (S_GROUP | S_SUBJECT | S_AUTH)
#define SOA (S_SUBJECT | S_TO_TARGET | S_AUTH)

typedef struct sec_row {
    uint16_t id;
    uint16_t steps;
    const char *action;
    const char *cat[2];
    const char *type[3];
} sec_row;

#define IAM "iam"
#define CONF "configuration"
#define AUTHN "authentication"

/* Sorted by id (binary search). */
static const sec_row sec_rows[] = {
    {1100, A_, "logging-service-shutdown", {"process"}, {"end"}},
    {1102, S_ | A_, "audit-log-cleared", {IAM}, {"admin", "change"}},
    {1104, A_, "logging-full", {IAM}, {"admin"}},
    {1105, A_, "auditlog-archieved", {IAM}, {"admin"}},
    {1108, A_, "logging-processing-error", {IAM}, {"admin"}},
    {4610, 0, "authentication-package-loaded", {CONF}, {"access"}},
    {4611, 0, "trusted-logon-process-registered", {CONF}, {"change"}},
    {4614, 0, "notification-package-loaded", {CONF}, {"access"}},
    {4616, 0, "system-time-changed", {CONF}, {"change"}},
    {4622, 0, "security-package-loaded", {CONF}, {"access"}},
    {4624, T_ | A_, "logged-in", {AUTHN}, {"start"}},
    {4625, T_ | A_ | S_STATUS, "logon-failed", {AUTHN}, {"start"}},
    {4634, T_ | L_, "logged-out", {AUTHN}, {"end"}},
    {4647, T_ | L_, "logged-out", {AUTHN}, {"end"}},
    {4648, T_ | S_ | E_ | A_, "logged-in-explicit", {AUTHN}, {"start"}},
    {4657, S_, "registry-value-modified", {"registry", CONF}, {"change"}},
    {4662, S_, "object-operation-performed", {IAM, CONF}, {"admin", "change"}},
    {4670, SOA, "permissions-changed", {IAM, CONF}, {"admin", "change"}},
    {4672, S_, "logged-in-special", {IAM}, {"admin"}},
    {4673, S_ | A_, "privileged-service-called", {IAM}, {"admin"}},
    {4674, S_ | A_, "privileged-operation", {IAM}, {"admin"}},
    {4688, S_ | E_ | S_PROCESS, "created-process", {"process"}, {"start"}},
    {4689, S_ | A_, "exited-process", {"process"}, {"end"}},
    {4697, S_ | A_, "service-installed", {IAM, CONF}, {"admin", "change"}},
    {4698, S_, "scheduled-task-created", {IAM, CONF}, {"creation", "admin"}},
    {4699, S_, "scheduled-task-deleted", {IAM, CONF}, {"deletion", "admin"}},
    {4700, S_, "scheduled-task-enabled", {IAM, CONF}, {"change", "admin"}},
    {4701, S_, "scheduled-task-disabled", {IAM, CONF}, {"change", "admin"}},
    {4702, S_, "scheduled-task-updated", {IAM, CONF}, {"change", "admin"}},
    {4706, S_, "domain-trust-added", {CONF}, {"creation"}},
    {4707, S_, "domain-trust-removed", {CONF}, {"deletion"}},
    {4713, S_, "kerberos-policy-changed", {CONF}, {"change"}},
    {4714, 0, "encrypted-data-recovery-policy-changed", {CONF}, {"change"}},
    {4715, 0, "object-audit-policy-changed", {CONF}, {"change"}},
    {4716, S_, "trusted-domain-information-changed", {CONF}, {"change"}},
    {4717, S_, "system-security-access-granted", {IAM, CONF}, {"admin", "change"}},
    {4718, S_, "system-security-access-removed", {IAM, CONF}, {"admin", "deletion"}},
    {4719, S_ | A_, "changed-audit-config", {IAM, CONF}, {"admin", "change"}},
    {4720, SOA, "added-user-account", {IAM}, {"user", "creation"}},
    {4722, SOA, "enabled-user-account", {IAM}, {"user", "change"}},
    {4723, SOA, "changed-password", {IAM}, {"user", "change"}},
    {4724, SOA, "reset-password", {IAM}, {"user", "change"}},
    {4725, SOA, "disabled-user-account", {IAM}, {"user", "deletion"}},
    {4726, SOA, "deleted-user-account", {IAM}, {"user", "deletion"}},
    {4727, GSA, "added-group-account", {IAM}, {"group", "creation"}},
    {4728, GSA, "added-member-to-group", {IAM}, {"group", "change"}},
    {4729, GSA, "removed-member-from-group", {IAM}, {"group", "change"}},
    {4730, GSA, "deleted-group-account", {IAM}, {"group", "deletion"}},
    {4731, GSA, "added-group-account", {IAM}, {"group", "creation"}},
    {4732, GSA, "added-member-to-group", {IAM}, {"group", "change"}},
    {4733, GSA, "removed-member-from-group", {IAM}, {"group", "change"}},
    {4734, GSA, "deleted-group-account", {IAM}, {"group", "deletion"}},
    {4735, GSA, "modified-group-account", {IAM}, {"group", "change"}},
    {4737, GSA, "modified-group-account", {IAM}, {"group", "change"}},
    {4738, SOA, "modified-user-account", {IAM}, {"user", "change"}},
    {4739, S_, "domain-policy-changed", {CONF}, {"change"}},
    {4740, SOA, "locked-out-user-account", {IAM}, {"user", "change"}},
    {4741, S_ | A_, "added-computer-account", {IAM}, {"creation", "admin"}},
    {4742, S_ | A_, "changed-computer-account", {IAM}, {"change", "admin"}},
    {4743, S_ | A_, "deleted-computer-account", {IAM}, {"deletion", "admin"}},
    {4744, GSA, "added-distribution-group-account", {IAM}, {"group", "creation"}},
    {4745, GSA, "changed-distribution-group-account", {IAM}, {"group", "change"}},
    {4746, GSA, "added-member-to-distribution-group", {IAM}, {"group", "change"}},
    {4747, GSA, "removed-member-from-distribution-group", {IAM}, {"group", "change"}},
    {4748, GSA, "deleted-distribution-group-account", {IAM}, {"group", "deletion"}},
    {4749, GSA, "added-distribution-group-account", {IAM}, {"group", "creation"}},
    {4750, GSA, "changed-distribution-group-account", {IAM}, {"group", "change"}},
    {4751, GSA, "added-member-to-distribution-group", {IAM}, {"group", "change"}},
    {4752, GSA, "removed-member-from-distribution-group", {IAM}, {"group", "change"}},
    {4753, GSA, "deleted-distribution-group-account", {IAM}, {"group", "deletion"}},
    {4754, GSA, "added-group-account", {IAM}, {"group", "creation"}},
    {4755, GSA, "modified-group-account", {IAM}, {"group", "change"}},
    {4756, GSA, "added-member-to-group", {IAM}, {"group", "change"}},
    {4757, GSA, "removed-member-from-group", {IAM}, {"group", "change"}},
    {4758, GSA, "deleted-group-account", {IAM}, {"group", "deletion"}},
    {4759, GSA, "added-distribution-group-account", {IAM}, {"group", "creation"}},
    {4760, GSA, "changed-distribution-group-account", {IAM}, {"group", "change"}},
    {4761, GSA, "added-member-to-distribution-group", {IAM}, {"group", "change"}},
    {4762, GSA, "removed-member-from-distribution-group", {IAM}, {"group", "change"}},
    {4763, GSA, "deleted-distribution-group-account", {IAM}, {"group", "deletion"}},
    {4764, GSA, "type-changed-group-account", {IAM}, {"group", "change"}},
    {4767, SOA, "unlocked-user-account", {IAM}, {"user", "change"}},
    {4768, T_ | A_, "kerberos-authentication-ticket-requested", {AUTHN}, {"start"}},
    {4769, T_ | A_, "kerberos-service-ticket-requested", {AUTHN}, {"start"}},
    {4770, T_ | A_, "kerberos-service-ticket-renewed", {AUTHN}, {"start"}},
    {4771, T_ | A_, "kerberos-preauth-failed", {AUTHN}, {"start"}},
    {4776, T_ | S_STATUS, "credential-validated", {AUTHN}, {"start"}},
    {4778, S_SESSION, "session-reconnected", {AUTHN, "session"}, {"start"}},
    {4779, S_SESSION, "session-disconnected", {AUTHN, "session"}, {"end"}},
    {4781, S_, "renamed-user-account", {IAM}, {"user", "change"}},
    {4797, S_, "query-existence-of-blank-password", {IAM}, {"user", "info"}},
    {4798, SOA, "group-membership-enumerated", {IAM}, {"user", "info"}},
    {4799, GSA, "user-member-enumerated", {IAM}, {"group", "info"}},
    {4817, SOA, "object-audit-changed", {IAM, CONF}, {"admin", "change"}},
    {4902, 0, "user-audit-policy-created", {IAM, CONF}, {"admin", "creation"}},
    {4904, S_ | A_, "security-event-source-added", {IAM, CONF}, {"admin", "change"}},
    {4905, S_ | A_, "security-event-source-removed", {IAM, CONF}, {"admin", "deletion"}},
    {4906, 0, "crash-on-audit-changed", {IAM, CONF}, {"admin", "change"}},
    {4907, SOA, "audit-setting-changed", {IAM, CONF}, {"admin", "change"}},
    {4908, 0, "special-group-table-changed", {IAM, CONF}, {"admin", "change"}},
    {4912, S_ | A_, "per-user-audit-policy-changed", {IAM, CONF}, {"admin", "change"}},
    {4950, 0, "windows-firewall-setting-changed", {CONF}, {"change"}},
    {4954, 0, "windows-firewall-group-policy-changed", {CONF}, {"change"}},
    {4964, T_ | L_, "logged-in-special", {IAM}, {"admin", "group"}},
    {5024, 0, "windows-firewall-service-started", {"process"}, {"start"}},
    {5025, 0, "windows-firewall-service-stopped", {"process"}, {"end"}},
    {5033, 0, "windows-firewall-driver-started", {"driver"}, {"start"}},
    {5034, 0, "windows-firewall-driver-stopped", {"driver"}, {"end"}},
    {5037, 0, "windows-firewall-driver-error", {"driver"}, {"end"}},
    {5136, S_, "directory-service-object-modified", {IAM, CONF}, {"admin", "change"}},
    {5137, S_, "directory-service-object-created", {IAM, CONF}, {"admin", "creation"}},
    {5140, S_ | A_ | S_SHARE, "network-share-object-accessed", {"network", "file"}, {"info", "access"}},
    {5141, S_, "directory-service-object-deleted", {IAM, CONF}, {"admin", "deletion"}},
    {5145, S_ | A_ | S_SHARE, "network-share-object-access-checked", {"network", "file"}, {"info", "access"}},
    {5152, S_FIREWALL, "windows-firewall-packet-drop", {"network"}, {"connection", "info", "denied"}},
    {5156, S_FIREWALL, "windows-firewall-connection", {"network"}, {"connection", "info", "allowed"}},
    {5157, S_FIREWALL, "windows-firewall-packet-block", {"network"}, {"connection", "info", "denied"}},
    {5158, S_FIREWALL, "windows-firewall-bind-local-port", {"network"}, {"info"}},
    {5379, S_, "credential-manager-credentials-were-read", {IAM}, {"user", "info"}},
    {5380, S_, "vault-credential-find", {IAM}, {"user", "info"}},
    {5381, S_, "vault-credentials-were-read", {IAM}, {"user", "info"}},
    {5382, S_, "vault-credentials-were-read", {IAM}, {"user", "info"}},
};

static const sec_row *sec_find(uint64_t id) {
    size_t lo = 0, hi = MM_ARRAY_LEN(sec_rows);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sec_rows[mid].id == id) return &sec_rows[mid];
        if (sec_rows[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

typedef struct code_text {
    const char *code;
    const char *text;
} code_text;

static const char *lookup_text(const code_text *t, size_t n, mm_str code) {
    code = trim(code);
    for (size_t i = 0; i < n; i++)
        if (mm_str_ieqc(code, t[i].code)) return t[i].text;
    return NULL;
}

static const code_text logon_types[] = {
    {"2", "Interactive"}, {"3", "Network"}, {"4", "Batch"}, {"5", "Service"}, {"7", "Unlock"},
    {"8", "NetworkCleartext"}, {"9", "NewCredentials"}, {"10", "RemoteInteractive"},
    {"11", "CachedInteractive"},
};

static const code_text service_types[] = {
    {"0x1", "Kernel Driver"}, {"0x2", "File System Driver"}, {"0x8", "Recognizer Driver"},
    {"0x10", "Win32 Own Process"}, {"0x20", "Win32 Share Process"},
    {"0x110", "Interactive Own Process"}, {"0x120", "Interactive Share Process"},
};

/* FailureReason "%%2313" (msobjs.dll message table, the logon failure part). */
static const code_text failure_reasons[] = {
    {"%%2304", "An Error occured during Logon."},
    {"%%2305", "The specified user account has expired."},
    {"%%2306", "The NetLogon component is not active."},
    {"%%2307", "Account locked out."},
    {"%%2308", "The user has not been granted the requested logon type at this machine."},
    {"%%2309", "The specified account's password has expired."},
    {"%%2310", "Account currently disabled."},
    {"%%2311", "Account logon time restriction violation."},
    {"%%2312", "User not allowed to logon at this computer."},
    {"%%2313", "Unknown user name or bad password."},
    {"%%2314", "Domain sid inconsistent."},
    {"%%2315", "Smartcard logon is required and was not used."},
};

/* NTSTATUS of 4625/4776 (Status, SubStatus). */
static const code_text logon_status[] = {
    {"0xc000005e", "There are currently no logon servers available to service the logon request."},
    {"0xc0000064", "User logon with misspelled or bad user account"},
    {"0xc000006a", "User logon with misspelled or bad password"},
    {"0xc000006d", "This is either due to a bad username or authentication information"},
    {"0xc000006e", "Unknown user name or bad password."},
    {"0xc000006f", "User logon outside authorized hours"},
    {"0xc0000070", "User logon from unauthorized workstation"},
    {"0xc0000071", "User logon with expired password"},
    {"0xc0000072", "User logon to account disabled by administrator"},
    {"0xc00000dc", "Indicates the Sam Server was in the wrong state to perform the desired operation."},
    {"0xc0000133", "Clocks between DC and other computer too far out of sync"},
    {"0xc000015b", "The user has not been granted the requested logon type (aka logon right) at this machine"},
    {"0xc000018c", "The logon request failed because the trust relationship between the primary domain and the trusted domain failed."},
    {"0xc0000192", "An attempt was made to logon, but the Netlogon service was not started."},
    {"0xc0000193", "User logon with expired account"},
    {"0xc0000224", "User is required to change password at next logon"},
    {"0xc0000225", "Evidently a bug in Windows and not a risk"},
    {"0xc0000234", "User logon with account locked"},
    {"0xc00002ee", "Failure Reason: An Error occurred during Logon"},
    {"0xc0000413", "Logon Failure: The machine you are logging onto is protected by an authentication firewall. The specified account is not allowed to authenticate to the machine."},
    {"0xc0000371", "The local account store does not contain secret material for the specified account"},
    {"0x0", "Status OK."},
};

#define TEXT(tab, code) lookup_text((tab), MM_ARRAY_LEN(tab), (code))

static void set_text(mm_event *ev, mm_field f, const char *t) {
    if (t) mm_event_set(ev, f, mm_str_c(t));
}

static void set_ip(mm_event *ev, mm_field f, mm_str ip) {
    if (usable(ip)) mm_event_set(ev, f, strip_v4mapped(trim(ip)));
}

/* The value for a step that copies a name: "-" and "" mean none (ours). */
#define DV(w, k) ((w)->data[WD_##k])

static void step_categorize(mm_winevt *w, const sec_row *r) {
    mm_event *ev = w->ev;
    mm_event_set(ev, MM_F_EVENT_ACTION, mm_str_c(r->action));
    mm_event_unset(ev, MM_F_EVENT_CATEGORY);
    mm_event_unset(ev, MM_F_EVENT_TYPE);
    for (int i = 0; i < 2 && r->cat[i]; i++) mm_event_add(ev, MM_F_EVENT_CATEGORY, mm_str_c(r->cat[i]));
    for (int i = 0; i < 3 && r->type[i]; i++) mm_event_add(ev, MM_F_EVENT_TYPE, mm_str_c(r->type[i]));
}

static void step_session(mm_winevt *w) {
    mm_event *ev = w->ev;
    set(ev, MM_F_USER_NAME, DV(w, ACCOUNT_NAME));
    set(ev, MM_F_USER_DOMAIN, DV(w, ACCOUNT_DOMAIN));
    set_ip(ev, MM_F_SOURCE_IP, DV(w, CLIENT_ADDRESS));
    set(ev, MM_F_SOURCE_DOMAIN, DV(w, CLIENT_NAME));
    set(ev, MM_F_WINLOG_LOGON_ID, DV(w, LOGON_ID));
}

/* Logon-type events: the account logged on (or tried to) is the user. */
static void step_target(mm_winevt *w) {
    mm_event *ev = w->ev;
    mm_str sid = usable(DV(w, TARGET_USER_SID)) ? DV(w, TARGET_USER_SID) : DV(w, TARGET_SID);
    set(ev, MM_F_USER_ID, sid);
    set(ev, MM_F_USER_NAME, before_at(DV(w, TARGET_USER_NAME)));
    set(ev, MM_F_USER_DOMAIN, DV(w, TARGET_DOMAIN_NAME));
}

/* "CN=Jane Doe,OU=Staff,DC=corp,DC=example" -> "Jane Doe" and "corp.example". */
static void dn_parts(mm_arena *a, mm_str dn, mm_str *cn, mm_str *domain) {
    *cn = (mm_str){NULL, 0};
    *domain = (mm_str){NULL, 0};
    uint32_t i = 0;
    while (i < dn.len) {
        uint32_t s = i;
        while (i < dn.len && dn.p[i] != ',') i += (dn.p[i] == '\\' && i + 1 < dn.len) ? 2 : 1;
        mm_str rdn = trim((mm_str){dn.p + s, (i < dn.len ? i : dn.len) - s});
        if (i < dn.len) i++;
        bool is_cn = rdn.len > 3 && (rdn.p[0] | 0x20) == 'c' && (rdn.p[1] | 0x20) == 'n' && rdn.p[2] == '=';
        bool is_dc = rdn.len > 3 && (rdn.p[0] | 0x20) == 'd' && (rdn.p[1] | 0x20) == 'c' && rdn.p[2] == '=';
        mm_str v = {rdn.p + 3, rdn.len - 3};
        if (is_cn && !cn->p) *cn = v;
        else if (is_dc) *domain = domain->p ? concat3(a, *domain, ".", v) : v;
    }
    if (!cn->p && dn.len && !memchr(dn.p, '=', dn.len)) *cn = dn; /* a plain name */
}

static void step_group(mm_winevt *w) {
    mm_event *ev = w->ev;
    if (usable(DV(w, MEMBER_NAME))) {
        mm_str cn, dom;
        dn_parts(ev->arena, DV(w, MEMBER_NAME), &cn, &dom);
        set(ev, MM_F_USER_TARGET_NAME, cn);
        set(ev, MM_F_USER_TARGET_DOMAIN, dom);
        set(ev, MM_F_USER_TARGET_ID, DV(w, MEMBER_SID)); /* ours */
    }
    mm_str gid = usable(DV(w, TARGET_SID)) ? DV(w, TARGET_SID) : DV(w, TARGET_USER_SID);
    set(ev, MM_F_GROUP_ID, gid);
    set(ev, MM_F_GROUP_NAME, DV(w, TARGET_USER_NAME));
    mm_str gdom = DV(w, TARGET_DOMAIN_NAME);
    if (gdom.len > 3 && (gdom.p[0] | 0x20) == 'd' && (gdom.p[1] | 0x20) == 'c' && gdom.p[2] == '=')
        gdom = (mm_str){gdom.p + 3, gdom.len - 3};
    set(ev, MM_F_GROUP_DOMAIN, gdom);
    if (mm_event_has(ev, MM_F_USER_TARGET_NAME)) {
        set(ev, MM_F_USER_TARGET_GROUP_ID, gid);
        set(ev, MM_F_USER_TARGET_GROUP_NAME, DV(w, TARGET_USER_NAME));
        set(ev, MM_F_USER_TARGET_GROUP_DOMAIN, gdom);
    }
}

static void step_subject(mm_winevt *w) {
    mm_event *ev = w->ev;
    set(ev, MM_F_USER_ID, DV(w, SUBJECT_USER_SID));
    set(ev, MM_F_USER_NAME, DV(w, SUBJECT_USER_NAME));
    set(ev, MM_F_USER_DOMAIN, DV(w, SUBJECT_DOMAIN_NAME));
}

static void step_to_target(mm_winevt *w) {
    mm_event *ev = w->ev;
    set(ev, MM_F_USER_TARGET_ID, DV(w, TARGET_SID));
    set(ev, MM_F_USER_TARGET_NAME, before_at(DV(w, TARGET_USER_NAME)));
    set(ev, MM_F_USER_TARGET_DOMAIN, DV(w, TARGET_DOMAIN_NAME));
}

static void step_effective(mm_winevt *w) {
    mm_event *ev = w->ev;
    set(ev, MM_F_USER_EFFECTIVE_ID, DV(w, TARGET_USER_SID));
    set(ev, MM_F_USER_EFFECTIVE_NAME, before_at(DV(w, TARGET_USER_NAME)));
    set(ev, MM_F_USER_EFFECTIVE_DOMAIN, DV(w, TARGET_DOMAIN_NAME));
}

static void set_exe(mm_event *ev, mm_field exe, mm_field name, mm_str path) {
    if (!usable(path)) return;
    mm_event_set(ev, exe, path);
    set(ev, name, basename_win(path));
}

static void step_auth(mm_winevt *w) {
    mm_event *ev = w->ev;
    set_num(ev, MM_F_PROCESS_PID, DV(w, PROCESS_ID));
    set_exe(ev, MM_F_PROCESS_EXECUTABLE, MM_F_PROCESS_NAME, DV(w, PROCESS_NAME));
    set_ip(ev, MM_F_SOURCE_IP, DV(w, IP_ADDRESS));
    set_num(ev, MM_F_SOURCE_PORT, DV(w, IP_PORT));
    set(ev, MM_F_SOURCE_DOMAIN, DV(w, WORKSTATION_NAME));
}

/* process.args as Elastic splits a command line: at white space outside double
 * quotes, quotes kept (ours: no empty arguments from repeated spaces). */
static void split_args(mm_event *ev, mm_str cl) {
    bool q = false;
    uint32_t start = 0;
    int n = 0;
    for (uint32_t i = 0; i <= cl.len && n < 256; i++) {
        bool end = i == cl.len;
        char c = end ? ' ' : cl.p[i];
        if (c == '"') q = !q;
        if (end || (!q && (c == ' ' || c == '\t' || c == '\r' || c == '\n'))) {
            if (i > start) {
                mm_event_add(ev, MM_F_PROCESS_ARGS, (mm_str){cl.p + start, i - start});
                n++;
            }
            start = i + 1;
        }
    }
}

static void step_process(mm_winevt *w) {
    mm_event *ev = w->ev;
    set_num(ev, MM_F_PROCESS_PID, DV(w, NEW_PROCESS_ID));
    set_exe(ev, MM_F_PROCESS_EXECUTABLE, MM_F_PROCESS_NAME, DV(w, NEW_PROCESS_NAME));
    set_exe(ev, MM_F_PROCESS_PARENT_EXECUTABLE, MM_F_PROCESS_PARENT_NAME, DV(w, PARENT_PROCESS_NAME));
    set_num(ev, MM_F_PROCESS_PARENT_PID, DV(w, PROCESS_ID));
    if (usable(DV(w, COMMAND_LINE))) {
        mm_event_set(ev, MM_F_PROCESS_COMMAND_LINE, DV(w, COMMAND_LINE));
        split_args(ev, DV(w, COMMAND_LINE));
    }
}

static void step_share(mm_winevt *w) {
    mm_event *ev = w->ev;
    mm_str name = DV(w, RELATIVE_TARGET_NAME), dir = DV(w, SHARE_LOCAL_PATH), share = DV(w, SHARE_NAME);
    set(ev, MM_F_FILE_NAME, name);
    set(ev, MM_F_FILE_DIRECTORY, dir);
    if (!usable(name)) return;
    if (usable(dir)) mm_event_set(ev, MM_F_FILE_PATH, concat3(ev->arena, dir, "\\", name));
    if (usable(share)) mm_event_set(ev, MM_F_FILE_TARGET_PATH, concat3(ev->arena, share, "\\", name));
    const char *dot = NULL;
    for (uint32_t i = 0; i < name.len; i++)
        if (name.p[i] == '.') dot = name.p + i;
    if (dot && dot + 1 < name.p + name.len)
        mm_event_set(ev, MM_F_FILE_EXTENSION, (mm_str){dot + 1, (uint32_t)(name.p + name.len - dot - 1)});
}

/* Ours: the Windows Filtering Platform events carry the connection. */
static void step_firewall(mm_winevt *w) {
    mm_event *ev = w->ev;
    set_ip(ev, MM_F_SOURCE_IP, DV(w, SOURCE_ADDRESS));
    set_num(ev, MM_F_SOURCE_PORT, DV(w, SOURCE_PORT));
    set_ip(ev, MM_F_DESTINATION_IP, DV(w, DEST_ADDRESS));
    set_num(ev, MM_F_DESTINATION_PORT, DV(w, DEST_PORT));
    set_exe(ev, MM_F_PROCESS_EXECUTABLE, MM_F_PROCESS_NAME, DV(w, APPLICATION));
    set_num(ev, MM_F_PROCESS_PID, DV(w, PROCESS_ID));
    uint64_t proto;
    if (usable(DV(w, PROTOCOL)) && parse_num(DV(w, PROTOCOL), &proto)) {
        set_i64(ev, MM_F_NETWORK_IANA_NUMBER, proto);
        if (proto == 6) mm_event_set(ev, MM_F_NETWORK_TRANSPORT, MM_STR("tcp"));
        else if (proto == 17) mm_event_set(ev, MM_F_NETWORK_TRANSPORT, MM_STR("udp"));
        else if (proto == 1) mm_event_set(ev, MM_F_NETWORK_TRANSPORT, MM_STR("icmp"));
    }
    mm_str d = trim(DV(w, DIRECTION));
    if (eq(d, "%%14592")) mm_event_set(ev, MM_F_NETWORK_DIRECTION, MM_STR("inbound"));
    else if (eq(d, "%%14593")) mm_event_set(ev, MM_F_NETWORK_DIRECTION, MM_STR("outbound"));
}

static void map_security(mm_winevt *w, uint64_t id) {
    mm_event *ev = w->ev;
    const sec_row *r = sec_find(id);
    unsigned steps = r ? r->steps : 0;
    if (r) step_categorize(w, r);
    set_text(ev, MM_F_WINLOG_LOGON_TYPE, TEXT(logon_types, DV(w, LOGON_TYPE)));
    set(ev, MM_F_SERVICE_NAME, DV(w, SERVICE_NAME));
    set_text(ev, MM_F_SERVICE_TYPE, TEXT(service_types, DV(w, SERVICE_TYPE)));
    set_text(ev, MM_F_WINLOG_LOGON_FAILURE_REASON, TEXT(failure_reasons, DV(w, FAILURE_REASON)));
    if (steps & S_STATUS) {
        set_text(ev, MM_F_WINLOG_LOGON_FAILURE_STATUS, TEXT(logon_status, DV(w, STATUS)));
        set_text(ev, MM_F_WINLOG_LOGON_FAILURE_SUB_STATUS, TEXT(logon_status, DV(w, SUB_STATUS)));
    }
    if (steps & S_SESSION) step_session(w);
    if (steps & S_TARGET) step_target(w);
    if (steps & S_GROUP) step_group(w);
    if (steps & S_TARGET_LOGON) set(ev, MM_F_WINLOG_LOGON_ID, DV(w, TARGET_LOGON_ID));
    if (steps & S_SUBJECT) step_subject(w);
    if (steps & S_TO_TARGET) step_to_target(w);
    if (steps & S_EFFECTIVE) step_effective(w);
    set(ev, MM_F_WINLOG_LOGON_ID, DV(w, SUBJECT_LOGON_ID));
    if (steps & S_AUTH) step_auth(w);
    if (steps & S_PROCESS) step_process(w);
    set(ev, MM_F_USER_TARGET_NAME, DV(w, OLD_TARGET_USER_NAME));
    set(ev, MM_F_USER_CHANGES_NAME, DV(w, NEW_TARGET_USER_NAME));
    if (steps & S_SHARE) step_share(w);
    if (steps & S_FIREWALL) step_firewall(w);
}

/* ------------------------------------------------------------------ finish */

int mm_winevt_finish(mm_winevt *w) {
    mm_event *ev = w->ev;
    mm_str id = trim(w->sys[WS_EVENT_ID]);
    uint64_t eid;
    if (!id.len || !parse_num(id, &eid) || eid > 0xffffffffu || (id.len > 1 && (id.p[1] | 0x20) == 'x')) {
        mm_event_fail(ev, "Windows event without a numeric EventID");
        return MM_EINVAL;
    }
    map_system(w, id);
    map_time(w);
    map_level_opcode_task(w);
    map_keywords(w);
    if (is_security_provider(trim(w->sys[WS_PROVIDER]))) map_security(w, eid);
    return 0;
}

/* ------------------------------------------------------------------ routing */

/* The value that follows `key` in rec, in any of the shapes:
 *   "key": "v"  /  "key":"v"        (JSON)
 *   Name="key">v<  /  Name='key'>v<  (XML Data)
 *   <key>v<                          (XML element)
 * Everything stays inside rec; a value with an escape is cut at the backslash
 * (routing only needs a stable key). */
static mm_str find_value(mm_str rec, const char *key) {
    size_t kl = strlen(key);
    const char *p = rec.p, *end = rec.p + rec.len;
    while ((size_t)(end - p) > kl) {
        const char *k = memmem(p, (size_t)(end - p), key, kl);
        if (!k) break;
        p = k + kl;
        if (k == rec.p || p >= end) continue;
        char before = k[-1], after = *p;
        const char *v = NULL, *stop = NULL;
        if (before == '\'' && after == '\'') { /* XML Name='key'>v */
            const char *q = p + 1;
            while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')) q++;
            if (q < end && *q == '>') {
                v = q + 1;
                stop = "<";
            }
        } else if (before == '"' && after == '"') {
            const char *q = p + 1;
            while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')) q++;
            if (q < end && *q == ':') { /* JSON */
                q++;
                while (q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')) q++;
                if (q >= end || *q != '"') continue;
                v = q + 1;
                stop = "\"\\";
            } else if (q < end && *q == '>') { /* XML Name="key">v */
                v = q + 1;
                stop = "<";
            }
        } else if (before == '<' && after == '>') {
            v = p + 1;
            stop = "<";
        }
        if (!v) continue;
        const char *e = v;
        while (e < end && !strchr(stop, *e)) e++;
        return (mm_str){v, (uint32_t)(e - v)};
    }
    return (mm_str){NULL, 0};
}

mm_str mm_winevt_entity(mm_str rec) {
    if (!rec.p) return (mm_str){NULL, 0};
    mm_str v = trim(find_value(rec, "IpAddress"));
    if (usable(v)) return strip_v4mapped(v);
    v = trim(find_value(rec, "TargetUserName"));
    if (usable(v)) return v;
    static const char *const hosts[] = {"Computer", "computer_name", "Hostname"};
    for (size_t i = 0; i < MM_ARRAY_LEN(hosts); i++) {
        v = trim(find_value(rec, hosts[i]));
        if (usable(v)) return v;
    }
    return (mm_str){NULL, 0};
}
