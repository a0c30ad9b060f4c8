/* libFuzzer target: the "winlog" decoder (Windows events as JSON: Winlogbeat,
 * NXLog, evtx_dump) and the shared Windows ECS mapping. */
#include "fuzz_decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_decoder("winlog", data, size); }
