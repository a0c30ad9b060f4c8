/* libFuzzer target: the "ecs" decoder (the packet sensor's flat JSON and nested ECS
 * JSON: the bounded scanner, its jansson fallback). */
#include "fuzz_decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_decoder("ecs", data, size); }
