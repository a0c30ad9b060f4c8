/* Windows event decoders: the three JSON shapes of "winlog" (Winlogbeat, NXLog,
 * evtx_dump), the XML scanner of "evtx" (entities, CDATA, unnamed Data, UserData,
 * RenderingInfo, damage and depth), the Security-channel ECS mapping, the
 * pipeline_error contract, the routing pre-scan, and the .evtx reader on SigmaHQ's
 * regression files (skipped when the corpora are absent), including the check that
 * an .evtx record and its evtx_dump JSON rendering decode to the same event. */
#define _GNU_SOURCE
#include "core/core.h"
#include "decode/decode.h"
#include "input/input.h"
#include "test.h"
#include "event_check.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEC 1000000000LL

static mm_arena g_arena;
static mm_event g_ev;
static char *g_rec;

/* Decode rec (exact-size heap copy, so ASan catches any read past the slice). */
static mm_event *dec_n(const char *fmt, const char *rec, size_t n, int32_t tz) {
    mm_arena_reset(&g_arena);
    free(g_rec);
    g_rec = malloc(n ? n : 1);
    memcpy(g_rec, rec, n);
    mm_event_init(&g_ev, &g_arena);
    g_ev.recv_ns = 1700000000LL * SEC;
    mm_decode_opts o = {.tz_offset = tz};
    mm_decode(mm_decoder_find(fmt), &g_ev, (mm_str){g_rec, (uint32_t)n}, &o);
    return &g_ev;
}
static mm_event *dec(const char *fmt, const char *rec) { return dec_n(fmt, rec, strlen(rec), 0); }

static const char *entity(const char *fmt, const char *rec) {
    static char out[256];
    size_t n = strlen(rec);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, rec, n);
    mm_str e = mm_decoder_find(fmt)->entity((mm_str){copy, (uint32_t)n});
    bool inside = !e.len || (e.p >= copy && e.p + e.len <= copy + n);
    snprintf(out, sizeof out, "%s%.*s", inside ? "" : "OUTSIDE:", (int)e.len, e.p ? e.p : "");
    free(copy);
    return out;
}

/* ------------------------------------------------------------------ Winlogbeat */

static const char *WLB_4624 =
    "{\"@timestamp\":\"2024-05-01T10:00:05.000Z\",\"host\":{\"name\":\"ws01\"},"
    "\"event\":{\"code\":4624,\"action\":\"Logon\",\"outcome\":\"success\"},"
    "\"winlog\":{\"event_id\":4624,\"channel\":\"Security\",\"computer_name\":\"WS01.corp.example\","
    "\"provider_name\":\"Microsoft-Windows-Security-Auditing\","
    "\"provider_guid\":\"{54849625-5478-4994-a5ba-3e3b0328c30d}\",\"record_id\":123456,"
    "\"time_created\":\"2024-05-01T10:00:00.1234567Z\",\"level\":\"information\",\"opcode\":\"Info\","
    "\"task\":\"Logon\",\"keywords\":[\"Audit Success\"],\"version\":2,"
    "\"process\":{\"pid\":652,\"thread\":{\"id\":7000}},"
    "\"event_data\":{\"SubjectUserSid\":\"S-1-5-18\",\"SubjectUserName\":\"WS01$\","
    "\"SubjectDomainName\":\"CORP\",\"SubjectLogonId\":\"0x3e7\",\"TargetUserSid\":\"S-1-5-21-1-2-3-1104\","
    "\"TargetUserName\":\"alice\",\"TargetDomainName\":\"CORP\",\"TargetLogonId\":\"0x8d7099\","
    "\"LogonType\":\"10\",\"WorkstationName\":\"WS02\",\"IpAddress\":\"::ffff:10.1.2.3\","
    "\"IpPort\":\"51234\",\"ProcessId\":\"0x28c\",\"ProcessName\":\"C:\\\\Windows\\\\System32\\\\svchost.exe\","
    "\"ElevatedToken\":\"%%1842\",\"Count\":7}}}";

static void winlogbeat_logon(void) {
    mm_event *ev = dec("winlog", WLB_4624);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(ev->vendor_prefix, "winlog.event_data");
    /* System under Winlogbeat's names */
    CHECK_STR(fs(ev, MM_F_EVENT_CODE), "4624");
    CHECK_STR(fs(ev, MM_F_WINLOG_EVENT_ID), "4624");
    CHECK_STR(fs(ev, MM_F_WINLOG_RECORD_ID), "123456");
    CHECK_STR(fs(ev, MM_F_WINLOG_CHANNEL), "Security");
    CHECK_STR(fs(ev, MM_F_WINLOG_PROVIDER_NAME), "Microsoft-Windows-Security-Auditing");
    CHECK_STR(fs(ev, MM_F_EVENT_PROVIDER), "Microsoft-Windows-Security-Auditing");
    CHECK_STR(fs(ev, MM_F_HOST_NAME), "WS01.corp.example"); /* computer_name wins over host.name */
    CHECK_STR(fs(ev, MM_F_WINLOG_LEVEL), "information");
    CHECK_STR(fs(ev, MM_F_LOG_LEVEL), "information");
    CHECK_STR(fs(ev, MM_F_WINLOG_TASK), "Logon");
    CHECK_INT(fi(ev, MM_F_WINLOG_PROCESS_PID), 652);
    CHECK_INT(fi(ev, MM_F_WINLOG_THREAD_ID), 7000);
    CHECK_INT(fi(ev, MM_F_WINLOG_VERSION), 2);
    CHECK(has_val(ev, MM_F_WINLOG_KEYWORDS, "Audit Success"));
    /* @timestamp from time_created, not the shipper's @timestamp */
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2024, 5, 1, 10, 0, 0) * SEC + 123456700);
    /* Elastic's Security mapping */
    CHECK_STR(fs(ev, MM_F_EVENT_ACTION), "logged-in");
    CHECK(has_val(ev, MM_F_EVENT_CATEGORY, "authentication"));
    CHECK(has_val(ev, MM_F_EVENT_TYPE, "start"));
    CHECK_STR(fs(ev, MM_F_EVENT_OUTCOME), "success");
    CHECK_STR(fs(ev, MM_F_USER_NAME), "alice");
    CHECK_STR(fs(ev, MM_F_USER_DOMAIN), "CORP");
    CHECK_STR(fs(ev, MM_F_USER_ID), "S-1-5-21-1-2-3-1104");
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "10.1.2.3"); /* ::ffff: dropped */
    CHECK_INT(fi(ev, MM_F_SOURCE_PORT), 51234);
    CHECK_STR(fs(ev, MM_F_SOURCE_DOMAIN), "WS02");
    CHECK_STR(fs(ev, MM_F_WINLOG_LOGON_TYPE), "RemoteInteractive");
    CHECK_STR(fs(ev, MM_F_WINLOG_LOGON_ID), "0x3e7"); /* SubjectLogonId, as Elastic */
    CHECK_INT(fi(ev, MM_F_PROCESS_PID), 0x28c);
    CHECK_STR(fs(ev, MM_F_PROCESS_EXECUTABLE), "C:\\Windows\\System32\\svchost.exe");
    CHECK_STR(fs(ev, MM_F_PROCESS_NAME), "svchost.exe");
    /* every EventData value kept, as text */
    CHECK_STR(vs(ev, "TargetUserName"), "alice");
    CHECK_STR(vs(ev, "IpAddress"), "::ffff:10.1.2.3");
    CHECK_STR(vs(ev, "ElevatedToken"), "%%1842");
    CHECK_STR(vs(ev, "Count"), "7");
    CHECK_INT(ev->nvendor, 16);
    CHECK(mm_str_eqc(ev->observer, "WS01.corp.example"));
    /* printed under winlog.event_data */
    mm_buf b = {0};
    mm_event_json(ev, &b, false);
    CHECK(strstr(mm_buf_cstr(&b), "\"event_data\":{") != NULL);
    CHECK(strstr(b.p, "\"TargetUserName\":\"alice\"") != NULL);
    mm_buf_free(&b);
}

static void winlogbeat_process_created(void) {
    mm_event *ev = dec("winlog",
        "{\"winlog\":{\"event_id\":\"4688\",\"provider_name\":\"Microsoft-Windows-Security-Auditing\","
        "\"channel\":\"Security\",\"computer_name\":\"vagrant\",\"time_created\":\"2019-11-14T17:10:15.151Z\","
        "\"event_data\":{\"SubjectUserSid\":\"S-1-5-21-9-1000\",\"SubjectUserName\":\"vagrant\","
        "\"SubjectDomainName\":\"VAGRANT\",\"SubjectLogonId\":\"0x274a2\",\"NewProcessId\":\"0x11cc\","
        "\"NewProcessName\":\"C:\\\\Windows\\\\System32\\\\wevtutil.exe\",\"ProcessId\":\"0x122c\","
        "\"ParentProcessName\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"TargetUserSid\":\"S-1-0-0\","
        "\"TargetUserName\":\"-\",\"TargetDomainName\":\"-\","
        "\"CommandLine\":\"\\\"C:\\\\Windows\\\\system32\\\\wevtutil.exe\\\"  cl \\\"Windows PowerShell\\\" \"}}}");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_EVENT_ACTION), "created-process");
    CHECK(has_val(ev, MM_F_EVENT_CATEGORY, "process"));
    CHECK_INT(fi(ev, MM_F_PROCESS_PID), 0x11cc);
    CHECK_INT(fi(ev, MM_F_PROCESS_PARENT_PID), 0x122c);
    CHECK_STR(fs(ev, MM_F_PROCESS_NAME), "wevtutil.exe");
    CHECK_STR(fs(ev, MM_F_PROCESS_PARENT_NAME), "cmd.exe");
    CHECK_STR(fs(ev, MM_F_USER_NAME), "vagrant");
    CHECK_STR(fs(ev, MM_F_USER_EFFECTIVE_ID), "S-1-0-0");
    CHECK(!mm_event_has(ev, MM_F_USER_EFFECTIVE_NAME)); /* "-" is no name */
    /* args: split outside quotes, quotes kept, no empty argument from double spaces */
    CHECK_INT(nvalues(ev, MM_F_PROCESS_ARGS), 3);
    CHECK(has_val(ev, MM_F_PROCESS_ARGS, "\"C:\\Windows\\system32\\wevtutil.exe\""));
    CHECK(has_val(ev, MM_F_PROCESS_ARGS, "cl"));
    CHECK(has_val(ev, MM_F_PROCESS_ARGS, "\"Windows PowerShell\""));
    CHECK_STR(fs(ev, MM_F_PROCESS_COMMAND_LINE),
              "\"C:\\Windows\\system32\\wevtutil.exe\"  cl \"Windows PowerShell\" ");
}

static void winlogbeat_user_data_log_cleared(void) {
    mm_event *ev = dec("winlog",
        "{\"winlog\":{\"event_id\":1102,\"provider_name\":\"Microsoft-Windows-Eventlog\",\"channel\":\"Security\","
        "\"computer_name\":\"DC1\",\"user_data\":{\"SubjectUserSid\":\"S-1-5-21-7-500\",\"SubjectUserName\":"
        "\"Administrator\",\"SubjectDomainName\":\"WLBEAT\",\"SubjectLogonId\":\"0x50e87\",\"xml_name\":"
        "\"LogFileCleared\"}}}");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_EVENT_ACTION), "audit-log-cleared");
    CHECK_STR(fs(ev, MM_F_USER_NAME), "Administrator");
    CHECK_STR(fs(ev, MM_F_USER_ID), "S-1-5-21-7-500");
    CHECK_STR(fs(ev, MM_F_WINLOG_LOGON_ID), "0x50e87");
    CHECK_STR(vs(ev, "xml_name"), "LogFileCleared");
    CHECK_STR(vs(ev, "SubjectUserName"), "Administrator");
}

static void security_group_membership(void) {
    mm_event *ev = dec("winlog",
        "{\"winlog\":{\"event_id\":4756,\"provider_name\":\"Microsoft-Windows-Security-Auditing\",\"event_data\":{"
        "\"MemberName\":\"CN=Jane Doe\\\\, Sales,OU=Staff,DC=corp,DC=example\",\"MemberSid\":\"S-1-5-21-1-1108\","
        "\"TargetUserName\":\"Domain Admins\",\"TargetDomainName\":\"CORP\",\"TargetSid\":\"S-1-5-21-1-512\","
        "\"SubjectUserSid\":\"S-1-5-21-1-500\",\"SubjectUserName\":\"admin\",\"SubjectDomainName\":\"CORP\"}}}");
    CHECK_STR(fs(ev, MM_F_EVENT_ACTION), "added-member-to-group");
    CHECK_STR(fs(ev, MM_F_USER_NAME), "admin");
    CHECK_STR(fs(ev, MM_F_USER_TARGET_NAME), "Jane Doe\\, Sales"); /* escaped comma stays in the CN */
    CHECK_STR(fs(ev, MM_F_USER_TARGET_DOMAIN), "corp.example");
    CHECK_STR(fs(ev, MM_F_USER_TARGET_ID), "S-1-5-21-1-1108");
    CHECK_STR(fs(ev, MM_F_GROUP_NAME), "Domain Admins");
    CHECK_STR(fs(ev, MM_F_GROUP_ID), "S-1-5-21-1-512");
    CHECK_STR(fs(ev, MM_F_GROUP_DOMAIN), "CORP");
    CHECK_STR(fs(ev, MM_F_USER_TARGET_GROUP_NAME), "Domain Admins");
    CHECK(has_val(ev, MM_F_EVENT_TYPE, "group") && has_val(ev, MM_F_EVENT_TYPE, "change"));
}

static void security_failed_logon_and_kerberos(void) {
    mm_event *ev = dec("winlog",
        "{\"winlog\":{\"event_id\":4625,\"provider_name\":\"Microsoft-Windows-Security-Auditing\","
        "\"keywords\":[\"Audit Failure\"],\"event_data\":{\"TargetUserName\":\"bob\",\"TargetDomainName\":\"CORP\","
        "\"Status\":\"0xC000006D\",\"SubStatus\":\"0xc000006a\",\"FailureReason\":\"%%2313\",\"LogonType\":\"3\","
        "\"IpAddress\":\"-\",\"IpPort\":\"-\"}}}");
    CHECK_STR(fs(ev, MM_F_EVENT_ACTION), "logon-failed");
    CHECK_STR(fs(ev, MM_F_EVENT_OUTCOME), "failure");
    CHECK_STR(fs(ev, MM_F_WINLOG_OUTCOME), "failure");
    CHECK_STR(fs(ev, MM_F_WINLOG_LOGON_FAILURE_REASON), "Unknown user name or bad password.");
    CHECK_STR(fs(ev, MM_F_WINLOG_LOGON_FAILURE_STATUS), "This is either due to a bad username or authentication information");
    CHECK_STR(fs(ev, MM_F_WINLOG_LOGON_FAILURE_SUB_STATUS), "User logon with misspelled or bad password");
    CHECK_STR(fs(ev, MM_F_WINLOG_LOGON_TYPE), "Network");
    CHECK(!mm_event_has(ev, MM_F_SOURCE_IP));   /* "-" */
    CHECK(!mm_event_has(ev, MM_F_SOURCE_PORT));
    /* Kerberos: the UPN's user part, the service */
    ev = dec("winlog",
        "{\"winlog\":{\"event_id\":4769,\"provider_name\":\"Microsoft-Windows-Security-Auditing\",\"event_data\":{"
        "\"TargetUserName\":\"at_adm@TEST.SAAS\",\"TargetDomainName\":\"TEST.SAAS\",\"ServiceName\":\"DC1$\","
        "\"IpAddress\":\"::1\",\"IpPort\":\"0\"}}}");
    CHECK_STR(fs(ev, MM_F_USER_NAME), "at_adm");
    CHECK_STR(fs(ev, MM_F_USER_DOMAIN), "TEST.SAAS");
    CHECK_STR(fs(ev, MM_F_SERVICE_NAME), "DC1$");
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "::1");
    CHECK_INT(fi(ev, MM_F_SOURCE_PORT), 0);
}

static void security_share_and_firewall(void) {
    mm_event *ev = dec("winlog",
        "{\"winlog\":{\"event_id\":5145,\"provider_name\":\"Microsoft-Windows-Security-Auditing\",\"event_data\":{"
        "\"ShareName\":\"\\\\\\\\*\\\\Documents\",\"ShareLocalPath\":\"\\\\??\\\\C:\\\\Documents\","
        "\"RelativeTargetName\":\"tools\\\\Bginfo.exe\",\"IpAddress\":\"fe80::31ea:6c3c:f40d:1973\",\"IpPort\":\"49212\","
        "\"SubjectUserName\":\"dadmin\"}}}");
    CHECK_STR(fs(ev, MM_F_FILE_NAME), "tools\\Bginfo.exe");
    CHECK_STR(fs(ev, MM_F_FILE_DIRECTORY), "\\??\\C:\\Documents");
    CHECK_STR(fs(ev, MM_F_FILE_PATH), "\\??\\C:\\Documents\\tools\\Bginfo.exe");
    CHECK_STR(fs(ev, MM_F_FILE_TARGET_PATH), "\\\\*\\Documents\\tools\\Bginfo.exe");
    CHECK_STR(fs(ev, MM_F_FILE_EXTENSION), "exe");
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "fe80::31ea:6c3c:f40d:1973");
    CHECK_STR(fs(ev, MM_F_USER_NAME), "dadmin");
    ev = dec("winlog",
        "{\"winlog\":{\"event_id\":5156,\"provider_name\":\"Microsoft-Windows-Security-Auditing\",\"event_data\":{"
        "\"Direction\":\"%%14593\",\"SourceAddress\":\"10.0.0.5\",\"SourcePort\":\"50000\",\"DestAddress\":"
        "\"203.0.113.7\",\"DestPort\":\"443\",\"Protocol\":\"6\",\"Application\":"
        "\"\\\\device\\\\harddiskvolume2\\\\windows\\\\system32\\\\curl.exe\"}}}");
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "10.0.0.5");
    CHECK_STR(fs(ev, MM_F_DESTINATION_IP), "203.0.113.7");
    CHECK_INT(fi(ev, MM_F_DESTINATION_PORT), 443);
    CHECK_STR(fs(ev, MM_F_NETWORK_TRANSPORT), "tcp");
    CHECK_STR(fs(ev, MM_F_NETWORK_DIRECTION), "outbound");
    CHECK_STR(fs(ev, MM_F_PROCESS_NAME), "curl.exe");
    CHECK(has_val(ev, MM_F_EVENT_TYPE, "allowed"));
}

/* Other channels get the System fields, not the Security mapping. */
static void other_provider_is_not_mapped_as_security(void) {
    mm_event *ev = dec("winlog",
        "{\"winlog\":{\"event_id\":4624,\"provider_name\":\"Some-Other-Provider\",\"channel\":\"Application\","
        "\"event_data\":{\"TargetUserName\":\"x\"}}}");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_EVENT_CODE), "4624");
    CHECK(!mm_event_has(ev, MM_F_EVENT_ACTION));
    CHECK(!mm_event_has(ev, MM_F_USER_NAME));
}

/* ------------------------------------------------------------------ NXLog */

static void nxlog_flat_keys(void) {
    int32_t jst = 9 * 3600;
    const char *rec =
        "{\"EventTime\":\"2024-05-01 19:00:00\",\"Hostname\":\"dc01.corp.example\",\"Keywords\":-9214364837600034816,"
        "\"EventType\":\"AUDIT_SUCCESS\",\"SeverityValue\":2,\"Severity\":\"INFO\",\"EventID\":4624,"
        "\"SourceName\":\"Microsoft-Windows-Security-Auditing\",\"ProviderGuid\":\"{54849625-5478-4994-A5BA-3E3B0328C30D}\","
        "\"Version\":2,\"Task\":12544,\"OpcodeValue\":0,\"RecordNumber\":998877,\"ProcessID\":652,\"ThreadID\":700,"
        "\"Channel\":\"Security\",\"Category\":\"Logon\",\"Opcode\":\"Info\",\"Message\":\"An account was successfully logged on.\","
        "\"TargetUserName\":\"carol\",\"TargetDomainName\":\"CORP\",\"IpAddress\":\"192.0.2.10\",\"IpPort\":\"5555\","
        "\"LogonType\":\"3\",\"EventReceivedTime\":\"2024-05-01 19:00:01\",\"SourceModuleName\":\"in\","
        "\"SourceModuleType\":\"im_msvistalog\"}";
    mm_event *ev = dec_n("winlog", rec, strlen(rec), jst);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    /* EventTime has no zone: the configured one */
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2024, 5, 1, 10, 0, 0) * SEC);
    CHECK_STR(fs(ev, MM_F_HOST_NAME), "dc01.corp.example");
    CHECK_STR(fs(ev, MM_F_WINLOG_RECORD_ID), "998877");
    CHECK_STR(fs(ev, MM_F_WINLOG_TASK), "Logon");
    CHECK_STR(fs(ev, MM_F_WINLOG_LEVEL), "information");
    CHECK_STR(fs(ev, MM_F_MESSAGE), "An account was successfully logged on.");
    /* the signed mask 0x8020000000000000 */
    CHECK(has_val(ev, MM_F_WINLOG_KEYWORDS, "Audit Success"));
    CHECK_INT(nvalues(ev, MM_F_WINLOG_KEYWORDS), 1);
    CHECK_STR(fs(ev, MM_F_EVENT_OUTCOME), "success");
    CHECK_STR(fs(ev, MM_F_USER_NAME), "carol");
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "192.0.2.10");
    /* unknown keys are EventData; NXLog's own are not */
    CHECK_STR(vs(ev, "TargetUserName"), "carol");
    CHECK_STR(vs(ev, "LogonType"), "3");
    CHECK(vs(ev, "EventReceivedTime") == NULL);
    CHECK(vs(ev, "Hostname") == NULL);
    CHECK(vs(ev, "Severity") == NULL);
    CHECK_INT(ev->nvendor, 5);
    /* an EventTime with a zone is taken as written */
    const char *zoned = "{\"EventID\":1,\"EventTime\":\"2024-05-01T19:00:00+09:00\"}";
    ev = dec_n("winlog", zoned, strlen(zoned), 3600);
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2024, 5, 1, 10, 0, 0) * SEC);
    /* epoch numbers past 2262 in ms or us: refused, not overflowed */
    ev = dec("winlog", "{\"EventTime\":37600034817817,\"EventID\":1}");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_INT(ev->ts_ns, ev->recv_ns);
    ev = dec("winlog", "{\"EventTime\":1714557600000,\"EventID\":1}");
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2024, 5, 1, 10, 0, 0) * SEC);
    /* EventType when there is no Keywords */
    ev = dec("winlog", "{\"EventID\":4625,\"EventType\":\"AUDIT_FAILURE\",\"SourceName\":\"Microsoft-Windows-Security-Auditing\"}");
    CHECK_STR(fs(ev, MM_F_EVENT_OUTCOME), "failure");
}

/* ------------------------------------------------------------------ evtx_dump JSON */

static void evtx_dump_shape(void) {
    mm_event *ev = dec("winlog",
        "{\"Event\":{\"#attributes\":{\"xmlns\":\"http://schemas.microsoft.com/win/2004/08/events/event\"},"
        "\"System\":{\"Provider\":{\"#attributes\":{\"Name\":\"Service Control Manager\",\"Guid\":"
        "\"555908D1-A6D7-4695-8E1E-26931D2012F4\",\"EventSourceName\":\"Service Control Manager\"}},"
        "\"EventID\":{\"#attributes\":{\"Qualifiers\":16384},\"#text\":7045},\"Version\":0,\"Level\":4,\"Task\":0,"
        "\"Opcode\":0,\"Keywords\":\"0x8080000000000000\",\"TimeCreated\":{\"#attributes\":{\"SystemTime\":"
        "\"2025-11-27T07:40:10.165324Z\"}},\"EventRecordID\":571146,\"Correlation\":null,\"Execution\":"
        "{\"#attributes\":{\"ProcessID\":3544,\"ThreadID\":4272}},\"Channel\":\"System\",\"Computer\":\"pc1\","
        "\"Security\":{\"#attributes\":{\"UserID\":\"S-1-5-18\"}}},"
        "\"EventData\":{\"#attributes\":{\"Name\":\"x\"},\"ServiceName\":\"evil\",\"ImagePath\":\"C:\\\\x.exe\","
        "\"StartType\":3,\"Flag\":true,\"Empty\":null,\"Ratio\":0.5}}}");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_EVENT_CODE), "7045");
    CHECK_STR(fs(ev, MM_F_WINLOG_PROVIDER_GUID), "{555908D1-A6D7-4695-8E1E-26931D2012F4}");
    CHECK_STR(fs(ev, MM_F_WINLOG_CHANNEL), "System");
    CHECK_STR(fs(ev, MM_F_HOST_NAME), "pc1");
    CHECK_STR(fs(ev, MM_F_WINLOG_USER_ID), "S-1-5-18");
    CHECK_INT(fi(ev, MM_F_WINLOG_PROCESS_PID), 3544);
    CHECK_STR(fs(ev, MM_F_WINLOG_LEVEL), "information");
    CHECK_STR(fs(ev, MM_F_WINLOG_OPCODE), "Info");
    CHECK(!mm_event_has(ev, MM_F_WINLOG_TASK)); /* task 0: none */
    CHECK(has_val(ev, MM_F_WINLOG_KEYWORDS, "Classic"));
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2025, 11, 27, 7, 40, 10) * SEC + 165324000);
    CHECK_STR(vs(ev, "StartType"), "3");
    CHECK_STR(vs(ev, "Flag"), "true");
    CHECK_STR(vs(ev, "Empty"), "");
    CHECK_STR(vs(ev, "Ratio"), "0.5");
    CHECK(vs(ev, "#attributes") == NULL);
    CHECK(vs(ev, "Name") == NULL);
    CHECK_INT(ev->nvendor, 6);
    /* unnamed Data as a #text list, and UserData */
    ev = dec("winlog",
        "{\"Event\":{\"System\":{\"EventID\":5858,\"Channel\":\"x\"},\"EventData\":{\"Data\":{\"#text\":[\"a\",\"b\"]},"
        "\"Binary\":\"00FF\"}}}");
    CHECK_STR(vs(ev, "Data1"), "a");
    CHECK_STR(vs(ev, "Data2"), "b");
    CHECK_STR(vs(ev, "Binary"), "00FF");
    ev = dec("winlog",
        "{\"Event\":{\"System\":{\"EventID\":5858},\"UserData\":{\"Operation_ClientFailure\":{\"#attributes\":"
        "{\"xmlns\":\"http://manifests.microsoft.com/win/2006/windows/WMI\"},\"User\":\"pc\\\\bob\","
        "\"ClientProcessId\":25920,\"Nested\":{\"Deep\":\"v\"}}}}}");
    CHECK_STR(vs(ev, "xml_name"), "Operation_ClientFailure");
    CHECK_STR(vs(ev, "User"), "pc\\bob");
    CHECK_STR(vs(ev, "ClientProcessId"), "25920");
    CHECK_STR(vs(ev, "Deep"), "v");
    CHECK(vs(ev, "xmlns") == NULL);
}

/* ------------------------------------------------------------------ XML */

static const char *XML_4624 =
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
    "<System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/>"
    "<EventID>4624</EventID><Version>2</Version><Level>0</Level><Task>12544</Task><Opcode>0</Opcode>"
    "<Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='2024-05-01T10:00:00.1234567Z'/>"
    "<EventRecordID>42</EventRecordID><Correlation ActivityID='{A1B2}'/>"
    "<Execution ProcessID='652' ThreadID='7000'/><Channel>Security</Channel>"
    "<Computer>WS01.corp.example</Computer><Security/></System>"
    "<EventData><Data Name='SubjectUserSid'>S-1-5-18</Data><Data Name='SubjectLogonId'>0x3e7</Data>"
    "<Data Name='TargetUserName'>alice</Data><Data Name='TargetDomainName'>CORP</Data>"
    "<Data Name='LogonType'>3</Data><Data Name='IpAddress'>::ffff:198.51.100.20</Data>"
    "<Data Name='IpPort'>49152</Data><Data Name='WorkstationName'>-</Data>"
    "<Data Name='Empty'/><Data Name='Blank'></Data></EventData></Event>";

static void xml_logon(void) {
    mm_event *ev = dec("evtx", XML_4624);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(ev->vendor_prefix, "winlog.event_data");
    CHECK_STR(fs(ev, MM_F_EVENT_CODE), "4624");
    CHECK_STR(fs(ev, MM_F_WINLOG_PROVIDER_GUID), "{54849625-5478-4994-A5BA-3E3B0328C30D}");
    CHECK_STR(fs(ev, MM_F_WINLOG_ACTIVITY_ID), "{A1B2}");
    CHECK_STR(fs(ev, MM_F_WINLOG_RECORD_ID), "42");
    CHECK_STR(fs(ev, MM_F_WINLOG_LEVEL), "information"); /* level 0 shows as Information */
    CHECK_STR(fs(ev, MM_F_WINLOG_OPCODE), "Info");
    CHECK_STR(fs(ev, MM_F_WINLOG_TASK), "Logon");
    CHECK(has_val(ev, MM_F_WINLOG_KEYWORDS, "Audit Success"));
    CHECK_STR(fs(ev, MM_F_EVENT_OUTCOME), "success");
    CHECK_INT(fi(ev, MM_F_WINLOG_THREAD_ID), 7000);
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2024, 5, 1, 10, 0, 0) * SEC + 123456700);
    CHECK_STR(fs(ev, MM_F_TIMESTAMP), "2024-05-01T10:00:00.1234567Z");
    CHECK_STR(fs(ev, MM_F_USER_NAME), "alice");
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "198.51.100.20");
    CHECK_INT(fi(ev, MM_F_SOURCE_PORT), 49152);
    CHECK(!mm_event_has(ev, MM_F_SOURCE_DOMAIN)); /* "-" */
    CHECK_STR(fs(ev, MM_F_WINLOG_LOGON_TYPE), "Network");
    CHECK_STR(vs(ev, "Empty"), "");
    CHECK_STR(vs(ev, "Blank"), "");
    CHECK_STR(vs(ev, "WorkstationName"), "-");
    CHECK_INT(ev->nvendor, 10);
    CHECK(!mm_event_has(ev, MM_F_WINLOG_USER_ID)); /* <Security/> without UserID */
    /* an input set to "winlog" takes the XML rendering too */
    ev = dec("winlog", XML_4624);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_USER_NAME), "alice");
    CHECK_STR(vs(ev, "IpPort"), "49152");
}

static void xml_entities_cdata_comments(void) {
    mm_event *ev = dec("evtx",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- forwarded -->\n"
        "<Event><System><EventID>1</EventID><Computer>a&amp;b</Computer></System><EventData>"
        "<Data Name=\"CommandLine\">cmd /c \"echo &lt;x&gt; &amp;&amp; dir\" &apos;q&apos;</Data>"
        "<Data Name=\"Refs\">&#65;&#x42;&#X43;&#233;&#x1F600;</Data>"
        "<Data Name=\"Bad\">&bogus; &#0; &#xD800; &#x110000; &#12 &amp</Data>"
        "<Data Name=\"Cdata\"><![CDATA[<raw> &amp; ]]>tail</Data>"
        "<Data Name=\"Comment\">a<!-- hidden -->b<?pi x?>c</Data>"
        "<Data Name=\"Quote &quot;q&quot;\">named by an entity</Data>"
        "</EventData></Event>");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_HOST_NAME), "a&b");
    CHECK_STR(vs(ev, "CommandLine"), "cmd /c \"echo <x> && dir\" 'q'");
    CHECK_STR(vs(ev, "Refs"), "ABC\xc3\xa9\xf0\x9f\x98\x80");
    CHECK_STR(vs(ev, "Bad"), "&bogus; &#0; &#xD800; &#x110000; &#12 &amp"); /* kept as written */
    CHECK_STR(vs(ev, "Cdata"), "<raw> &amp; tail");
    CHECK_STR(vs(ev, "Comment"), "abc");
    CHECK_STR(vs(ev, "Quote \"q\""), "named by an entity");
}

static void xml_unnamed_data_and_user_data(void) {
    mm_event *ev = dec("evtx",
        "<Event xmlns=\"x\"><System><EventID Qualifiers=\"16384\">7036</EventID></System>"
        "<EventData><Data>Windows Update</Data><Data>running</Data><Data Name=\"\">third</Data>"
        "<Binary>770075</Binary></EventData></Event>");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_EVENT_CODE), "7036");
    CHECK_STR(vs(ev, "Data1"), "Windows Update");
    CHECK_STR(vs(ev, "Data2"), "running");
    CHECK_STR(vs(ev, "Data3"), "third");
    CHECK_STR(vs(ev, "Binary"), "770075");
    ev = dec("evtx",
        "<Event><System><EventID>1102</EventID><Provider Name=\"Microsoft-Windows-Eventlog\"/></System>"
        "<UserData><LogFileCleared xmlns=\"http://manifests.microsoft.com/win/2004/08/windows/eventlog\">"
        "<SubjectUserSid>S-1-5-21-7-500</SubjectUserSid><SubjectUserName>Administrator</SubjectUserName>"
        "<SubjectDomainName>WLBEAT</SubjectDomainName><SubjectLogonId>0x50e87</SubjectLogonId>"
        "<Inner><Leaf>deep</Leaf></Inner></LogFileCleared></UserData></Event>");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(vs(ev, "xml_name"), "LogFileCleared");
    CHECK_STR(vs(ev, "SubjectUserName"), "Administrator");
    CHECK_STR(vs(ev, "Leaf"), "deep");
    CHECK(vs(ev, "Inner") == NULL); /* not a leaf */
    CHECK_STR(fs(ev, MM_F_USER_NAME), "Administrator");
    CHECK_STR(fs(ev, MM_F_EVENT_ACTION), "audit-log-cleared");
}

static void xml_rendering_info(void) {
    mm_event *ev = dec("evtx",
        "<Event><System><EventID>4740</EventID><Level>0</Level><Keywords>0x8020000000000000</Keywords>"
        "<Provider Name=\"Microsoft-Windows-Security-Auditing\"/></System>"
        "<EventData><Data Name=\"TargetUserName\">bob</Data><Data Name=\"TargetSid\">S-1-5-21-9</Data></EventData>"
        "<RenderingInfo Culture=\"en-US\"><Message>A user account was locked out.</Message><Level>Information</Level>"
        "<Task>User Account Management</Task><Opcode>Info</Opcode><Keywords><Keyword>Audit Success</Keyword>"
        "<Keyword>Extra</Keyword></Keywords></RenderingInfo></Event>");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_MESSAGE), "A user account was locked out.");
    CHECK_STR(fs(ev, MM_F_WINLOG_TASK), "User Account Management");
    CHECK_INT(nvalues(ev, MM_F_WINLOG_KEYWORDS), 2);
    CHECK(has_val(ev, MM_F_WINLOG_KEYWORDS, "Extra"));
    CHECK_STR(fs(ev, MM_F_USER_TARGET_NAME), "bob");
    CHECK_STR(fs(ev, MM_F_USER_TARGET_ID), "S-1-5-21-9");
}

/* ------------------------------------------------------------------ damage */

static uint64_t g_errors0;

static bool is_error(const mm_event *ev, const char *why_part) {
    return ev->kind == MM_KIND_PIPELINE_ERROR && ev->raw.len && ev->nvendor == 0 &&
           (!why_part || memmem(ev->error.p, ev->error.len, why_part, strlen(why_part)));
}

static void bad_json_is_a_pipeline_error(void) {
    g_errors0 = mm_counter_get(MM_C_DECODE_ERRORS);
    const char *bad[] = {
        "not json", "{", "[1,2]", "{}", "{\"winlog\":5}", "{\"winlog\":{}}", "{\"Event\":{\"System\":{}}}",
        "{\"winlog\":{\"event_id\":\"x\"}}", "{\"winlog\":{\"event_id\":-4}}", "{\"EventID\":null}",
        "{\"winlog\":{\"event_id\":99999999999}}", "{\"winlog\":{\"event_id\":\"0x10\"}}",
        "{\"winlog\":{\"event_data\":{\"a\":\"b\"}}}", "\"str\"", "{\"winlog\":{\"event_id\":1}} trailing",
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(bad); i++) {
        mm_event *ev = dec("winlog", bad[i]);
        if (!is_error(ev, NULL)) printf("# not an error: %s\n", bad[i]);
        CHECK(is_error(ev, NULL));
        CHECK(mm_str_eqc(ev->raw, bad[i])); /* evidence kept */
    }
    CHECK(is_error(dec("winlog", "not json"), "not a JSON Windows event"));
    CHECK(is_error(dec("winlog", "{\"x\":1}"), "no winlog"));
    CHECK(is_error(dec("winlog", "{\"winlog\":{\"channel\":\"Security\"}}"), "EventID"));
    CHECK_INT(mm_counter_get(MM_C_DECODE_ERRORS) - g_errors0, MM_ARRAY_LEN(bad) + 3);
    /* a NUL inside a string is data, not the end */
    mm_event *ev = dec_n("winlog", "{\"EventID\":1,\"K\":\"a\\u0000b\"}", 28, 0);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_INT(mm_event_vendor_get(ev, "K")->len, 3);
}

static void bad_xml_is_a_pipeline_error(void) {
    const char *bad[] = {
        "<Events><Event/></Events>", "<Event/>", "<Event><System></System></Event>",
        "<Event><System><EventID>x</EventID></System></Event>", "garbage", "<", "<Event",
        "<Event attr=>", "<Event a='1", "<Event><System><EventID>1</EventID>", /* cut, no </System>: still ok? */
        "<Event><Sys", "<!-- x", "<![CDATA[ x", "<Event></Foo>", "</Event>", "<Event><System><EventID>1</Bad></System></Event>",
    };
    int ok = 0;
    for (size_t i = 0; i < MM_ARRAY_LEN(bad); i++) {
        mm_event *ev = dec("evtx", bad[i]);
        if (ev->kind == MM_KIND_EVENT) {
            ok++;
            continue;
        }
        CHECK(is_error(ev, "not a Windows event (XML)") || is_error(ev, "EventID"));
        CHECK(mm_str_eqc(ev->raw, bad[i]));
    }
    /* only the cut record whose EventID was read survives (as a partial event) */
    CHECK_INT(ok, 1);
    CHECK(is_error(dec("evtx", "<Events/>"), "not an <Event>"));
    CHECK(is_error(dec("evtx", "<Event a='1"), "unterminated attribute value"));
}

static void cut_xml_keeps_the_system_part(void) {
    uint64_t p0 = mm_counter_get(MM_C_WINLOG_PARTIAL);
    /* every prefix of a good record: decodes or is an error, never reads past it */
    size_t n = strlen(XML_4624);
    int events = 0;
    for (size_t cut = 0; cut <= n; cut++) {
        mm_event *ev = dec_n("evtx", XML_4624, cut, 0);
        CHECK(ev->kind == MM_KIND_EVENT || ev->kind == MM_KIND_PIPELINE_ERROR);
        events += ev->kind == MM_KIND_EVENT;
    }
    CHECK(events > 0);
    CHECK(mm_counter_get(MM_C_WINLOG_PARTIAL) - p0 == (uint64_t)events - 1); /* all but the whole one */
    /* cut inside EventData: the System fields and the Data before the cut */
    const char *cutat = strstr(XML_4624, "<Data Name='LogonType'>");
    mm_event *ev = dec_n("evtx", XML_4624, (size_t)(cutat - XML_4624) + 10, 0);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_HOST_NAME), "WS01.corp.example");
    CHECK_STR(fs(ev, MM_F_USER_NAME), "alice");
    CHECK(vs(ev, "LogonType") == NULL);
}

static void xml_depth_is_bounded(void) {
    mm_buf b = {0};
    mm_buf_puts(&b, "<Event><System><EventID>1</EventID></System><UserData>");
    for (int i = 0; i < 40; i++) mm_buf_puts(&b, "<a>");
    mm_buf_puts(&b, "x");
    for (int i = 0; i < 40; i++) mm_buf_puts(&b, "</a>");
    mm_buf_puts(&b, "</UserData></Event>");
    mm_event *ev = dec_n("evtx", b.p, b.len, 0);
    CHECK_INT(ev->kind, MM_KIND_EVENT); /* kept as far as it went */
    CHECK(vs(ev, "a") == NULL);
    /* too deep before any EventID: an error */
    mm_buf_reset(&b);
    mm_buf_puts(&b, "<Event>");
    for (int i = 0; i < 40; i++) mm_buf_puts(&b, "<a>");
    ev = dec_n("evtx", b.p, b.len, 0);
    CHECK(is_error(ev, "nested too deep"));
    /* 10000 Data elements: no overflow of anything */
    mm_buf_reset(&b);
    mm_buf_puts(&b, "<Event><System><EventID>1</EventID></System><EventData>");
    for (int i = 0; i < 10000; i++) mm_buf_puts(&b, "<Data>v</Data>");
    mm_buf_puts(&b, "</EventData></Event>");
    ev = dec_n("evtx", b.p, b.len, 0);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(vs(ev, "Data10000"), "v");
    mm_buf_free(&b);
}

/* ------------------------------------------------------------------ routing */

static void entity_prescan(void) {
    CHECK_STR(entity("winlog", WLB_4624), "10.1.2.3");
    CHECK_STR(entity("evtx", XML_4624), "198.51.100.20");
    /* "-" is no address: the user, then the computer */
    CHECK_STR(entity("evtx", "<Data Name=\"IpAddress\">-</Data><Data Name=\"TargetUserName\">bob</Data>"), "bob");
    CHECK_STR(entity("winlog", "{\"IpAddress\" : \"-\",\"TargetUserName\":\"-\",\"computer_name\":\"pc9\"}"), "pc9");
    CHECK_STR(entity("winlog", "{\"Event\":{\"System\":{\"Computer\":\"sig1\"}}}"), "sig1");
    CHECK_STR(entity("winlog", "{\"Hostname\":\"nx1\",\"EventID\":1}"), "nx1");
    CHECK_STR(entity("evtx", "<Event><System><Computer>x1</Computer></System></Event>"), "x1");
    /* a longer name that starts with the key is not the key */
    CHECK_STR(entity("winlog", "{\"IpAddressX\":\"1.1.1.1\",\"TargetUserName\":\"u\"}"), "u");
    /* cut records: never outside, at worst empty or the cut value */
    CHECK_STR(entity("winlog", "{\"IpAddress\":\"10.9"), "10.9");
    CHECK_STR(entity("winlog", "{\"IpAddress\":"), "");
    CHECK_STR(entity("winlog", "\"IpAddress\""), "");
    CHECK_STR(entity("evtx", "Name=\"IpAddress\">"), "");
    CHECK_STR(entity("evtx", ""), "");
    size_t n = strlen(XML_4624);
    for (size_t cut = 0; cut <= n; cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, XML_4624, cut);
        mm_str e = mm_decoder_find("evtx")->entity((mm_str){copy, (uint32_t)cut});
        bool inside = !e.len || (e.p >= copy && e.p + e.len <= copy + cut);
        free(copy);
        CHECK(inside);
    }
}

/* ------------------------------------------------------------------ .evtx files */

static char **g_files;
static int g_nfiles;

static int collect(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb;
    (void)ftw;
    size_t n = strlen(path);
    if (type == FTW_F && n > 5 && strcmp(path + n - 5, ".evtx") == 0) {
        g_files = realloc(g_files, (size_t)(g_nfiles + 1) * sizeof *g_files);
        g_files[g_nfiles++] = strdup(path);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool regression_files(void) {
    if (g_nfiles) return true;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/sigma/regression", t_corpora());
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("  (no corpora at %s: skipped)\n", dir);
        return false;
    }
    nftw(dir, collect, 16, FTW_PHYS);
    qsort(g_files, (size_t)g_nfiles, sizeof *g_files, cmp_str);
    return g_nfiles > 0;
}

typedef struct xml_list {
    char **xml;
    size_t *len;
    int n;
} xml_list;

static int keep_xml(void *ctx, const char *xml, size_t len) {
    xml_list *l = ctx;
    l->xml = realloc(l->xml, (size_t)(l->n + 1) * sizeof *l->xml);
    l->len = realloc(l->len, (size_t)(l->n + 1) * sizeof *l->len);
    l->xml[l->n] = malloc(len + 1);
    memcpy(l->xml[l->n], xml, len + 1);
    if (xml[len] != 0) l->xml[l->n][len] = 0; /* fn promises a NUL: checked below */
    l->len[l->n++] = len;
    return 0;
}

static void xml_list_free(xml_list *l) {
    for (int i = 0; i < l->n; i++) free(l->xml[i]);
    free(l->xml);
    free(l->len);
    memset(l, 0, sizeof *l);
}

static int open_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static void evtx_each_reads_a_regression_file(void) {
    if (!regression_files()) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/sigma/regression/rules/windows/sysmon/sysmon_config_modification/"
             "8ac03a65-6c84-4116-acad-dc1558ff7a77.evtx", t_corpora());
    xml_list l = {0};
    mm_evtx_stats st;
    mm_err e = {{0}};
    CHECK_INT(mm_evtx_each(path, 0, keep_xml, &l, &st, &e), 0);
    CHECK_INT(st.records, 1);
    CHECK_INT(st.recovered, 0);
    CHECK_INT(l.n, 1);
    CHECK(strncmp(l.xml[0], "<Event xmlns=", 13) == 0);
    CHECK(strlen(l.xml[0]) == l.len[0]);
    mm_event *ev = dec_n("evtx", l.xml[0], l.len[0], 0);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_EVENT_CODE), "16");
    CHECK_STR(fs(ev, MM_F_WINLOG_CHANNEL), "Microsoft-Windows-Sysmon/Operational");
    CHECK_STR(fs(ev, MM_F_WINLOG_RECORD_ID), "11738");
    CHECK_STR(vs(ev, "Configuration"), "C:\\Users\\Administrator\\Downloads\\sysmonconfig-trace.xml");
    xml_list_free(&l);
    /* every recovered fragment of this file is too damaged to be an event */
    CHECK_INT(mm_evtx_each(path, MM_EVTX_RECOVERED, keep_xml, &l, &st, &e), 0);
    CHECK_INT(st.records, 1);
    CHECK(st.recovered_unreadable > 0);
    xml_list_free(&l);
    /* this one has usable recovered records: more events, none a copy of a live one */
    snprintf(path, sizeof path, "%s/sigma/regression/rules/windows/file/file_event/"
             "file_event_win_cred_dump_tools_dropped_files/8fbf3271-1ef6-4e94-8210-03c2317947f6.evtx", t_corpora());
    CHECK_INT(mm_evtx_each(path, 0, keep_xml, &l, &st, &e), 0);
    int live = l.n;
    char ids[64][32];
    for (int i = 0; i < live && i < 64; i++) snprintf(ids[i], sizeof ids[i], "%s", fs(dec_n("evtx", l.xml[i], l.len[i], 0), MM_F_WINLOG_RECORD_ID));
    xml_list_free(&l);
    CHECK_INT(mm_evtx_each(path, MM_EVTX_RECOVERED, keep_xml, &l, &st, &e), 0);
    CHECK(st.recovered > 0);
    CHECK_INT(st.records, (uint64_t)live + st.recovered);
    CHECK_INT(st.bad, 0);
    for (int i = live; i < l.n; i++) {
        ev = dec_n("evtx", l.xml[i], l.len[i], 0);
        CHECK_INT(ev->kind, MM_KIND_EVENT);
        for (int k = 0; k < live && k < 64; k++) CHECK(strcmp(fs(ev, MM_F_WINLOG_RECORD_ID), ids[k]) != 0);
    }
    xml_list_free(&l);
}

static int stop_at_once(void *ctx, const char *xml, size_t len) {
    (void)xml;
    (void)len;
    (*(int *)ctx)++;
    return 1;
}

static void evtx_each_bad_files(void) {
    mm_evtx_close();   /* the background reader holds two descriptors while it runs */
    int fds = open_fds();
    mm_err e = {{0}};
    mm_evtx_stats st;
    int calls = 0;
    CHECK_INT(mm_evtx_each("/nonexistent/x.evtx", 0, stop_at_once, &calls, &st, &e), MM_ENOENT);
    CHECK(strstr(e.msg, "/nonexistent/x.evtx") != NULL);
    char tmp[] = "/tmp/mm-test-evtx-XXXXXX";
    int fd = mkstemp(tmp);
    CHECK(fd >= 0);
    CHECK(write(fd, "not an event log at all", 23) == 23);
    close(fd);
    CHECK_INT(mm_evtx_each(tmp, 0, stop_at_once, &calls, &st, &e), MM_EINVAL);
    CHECK(strstr(e.msg, tmp) && strstr(e.msg, "not an .evtx file"));
    /* a header that claims to be one, and nothing behind it */
    static char hdr[4096];
    memcpy(hdr, "ElfFile", 8);
    fd = open(tmp, O_WRONLY | O_TRUNC);
    CHECK(write(fd, hdr, sizeof hdr) == (ssize_t)sizeof hdr);
    close(fd);
    int rc = mm_evtx_each(tmp, MM_EVTX_RECOVERED, stop_at_once, &calls, &st, &e);
    CHECK(rc == 0 || rc == MM_EINVAL);
    CHECK_INT(calls, 0);
    unlink(tmp);
    CHECK_INT(mm_evtx_each("/tmp", 0, stop_at_once, &calls, &st, &e), MM_EINVAL); /* a directory */
    CHECK_INT(mm_evtx_each_mem("xx", 2, 0, stop_at_once, &calls, &st, &e), MM_EINVAL);
    mm_evtx_close();
    CHECK_INT(open_fds(), fds); /* nothing left open */
    if (!regression_files()) return;
    /* cut copies of a real file: whatever renders, nothing crashes or leaks */
    FILE *fp = fopen(g_files[0], "rb");
    CHECK(fp);
    static char data[1 << 17];
    size_t n = fread(data, 1, sizeof data, fp);
    fclose(fp);
    size_t cuts[] = {0, 7, 8, 127, 128, 4095, 4096, 4200, 4096 + 512, 20000, n - 1, n};
    for (size_t i = 0; i < MM_ARRAY_LEN(cuts); i++) {
        xml_list l = {0};
        mm_evtx_each_mem(data, cuts[i], MM_EVTX_RECOVERED, keep_xml, &l, &st, &e);
        for (int k = 0; k < l.n; k++) dec_n("evtx", l.xml[k], l.len[k], 0);
        xml_list_free(&l);
    }
    CHECK_INT(mm_evtx_each(g_files[0], 0, stop_at_once, &calls, &st, &e), 0);
    CHECK_INT(calls, 1); /* stopped after the first record */
    CHECK_INT(open_fds(), fds);
}

/* Split back-to-back (pretty-printed) JSON values into records: the SigmaHQ .json
 * files hold one or several.  Returns the number of records; starts[]/lens[] point
 * into text. */
static int split_json(const char *text, size_t n, const char **starts, size_t *lens, int max) {
    int k = 0, depth = 0;
    bool str = false, esc = false;
    size_t start = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        char c = text[i];
        if (str) {
            if (esc) esc = false;
            else if (c == '\\') esc = true;
            else if (c == '"') str = false;
            continue;
        }
        if (c == '"') str = true;
        else if (c == '{' || c == '[') {
            if (depth++ == 0) start = i;
        } else if ((c == '}' || c == ']') && depth > 0 && --depth == 0) {
            starts[k] = text + start;
            lens[k++] = i + 1 - start;
        }
    }
    return k;
}

/* Text equal but for what evtx_dump changes: GUID braces, surrounding white space,
 * letter case (one upstream sample differs only in the case of a path). */
static bool same_text(mm_str a, mm_str b) {
    while (a.len && (a.p[0] == '{' || a.p[0] == ' ')) a.p++, a.len--;
    while (b.len && (b.p[0] == '{' || b.p[0] == ' ')) b.p++, b.len--;
    while (a.len && (a.p[a.len - 1] == '}' || a.p[a.len - 1] == ' ')) a.len--;
    while (b.len && (b.p[b.len - 1] == '}' || b.p[b.len - 1] == ' ')) b.len--;
    if (a.len != b.len) return false;
    for (uint32_t i = 0; i < a.len; i++) {
        char x = a.p[i], y = b.p[i];
        if (x >= 'A' && x <= 'Z') x = (char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (char)(y + 32);
        if (x != y) return false;
    }
    return true;
}

/* Every regression sample: its .evtx records (XML) and its evtx_dump JSON records
 * decode to the same event — every EventData value, the System fields, the time
 * (to the microsecond evtx_dump keeps). */
static void evtx_and_json_renderings_agree(void) {
    if (!regression_files()) return;
    static const mm_field sys_fields[] = {
        MM_F_EVENT_CODE, MM_F_HOST_NAME, MM_F_WINLOG_CHANNEL, MM_F_WINLOG_PROVIDER_NAME,
        MM_F_WINLOG_PROVIDER_GUID, MM_F_WINLOG_RECORD_ID, MM_F_WINLOG_LEVEL, MM_F_WINLOG_OPCODE,
        MM_F_WINLOG_TASK, MM_F_WINLOG_PROCESS_PID, MM_F_WINLOG_THREAD_ID, MM_F_WINLOG_USER_ID,
        MM_F_WINLOG_VERSION, MM_F_USER_NAME, MM_F_SOURCE_IP, MM_F_PROCESS_EXECUTABLE,
    };
    mm_arena a2;
    mm_arena_init(&a2, 1 << 16);
    int compared = 0, files = 0, hexfixed = 0;
    for (int f = 0; f < g_nfiles; f++) {
        char js[4200];
        snprintf(js, sizeof js, "%.*s.json", (int)(strlen(g_files[f]) - 5), g_files[f]);
        FILE *fp = fopen(js, "rb");
        if (!fp) continue;
        static char text[1 << 20];
        size_t tn = fread(text, 1, sizeof text, fp);
        fclose(fp);
        const char *starts[64];
        size_t lens[64];
        int nj = split_json(text, tn, starts, lens, 64);
        xml_list l = {0};
        mm_err e = {{0}};
        CHECK_INT(mm_evtx_each(g_files[f], 0, keep_xml, &l, NULL, &e), 0);
        if (l.n != nj) printf("# %s: %d records, %d JSON documents\n", g_files[f], l.n, nj);
        CHECK_INT(l.n, nj);
        files++;
        for (int i = 0; i < nj; i++) {
            mm_event *x = dec_n("evtx", l.xml[i], l.len[i], 0);
            CHECK_INT(x->kind, MM_KIND_EVENT);
            mm_event j;
            mm_arena_reset(&a2);
            mm_event_init(&j, &a2);
            mm_decode(mm_decoder_find("winlog"), &j, (mm_str){starts[i], (uint32_t)lens[i]}, NULL);
            CHECK_INT(j.kind, MM_KIND_EVENT);
            CHECK_INT(j.nvendor, x->nvendor);
            for (uint16_t k = 0; k < x->nvendor; k++) {
                char key[256];
                snprintf(key, sizeof key, "%.*s", (int)x->vendor[k].key.len, x->vendor[k].key.p);
                const mm_str *jv = mm_event_vendor_get(&j, key);
                if (!jv || !same_text(*jv, x->vendor[k].val))
                    printf("# %s record %d %s: evtx '%.*s' json '%.*s'\n", g_files[f], i, key,
                           (int)x->vendor[k].val.len, x->vendor[k].val.p, jv ? (int)jv->len : 0, jv ? jv->p : "");
                CHECK(jv && same_text(*jv, x->vendor[k].val));
                hexfixed += x->vendor[k].val.len > 2 && !memcmp(x->vendor[k].val.p, "0x", 2);
            }
            for (size_t k = 0; k < MM_ARRAY_LEN(sys_fields); k++) {
                const mm_value *xv = mm_event_get(x, sys_fields[k]), *jv = mm_event_get(&j, sys_fields[k]);
                CHECK(!xv == !jv);
                if (xv) CHECK(same_text(xv->s, jv->s));
            }
            CHECK_INT(x->ts_ns / 1000, j.ts_ns / 1000);
            compared++;
        }
        xml_list_free(&l);
    }
    mm_arena_free(&a2);
    printf("# %d records of %d files compared (%d hex values)\n", compared, files, hexfixed);
    CHECK(compared >= 200);
}

/* libevtx zero-pads hex values; Windows and detection rules do not. */
static void evtx_hex_values_are_not_padded(void) {
    if (!regression_files()) return;
    int seen = 0;
    for (int f = 0; f < g_nfiles; f++) {
        xml_list l = {0};
        mm_err e = {{0}};
        mm_evtx_each(g_files[f], 0, keep_xml, &l, NULL, &e);
        for (int i = 0; i < l.n; i++) {
            CHECK(!strstr(l.xml[i], ">0x00000000"));
            const char *p = strstr(l.xml[i], "Name=\"LogonId\">0x");
            if (p) {
                seen++;
                CHECK(p[17] != '0');
            }
        }
        xml_list_free(&l);
    }
    CHECK(seen > 0);
}

/* The batch reader, through a real pipeline: good file read, bad ones named. */
static void read_evtx_through_the_pipeline(void) {
    if (!regression_files()) return;
    mm_counters_reset();
    mm_pipeline_opts o = {.workers = 2, .store_events = false, .batch_rows = 100, .batch_ms = 50};
    mm_pipeline *p;
    mm_err e = {{0}};
    CHECK_INT(mm_pipeline_start(&p, &o, NULL, NULL, &e), 0);
    mm_source src = {"test", "t", "", "evtx"};
    char *paths[] = {g_files[0], "/nonexistent/a.evtx", (char *)MM_HOME "/README.md", g_files[1]};
    int64_t n = mm_input_read_evtx(p, &src, NULL, paths, 4, MM_EVTX_RECOVERED, &e);
    mm_pipeline_finish(p);
    mm_pipeline_free(p);
    CHECK(n >= 2);
    CHECK(strstr(e.msg, "/nonexistent/a.evtx") != NULL);
    CHECK(strstr(e.msg, "1 more") != NULL);
    CHECK_INT(mm_counter_get(MM_C_EVTX_FILES_BAD), 2);
    CHECK_INT(mm_counter_get(MM_C_EVTX_RECORDS), (uint64_t)n);
    CHECK_INT(mm_counter_get(MM_C_EVENTS_DECODED), (uint64_t)n);
    CHECK_INT(mm_counter_get(MM_C_DECODE_ERRORS), 0);
}

int main(void) {
    mm_arena_init(&g_arena, 1 << 16);
    mm_log_set_level(MM_LOG_ERROR);
    TEST(winlogbeat_logon);
    TEST(winlogbeat_process_created);
    TEST(winlogbeat_user_data_log_cleared);
    TEST(security_group_membership);
    TEST(security_failed_logon_and_kerberos);
    TEST(security_share_and_firewall);
    TEST(other_provider_is_not_mapped_as_security);
    TEST(nxlog_flat_keys);
    TEST(evtx_dump_shape);
    TEST(xml_logon);
    TEST(xml_entities_cdata_comments);
    TEST(xml_unnamed_data_and_user_data);
    TEST(xml_rendering_info);
    TEST(bad_json_is_a_pipeline_error);
    TEST(bad_xml_is_a_pipeline_error);
    TEST(cut_xml_keeps_the_system_part);
    TEST(xml_depth_is_bounded);
    TEST(entity_prescan);
    TEST(evtx_each_reads_a_regression_file);
    TEST(evtx_each_bad_files);
    TEST(evtx_and_json_renderings_agree);
    TEST(evtx_hex_values_are_not_padded);
    TEST(read_evtx_through_the_pipeline);
    for (int i = 0; i < g_nfiles; i++) free(g_files[i]);
    free(g_files);
    free(g_rec);
    mm_arena_free(&g_arena);
    TEST_MAIN_END();
}
