/* libFuzzer target: the SSH analyzer (src/sensor/app_ssh.c) driven as the sensor
 * drives it.  The input is a list of records: a control byte (bit 0: direction,
 * 1 = server to client; bit 1: a gap of `len` bytes instead of data), a
 * 2-byte big-endian length, then the bytes.  The probe sees the first bytes of each
 * direction; every event emitted must be one valid JSON object. */
#include "../sensor_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mm_flow *f = sh_fuzz_flow(22);
    sh_fuzz_records(&mm_app_ssh, f, data, size);
    return 0;
}
