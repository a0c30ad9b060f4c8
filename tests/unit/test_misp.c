/* MISP reader: conformance on the PyMISP fixtures (../shared/corpora/intel/misp:
 * attributes with to_ids are imported with the right types, composite types split,
 * tags give TLP / actor / malware), then hand-made events for what the fixtures do
 * not hold (defanged values, to_ids spellings, galaxies, confidence tags), hostile
 * input, and the feed manifest. */
#include "intel/intel.h"
#include "test.h"

#include <dirent.h>
#include <stdint.h>

#include "intel_collect.h"

static void run(got *g, const char *json, size_t len) {
    got_free(g);
    g->rc = mm_misp_read(json, len, "testfeed", collect, g, &g->st, &g->err);
}
static void runs(got *g, const char *json) { run(g, json, strlen(json)); }

static const rec *find(const got *g, mm_ind_type t, const char *v) {
    for (int i = 0; i < g->n; i++)
        if (g->r[i].type == t && !strcmp(g->r[i].value, v)) return &g->r[i];
    return NULL;
}

static int count_type(const got *g, mm_ind_type t) {
    int n = 0;
    for (int i = 0; i < g->n; i++) n += g->r[i].type == t;
    return n;
}

static bool has_item(const char *list, const char *item) {
    if (!list) return false;
    size_t n = strlen(item);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !memcmp(p, item, n)) return true;
        p += l + (e ? 1 : 0);
    }
    return false;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
    fclose(f);
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

/* Read one corpus file and print its figures ("# misp ..."). */
static bool corpus(got *g, const char *rel) {
    char path[4096];
    snprintf(path, sizeof path, "%s/intel/misp/%s", t_corpora(), rel);
    size_t len;
    char *b = slurp(path, &len);
    if (!b) {
        printf("# misp %s: cannot read %s\n", rel, path);
        return false;
    }
    run(g, b, len);
    free(b);
    const mm_intel_stats *s = &g->st;
    if (g->rc < 0)
        printf("# misp %s: not an event (%s)\n", rel, g->err.msg);
    else {
        char why[400] = "";
        if (s->unsupported_type) snprintf(why + strlen(why), sizeof why - strlen(why), "unsupported type %llu, ", (unsigned long long)s->unsupported_type);
        if (s->bad_value) snprintf(why + strlen(why), sizeof why - strlen(why), "bad value %llu, ", (unsigned long long)s->bad_value);
        if (s->expired) snprintf(why + strlen(why), sizeof why - strlen(why), "deleted %llu, ", (unsigned long long)s->expired);
        if (s->malformed) snprintf(why + strlen(why), sizeof why - strlen(why), "malformed %llu, ", (unsigned long long)s->malformed);
        snprintf(why + strlen(why), sizeof why - strlen(why), "%s%s", s->skipped ? "last: " : "none", s->skipped ? s->last_reason : "");
        printf("# misp %s: %llu attributes, %llu imported, %llu not for detection, %llu skipped (%s)\n", rel,
               (unsigned long long)s->objects, (unsigned long long)s->imported,
               (unsigned long long)s->not_for_detection, (unsigned long long)s->skipped, why);
    }
    return true;
}

#define STATS(g, obj, imp, nfd, skip)                                                  \
    do {                                                                               \
        CHECK_INT((g).rc, 0);                                                          \
        CHECK_INT((g).st.objects, obj);                                                \
        CHECK_INT((g).st.imported, imp);                                               \
        CHECK_INT((g).st.not_for_detection, nfd);                                      \
        CHECK_INT((g).st.skipped, skip);                                               \
        CHECK_INT((g).n, imp);                                                         \
    } while (0)

/* ---------------------------------------------------------------- corpus */

/* The 57c4445b event: 9 attributes; the two links, the comment and the text are
 * not for detection, the four file attributes are, and regkey|value is not a type
 * mamori matches. */
static void corpus_57c4445b_event(void) {
    got g = {0};
    CHECK(corpus(&g, "57c4445b-c548-4654-af0b-4be3950d210f.json"));
    STATS(g, 9, 4, 4, 1);
    CHECK_INT(g.st.unsupported_type, 1);
    CHECK(strstr(g.st.last_reason, "regkey|value") != NULL);
    const rec *r = find(&g, MM_IND_FILENAME, "3Z4wnG9603it23y.exe");
    CHECK(r);
    CHECK_STR(r->id, "57c4448a-fb04-457d-87e7-4127950d210f");
    CHECK_STR(r->feed, "testfeed");
    CHECK_STR(r->tlp, "clear");                /* tlp:white on the event */
    CHECK_INT(r->conf, 50);                    /* threat_level_id 3 */
    CHECK_INT(r->fs, 1472428800LL * 1000000000LL);   /* Event.date 2016-08-29 */
    CHECK_INT(r->ls, 1472480394LL * 1000000000LL);   /* the attribute's timestamp */
    CHECK_STR(r->desc, "Ransomware - Xorist | Imported via the Freetext Import Tool | org: CIRCL");
    CHECK(find(&g, MM_IND_MD5, "0749bae92ca336a02c83d126e04ec628"));
    CHECK(find(&g, MM_IND_SHA1, "77b0c41b7d340b8a3d903f21347bbf06aa766b5b"));
    r = find(&g, MM_IND_SHA256, "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68");
    CHECK(r);
    CHECK_STR(r->id, "57c4448b-3fa4-4d65-9ccc-4afa950d210f");
    CHECK(r->actor == NULL);
    got_free(&g);
}

/* existing_event: the Sednit report, 122 attributes in 9 event attributes and 49
 * objects (37 file, 12 domain-ip); 83 have to_ids. */
static void check_sednit(const char *file, bool edited) {
    got g = {0};
    CHECK(corpus(&g, file));
    STATS(g, 122, 83, 39, 0);
    CHECK_INT(count_type(&g, MM_IND_DOMAIN), 19);
    CHECK_INT(count_type(&g, MM_IND_FILENAME), 15);
    CHECK_INT(count_type(&g, MM_IND_IP), 12);
    CHECK_INT(count_type(&g, MM_IND_SHA1), 37);
    const rec *r = find(&g, MM_IND_DOMAIN, "movieultimate.com");
    CHECK(r);
    CHECK_STR(r->actor, "Sofacy");
    CHECK_STR(r->tlp, "clear");
    CHECK_INT(r->conf, 50);
    CHECK(has_item(r->malware, "X-Agent"));
    CHECK(has_item(r->malware, "CHOPSTICK"));
    CHECK(has_item(r->malware, "DealersChoice"));
    CHECK(r->attack == NULL);
    r = find(&g, MM_IND_SHA1, "68064fc152e23d56e541714af52651cb4ba81aaf");
    CHECK(r);
    CHECK(strstr(r->desc, "object file (file) | Win32/Sednit.AX") != NULL);
    CHECK_INT(r->ls, 1513936310LL * 1000000000LL);
    r = find(&g, MM_IND_IP, "87.236.211.182");
    CHECK(r);
    CHECK_STR(r->id, "5a3ce58a-fcd8-48d5-8b4a-4fd9950d210f");
    CHECK(strstr(r->desc, "object domain-ip (network)") != NULL);
    CHECK(find(&g, MM_IND_DOMAIN, "servicecdp.com"));
    CHECK(find(&g, MM_IND_FILENAME, "Bulletin.doc"));
    (void)edited;
    got_free(&g);
}
static void corpus_existing_event(void) { check_sednit("mispevent_testfiles/existing_event.json", false); }
static void corpus_existing_event_edited(void) { check_sednit("mispevent_testfiles/existing_event_edited.json", true); }

static void corpus_small_fixtures(void) {
    got g = {0};
    const rec *r;
    CHECK(corpus(&g, "mispevent_testfiles/attribute.json"));
    STATS(g, 1, 1, 0, 0);
    r = find(&g, MM_IND_FILENAME, "bar.exe");
    CHECK(r);
    CHECK_INT(r->conf, 90);                    /* threat_level_id 1 */
    CHECK_STR(r->desc, "This is a test");
    CHECK(r->tlp == NULL);                     /* "osint" is not a TLP tag */

    CHECK(corpus(&g, "mispevent_testfiles/attribute_del.json"));
    STATS(g, 1, 0, 0, 1);
    CHECK_INT(g.st.expired, 1);

    CHECK(corpus(&g, "mispevent_testfiles/def_param.json"));   /* whois object */
    STATS(g, 4, 2, 2, 0);
    CHECK(find(&g, MM_IND_DOMAIN, "domain.example.com"));
    r = find(&g, MM_IND_DOMAIN, "ns2.example.com");    /* hostname -> domain */
    CHECK(r);
    CHECK_STR(r->desc, "This is a test | object whois (network)");
    CHECK(!find(&g, MM_IND_DOMAIN, "ns1.example.com"));

    CHECK(corpus(&g, "mispevent_testfiles/event.json"));
    STATS(g, 0, 0, 0, 0);
    CHECK(corpus(&g, "mispevent_testfiles/event_tags.json"));
    STATS(g, 0, 0, 0, 0);

    CHECK(corpus(&g, "mispevent_testfiles/event_obj_attr_tag.json"));
    STATS(g, 2, 2, 0, 0);
    CHECK(find(&g, MM_IND_FILENAME, "bar"));
    r = find(&g, MM_IND_URL, "https://www.circl.lu");
    CHECK(r);
    CHECK_INT(r->conf, -1);                    /* no threat level, no confidence tag */
    CHECK_INT(r->fs, 0);

    CHECK(corpus(&g, "mispevent_testfiles/event_obj_def_param.json"));
    STATS(g, 3, 2, 0, 1);
    CHECK(strstr(g.st.last_reason, "pattern-in-file") != NULL);
    CHECK(find(&g, MM_IND_FILENAME, "bar"));
    CHECK(find(&g, MM_IND_FILENAME, "baz"));

    CHECK(corpus(&g, "mispevent_testfiles/event_obj_tag.json"));
    STATS(g, 1, 1, 0, 0);
    CHECK(find(&g, MM_IND_FILENAME, "bar"));

    CHECK(corpus(&g, "mispevent_testfiles/malware.json"));   /* malware-sample without its md5 */
    STATS(g, 1, 1, 0, 0);
    CHECK(find(&g, MM_IND_FILENAME, "bar.exe"));

    CHECK(corpus(&g, "mispevent_testfiles/malware_exist.json"));   /* REST {"response": [...]} */
    STATS(g, 6, 5, 2, 0);   /* malware-sample gives its file name and its md5 */
    r = find(&g, MM_IND_FILENAME, "simple.json");
    CHECK(r);
    CHECK_STR(r->desc, "Test existing malware PyMISP | object file (file) | org: CIRCL");
    CHECK_INT(r->conf, 90);
    CHECK(find(&g, MM_IND_MD5, "7637beddacbeac59d44469b2b120b9e6"));
    CHECK_INT(count_type(&g, MM_IND_MD5), 2);   /* from malware-sample and from md5 */
    CHECK(find(&g, MM_IND_SHA1, "023853a4331db8d67e44553004cf338ec1b7440e"));
    CHECK(find(&g, MM_IND_SHA256, "6ae8b0f1c7d6f3238d1fc14038018c3b4704c8cc23dac1c2bfd2c81b5a278eef"));

    CHECK(corpus(&g, "mispevent_testfiles/misp_custom_obj.json"));
    STATS(g, 2, 0, 2, 0);

    CHECK(corpus(&g, "mispevent_testfiles/proposals.json"));   /* proposals are not imported */
    STATS(g, 1, 1, 0, 0);
    CHECK(find(&g, MM_IND_FILENAME, "bar.exe"));

    CHECK(corpus(&g, "mispevent_testfiles/shadow.json"));
    STATS(g, 3, 1, 2, 0);
    CHECK(find(&g, MM_IND_FILENAME, "baz.png"));

    /* not events: a galaxy, a sighting, an empty object */
    CHECK(corpus(&g, "mispevent_testfiles/galaxy.json"));
    CHECK(g.rc < 0);
    CHECK(corpus(&g, "mispevent_testfiles/sighting.json"));
    CHECK(g.rc < 0);
    CHECK(corpus(&g, "mispevent_testfiles/simple.json"));
    CHECK(g.rc < 0);
    got_free(&g);
}

/* Every file of the folder is read without error or crash, and the totals hold. */
static void corpus_every_file(void) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/intel/misp/mispevent_testfiles", t_corpora());
    DIR *d = opendir(dir);
    CHECK(d);
    int files = 0, events = 0;
    uint64_t objects = 0, imported = 0;
    struct dirent *de;
    got g = {0};
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json")) continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        size_t len;
        char *b = slurp(p, &len);
        if (!b) continue;
        run(&g, b, len);
        free(b);
        files++;
        if (g.rc == 0) events++;
        objects += g.st.objects;
        imported += g.st.imported;
    }
    closedir(d);
    got_free(&g);
    printf("# misp mispevent_testfiles: %d files, %d events, %llu attributes, %llu imported\n", files, events,
           (unsigned long long)objects, (unsigned long long)imported);
    CHECK_INT(files, 18);
    CHECK_INT(events, 15);
    CHECK_INT(objects, 122 * 2 + 1 + 1 + 4 + 2 + 3 + 1 + 1 + 6 + 2 + 1 + 3);
    CHECK_INT(imported, 83 * 2 + 1 + 0 + 2 + 2 + 2 + 1 + 1 + 5 + 0 + 1 + 1);
}

/* ---------------------------------------------------------------- hand-made */

static void composite_types_split(void) {
    got g = {0};
    runs(&g, "{\"Event\":{\"info\":\"x\",\"Attribute\":["
             "{\"type\":\"domain|ip\",\"value\":\"evil.example|198.51.100.7\",\"to_ids\":true},"
             "{\"type\":\"filename|sha256\",\"value\":\"a|b.exe|" "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\",\"to_ids\":true},"
             "{\"type\":\"filename|md5\",\"value\":\"c.dll|d41d8cd98f00b204e9800998ecf8427e\",\"to_ids\":true},"
             "{\"type\":\"filename|sha1\",\"value\":\"d.bin|da39a3ee5e6b4b0d3255bfef95601890afd80709\",\"to_ids\":true},"
             "{\"type\":\"ip-dst|port\",\"value\":\"2001:db8::1|443\",\"to_ids\":true},"
             "{\"type\":\"ip-src|port\",\"value\":\"203.0.113.9|8080\",\"to_ids\":true},"
             "{\"type\":\"hostname|port\",\"value\":\"c2.evil.example|8443\",\"to_ids\":true},"
             "{\"type\":\"malware-sample\",\"value\":\"x.exe|d41d8cd98f00b204e9800998ecf8427f\",\"to_ids\":true},"
             "{\"type\":\"ja3-fingerprint-md5\",\"value\":\"e7d705a3286e19ea42f587b344ee6865\",\"to_ids\":true},"
             "{\"type\":\"email-src\",\"value\":\"a@evil.example\",\"to_ids\":true},"
             "{\"type\":\"email-attachment\",\"value\":\"invoice.zip\",\"to_ids\":true},"
             "{\"type\":\"user-agent\",\"value\":\"EvilBot/1.0 (x)\",\"to_ids\":true},"
             "{\"type\":\"ip-dst\",\"value\":\"10.1.0.0/16\",\"to_ids\":true},"
             "{\"type\":\"domain|ip\",\"value\":\"nobar.example\",\"to_ids\":true}"
             "]}}");
    STATS(g, 14, 18, 0, 1);
    CHECK_INT(g.st.bad_value, 1);
    CHECK(strstr(g.st.last_reason, "domain|ip") != NULL);
    CHECK(find(&g, MM_IND_DOMAIN, "evil.example"));
    CHECK(find(&g, MM_IND_IP, "198.51.100.7"));
    CHECK(find(&g, MM_IND_FILENAME, "a|b.exe"));   /* split at the last bar */
    CHECK(find(&g, MM_IND_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(find(&g, MM_IND_FILENAME, "c.dll"));
    CHECK(find(&g, MM_IND_MD5, "d41d8cd98f00b204e9800998ecf8427e"));
    CHECK(find(&g, MM_IND_FILENAME, "d.bin"));
    CHECK(find(&g, MM_IND_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    CHECK(find(&g, MM_IND_IP, "2001:db8::1"));
    CHECK(find(&g, MM_IND_IP, "203.0.113.9"));
    CHECK(find(&g, MM_IND_DOMAIN, "c2.evil.example"));
    CHECK(find(&g, MM_IND_FILENAME, "x.exe"));
    CHECK(find(&g, MM_IND_MD5, "d41d8cd98f00b204e9800998ecf8427f"));
    CHECK(find(&g, MM_IND_JA3, "e7d705a3286e19ea42f587b344ee6865"));
    CHECK(find(&g, MM_IND_EMAIL, "a@evil.example"));
    CHECK(find(&g, MM_IND_FILENAME, "invoice.zip"));
    CHECK(find(&g, MM_IND_USER_AGENT, "EvilBot/1.0 (x)"));
    CHECK(find(&g, MM_IND_IP, "10.1.0.0/16"));
    CHECK(!find(&g, MM_IND_DOMAIN, "nobar.example"));
    got_free(&g);
}

static void defanged_values_refanged(void) {
    got g = {0};
    runs(&g, "[{\"Event\":{\"info\":\"d\",\"Attribute\":["
             "{\"type\":\"url\",\"value\":\"hxxps://evil[.]example/a(.)php\",\"to_ids\":1},"
             "{\"type\":\"domain\",\"value\":\" bad[dot]example{.}org \",\"to_ids\":\"1\"},"
             "{\"type\":\"ip-dst\",\"value\":\"192.0.2[.]10\",\"to_ids\":\"true\"},"
             "{\"type\":\"email-dst\",\"value\":\"ceo[at]evil[.]example\",\"to_ids\":true},"
             "{\"type\":\"url\",\"value\":\"hXXp[://]x.example[:]8080/\",\"to_ids\":true}"
             "]}}]");
    STATS(g, 5, 5, 0, 0);
    CHECK(find(&g, MM_IND_URL, "https://evil.example/a.php"));
    CHECK(find(&g, MM_IND_DOMAIN, "bad.example.org"));
    CHECK(find(&g, MM_IND_IP, "192.0.2.10"));
    CHECK(find(&g, MM_IND_EMAIL, "ceo@evil.example"));
    CHECK(find(&g, MM_IND_URL, "http://x.example:8080/"));
    got_free(&g);
}

static void to_ids_spellings(void) {
    got g = {0};
    runs(&g, "{\"Event\":{\"Attribute\":["
             "{\"type\":\"domain\",\"value\":\"t1.example\",\"to_ids\":true},"
             "{\"type\":\"domain\",\"value\":\"t2.example\",\"to_ids\":\"1\"},"
             "{\"type\":\"domain\",\"value\":\"t3.example\",\"to_ids\":1},"
             "{\"type\":\"domain\",\"value\":\"f1.example\",\"to_ids\":false},"
             "{\"type\":\"domain\",\"value\":\"f2.example\",\"to_ids\":\"0\"},"
             "{\"type\":\"domain\",\"value\":\"f3.example\",\"to_ids\":0},"
             "{\"type\":\"domain\",\"value\":\"f4.example\"},"
             "{\"type\":\"domain\",\"value\":\"f5.example\",\"to_ids\":null},"
             "{\"type\":\"domain\",\"value\":\"d1.example\",\"to_ids\":true,\"deleted\":\"1\"},"
             "{\"type\":\"link\",\"value\":\"https://report.example/\",\"to_ids\":true},"
             "{\"type\":\"uri\",\"value\":\"/gate.php\",\"to_ids\":true}"
             "]}}");
    STATS(g, 11, 3, 5, 3);
    CHECK_INT(g.st.expired, 1);
    CHECK_INT(g.st.unsupported_type, 2);
    CHECK(strstr(g.st.last_reason, "uri") != NULL);
    CHECK(find(&g, MM_IND_DOMAIN, "t1.example"));
    CHECK(find(&g, MM_IND_DOMAIN, "t2.example"));
    CHECK(find(&g, MM_IND_DOMAIN, "t3.example"));
    CHECK(!find(&g, MM_IND_DOMAIN, "d1.example"));
    got_free(&g);
}

/* Tags and galaxies on the three levels: the deepest TLP and confidence win, the
 * 5W1H lists are joined. */
static void tags_and_galaxies(void) {
    got g = {0};
    runs(&g, "{\"response\":[{\"Event\":{\"info\":\"APT report\",\"threat_level_id\":\"2\",\"date\":\"2024-03-01\","
             "\"Orgc\":{\"name\":\"LabCERT\"},"
             "\"Tag\":[{\"name\":\"tlp:green\"},{\"name\":\"tlp:amber\"},"
             "{\"name\":\"misp-galaxy:threat-actor=\\\"APT28\\\"\"},"
             "{\"name\":\"misp-galaxy:mitre-attack-pattern=\\\"Application Layer Protocol - T1071\\\"\"},"
             "{\"name\":\"kill-chain:Command and Control\"}],"
             "\"Galaxy\":[{\"type\":\"malpedia\",\"GalaxyCluster\":[{\"type\":\"malpedia\",\"value\":\"Zebrocy\","
             "\"meta\":{\"kill_chain\":[\"lockheed:delivery\"]}}]},"
             "{\"type\":\"threat-actor\",\"GalaxyCluster\":[{\"value\":\"APT28\"}]}],"
             "\"Attribute\":["
             "{\"type\":\"domain\",\"value\":\"a.example\",\"to_ids\":true,\"uuid\":\"u1\",\"comment\":\"C2\","
             "\"first_seen\":\"2024-03-02T10:00:00.000000+00:00\",\"last_seen\":1709460000,"
             "\"Tag\":[{\"name\":\"tlp:red\"},{\"name\":\"misp-galaxy:ransomware=\\\"LockBit\\\"\"},"
             "{\"name\":\"confidence-level:confidence=\\\"usually-confident\\\"\"}],"
             "\"Galaxy\":[{\"type\":\"mitre-attack-pattern\",\"GalaxyCluster\":[{\"type\":\"mitre-attack-pattern\","
             "\"value\":\"Ingress Tool Transfer - T1105\"}]}]},"
             "{\"type\":\"domain\",\"value\":\"b.example\",\"to_ids\":true,"
             "\"Tag\":[{\"name\":\"admiralty-scale:information-credibility=\\\"2\\\"\"},"
             "{\"name\":\"misp-galaxy:threat-actor=\\\"APT28\\\"\"},{\"name\":\"misp-galaxy:tool=\\\"X-Agent\\\"\"}]}"
             "],"
             "\"Object\":[{\"name\":\"domain-ip\",\"Tag\":[{\"name\":\"tlp:clear\"},{\"name\":\"osint:certainty=\\\"93\\\"\"}],"
             "\"Attribute\":[{\"type\":\"ip-dst\",\"value\":\"198.51.100.1\",\"to_ids\":true}]},"
             "{\"name\":\"file\",\"deleted\":true,\"Attribute\":[{\"type\":\"md5\",\"value\":"
             "\"d41d8cd98f00b204e9800998ecf8427e\",\"to_ids\":true}]}]}}]}");
    STATS(g, 4, 3, 0, 1);
    const rec *r = find(&g, MM_IND_DOMAIN, "a.example");
    CHECK(r);
    CHECK_STR(r->id, "u1");
    CHECK_STR(r->tlp, "red");
    CHECK_INT(r->conf, 75);
    CHECK_STR(r->actor, "APT28");
    CHECK_STR(r->malware, "Zebrocy,LockBit");
    CHECK_STR(r->attack, "T1071,T1105");
    CHECK_STR(r->kill_chain, "Command and Control,lockheed:delivery");
    CHECK_STR(r->desc, "APT report | C2 | org: LabCERT");
    CHECK_INT(r->fs, 1709373600LL * 1000000000LL);
    CHECK_INT(r->ls, 1709460000LL * 1000000000LL);
    r = find(&g, MM_IND_DOMAIN, "b.example");
    CHECK(r);
    CHECK_STR(r->tlp, "amber");                /* most restrictive of the event's two */
    CHECK_INT(r->conf, 80);
    CHECK_STR(r->actor, "APT28");
    CHECK_STR(r->malware, "Zebrocy,X-Agent");
    CHECK_INT(r->fs, 1709251200LL * 1000000000LL);   /* Event.date */
    r = find(&g, MM_IND_IP, "198.51.100.1");
    CHECK(r);
    CHECK_STR(r->tlp, "clear");                /* the object's tag wins over the event's */
    CHECK_INT(r->conf, 93);
    CHECK_STR(r->desc, "APT report | object domain-ip | org: LabCERT");
    CHECK(!find(&g, MM_IND_MD5, "d41d8cd98f00b204e9800998ecf8427e"));   /* deleted object */
    got_free(&g);
    /* threat level alone */
    runs(&g, "{\"threat_level_id\":4,\"Attribute\":[{\"type\":\"domain\",\"value\":\"x.example\",\"to_ids\":true}]}");
    STATS(g, 1, 1, 0, 0);
    CHECK_INT(g.r[0].conf, -1);
    got_free(&g);
}

static void bad_values_counted(void) {
    got g = {0};
    runs(&g, "{\"Event\":{\"Attribute\":["
             "{\"type\":\"md5\",\"value\":\"xyz\",\"to_ids\":true},"
             "{\"type\":\"sha256\",\"value\":\"d41d8cd98f00b204e9800998ecf8427e\",\"to_ids\":true},"
             "{\"type\":\"ip-dst\",\"value\":\"999.1.1.1\",\"to_ids\":true},"
             "{\"type\":\"domain\",\"value\":\"has space.example\",\"to_ids\":true},"
             "{\"type\":\"email\",\"value\":\"no-at-sign\",\"to_ids\":true},"
             "{\"type\":\"domain\",\"value\":\"\",\"to_ids\":true},"
             "{\"type\":\"filename\",\"value\":\"nul\\u0000byte\",\"to_ids\":true},"
             "{\"type\":\"domain\",\"value\":42,\"to_ids\":true},"
             "{\"value\":\"notype.example\",\"to_ids\":true},"
             "{\"type\":\"sha512\",\"value\":\"00\",\"to_ids\":true},"
             "\"not an object\", 7, null"
             "]}}");
    STATS(g, 13, 0, 0, 13);
    CHECK_INT(g.st.bad_value, 7);
    CHECK_INT(g.st.malformed, 5);
    CHECK_INT(g.st.unsupported_type, 1);
    got_free(&g);
}

/* Every field with the wrong JSON type, deep nesting, a large array, truncation:
 * refused or counted, never a crash. */
static void hostile_input(void) {
    got g = {0};
    runs(&g, "{\"Event\":{\"info\":7,\"date\":[],\"timestamp\":{},\"threat_level_id\":\"high\",\"Orgc\":\"x\","
             "\"Tag\":{\"name\":\"tlp:red\"},\"Galaxy\":[1,{\"GalaxyCluster\":7},{\"GalaxyCluster\":[1,{\"meta\":[]},"
             "{\"value\":5,\"meta\":{\"kill_chain\":{}}}]}],"
             "\"Attribute\":[{\"type\":\"domain\",\"value\":\"ok.example\",\"to_ids\":true,\"Tag\":[1,{\"name\":2},"
             "{\"name\":\"tlp:\"},{\"name\":\"misp-galaxy:=\"},{\"name\":\"admiralty-scale:information-credibility=\\\"9\\\"\"},"
             "{\"name\":\"osint:certainty=\\\"1000\\\"\"}],\"first_seen\":\"soon\",\"last_seen\":-5,\"uuid\":[],"
             "\"comment\":{}}],"
             "\"Object\":[7,{\"Attribute\":7},{\"Attribute\":{\"type\":\"domain\",\"value\":\"lone.example\",\"to_ids\":1}},"
             "{\"name\":[],\"meta-category\":1,\"comment\":2,\"Attribute\":[]}]}}");
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.n, 2);
    CHECK(g.r[0].tlp == NULL);
    CHECK_INT(g.r[0].conf, -1);
    CHECK(g.r[0].actor == NULL && g.r[0].desc == NULL && g.r[0].id == NULL);
    CHECK_INT(g.r[0].fs, 0);
    CHECK_INT(g.st.malformed, 2);
    CHECK(find(&g, MM_IND_DOMAIN, "lone.example"));

    runs(&g, "{\"Event\":[{\"Attribute\":[]},3]}");   /* an Event list */
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.st.malformed, 1);
    runs(&g, "{\"Event\":{\"Object\":{}}}");
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.st.malformed, 1);

    /* not MISP at all */
    const char *bad[] = {"", "nul", "[1,2", "\"text\"", "42", "{\"a\":1}", "{\"Event\":5}", "[1,\"x\"]",
                         "{\"response\":7}", "{\"response\":{\"x\":1}}", "{\"info\":\"x\"", NULL};
    for (int i = 0; bad[i]; i++) {
        runs(&g, bad[i]);
        CHECK(g.rc < 0);
        CHECK(g.err.msg[0] != 0);
    }
    runs(&g, "[]");
    CHECK_INT(g.rc, 0);
    runs(&g, "{\"response\":[]}");
    CHECK_INT(g.rc, 0);
    runs(&g, "{\"response\":{\"Attribute\":[{\"type\":\"domain\",\"value\":\"r.example\",\"to_ids\":true}]}}");
    STATS(g, 1, 1, 0, 0);

    /* deep nesting: refused by the parser (depth limit) or walked without recursion */
    size_t depth = 100000, len = depth * 2 + 64;
    char *b = malloc(len);
    size_t n = (size_t)sprintf(b, "{\"Event\":{\"Attribute\":");
    for (size_t i = 0; i < depth; i++) b[n++] = '[';
    for (size_t i = 0; i < depth; i++) b[n++] = ']';
    n += (size_t)sprintf(b + n, "}}");
    run(&g, b, n);
    CHECK(g.rc <= 0);
    CHECK_INT(g.n, 0);
    free(b);

    /* a large array of attributes: all counted */
    int count = 50000;
    const char *one = "{\"type\":\"ip-dst\",\"value\":\"192.0.2.1\",\"to_ids\":true},";
    len = strlen(one) * (size_t)count + 64;
    b = malloc(len);
    n = (size_t)sprintf(b, "{\"Attribute\":[");
    for (int i = 0; i < count; i++) n += (size_t)sprintf(b + n, "%s", one);
    n += (size_t)sprintf(b + n, "7]}");
    run(&g, b, n);
    STATS(g, (uint64_t)count + 1, count, 0, 1);

    /* every truncation of a real event is refused or read, never a crash */
    const char *ev = "{\"Event\":{\"info\":\"t\",\"Tag\":[{\"name\":\"tlp:amber\"}],\"Attribute\":[{\"type\":"
                     "\"domain|ip\",\"value\":\"e.example|192.0.2.5\",\"to_ids\":true}]}}";
    for (size_t i = 0; i < strlen(ev); i++) {
        run(&g, ev, i);
        CHECK(g.rc < 0);
    }
    free(b);

    /* the callback stops the reading */
    got_free(&g);
    g.stop_after = 1;
    const char *two = "{\"Attribute\":[{\"type\":\"domain|ip\",\"value\":\"s.example|192.0.2.5\",\"to_ids\":true},"
                      "{\"type\":\"domain\",\"value\":\"t.example\",\"to_ids\":true}]}";
    g.rc = mm_misp_read(two, strlen(two), "f", collect, &g, &g.st, &g.err);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.n, 1);
    got_free(&g);
    /* no stats, no callback */
    CHECK_INT(mm_misp_read("{\"info\":\"x\"}", 12, NULL, NULL, NULL, NULL, NULL), 0);
    CHECK(mm_misp_read(NULL, 0, NULL, NULL, NULL, NULL, NULL) < 0);
}

/* ---------------------------------------------------------------- manifest */

typedef struct mf {
    char uuid[8][40];
    int64_t ts[8];
    int n;
} mf;

static void on_event(void *ctx, const char *uuid, int64_t ts) {
    mf *m = ctx;
    if (m->n < 8) {
        snprintf(m->uuid[m->n], sizeof m->uuid[0], "%s", uuid);
        m->ts[m->n] = ts;
    }
    m->n++;
}

static void manifest(void) {
    mf m = {0};
    mm_err err;
    const char *j = "{\"5a3c2fcd-8328-42bb-a95e-4f4402de0b81\":{\"info\":\"Sednit\",\"timestamp\":\"1513948642\","
                    "\"Orgc\":{\"name\":\"CIRCL\"}},"
                    "\"57c4445b-c548-4654-af0b-4be3950d210f\":{\"info\":\"Xorist\",\"timestamp\":1472541011},"
                    "\"../../etc/passwd\":{\"timestamp\":\"1\"},"
                    "\"57C4445B-C548-4654-AF0B-4BE3950D210F/..\":{},"
                    "\"5a4e4fdd-1eb4-4ff3-9e87-43fa950d210f\":\"weird\"}";
    int n = mm_misp_manifest(j, strlen(j), on_event, &m, &err);
    CHECK_INT(n, 3);
    CHECK_INT(m.n, 3);
    CHECK_STR(m.uuid[0], "5a3c2fcd-8328-42bb-a95e-4f4402de0b81");
    CHECK_INT(m.ts[0], 1513948642LL * 1000000000LL);
    CHECK_STR(m.uuid[1], "57c4445b-c548-4654-af0b-4be3950d210f");
    CHECK_INT(m.ts[1], 1472541011LL * 1000000000LL);
    CHECK_STR(m.uuid[2], "5a4e4fdd-1eb4-4ff3-9e87-43fa950d210f");
    CHECK_INT(m.ts[2], 0);
    CHECK(mm_misp_manifest("[]", 2, on_event, &m, &err) < 0);
    CHECK(mm_misp_manifest("{", 1, on_event, &m, &err) < 0);
    CHECK_INT(mm_misp_manifest("{}", 2, on_event, &m, &err), 0);
    const char *one = "{\"5a4e4fdd-1eb4-4ff3-9e87-43fa950d210f\":{}}";
    CHECK_INT(mm_misp_manifest(one, strlen(one), NULL, NULL, NULL), 1);
}

int main(void) {
    TEST(corpus_57c4445b_event);
    TEST(corpus_existing_event);
    TEST(corpus_existing_event_edited);
    TEST(corpus_small_fixtures);
    TEST(corpus_every_file);
    TEST(composite_types_split);
    TEST(defanged_values_refanged);
    TEST(to_ids_spellings);
    TEST(tags_and_galaxies);
    TEST(bad_values_counted);
    TEST(hostile_input);
    TEST(manifest);
    TEST_MAIN_END();
}
