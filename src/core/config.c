/* Configuration: YAML (libyaml) read into a tree that remembers line numbers, then
 * checked against one schema table that also prints `mamori config keys`.  Unknown
 * keys, wrong types and bad values are errors naming the line.  Later stages add
 * their keys to the table; the tree is kept in mm_config for them. */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#define MAX_DEPTH 64
#define MAX_NODES 200000

/* ---------------------------------------------------------------- tree */

typedef struct pstate {
    yaml_parser_t p;
    int nodes;
    mm_err *err;
    const char *name;
} pstate;

static mm_cnode *node_new(pstate *s, mm_cnode_type t, int line) {
    if (++s->nodes > MAX_NODES) {
        mm_err_set(s->err, "%s: line %d: document too large", s->name, line);
        return NULL;
    }
    mm_cnode *n = calloc(1, sizeof *n);
    if (!n) abort();
    n->type = t;
    n->line = line;
    return n;
}

void mm_cnode_free(mm_cnode *n) {
    while (n) {
        mm_cnode *next = n->next;
        mm_cnode_free(n->child);
        free(n->key);
        free(n->value);
        free(n);
        n = next;
    }
}

static char *dupn(const unsigned char *p, size_t n) {
    char *s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static bool next_event(pstate *s, yaml_event_t *ev) {
    if (!yaml_parser_parse(&s->p, ev)) {
        mm_err_set(s->err, "%s: line %zu: %s%s%s", s->name, s->p.problem_mark.line + 1,
                   s->p.problem ? s->p.problem : "YAML syntax error", s->p.context ? " " : "",
                   s->p.context ? s->p.context : "");
        return false;
    }
    return true;
}

/* Parse the node whose first event is `ev` (already consumed). */
static mm_cnode *parse_node(pstate *s, yaml_event_t *ev, int depth) {
    int line = (int)ev->start_mark.line + 1;
    if (depth > MAX_DEPTH) {
        mm_err_set(s->err, "%s: line %d: nesting too deep", s->name, line);
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        mm_cnode *n = node_new(s, MM_CN_SCALAR, line);
        if (n) n->value = dupn(ev->data.scalar.value, ev->data.scalar.length);
        return n;
    }
    case YAML_ALIAS_EVENT:
        mm_err_set(s->err, "%s: line %d: YAML aliases are not supported", s->name, line);
        return NULL;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool map = ev->type == YAML_MAPPING_START_EVENT;
        mm_cnode *n = node_new(s, map ? MM_CN_MAP : MM_CN_SEQ, line);
        if (!n) return NULL;
        mm_cnode **tail = &n->child;
        for (;;) {
            yaml_event_t e;
            if (!next_event(s, &e)) goto fail;
            if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&e);
                return n;
            }
            char *key = NULL;
            if (map) {
                if (e.type != YAML_SCALAR_EVENT) {
                    mm_err_set(s->err, "%s: line %zu: mapping keys must be plain scalars", s->name,
                               e.start_mark.line + 1);
                    yaml_event_delete(&e);
                    goto fail;
                }
                key = dupn(e.data.scalar.value, e.data.scalar.length);
                int kline = (int)e.start_mark.line + 1;
                yaml_event_delete(&e);
                for (mm_cnode *c = n->child; c; c = c->next)
                    if (strcmp(c->key, key) == 0) {
                        mm_err_set(s->err, "%s: line %d: duplicate key '%s' (first at line %d)",
                                   s->name, kline, key, c->line);
                        free(key);
                        goto fail;
                    }
                if (!next_event(s, &e)) {
                    free(key);
                    goto fail;
                }
                /* the node's line is the key's line: that is where a reader looks */
                mm_cnode *c = parse_node(s, &e, depth + 1);
                yaml_event_delete(&e);
                if (!c) {
                    free(key);
                    goto fail;
                }
                c->key = key;
                c->line = kline;
                *tail = c;
                tail = &c->next;
            } else {
                mm_cnode *c = parse_node(s, &e, depth + 1);
                yaml_event_delete(&e);
                if (!c) goto fail;
                *tail = c;
                tail = &c->next;
            }
        }
    fail:
        mm_cnode_free(n);
        return NULL;
    }
    default:
        mm_err_set(s->err, "%s: line %d: unexpected YAML event", s->name, line);
        return NULL;
    }
}

/* Returns the first document's root; an empty document is an empty map.  Further
 * documents are ignored here (rule files with several documents use
 * mm_cnode_parse_all in detect). */
mm_cnode *mm_cnode_parse(const char *text, size_t len, const char *name, mm_err *err) {
    pstate s = {.err = err, .name = name ? name : "<input>"};
    if (!yaml_parser_initialize(&s.p)) abort();
    yaml_parser_set_input_string(&s.p, (const unsigned char *)text, len);
    mm_cnode *root = NULL;
    yaml_event_t ev;
    bool done = false;
    while (!done) {
        if (!next_event(&s, &ev)) break;
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_START_EVENT: break;
        case YAML_STREAM_END_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            if (!root) root = node_new(&s, MM_CN_MAP, 1);
            done = true;
            break;
        default:
            root = parse_node(&s, &ev, 0);
            if (!root) done = true;
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&s.p);
    return root;
}

char *mm_read_file(const char *path, size_t max, size_t *len, mm_err *err) {
    bool in = strcmp(path, "-") == 0;
    FILE *f = in ? stdin : fopen(path, "rb");
    if (!f) {
        mm_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = mm_xrealloc(NULL, cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                if (!in) fclose(f);
                free(buf);
                mm_err_set(err, "%s: larger than %zu MB", path, max >> 20);
                return NULL;
            }
            cap *= 2;
            buf = mm_xrealloc(buf, cap + 1);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    bool bad = ferror(f);
    if (!in) fclose(f);
    if (bad) {
        free(buf);
        mm_err_set(err, "%s: read error", path);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

bool mm_read_secret(const char *path, char *out, size_t cap, mm_err *err) {
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        mm_err_set(err, "secret file %s: %s", path, strerror(errno));
        return false;
    }
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = 0;
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r')) out[--n] = 0;
    return true;
}

mm_cnode *mm_cnode_parse_file(const char *path, mm_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        mm_err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    mm_buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        mm_buf_put(&b, tmp, n);
        if (b.len > 64u * 1024 * 1024) break;
    }
    bool bad = ferror(f) || b.len > 64u * 1024 * 1024;
    fclose(f);
    if (bad) {
        mm_err_set(err, "%s: read error or file too large", path);
        mm_buf_free(&b);
        return NULL;
    }
    mm_cnode *r = mm_cnode_parse(b.p ? b.p : "", b.len, path, err);
    mm_buf_free(&b);
    return r;
}

const mm_cnode *mm_cnode_get(const mm_cnode *map, const char *key) {
    if (!map || map->type != MM_CN_MAP) return NULL;
    for (const mm_cnode *c = map->child; c; c = c->next)
        if (strcmp(c->key, key) == 0) return c;
    return NULL;
}

/* ---------------------------------------------------------------- schema */

typedef enum { K_STR, K_INT, K_BOOL, K_MAP, K_SEQ_STR, K_SEQ_MAP, K_FREE } ktype;
typedef struct ckey {
    const char *path;   /* dotted; "[]" marks the items of a sequence of maps */
    ktype type;
    const char *help;
} ckey;

static const ckey schema[] = {
    {"tenant", K_STR, "default tenant stamped on every event (default: default)"},
    {"segment", K_STR, "default network segment name (default: empty)"},
    {"timezone", K_STR, "zone of logs that carry none, as +0900 / Z / JST (default: +0000)"},
    {"workers", K_INT, "detection worker threads (default: number of cores)"},
    {"user", K_STR, "run: after opening ports and the store, drop root privileges to this user"},
    {"log", K_MAP, "logging"},
    {"log.level", K_STR, "debug | info | warn | error (default: info)"},
    {"store", K_MAP, "the event store (SQLite)"},
    {"store.path", K_STR, "database file (default: ./mamori.db)"},
    {"store.retention_days", K_INT, "days of events kept; alerts are kept until deleted (default: 30)"},
    {"store.batch_rows", K_INT, "rows per write transaction (default: 1000)"},
    {"store.batch_ms", K_INT, "longest wait before a partial batch is written (default: 200)"},
    {"rules", K_MAP, "detection content"},
    {"rules.dir", K_STR, "directory of rule files (default: the project's rules/)"},
    {"rules.indicators", K_SEQ_STR, "indicator list files (plain text or CSV)"},
    {"rules.dirs", K_SEQ_STR, "more folders of Sigma rules, e.g. a SigmaHQ checkout (added to rules.dir)"},
    {"rules.mappings", K_STR, "folder of Sigma log source mappings (default: <rules.dir>/mappings)"},
    {"rules.placeholders", K_FREE, "Sigma |expand placeholders: name -> list of values, e.g. Admins_Workstations: [ws-01, ws-02]"},
    {"inputs", K_SEQ_MAP, "inputs: one item per listener or file set"},
    {"inputs[].name", K_STR, "input name (required, unique)"},
    {"inputs[].type", K_STR, "file | syslog | pcap (required)"},
    {"inputs[].format", K_STR, "decoder: fortigate (default: fortigate)"},
    {"inputs[].tenant", K_STR, "tenant of this input's events (default: the global tenant)"},
    {"inputs[].segment", K_STR, "segment of this input's events"},
    {"inputs[].paths", K_SEQ_STR, "file: paths or glob patterns to read"},
    {"inputs[].follow", K_BOOL, "file: keep following like tail -F (default: true)"},
    {"inputs[].poll_ms", K_INT, "file: how often to look for new data and rotation (default: 250)"},
    {"inputs[].protocol", K_STR, "syslog: udp | tcp (default: udp)"},
    {"inputs[].listen", K_STR, "syslog: address:port (default: 0.0.0.0:514)"},
    {"inputs[].rcvbuf", K_INT, "syslog udp: socket receive buffer bytes (default: 16 MiB)"},
    {"inputs[].max_connections", K_INT, "syslog tcp: concurrent connections; at the limit the longest idle one is closed for a new one (default: 256)"},
    {"inputs[].idle_timeout", K_INT, "syslog tcp: seconds without data before a connection is closed, 0 = never (default: 300)"},
    {"inputs[].allow", K_SEQ_STR, "syslog: sender addresses or CIDRs accepted, others refused and counted (default or empty: everyone)"},
    {"inputs[].sources", K_SEQ_MAP, "syslog: per-sender tags, first match wins"},
    {"inputs[].sources[].match", K_STR, "sender address or CIDR (required)"},
    {"inputs[].sources[].tenant", K_STR, "tenant for this sender"},
    {"inputs[].sources[].segment", K_STR, "segment for this sender"},
    {"inputs[].interface", K_STR, "pcap: capture interface, e.g. eth1 on the mirror port (required)"},
    {"inputs[].filter", K_STR, "pcap: BPF filter expression (default: everything)"},
    {"inputs[].snaplen", K_INT, "pcap: bytes captured per packet (default: 65535)"},
    {"inputs[].promisc", K_BOOL, "pcap: promiscuous mode (default: true)"},
    {"inputs[].buffer_mb", K_INT, "pcap: kernel capture buffer in MiB, per thread (default: 64)"},
    {"inputs[].threads", K_INT, "pcap: capture threads on this interface, flows spread by PACKET_FANOUT (default: 1)"},
    {"intel", K_MAP, "threat intelligence: indicator feeds, refresh and retro-hunt (indicators live in the store)"},
    {"intel.retro_hunt_days", K_INT, "days of stored events searched for newly added indicators (default: 30, 0 = no retro-hunt)"},
    {"intel.feeds", K_SEQ_MAP, "feeds refreshed by `mamori run` and `mamori intel refresh`"},
    {"intel.feeds[].name", K_STR, "feed name, shown in alerts (required, unique)"},
    {"intel.feeds[].type", K_STR, "stix | taxii | misp | misp-feed | csv | list | freetext (required)"},
    {"intel.feeds[].url", K_STR, "http(s) URL: a document, a TAXII discovery/API root/collection URL, or a MISP feed folder"},
    {"intel.feeds[].path", K_STR, "a local file instead of url"},
    {"intel.feeds[].collection", K_STR, "taxii: collection id or title (default: every readable collection)"},
    {"intel.feeds[].interval", K_STR, "how often to refresh, e.g. 15m, 1h, 1d (default: 1h)"},
    {"intel.feeds[].user", K_STR, "basic auth user"},
    {"intel.feeds[].password_file", K_STR, "file holding the basic auth password (never logged)"},
    {"intel.feeds[].api_key_file", K_STR, "file holding an API key sent as the Authorization header (MISP)"},
    {"intel.feeds[].timeout", K_INT, "seconds per request (default: 60)"},
    {"intel.feeds[].warning", K_BOOL, "a warning list of known benign values: its entries suppress matches (default: false)"},
    {"intel.feeds[].confidence", K_INT, "confidence (0-100) of records that carry none"},
    {"intel.feeds[].ttl", K_STR, "records expire this long after each refresh, e.g. 7d (default: as the feed says)"},
    {"intel.feeds[].actor", K_STR, "threat actor set on every record"},
    {"intel.feeds[].campaign", K_STR, "campaign set on every record"},
    {"intel.feeds[].malware", K_STR, "malware family set on every record"},
    {"intel.feeds[].tlp", K_STR, "TLP of records that carry none"},
    {"intel.feeds[].value_column", K_INT, "csv: 1-based column of the indicator (default: from the header, else 1)"},
    {"intel.feeds[].type_column", K_INT, "csv: column of the indicator type"},
    {"intel.feeds[].description_column", K_INT, "csv: column of the description"},
    {"intel.feeds[].delimiter", K_STR, "csv: one character, e.g. \\t or ; (default: ,)"},
    {"intel.feeds[].header", K_BOOL, "csv: the first row is a header (default: detected)"},
    {"intel.feeds[].indicator_type", K_STR, "csv/list: every row is this type (ip, domain, url, sha256, ...)"},
    {"sensor", K_MAP, "the packet sensor (pcap inputs and ingest --pcap)"},
    {"sensor.home_net", K_SEQ_STR, "internal address ranges, for network.direction (default: RFC 1918, ULA, loopback, link-local)"},
    {"sensor.quarantine_dir", K_STR, "where extracted files are stored by sha256 (default: none, files are hashed only)"},
    {"sensor.quarantine_max_mb", K_INT, "size cap of the quarantine; the oldest files are removed first (default: 1024)"},
    {"sensor.file_max_mb", K_INT, "bytes of one file hashed and stored (default: 64)"},
    {"sensor.max_flows", K_INT, "concurrent flows tracked; the least recently seen is ended at the cap (default: 1048576)"},
    {"sensor.stream_mb", K_INT, "out-of-order TCP data held for reassembly, all flows together (default: 256)"},
    {"sensor.flow_events", K_BOOL, "emit a flow record per flow (default: true)"},
    {"sensor.learn", K_STR, "novelty learning period per host, e.g. 10m (default: 10m)"},
};

static const ckey *schema_find(const char *path) {
    for (size_t i = 0; i < MM_ARRAY_LEN(schema); i++)
        if (strcmp(schema[i].path, path) == 0) return &schema[i];
    return NULL;
}

void mm_config_print_keys(void) {
    static const char *tn[] = {"string", "integer", "boolean", "map", "list of strings", "list", "map"};
    for (size_t i = 0; i < MM_ARRAY_LEN(schema); i++)
        printf("%-34s %-16s %s\n", schema[i].path, tn[schema[i].type], schema[i].help);
}

static bool check_tree(const mm_cnode *map, const char *prefix, const char *file, mm_err *err) {
    for (const mm_cnode *c = map->child; c; c = c->next) {
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", c->key);
        const ckey *k = schema_find(path);
        if (!k) {
            mm_err_set(err, "%s: line %d: unknown key '%s'%s%s", file, c->line, c->key,
                       *prefix ? " in " : "", prefix);
            return false;
        }
        bool ok = true;
        switch (k->type) {
        case K_STR:
        case K_INT:
        case K_BOOL: ok = c->type == MM_CN_SCALAR; break;
        case K_MAP: ok = c->type == MM_CN_MAP; break;
        case K_SEQ_STR:
        case K_SEQ_MAP: ok = c->type == MM_CN_SEQ; break;
        case K_FREE: ok = c->type == MM_CN_MAP; break;
        }
        if (!ok) {
            static const char *want[] = {"a string", "an integer", "true or false", "a map",
                                         "a list of strings", "a list of maps", "a map"};
            mm_err_set(err, "%s: line %d: '%s' must be %s", file, c->line, path, want[k->type]);
            return false;
        }
        if (k->type == K_INT) {
            int64_t v;
            if (!mm_str_to_i64(mm_str_c(c->value), &v) || v < 0 || v > INT32_MAX) {
                mm_err_set(err, "%s: line %d: '%s' must be a non-negative integer, not '%s'", file,
                           c->line, path, c->value);
                return false;
            }
        }
        if (k->type == K_BOOL && strcmp(c->value, "true") && strcmp(c->value, "false") &&
            strcmp(c->value, "yes") && strcmp(c->value, "no")) {
            mm_err_set(err, "%s: line %d: '%s' must be true or false", file, c->line, path);
            return false;
        }
        if (k->type == K_MAP && !check_tree(c, path, file, err)) return false;
        if (k->type == K_SEQ_STR || k->type == K_SEQ_MAP) {
            char ipath[260];
            snprintf(ipath, sizeof ipath, "%s[]", path);
            for (const mm_cnode *it = c->child; it; it = it->next) {
                if (k->type == K_SEQ_STR && it->type != MM_CN_SCALAR) {
                    mm_err_set(err, "%s: line %d: items of '%s' must be strings", file, it->line, path);
                    return false;
                }
                if (k->type == K_SEQ_MAP) {
                    if (it->type != MM_CN_MAP) {
                        mm_err_set(err, "%s: line %d: items of '%s' must be maps", file, it->line, path);
                        return false;
                    }
                    if (!check_tree(it, ipath, file, err)) return false;
                }
            }
        }
    }
    return true;
}

/* ---------------------------------------------------------------- config */

static int config_apply(mm_config *c, mm_cnode *root, const char *path, mm_err *err);

const char *mm_home(void) {
    const char *e = getenv("MAMORI_HOME");
    if (e && *e) return e;
#ifdef MM_HOME
    return MM_HOME;
#else
    return ".";
#endif
}

void mm_config_defaults(mm_config *c) {
    memset(c, 0, sizeof *c);
    c->tenant = mm_xstrdup("default");
    c->segment = mm_xstrdup("");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->workers = n > 0 ? (int)n : 1;
    c->store_path = mm_xstrdup("./mamori.db");
    c->retention_days = 30;
    c->intel_retro_days = 30;
    c->batch_rows = 1000;
    c->batch_ms = 200;
    char rd[4096];
    snprintf(rd, sizeof rd, "%s/rules", mm_home());
    c->rules_dir = mm_xstrdup(rd);
    c->log_level = MM_LOG_INFO;
    c->sensor.quarantine_max_mb = 1024;
    c->sensor.file_max_mb = 64;
    c->sensor.max_flows = 1 << 20;
    c->sensor.stream_mb = 256;
    c->sensor.flow_events = true;
    c->sensor.learn_ns = 600LL * 1000000000LL;
}

/* Relative paths in a configuration file are relative to the file's directory, so a
 * configuration keeps working from any working directory. */
static void set_path(char **dst, const mm_cnode *n, const char *cfg_dir) {
    if (!n) return;
    free(*dst);
    if (n->value[0] == '/' || !*cfg_dir) *dst = mm_xstrdup(n->value);
    else {
        size_t l = strlen(cfg_dir) + strlen(n->value) + 2;
        *dst = malloc(l);
        if (!*dst) abort();
        snprintf(*dst, l, "%s/%s", cfg_dir, n->value);
    }
}

static void set_str(char **dst, const mm_cnode *n) {
    if (!n) return;
    free(*dst);
    *dst = mm_xstrdup(n->value);
}

static int get_int(const mm_cnode *n, int dflt) {
    if (!n) return dflt;
    int64_t v = 0;
    mm_str_to_i64(mm_str_c(n->value), &v);  /* validated by check_tree */
    return (int)v;
}

static bool get_bool(const mm_cnode *n, bool dflt) {
    if (!n) return dflt;
    return strcmp(n->value, "true") == 0 || strcmp(n->value, "yes") == 0;
}

static char **get_paths(const mm_cnode *seq, int *count, const char *cfg_dir) {
    *count = 0;
    if (!seq) return NULL;
    int n = 0;
    for (const mm_cnode *it = seq->child; it; it = it->next) n++;
    char **v = calloc((size_t)n + 1, sizeof *v);
    if (!v) abort();
    for (const mm_cnode *it = seq->child; it; it = it->next) {
        v[*count] = NULL;
        set_path(&v[*count], it, cfg_dir);
        (*count)++;
    }
    return v;
}

int mm_config_load(mm_config *c, const char *path, mm_err *err) {
    mm_cnode *root = mm_cnode_parse_file(path, err);
    if (!root) return MM_EINVAL;
    return config_apply(c, root, path, err);
}

int mm_config_load_text(mm_config *c, const char *text, size_t len, const char *name, mm_err *err) {
    mm_cnode *root = mm_cnode_parse(text, len, name, err);
    if (!root) return MM_EINVAL;
    return config_apply(c, root, name, err);
}

/* Takes ownership of root. */
static int config_apply(mm_config *c, mm_cnode *root, const char *path, mm_err *err) {
    char dir[4096];   /* relative paths in the file are relative to its directory */
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    if (root->type != MM_CN_MAP) {
        mm_err_set(err, "%s: line %d: the configuration must be a map of keys", path, root->line);
        mm_cnode_free(root);
        return MM_EINVAL;
    }
    if (!check_tree(root, "", path, err)) {
        mm_cnode_free(root);
        return MM_EINVAL;
    }
    free(c->path);
    c->path = mm_xstrdup(path);
    set_str(&c->tenant, mm_cnode_get(root, "tenant"));
    set_str(&c->segment, mm_cnode_get(root, "segment"));
    set_str(&c->user, mm_cnode_get(root, "user"));
    const mm_cnode *tz = mm_cnode_get(root, "timezone");
    if (tz && !mm_tz_parse(mm_str_c(tz->value), &c->tz_offset)) {
        mm_err_set(err, "%s: line %d: timezone '%s' is not an offset like +0900, Z or JST", path,
                   tz->line, tz->value);
        goto bad;
    }
    c->workers = get_int(mm_cnode_get(root, "workers"), c->workers);
    if (c->workers < 1 || c->workers > 256) {
        mm_err_set(err, "%s: line %d: workers must be 1..256", path,
                   mm_cnode_get(root, "workers")->line);
        goto bad;
    }
    const mm_cnode *log = mm_cnode_get(root, "log");
    const mm_cnode *lv = mm_cnode_get(log, "level");
    if (lv && !mm_log_level_parse(lv->value, &c->log_level)) {
        mm_err_set(err, "%s: line %d: log.level must be debug, info, warn or error", path, lv->line);
        goto bad;
    }
    const mm_cnode *st = mm_cnode_get(root, "store");
    set_path(&c->store_path, mm_cnode_get(st, "path"), dir);
    c->retention_days = get_int(mm_cnode_get(st, "retention_days"), c->retention_days);
    c->batch_rows = get_int(mm_cnode_get(st, "batch_rows"), c->batch_rows);
    c->batch_ms = get_int(mm_cnode_get(st, "batch_ms"), c->batch_ms);
    if (c->batch_rows < 1) c->batch_rows = 1;
    const mm_cnode *ru = mm_cnode_get(root, "rules");
    set_path(&c->rules_dir, mm_cnode_get(ru, "dir"), dir);
    const mm_cnode *rds = mm_cnode_get(ru, "dirs");
    if (rds) {
        for (int i = 0; i < c->nrule_dirs; i++) free(c->rule_dirs[i]);
        free(c->rule_dirs);
        c->rule_dirs = get_paths(rds, &c->nrule_dirs, dir);
    }
    set_path(&c->mappings_dir, mm_cnode_get(ru, "mappings"), dir);
    c->placeholders = mm_cnode_get(ru, "placeholders");
    const mm_cnode *ind = mm_cnode_get(ru, "indicators");
    if (ind) {
        for (int i = 0; i < c->nindicator_files; i++) free(c->indicator_files[i]);
        free(c->indicator_files);
        c->indicator_files = get_paths(ind, &c->nindicator_files, dir);
    }
    const mm_cnode *itl = mm_cnode_get(root, "intel");
    c->intel_retro_days = get_int(mm_cnode_get(itl, "retro_hunt_days"), c->intel_retro_days);
    const mm_cnode *se = mm_cnode_get(root, "sensor");
    if (se) {
        const mm_cnode *hn = mm_cnode_get(se, "home_net");
        if (hn) {
            int n = 0;
            for (const mm_cnode *a = hn->child; a; a = a->next) n++;
            free(c->sensor.home_net);
            c->sensor.home_net = mm_xcalloc((size_t)n + 1, sizeof *c->sensor.home_net);
            c->sensor.nhome_net = 0;
            for (const mm_cnode *a = hn->child; a; a = a->next)
                if (!mm_cidr_parse(mm_str_c(a->value), &c->sensor.home_net[c->sensor.nhome_net++])) {
                    mm_err_set(err, "%s: line %d: sensor.home_net: '%s' is not an address or CIDR", path,
                               a->line, a->value);
                    goto bad;
                }
        }
        set_path(&c->sensor.quarantine_dir, mm_cnode_get(se, "quarantine_dir"), dir);
        c->sensor.quarantine_max_mb = get_int(mm_cnode_get(se, "quarantine_max_mb"), c->sensor.quarantine_max_mb);
        c->sensor.file_max_mb = get_int(mm_cnode_get(se, "file_max_mb"), c->sensor.file_max_mb);
        c->sensor.max_flows = get_int(mm_cnode_get(se, "max_flows"), c->sensor.max_flows);
        c->sensor.stream_mb = get_int(mm_cnode_get(se, "stream_mb"), c->sensor.stream_mb);
        c->sensor.flow_events = get_bool(mm_cnode_get(se, "flow_events"), c->sensor.flow_events);
        const mm_cnode *ln = mm_cnode_get(se, "learn");
        if (ln && !mm_duration_parse(ln->value, &c->sensor.learn_ns)) {
            mm_err_set(err, "%s: line %d: sensor.learn '%s' is not a duration like 10m", path, ln->line, ln->value);
            goto bad;
        }
        if (c->sensor.quarantine_max_mb < 1 || c->sensor.file_max_mb < 1 || c->sensor.max_flows < 1024 ||
            c->sensor.stream_mb < 1) {
            mm_err_set(err, "%s: line %d: sensor: sizes must be positive (max_flows at least 1024)", path, se->line);
            goto bad;
        }
    }
    const mm_cnode *ins = mm_cnode_get(root, "inputs");
    if (ins) {
        int n = 0;
        for (const mm_cnode *it = ins->child; it; it = it->next) n++;
        c->inputs = calloc((size_t)n + 1, sizeof *c->inputs);
        if (!c->inputs) abort();
        for (const mm_cnode *it = ins->child; it; it = it->next) {
            mm_input_conf *in = &c->inputs[c->ninputs++];
            in->line = it->line;
            const mm_cnode *nm = mm_cnode_get(it, "name"), *ty = mm_cnode_get(it, "type");
            if (!nm || !ty) {
                mm_err_set(err, "%s: line %d: an input needs 'name' and 'type'", path, it->line);
                goto bad;
            }
            in->name = mm_xstrdup(nm->value);
            for (int j = 0; j < c->ninputs - 1; j++)
                if (strcmp(c->inputs[j].name, in->name) == 0) {
                    mm_err_set(err, "%s: line %d: input name '%s' is used twice", path, nm->line,
                               in->name);
                    goto bad;
                }
            if (strcmp(ty->value, "file") == 0) in->type = MM_IN_FILE;
            else if (strcmp(ty->value, "syslog") == 0) in->type = MM_IN_SYSLOG;
            else if (strcmp(ty->value, "pcap") == 0) in->type = MM_IN_PCAP;
            else {
                mm_err_set(err, "%s: line %d: input type '%s' is not file, syslog or pcap", path, ty->line,
                           ty->value);
                goto bad;
            }
            in->format = mm_xstrdup(in->type == MM_IN_PCAP ? "ecs" : "fortigate");
            set_str(&in->format, mm_cnode_get(it, "format"));
            in->tenant = mm_xstrdup(c->tenant);
            set_str(&in->tenant, mm_cnode_get(it, "tenant"));
            in->segment = mm_xstrdup(c->segment);
            set_str(&in->segment, mm_cnode_get(it, "segment"));
            in->paths = get_paths(mm_cnode_get(it, "paths"), &in->npaths, dir);
            in->follow = get_bool(mm_cnode_get(it, "follow"), true);
            in->poll_ms = get_int(mm_cnode_get(it, "poll_ms"), 250);
            if (in->poll_ms < 10) in->poll_ms = 10;
            in->protocol = mm_xstrdup("udp");
            set_str(&in->protocol, mm_cnode_get(it, "protocol"));
            in->listen = mm_xstrdup("0.0.0.0:514");
            set_str(&in->listen, mm_cnode_get(it, "listen"));
            in->rcvbuf = get_int(mm_cnode_get(it, "rcvbuf"), 16 * 1024 * 1024);
            in->max_connections = get_int(mm_cnode_get(it, "max_connections"), 256);
            in->idle_timeout = get_int(mm_cnode_get(it, "idle_timeout"), 300);
            const mm_cnode *al = mm_cnode_get(it, "allow");
            if (al) {
                int na = 0;
                for (const mm_cnode *a = al->child; a; a = a->next) na++;
                in->allow = calloc((size_t)na + 1, sizeof *in->allow);
                if (!in->allow) abort();
                for (const mm_cnode *a = al->child; a; a = a->next)
                    if (!mm_cidr_parse(mm_str_c(a->value), &in->allow[in->nallow++])) {
                        mm_err_set(err, "%s: line %d: allow: '%s' is not an address or CIDR", path,
                                   a->line, a->value);
                        goto bad;
                    }
            }
            set_str(&in->interface, mm_cnode_get(it, "interface"));
            set_str(&in->filter, mm_cnode_get(it, "filter"));
            in->snaplen = get_int(mm_cnode_get(it, "snaplen"), 65535);
            in->promisc = get_bool(mm_cnode_get(it, "promisc"), true);
            in->buffer_mb = get_int(mm_cnode_get(it, "buffer_mb"), 64);
            in->threads = get_int(mm_cnode_get(it, "threads"), 1);
            if (in->type == MM_IN_PCAP && (in->threads < 1 || in->threads > 64)) {
                mm_err_set(err, "%s: line %d: pcap input '%s': threads must be 1..64", path, it->line, in->name);
                goto bad;
            }
            in->sensor = &c->sensor;
            if (in->type == MM_IN_PCAP && !in->interface) {
                mm_err_set(err, "%s: line %d: pcap input '%s' needs 'interface'", path, it->line, in->name);
                goto bad;
            }
            if (in->type == MM_IN_PCAP && (in->snaplen < 64 || in->snaplen > 262144 || in->buffer_mb < 1)) {
                mm_err_set(err, "%s: line %d: pcap input '%s': snaplen must be 64..262144 and buffer_mb positive",
                           path, it->line, in->name);
                goto bad;
            }
            if (in->type == MM_IN_FILE && in->npaths == 0) {
                mm_err_set(err, "%s: line %d: file input '%s' needs 'paths'", path, it->line, in->name);
                goto bad;
            }
            if (in->type == MM_IN_SYSLOG && strcmp(in->protocol, "udp") && strcmp(in->protocol, "tcp")) {
                mm_err_set(err, "%s: line %d: protocol must be udp or tcp", path,
                           mm_cnode_get(it, "protocol")->line);
                goto bad;
            }
            const mm_cnode *srcs = mm_cnode_get(it, "sources");
            if (srcs) {
                int ns = 0;
                for (const mm_cnode *s = srcs->child; s; s = s->next) ns++;
                in->sources = calloc((size_t)ns + 1, sizeof *in->sources);
                if (!in->sources) abort();
                for (const mm_cnode *s = srcs->child; s; s = s->next) {
                    mm_source_rule *r = &in->sources[in->nsources++];
                    const mm_cnode *m = mm_cnode_get(s, "match");
                    if (!m || !mm_cidr_parse(mm_str_c(m->value), &r->match)) {
                        mm_err_set(err, "%s: line %d: source needs 'match' with an address or CIDR",
                                   path, m ? m->line : s->line);
                        goto bad;
                    }
                    const mm_cnode *t = mm_cnode_get(s, "tenant"), *g = mm_cnode_get(s, "segment");
                    r->src.input = in->name;
                    r->src.format = in->format;
                    r->src.tenant = mm_xstrdup(t ? t->value : in->tenant);
                    r->src.segment = mm_xstrdup(g ? g->value : in->segment);
                }
            }
        }
    }
    mm_cnode_free(c->tree);
    c->tree = root;
    return MM_OK;
bad:
    mm_cnode_free(root);
    return MM_EINVAL;
}

void mm_config_free(mm_config *c) {
    free(c->path);
    free(c->tenant);
    free(c->segment);
    free(c->user);
    free(c->store_path);
    free(c->rules_dir);
    for (int i = 0; i < c->nrule_dirs; i++) free(c->rule_dirs[i]);
    free(c->rule_dirs);
    free(c->mappings_dir);
    for (int i = 0; i < c->nindicator_files; i++) free(c->indicator_files[i]);
    free(c->indicator_files);
    free(c->sensor.home_net);
    free(c->sensor.quarantine_dir);
    for (int i = 0; i < c->ninputs; i++) {
        mm_input_conf *in = &c->inputs[i];
        free(in->name);
        free(in->format);
        free(in->tenant);
        free(in->segment);
        for (int j = 0; j < in->npaths; j++) free(in->paths[j]);
        free(in->paths);
        free(in->protocol);
        free(in->interface);
        free(in->filter);
        free(in->listen);
        for (int j = 0; j < in->nsources; j++) {
            free((char *)in->sources[j].src.tenant);
            free((char *)in->sources[j].src.segment);
        }
        free(in->sources);
        free(in->allow);
    }
    free(c->inputs);
    mm_cnode_free(c->tree);
    memset(c, 0, sizeof *c);
}
