/* libFuzzer target: the FortiGate decoder (syslog header, key=value scan, ECS
 * mapping). */
#include "fuzz_decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_decoder("fortigate", data, size); }
