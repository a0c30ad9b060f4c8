/* app_ftp: placeholder until the analyzer lands (recognises nothing). */
#include "sensor_int.h"

static const uint16_t ports[] = {21, 0};
static int probe(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) { return MM_PROBE_NO; }
static void *open_(mm_flow *f) { return f; }
static void data(void *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {}
static void close_(void *st, mm_flow *f) {}
const mm_analyzer mm_app_ftp = {"ftp", 1, 0, ports, probe, open_, data, NULL, close_};
const mm_analyzer mm_app_ftp_data = {"ftp-data", 1, 0, ports, probe, open_, data, NULL, close_};
