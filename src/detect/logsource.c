/* logsource: Sigma log sources and field names onto mamori's events, from mapping
 * files (rules/mappings/NAME.yml).  A file:
 *
 *   product: windows                 # optional: the product of every entry below
 *   prefix: winlog.event_data        # optional: unmapped Sigma fields are keys here
 *   fields:                          # optional: Sigma name -> event field(s)
 *     EventID: event.code
 *     Computer: host.name
 *   logsources:
 *     - service: security
 *       when: {winlog.channel: Security}
 *     - category: process_creation
 *       when:                        # a Sigma selection: a map, or a list of maps (or)
 *         - {winlog.channel: Microsoft-Windows-Sysmon/Operational, event.code: '1'}
 *         - {winlog.channel: Security, event.code: '4688'}
 *       fields:                      # overrides for this log source
 *         Image: [Image, NewProcessName]
 *
 * A rule uses the entry whose product, category and service are exactly its own.
 * The `when` selection is compiled into the rule (rules.c), so log-source routing
 * goes through the same index as everything else. */
#include "detect_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char *sval(const mm_cnode *n) {
    return (n && n->type == MM_CN_SCALAR && n->value && *n->value) ? n->value : NULL;
}

static bool known_key(const char *k, const char *const *keys, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(k, keys[i])) return true;
    return false;
}

static int check_fields(const mm_cnode *f, const char *name, mm_err *err) {
    if (!f) return 0;
    if (f->type != MM_CN_MAP) {
        mm_err_set(err, "%s: line %d: fields must be a map of Sigma name to field name(s)", name, f->line);
        return MM_EINVAL;
    }
    for (const mm_cnode *c = f->child; c; c = c->next) {
        bool ok = sval(c) != NULL;
        if (c->type == MM_CN_SEQ) {
            ok = c->child != NULL;
            for (const mm_cnode *x = c->child; x; x = x->next) ok = ok && sval(x);
        }
        if (!ok) {
            mm_err_set(err, "%s: line %d: field '%s' must map to a name or a list of names", name, c->line,
                       c->key ? c->key : "?");
            return MM_EINVAL;
        }
    }
    return 0;
}

/* Take a parsed mapping file (owned from here on, freed on error). */
static int add_tree(mm_lsmaps *m, const char *name, mm_cnode *root, mm_err *err) {
    static const char *const top[] = {"product", "prefix", "fields", "logsources", "description"};
    static const char *const ent[] = {"product", "category", "service", "when", "fields", "description"};
    const mm_cnode *ls = mm_cnode_get(root, "logsources");
    if (root->type != MM_CN_MAP || !ls || ls->type != MM_CN_SEQ) {
        mm_err_set(err, "%s: a mapping file is a map with a 'logsources' list", name);
        mm_cnode_free(root);
        return MM_EINVAL;
    }
    for (const mm_cnode *c = root->child; c; c = c->next)
        if (!known_key(c->key, top, MM_ARRAY_LEN(top))) {
            mm_err_set(err, "%s: line %d: unknown key '%s'", name, c->line, c->key);
            mm_cnode_free(root);
            return MM_EINVAL;
        }
    if (check_fields(mm_cnode_get(root, "fields"), name, err) < 0) {
        mm_cnode_free(root);
        return MM_EINVAL;
    }
    mm_lsfile *f = calloc(1, sizeof *f);
    if (!f) abort();
    f->path = strdup(name);
    f->tree = root;
    f->product = sval(mm_cnode_get(root, "product"));
    f->prefix = sval(mm_cnode_get(root, "prefix"));
    f->fields = mm_cnode_get(root, "fields");
    m->files = realloc(m->files, (size_t)(m->nfiles + 1) * sizeof *m->files);
    if (!m->files || !f->path) abort();
    m->files[m->nfiles++] = f;
    for (const mm_cnode *e = ls->child; e; e = e->next) {
        if (e->type != MM_CN_MAP) {
            mm_err_set(err, "%s: line %d: a log source is a map", name, e->line);
            return MM_EINVAL;
        }
        for (const mm_cnode *c = e->child; c; c = c->next)
            if (!known_key(c->key, ent, MM_ARRAY_LEN(ent))) {
                mm_err_set(err, "%s: line %d: unknown key '%s' in a log source", name, c->line, c->key);
                return MM_EINVAL;
            }
        const mm_cnode *when = mm_cnode_get(e, "when");
        if (when && when->type == MM_CN_SCALAR) {
            mm_err_set(err, "%s: line %d: when must be a map or a list of maps", name, when->line);
            return MM_EINVAL;
        }
        if (check_fields(mm_cnode_get(e, "fields"), name, err) < 0) return MM_EINVAL;
        m->e = realloc(m->e, (size_t)(m->n + 1) * sizeof *m->e);
        if (!m->e) abort();
        mm_lsentry *x = &m->e[m->n++];
        x->product = sval(mm_cnode_get(e, "product"));
        if (!x->product) x->product = f->product;
        x->category = sval(mm_cnode_get(e, "category"));
        x->service = sval(mm_cnode_get(e, "service"));
        x->when = when;
        x->fields = mm_cnode_get(e, "fields");
        x->file = f;
    }
    return 0;
}

static bool yml(const char *n) {
    size_t l = strlen(n);
    return (l > 4 && !strcmp(n + l - 4, ".yml")) || (l > 5 && !strcmp(n + l - 5, ".yaml"));
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int mm_lsmaps_load_dir(mm_lsmaps *m, const char *dir, mm_err *err) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    char **names = NULL;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !yml(de->d_name)) continue;
        names = realloc(names, (size_t)(n + 1) * sizeof *names);
        if (!names) abort();
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    if (n) qsort(names, (size_t)n, sizeof *names, cmpstr);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (rc == 0 && stat(path, &st) == 0 && st.st_size >= (1 << 24)) {
            mm_err_set(err, "%s: larger than 16 MB", path);
            rc = MM_EIO;
        }
        if (rc == 0) {
            mm_cnode *root = mm_cnode_parse_file(path, err);
            rc = root ? add_tree(m, path, root, err) : MM_EINVAL;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

void mm_lsmaps_free(mm_lsmaps *m) {
    for (int i = 0; i < m->nfiles; i++) {
        mm_cnode_free(m->files[i]->tree);
        free(m->files[i]->path);
        free(m->files[i]);
    }
    free(m->files);
    free(m->e);
    memset(m, 0, sizeof *m);
}

static bool same(const char *a, const char *b) {
    if (!a || !b) return !a && !b;
    return strcasecmp(a, b) == 0;
}

const mm_lsentry *mm_lsmaps_find(const mm_lsmaps *m, const char *product, const char *category,
                                 const char *service) {
    if (!m) return NULL;
    for (int i = 0; i < m->n; i++) {
        const mm_lsentry *e = &m->e[i];
        if (same(e->product, product) && same(e->category, category) && same(e->service, service)) return e;
    }
    return NULL;
}

static const mm_cnode *field_node(const mm_cnode *map, const char *sigma) {
    return map ? mm_cnode_get(map, sigma) : NULL;
}

static const char *target(const mm_lsentry *e, const char *t, char *buf, size_t buflen, size_t *used) {
    if (strchr(t, '.') || !e->file->prefix) return t;
    int n = snprintf(buf + *used, buflen - *used, "%s.%s", e->file->prefix, t);
    if (n < 0 || (size_t)n >= buflen - *used) return t;
    const char *r = buf + *used;
    *used += (size_t)n + 1;
    return r;
}

int mm_lsmap_field(const mm_lsentry *e, const char *sigma, const char **names, int max, char *buf,
                   size_t buflen) {
    if (!e || max < 1) return 0;
    const mm_cnode *f = field_node(e->fields, sigma);
    if (!f) f = field_node(e->file->fields, sigma);
    size_t used = 0;
    int n = 0;
    if (f && f->type == MM_CN_SEQ) {
        for (const mm_cnode *x = f->child; x && n < max; x = x->next) names[n++] = target(e, x->value, buf, buflen, &used);
        return n;
    }
    if (f) {
        names[0] = target(e, f->value, buf, buflen, &used);
        return 1;
    }
    if (!e->file->prefix) return 0;
    names[0] = target(e, sigma, buf, buflen, &used);
    return 1;
}
