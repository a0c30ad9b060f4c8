/* libFuzzer target: the "evtx" decoder (one Windows event as XML: the bounded
 * scanner, entities, CDATA, UserData) and the shared Windows ECS mapping. */
#include "fuzz_decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_decoder("evtx", data, size); }
