/* IPv4 addresses (ipv4.py): four dotted octets 0–255 without leading zeros; 0.85. */
#include "native.h"

double ipv4_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c) {
    Py_ssize_t i = s;
    while (i < e) {
        Py_ssize_t first = i;
        int value = 0;
        while (i < e && text_at(t, i) != '.') {
            if (!is_ascii_digit(text_at(t, i)))
                return 0.0; /* not the shape (int() would fail): no negative "digits" */
            if (value <= 255) /* past 255 the octet is rejected anyway: no overflow */
                value = 10 * value + digit_at(t, i);
            i++;
        }
        if ((i - first > 1 && text_at(t, first) == '0') || value > 255)
            return 0.0;
        i++; /* the dot */
    }
    return 0.85;
}
