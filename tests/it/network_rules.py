#!/usr/bin/env python3
"""The traffic detections (rules/network, and the indicator rule on sensor events)
end to end: packets -> sensor -> ecs decoder -> Sigma engine -> alert.

1. demo/sensor-sakura.pcap is what scripts/gen_demo_pcap.py writes (the committed
   capture and the generator agree), and the sensor reads it cleanly (no bad packet,
   no TCP gap, no malformed application data).
2. `mamori -c demo/mamori.yaml ingest --pcap --no-store --alerts --json` on it
   raises each traffic detection for the right host with the right evidence in the
   reason, and nothing of rules/network for anyone else (the background PCs).
3. The corpora captures raise what they hold: nDPI's exe_download_as_png (a PE
   named .png from a bare IP by "WinHTTP loader"), emotet (the random User-Agent,
   the xlsm spam attachment), portable_executable (Meterpreter stages over raw TCP
   on 4444 and 53), irc (IRC on port 8000), Zeek's ssh_sshguess and
   ftp_bruteforce (password guessing by 192.168.56.1).  Skipped when the corpora
   are missing.
4. `mamori rules test rules/network` passes every fixture.

Prints PASS/FAIL lines.  Environment: MAMORI or MAMORI_BIN (default build/mamori),
MM_CORPORA (default ../shared/corpora from the repository root).
"""
import filecmp
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPORA = os.environ.get("MM_CORPORA") or os.path.join(ROOT, "..", "shared", "corpora")
BIN = os.environ.get("MAMORI") or os.environ.get("MAMORI_BIN") or os.path.join(ROOT, "build", "mamori")
if not os.path.isabs(BIN):
    BIN = os.path.join(ROOT, BIN)
PCAP = os.path.join(ROOT, "demo", "sensor-sakura.pcap")
failed = 0

# rule ids (rules/network/*.yml, rules/fortigate/indicator_match.yml)
MISLEADING = "49fd5fc4-9d10-4676-9d42-0af9a87711eb"
DOUBLE_EXT = "67b88774-cb4f-4589-84b9-a03e9f8b270b"
MAIL_EXEC = "59757d7f-b49f-45bd-a209-d39eeb472e81"
MAIL_MACRO = "771aed26-fa4f-45fb-a6bb-a98b3a0e3d37"
UA_NONE = "4214f9c6-d498-4e02-ae71-9ffddb049631"
UA_SHORT = "76737d6a-106b-41f0-9bd9-db5b4e7b4524"
UA_TOOL = "9ebc2127-2685-4ee0-9c59-1524a844a8c9"
UA_WINDL = "685ebade-ef2c-4313-a422-9dfb0cd8173c"
UA_INJECT = "4385fcfd-f48d-453a-839a-6ac207a7c419"
UA_RANDOM = "28c7cffe-976e-4659-8dea-fccfbf3dd7d4"
UA_NEW = "702f892f-84f9-4575-b696-9377fa00e3bf"
IRC_BOT = "bcf2959a-a156-45ff-bb14-c63982d799b9"
IRC_PORT = "0c2bafc2-5d41-46d4-ac91-6204292f387b"
IRC_NEW = "a3514d25-54b9-4733-a4b8-ce2b911082cf"
MAIL_IP = "5f0b6274-7247-4afa-b870-dfbb9582ddff"
UPLOAD = "fc223b99-e191-41e0-be70-8d3a8dd792a8"
UPLOAD_ARCHIVE = "19be3a79-a7d6-4e48-b58a-e70efd2879ed"
GUESS_INTERNAL = "3d4cd22a-9bdb-4950-a67a-25bb3a00165c"
GUESS_INBOUND = "6f71e18f-9814-426b-8b71-c365d0ed5d1a"
NONSTD = "ec2ba6c7-8094-4d84-abf6-79fba218cf1e"
EXE_FROM_IP = "d25312ff-f261-412e-97c6-b1e003cba3c3"
RAW_EXE_PORT = "5b0f3c2e-7d1a-4c8e-9a61-2f4e8b7d9c13"
RAW_EXE = "8e2d6a47-1c35-4f0b-b7e9-6a3d51c0f284"
IOC = "f84e8768-ae83-4df0-9148-50b43959e6da"

NETWORK_RULES = {MISLEADING, DOUBLE_EXT, MAIL_EXEC, MAIL_MACRO, UA_NONE, UA_SHORT, UA_TOOL, UA_WINDL, UA_INJECT,
                 UA_RANDOM, UA_NEW, IRC_BOT, IRC_PORT, IRC_NEW, MAIL_IP, UPLOAD, UPLOAD_ARCHIVE, GUESS_INTERNAL,
                 GUESS_INBOUND, NONSTD, EXE_FROM_IP, RAW_EXE_PORT, RAW_EXE}


def check(name, ok, why=""):
    global failed
    if ok:
        print(f"PASS {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {why}")


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, timeout=300, cwd=ROOT)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def alerts_of(pcap, config=None):
    """The alerts (JSON objects with a rule), the stderr and the summary of one run."""
    args = (["-c", config] if config else []) + ["ingest", "--pcap", "--no-store", "--alerts", "--json", pcap]
    rc, out, err = run(*args)
    objs = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                objs.append(json.loads(line))
            except ValueError:
                pass
    summary = next((o["summary"] for o in objs if "summary" in o), {})
    return rc, [o for o in objs if "rule" in o], err, summary


def src(a):
    return a.get("evidence", {}).get("source", {}).get("ip")


def expect(name, alerts, rule, host, *words, count=None):
    """An alert of `rule` whose evidence comes from `host` and whose reason holds
    every word (each word may be satisfied by a different alert of the rule if
    count is given: then exactly `count` alerts for the host)."""
    mine = [a for a in alerts if a["rule"]["id"] == rule and src(a) == host]
    if count is not None:
        ok = len(mine) == count and all(any(w in a["alert"]["reason"] for a in mine) for w in words)
    else:
        ok = any(all(w in a["alert"]["reason"] for w in words) for a in mine)
    seen = sorted({(a["rule"]["name"], src(a)) for a in alerts if a["rule"]["id"] == rule})
    check(name, ok, f"rule {rule} host {host} words {words}: got {[a['alert']['reason'] for a in mine]} "
                    f"(that rule fired for {seen})")


# ---------------------------------------------------------------- 1. the capture
with tempfile.TemporaryDirectory() as T:
    regen = os.path.join(T, "s.pcap")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_demo_pcap.py"), regen],
                       capture_output=True, timeout=300)
    check("demo_pcap_is_the_generators_output", p.returncode == 0 and os.path.exists(regen)
          and filecmp.cmp(regen, PCAP, shallow=False), p.stderr.decode()[-300:])
check("demo_pcap_small", os.path.getsize(PCAP) < 320 * 1024, str(os.path.getsize(PCAP)))

# ---------------------------------------------------------------- 2. the story
rc, A, err, summary = alerts_of(PCAP, os.path.join(ROOT, "demo", "mamori.yaml"))
check("demo_pcap_reads_clean", rc == 0 and summary.get("packets", 0) > 1000 and summary.get("packet_errors") == 0
      and summary.get("tcp_gaps") == 0 and summary.get("app_errors") == 0 and summary.get("decode_errors") == 0,
      json.dumps(summary)[:500] + err[-300:])
PC, MTA, SCANNER, PC2 = "10.10.5.21", "198.51.100.25", "45.155.205.99", "10.10.7.8"
# the mail at 09:05
expect("mail_attachment_exe", A, MAIL_EXEC, MTA, "請求書.pdf.exe", "fukushi07@town-sakura.example.jp", "【請求書】")
expect("mail_attachment_double_extension", A, DOUBLE_EXT, MTA, "請求書.pdf.exe", "mail-attachment")
expect("mail_link_to_bare_ip", A, MAIL_IP, MTA, "keiri@sakura-bussan.example")
expect("mail_link_to_indicator", A, IOC, MTA, "email.urls http://cdn.badfiles.xyz/dl/invoice_2026-11.doc")
# the download and the C&C
expect("dns_indicator", A, IOC, PC, "dns.question.name cdn.badfiles.xyz", "badfiles.xyz")
expect("pe_named_jpg", A, MISLEADING, PC, "invoice.jpg", "named .jpg", "http://cdn.badfiles.xyz/dl/invoice.jpg")
expect("powershell_download", A, UA_WINDL, PC, "WindowsPowerShell/5.1", "invoice.jpg")
expect("random_user_agent", A, UA_RANDOM, PC, "hRtkWqpZlmNbvcXe", "185.220.101.45:8080")
expect("new_user_agent_flows", A, UA_NEW, PC, "198.51.100.77:80", "185.220.101.45:8080", "203.0.113.99:80", count=3)
expect("tls_sni_indicator", A, IOC, PC, "tls.client.server_name cdn.badfiles.xyz")
expect("tls_ja3_indicator", A, IOC, PC, "tls.client.ja3 51c64c77e60f3980eea90869b68c58a8", count=None)
expect("cnc_address_indicator", A, IOC, PC, "destination.ip 185.220.101.45")
n_ja3 = sum(1 for a in A if a["rule"]["id"] == IOC and "tls.client.ja3" in a["alert"]["reason"])
check("tls_beacons_one_ja3_alert_each", n_ja3 == 4, str(n_ja3))
# one alert per DNS lookup (the query), not one more for its answer
n_dns = sum(1 for a in A if a["rule"]["id"] == IOC and "dns.question.name cdn.badfiles.xyz" in a["alert"]["reason"])
check("dns_indicator_once_per_lookup", n_dns == 2, str(n_dns))
# IRC
expect("irc_topic_command", A, IRC_BOT, PC, "332", "!dl http://198.51.100.77/a/kb5031.exe")
expect("irc_ddos_command", A, IRC_BOT, PC, "PRIVMSG", "!ddos udp 203.0.113.80")
expect("irc_non_standard_port", A, IRC_PORT, PC, "203.0.113.45:8000")
expect("irc_new_host", A, IRC_NEW, PC, "203.0.113.45:8000")
expect("bot_download_from_ip", A, EXE_FROM_IP, PC, "kb5031.exe", "http://198.51.100.77/a/kb5031.exe")
expect("bot_download_without_user_agent", A, UA_NONE, PC, "http://198.51.100.77/a/kb5031.exe")
# the other PC
expect("qakbot_dns_indicator", A, IOC, PC2, "update.qakbot-c2.duckdns.org")
expect("qakbot_address_indicator", A, IOC, PC2, "91.92.109.23", "91.92.109.0/24")
# password guessing: one alert per protocol
expect("ftp_guessing", A, GUESS_INTERNAL, PC, "failed ftp logins from 10.10.5.21", "10.10.0.21:21")
expect("ssh_guessing", A, GUESS_INTERNAL, PC, "failed ssh logins from 10.10.5.21", "10.10.0.40:22")
# Log4Shell in a User-Agent
expect("injection_user_agent", A, UA_INJECT, SCANNER, "${jndi:ldap://", "www.town-sakura.example.jp")
# the archive leaves
expect("upload_external", A, UPLOAD, PC, "sakura_dc01_ntds.zip", "files.transfer-box.top")
expect("upload_archive", A, UPLOAD_ARCHIVE, PC, "sakura_dc01_ntds.zip", "application/zip")
expect("curl_user_agent", A, UA_TOOL, PC, "curl/8.9.1")
stray = sorted({(a["rule"]["name"], src(a)) for a in A
                if a["rule"]["id"] in NETWORK_RULES and src(a) not in (PC, MTA, SCANNER)})
check("no_network_alert_for_the_background", not stray, str(stray))
for rule, what in ((NONSTD, "generic non-standard port (IRC has its own rule, HTTP 8080 is standard)"),
                   (UA_SHORT, "short User-Agent"), (GUESS_INBOUND, "guessing from the Internet"),
                   (MAIL_MACRO, "macro document")):
    n = sum(1 for a in A if a["rule"]["id"] == rule)
    check("demo_quiet_" + rule[:8], n == 0, f"{what}: {n} alerts")
n_upload = sum(1 for a in A if a["rule"]["id"] == UPLOAD)
check("beacon_post_is_not_a_named_upload", n_upload == 1, str(n_upload))

# ---------------------------------------------------------------- 3. corpora
PC_DIR = os.path.join(CORPORA, "pcap")
cases = [
    ("ndpi/pcap/exe_download_as_png.pcap", [
        ("png_is_pe", MISLEADING, "10.9.25.101", ("tablone.png", "named .png")),
        ("png_from_bare_ip", EXE_FROM_IP, "10.9.25.101", ("http://185.98.87.185/tablone.png",)),
        ("winhttp_loader", UA_TOOL, "10.9.25.101", ("WinHTTP loader/1.0",))]),
    ("ndpi/pcap/emotet.pcap", [
        ("emotet_random_ua", UA_RANDOM, "10.4.25.101", ("vBKbaQgjyvRRbcgfvlsc",)),
        ("emotet_xlsm_spam", MAIL_MACRO, "10.2.25.102", ("documentación_455.xlsm",))]),
    ("ndpi/pcap/portable_executable.pcap", [
        ("raw_tcp_stage_4444", RAW_EXE_PORT, "172.16.99.201", ("port 4444", "64.227.107.71:4444", "PE32")),
        ("raw_tcp_stage_53", RAW_EXE_PORT, "172.16.99.10", ("port 53", "64.227.107.71:53", "PE32"))]),
    ("ndpi/pcap/irc.pcap", [
        ("irc_port_8000", IRC_PORT, "10.180.156.249", ("38.229.70.20:8000",))]),
    ("zeek/ssh_sshguess.pcap", [
        ("sshguess", GUESS_INTERNAL, "192.168.56.1", ("failed ssh logins from 192.168.56.1",))]),
    ("zeek/ftp_bruteforce.pcap", [
        ("ftp_bruteforce", GUESS_INTERNAL, "192.168.56.1", ("failed ftp logins from 192.168.56.1",))]),
]
for rel, exps in cases:
    path = os.path.join(PC_DIR, rel)
    if not os.path.exists(path):
        print(f"SKIP {rel}: not in {PC_DIR}")
        continue
    rc, alerts, err, _ = alerts_of(path)
    check("corpus_runs_" + os.path.basename(rel), rc == 0, err[-300:])
    for name, rule, host, words in exps:
        expect(name, alerts, rule, host, *words)
    if rel.endswith("ssh_sshguess.pcap") or rel.endswith("ftp_bruteforce.pcap"):
        n = sum(1 for a in alerts if a["rule"]["id"] == GUESS_INTERNAL)
        check(name + "_once", n == 1, str(n))

# ---------------------------------------------------------------- 4. fixtures
rc, out, err = run("rules", "test", os.path.join(ROOT, "rules", "network"))
check("rules_test_network", rc == 0 and " 0 failed" in out and "(0 rule files without fixtures)" in out,
      out[-800:] + err[-300:])

raise SystemExit(1 if failed else 0)
