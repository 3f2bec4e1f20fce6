/* Bank accounts (bank_account.py): lo–hi digits and a context word within the reach of
 * `words` (30 characters before, 12 after); 0.75. */
#include "native.h"

double bank_account_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c) {
    Py_ssize_t digits = 0;
    for (Py_ssize_t i = s; i < e; i++)
        digits += text_at(t, i) != '-';
    if (digits >= c->lo && digits <= c->hi && words_near(c->words, t, s, e))
        return 0.75;
    return 0.0;
}
