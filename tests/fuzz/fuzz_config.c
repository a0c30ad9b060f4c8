/* Fuzz target: the configuration loader (YAML tree + schema checks). */
#include "core/core.h"

#include <stdint.h>
#include <stddef.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mm_config c;
    mm_config_defaults(&c);
    mm_err err;
    mm_config_load_text(&c, (const char *)data, size, "fuzz", &err);
    mm_config_free(&c);
    return 0;
}
