/* pipeline: feeders (one per input thread) -> N workers (decode + detect) -> one
 * store writer.  See pipeline.h and DESIGN.md §2.
 *
 * Offsets: a feeder numbers the batches it sends.  When it flushes, it sends one
 * batch per worker that has records (a "group"); the last batch of the group
 * carries the offset marks ("everything this feeder sent so far ends at offset X of
 * file K").  Batches reach the writer out of order (different workers), so for a
 * feeder that marks offsets the writer stores batches strictly in sequence, parking
 * early arrivals, applies the marks with the last batch of each group, and never
 * commits a transaction in the middle of a group.  Rows and offsets are therefore
 * committed together: a restart, even after SIGKILL, neither loses nor repeats a
 * line.  Feeders without offsets (UDP, TCP) are stored as they come. */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_RECORDS 256
#define WORKER_RING 64
#define FEEDER_FLUSH_NS (100 * 1000000LL)
#define COUNTER_SAVE_NS (5 * 1000000000LL)
#define RETENTION_EVERY_NS (60 * 1000000000LL)
#define RETENTION_STEP_ROWS 50000
/* Event times more than this ahead of their receive time are not trusted for
 * ordering, windows and retention (a wrong clock, or a forged record). */
#define MAX_FUTURE_NS (15 * 60 * 1000000000LL)

typedef struct rec {
    mm_str line;
    const mm_source *src;
    const mm_decoder *dec;
    int64_t recv_ns;
} rec;

typedef struct mark {
    char *key;
    int64_t inode, offset;
    struct mark *next;
} mark;

typedef struct batch {
    mm_arena arena;
    rec recs[BATCH_RECORDS];
    uint32_t n;
    mm_event *evs;
    mm_alert *alerts;
    uint32_t feeder_id;
    uint64_t seq;
    bool ordered;          /* from a feeder that marks offsets: store in sequence */
    bool group_end;        /* last batch of a flush group (carries the marks) */
    mark *marks;           /* heap; applied by the writer */
    struct batch *next;    /* writer's list of early arrivals */
} batch;

typedef struct fstate {    /* writer-side view of one feeder */
    uint64_t next_seq;     /* every batch below this is stored */
    batch *parked;         /* arrived before a lower seq, sorted by seq */
    bool mid_group;        /* stored part of a group whose marks are not applied yet */
} fstate;

typedef struct worker {
    mm_pipeline *p;
    int id;
    mm_ring in;
    pthread_t th;
    mm_detect_state *state;
    uint64_t *terms;             /* scratch for an event's retro-hunt terms */
    uint32_t nterms, capterms;
    bool terms_oom;
} worker;

struct mm_pipeline {
    mm_pipeline_opts o;
    mm_store *store;
    worker *w;
    int nw;
    mm_ring out;
    pthread_t writer;
    pthread_rwlock_t detect_lock;
    mm_detect *detect;
    _Atomic uint32_t next_feeder;
    fstate *fs;
    uint32_t nfs;
    int mid_groups;        /* feeders with mid_group set: no commit until 0 */
    /* offsets snapshot */
    char **okeys;
    int64_t *oinode, *ooff;
    int noff;
    /* per-rule alert counts (writer thread writes; read after finish) */
    pthread_mutex_t rc_mu;
    mm_rule_count *rc;
    int nrc, caprc;
    uint64_t saved[MM_C__COUNT];
    bool finished;
    _Atomic bool closing;  /* finish has begun: store retries give up after a few tries */
    bool store_dead;       /* the store kept failing at shutdown: nothing more is written */
    mm_buf out_buf;
};

struct mm_feeder {
    mm_pipeline *p;
    bool may_block;
    uint32_t id;
    uint64_t seq;
    batch **pending;       /* one per worker */
    mark *marks;
    bool uses_marks;
    int64_t first_ns;      /* monotonic time of the oldest pending record */
    uint32_t rr;
};

/* A fresh arena per batch, freed by the writer: measured faster than pooling
 * batches (a pooled arena keeps its largest size and touches more memory). */
static batch *batch_new(void) {
    batch *b = calloc(1, sizeof *b);
    if (!b) abort();
    mm_arena_init(&b->arena, 256 * 1024);
    return b;
}

static void marks_free(mark *m) {
    while (m) {
        mark *n = m->next;
        free(m->key);
        free(m);
        m = n;
    }
}

static void batch_free(batch *b) {
    marks_free(b->marks);
    mm_arena_free(&b->arena);
    free(b);
}

/* ---------------------------------------------------------------- workers */

static bool storing(const mm_pipeline *p);

static void term_add(void *ctx, uint64_t t) {
    worker *w = ctx;
    if (w->nterms == w->capterms) {
        uint32_t nc = w->capterms ? w->capterms * 2 : 64;
        uint64_t *n = realloc(w->terms, nc * sizeof *n);
        if (!n) {
            w->terms_oom = true;
            return;
        }
        w->terms = n;
        w->capterms = nc;
    }
    w->terms[w->nterms++] = t;
}

/* The event's retro-hunt terms, here in parallel rather than in the store's one
 * writer thread (which would otherwise spend a third of its time on them). */
static void event_terms(worker *w, mm_event *ev, mm_arena *a) {
    w->nterms = 0;
    w->terms_oom = false;
    mm_ioc_event_terms(ev, term_add, w);
    if (w->terms_oom) return;   /* the writer computes them itself */
    uint64_t *t = mm_arena_alloc(a, (size_t)w->nterms * sizeof *t + 1);
    memcpy(t, w->terms, (size_t)w->nterms * sizeof *t);
    ev->ioc_terms = t;
    ev->n_ioc_terms = w->nterms;
    ev->has_ioc_terms = true;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    mm_pipeline *p = w->p;
    void *item;
    while (mm_ring_pop(&w->in, &item, -1) == MM_OK) {
        batch *b = item;
        if (b->n) {
            b->evs = mm_arena_alloc(&b->arena, sizeof(mm_event) * b->n);
            pthread_rwlock_rdlock(&p->detect_lock);
            const mm_detect *d = p->detect;
            for (uint32_t i = 0; i < b->n; i++) {
                mm_event *ev = &b->evs[i];
                rec *r = &b->recs[i];
                mm_event_init(ev, &b->arena);
                ev->src = r->src;
                ev->recv_ns = r->recv_ns;
                ev->ts_ns = r->recv_ns;
                if (r->src) {
                    ev->tenant = mm_str_c(r->src->tenant);
                    ev->segment = mm_str_c(r->src->segment);
                }
                if (r->dec) mm_decode(r->dec, ev, r->line, &p->o.decode);
                else {
                    ev->raw = r->line;
                    mm_event_fail(ev, "no decoder for this input");
                    mm_count(MM_C_DECODE_ERRORS, 1);
                }
                if (ev->ts_ns > ev->recv_ns + MAX_FUTURE_NS) {
                    /* @timestamp (the field) keeps what the sender wrote */
                    ev->ts_ns = ev->recv_ns;
                    mm_count(MM_C_FUTURE_TIMESTAMPS, 1);
                }
                if (d && ev->kind == MM_KIND_EVENT) {
                    mm_detect_event(d, w->state, ev, &b->arena, &b->alerts);  /* counts alerts */
                }
                if (storing(p) && ev->kind == MM_KIND_EVENT) event_terms(w, ev, &b->arena);
            }
            pthread_rwlock_unlock(&p->detect_lock);
        }
        if (mm_ring_push(&p->out, b) != MM_OK) batch_free(b);
    }
    return NULL;
}

/* ---------------------------------------------------------------- writer */

static void count_rule(mm_pipeline *p, const mm_alert *a) {
    pthread_mutex_lock(&p->rc_mu);
    int i;
    for (i = 0; i < p->nrc; i++)
        if (strcmp(p->rc[i].rule_id, a->rule_id ? a->rule_id : "") == 0) break;
    if (i == p->nrc) {
        if (p->nrc == p->caprc) {
            p->caprc = p->caprc ? p->caprc * 2 : 16;
            p->rc = realloc(p->rc, sizeof *p->rc * (size_t)p->caprc);
            if (!p->rc) abort();
        }
        mm_rule_count *r = &p->rc[p->nrc++];
        memset(r, 0, sizeof *r);
        snprintf(r->rule_id, sizeof r->rule_id, "%s", a->rule_id ? a->rule_id : "");
        snprintf(r->rule_name, sizeof r->rule_name, "%s", a->rule_name ? a->rule_name : "");
        snprintf(r->level, sizeof r->level, "%s", a->level ? a->level : "");
    }
    p->rc[i].n++;
    pthread_mutex_unlock(&p->rc_mu);
}

/* One alert as the analyst reads it: time, level, title, host, user, reason. */
static void print_alert(mm_pipeline *p, const mm_alert *a, mm_buf *o) {
    const mm_event *ev = a->ev;
    const mm_value *host = ev ? mm_event_get(ev, MM_F_HOST_NAME) : NULL;
    const mm_value *user = ev ? mm_event_get(ev, MM_F_USER_NAME) : NULL;
    const mm_value *src = ev ? mm_event_get(ev, MM_F_SOURCE_IP) : NULL;
    mm_buf_reset(o);
    if (p->o.print_alerts == 2) {
        /* the shape of `mamori alerts --json`, without what only the store assigns */
        mm_alert_json_head(o, a->ts_ns, a->rule_id, a->rule_name, a->technique, a->level);
        if (ev && ev->tenant.len) {
            mm_buf_puts(o, ",\"tenant\":");
            mm_json_str(o, ev->tenant.p, ev->tenant.len);
        }
        mm_buf_printf(o, ",\"alert\":{\"count\":%lld,\"reason\":", (long long)a->count);
        mm_json_str(o, a->reason, strlen(a->reason));
        mm_buf_putc(o, '}');
        if (ev) {
            size_t at = o->len;
            mm_buf_puts(o, ",\"evidence\":{");
            if (mm_event_json_fields(ev, o, mm_key_fields, mm_key_fields_n)) mm_buf_putc(o, '}');
            else o->len = at;
        }
        if (a->threat) {
            mm_buf_puts(o, ",\"threat\":");
            mm_buf_puts(o, a->threat);
        }
        mm_buf_puts(o, "}\n");
    } else {
        mm_time_fmt_local(o, a->ts_ns, p->o.print_tz);
        mm_buf_printf(o, "  %-8s %s", a->level, a->rule_name);
        const mm_value *kv[3] = {host, user, src};
        static const char *const kn[3] = {"  host=", "  user=", "  source="};
        for (int i = 0; i < 3; i++)
            if (kv[i]) {
                mm_buf_puts(o, kn[i]);
                mm_buf_put_printable(o, kv[i]->s.p, kv[i]->s.len);
            }
        mm_buf_puts(o, "\n      ");
        mm_buf_put_printable(o, a->reason, strlen(a->reason));
        mm_buf_putc(o, '\n');
    }
    fwrite(o->p, 1, o->len, stdout);
}

static void print_batch(mm_pipeline *p, batch *b) {
    mm_buf *o = &p->out_buf;
    if (p->o.print_alerts) {
        /* alerts were prepended: print them oldest first */
        size_t n = 0;
        for (const mm_alert *a = b->alerts; a; a = a->next) n++;
        const mm_alert **v = malloc((n ? n : 1) * sizeof *v);
        if (!v) abort();
        size_t k = n;
        for (const mm_alert *a = b->alerts; a; a = a->next) v[--k] = a;
        for (size_t i = 0; i < n; i++) print_alert(p, v[i], o);
        free(v);
    }
    if (p->o.print_events) {
        for (uint32_t i = 0; i < b->n; i++) {
            mm_buf_reset(o);
            /* an ECS record (the packet sensor's) is the event itself: no need to repeat it */
            const mm_event *ev = &b->evs[i];
            bool raw = !(ev->kind == MM_KIND_EVENT && ev->src && ev->src->format && !strcmp(ev->src->format, "ecs"));
            mm_event_json(ev, o, raw);
            mm_buf_putc(o, '\n');
            fwrite(o->p, 1, o->len, stdout);
        }
    }
}

static fstate *feeder_state(mm_pipeline *p, uint32_t id) {
    if (id >= p->nfs) {
        uint32_t n = id + 8;
        p->fs = realloc(p->fs, sizeof *p->fs * n);
        if (!p->fs) abort();
        memset(p->fs + p->nfs, 0, sizeof *p->fs * (n - p->nfs));
        p->nfs = n;
    }
    return &p->fs[id];
}

/* What happens once per batch, whatever the store does: printing and counting. */
static void batch_side_effects(mm_pipeline *p, batch *b) {
    print_batch(p, b);
    for (mm_alert *a = b->alerts; a; a = a->next) count_rule(p, a);
}

/* The writer's transaction.  Batches written into it are held until the commit
 * succeeds: when a commit fails (disk full, I/O error, a locked database) the
 * transaction is rolled back and written again after a pause, so nothing is lost
 * and offsets never run ahead of what is stored.  While it retries, the writer
 * does not read its queue: TCP and file inputs wait, UDP counts its drops. */
typedef struct txn {
    bool open;
    int rows;
    int64_t start;
    batch *held, **held_tail;
    uint64_t events, alerts;   /* counted as stored when the commit succeeds */
    bool failed;               /* a write failed: roll back and write again */
} txn;

static bool storing(const mm_pipeline *p) { return p->store && p->o.store_events; }

/* Write one batch's rows and offset marks into the open transaction. */
static int write_batch(mm_pipeline *p, txn *t, batch *b) {
    int rc = 0;
    for (uint32_t i = 0; i < b->n && rc == 0; i++) rc = mm_store_put_event(p->store, &b->evs[i]);
    for (mm_alert *a = b->alerts; a && rc == 0; a = a->next) rc = mm_store_put_alert(p->store, a);
    for (mark *m = b->marks; m && rc == 0; m = m->next)
        rc = mm_store_offset_set(p->store, m->key, m->inode, m->offset);
    if (rc == 0) {
        uint32_t na = 0;
        for (mm_alert *a = b->alerts; a; a = a->next) na++;
        t->rows += (int)(b->n + na);
        t->events += b->n;
        t->alerts += na;
    }
    return rc;
}

static void backoff(int attempt) {
    int64_t ms = 100LL << (attempt < 6 ? attempt : 6);   /* 0.1 s .. 6.4 s */
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Count what is given up when the store fails at shutdown. */
static void count_lost(const batch *b) {
    uint64_t n = b->n;
    for (const mm_alert *a = b->alerts; a; a = a->next) n++;
    mm_count(MM_C_STORE_LOST, n);
}

static bool give_up(mm_pipeline *p, int attempt) {
    if (!atomic_load(&p->closing) || attempt < 5) return false;
    p->store_dead = true;
    mm_error("store: still failing at shutdown; giving up (counted in store_lost)");
    return true;
}

static void txn_begin(mm_pipeline *p, txn *t) {
    if (t->open || !storing(p) || p->store_dead) return;
    for (int attempt = 0; mm_store_begin(p->store) != 0; attempt++) {
        mm_count(MM_C_STORE_ERRORS, 1);
        if (give_up(p, attempt)) return;
        mm_error("store: cannot begin a transaction (attempt %d); retrying", attempt + 1);
        backoff(attempt);
    }
    t->open = true;
    t->start = mm_mono_ns();
    t->rows = 0;
    t->events = t->alerts = 0;
    t->held = NULL;
    t->held_tail = &t->held;
    t->failed = false;
}

/* Commit; on failure roll back, pause, and write every held batch again.  Once
 * the pipeline is finishing it gives up after a few attempts, counts what is lost
 * and writes nothing more (so no later offset can pass the lost rows). */
static void txn_commit(mm_pipeline *p, txn *t) {
    for (int attempt = 0;; attempt++) {
        bool ok = true;
        if (attempt > 0) {   /* the transaction was rolled back: write it again */
            ok = mm_store_begin(p->store) == 0;
            t->rows = 0;
            t->events = t->alerts = 0;
            for (batch *b = t->held; b && ok; b = b->next) ok = write_batch(p, t, b) == 0;
        }
        bool write_failed = attempt == 0 && t->failed;   /* already counted */
        if (ok && !t->failed && mm_store_commit(p->store) == 0) break;
        t->failed = false;
        if (!write_failed) mm_count(MM_C_STORE_ERRORS, 1);
        mm_store_rollback(p->store);
        if (give_up(p, attempt)) {
            for (batch *b = t->held; b; b = b->next) count_lost(b);
            t->events = t->alerts = 0;
            break;
        }
        mm_error("store: commit failed (attempt %d); retrying the transaction", attempt + 1);
        backoff(attempt);
    }
    mm_count(MM_C_EVENTS_STORED, t->events);
    mm_count(MM_C_ALERTS_STORED, t->alerts);
    while (t->held) {
        batch *n = t->held->next;
        batch_free(t->held);
        t->held = n;
    }
    t->held_tail = &t->held;
    t->open = false;
    t->rows = 0;
}

/* Write b into the transaction (or, without a store, drop it after its side effects). */
static void store_batch(mm_pipeline *p, txn *t, batch *b) {
    batch_side_effects(p, b);
    if (!storing(p)) {
        batch_free(b);
        return;
    }
    txn_begin(p, t);
    if (!t->open) {   /* the store gave up at shutdown */
        count_lost(b);
        batch_free(b);
        return;
    }
    /* After a failed statement nothing more is written: SQLite may have rolled the
     * transaction back itself, and later writes would then commit one by one (marks
     * included) ahead of the lost rows.  The batch is only held; the commit path
     * rolls back and writes everything again. */
    if (!t->failed && write_batch(p, t, b) != 0) {
        mm_count(MM_C_STORE_ERRORS, 1);
        t->failed = true;
        t->rows = INT32_MAX / 2;   /* commit (and so retry) as soon as the group allows */
    }
    b->next = NULL;
    *t->held_tail = b;
    t->held_tail = &b->next;
}

/* Commit at the size or age limit (or when forced), but never in the middle of a
 * group of an offset-marking feeder: its rows and its offset commit together.  A
 * group is at most one batch per worker; past 16x the size limit we commit anyway
 * and accept a possible repeat after a crash rather than an unbounded transaction. */
static void txn_maybe_commit(mm_pipeline *p, txn *t, bool force) {
    if (!t->open) return;
    bool due = force || t->rows >= p->o.batch_rows ||
               mm_mono_ns() - t->start >= (int64_t)p->o.batch_ms * 1000000LL;
    if (!due) return;
    if (p->mid_groups && !force && (int64_t)t->rows < 16 * (int64_t)p->o.batch_rows) return;
    txn_commit(p, t);
}

/* Store b now, or park it until the batches before it (same feeder) arrived. */
static void accept_batch(mm_pipeline *p, txn *t, batch *b) {
    if (!b->ordered) {
        store_batch(p, t, b);
        return;
    }
    fstate *f = feeder_state(p, b->feeder_id);
    batch **pp = &f->parked;
    while (*pp && (*pp)->seq < b->seq) pp = &(*pp)->next;
    b->next = *pp;
    *pp = b;
    while (f->parked && f->parked->seq == f->next_seq) {
        batch *s = f->parked;
        f->parked = s->next;
        bool boundary = s->group_end;
        bool was = f->mid_group;
        f->mid_group = !boundary;
        p->mid_groups += (int)f->mid_group - (int)was;
        f->next_seq++;
        store_batch(p, t, s);
        if (boundary) txn_maybe_commit(p, t, false);   /* a group boundary */
    }
}

static void save_counters(mm_pipeline *p) {
    if (!p->store) return;
    uint64_t now[MM_C__COUNT], delta[MM_C__COUNT];
    bool any = false;
    for (int i = 0; i < MM_C__COUNT; i++) {
        now[i] = mm_counter_get((mm_counter)i);
        delta[i] = now[i] - p->saved[i];
        any |= delta[i] != 0;
    }
    if (any && mm_store_counters_add(p->store, delta) == 0) memcpy(p->saved, now, sizeof now);
}

static void *writer_main(void *arg) {
    mm_pipeline *p = arg;
    txn t = {0};
    int64_t last_save = mm_mono_ns(), last_retention = 0;
    for (;;) {
        if (p->store && p->o.retention_days > 0 && !t.open &&
            (last_retention == 0 || mm_mono_ns() - last_retention > RETENTION_EVERY_NS)) {
            /* a bounded step per minute: a large backlog never stalls ingestion */
            mm_store_retention_step(p->store, p->o.retention_days, mm_now_ns(), RETENTION_STEP_ROWS);
            last_retention = mm_mono_ns();
        }
        void *item = NULL;
        int rc = mm_ring_pop(&p->out, &item, t.open ? 20 : 200);
        if (rc == MM_OK) accept_batch(p, &t, item);
        txn_maybe_commit(p, &t, rc == MM_ECLOSED);
        if (p->o.print_events || p->o.print_alerts) fflush(stdout);
        if (!t.open && (rc == MM_ECLOSED || mm_mono_ns() - last_save > COUNTER_SAVE_NS)) {
            save_counters(p);
            last_save = mm_mono_ns();
        }
        if (rc == MM_ECLOSED) break;
    }
    return NULL;
}

/* ---------------------------------------------------------------- lifecycle */

static void offset_snapshot_cb(void *ctx, const char *key, int64_t inode, int64_t off) {
    mm_pipeline *p = ctx;
    p->okeys = realloc(p->okeys, sizeof(char *) * (size_t)(p->noff + 1));
    p->oinode = realloc(p->oinode, sizeof(int64_t) * (size_t)(p->noff + 1));
    p->ooff = realloc(p->ooff, sizeof(int64_t) * (size_t)(p->noff + 1));
    if (!p->okeys || !p->oinode || !p->ooff) abort();
    p->okeys[p->noff] = strdup(key);
    if (!p->okeys[p->noff]) abort();
    p->oinode[p->noff] = inode;
    p->ooff[p->noff] = off;
    p->noff++;
}

bool mm_pipeline_offset_get(mm_pipeline *p, const char *key, int64_t *inode, int64_t *offset) {
    for (int i = 0; i < p->noff; i++)
        if (strcmp(p->okeys[i], key) == 0) {
            *inode = p->oinode[i];
            *offset = p->ooff[i];
            return true;
        }
    return false;
}

int mm_pipeline_start(mm_pipeline **out, const mm_pipeline_opts *o, mm_store *store,
                      mm_detect *detect, mm_err *err) {
    if (o->workers < 1 || (o->store_events && !store)) {
        mm_err_set(err, "pipeline: bad options (workers %d, store %s)", o->workers,
                   store ? "set" : "missing");
        return MM_EINVAL;
    }
    mm_pipeline *p = calloc(1, sizeof *p);
    if (!p) abort();
    p->o = *o;
    if (p->o.batch_rows < 1) p->o.batch_rows = 1000;
    if (p->o.batch_ms < 1) p->o.batch_ms = 200;
    p->store = store;
    p->detect = detect;
    p->nw = o->workers;
    pthread_rwlock_init(&p->detect_lock, NULL);
    pthread_mutex_init(&p->rc_mu, NULL);
    /* counters since process start (indicators loaded before the pipeline included) */
    if (store) mm_store_offsets_each(store, offset_snapshot_cb, p);
    mm_ring_init(&p->out, (uint32_t)(WORKER_RING * p->nw));
    p->w = calloc((size_t)p->nw, sizeof *p->w);
    if (!p->w) abort();
    for (int i = 0; i < p->nw; i++) {
        worker *w = &p->w[i];
        w->p = p;
        w->id = i;
        w->state = mm_detect_state_new();
        mm_ring_init(&w->in, WORKER_RING);
        pthread_create(&w->th, NULL, worker_main, w);
    }
    pthread_create(&p->writer, NULL, writer_main, p);
    *out = p;
    return MM_OK;
}

void mm_pipeline_set_detect(mm_pipeline *p, mm_detect *d) {
    pthread_rwlock_wrlock(&p->detect_lock);
    mm_detect *old = p->detect;
    mm_detect_keep_windows(d, old);   /* no worker holds either now */
    p->detect = d;
    pthread_rwlock_unlock(&p->detect_lock);
    if (old && old != d) mm_detect_free(old);
}

void mm_pipeline_finish(mm_pipeline *p) {
    if (p->finished) return;
    p->finished = true;
    atomic_store(&p->closing, true);
    for (int i = 0; i < p->nw; i++) mm_ring_close(&p->w[i].in);
    for (int i = 0; i < p->nw; i++) pthread_join(p->w[i].th, NULL);
    mm_ring_close(&p->out);
    pthread_join(p->writer, NULL);
}

void mm_pipeline_free(mm_pipeline *p) {
    if (!p) return;
    mm_pipeline_finish(p);
    for (int i = 0; i < p->nw; i++) {
        mm_ring_destroy(&p->w[i].in);
        mm_detect_state_free(p->w[i].state);
        free(p->w[i].terms);
    }
    free(p->w);
    mm_ring_destroy(&p->out);
    for (uint32_t i = 0; i < p->nfs; i++) {
        batch *s = p->fs[i].parked;   /* only after a shutdown that lost a batch */
        while (s) {
            batch *n = s->next;
            batch_free(s);
            s = n;
        }
    }
    free(p->fs);
    for (int i = 0; i < p->noff; i++) free(p->okeys[i]);
    free(p->okeys);
    free(p->oinode);
    free(p->ooff);
    free(p->rc);
    mm_buf_free(&p->out_buf);
    pthread_rwlock_destroy(&p->detect_lock);
    pthread_mutex_destroy(&p->rc_mu);
    free(p);
}

static int rc_cmp(const void *a, const void *b) {
    const mm_rule_count *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return strcmp(x->rule_id, y->rule_id);
}

int mm_pipeline_rule_counts(mm_pipeline *p, mm_rule_count *out, int max) {
    pthread_mutex_lock(&p->rc_mu);
    if (p->nrc > 1) qsort(p->rc, (size_t)p->nrc, sizeof *p->rc, rc_cmp);
    int n = p->nrc < max ? p->nrc : max;
    if (n > 0) memcpy(out, p->rc, sizeof *out * (size_t)n);
    pthread_mutex_unlock(&p->rc_mu);
    return n;
}

/* ---------------------------------------------------------------- feeders */

mm_feeder *mm_feeder_new(mm_pipeline *p, bool may_block) {
    mm_feeder *f = calloc(1, sizeof *f);
    if (!f) abort();
    f->p = p;
    f->may_block = may_block;
    f->id = atomic_fetch_add(&p->next_feeder, 1);
    f->pending = calloc((size_t)p->nw, sizeof *f->pending);
    if (!f->pending) abort();
    return f;
}

/* Push one batch to worker wi.  Blocking feeders wait; others drop and count. */
static int push(mm_feeder *f, int wi, batch *b) {
    b->feeder_id = f->id;
    b->ordered = f->uses_marks;
    b->seq = b->ordered ? f->seq++ : 0;   /* only ordered batches are numbered */
    worker *w = &f->p->w[wi];
    int rc = f->may_block ? mm_ring_push(&w->in, b) : mm_ring_try_push(&w->in, b);
    /* a batch that never reaches the writer gives its number back, so the writer
     * does not wait for it */
    if (rc != MM_OK && b->ordered) f->seq--;
    return rc;
}

int mm_feeder_flush(mm_feeder *f) {
    int last = -1;
    for (int i = 0; i < f->p->nw; i++)
        if (f->pending[i] && f->pending[i]->n) last = i;
    if (last < 0 && f->marks) {
        last = 0;
        if (!f->pending[0]) f->pending[0] = batch_new();
    }
    int result = MM_OK;
    for (int i = 0; i <= last; i++) {
        batch *b = f->pending[i];
        if (!b || (!b->n && i != last)) continue;
        if (i == last) {
            b->marks = f->marks;
            f->marks = NULL;
            b->group_end = true;
        }
        int rc = push(f, i, b);
        if (rc != MM_OK) {
            /* dropped (UDP feeder and a full queue): count every record */
            if (rc == MM_EFULL) result = MM_EFULL;
            mm_count(MM_C_QUEUE_DROPS, b->n);
            batch_free(b);
        }
        f->pending[i] = NULL;
    }
    f->first_ns = 0;
    return result;
}

int mm_feeder_put(mm_feeder *f, const mm_source *src, const mm_decoder *dec, const char *data,
                  size_t len, int64_t recv_ns) {
    mm_count(MM_C_RECORDS_IN, 1);
    if (len > MM_MAX_RECORD) {
        len = MM_MAX_RECORD;
        mm_count(MM_C_LINES_TRUNCATED, 1);
    }
    int wi;
    mm_str key = dec && dec->entity ? dec->entity((mm_str){data, (uint32_t)len}) : (mm_str){0};
    if (key.len) wi = (int)(mm_hash(key.p, key.len, 0) % (uint64_t)f->p->nw);
    else wi = (int)(f->rr++ % (uint32_t)f->p->nw);
    batch *b = f->pending[wi];
    if (!b) b = f->pending[wi] = batch_new();
    rec *r = &b->recs[b->n++];
    r->line = mm_arena_str(&b->arena, data, len);
    r->src = src;
    r->dec = dec;
    r->recv_ns = recv_ns;
    int64_t now = mm_mono_ns();
    if (!f->first_ns) f->first_ns = now;
    if (b->n == BATCH_RECORDS || now - f->first_ns > FEEDER_FLUSH_NS) return mm_feeder_flush(f);
    return MM_OK;
}

void mm_feeder_mark_offset(mm_feeder *f, const char *key, int64_t inode, int64_t offset) {
    if (!f->uses_marks) {
        /* from now on batches are stored in sequence; send what is pending first so
         * no earlier batch is mistaken for part of an ordered group */
        mm_feeder_flush(f);
        f->uses_marks = true;
    }
    /* keep only the newest mark per key */
    for (mark *m = f->marks; m; m = m->next)
        if (strcmp(m->key, key) == 0) {
            m->inode = inode;
            m->offset = offset;
            return;
        }
    mark *m = calloc(1, sizeof *m);
    if (!m) abort();
    m->key = strdup(key);
    if (!m->key) abort();
    m->inode = inode;
    m->offset = offset;
    m->next = f->marks;
    f->marks = m;
}

void mm_feeder_free(mm_feeder *f) {
    if (!f) return;
    mm_feeder_flush(f);
    for (int i = 0; i < f->p->nw; i++)
        if (f->pending[i]) batch_free(f->pending[i]);
    marks_free(f->marks);
    free(f->pending);
    free(f);
}
