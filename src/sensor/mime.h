/* mime: a streaming (push) parser of RFC 5322 / MIME messages, for the SMTP
 * analyzer (DATA/BDAT bodies) and the HTTP analyzer (multipart bodies).
 *
 * Bytes go in as they arrive, in chunks of any size; the parser calls back with the
 * message header (once complete), then for every leaf part: begin (type, filename,
 * attachment or not), the decoded bytes (base64 and quoted-printable undone), end.
 * Multipart containers are not reported as parts; message/rfc822 parts that are not
 * attachments are parsed as nested messages.  URLs found in text/plain and
 * text/html parts are collected for the message (deduplicated, capped).
 *
 * Everything is bounded: one header field (64 KiB), fields per header block (200),
 * nesting depth (20: deeper containers become opaque leaf parts), parts per message,
 * URLs.  What a cap cuts is reported through the anomaly callback, once per kind
 * and message.  Header text is turned into UTF-8 (RFC 2047 encoded words, RFC 2231
 * parameters, charsets through glibc iconv); bytes that do not convert are kept as
 * "\xHH" escapes. */
#ifndef MM_SENSOR_MIME_H
#define MM_SENSOR_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mm_mime mm_mime;

/* Top-level header fields the parser keeps (first occurrence, unfolded, raw). */
enum {
    MM_MIME_H_FROM,
    MM_MIME_H_TO,
    MM_MIME_H_CC,
    MM_MIME_H_SUBJECT,
    MM_MIME_H_MESSAGE_ID,
    MM_MIME_H_X_MAILER,      /* X-Mailer, else User-Agent */
    MM_MIME_H_CONTENT_TYPE,
    MM_MIME_H_REPLY_TO,
    MM_MIME_H_DATE,
    MM_MIME_NHDR
};

enum { MM_MIME_ENC_IDENTITY = 0, MM_MIME_ENC_BASE64, MM_MIME_ENC_QP };

/* A leaf part, valid during the callbacks that receive it. */
typedef struct mm_mime_part {
    unsigned index;          /* 1, 2, ... in message order */
    int depth;               /* 0: the message itself is the part */
    char type[96];           /* lower-case "type/subtype"; "text/plain" by default */
    char charset[48];        /* lower-case, "" if none */
    char filename[512];      /* UTF-8 (RFC 2231/2047 decoded), "" if none */
    size_t filename_len;
    bool attachment;         /* Content-Disposition attachment, or any filename */
    bool text;               /* text/plain or text/html: URLs are looked for */
    int encoding;            /* MM_MIME_ENC_* */
    uint64_t size;           /* decoded bytes delivered so far */
} mm_mime_part;

typedef struct mm_mime_cbs {
    /* Every header field of every header block (depth 0 = the message), unfolded,
     * value trimmed; fields over the per-block count cap are not reported. */
    void (*field)(void *ctx, int depth, const char *name, size_t nn, const char *val, size_t vn);
    /* The top-level header is complete: mm_mime_header()/mm_mime_subject() are set. */
    void (*header_end)(void *ctx, mm_mime *m);
    void (*part_begin)(void *ctx, const mm_mime_part *p);
    void (*part_data)(void *ctx, const mm_mime_part *p, const uint8_t *d, size_t n);
    void (*part_gap)(void *ctx, const mm_mime_part *p, size_t n);   /* bytes lost */
    void (*part_end)(void *ctx, const mm_mime_part *p);
    /* A cap bit or the input was malformed; why is a static string. */
    void (*anomaly)(void *ctx, const char *why);
} mm_mime_cbs;

/* A parser for a whole message (header first).  cbs is copied; any callback may be
 * NULL.  Returns NULL when out of memory. */
mm_mime *mm_mime_new(const mm_mime_cbs *cbs, void *ctx);
/* A parser for a body whose header travelled elsewhere (HTTP): starts in the body
 * with this Content-Type and Content-Transfer-Encoding value (either may be NULL). */
mm_mime *mm_mime_new_body(const mm_mime_cbs *cbs, void *ctx, const char *ctype, size_t ctn,
                          const char *cte, size_t cten);
void mm_mime_feed(mm_mime *m, const void *p, size_t n);
/* n bytes of the input were lost: the open part is told, parsing resumes at the next
 * line. */
void mm_mime_gap(mm_mime *m, size_t n);
/* End of the message: open parts end (part_end).  Further input is ignored. */
void mm_mime_end(mm_mime *m);
void mm_mime_free(mm_mime *m);

/* Raw value of a top-level header field (NUL-terminated, owned by m), or NULL. */
const char *mm_mime_header(const mm_mime *m, int which);
/* Subject in UTF-8 (encoded words decoded), or NULL when there is none. */
const char *mm_mime_subject(const mm_mime *m);
/* Top-level content type, lower-case "type/subtype", or NULL. */
const char *mm_mime_content_type(const mm_mime *m);
/* URLs in the order found (at most MM_MIME_URLS_MAX, each at most MM_MIME_URL_MAX). */
#define MM_MIME_URLS_MAX 100
#define MM_MIME_URL_MAX 2048
size_t mm_mime_url_count(const mm_mime *m);
const char *mm_mime_url(const mm_mime *m, size_t i);
unsigned mm_mime_parts(const mm_mime *m);   /* leaf parts seen */

/* ---- header-value helpers (also for HTTP) ---- */

/* RFC 2047 encoded words to UTF-8 (whitespace between adjacent words dropped, a
 * character split across words joined).  Writes at most cap-1 bytes plus a NUL;
 * returns the length written. */
size_t mm_mime_decode_words(const char *in, size_t n, char *out, size_t cap);
/* Bytes in charset to UTF-8 (unknown charsets: taken as UTF-8); invalid input
 * becomes "\xHH".  Same output contract as above. */
size_t mm_mime_to_utf8(const char *charset, const void *in, size_t n, char *out, size_t cap);
/* Parameter `name` of a structured header value (Content-Type, Content-Disposition):
 * quoted strings, RFC 2231 continuations and charsets, RFC 2047 words inside, to
 * UTF-8.  Returns the length written, or -1 when the parameter is absent. */
long mm_mime_param(const char *val, size_t n, const char *name, char *out, size_t cap);
/* Tolerant base64: bytes outside the alphabet are skipped; with stop_at_pad the
 * first '=' ends the input (an RFC 2047 "B" word), else '=' is skipped too (an SMTP
 * AUTH line).  Writes whole groups only while they fit in cap and a short tail
 * group when it fits.  Returns the length written, or -1 when the input holds no
 * base64 at all. */
long mm_mime_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, bool stop_at_pad);
/* The "type/subtype" (or disposition type) of a header value, lower-case. */
size_t mm_mime_value_token(const char *val, size_t n, char *out, size_t cap);
/* Each address of an address list ("Name" <a@b>, c@d (comment), group: e@f;):
 * calls cb with the bare address.  Returns how many. */
int mm_mime_addresses(const char *val, size_t n, void (*cb)(void *ctx, const char *a, size_t an),
                      void *ctx);

#endif
