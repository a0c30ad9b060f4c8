/* The raw-file analyzer (src/sensor/app_rawfile.c): executables sent over a TCP
 * connection with no application protocol.
 * The probe: YES on a PE (MZ with e_lfanew at "PE\0\0") or ELF header at the start of
 * either direction or after a 4-byte length (a Metasploit stage), MAYBE on a prefix
 * of one, NO on anything else (HTTP, TLS, text, an MZ whose e_lfanew points at
 * something else or nowhere plausible).
 * Carving: PE and ELF, from the client (file-upload) and from the server
 * (file-download), whole and one byte at a time, give one file event with the exact
 * size and sha256 of the program; a length-prefixed stage is cut at its length and
 * marked truncated when fewer bytes came; the other direction's bytes are not part
 * of it; non-executable raw data, and a direction whose start was lost, give no file.
 * Through the whole sensor on nDPI's portable_executable.pcap: the two Meterpreter
 * stages (ports 4444 and 53) are PE file events of network.protocol raw-file, and
 * the flows are not "known protocol on a non-standard port". */
#include "test.h"
#include "../sensor_harness.h"

#include <nettle/sha2.h>

static uint8_t g_pe[6000], g_elf[3000];

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xffff), put16(p + 2, v >> 16); }

/* A small PE32 (DOS header, stub text, PE header, optional header) and an ELF64
 * executable, padded with a pattern. */
static void make_files(void) {
    for (size_t i = 0; i < sizeof g_pe; i++) g_pe[i] = (uint8_t)(i * 7 + 3);
    memset(g_pe, 0, 0x200);
    memcpy(g_pe, "MZ", 2);
    put32(g_pe + 0x3c, 0x80);
    memcpy(g_pe + 0x4e, "This program cannot be run in DOS mode.", 39);
    memcpy(g_pe + 0x80, "PE\0\0", 4);
    put16(g_pe + 0x84, 0x14c);     /* i386 */
    put16(g_pe + 0x86, 1);         /* sections */
    put16(g_pe + 0x94, 0xe0);      /* optional header size */
    put16(g_pe + 0x96, 0x102);     /* executable, 32-bit */
    put16(g_pe + 0x98, 0x10b);     /* PE32 */
    put16(g_pe + 0x98 + 68, 2);    /* GUI */
    for (size_t i = 0; i < sizeof g_elf; i++) g_elf[i] = (uint8_t)(i * 13 + 1);
    memset(g_elf, 0, 64);
    memcpy(g_elf, "\x7f" "ELF", 4);
    g_elf[4] = 2, g_elf[5] = 1, g_elf[6] = 1;
    put16(g_elf + 16, 2);          /* ET_EXEC */
    put16(g_elf + 18, 0x3e);       /* x86-64 */
    put32(g_elf + 20, 1);
    put16(g_elf + 52, 64);         /* e_ehsize */
}

static void sha256_hex(const uint8_t *p, size_t n, char out[65]) {
    struct sha256_ctx c;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&c);
    sha256_update(&c, n, p);
    sha256_digest(&c, sizeof d, d);
    mm_hex(out, d, sizeof d);
}

static bool exec_mime(const char *m) {
    return m && (!strcmp(m, "application/x-dosexec") || !strcmp(m, "application/vnd.microsoft.portable-executable") ||
                 !strcmp(m, "application/x-executable") || !strcmp(m, "application/x-pie-executable") ||
                 !strcmp(m, "application/x-sharedlib"));
}

static int probe(const void *c, size_t nc, const void *s, size_t ns) {
    mm_flow *f = sh_flow("10.0.0.1", 50000, "192.0.2.1", 4444, IPPROTO_TCP);
    return mm_app_rawfile.probe(f, c, nc, s, ns);
}

static void probe_tests(void) {
    make_files();
    sh_sensor_new(NULL);
    CHECK_INT(probe(g_pe, sizeof g_pe, NULL, 0), MM_PROBE_YES);
    CHECK_INT(probe(NULL, 0, g_pe, sizeof g_pe), MM_PROBE_YES);
    CHECK_INT(probe(NULL, 0, g_elf, sizeof g_elf), MM_PROBE_YES);
    CHECK_INT(probe(g_elf, 18, NULL, 0), MM_PROBE_YES);
    /* prefixes of a header: more is needed */
    CHECK_INT(probe(g_pe, 1, NULL, 0), MM_PROBE_MAYBE);
    CHECK_INT(probe(g_pe, 2, NULL, 0), MM_PROBE_MAYBE);
    CHECK_INT(probe(g_pe, 63, NULL, 0), MM_PROBE_MAYBE);
    CHECK_INT(probe(g_pe, 0x83, NULL, 0), MM_PROBE_MAYBE);   /* e_lfanew read, "PE" not there yet */
    CHECK_INT(probe(g_pe, 0x84, NULL, 0), MM_PROBE_YES);
    CHECK_INT(probe(g_elf, 3, NULL, 0), MM_PROBE_MAYBE);
    CHECK_INT(probe(g_elf, 17, NULL, 0), MM_PROBE_MAYBE);
    /* a 4-byte length, then the stage (Metasploit) */
    uint8_t st[4 + sizeof g_pe];
    put32(st, sizeof g_pe);
    memcpy(st + 4, g_pe, sizeof g_pe);
    CHECK_INT(probe(NULL, 0, st, 4), MM_PROBE_MAYBE);
    CHECK_INT(probe(NULL, 0, st, 40), MM_PROBE_MAYBE);
    CHECK_INT(probe(NULL, 0, st, sizeof st), MM_PROBE_YES);
    put32(st, 10);   /* a "length" too small for any program */
    CHECK_INT(probe(NULL, 0, st, sizeof st), MM_PROBE_NO);
    /* not executables */
    CHECK_INT(probe("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, NULL, 0), MM_PROBE_NO);
    CHECK_INT(probe("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, NULL, 0), MM_PROBE_NO);
    CHECK_INT(probe("MZ is a nice place to live, said the letter to the other letter.", 64, NULL, 0), MM_PROBE_NO);
    uint8_t bad[sizeof g_pe];
    memcpy(bad, g_pe, sizeof bad);
    memcpy(bad + 0x80, "NE\0\0", 4);   /* a 16-bit NE program, or junk */
    CHECK_INT(probe(bad, sizeof bad, NULL, 0), MM_PROBE_NO);
    put32(bad + 0x3c, 0x7fffffff);     /* e_lfanew nowhere plausible */
    CHECK_INT(probe(bad, sizeof bad, NULL, 0), MM_PROBE_NO);
    uint8_t elf[64];
    memcpy(elf, g_elf, sizeof elf);
    elf[4] = 9;                        /* no such class */
    CHECK_INT(probe(elf, sizeof elf, NULL, 0), MM_PROBE_NO);
    /* one side spoke and is not a program: the silent side is not waited for */
    CHECK_INT(probe("hello\n", 6, NULL, 0), MM_PROBE_NO);
    CHECK_INT(probe("hello\n", 6, g_pe, 2), MM_PROBE_MAYBE);
    CHECK_INT(probe("hello\n", 6, g_pe, sizeof g_pe), MM_PROBE_YES);
    sh_sensor_free();
}

/* One flow through the analyzer: `pre` (n_pre bytes) then `p` in direction dir,
 * `other` in the other direction, `step` bytes at a time; returns the file events. */
static int carve(int dir, const uint8_t *p, size_t n, const char *other, size_t step) {
    sh_sensor_new(NULL);
    mm_flow *f = sh_flow("10.0.0.1", 50000, "192.0.2.1", 4444, IPPROTO_TCP);
    if (!sh_app(f, &mm_app_rawfile, true)) return -1;
    size_t half = n / 2;
    sh_feed(f->app, f->app_state, f, dir, p, half, step);
    if (other) sh_feed(f->app, f->app_state, f, !dir, other, strlen(other), step);
    sh_feed(f->app, f->app_state, f, dir, p + half, n - half, step);
    f->app->close(f->app_state, f);
    return sh_count("file-download") + sh_count("file-upload");
}

static void carve_pe_elf(void) {
    make_files();
    struct {
        const uint8_t *p;
        size_t n;
        const char *kind;
    } files[] = {{g_pe, sizeof g_pe, "PE"}, {g_elf, sizeof g_elf, "ELF"}};
    size_t steps[] = {0, 1, 7, 1460};
    for (int k = 0; k < 2; k++)
        for (int dir = 0; dir < 2; dir++)
            for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
                char want[65];
                sha256_hex(files[k].p, files[k].n, want);
                CHECK_INT(carve(dir, files[k].p, files[k].n, "ok\n", steps[s]), 1);
                json_t *e = sh_find(dir == MM_C2S ? "file-upload" : "file-download", 0);
                CHECK(e);
                CHECK_INT(sh_int(e, "file.size"), files[k].n);
                CHECK_STR(sh_str(e, "file.hash.sha256"), want);
                CHECK_STR(sh_str(e, "network.protocol"), "raw-file");
                CHECK(!json_object_get(e, "file.name"));
                CHECK(!json_object_get(e, "file.truncated"));
                if (!exec_mime(sh_str(e, "file.mime_type"))) {
                    printf("FAIL %s: %s typed %s (%s)\n", t_name, files[k].kind, sh_str(e, "file.mime_type"),
                           sh_str(e, "file.magic"));
                    t_failed = 1;
                    return;
                }
                CHECK(sh.fl.f.risks & MM_RISK_BINARY_TRANSFER);
                CHECK_INT(sh_app_errors(), 0);
            }
    sh_sensor_free();
}

static void carve_stage(void) {
    make_files();
    /* length, stage, then the stage's own session traffic */
    uint8_t st[4 + sizeof g_pe + 100];
    put32(st, sizeof g_pe);
    memcpy(st + 4, g_pe, sizeof g_pe);
    memset(st + 4 + sizeof g_pe, 0xAB, 100);
    char want[65];
    sha256_hex(g_pe, sizeof g_pe, want);
    size_t steps[] = {0, 1, 3};
    for (size_t s = 0; s < 3; s++) {
        CHECK_INT(carve(MM_S2C, st, sizeof st, "\x10\x00\x00\x00", steps[s]), 1);
        json_t *e = sh_find("file-download", 0);
        CHECK_INT(sh_int(e, "file.size"), sizeof g_pe);
        CHECK_STR(sh_str(e, "file.hash.sha256"), want);
        CHECK(!json_object_get(e, "file.truncated"));
    }
    /* the connection ends before the whole stage came: truncated */
    CHECK_INT(carve(MM_S2C, st, 3000, NULL, 0), 1);
    json_t *e = sh_find("file-download", 0);
    CHECK_INT(sh_int(e, "file.size"), 2996);
    CHECK_STR(sh_str(e, "file.truncated"), "true");
    sh_sensor_free();
}

static void not_a_file(void) {
    make_files();
    uint8_t junk[5000];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 31 + 17);
    CHECK_INT(carve(MM_S2C, junk, sizeof junk, "hello", 0), 0);
    CHECK_INT(carve(MM_C2S, junk, sizeof junk, NULL, 1), 0);
    const char *text = "SSH-2.0-nope\r\nMZ later in the stream does not count\r\n";
    CHECK_INT(carve(MM_C2S, (const uint8_t *)text, strlen(text), NULL, 1), 0);
    /* a header cut short by the end of the flow */
    CHECK_INT(carve(MM_S2C, g_pe, 40, NULL, 1), 0);
    CHECK_INT(sh_nev(), 0);
    /* the start lost to a capture gap: no file (the header is not known) */
    sh_sensor_new(NULL);
    mm_flow *f = sh_flow("10.0.0.1", 50000, "192.0.2.1", 4444, IPPROTO_TCP);
    CHECK(sh_app(f, &mm_app_rawfile, true));
    f->app->gap(f->app_state, f, MM_S2C, 1000);
    sh_feed(f->app, f->app_state, f, MM_S2C, g_pe, sizeof g_pe, 0);
    f->app->close(f->app_state, f);
    CHECK_INT(sh_count("file-download"), 0);
    /* a gap inside the file: still carved, marked truncated */
    sh_sensor_new(NULL);
    f = sh_flow("10.0.0.1", 50000, "192.0.2.1", 4444, IPPROTO_TCP);
    CHECK(sh_app(f, &mm_app_rawfile, true));
    sh_feed(f->app, f->app_state, f, MM_S2C, g_pe, 2000, 0);
    f->app->gap(f->app_state, f, MM_S2C, 1000);
    sh_feed(f->app, f->app_state, f, MM_S2C, g_pe + 3000, sizeof g_pe - 3000, 0);
    f->app->close(f->app_state, f);
    json_t *e = sh_find("file-download", 0);
    CHECK(e);
    CHECK_STR(sh_str(e, "file.truncated"), "true");
    CHECK_INT(sh_int(e, "file.size"), sizeof g_pe - 1000);
    sh_sensor_free();
}

static void ndpi_pcap(void) {
    if (!sh_sensor_pcap(t_corpora(), "ndpi/pcap/portable_executable.pcap", NULL, true)) return;
    CHECK_INT(sh_count("file-download"), 2);
    for (int i = 0; i < 2; i++) {
        json_t *e = sh_find("file-download", i);
        CHECK_STR(sh_str(e, "network.protocol"), "raw-file");
        CHECK_STR(sh_str(e, "file.hash.sha256"), "1bb87a9148bda87492d2f7ea09948ab3529bd74ddab6cf396dbceaeb78beea41");
        CHECK_INT(sh_int(e, "file.size"), 11304);
        CHECK_STR(sh_str(e, "file.truncated"), "true");   /* 176195 bytes announced, 11304 captured */
        CHECK(exec_mime(sh_str(e, "file.mime_type")));
    }
    CHECK_INT(sh_count("flow"), 2);
    for (int i = 0; i < 2; i++) {
        json_t *e = sh_find("flow", i);
        CHECK_STR(sh_str(e, "network.protocol"), "raw-file");
        json_t *r = json_object_get(e, "flow.risk");
        for (size_t k = 0; k < json_array_size(r); k++)
            CHECK(strcmp(json_string_value(json_array_get(r, k)), "known_proto_non_std_port") != 0);
        CHECK_STR(sh_item(e, "flow.risk", 0), "binary_transfer");
    }
    CHECK_INT(sh_app_errors(), 0);
    sh_sensor_free();
}

int main(void) {
    TEST(probe_tests);
    TEST(carve_pe_elf);
    TEST(carve_stage);
    TEST(not_a_file);
    TEST(ndpi_pcap);
    sh_sensor_free();
    TEST_MAIN_END();
}
