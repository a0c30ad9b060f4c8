/* bench_udp_send: offer syslog datagrams at a fixed rate.
 *
 *   bench_udp_send HOST PORT RATE SECONDS FILE
 *
 * Sends the lines of FILE round-robin to HOST:PORT at RATE messages per second for
 * SECONDS, pacing in 1 ms slots with sendmmsg, and prints "udp_sent N msgs". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: bench_udp_send HOST PORT RATE SECONDS FILE\n");
        return 2;
    }
    long rate = atol(argv[3]);
    double secs = atof(argv[4]);
    FILE *f = fopen(argv[5], "rb");
    if (!f) {
        perror(argv[5]);
        return 1;
    }
    char **lines = NULL;
    size_t *lens = NULL, nl = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t r;
    while ((r = getline(&line, &cap, f)) > 0) {
        if (line[r - 1] == '\n') r--;
        if (r == 0) continue;
        lines = realloc(lines, sizeof *lines * (nl + 1));
        lens = realloc(lens, sizeof *lens * (nl + 1));
        lines[nl] = malloc((size_t)r);
        memcpy(lines[nl], line, (size_t)r);
        lens[nl++] = (size_t)r;
    }
    free(line);
    fclose(f);
    if (!nl) return 1;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("connect");
        return 1;
    }
    int sndbuf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    long long total = (long long)(rate * secs), sent = 0, errors = 0;
    long long t0 = now_ns();
    size_t li = 0;
    enum { VLEN = 64 };
    struct mmsghdr msgs[VLEN];
    struct iovec iov[VLEN];
    while (sent < total) {
        long long due = (long long)((double)(now_ns() - t0) * (double)rate / 1e9);
        if (due > total) due = total;
        if (due <= sent) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
            continue;
        }
        while (sent < due) {
            int k = (int)((due - sent) < VLEN ? (due - sent) : VLEN);
            for (int i = 0; i < k; i++) {
                iov[i].iov_base = lines[li];
                iov[i].iov_len = lens[li];
                li = (li + 1) % nl;
                memset(&msgs[i], 0, sizeof msgs[i]);
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            int s = sendmmsg(fd, msgs, (unsigned)k, 0);
            if (s <= 0) {
                errors++;
                s = k;  /* count as offered; the receiver's figure tells the loss */
            }
            sent += s;
        }
    }
    double el = (double)(now_ns() - t0) / 1e9;
    printf("udp_sent %lld msgs\n", sent);
    printf("udp_send_seconds %.2f s\n", el);
    printf("udp_offered_rate %.0f msgs/s\n", (double)sent / el);
    printf("udp_send_errors %lld errors\n", errors);
    close(fd);
    return 0;
}
