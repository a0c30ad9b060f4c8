/* The search language (see core.h): parsed once into a small tree, evaluated per
 * event through mm_event_lookup, so it works on every field a decoder produces. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { Q_AND, Q_OR, Q_NOT, Q_TERM, Q_TEXT } qtype;
typedef enum { OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE, OP_CONTAINS } qop;

typedef struct qnode {
    qtype type;
    struct qnode *a, *b;
    char *field;
    qop op;
    char *value;
    size_t vlen;
    bool wild;
    bool is_num;
    int64_t num;
    bool is_cidr;
    bool ip_field;
    mm_cidr cidr;
    char *canon;         /* canonical IP text for prefilters */
} qnode;

struct mm_query {
    qnode *root;
};

typedef struct lexer {
    const char *s;
    size_t i, n;
    mm_err *err;
    int depth;
    int terms;
} lexer;

/* Evaluation recurses over the tree: bound its size so a query from the network
 * (the web API, later) cannot exhaust the stack. */
#define MAX_QUERY_LEN (64 * 1024)
#define MAX_QUERY_TERMS 256

static void skip_ws(lexer *l) {
    while (l->i < l->n && (l->s[l->i] == ' ' || l->s[l->i] == '\t' || l->s[l->i] == '\n')) l->i++;
}

static void node_free(qnode *q) {
    if (!q) return;
    node_free(q->a);
    node_free(q->b);
    free(q->field);
    free(q->value);
    free(q->canon);
    free(q);
}

static qnode *mk(qtype t) {
    qnode *q = calloc(1, sizeof *q);
    if (!q) abort();
    q->type = t;
    return q;
}

static bool is_word_char(char c) {
    return c && c != ' ' && c != '\t' && c != '\n' && c != '(' && c != ')' && c != '=' && c != '!' &&
           c != '<' && c != '>' && c != '~' && c != '"';
}

/* A quoted string ("..." with \" and \\) or a bare word. */
static char *read_value(lexer *l, size_t *len) {
    skip_ws(l);
    mm_buf b = {0};
    if (l->i < l->n && l->s[l->i] == '"') {
        l->i++;
        while (l->i < l->n && l->s[l->i] != '"') {
            if (l->s[l->i] == '\\' && l->i + 1 < l->n) l->i++;
            mm_buf_putc(&b, l->s[l->i++]);
        }
        if (l->i >= l->n) {
            mm_err_set(l->err, "unterminated quote");
            mm_buf_free(&b);
            return NULL;
        }
        l->i++;
    } else {
        while (l->i < l->n && l->s[l->i] && l->s[l->i] != ' ' && l->s[l->i] != '\t' &&
               l->s[l->i] != ')' && l->s[l->i] != '(')
            mm_buf_putc(&b, l->s[l->i++]);
        if (b.len == 0) {
            mm_err_set(l->err, "expected a value at position %zu", l->i + 1);
            mm_buf_free(&b);
            return NULL;
        }
    }
    *len = b.len;
    mm_buf_cstr(&b);
    return b.p;
}

static bool keyword(lexer *l, const char *kw) {
    skip_ws(l);
    size_t k = strlen(kw);
    if (l->n - l->i < k) return false;
    for (size_t j = 0; j < k; j++) {
        char c = l->s[l->i + j];
        if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
        if (c != kw[j]) return false;
    }
    char after = l->i + k < l->n ? l->s[l->i + k] : 0;
    if (is_word_char(after)) return false;
    l->i += k;
    return true;
}

static qnode *parse_or(lexer *l);

static qnode *parse_term(lexer *l) {
    skip_ws(l);
    if (++l->terms > MAX_QUERY_TERMS) {
        mm_err_set(l->err, "query has more than %d terms", MAX_QUERY_TERMS);
        return NULL;
    }
    if (l->i >= l->n) {
        mm_err_set(l->err, "unexpected end of query");
        return NULL;
    }
    if (l->s[l->i] == '"') {
        qnode *q = mk(Q_TEXT);
        q->value = read_value(l, &q->vlen);
        if (!q->value) {
            node_free(q);
            return NULL;
        }
        return q;
    }
    size_t st = l->i;
    while (l->i < l->n && is_word_char(l->s[l->i])) l->i++;
    size_t fl = l->i - st;
    if (fl == 0) {
        mm_err_set(l->err, "unexpected '%c' at position %zu", l->s[l->i], l->i + 1);
        return NULL;
    }
    skip_ws(l);
    qop op;
    const char *o = l->s + l->i;
    size_t rem = l->n - l->i;
    if (rem >= 2 && o[0] == '!' && o[1] == '=') { op = OP_NE; l->i += 2; }
    else if (rem >= 2 && o[0] == '>' && o[1] == '=') { op = OP_GE; l->i += 2; }
    else if (rem >= 2 && o[0] == '<' && o[1] == '=') { op = OP_LE; l->i += 2; }
    else if (rem >= 1 && o[0] == '=') { op = OP_EQ; l->i += 1; }
    else if (rem >= 1 && o[0] == '>') { op = OP_GT; l->i += 1; }
    else if (rem >= 1 && o[0] == '<') { op = OP_LT; l->i += 1; }
    else if (rem >= 1 && o[0] == '~') { op = OP_CONTAINS; l->i += 1; }
    else {
        /* a bare word without operator: free text */
        qnode *q = mk(Q_TEXT);
        q->value = strndup(l->s + st, fl);
        if (!q->value) abort();
        q->vlen = fl;
        return q;
    }
    qnode *q = mk(Q_TERM);
    q->field = strndup(l->s + st, fl);
    if (!q->field) abort();
    q->op = op;
    q->value = read_value(l, &q->vlen);
    if (!q->value) {
        node_free(q);
        return NULL;
    }
    q->wild = memchr(q->value, '*', q->vlen) || memchr(q->value, '?', q->vlen);
    q->is_num = mm_str_to_i64((mm_str){q->value, (uint32_t)q->vlen}, &q->num);
    mm_str v = {q->value, (uint32_t)q->vlen};
    mm_field f = mm_field_by_name(q->field, fl);
    q->ip_field = f != MM_F_NONE && mm_field_type(f) == MM_T_IP;
    if (q->ip_field && (op == OP_EQ || op == OP_NE)) {
        if (mm_cidr_parse(v, &q->cidr)) {
            q->is_cidr = true;
            bool host = q->cidr.bits == (q->cidr.net.af == 4 ? 32 : 128);
            if (host && !memchr(q->value, '/', q->vlen)) {
                char t[48];
                mm_ip_fmt(&q->cidr.net, t);
                q->canon = strdup(t);
            }
        }
    }
    if ((op == OP_GT || op == OP_GE || op == OP_LT || op == OP_LE) && !q->is_num) {
        mm_err_set(l->err, "'%s' needs a number after the comparison", q->field);
        node_free(q);
        return NULL;
    }
    return q;
}

static qnode *parse_unary(lexer *l) {
    if (++l->depth > 100) {
        mm_err_set(l->err, "query nested too deeply");
        return NULL;
    }
    qnode *r;
    if (keyword(l, "not")) {
        qnode *a = parse_unary(l);
        if (!a) return NULL;
        r = mk(Q_NOT);
        r->a = a;
    } else {
        skip_ws(l);
        if (l->i < l->n && l->s[l->i] == '(') {
            l->i++;
            r = parse_or(l);
            if (!r) return NULL;
            skip_ws(l);
            if (l->i >= l->n || l->s[l->i] != ')') {
                mm_err_set(l->err, "missing ')'");
                node_free(r);
                return NULL;
            }
            l->i++;
        } else
            r = parse_term(l);
    }
    l->depth--;
    return r;
}

/* An AND/OR node over a and b; when b failed to parse (NULL), frees a: NULL. */
static qnode *join(qtype t, qnode *a, qnode *b) {
    if (!b) {
        node_free(a);
        return NULL;
    }
    qnode *n = mk(t);
    n->a = a;
    n->b = b;
    return n;
}

static qnode *parse_and(lexer *l) {
    qnode *a = parse_unary(l);
    while (a) {
        skip_ws(l);
        if (l->i >= l->n || l->s[l->i] == ')') break;
        size_t save = l->i;
        if (keyword(l, "or")) {
            l->i = save;
            break;
        }
        keyword(l, "and");  /* optional */
        a = join(Q_AND, a, parse_unary(l));
    }
    return a;
}

static qnode *parse_or(lexer *l) {
    qnode *a = parse_and(l);
    while (a && keyword(l, "or")) a = join(Q_OR, a, parse_and(l));
    return a;
}

mm_query *mm_query_parse(const char *text, mm_err *err) {
    lexer l = {text, 0, strlen(text), err, 0, 0};
    if (l.n > MAX_QUERY_LEN) {
        mm_err_set(err, "query longer than %d bytes", MAX_QUERY_LEN);
        return NULL;
    }
    skip_ws(&l);
    mm_query *q = calloc(1, sizeof *q);
    if (!q) abort();
    if (l.i == l.n) return q;  /* empty query matches everything */
    q->root = parse_or(&l);
    if (q->root) {
        skip_ws(&l);
        if (l.i < l.n) {
            mm_err_set(err, "unexpected '%c' at position %zu", text[l.i], l.i + 1);
            node_free(q->root);
            q->root = NULL;
        }
    }
    if (!q->root) {
        free(q);
        return NULL;
    }
    return q;
}

void mm_query_free(mm_query *q) {
    if (!q) return;
    node_free(q->root);
    free(q);
}

static char lc(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

bool mm_glob_match(const char *p, size_t pn, const char *s, size_t sn) {
    size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;
    while (si < sn) {
        if (pi < pn && (p[pi] == '?' || lc(p[pi]) == lc(s[si]))) {
            pi++;
            si++;
        } else if (pi < pn && p[pi] == '*') {
            star_p = pi++;
            star_s = si;
        } else if (star_p != (size_t)-1) {
            pi = star_p + 1;
            si = ++star_s;
        } else
            return false;
    }
    while (pi < pn && p[pi] == '*') pi++;
    return pi == pn;
}

static bool icontains(const char *h, size_t hn, const char *n, size_t nn) {
    if (nn == 0) return true;
    for (size_t i = 0; i + nn <= hn; i++) {
        size_t j = 0;
        while (j < nn && lc(h[i + j]) == lc(n[j])) j++;
        if (j == nn) return true;
    }
    return false;
}

typedef struct mctx {
    const qnode *q;
    bool hit;
} mctx;

static bool value_match(const qnode *q, mm_str s, const mm_value *v) {
    switch (q->op) {
    case OP_CONTAINS: return icontains(s.p, s.len, q->value, q->vlen);
    case OP_GT: case OP_GE: case OP_LT: case OP_LE: {
        int64_t x;
        if (v && v->parsed && (mm_field_type(v->field) == MM_T_INT)) x = v->i;
        else if (!mm_str_to_i64(s, &x)) return false;
        return q->op == OP_GT ? x > q->num : q->op == OP_GE ? x >= q->num
             : q->op == OP_LT ? x < q->num : x <= q->num;
    }
    case OP_EQ: case OP_NE:
        if (q->is_cidr && v && v->parsed && mm_field_type(v->field) == MM_T_IP)
            return mm_cidr_contains(&q->cidr, &v->ip);
        if (q->wild) return mm_glob_match(q->value, q->vlen, s.p, s.len);
        if (s.len != q->vlen) return false;
        for (size_t i = 0; i < s.len; i++)
            if (lc(s.p[i]) != lc(q->value[i])) return false;
        return true;
    }
    return false;
}

static void each_value(void *ctx, mm_str val, const mm_value *v) {
    mctx *m = ctx;
    if (!m->hit && value_match(m->q, val, v)) m->hit = true;
}

static bool eval(const qnode *q, const mm_event *ev) {
    switch (q->type) {
    case Q_AND: return eval(q->a, ev) && eval(q->b, ev);
    case Q_OR: return eval(q->a, ev) || eval(q->b, ev);
    case Q_NOT: return !eval(q->a, ev);
    case Q_TEXT: return icontains(ev->raw.p, ev->raw.len, q->value, q->vlen);
    case Q_TERM: break;
    }
    mctx m = {q, false};
    mm_str special = {0};
    bool is_special = true;
    if (strcmp(q->field, "tenant") == 0 || strcmp(q->field, "mamori.tenant") == 0) special = ev->tenant;
    else if (strcmp(q->field, "segment") == 0 || strcmp(q->field, "mamori.segment") == 0) special = ev->segment;
    else if (strcmp(q->field, "event.kind") == 0 && (ev->kind != MM_KIND_EVENT || !mm_event_has(ev, MM_F_EVENT_KIND)))
        special = mm_str_c(mm_kind_name(ev->kind));   /* what --events prints */
    else if (strcmp(q->field, "mamori.input") == 0 && ev->src && ev->src->input) special = mm_str_c(ev->src->input);
    else is_special = false;
    int n;
    if (is_special) {
        n = 1;
        each_value(&m, special, NULL);
    } else
        n = mm_event_lookup(ev, q->field, strlen(q->field), each_value, &m);
    if (q->op == OP_NE) {
        /* != : the field exists and no value equals (Kibana-like) */
        if (n == 0) return false;
        return !m.hit;
    }
    return m.hit;
}

bool mm_query_match(const mm_query *q, const mm_event *ev) {
    return !q->root || eval(q->root, ev);
}

static const char *required(const qnode *q, const char *field) {
    if (!q) return NULL;
    if (q->type == Q_AND) {
        const char *r = required(q->a, field);
        return r ? r : required(q->b, field);
    }
    if (q->type == Q_TERM && q->op == OP_EQ && !q->wild && strcmp(q->field, field) == 0)
        return q->ip_field ? q->canon : q->value;
    return NULL;
}

const char *mm_query_required(const mm_query *q, const char *field) {
    return required(q->root, field);
}
