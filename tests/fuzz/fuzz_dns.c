/* libFuzzer target: the DNS analyzer (src/sensor/app_dns.c) driven as the sensor
 * drives it.  The input is a list of records: a control byte (bit 0: direction,
 * 1 = server to client; bit 1: a gap of `len` bytes instead of data; the first
 * record's bit 2 makes the flow UDP, one datagram per record), a 2-byte big-endian
 * length, then the bytes.  The probe sees the first bytes of each direction; every
 * event emitted must be one valid JSON object. */
#include "../sensor_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mm_flow *f = sh_fuzz_flow(53);
    if (size && (data[0] & 4)) f->proto = IPPROTO_UDP;
    sh_fuzz_records(&mm_app_dns, f, data, size);
    return 0;
}
