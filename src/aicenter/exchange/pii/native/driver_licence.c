/* Driver's licence numbers (driver_licence.py): region code AA in `mask` (bit AA − 10 for
 * 11–26 and 28); the dashed 2-2-6-2 form is distinctive, the undashed one needs context. */
#include "native.h"

double driver_licence_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c) {
    if (e - s < 12)
        return 0.0; /* not a match of the shape */
    int region = 10 * digit_at(t, s) + digit_at(t, s + 1);
    if (region < 10 || region > 41 || !((c->mask >> (region - 10)) & 1))
        return 0.0;
    return distinctive_or_in_context(e - s > 12, c, t, s, e);
}
