/* Passport numbers (passport.py): the 2021 form (a letter after the first three digits) is
 * distinctive; letter + 8 digits needs a context word. */
#include "native.h"

double passport_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c) {
    if (e - s < 9)
        return 0.0; /* not a match of the shape */
    int form_2021 = !Py_UNICODE_ISDIGIT(text_at(t, s + 4));
    return distinctive_or_in_context(form_2021, c, t, s, e);
}
