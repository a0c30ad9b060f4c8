/* evtx: one Windows event rendered as XML, as libevtx renders the records of an
 * .evtx file (input/evtx.c) and as Windows Event Forwarding and NXLog's to_xml()
 * send it:
 *
 *   <Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
 *     <System><Provider Name="..." Guid="{...}"/><EventID>4624</EventID>...
 *       <TimeCreated SystemTime="2024-05-01T10:00:00.1234567Z"/>...</System>
 *     <EventData><Data Name="TargetUserName">bob</Data>...</EventData>
 *     (or <UserData><LogFileCleared xmlns="..."><SubjectUserName>...</...></UserData>)
 *     (WEF RenderedText adds <RenderingInfo><Message>..</Message>...)
 *   </Event>
 *
 * This is not a general XML parser: it reads this one shape with a small scanner
 * that never leaves the record — elements, attributes, text, the five named
 * entities and &#NN; / &#xNN; references, comments, processing instructions and
 * CDATA.  There is no recursion: open elements are a fixed stack of MAX_DEPTH
 * frames, and a deeper record is malformed.  Text values stay slices of the record
 * unless they hold a reference or CDATA (then they are decoded into the arena).
 *
 * <Data> without a Name are kept as Data1, Data2...; UserData is flattened to its
 * leaf elements by element name, the element under UserData kept as xml_name (as
 * Winlogbeat does).  Everything else — the Winlogbeat names, the ECS mapping — is
 * winlog_ecs.c, shared with the JSON decoder.
 *
 * Damage: a record that is not an <Event> or has no EventID is a pipeline_error.
 * A record that breaks (bad markup, a cut record, the garbage element names libevtx
 * renders for some records recovered from free space) after a usable System part
 * is decoded as far as it parsed and counted (winlog_partial): for an analyst the
 * event with its EventID, time and host is worth more than a raw error. */
#include "winlog_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 16

/* ------------------------------------------------------------------ scanner */

enum { T_EOF, T_START, T_END, T_ERR };

typedef struct tok {
    int type;
    mm_str name;            /* local name (namespace prefix dropped) */
    const char *attrs;      /* T_START: the attribute text (validated) */
    const char *attrs_end;
    bool empty;             /* <x/> */
    const char *at;         /* where the token starts */
    const char *err;        /* T_ERR: why */
} tok;

typedef struct scan {
    const char *p, *end;
} scan;

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static const char *find(const char *p, const char *end, const char *lit) {
    size_t n = strlen(lit);
    while ((size_t)(end - p) >= n) {
        const char *q = memchr(p, lit[0], (size_t)(end - p) - n + 1);
        if (!q) return NULL;
        if (memcmp(q, lit, n) == 0) return q;
        p = q + 1;
    }
    return NULL;
}

static bool starts(const char *p, const char *end, const char *lit) {
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* Comments, processing instructions, CDATA and declarations: skipped over (leaf
 * text is read from the raw content later).  p is at '<'.  NULL: unterminated. */
static const char *skip_markup(const char *p, const char *end) {
    const char *q;
    if (starts(p, end, "<!--")) return (q = find(p + 4, end, "-->")) ? q + 3 : NULL;
    if (starts(p, end, "<![CDATA[")) return (q = find(p + 9, end, "]]>")) ? q + 3 : NULL;
    if (starts(p, end, "<?")) return (q = find(p + 2, end, "?>")) ? q + 2 : NULL;
    q = memchr(p, '>', (size_t)(end - p)); /* <!DOCTYPE ...> */
    return q ? q + 1 : NULL;
}

static bool name_char(char c) {
    return !is_ws(c) && c != '/' && c != '>' && c != '<' && c != '=' && c != '"' && c != '\'';
}

static mm_str local_name(const char *s, const char *e) {
    for (const char *q = s; q < e; q++)
        if (*q == ':' && q + 1 < e) s = q + 1;
    return (mm_str){s, (uint32_t)(e - s)};
}

static tok tok_err(const char *at, const char *why) {
    tok t;
    memset(&t, 0, sizeof t);
    t.type = T_ERR;
    t.at = at;
    t.err = why;
    return t;
}

/* After the name of a start tag: attributes up to '>' or '/>'. */
static tok start_tag(scan *s, const char *lt, const char *p) {
    tok t;
    memset(&t, 0, sizeof t);
    t.type = T_START;
    t.at = lt;
    t.attrs = p;
    const char *end = s->end;
    for (;;) {
        while (p < end && is_ws(*p)) p++;
        if (p >= end) return tok_err(lt, "cut inside a tag");
        if (*p == '>' || *p == '/') {
            t.attrs_end = p;
            if (*p == '/') {
                if (p + 1 >= end || p[1] != '>') return tok_err(p, "'/' not followed by '>'");
                t.empty = true;
                p++;
            }
            s->p = p + 1;
            return t;
        }
        const char *an = p;
        while (p < end && name_char(*p)) p++;
        if (p == an) return tok_err(p, "bad attribute");
        while (p < end && is_ws(*p)) p++;
        if (p >= end || *p != '=') return tok_err(p, "attribute without '='");
        p++;
        while (p < end && is_ws(*p)) p++;
        if (p >= end || (*p != '"' && *p != '\'')) return tok_err(p, "attribute value not quoted");
        const char *q = memchr(p + 1, *p, (size_t)(end - p - 1));
        if (!q) return tok_err(p, "unterminated attribute value");
        p = q + 1;
    }
}

static tok next(scan *s) {
    const char *end = s->end;
    for (;;) {
        const char *lt = s->p < end ? memchr(s->p, '<', (size_t)(end - s->p)) : NULL;
        if (!lt) {
            s->p = end;
            tok t;
            memset(&t, 0, sizeof t);
            t.type = T_EOF;
            t.at = end;
            return t;
        }
        const char *p = lt + 1;
        if (p < end && (*p == '!' || *p == '?')) {
            const char *q = skip_markup(lt, end);
            if (!q) return tok_err(lt, "unterminated comment, CDATA or declaration");
            s->p = q;
            continue;
        }
        bool closing = p < end && *p == '/';
        if (closing) p++;
        const char *ns = p;
        while (p < end && name_char(*p)) p++;
        if (p == ns) return tok_err(lt, p >= end ? "cut inside a tag" : "bad element name");
        mm_str name = local_name(ns, p);
        if (!closing) {
            tok t = start_tag(s, lt, p);
            t.name = name;
            return t;
        }
        while (p < end && is_ws(*p)) p++;
        if (p >= end || *p != '>') return tok_err(lt, "bad end tag");
        s->p = p + 1;
        tok t;
        memset(&t, 0, sizeof t);
        t.type = T_END;
        t.name = name;
        t.at = lt;
        return t;
    }
}

/* ------------------------------------------------------------------ text */

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* An entity at p ('&').  Writes its character(s) to o and returns the bytes
 * consumed, or 0 when it is not one we know (the '&' is then kept as text).
 * The output is never longer than the reference (&#x10000; is 9 bytes for 4). */
static size_t entity(const char *p, const char *end, char *o, size_t *olen) {
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < MM_ARRAY_LEN(named); i++)
        if (starts(p, end, named[i].name)) {
            o[0] = named[i].c;
            *olen = 1;
            return strlen(named[i].name);
        }
    if (!starts(p, end, "&#")) return 0;
    const char *q = p + 2;
    bool hex = q < end && (*q == 'x' || *q == 'X');
    if (hex) q++;
    uint32_t cp = 0;
    int nd = 0;
    for (; q < end && *q != ';' && nd < 8; q++, nd++) {
        char c = *q;
        int d = c >= '0' && c <= '9' ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
        if (d < 0) return 0;
        cp = cp * (hex ? 16 : 10) + (uint32_t)d;
    }
    if (nd == 0 || q >= end || *q != ';') return 0;
    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    *olen = put_utf8(o, cp);
    return (size_t)(q + 1 - p);
}

/* The text of a leaf element or attribute value, raw [p, end): references and
 * CDATA decoded, comments and processing instructions dropped. */
static mm_str xml_text(mm_arena *a, const char *p, const char *end) {
    size_t n = (size_t)(end - p);
    if (!memchr(p, '&', n) && !memchr(p, '<', n)) return (mm_str){p, (uint32_t)n};
    char *o = mm_arena_alloc(a, n ? n : 1);
    size_t k = 0;
    while (p < end) {
        if (*p == '&') {
            size_t ol = 0, used = entity(p, end, o + k, &ol);
            if (used) {
                k += ol;
                p += used;
                continue;
            }
        } else if (*p == '<' && starts(p, end, "<![CDATA[")) {
            const char *q = find(p + 9, end, "]]>");
            const char *stop = q ? q : end;
            memcpy(o + k, p + 9, (size_t)(stop - p - 9));
            k += (size_t)(stop - p - 9);
            p = q ? q + 3 : end;
            continue;
        } else if (*p == '<' && (starts(p, end, "<!--") || starts(p, end, "<?"))) {
            const char *q = skip_markup(p, end);
            p = q ? q : end;
            continue;
        }
        o[k++] = *p++;
    }
    return (mm_str){o, (uint32_t)k};
}

/* Attribute `name` of a start tag, decoded; {NULL,0} when absent. */
static mm_str attr(mm_arena *a, const tok *t, const char *name) {
    size_t nl = strlen(name);
    const char *p = t->attrs, *end = t->attrs_end;
    while (p < end) {
        while (p < end && is_ws(*p)) p++;
        const char *an = p;
        while (p < end && name_char(*p)) p++;
        mm_str n = local_name(an, p);
        while (p < end && *p != '"' && *p != '\'') p++;
        if (p >= end) break;
        const char *q = memchr(p + 1, *p, (size_t)(end - p - 1));
        if (!q) break; /* cannot happen: start_tag validated the quotes */
        if (n.len == nl && memcmp(n.p, name, nl) == 0) return xml_text(a, p + 1, q);
        p = q + 1;
    }
    return (mm_str){NULL, 0};
}

/* ------------------------------------------------------------------ the event */

enum { SECT_NONE, SECT_SYSTEM, SECT_EVENTDATA, SECT_USERDATA, SECT_RENDER };

typedef struct frame {
    mm_str name;
    int sect;
    const char *content;    /* first byte after the start tag */
    bool child;             /* has child elements: not a leaf */
    mm_str data_name;       /* <Data Name="..."> */
} frame;

typedef struct xev {
    mm_winevt w;
    mm_arena *a;
    frame st[MAX_DEPTH];
    int depth;
    bool user_data_named;
} xev;

static bool is(mm_str s, const char *lit) { return mm_str_eqc(s, lit); }

static const struct {
    const char *name;
    mm_winsys ws;
} sys_text[] = {
    {"EventID", WS_EVENT_ID}, {"Version", WS_VERSION}, {"Level", WS_LEVEL}, {"Task", WS_TASK},
    {"Opcode", WS_OPCODE}, {"Keywords", WS_KEYWORDS}, {"EventRecordID", WS_RECORD_ID},
    {"Channel", WS_CHANNEL}, {"Computer", WS_COMPUTER},
};

static const struct {
    const char *name;
    mm_winsys ws;
} render_text[] = {
    {"Message", WS_MESSAGE}, {"Level", WS_LEVEL_TEXT}, {"Task", WS_TASK_TEXT},
    {"Opcode", WS_OPCODE_TEXT},
};

/* System values held in attributes. */
static void system_attrs(xev *x, const tok *t) {
    mm_str *sys = x->w.sys;
    if (is(t->name, "Provider")) {
        sys[WS_PROVIDER] = attr(x->a, t, "Name");
        sys[WS_PROVIDER_GUID] = attr(x->a, t, "Guid");
    } else if (is(t->name, "TimeCreated")) {
        sys[WS_TIME] = attr(x->a, t, "SystemTime");
    } else if (is(t->name, "Correlation")) {
        sys[WS_ACTIVITY_ID] = attr(x->a, t, "ActivityID");
        sys[WS_RELATED_ACTIVITY_ID] = attr(x->a, t, "RelatedActivityID");
    } else if (is(t->name, "Execution")) {
        sys[WS_PID] = attr(x->a, t, "ProcessID");
        sys[WS_TID] = attr(x->a, t, "ThreadID");
    } else if (is(t->name, "Security")) {
        sys[WS_USER_ID] = attr(x->a, t, "UserID");
    }
}

static int section(mm_str name) {
    if (is(name, "System")) return SECT_SYSTEM;
    if (is(name, "EventData")) return SECT_EVENTDATA;
    if (is(name, "UserData")) return SECT_USERDATA;
    if (is(name, "RenderingInfo")) return SECT_RENDER;
    return SECT_NONE;
}

static void on_start(xev *x, const tok *t, frame *f) {
    int d = x->depth; /* depth of f: 1 = a child of <Event> */
    if (d == 1) f->sect = section(t->name);
    if (f->sect == SECT_SYSTEM && d == 2) system_attrs(x, t);
    if (f->sect == SECT_EVENTDATA && d == 2 && is(t->name, "Data")) f->data_name = attr(x->a, t, "Name");
    if (f->sect == SECT_USERDATA && d == 2 && !x->user_data_named) {
        x->user_data_named = true;
        mm_winevt_data(&x->w, MM_STR("xml_name"), t->name);
    }
}

/* A leaf element ended: its text is content [f->content, end). */
static void on_leaf(xev *x, const frame *f, int d, const char *end) {
    mm_str text = xml_text(x->a, f->content, end);
    switch (f->sect) {
    case SECT_SYSTEM:
        if (d != 2) return;
        for (size_t i = 0; i < MM_ARRAY_LEN(sys_text); i++)
            if (is(f->name, sys_text[i].name)) x->w.sys[sys_text[i].ws] = text;
        return;
    case SECT_EVENTDATA:
        if (d == 2 && is(f->name, "Data")) {
            if (f->data_name.len) mm_winevt_data(&x->w, f->data_name, text);
            else mm_winevt_data_unnamed(&x->w, text);
        } else if (d >= 2) {
            mm_winevt_data(&x->w, f->name, text); /* <Binary>, nested odd shapes */
        }
        return;
    case SECT_USERDATA:
        if (d >= 2) mm_winevt_data(&x->w, f->name, text);
        return;
    case SECT_RENDER:
        if (d == 2)
            for (size_t i = 0; i < MM_ARRAY_LEN(render_text); i++)
                if (is(f->name, render_text[i].name)) x->w.sys[render_text[i].ws] = text;
        if (d == 3 && is(f->name, "Keyword") && is(x->st[2].name, "Keywords")) mm_winevt_keyword(&x->w, text);
        return;
    default:
        return;
    }
}

/* Walk the record.  Returns NULL when it parsed to </Event>, else why it stopped
 * (*at: where). */
static const char *walk(xev *x, mm_str rec, const char **at) {
    scan s = {rec.p, rec.p + rec.len};
    /* a UTF-8 BOM, the <?xml?> declaration and white space are skipped by next() */
    if (starts(s.p, s.end, "\xef\xbb\xbf")) s.p += 3;
    for (;;) {
        tok t = next(&s);
        *at = t.at;
        if (t.type == T_ERR) return t.err;
        if (t.type == T_EOF) return x->depth ? "cut before </Event>" : "no element";
        if (t.type == T_START) {
            if (x->depth == 0 && !is(t.name, "Event")) return "not an <Event>";
            if (x->depth >= MAX_DEPTH) return "nested too deep";
            frame *f = &x->st[x->depth];
            memset(f, 0, sizeof *f);
            f->name = t.name;
            f->content = s.p;
            f->sect = x->depth > 1 ? x->st[x->depth - 1].sect : SECT_NONE;
            if (x->depth > 0) x->st[x->depth - 1].child = true;
            on_start(x, &t, f);
            if (!t.empty) {
                x->depth++;
                continue;
            }
            if (x->depth == 0) return NULL; /* <Event/> */
            on_leaf(x, f, x->depth, f->content);
            continue;
        }
        /* T_END */
        if (x->depth == 0 || !mm_str_eq(t.name, x->st[x->depth - 1].name)) return "mismatched end tag";
        x->depth--;
        frame *f = &x->st[x->depth];
        if (!f->child && x->depth > 0) on_leaf(x, f, x->depth, t.at);
        if (x->depth == 0) return NULL;
    }
}

static int evtx_decode(mm_event *ev, mm_str msg, const mm_decode_opts *o) {
    xev x;
    memset(&x.st, 0, sizeof x.st);
    x.depth = 0;
    x.user_data_named = false;
    x.a = ev->arena;
    mm_winevt_init(&x.w, ev, o);
    const char *at = msg.p;
    const char *why = walk(&x, msg, &at);
    if (why && x.w.sys[WS_EVENT_ID].p && x.depth > 0 && strcmp(why, "not an <Event>") != 0) {
        /* broken after a usable System part: keep what parsed (see the top) */
        mm_count(MM_C_WINLOG_PARTIAL, 1);
        why = NULL;
    }
    if (why) {
        char buf[160];
        snprintf(buf, sizeof buf, "not a Windows event (XML): %s at byte %ld", why,
                 (long)(at && at >= msg.p ? at - msg.p : 0));
        ev->nvendor = 0;
        mm_event_fail(ev, buf);
        return MM_EINVAL;
    }
    int rc = mm_winevt_finish(&x.w);
    if (rc < 0) ev->nvendor = 0;
    return rc;
}

const mm_decoder mm_decoder_evtx = {
    .name = "evtx",
    .vendor_prefix = "winlog.event_data",
    .decode = evtx_decode,
    .entity = mm_winevt_entity,
};
