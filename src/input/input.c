/* input: the table of input kinds and the batch file reader.
 *
 * An input kind is one row: its configuration name and the functions that start it
 * (opening what can fail, then its thread) and stop it (join, flush, close).  Adding
 * a kind is one file and one row here. */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct mm_input_kind {
    const char *name;
    mm_input_type type;
    int (*start)(void **st, const mm_input_conf *c, const mm_source *src, mm_pipeline *p,
                 mm_err *err);
    void (*stop)(void *st);
    int (*port)(const void *st);   /* NULL: no port */
} mm_input_kind;

static const mm_input_kind kinds[] = {
    {"file", MM_IN_FILE, mm_input_file_start, mm_input_file_stop, NULL},
    {"syslog", MM_IN_SYSLOG, mm_input_syslog_start, mm_input_syslog_stop, mm_input_syslog_port},
    {"pcap", MM_IN_PCAP, mm_input_pcap_start, mm_input_pcap_stop, NULL},
};

/* The source lives here, not in the kind's state: records already handed to the
 * pipeline point at it until mm_pipeline_finish, which comes after the stop. */
struct mm_input {
    const mm_input_kind *kind;
    void *st;                /* NULL once stopped */
    mm_source src;
};

int mm_input_start(mm_input **out, const mm_input_conf *c, mm_pipeline *p, mm_err *err) {
    *out = NULL;
    const mm_input_kind *k = NULL;
    for (size_t i = 0; i < MM_ARRAY_LEN(kinds); i++)
        if (kinds[i].type == c->type) k = &kinds[i];
    if (!k) {
        mm_err_set(err, "input %s: unknown input type", c->name);
        return MM_EINVAL;
    }
    mm_input *in = calloc(1, sizeof *in);
    if (!in) return MM_ENOMEM;
    in->kind = k;
    in->src = (mm_source){c->name, c->tenant, c->segment, c->format};
    int rc = k->start(&in->st, c, &in->src, p, err);
    if (rc < 0) {
        free(in);
        return rc;
    }
    *out = in;
    return MM_OK;
}

void mm_input_stop(mm_input *in) {
    if (!in || !in->st) return;
    in->kind->stop(in->st);
    in->st = NULL;
}

void mm_input_free(mm_input *in) {
    if (!in) return;
    mm_input_stop(in);
    free(in);
}

int mm_input_port(const mm_input *in) {
    return in && in->st && in->kind->port ? in->kind->port(in->st) : -1;
}

int64_t mm_input_read_files(mm_pipeline *p, const mm_source *src, const mm_decoder *dec,
                            char *const *paths, int npaths, mm_err *err) {
    mm_feeder *f = mm_feeder_new(p, true);
    int64_t total = 0;
    int rc = MM_OK;
    for (int i = 0; i < npaths && rc == MM_OK; i++) {
        bool is_stdin = strcmp(paths[i], "-") == 0;
        int fd = is_stdin ? STDIN_FILENO : open(paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            mm_err_set(err, "%s: %s", paths[i], strerror(errno));
            rc = errno == ENOENT ? MM_ENOENT : MM_EIO;
            break;
        }
        int64_t n = mm_input_file_read_fd(f, src, dec, fd, is_stdin ? "<stdin>" : paths[i], err);
        if (!is_stdin) close(fd);
        if (n < 0) rc = (int)n;
        else total += n;
    }
    mm_feeder_free(f);
    return rc < 0 ? rc : total;
}
