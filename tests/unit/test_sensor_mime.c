/* The MIME parser (src/sensor/mime.c): RFC 2047 words and charsets (ISO-2022-JP
 * with vendor rows, Shift_JIS, EUC-JP, Latin-1/Windows-1252, invalid bytes kept as
 * escapes), RFC 2231 parameters, address lists, multipart nesting and boundaries,
 * base64/quoted-printable bodies, URL extraction as Suricata expects it, chunking
 * independence (one byte at a time gives the same result), gaps, and the caps that
 * keep a MIME bomb (deep nesting, a 1 MiB header line, many parts) bounded. */
#include "test.h"

#include "sensor/mime.h"

#include <stdint.h>
#include <time.h>

/* ---- a recorder of the parser's callbacks ---- */

#define RMAX 64

typedef struct rec {
    int begins, ends, gaps, hdr_end;
    char type[RMAX][96];
    char name[RMAX][512];
    char charset[RMAX][48];
    bool att[RMAX];
    int depth[RMAX];
    uint8_t *data[RMAX];
    size_t dlen[RMAX], dcap[RMAX];
    char anom[1024];
    int fields;
    char last_field[128];
} rec;

static void r_field(void *ctx, int depth, const char *n, size_t nn, const char *v, size_t vn) {
    rec *r = ctx;
    r->fields++;
    snprintf(r->last_field, sizeof r->last_field, "%d:%.*s=%.*s", depth, (int)nn, n, (int)(vn > 60 ? 60 : vn), v);
}
static void r_hdr(void *ctx, mm_mime *m) { ((rec *)ctx)->hdr_end++; }
static void r_begin(void *ctx, const mm_mime_part *p) {
    rec *r = ctx;
    int i = r->begins++;
    if (i >= RMAX) return;
    snprintf(r->type[i], sizeof r->type[i], "%s", p->type);
    snprintf(r->name[i], sizeof r->name[i], "%s", p->filename);
    snprintf(r->charset[i], sizeof r->charset[i], "%s", p->charset);
    r->att[i] = p->attachment;
    r->depth[i] = p->depth;
}
static void r_data(void *ctx, const mm_mime_part *p, const uint8_t *d, size_t n) {
    rec *r = ctx;
    int i = r->begins - 1;
    if (i < 0 || i >= RMAX || r->dlen[i] + n > (4u << 20)) return;
    if (r->dlen[i] + n + 1 > r->dcap[i]) {
        r->dcap[i] = (r->dlen[i] + n + 1) * 2;
        r->data[i] = realloc(r->data[i], r->dcap[i]);
    }
    memcpy(r->data[i] + r->dlen[i], d, n);
    r->dlen[i] += n;
    r->data[i][r->dlen[i]] = 0;
}
static void r_gap(void *ctx, const mm_mime_part *p, size_t n) { ((rec *)ctx)->gaps++; }
static void r_end(void *ctx, const mm_mime_part *p) { ((rec *)ctx)->ends++; }
static void r_anom(void *ctx, const char *why) {
    rec *r = ctx;
    size_t l = strlen(r->anom);
    snprintf(r->anom + l, sizeof r->anom - l, "%s;", why);
}
static const mm_mime_cbs cbs = {r_field, r_hdr, r_begin, r_data, r_gap, r_end, r_anom};

static void rec_free(rec *r) {
    for (int i = 0; i < RMAX; i++) free(r->data[i]);
    memset(r, 0, sizeof *r);
}

/* Parse msg in chunks of `step` bytes (0: whole). */
static mm_mime *parse(rec *r, const char *msg, size_t n, size_t step) {
    memset(r, 0, sizeof *r);
    mm_mime *m = mm_mime_new(&cbs, r);
    if (!step) step = n ? n : 1;
    for (size_t i = 0; i < n; i += step) mm_mime_feed(m, msg + i, n - i < step ? n - i : step);
    mm_mime_end(m);
    return m;
}

static const char *words(const char *in) {
    static char out[1024];
    mm_mime_decode_words(in, strlen(in), out, sizeof out);
    return out;
}

static const char *param(const char *v, const char *name) {
    static char out[1024];
    long r = mm_mime_param(v, strlen(v), name, out, sizeof out);
    return r < 0 ? "(absent)" : out;
}

/* ---- RFC 2047 and charsets ---- */

static void words_iso2022jp_subject_is_test(void) {
    CHECK_STR(words("=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?="), "テスト");
    CHECK_STR(words("=?iso-2022-jp?b?GyRCN29MPiVGJTklSBsoQg==?="), "件名テスト");
    /* NEC row 13 (circled digits): refused by glibc's ISO-2022-JP, kept through CP932 */
    CHECK_STR(words("=?ISO-2022-JP?B?GyRCLSEbKEI=?="), "①");
    CHECK_STR(words("Re: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= [ok]"), "Re: テスト [ok]");
    /* unencoded ISO-2022-JP in a header (old Japanese mailers) */
    CHECK_STR(words("Re: \x1b$B%F%9%H\x1b(B 2"), "Re: テスト 2");
}

static void words_shift_jis_euc_jp_latin(void) {
    CHECK_STR(words("=?Shift_JIS?B?g2WDWINn?="), "テスト");
    CHECK_STR(words("=?shift_jis?Q?=83e=83X=83g?="), "テスト");
    CHECK_STR(words("=?EUC-JP?B?pcaluaXI?="), "テスト");
    CHECK_STR(words("=?iso-8859-1?q?caf=E9_au_lait?="), "café au lait");
    CHECK_STR(words("=?windows-1252?B?YYBi?="), "a€b");
    CHECK_STR(words("=?UTF-8?Q?=E8=AB=8B=E6=B1=82=E6=9B=B8?="), "請求書");
}

static void words_adjacent_joined_and_split_characters(void) {
    /* blanks between adjacent words vanish; テ (E3 83 86) split over two words */
    CHECK_STR(words("=?UTF-8?B?44M=?= =?UTF-8?B?hg==?="), "テ");
    CHECK_STR(words("=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?="), "ab");
    /* but literal text between words stays */
    CHECK_STR(words("=?UTF-8?Q?a?= x =?UTF-8?Q?b?="), "a x b");
    /* RFC 2231 language suffix in a word */
    CHECK_STR(words("=?UTF-8*ja?B?44OG44K544OI?="), "テスト");
}

static void words_invalid_kept_as_escapes(void) {
    CHECK_STR(words("=?UTF-8?B?/w==?="), "\\xFF");
    CHECK_STR(words("=?UTF-8?Q?ok=C3?="), "ok\\xC3");
    /* not encoded words: stay literal */
    CHECK_STR(words("=?UTF-8?X?abc?="), "=?UTF-8?X?abc?=");
    CHECK_STR(words("=?UTF-8?B?abc"), "=?UTF-8?B?abc");
    CHECK_STR(words("price =? 5"), "price =? 5");
    /* raw 8-bit header bytes that are not UTF-8 */
    CHECK_STR(words("a\x83" "b"), "a\\x83b");
    /* an unknown charset is taken as UTF-8 */
    CHECK_STR(words("=?x-nonsense?Q?plain?="), "plain");
    /* a charset name that is not a name */
    CHECK_STR(words("=?../../x?Q?p?="), "=?../../x?Q?p?=");
}

static void words_output_is_bounded(void) {
    char in[8192], out[64];
    size_t n = 0;
    while (n + 40 < sizeof in) n += (size_t)snprintf(in + n, sizeof in - n, "=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= ");
    size_t o = mm_mime_decode_words(in, n, out, sizeof out);
    CHECK(o < sizeof out);
    CHECK_INT(strlen(out), o);
    CHECK(o >= 60);   /* filled up to whole characters */
    CHECK_INT(o % 9, 0);   /* テスト is 9 bytes: no character cut */
    out[0] = 'x';
    CHECK_INT(mm_mime_decode_words("abc", 3, out, 1), 0);
    CHECK_STR(out, "");
}

static void to_utf8_charsets(void) {
    char out[64];
    mm_mime_to_utf8("Shift_JIS", "\x83\x65\x83\x58\x83\x67", 6, out, sizeof out);
    CHECK_STR(out, "テスト");
    mm_mime_to_utf8("iso-2022-jp", "\x1b$B%F%9%H\x1b(B", 12, out, sizeof out);
    CHECK_STR(out, "テスト");
    mm_mime_to_utf8("ISO-8859-15", "\xa4", 1, out, sizeof out);
    CHECK_STR(out, "€");
    mm_mime_to_utf8(NULL, "ok\xff", 3, out, sizeof out);
    CHECK_STR(out, "ok\\xFF");
    /* Shift_JIS with a lone lead byte at the end */
    mm_mime_to_utf8("sjis", "\x83\x65\x83", 3, out, sizeof out);
    CHECK_STR(out, "テ\\x83");
}

/* ---- parameters ---- */

static void params_rfc2231_and_quoting(void) {
    CHECK_STR(param("attachment; filename*=UTF-8''%E3%83%86%E3%82%B9%E3%83%88.pdf", "filename"), "テスト.pdf");
    CHECK_STR(param("attachment; filename*0*=UTF-8''%E3%83%86; filename*1*=%E3%82%B9%E3%83%88;\r\n filename*2=.pdf",
                    "filename"), "テスト.pdf");
    CHECK_STR(param("attachment; filename*=iso-8859-1'en'caf%E9.txt", "filename"), "café.txt");
    CHECK_STR(param("attachment; filename*0=\"long \"; filename*1=\"name.doc\"", "filename"), "long name.doc");
    /* the extended form wins over the plain one */
    CHECK_STR(param("attachment; filename=\"fallback.pdf\"; filename*=UTF-8''real.pdf", "filename"), "real.pdf");
    CHECK_STR(param("attachment; filename=\"=?ISO-2022-JP?B?GyRCRTpJVSVVJSElJCVrGyhCLnBkZg==?=\"", "filename"),
              "添付ファイル.pdf");
    CHECK_STR(param("attachment; filename=\"a \\\"q\\\" b.txt\"", "filename"), "a \"q\" b.txt");
    CHECK_STR(param("attachment; filename=My Report.pdf", "filename"), "My Report.pdf");
    CHECK_STR(param("attachment;filename = x.zip ;size=3", "filename"), "x.zip");
    CHECK_STR(param("attachment; filenamex=a; xfilename=b", "filename"), "(absent)");
    CHECK_STR(param("text/plain; name=\"a;b.txt\"; charset=utf-8", "name"), "a;b.txt");
    CHECK_STR(param("text/plain; charset=utf-8", "name"), "(absent)");
    CHECK_STR(param("multipart/mixed; boundary=\"----=_Part_1\"", "boundary"), "----=_Part_1");
    /* sections with a hole stop at the hole; a huge section number is ignored */
    CHECK_STR(param("a; filename*0=x; filename*2=z; filename*99999=q", "filename"), "x");
    /* a quote never closed */
    CHECK_STR(param("a; filename=\"unterminated", "filename"), "unterminated");
    char tok[32];
    mm_mime_value_token(" Multipart/Mixed ;boundary=x", 28, tok, sizeof tok);
    CHECK_STR(tok, "multipart/mixed");
}

typedef struct alist {
    char s[1024];
    int n;
} alist;
static void acb(void *ctx, const char *a, size_t n) {
    alist *l = ctx;
    size_t k = strlen(l->s);
    snprintf(l->s + k, sizeof l->s - k, "%s%.*s", l->n++ ? "|" : "", (int)n, a);
}
static const char *addrs(const char *v) {
    static alist l;
    memset(&l, 0, sizeof l);
    mm_mime_addresses(v, strlen(v), acb, &l);
    return l.s;
}

static void addresses_of_lists(void) {
    CHECK_STR(addrs("\"Gurpartap Singh\" <gurpartap@patriots.in>"), "gurpartap@patriots.in");
    CHECK_STR(addrs("<raj_deol2002in@yahoo.co.in>"), "raj_deol2002in@yahoo.co.in");
    CHECK_STR(addrs("\"Smith, John\" <js@x.com>, a@b.c (Anne, A.), undisclosed-recipients:;"), "js@x.com|a@b.c");
    CHECK_STR(addrs("felica4uu@hotmail.com,\r\n davis_mark1@outlook.com"), "felica4uu@hotmail.com|davis_mark1@outlook.com");
    CHECK_STR(addrs("team: x@y.z, w@v.u;, last@q.r"), "x@y.z|w@v.u|last@q.r");
    CHECK_STR(addrs("=?UTF-8?B?5bGx55Sw?= <yamada@example.jp>"), "yamada@example.jp");
    CHECK_STR(addrs("\"unterminated <a@b>"), "");
    CHECK_STR(addrs("\"x\\"), "");
    CHECK_STR(addrs(""), "");
}

/* ---- messages ---- */

static const char eve_msg[] =
    "From: \"Gurpartap Singh\" <gurpartap@patriots.in>\r\n"
    "To: <raj_deol2002in@yahoo.co.in>\r\n"
    "Subject: SMTP\r\n"
    "Message-ID: <000301ca4581$ef9e57f0$cedb07d0$@in>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed;\r\n"
    "\tboundary=\"----=_NextPart_000_0004_01CA45B0.095693F0\"\r\n"
    "X-Mailer: Microsoft Office Outlook 12.0\r\n"
    "\r\n"
    "This is a multipart message in MIME format.\r\n"
    "\r\n"
    "------=_NextPart_000_0004_01CA45B0.095693F0\r\n"
    "Content-Type: multipart/alternative;\r\n"
    "\tboundary=\"----=_NextPart_001_0005_01CA45B0.095693F0\"\r\n"
    "\r\n"
    "\r\n"
    "------=_NextPart_001_0005_01CA45B0.095693F0\r\n"
    "Content-Type: text/plain;\r\n"
    "\tcharset=\"us-ascii\"\r\n"
    "Content-Transfer-Encoding: 7bit\r\n"
    "\r\n"
    "Hello\r\n"
    "\r\n"
    "------=_NextPart_001_0005_01CA45B0.095693F0\r\n"
    "Content-Type: text/html;\r\n"
    "\tcharset=\"us-ascii\"\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<html xmlns:v=3D\"urn:schemas-microsoft-com:vml\" =\r\n"
    "xmlns=3D\"http://www.w3.org/TR/REC-html40\">\r\n"
    "<a href=3D\"http://example.com/a?x=3D1&amp;y=3D2\">x</a>\r\n"
    "</html>\r\n"
    "\r\n"
    "------=_NextPart_001_0005_01CA45B0.095693F0--\r\n"
    "\r\n"
    "------=_NextPart_000_0004_01CA45B0.095693F0\r\n"
    "Content-Type: text/plain;\r\n"
    "\tname=\"NEWS.txt\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment;\r\n"
    "\tfilename=\"NEWS.txt\"\r\n"
    "\r\n"
    "SGVsbG8sIHdv\r\n"
    "cmxkIQ==\r\n"
    "\r\n"
    "------=_NextPart_000_0004_01CA45B0.095693F0--\r\n"
    "\r\n";

static void message_nested_multipart(void) {
    rec r;
    mm_mime *m = parse(&r, eve_msg, sizeof eve_msg - 1, 0);
    CHECK_INT(r.hdr_end, 1);
    CHECK_INT(r.begins, 3);
    CHECK_INT(r.ends, 3);
    CHECK_STR(r.type[0], "text/plain");
    CHECK_INT(r.depth[0], 2);
    CHECK_STR((char *)r.data[0], "Hello\r\n");   /* the CRLF before a boundary is the boundary's */
    CHECK_STR(r.type[1], "text/html");
    CHECK(strstr((char *)r.data[1], "<html xmlns:v=\"urn:schemas-microsoft-com:vml\" xmlns=\"http"));
    CHECK_STR(r.type[2], "text/plain");
    CHECK_STR(r.name[2], "NEWS.txt");
    CHECK(r.att[2]);
    CHECK(!r.att[0]);
    CHECK_INT(r.depth[2], 1);
    CHECK_INT(r.dlen[2], 13);
    CHECK_STR((char *)r.data[2], "Hello, world!");
    CHECK_STR(mm_mime_header(m, MM_MIME_H_FROM), "\"Gurpartap Singh\" <gurpartap@patriots.in>");
    CHECK_STR(mm_mime_header(m, MM_MIME_H_MESSAGE_ID), "<000301ca4581$ef9e57f0$cedb07d0$@in>");
    CHECK_STR(mm_mime_header(m, MM_MIME_H_X_MAILER), "Microsoft Office Outlook 12.0");
    CHECK_STR(mm_mime_subject(m), "SMTP");
    CHECK_STR(mm_mime_content_type(m), "multipart/mixed");
    CHECK_STR(r.anom, "");
    /* URLs of the HTML part, entities decoded */
    CHECK_INT(mm_mime_url_count(m), 2);
    CHECK_STR(mm_mime_url(m, 0), "http://www.w3.org/TR/REC-html40");
    CHECK_STR(mm_mime_url(m, 1), "http://example.com/a?x=1&y=2");
    mm_mime_free(m);
    rec_free(&r);
}

/* Every chunking gives the same parts and bytes. */
static void message_chunking_independent(void) {
    rec a, b;
    mm_mime *m1 = parse(&a, eve_msg, sizeof eve_msg - 1, 0);
    for (size_t step = 1; step < 80; step += 13) {
        mm_mime *m2 = parse(&b, eve_msg, sizeof eve_msg - 1, step);
        CHECK_INT(b.begins, a.begins);
        for (int i = 0; i < a.begins; i++) {
            CHECK_INT(b.dlen[i], a.dlen[i]);
            CHECK(!memcmp(b.data[i], a.data[i], a.dlen[i]));
            CHECK_STR(b.name[i], a.name[i]);
        }
        CHECK_INT(mm_mime_url_count(m2), mm_mime_url_count(m1));
        mm_mime_free(m2);
        rec_free(&b);
    }
    mm_mime_free(m1);
    rec_free(&a);
}

static void message_boundary_rules(void) {
    /* "--abcdef" is not a delimiter of "abc"; trailing blanks are allowed; a part
     * with no body and an inner multipart closed by the outer boundary */
    static const char msg[] =
        "Content-Type: multipart/mixed; boundary=abc\r\n\r\n"
        "--abc  \r\n"
        "\r\n"
        "line one\r\n"
        "--abcdef not a boundary\r\n"
        "--abc\r\n"
        "Content-Type: text/plain\r\n"
        "--abc\r\n"
        "Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
        "--inner\r\n\r\n"
        "inner text\r\n"
        "--abc--\r\n"
        "epilogue --abc\r\n";
    rec r;
    mm_mime *m = parse(&r, msg, sizeof msg - 1, 0);
    CHECK_INT(r.begins, 3);
    CHECK_STR((char *)r.data[0], "line one\r\n--abcdef not a boundary");
    CHECK_INT(r.dlen[1], 0);
    CHECK_STR((char *)r.data[2], "inner text");
    CHECK_INT(r.depth[2], 2);
    CHECK_STR(r.anom, "");
    mm_mime_free(m);
    rec_free(&r);
}

static void message_base64_tolerant(void) {
    /* line breaks anywhere, junk characters, blanks, padding in the middle */
    static const char msg[] =
        "Content-Type: application/octet-stream; name=a.bin\r\n"
        "Content-Transfer-Encoding: BASE64\r\n\r\n"
        "SGVs\r\nbG8g d2\r\n9y*bGQ=SGk=\r\n";
    rec r;
    mm_mime *m = parse(&r, msg, sizeof msg - 1, 1);
    CHECK_INT(r.begins, 1);
    CHECK_STR((char *)r.data[0], "Hello worldHi");
    CHECK(r.att[0]);
    CHECK_STR(r.name[0], "a.bin");
    CHECK(strstr(r.anom, "mime invalid base64"));
    mm_mime_free(m);
    rec_free(&r);
}

static void message_quoted_printable(void) {
    static const char msg[] =
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        "caf=C3=A9 =3D soft=\r\nbreak blank=  \r\nend =ZZ=4\r\n";
    rec r;
    mm_mime *m = parse(&r, msg, sizeof msg - 1, 3);
    CHECK_INT(r.begins, 1);
    CHECK_STR((char *)r.data[0], "café = softbreak blankend =ZZ=4");
    CHECK(strstr(r.anom, "quoted-printable"));
    mm_mime_free(m);
    rec_free(&r);
}

static void message_japanese_names_and_subject(void) {
    static const char msg[] =
        "From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\r\n"
        "Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsJE43b0w+JEckORsoQg==?=\r\n"
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        "--b1\r\n"
        "Content-Type: application/pdf; name=\"=?Shift_JIS?B?kL+LgY+R?=.pdf\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        "JVBERi0xLjQK\r\n"
        "--b1\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Disposition: attachment;\r\n"
        " filename*=UTF-8''%E3%83%86%E3%82%B9%E3%83%88.pdf.exe\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        "TVqQAAMAAAAEAAAA//8AAA==\r\n"
        "--b1--\r\n";
    rec r;
    mm_mime *m = parse(&r, msg, sizeof msg - 1, 7);
    CHECK_STR(mm_mime_subject(m), "日本語の件名です");
    CHECK_INT(r.begins, 2);
    CHECK_STR(r.name[0], "請求書.pdf");
    CHECK(r.att[0]);
    CHECK_STR((char *)r.data[0], "%PDF-1.4\n");
    CHECK_STR(r.name[1], "テスト.pdf.exe");
    CHECK_INT(r.dlen[1], 16);
    CHECK(r.data[1][0] == 'M' && r.data[1][1] == 'Z');
    mm_mime_free(m);
    rec_free(&r);
}

static void message_nested_rfc822(void) {
    /* a forwarded mail (inline message/rfc822) is parsed: its attachment is seen;
     * an attached .eml (Content-Disposition: attachment) stays one opaque file */
    static const char msg[] =
        "Content-Type: multipart/mixed; boundary=o\r\n\r\n"
        "--o\r\n"
        "Content-Type: message/rfc822\r\n\r\n"
        "From: inner@example.com\r\n"
        "Subject: inner\r\n"
        "Content-Type: multipart/mixed; boundary=i\r\n\r\n"
        "--i\r\n"
        "Content-Disposition: attachment; filename=evil.js\r\n\r\n"
        "alert(1)\r\n"
        "--i--\r\n"
        "--o\r\n"
        "Content-Type: message/rfc822\r\n"
        "Content-Disposition: attachment; filename=\"test.msg\"\r\n\r\n"
        "From: <attachment@example.com>\r\n\r\n\r\n"
        "--o--\r\n";
    rec r;
    mm_mime *m = parse(&r, msg, sizeof msg - 1, 0);
    CHECK_INT(r.begins, 2);
    CHECK_STR(r.name[0], "evil.js");
    CHECK_INT(r.depth[0], 3);
    CHECK_STR((char *)r.data[0], "alert(1)");
    CHECK_STR(r.name[1], "test.msg");
    CHECK_STR(r.type[1], "message/rfc822");
    CHECK_STR((char *)r.data[1], "From: <attachment@example.com>\r\n\r\n");
    /* the inner header is not the message's */
    CHECK(mm_mime_header(m, MM_MIME_H_FROM) == NULL);
    CHECK(mm_mime_subject(m) == NULL);
    mm_mime_free(m);
    rec_free(&r);
}

static void message_header_edge_cases(void) {
    /* mbox separator skipped, folded subject with words, X-Mailer beats an earlier
     * User-Agent, first Subject wins, a line that is not a field is skipped, and
     * parameters folded without their blank join the field ending in ';' (the
     * smtp-url-base64 message) */
    static const char msg[] =
        "From someone@example.com Sat Jan  3 01:05:34 1996\r\n"
        "User-Agent: Thunderbird\r\n"
        "Subject: =?UTF-8?Q?part_one?=\r\n"
        "  =?UTF-8?Q?_and_two?=\r\n"
        "X-Mailer: Outlook\r\n"
        "Subject: second\r\n"
        "this line is not a field\r\n"
        "Content-Type: text/plain;\r\n"
        "charset=\"ISO-8859-1\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "Ym9keQ==\r\n";
    rec r;
    mm_mime *m = parse(&r, msg, sizeof msg - 1, 0);
    CHECK_STR(mm_mime_subject(m), "part one and two");
    CHECK_STR(mm_mime_header(m, MM_MIME_H_X_MAILER), "Outlook");
    CHECK_INT(r.begins, 1);
    CHECK_STR(r.charset[0], "iso-8859-1");
    CHECK_STR((char *)r.data[0], "body");
    CHECK(strstr(r.anom, "malformed header line"));
    CHECK_INT(r.fields, 6);
    mm_mime_free(m);
    rec_free(&r);
    /* LF-only line ends work the same */
    static const char lf[] = "Subject: lf\n\nbody\nmore\n";
    m = parse(&r, lf, sizeof lf - 1, 1);
    CHECK_STR(mm_mime_subject(m), "lf");
    CHECK_STR((char *)r.data[0], "body\nmore");
    mm_mime_free(m);
    rec_free(&r);
    /* an empty message */
    m = parse(&r, "", 0, 0);
    CHECK_INT(r.hdr_end, 1);
    CHECK_INT(r.begins, 1);
    CHECK_INT(r.dlen[0], 0);
    mm_mime_free(m);
    rec_free(&r);
}

static const char urls_text[] =
    "Content-Type: text/plain; charset=\"us-ascii\"\r\n\r\n"
    "This is the body of the message. http://google.com is a link. http://test-site.org/blah/123/ "
    "is another one. https://facebook.com is also a link. ftp://172.42.48.124 is also a link.\r\n";

static void urls_as_suricata(void) {
    rec r;
    mm_mime *m = parse(&r, urls_text, sizeof urls_text - 1, 5);
    CHECK_INT(mm_mime_url_count(m), 4);
    CHECK_STR(mm_mime_url(m, 0), "http://google.com");
    CHECK_STR(mm_mime_url(m, 1), "http://test-site.org/blah/123/");
    CHECK_STR(mm_mime_url(m, 2), "https://facebook.com");
    CHECK_STR(mm_mime_url(m, 3), "ftp://172.42.48.124");
    mm_mime_free(m);
    rec_free(&r);

    /* smtp-url-base64: a base64 HTML body; the URL stops at '<' */
    static const char b64[] =
        "Content-Type: text/html;\r\ncharset=\"utf-8\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        "IDxkaXY+IDxkaXY+IDxkaXY+IDxkaXY+PGRpdj5odHRwOi8vY29kYXNob3AtZnJlZTAxLmR1Y2tk\r\n"
        "bnMub3JnLzwvZGl2PjxkaXY+PGJyPjwvZGl2PjxkaXYgaWQ9InNpZ24iPjxkaXYgY2xhc3M9Im0t\r\n"
        "YWNjb3VudCI+NTU1NTU1NTU1NTU1NTU1PC9kaXY+PC9kaXY+PC9kaXY+PC9kaXY+PC9kaXY+PC9k\r\n"
        "aXY+\r\n\r\n";
    m = parse(&r, b64, sizeof b64 - 1, 0);
    CHECK_INT(mm_mime_url_count(m), 1);
    CHECK_STR(mm_mime_url(m, 0), "http://codashop-free01.duckdns.org/");
    mm_mime_free(m);
    rec_free(&r);
}

static void urls_forms_dedupe_and_cap(void) {
    static const char msg[] =
        "Content-Type: text/html\r\n\r\n"
        "<a href='HTTPS://Example.COM/Path?a=1&amp;b=&#50;'>see www.example.org/x.</a>\r\n"
        "<img src=\"http://cdn.example.net/i.png\"> (http://paren.example/) awww.no.example\r\n"
        "url(http://css.example/bg.png) http://cdn.example.net/i.png http:// www.\r\n"
        "<a href=\"/relative\">r</a> mailto:x@y.z\r\n";
    rec r;
    mm_mime *m = parse(&r, msg, sizeof msg - 1, 0);
    CHECK_INT(mm_mime_url_count(m), 5);
    CHECK_STR(mm_mime_url(m, 0), "HTTPS://Example.COM/Path?a=1&b=2");
    CHECK_STR(mm_mime_url(m, 1), "www.example.org/x");
    CHECK_STR(mm_mime_url(m, 2), "http://cdn.example.net/i.png");
    CHECK_STR(mm_mime_url(m, 3), "http://paren.example/");
    CHECK_STR(mm_mime_url(m, 4), "http://css.example/bg.png");
    mm_mime_free(m);
    rec_free(&r);

    /* attachments that are not text are not scanned */
    static const char bin[] = "Content-Type: application/octet-stream\r\n\r\nhttp://no.example/\r\n";
    m = parse(&r, bin, sizeof bin - 1, 0);
    CHECK_INT(mm_mime_url_count(m), 0);
    mm_mime_free(m);
    rec_free(&r);

    /* at most 100 per message, counted */
    char big[16384];
    size_t n = (size_t)snprintf(big, sizeof big, "Subject: many\r\n\r\n");
    for (int i = 0; i < 150; i++) n += (size_t)snprintf(big + n, sizeof big - n, "http://h%d.example/ ", i);
    m = parse(&r, big, n, 0);
    CHECK_INT(mm_mime_url_count(m), MM_MIME_URLS_MAX);
    CHECK_STR(mm_mime_url(m, 99), "http://h99.example/");
    CHECK(strstr(r.anom, "over 100 urls"));
    mm_mime_free(m);
    rec_free(&r);

    /* a URL longer than the cap is cut and counted */
    static char lng[6000];
    n = (size_t)snprintf(lng, sizeof lng, "\r\nhttp://long.example/");
    while (n < 5000) lng[n++] = 'a';
    lng[n] = 0;
    m = parse(&r, lng, n, 0);
    CHECK_INT(mm_mime_url_count(m), 1);
    CHECK_INT(strlen(mm_mime_url(m, 0)), MM_MIME_URL_MAX);
    CHECK(strstr(r.anom, "url over 2 KiB"));
    mm_mime_free(m);
    rec_free(&r);
}

static void body_mode_for_http(void) {
    static const char ct[] = "multipart/form-data; boundary=----WebKitFormBoundaryX";
    static const char body[] =
        "------WebKitFormBoundaryX\r\n"
        "Content-Disposition: form-data; name=\"field\"\r\n\r\n"
        "value\r\n"
        "------WebKitFormBoundaryX\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"shell.php\"\r\n"
        "Content-Type: application/x-php\r\n\r\n"
        "<?php system($_GET['c']); ?>\r\n"
        "------WebKitFormBoundaryX--\r\n";
    rec r;
    memset(&r, 0, sizeof r);
    mm_mime *m = mm_mime_new_body(&cbs, &r, ct, sizeof ct - 1, NULL, 0);
    mm_mime_feed(m, body, sizeof body - 1);
    mm_mime_end(m);
    CHECK_INT(r.hdr_end, 0);
    CHECK_INT(r.begins, 2);
    CHECK(!r.att[0]);
    CHECK_STR((char *)r.data[0], "value");
    CHECK(r.att[1]);
    CHECK_STR(r.name[1], "shell.php");
    CHECK_STR(r.type[1], "application/x-php");
    CHECK_STR((char *)r.data[1], "<?php system($_GET['c']); ?>");
    mm_mime_free(m);
    rec_free(&r);
    /* a single base64 body */
    m = mm_mime_new_body(&cbs, &r, "application/zip", 15, "base64", 6);
    mm_mime_feed(m, "UEsDBA==", 8);
    mm_mime_end(m);
    CHECK_INT(r.begins, 1);
    CHECK_INT(r.dlen[0], 4);
    CHECK(!memcmp(r.data[0], "PK\3\4", 4));
    mm_mime_free(m);
    rec_free(&r);
}

static void gap_resumes_at_next_line(void) {
    static const char a[] =
        "Content-Type: multipart/mixed; boundary=g\r\n\r\n"
        "--g\r\nContent-Disposition: attachment; filename=x.bin\r\n\r\nAAAA";
    static const char b[] = "lost tail of a line\r\nBBBB\r\n--g\r\n\r\nnext\r\n--g--\r\n";
    rec r;
    memset(&r, 0, sizeof r);
    mm_mime *m = mm_mime_new(&cbs, &r);
    mm_mime_feed(m, a, sizeof a - 1);
    mm_mime_gap(m, 100);
    mm_mime_feed(m, b, sizeof b - 1);
    mm_mime_end(m);
    CHECK_INT(r.gaps, 1);
    CHECK_INT(r.begins, 2);
    CHECK_STR((char *)r.data[0], "BBBB");   /* the partial line before the gap is dropped */
    CHECK_STR((char *)r.data[1], "next");
    mm_mime_free(m);
    rec_free(&r);
}

/* ---- bombs ---- */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void bomb_deep_nesting_bounded(void) {
    /* 5000 nested multiparts, each opening the next: parsing stops nesting at the
     * cap, the rest is one opaque part; the innermost "payload" is not a part */
    size_t cap = 5000 * 80 + 1024;
    char *msg = malloc(cap);
    size_t n = (size_t)snprintf(msg, cap, "Content-Type: multipart/mixed; boundary=b0\r\n\r\n");
    for (int i = 1; i < 5000; i++)
        n += (size_t)snprintf(msg + n, cap - n, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i - 1, i);
    n += (size_t)snprintf(msg + n, cap - n, "--b4999\r\n\r\npayload\r\n");
    rec r;
    double t0 = now_s();
    mm_mime *m = parse(&r, msg, n, 0);
    double t1 = now_s();
    CHECK(strstr(r.anom, "nesting over 20"));
    CHECK(strstr(r.anom, "not closed"));
    CHECK_INT(r.begins, 1);
    CHECK_INT(r.depth[0], 20);
    CHECK_STR(r.type[0], "multipart/mixed");
    CHECK(t1 - t0 < 2.0);
    mm_mime_free(m);
    rec_free(&r);
    /* the same with message/rfc822 nesting */
    n = 0;
    for (int i = 0; i < 5000; i++) n += (size_t)snprintf(msg + n, cap - n, "Content-Type: message/rfc822\r\n\r\n");
    n += (size_t)snprintf(msg + n, cap - n, "Subject: deep\r\n\r\nbody\r\n");
    m = parse(&r, msg, n, 0);
    CHECK(strstr(r.anom, "nesting over 20"));
    CHECK_INT(r.begins, 1);
    CHECK_INT(r.depth[0], 20);
    mm_mime_free(m);
    rec_free(&r);
    free(msg);
}

static void bomb_huge_header_and_many_fields(void) {
    size_t n = (1u << 20) + 4096;
    char *msg = malloc(n + 64);
    size_t o = (size_t)snprintf(msg, n, "Subject: ");
    while (o < (1u << 20)) msg[o++] = 'A';
    o += (size_t)snprintf(msg + o, n + 64 - o, "\r\nFrom: a@b.c\r\n\r\nbody\r\n");
    rec r;
    double t0 = now_s();
    mm_mime *m = parse(&r, msg, o, 4096);
    CHECK(now_s() - t0 < 2.0);
    CHECK(strstr(r.anom, "header field over 64 KiB cut"));
    CHECK(strlen(mm_mime_subject(m)) < 4096);
    CHECK_STR(mm_mime_header(m, MM_MIME_H_FROM), "a@b.c");
    CHECK_STR((char *)r.data[0], "body");
    mm_mime_free(m);
    rec_free(&r);
    /* 300 fields: those past 200 are dropped (the Content-Type among them) */
    o = 0;
    for (int i = 0; i < 300; i++) o += (size_t)snprintf(msg + o, n - o, "X-F%d: v\r\n", i);
    o += (size_t)snprintf(msg + o, n - o, "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\nx\r\n");
    m = parse(&r, msg, o, 0);
    CHECK(strstr(r.anom, "over 200 fields"));
    CHECK_INT(r.fields, 200);
    CHECK_STR(r.type[0], "text/plain");
    mm_mime_free(m);
    rec_free(&r);
    /* an over-long boundary makes the multipart opaque */
    o = (size_t)snprintf(msg, n, "Content-Type: multipart/mixed; boundary=\"");
    for (int i = 0; i < 300; i++) msg[o++] = 'q';
    o += (size_t)snprintf(msg + o, n - o, "\"\r\n\r\n--x\r\n");
    m = parse(&r, msg, o, 0);
    CHECK(strstr(r.anom, "boundary over 200"));
    CHECK_INT(r.begins, 1);
    mm_mime_free(m);
    rec_free(&r);
    free(msg);
}

static void bomb_many_parts(void) {
    size_t cap = 30000 * 8 + 256;
    char *msg = malloc(cap);
    size_t n = (size_t)snprintf(msg, cap, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
    for (int i = 0; i < 30000; i++) n += (size_t)snprintf(msg + n, cap - n, "--p\r\n\r\n");
    n += (size_t)snprintf(msg + n, cap - n, "--p--\r\n");
    rec r;
    mm_mime *m = parse(&r, msg, n, 0);
    CHECK_INT(r.begins, 10000);
    CHECK_INT(r.ends, 10000);
    CHECK_INT(mm_mime_parts(m), 30000);
    CHECK(strstr(r.anom, "over 10000 parts"));
    mm_mime_free(m);
    rec_free(&r);
    free(msg);
}

/* A long body line (no LF for 3 MiB) passes through in pieces. */
static void long_lines_stream_through(void) {
    size_t n = 3u << 20;
    char *msg = malloc(n + 64);
    size_t o = (size_t)snprintf(msg, 64, "\r\n");
    memset(msg + o, 'x', n);
    o += n;
    rec r;
    mm_mime *m = parse(&r, msg, o, 65536);
    CHECK_INT(r.dlen[0], n);
    mm_mime_free(m);
    rec_free(&r);
    free(msg);
    /* a CR at a piece end is not lost or doubled */
    char line[3000];
    memset(line, 'y', sizeof line);
    line[1023] = '\r';
    line[2998] = '\r';
    line[2999] = '\n';
    memset(&r, 0, sizeof r);
    m = mm_mime_new(&cbs, &r);
    mm_mime_feed(m, "\r\n", 2);
    mm_mime_feed(m, line, sizeof line);
    mm_mime_feed(m, "z", 1);
    mm_mime_end(m);
    CHECK_INT(r.dlen[0], 2998 + 2 + 1);
    CHECK(r.data[0][1023] == '\r');
    CHECK(r.data[0][1024] == 'y');
    mm_mime_free(m);
    rec_free(&r);
}

int main(void) {
    TEST(words_iso2022jp_subject_is_test);
    TEST(words_shift_jis_euc_jp_latin);
    TEST(words_adjacent_joined_and_split_characters);
    TEST(words_invalid_kept_as_escapes);
    TEST(words_output_is_bounded);
    TEST(to_utf8_charsets);
    TEST(params_rfc2231_and_quoting);
    TEST(addresses_of_lists);
    TEST(message_nested_multipart);
    TEST(message_chunking_independent);
    TEST(message_boundary_rules);
    TEST(message_base64_tolerant);
    TEST(message_quoted_printable);
    TEST(message_japanese_names_and_subject);
    TEST(message_nested_rfc822);
    TEST(message_header_edge_cases);
    TEST(urls_as_suricata);
    TEST(urls_forms_dedupe_and_cap);
    TEST(body_mode_for_http);
    TEST(gap_resumes_at_next_line);
    TEST(bomb_deep_nesting_bounded);
    TEST(bomb_huge_header_and_many_fields);
    TEST(bomb_many_parts);
    TEST(long_lines_stream_through);
    TEST_MAIN_END();
}
