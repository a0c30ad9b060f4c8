/* HTTP analyzer: request/response pairing with pipelining (HEAD, 1xx, 204, 304,
 * CONNECT), bodies by Content-Length, chunked with trailers and until close,
 * gzip/deflate decoding with the bomb cap, files (downloads, POST/PUT uploads,
 * multipart parts, Content-Disposition names, joined 206 ranges) and their
 * linking fields, URL fields, risks, probing, the same output when the bytes
 * come one at a time, hostile input (counted, no crash), and the corpora pcaps
 * (suricata-verify and Zeek HTTP traces) through the whole sensor. */
#include "sensor/sensor_int.h"
#include "test.h"

#include <nettle/md5.h>
#include <pcap/pcap.h>
#include <zlib.h>

#define SEC 1000000000LL
#define SH_MAXEV 512
#include "../sensor_harness.h"

static mm_flow *setup_opts(uint16_t sport, int64_t learn_ns, size_t file_max) {
    mm_sensor_opts o = sh_opts();
    o.learn_ns = learn_ns;
    if (file_max) o.file_max = file_max;
    sh_sensor_new(&o);
    mm_flow *f = sh_flow("10.1.2.3", 40000, "93.184.216.34", sport, 6);
    f->id = 7;
    sh_app(f, &mm_app_http, false);
    return f;
}
static mm_flow *setup(void) { return setup_opts(80, 600LL * SEC, 0); }

/* whole or one byte at a time; a microsecond per call */
static int g_onebyte;
static void feed(void *st, mm_flow *f, int dir, const void *p, size_t n) {
    f->now_ns += 1000;
    sh_feed(&mm_app_http, st, f, dir, p, n, g_onebyte);
}
static void feeds(void *st, mm_flow *f, int dir, const char *s) { feed(st, f, dir, s, strlen(s)); }

static void md5hex(const void *p, size_t n, char out[33]) {
    struct md5_ctx c;
    uint8_t d[MD5_DIGEST_SIZE];
    md5_init(&c);
    md5_update(&c, n, p);
    md5_digest(&c, sizeof d, d);
    mm_hex(out, d, sizeof d);
}

/* gzip (wbits 31), zlib (15) or raw deflate (-15) of p */
static size_t zip(const void *p, size_t n, uint8_t *out, size_t cap, int wbits) {
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 9, Z_DEFLATED, wbits, 9, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)p, z.avail_in = (uInt)n;
    z.next_out = out, z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t r = cap - z.avail_out;
    deflateEnd(&z);
    return r;
}

/* ------------------------------------------------------------------------ */

static const char *REQ1 = "GET /download/eicar.com?x=1&y=2 HTTP/1.1\r\n"
                          "Host: WWW.Eicar.org\r\n"
                          "User-Agent: curl/7.43.0\r\n"
                          "Referer: http://example.net/\r\n"
                          "Accept: */*\r\n\r\n";
static const char *RESP1 = "HTTP/1.1 200 OK\r\n"
                           "Content-Type: application/octet-stream; charset=binary\r\n"
                           "Content-Length: 68\r\n\r\n"
                           "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

static void basic_run(int onebyte) {
    mm_flow *f = setup();
    g_onebyte = onebyte;
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, REQ1);
    CHECK_INT(sh_count("http-request"), 0);   /* waits for the response */
    feeds(st, f, MM_S2C, RESP1);
    CHECK_INT(sh_count("http-request"), 1);
    json_t *e = sh_find("http-request", 0);
    CHECK_STR(sh_str(e, "event.category"), "web");
    CHECK_STR(sh_str(e, "http.request.method"), "GET");
    CHECK_STR(sh_str(e, "url.original"), "/download/eicar.com?x=1&y=2");
    CHECK_STR(sh_str(e, "url.full"), "http://www.eicar.org/download/eicar.com?x=1&y=2");
    CHECK_STR(sh_str(e, "url.domain"), "www.eicar.org");
    CHECK_STR(sh_str(e, "destination.domain"), "www.eicar.org");
    CHECK_STR(sh_str(e, "url.path"), "/download/eicar.com");
    CHECK_STR(sh_str(e, "url.query"), "x=1&y=2");
    CHECK_INT(sh_int(e, "url.port"), 80);
    CHECK_STR(sh_str(e, "http.version"), "1.1");
    CHECK_INT(sh_int(e, "http.response.status_code"), 200);
    CHECK_STR(sh_str(e, "user_agent.original"), "curl/7.43.0");
    CHECK_STR(sh_str(e, "http.request.referrer"), "http://example.net/");
    CHECK_STR(sh_str(e, "http.response.mime_type"), "application/octet-stream");
    CHECK_INT(sh_int(e, "http.response.body.bytes"), 68);
    CHECK_INT(sh_int(e, "http.request.body.bytes"), 0);
    CHECK_STR(sh_str(e, "event.outcome"), "success");
    CHECK(!json_object_get(e, "http.request.body.content"));
    json_t *fe = sh_find("file-download", 0);
    CHECK(fe != NULL);
    CHECK_STR(sh_str(fe, "file.name"), "eicar.com");
    CHECK_INT(sh_int(fe, "file.size"), 68);
    CHECK_STR(sh_str(fe, "file.hash.md5"), "44d88612fea8a8f36de82e1278abb02f");
    CHECK_STR(sh_str(fe, "url.full"), "http://www.eicar.org/download/eicar.com?x=1&y=2");
    CHECK_STR(sh_str(fe, "url.domain"), "www.eicar.org");
    CHECK_STR(sh_str(fe, "http.request.method"), "GET");
    CHECK_INT(sh_int(fe, "http.response.status_code"), 200);
    CHECK_STR(sh_str(fe, "user_agent.original"), "curl/7.43.0");
    CHECK_STR(sh_str(fe, "http.response.mime_type"), "application/octet-stream");
    CHECK(!json_object_get(fe, "file.truncated"));
    mm_app_http.close(st, f);
    CHECK_INT(sh_count("http-request"), 1);
    CHECK_INT(sh_app_errors(), 0);
}
static void test_get_fields_and_download(void) { basic_run(0); }
static void test_one_byte_at_a_time_same_result(void) { basic_run(1); g_onebyte = 0; }

static void test_pipelining_head_204_304(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S,
          "HEAD /a HTTP/1.1\r\nHost: h\r\n\r\n"
          "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
          "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"
          "GET /d HTTP/1.1\r\nHost: h\r\n\r\n");
    feeds(st, f, MM_S2C,
          "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"   /* HEAD: no body */
          "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
          "HTTP/1.1 304 Not Modified\r\n\r\n"
          "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc");
    CHECK_INT(sh_count("http-request"), 4);
    CHECK_STR(sh_str(sh_find("http-request", 0), "url.path"), "/a");
    CHECK_INT(sh_int(sh_find("http-request", 0), "http.response.status_code"), 200);
    CHECK_INT(sh_int(sh_find("http-request", 0), "http.response.body.bytes"), 0);
    CHECK_STR(sh_str(sh_find("http-request", 1), "url.path"), "/b");
    CHECK_INT(sh_int(sh_find("http-request", 1), "http.response.status_code"), 204);
    CHECK_INT(sh_int(sh_find("http-request", 2), "http.response.status_code"), 304);
    CHECK_STR(sh_str(sh_find("http-request", 3), "url.path"), "/d");
    CHECK_INT(sh_int(sh_find("http-request", 3), "http.response.status_code"), 404);
    CHECK_STR(sh_str(sh_find("http-request", 3), "event.outcome"), "failure");
    CHECK_INT(sh_count("file-download"), 1);   /* only the 404 page had a body */
    CHECK_STR(sh_str(sh_find("file-download", 0), "file.name"), "d");
    mm_app_http.close(st, f);
    CHECK_INT(sh_count("http-request"), 4);
    CHECK_INT(sh_app_errors(), 0);
}

static void test_interim_100_continue(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "PUT /up/data.bin HTTP/1.1\r\nHost: h:8080\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    feeds(st, f, MM_S2C, "HTTP/1.1 100 Continue\r\n\r\n");
    feeds(st, f, MM_C2S, "ABCD");
    feeds(st, f, MM_S2C, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    CHECK_INT(sh_count("http-request"), 1);
    json_t *e = sh_find("http-request", 0);
    CHECK_INT(sh_int(e, "http.response.status_code"), 201);
    CHECK_INT(sh_int(e, "url.port"), 8080);
    CHECK_STR(sh_str(e, "url.full"), "http://h:8080/up/data.bin");
    CHECK_STR(sh_str(e, "http.request.body.content"), "ABCD");
    json_t *fe = sh_find("file-upload", 0);
    CHECK(fe != NULL);
    CHECK_STR(sh_str(fe, "file.name"), "data.bin");
    CHECK_INT(sh_int(fe, "file.size"), 4);
    CHECK_INT(sh_int(fe, "http.response.status_code"), 201);   /* closed once the status was known */
    CHECK_STR(sh_str(fe, "http.request.method"), "PUT");
    mm_app_http.close(st, f);
}

static void chunked_gzip_run(int onebyte) {
    char plain[5000];
    for (size_t i = 0; i < sizeof plain; i++) plain[i] = (char)('a' + (i * 7 + i / 13) % 26);
    uint8_t gz[8000];
    size_t gn = zip(plain, sizeof plain, gz, sizeof gz, 31);
    char want[33];
    md5hex(plain, sizeof plain, want);
    mm_flow *f = setup();
    g_onebyte = onebyte;
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /page.html HTTP/1.1\r\nHost: example.com\r\nAccept-Encoding: gzip\r\n\r\n");
    feeds(st, f, MM_S2C, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n"
                         "Content-Encoding: gzip\r\n\r\n");
    /* three chunks, one with an extension, then trailers */
    size_t a = gn / 3, b = gn / 3;
    char line[64];
    snprintf(line, sizeof line, "%zx\r\n", a);
    feeds(st, f, MM_S2C, line);
    feed(st, f, MM_S2C, gz, a);
    snprintf(line, sizeof line, "\r\n%zX;name=value\r\n", b);
    feeds(st, f, MM_S2C, line);
    feed(st, f, MM_S2C, gz + a, b);
    snprintf(line, sizeof line, "\r\n%zx\r\n", gn - a - b);
    feeds(st, f, MM_S2C, line);
    feed(st, f, MM_S2C, gz + a + b, gn - a - b);
    CHECK_INT(sh_count("http-request"), 0);
    feeds(st, f, MM_S2C, "\r\n0\r\nX-Trailer: yes\r\n\r\n");
    g_onebyte = 0;
    CHECK_INT(sh_count("http-request"), 1);
    json_t *e = sh_find("http-request", 0);
    CHECK_INT(sh_int(e, "http.response.body.bytes"), (long long)gn);
    json_t *fe = sh_find("file-download", 0);
    CHECK(fe != NULL);
    CHECK_INT(sh_int(fe, "file.size"), (long long)sizeof plain);
    CHECK_STR(sh_str(fe, "file.hash.md5"), want);
    CHECK_STR(sh_str(fe, "file.name"), "page.html");
    mm_app_http.close(st, f);
    CHECK_INT(sh_app_errors(), 0);
}
static void test_chunked_gzip_decoded(void) { chunked_gzip_run(0); }
static void test_chunked_gzip_one_byte(void) { chunked_gzip_run(1); }

static void test_deflate_zlib_and_raw(void) {
    const char *plain = "deflated body, deflated body, deflated body!";
    char want[33];
    md5hex(plain, strlen(plain), want);
    for (int raw = 0; raw < 2; raw++) {
        uint8_t z[256];
        size_t zn = zip(plain, strlen(plain), z, sizeof z, raw ? -15 : 15);
        mm_flow *f = setup();
        void *st = mm_app_http.open(f);
        feeds(st, f, MM_C2S, "GET /z HTTP/1.1\r\nHost: h\r\n\r\n");
        char hdr[128];
        snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %zu\r\n\r\n", zn);
        feeds(st, f, MM_S2C, hdr);
        g_onebyte = 1;   /* the two bytes that tell zlib from raw arrive apart */
        feed(st, f, MM_S2C, z, zn);
        g_onebyte = 0;
        json_t *fe = sh_find("file-download", 0);
        CHECK(fe != NULL);
        CHECK_STR(sh_str(fe, "file.hash.md5"), want);
        CHECK_INT(sh_int(sh_find("http-request", 0), "http.response.body.bytes"), (long long)zn);
        mm_app_http.close(st, f);
        CHECK_INT(sh_app_errors(), 0);
    }
}

static void test_gzip_bomb_capped_and_counted(void) {
    size_t n = 64u << 20;   /* 64 MiB of zeros in ~64 KiB */
    uint8_t *zeros = calloc(1, n);
    uint8_t *gz = malloc(1 << 20);
    size_t gn = zip(zeros, n, gz, 1 << 20, 31);
    free(zeros);
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /bomb HTTP/1.1\r\nHost: h\r\n\r\n");
    char hdr[128];
    snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", gn);
    feeds(st, f, MM_S2C, hdr);
    feed(st, f, MM_S2C, gz, gn);
    free(gz);
    CHECK(sh_app_errors() >= 1);
    json_t *fe = sh_find("file-download", 0);
    CHECK(fe != NULL);
    CHECK_STR(sh_str(fe, "file.truncated"), "true");
    CHECK(sh_int(fe, "file.size") < (long long)n);
    CHECK(sh_int(fe, "file.size") >= (1 << 20));
    CHECK_INT(sh_count("http-request"), 1);   /* the transaction still completes */
    CHECK_INT(sh_int(sh_find("http-request", 0), "http.response.body.bytes"), (long long)gn);
    mm_app_http.close(st, f);
}

static void test_corrupt_gzip_counted(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /x.gz HTTP/1.1\r\nHost: h\r\n\r\n");
    feeds(st, f, MM_S2C, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 20\r\n\r\n");
    feed(st, f, MM_S2C, "\x1f\x8b\x08\x00garbagegarbage!!", 20);
    CHECK(sh_app_errors() >= 1);
    CHECK_INT(sh_count("http-request"), 1);
    mm_app_http.close(st, f);
}

static void test_post_text_body_and_upload(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    const char *body = "{\"login_id\":\"toto\",\"password\":\"tototo\"}";
    char req[512];
    snprintf(req, sizeof req,
             "POST /api/v4/users/login HTTP/1.1\r\nHost: localhost:8065\r\nContent-Type: application/json; charset=utf-8\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    feeds(st, f, MM_C2S, req);
    CHECK_INT(sh_count("file-upload"), 0);   /* waits for the status */
    feeds(st, f, MM_S2C, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    json_t *e = sh_find("http-request", 0);
    CHECK_STR(sh_str(e, "http.request.body.content"), body);
    CHECK_INT(sh_int(e, "http.request.body.bytes"), (long long)strlen(body));
    CHECK_STR(sh_str(e, "http.request.mime_type"), "application/json");
    CHECK_STR(sh_str(e, "url.domain"), "localhost");
    CHECK_INT(sh_int(e, "url.port"), 8065);
    json_t *up = sh_find("file-upload", 0);
    CHECK(up != NULL);
    CHECK_STR(sh_str(up, "file.name"), "login");
    CHECK_INT(sh_int(up, "file.size"), (long long)strlen(body));
    CHECK_INT(sh_int(up, "http.response.status_code"), 200);
    CHECK_STR(sh_str(up, "url.full"), "http://localhost:8065/api/v4/users/login");
    CHECK_INT(sh_count("file-download"), 1);
    mm_app_http.close(st, f);
}

static void test_binary_post_body_not_kept(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\n");
    feed(st, f, MM_C2S, "MZ\x90\0\x03\0", 6);
    mm_app_http.close(st, f);
    json_t *e = sh_find("http-request", 0);
    CHECK(e != NULL);
    CHECK(!json_object_get(e, "http.request.body.content"));
    CHECK(!json_object_get(e, "http.response.status_code"));   /* no response seen */
    CHECK_STR(sh_str(e, "event.outcome"), "unknown");
    CHECK_INT(sh_int(sh_find("file-upload", 0), "file.size"), 6);
}

static void test_chunked_request_body(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                         "GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
    feeds(st, f, MM_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    CHECK_INT(sh_count("http-request"), 2);
    CHECK_STR(sh_str(sh_find("http-request", 0), "http.request.body.content"), "hello world");
    CHECK_INT(sh_int(sh_find("http-request", 0), "http.request.body.bytes"), 11);
    CHECK_STR(sh_str(sh_find("http-request", 1), "url.path"), "/after");
    mm_app_http.close(st, f);
    CHECK_INT(sh_app_errors(), 0);
}

static const char *MP_BODY =
    "------WebKitFormBoundaryBtaeRs4vBuzQzpSa\r\n"
    "Content-Disposition: form-data; name=\"comment\"\r\n\r\n"
    "just a field\r\n"
    "------WebKitFormBoundaryBtaeRs4vBuzQzpSa\r\n"
    "Content-Disposition: form-data; name=\"file1\"; filename=\"test.txt\"\r\n"
    "Content-Type: text/plain\r\n\r\n"
    "line one\r\n\r\n--not the boundary\r\nline three\r\n"
    "------WebKitFormBoundaryBtaeRs4vBuzQzpSa\r\n"
    "Content-Disposition: form-data; name=\"file2\"; filename=\"C:\\Users\\me\\evil.exe\"\r\n\r\n"
    "MZ binary\r\n"
    "------WebKitFormBoundaryBtaeRs4vBuzQzpSa\r\n"
    "Content-Disposition: form-data; name=\"file3\"; filename=\"\"\r\n\r\n"
    "\r\n"
    "------WebKitFormBoundaryBtaeRs4vBuzQzpSa--\r\n";

static void multipart_run(int onebyte) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    char req[2048];
    snprintf(req, sizeof req,
             "POST /upload HTTP/1.1\r\nHost: localhost:8000\r\n"
             "Content-Type: multipart/form-data; boundary=----WebKitFormBoundaryBtaeRs4vBuzQzpSa\r\n"
             "Content-Length: %zu\r\n\r\n",
             strlen(MP_BODY));
    g_onebyte = onebyte;
    feeds(st, f, MM_C2S, req);
    feeds(st, f, MM_C2S, MP_BODY);
    g_onebyte = 0;
    mm_app_http.close(st, f);
    CHECK_INT(sh_count("file-upload"), 2);
    json_t *a = sh_find("file-upload", 0), *b = sh_find("file-upload", 1);
    CHECK_STR(sh_str(a, "file.name"), "test.txt");
    const char *content = "line one\r\n\r\n--not the boundary\r\nline three";
    char want[33];
    md5hex(content, strlen(content), want);
    CHECK_INT(sh_int(a, "file.size"), (long long)strlen(content));
    CHECK_STR(sh_str(a, "file.hash.md5"), want);
    CHECK_STR(sh_str(a, "url.full"), "http://localhost:8000/upload");
    CHECK_STR(sh_str(b, "file.name"), "evil.exe");
    CHECK_INT(sh_int(b, "file.size"), 9);
    CHECK_INT(sh_count("http-request"), 1);
    CHECK_INT(sh_int(sh_find("http-request", 0), "http.request.body.bytes"), (long long)strlen(MP_BODY));
    CHECK_INT(sh_app_errors(), 0);
}
static void test_multipart_parts_are_files(void) { multipart_run(0); }
static void test_multipart_one_byte(void) { multipart_run(1); }

static void test_content_disposition_names(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /dl?id=5 HTTP/1.1\r\nHost: h\r\n\r\nGET /dl2 HTTP/1.1\r\nHost: h\r\n\r\nGET /dir/ HTTP/1.1\r\nHost: h\r\n\r\n");
    feeds(st, f, MM_S2C,
          "HTTP/1.1 200 OK\r\nContent-disposition: attachment; filename=\"report \\\"q1\\\".pdf\"\r\nContent-Length: 1\r\n\r\nA"
          "HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=fallback.bin; filename*=UTF-8''na%C3%AFve%20file.txt\r\n"
          "Content-Length: 1\r\n\r\nB"
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nC");
    CHECK_INT(sh_count("file-download"), 3);
    CHECK_STR(sh_str(sh_find("file-download", 0), "file.name"), "report \"q1\".pdf");
    CHECK_STR(sh_str(sh_find("file-download", 1), "file.name"), "na\xc3\xafve file.txt");
    CHECK(!json_object_get(sh_find("file-download", 2), "file.name"));   /* "/dir/": no name */
    mm_app_http.close(st, f);
}

static void test_range_pieces_joined(void) {
    char data[2500];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (char)(i * 31 + 7);
    char want[33];
    md5hex(data, sizeof data, want);
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    for (int k = 0; k < 3; k++) {
        size_t a = (size_t)k * 1000, b = k == 2 ? 2499 : a + 999;
        char buf[512];
        snprintf(buf, sizeof buf, "GET /z4d4kWk.jpg HTTP/1.1\r\nHost: i.imgur.com\r\nRange: bytes=%zu-%zu\r\n\r\n", a, b);
        feeds(st, f, MM_C2S, buf);
        snprintf(buf, sizeof buf,
                 "HTTP/1.1 206 Partial Content\r\nContent-Type: image/jpeg\r\nContent-Range: bytes %zu-%zu/2500\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 a, b, b - a + 1);
        feeds(st, f, MM_S2C, buf);
        feed(st, f, MM_S2C, data + a, b - a + 1);
    }
    CHECK_INT(sh_count("http-request"), 3);
    CHECK_INT(sh_count("file-download"), 1);
    json_t *fe = sh_find("file-download", 0);
    CHECK_INT(sh_int(fe, "file.size"), 2500);
    CHECK_STR(sh_str(fe, "file.hash.md5"), want);
    CHECK_STR(sh_str(fe, "file.name"), "z4d4kWk.jpg");
    CHECK(!json_object_get(fe, "file.truncated"));
    mm_app_http.close(st, f);
    CHECK_INT(sh_count("file-download"), 1);
}

static void test_range_part_only_is_truncated(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /big.iso HTTP/1.1\r\nHost: h\r\nRange: bytes=100-109\r\n\r\n");
    feeds(st, f, MM_S2C, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-109/5000\r\nContent-Length: 10\r\n\r\n0123456789");
    CHECK_INT(sh_count("file-download"), 0);   /* the next piece may follow */
    mm_app_http.close(st, f);
    json_t *fe = sh_find("file-download", 0);
    CHECK(fe != NULL);
    CHECK_INT(sh_int(fe, "file.size"), 10);
    CHECK_STR(sh_str(fe, "file.truncated"), "true");
}

static void test_connect_tunnel_stops(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "CONNECT mail.example.com:443 HTTP/1.1\r\nHost: mail.example.com:443\r\n\r\n");
    feeds(st, f, MM_S2C, "HTTP/1.1 200 Connection established\r\n\r\n");
    feed(st, f, MM_C2S, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    feed(st, f, MM_S2C, "\x16\x03\x03\x00\x5d\x02\x00", 7);
    mm_app_http.close(st, f);
    CHECK_INT(sh_count("http-request"), 1);
    json_t *e = sh_find("http-request", 0);
    CHECK_STR(sh_str(e, "http.request.method"), "CONNECT");
    CHECK_STR(sh_str(e, "url.domain"), "mail.example.com");
    CHECK_INT(sh_int(e, "url.port"), 443);
    CHECK(!json_object_get(e, "url.full"));
    CHECK_INT(sh_count("file-download") + sh_count("file-upload"), 0);
    CHECK_INT(sh_app_errors(), 0);
}

static void test_response_until_close_http10(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /old HTTP/1.0\r\n\r\n");
    feeds(st, f, MM_S2C, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nno length here");
    CHECK_INT(sh_count("http-request"), 0);
    mm_app_http.close(st, f);
    json_t *e = sh_find("http-request", 0);
    CHECK_INT(sh_int(e, "http.response.body.bytes"), 14);
    CHECK_STR(sh_str(e, "http.version"), "1.0");
    /* no Host: the server's address stands in */
    CHECK_STR(sh_str(e, "url.full"), "http://93.184.216.34/old");
    CHECK(!json_object_get(e, "url.domain"));
    CHECK_INT(sh_int(sh_find("file-download", 0), "file.size"), 14);
    CHECK(!json_object_get(sh_find("file-download", 0), "file.truncated"));
}

static void test_truncated_body_at_close(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /f.exe HTTP/1.1\r\nHost: h\r\n\r\n");
    feeds(st, f, MM_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nMZpartial");
    mm_app_http.close(st, f);
    CHECK_STR(sh_str(sh_find("file-download", 0), "file.truncated"), "true");
    CHECK_INT(sh_int(sh_find("file-download", 0), "file.size"), 9);
    CHECK_INT(sh_count("http-request"), 1);
}

static void test_gap_in_body_marks_file(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /g HTTP/1.1\r\nHost: h\r\n\r\nGET /h HTTP/1.1\r\nHost: h\r\n\r\n");
    feeds(st, f, MM_S2C, "HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n0123456789");
    mm_app_http.gap(st, f, MM_S2C, 10);
    feeds(st, f, MM_S2C, "0123456789HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    CHECK_INT(sh_count("http-request"), 2);   /* resynchronised after the body */
    CHECK_INT(sh_int(sh_find("http-request", 0), "http.response.body.bytes"), 30);
    CHECK_STR(sh_str(sh_find("file-download", 0), "file.truncated"), "true");
    CHECK_INT(sh_int(sh_find("file-download", 0), "file.size"), 20);
    /* a gap in headers: the direction gives up, counted */
    uint64_t before = sh_app_errors();
    feeds(st, f, MM_C2S, "GET /i HTTP/1.1\r\nHo");
    mm_app_http.gap(st, f, MM_C2S, 5);
    CHECK(sh_app_errors() > before);
    mm_app_http.close(st, f);
}

static void test_gap_ending_body_then_next(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    feeds(st, f, MM_S2C, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nabc");
    mm_app_http.gap(st, f, MM_S2C, 5);   /* the rest of the chunk */
    feeds(st, f, MM_S2C, "\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n");
    mm_app_http.gap(st, f, MM_S2C, 4);   /* the whole of the second body */
    CHECK_INT(sh_count("http-request"), 2);
    CHECK_INT(sh_int(sh_find("http-request", 0), "http.response.body.bytes"), 8);
    CHECK_INT(sh_int(sh_find("http-request", 1), "http.response.body.bytes"), 4);
    CHECK_STR(sh_str(sh_find("file-download", 0), "file.truncated"), "true");
    CHECK_INT(sh_int(sh_find("file-download", 0), "file.size"), 3);
    CHECK_STR(sh_str(sh_find("file-download", 1), "file.truncated"), "true");
    mm_app_http.close(st, f);
    CHECK_INT(sh_count("http-request"), 2);
}

static void test_orphan_response(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_S2C, "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n");
    CHECK_INT(sh_count("http-request"), 1);
    json_t *e = sh_find("http-request", 0);
    CHECK_INT(sh_int(e, "http.response.status_code"), 302);
    CHECK(!json_object_get(e, "http.request.method"));
    mm_app_http.close(st, f);
}

static void test_numeric_host_and_new_ua_risks(void) {
    mm_flow *f = setup_opts(80, 0, 0);   /* no learning period: a new UA counts at once */
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /tablone.png HTTP/1.1\r\nUser-Agent: WinHTTP loader/1.0\r\nHost: 185.98.87.185\r\n\r\n");
    CHECK(f->risks & MM_RISK_NUMERIC_HOST);
    CHECK(f->risks & MM_RISK_NEW_UA_FOR_HOST);
    mm_app_http.close(st, f);
    mm_flow *g = setup();   /* learning: nothing is new yet */
    st = mm_app_http.open(g);
    feeds(st, g, MM_C2S, "GET / HTTP/1.1\r\nUser-Agent: Other\r\nHost: example.com\r\n\r\n");
    CHECK(!(g->risks & MM_RISK_NUMERIC_HOST));
    CHECK(!(g->risks & MM_RISK_NEW_UA_FOR_HOST));
    mm_app_http.close(st, g);
}

static void test_header_folding_and_split_ua(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /tracking HTTP/1.1\r\nUser-Agent: Mozil");
    feeds(st, f, MM_C2S, "la/5.0 (Linux;\r\n Android 6.0.1)\r\nHost: va.origin.startappservice.com\r\n\r\n");
    feeds(st, f, MM_S2C, "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n");
    json_t *e = sh_find("http-request", 0);
    CHECK_STR(sh_str(e, "user_agent.original"), "Mozilla/5.0 (Linux;   Android 6.0.1)");
    CHECK_INT(sh_int(e, "http.response.status_code"), 200);
    mm_app_http.close(st, f);
}

static void test_header_caps_counted(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /many HTTP/1.1\r\nHost: h\r\n");
    for (int i = 0; i < 150; i++) feeds(st, f, MM_C2S, "X-Pad: 1\r\n");
    feeds(st, f, MM_C2S, "\r\n");
    CHECK(sh_app_errors() >= 1);
    mm_app_http.close(st, f);
    CHECK_INT(sh_count("http-request"), 1);   /* the transaction ends with what was read */
    CHECK_STR(sh_str(sh_find("http-request", 0), "url.path"), "/many");

    f = setup();
    st = mm_app_http.open(f);
    feeds(st, f, MM_C2S, "GET /huge HTTP/1.1\r\nHost: h\r\nX-Big: ");
    char *big = malloc(70000);
    memset(big, 'A', 70000);
    feed(st, f, MM_C2S, big, 70000);
    free(big);
    CHECK(sh_app_errors() >= 1);
    feeds(st, f, MM_C2S, "\r\n\r\nGET /next HTTP/1.1\r\n\r\n");   /* ignored: the direction gave up */
    mm_app_http.close(st, f);
    CHECK_INT(sh_count("http-request"), 1);
    CHECK_STR(sh_str(sh_find("http-request", 0), "url.path"), "/huge");
}

static void test_pipeline_cap(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    for (int i = 0; i < 40; i++) feeds(st, f, MM_C2S, "GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(sh_app_errors() >= 1);
    mm_app_http.close(st, f);
    CHECK_INT(sh_count("http-request"), 32);
}

static void test_garbage_and_hostile(void) {
    mm_flow *f = setup();
    void *st = mm_app_http.open(f);
    feed(st, f, MM_C2S, "\x16\x03\x01\x00\xff\x01garbage", 13);
    feed(st, f, MM_S2C, "SSH-2.0-OpenSSH\r\n", 17);
    CHECK(sh_app_errors() >= 2);
    mm_app_http.close(st, f);
    CHECK_INT(sh_count("http-request"), 0);

    const char *bad[] = {
        "GET  HTTP/1.1\r\n\r\n",
        "GET / HTTP/9\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcde",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
        "POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=\"\"\r\nContent-Length: 3\r\n\r\n--\r",
        "GET http://[::1 HTTP/1.1\r\nHost: [\r\n\r\n",
        "GET http://u@:99999/ HTTP/1.1\r\nHost: :\r\n\r\n",
        "CONNECT [ HTTP/1.1\r\n\r\n",
        "GET /\r\n\r\n",
        "\r\n\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        f = setup();
        st = mm_app_http.open(f);
        feeds(st, f, MM_C2S, bad[i]);
        feeds(st, f, MM_S2C, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nab");
        mm_app_http.close(st, f);
        if (i < 8) CHECK(sh_app_errors() > 0);   /* the first eight are malformed; the rest are tolerated */
    }
}

static void test_probe(void) {
    mm_flow *f = setup();
#define P(c, s) mm_app_http.probe(f, (const uint8_t *)(c), strlen(c), (const uint8_t *)(s), strlen(s))
    CHECK_INT(P("GET / HTTP/1.1\r\n", ""), MM_PROBE_YES);
    CHECK_INT(P("POST /api/v4/uploads HTTP/1.0\r\nHost: x\r\n", ""), MM_PROBE_YES);
    CHECK_INT(P("GE", ""), MM_PROBE_MAYBE);
    CHECK_INT(P("GET /tracking/adImpression?d=IAAAAAAgAAA6X1tP", ""), MM_PROBE_YES);   /* line split over packets */
    CHECK_INT(P("GET ", ""), MM_PROBE_MAYBE);
    CHECK_INT(P("", "HTTP/1.1 200 OK\r\n"), MM_PROBE_YES);
    CHECK_INT(P("", "HTTP/1"), MM_PROBE_MAYBE);
    CHECK_INT(P("", "220 mail ESMTP\r\n"), MM_PROBE_NO);
    CHECK_INT(P("USER bob\r\n", "220 ftp\r\n"), MM_PROBE_NO);
    CHECK_INT(P("\x16\x03\x01", ""), MM_PROBE_NO);
    CHECK_INT(P("OPTIONS rtsp://cam/ RTSP/1.0\r\n", ""), MM_PROBE_NO);
    CHECK_INT(P("FOO / HTTP/1.1\r\n", ""), MM_PROBE_NO);
    CHECK_INT(P("GET / SIP/2.0\r\n", ""), MM_PROBE_NO);
    CHECK_INT(P("CONNECT example.com:443 HTTP/1.1\r\n", ""), MM_PROBE_YES);
#undef P
}

/* ---------------------------------------------------------------- corpora */

static bool run_pcap(const char *rel) { return sh_sensor_pcap(t_corpora(), rel, NULL, false); }

static void test_corpus_eicar_fileinfo(void) {
    if (!run_pcap("suricata-verify/output-eve-fileinfo/input.pcap")) return;
    CHECK_INT(sh_count("file-download"), 1);
    json_t *fe = sh_find("file-download", 0);
    CHECK_STR(sh_str(fe, "file.name"), "eicar.com");
    CHECK_INT(sh_int(fe, "file.size"), 68);
    CHECK_STR(sh_str(fe, "url.domain"), "www.eicar.org");
    CHECK_STR(sh_str(fe, "url.original"), "/download/eicar.com");
    CHECK_STR(sh_str(fe, "user_agent.original"), "curl/7.43.0");
    json_t *e = sh_find("http-request", 0);
    CHECK_STR(sh_str(e, "network.protocol"), "http");
    CHECK_INT(sh_int(e, "http.response.status_code"), 200);
    CHECK_STR(sh_str(e, "http.response.mime_type"), "application/octet-stream");
}

static void test_corpus_range_file(void) {
    if (!run_pcap("suricata-verify/http-range-file/input.pcap")) return;
    CHECK_INT(sh_count("file-download"), 1);
    CHECK_INT(sh_int(sh_find("file-download", 0), "file.size"), 146515);
    CHECK(!json_object_get(sh_find("file-download", 0), "file.truncated"));
    CHECK(sh_count("http-request") >= 15);
}

static void test_corpus_filemd5(void) {
    if (!run_pcap("suricata-verify/filemd5/input.pcap")) return;
    CHECK_STR(sh_str(sh_find("file-download", 0), "file.hash.md5"), "e19c1283c925b3206685ff522acfe3e6");
}

static void test_corpus_pdf_magic_ext(void) {
    if (!run_pcap("suricata-verify/fileext-01/input.pcap")) return;
    json_t *fe = sh_find("file-download", 0);
    CHECK_STR(sh_str(fe, "file.name"), "r.pdf");
    CHECK_STR(sh_str(fe, "file.extension"), "pdf");
    CHECK_STR(sh_str(fe, "file.mime_type"), "application/pdf");
    CHECK(strstr(sh_str(fe, "file.magic"), "version 1.5") != NULL);
}

static void test_corpus_post_file(void) {
    if (!run_pcap("suricata-verify/http-post-file/input.pcap")) return;
    bool eicar = false;
    for (int k = 0; sh_find("file-upload", k); k++)
        if (sh_int(sh_find("file-upload", k), "file.size") == 68 &&
            strcmp(sh_str(sh_find("file-upload", k), "file.hash.md5"), "44d88612fea8a8f36de82e1278abb02f") == 0)
            eicar = true;
    CHECK(eicar);
    CHECK_INT(sh_count("http-request"), 3);
}

static void test_corpus_zeek_multipart(void) {
    if (!run_pcap("zeek/http_multipart-form-data.pcap")) return;
    CHECK_INT(sh_count("file-upload"), 1);
    CHECK_STR(sh_str(sh_find("file-upload", 0), "file.name"), "test.txt");
    CHECK_INT(sh_int(sh_find("file-upload", 0), "file.size"), 584);
    CHECK_INT(sh_count("http-request"), 1);   /* no response in the trace: emitted at the end */
}

static void test_corpus_exe_as_png(void) {
    if (!run_pcap("ndpi/pcap/exe_download_as_png.pcap")) return;
    json_t *fe = sh_find("file-download", 0);
    CHECK(fe != NULL);
    CHECK_STR(sh_str(fe, "file.name"), "tablone.png");
    const char *m = sh_str(fe, "file.mime_type");   /* the name depends on libmagic's version */
    CHECK(m && (strcmp(m, "application/x-dosexec") == 0 || strcmp(m, "application/vnd.microsoft.portable-executable") == 0));
    json_t *fl = sh_find("flow", 0);
    bool numeric = false, binary = false;
    json_t *risks = json_object_get(fl, "flow.risk");
    for (size_t i = 0; i < json_array_size(risks); i++) {
        const char *r = json_string_value(json_array_get(risks, i));
        if (strcmp(r, "numeric_host") == 0) numeric = true;
        if (strcmp(r, "binary_transfer") == 0) binary = true;
    }
    CHECK(numeric && binary);
}

static void test_corpus_emotet_gzip_and_dll(void) {
    if (!run_pcap("ndpi/pcap/emotet.pcap")) return;
    bool html = false, dll = false;
    for (int k = 0; sh_find("file-download", k); k++) {
        json_t *fe = sh_find("file-download", k);
        const char *m = sh_str(fe, "file.mime_type");
        const char *n = sh_str(fe, "file.name");
        if (m && strcmp(m, "text/html") == 0 && !json_object_get(fe, "file.truncated")) html = true;   /* gunzipped */
        if (n && strcmp(n, "TfBXbg6gEAqeHioMEKOtCAAn73.dll") == 0) dll = true;
    }
    CHECK(html);
    CHECK(dll);
}

int main(void) {
    sh.ev.on_bad = SH_BAD_ABORT;   /* an event that is not JSON */
    TEST(test_get_fields_and_download);
    TEST(test_one_byte_at_a_time_same_result);
    TEST(test_pipelining_head_204_304);
    TEST(test_interim_100_continue);
    TEST(test_chunked_gzip_decoded);
    TEST(test_chunked_gzip_one_byte);
    TEST(test_deflate_zlib_and_raw);
    TEST(test_gzip_bomb_capped_and_counted);
    TEST(test_corrupt_gzip_counted);
    TEST(test_post_text_body_and_upload);
    TEST(test_binary_post_body_not_kept);
    TEST(test_chunked_request_body);
    TEST(test_multipart_parts_are_files);
    TEST(test_multipart_one_byte);
    TEST(test_content_disposition_names);
    TEST(test_range_pieces_joined);
    TEST(test_range_part_only_is_truncated);
    TEST(test_connect_tunnel_stops);
    TEST(test_response_until_close_http10);
    TEST(test_truncated_body_at_close);
    TEST(test_gap_in_body_marks_file);
    TEST(test_gap_ending_body_then_next);
    TEST(test_orphan_response);
    TEST(test_numeric_host_and_new_ua_risks);
    TEST(test_header_folding_and_split_ua);
    TEST(test_header_caps_counted);
    TEST(test_pipeline_cap);
    TEST(test_garbage_and_hostile);
    TEST(test_probe);
    TEST(test_corpus_eicar_fileinfo);
    TEST(test_corpus_range_file);
    TEST(test_corpus_filemd5);
    TEST(test_corpus_pdf_magic_ext);
    TEST(test_corpus_post_file);
    TEST(test_corpus_zeek_multipart);
    TEST(test_corpus_exe_as_png);
    TEST(test_corpus_emotet_gzip_and_dll);
    sh_sensor_free();
    TEST_MAIN_END();
}
