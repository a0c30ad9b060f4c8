/* winlog_int: what the two Windows event decoders share.
 *
 * winlog.c parses Windows events sent as JSON (Winlogbeat, NXLog, the evtx_dump
 * rendering of SigmaHQ's regression data); evtx.c parses the XML rendering (libevtx,
 * Windows Event Forwarding, NXLog to_xml).  Each only turns its syntax into an
 * mm_winevt: the System values as text, and every EventData/UserData pair, which
 * mm_winevt_data() keeps at once as a vendor field (winlog.event_data.<Name>).
 * mm_winevt_finish() then does everything else once, for both (winlog_ecs.c): the
 * Winlogbeat names of the System values (winlog.*), @timestamp, event.code,
 * host.name, and the ECS mapping of Elastic's system/security integration.
 *
 * All slices point into the record or the event's arena. */
#ifndef MM_WINLOG_INT_H
#define MM_WINLOG_INT_H

#include "decode.h"

/* System values, as the decoders find them (text). */
typedef enum mm_winsys {
    WS_PROVIDER,         /* Provider Name */
    WS_PROVIDER_GUID,
    WS_EVENT_ID,
    WS_VERSION,
    WS_LEVEL,            /* number (0-5) */
    WS_TASK,             /* number */
    WS_OPCODE,           /* number */
    WS_KEYWORDS,         /* 64-bit mask: "0x8020000000000000" or a (signed) decimal */
    WS_TIME,             /* TimeCreated SystemTime (RFC 3339, UTC) */
    WS_TIME_LOCAL,       /* a time without zone (NXLog EventTime): the configured zone */
    WS_TIMESTAMP,        /* the shipper's @timestamp: used only without WS_TIME */
    WS_RECORD_ID,
    WS_ACTIVITY_ID,
    WS_RELATED_ACTIVITY_ID,
    WS_PID,
    WS_TID,
    WS_CHANNEL,
    WS_COMPUTER,
    WS_HOST,             /* the shipper's host.name: used only without WS_COMPUTER */
    WS_USER_ID,          /* Security UserID (SID) */
    /* text rendered on the Windows side (RenderingInfo, Winlogbeat, NXLog) */
    WS_LEVEL_TEXT,
    WS_TASK_TEXT,
    WS_OPCODE_TEXT,
    WS_MESSAGE,
    WS_OUTCOME,          /* "success" / "failure" */
    WS_ACTION,           /* Winlogbeat's event.action (the task name) */
    WS_USER_NAME,
    WS_USER_DOMAIN,
    WS_USER_TYPE,
    WS__COUNT
} mm_winsys;

/* EventData/UserData names the ECS mapping reads (X(id, "Name")). */
#define WIN_DATA_KEYS(X)                                                               \
    X(TARGET_USER_NAME, "TargetUserName") X(TARGET_DOMAIN_NAME, "TargetDomainName")   \
    X(TARGET_USER_SID, "TargetUserSid") X(TARGET_SID, "TargetSid")                     \
    X(SUBJECT_USER_SID, "SubjectUserSid") X(SUBJECT_USER_NAME, "SubjectUserName")      \
    X(SUBJECT_DOMAIN_NAME, "SubjectDomainName") X(SUBJECT_LOGON_ID, "SubjectLogonId")  \
    X(TARGET_LOGON_ID, "TargetLogonId") X(LOGON_TYPE, "LogonType")                     \
    X(IP_ADDRESS, "IpAddress") X(IP_PORT, "IpPort")                                    \
    X(WORKSTATION_NAME, "WorkstationName")                                             \
    X(PROCESS_ID, "ProcessId") X(PROCESS_NAME, "ProcessName")                          \
    X(NEW_PROCESS_ID, "NewProcessId") X(NEW_PROCESS_NAME, "NewProcessName")            \
    X(PARENT_PROCESS_NAME, "ParentProcessName") X(COMMAND_LINE, "CommandLine")         \
    X(SERVICE_NAME, "ServiceName") X(SERVICE_TYPE, "ServiceType")                      \
    X(MEMBER_NAME, "MemberName") X(MEMBER_SID, "MemberSid")                            \
    X(ACCOUNT_NAME, "AccountName") X(ACCOUNT_DOMAIN, "AccountDomain")                  \
    X(CLIENT_ADDRESS, "ClientAddress") X(CLIENT_NAME, "ClientName")                    \
    X(LOGON_ID, "LogonID") X(FAILURE_REASON, "FailureReason")                          \
    X(STATUS, "Status") X(SUB_STATUS, "SubStatus")                                     \
    X(OLD_TARGET_USER_NAME, "OldTargetUserName")                                       \
    X(NEW_TARGET_USER_NAME, "NewTargetUserName")                                       \
    X(RELATIVE_TARGET_NAME, "RelativeTargetName")                                      \
    X(SHARE_LOCAL_PATH, "ShareLocalPath") X(SHARE_NAME, "ShareName")                   \
    X(SOURCE_ADDRESS, "SourceAddress") X(SOURCE_PORT, "SourcePort")                    \
    X(DEST_ADDRESS, "DestAddress") X(DEST_PORT, "DestPort")                            \
    X(PROTOCOL, "Protocol") X(APPLICATION, "Application") X(DIRECTION, "Direction")

typedef enum mm_windata {
#define X(id, name) WD_##id,
    WIN_DATA_KEYS(X)
#undef X
    WD__COUNT
} mm_windata;

#define MM_WIN_MAX_KEYWORDS 8

typedef struct mm_winevt {
    mm_event *ev;
    const mm_decode_opts *o;
    mm_str sys[WS__COUNT];                 /* .p == NULL: absent */
    mm_str data[WD__COUNT];                /* first occurrence of each known name */
    mm_str kw[MM_WIN_MAX_KEYWORDS];        /* keyword names rendered by the sender */
    int nkw;
    int unnamed;                           /* EventData <Data> without Name so far */
} mm_winevt;

void mm_winevt_init(mm_winevt *w, mm_event *ev, const mm_decode_opts *o);
/* One EventData/UserData pair: kept as winlog.event_data.<key> (both slices must
 * live as long as the event), and remembered when the mapping reads that name. */
void mm_winevt_data(mm_winevt *w, mm_str key, mm_str val);
/* A <Data> without a Name (or an evtx_dump "#text" list): Data1, Data2, ... */
void mm_winevt_data_unnamed(mm_winevt *w, mm_str val);
/* A keyword name rendered by the sender ("Audit Success"). */
void mm_winevt_keyword(mm_winevt *w, mm_str name);
/* Everything after parsing: System fields, ECS mapping.  Fails (mm_event_fail,
 * MM_EINVAL) when there is no usable EventID. */
int mm_winevt_finish(mm_winevt *w);

/* The XML decoder (evtx.c); "winlog" hands it records that are XML. */
extern const mm_decoder mm_decoder_evtx;

/* The routing key of a Windows event in any of the JSON shapes or the XML, found
 * without decoding: IpAddress (unless "-" or empty), else TargetUserName, else the
 * computer name.  A slice of rec, or empty. */
mm_str mm_winevt_entity(mm_str rec);

#endif
