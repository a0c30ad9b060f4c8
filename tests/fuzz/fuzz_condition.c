/* libFuzzer target: the Sigma condition parser (and, or, not, parentheses, 1 of,
 * all of, them, patterns, precedence) on arbitrary text, inside a rule with a fixed
 * set of selections, then evaluated on two events.  The text goes in as a YAML block
 * scalar so any byte sequence reaches the parser, not the YAML reader. */
#include "detect/detect_int.h"

#include <stdlib.h>
#include <string.h>

static const char head[] =
    "title: fuzz\nid: f1\nlogsource: {product: windows, category: process_creation}\n"
    "detection:\n"
    "  sel_a:\n    Image|endswith: '\\\\a.exe'\n"
    "  sel_b:\n    CommandLine|contains|all: [x, y]\n"
    "  filter_main:\n    User: SYSTEM\n"
    "  filter_opt:\n    ParentImage: null\n"
    "  keywords:\n    - mimikatz\n"
    "  condition: |-\n    ";

static mm_event *event(mm_arena *a, int i) {
    mm_event *ev = mm_arena_zalloc(a, sizeof *ev);
    mm_event_init(ev, a);
    ev->vendor_prefix = "winlog.event_data";
    mm_event_set(ev, mm_field_by_name("winlog.channel", 14), mm_str_c("Microsoft-Windows-Sysmon/Operational"));
    mm_event_set(ev, MM_F_EVENT_CODE, mm_str_c("1"));
    mm_event_vendor(ev, mm_str_c("Image"), mm_str_c(i ? "c:\\a.exe" : "c:\\b.exe"));
    mm_event_vendor(ev, mm_str_c("CommandLine"), mm_str_c(i ? "x y mimikatz" : "y"));
    if (i) mm_event_vendor(ev, mm_str_c("User"), mm_str_c("SYSTEM"));
    ev->raw = mm_str_c(i ? "x y mimikatz" : "nothing");
    return ev;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    size_t hl = sizeof head - 1;
    char *y = malloc(hl + size + 2);
    memcpy(y, head, hl);
    for (size_t i = 0; i < size; i++) {
        char c = (char)data[i];
        y[hl + i] = (c == '\n' || c == '\r' || (unsigned char)c < 0x20 || (unsigned char)c >= 0x7f) ? ' ' : c;
    }
    y[hl + size] = '\n';
    y[hl + size + 1] = 0;
    mm_err err = {{0}};
    mm_detect *d = mm_detect_from_text("fuzz.yml", y, hl + size + 1, NULL, &err);
    free(y);
    if (!d) return 0;
    mm_arena a;
    mm_arena_init(&a, 1 << 14);
    mm_detect_state *s = mm_detect_state_new();
    for (int i = 0; i < 2; i++) {
        mm_alert *al = NULL;
        mm_detect_event(d, s, event(&a, i), &a, &al);
    }
    mm_detect_state_free(s);
    mm_arena_free(&a);
    mm_detect_free(d);
    return 0;
}
