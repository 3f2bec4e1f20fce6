/* Business registration numbers (business_number.py): Σ = Σ wᵢ·dᵢ (w = 1,3,7,1,3,7,1,3,5) +
 * ⌊5·d9/10⌋, C = (10 − Σ mod 10) mod 10, and a context word required (0.93). */
#include "native.h"

static const int WEIGHTS[9] = {1, 3, 7, 1, 3, 7, 1, 3, 5};

double business_number_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c) {
    int d[10], n = 0;
    for (Py_ssize_t i = s; i < e && n < 10; i++) {
        Py_UCS4 ch = text_at(t, i);
        if (ch != '-')
            d[n++] = (int)ch - '0';
    }
    if (n != 10)
        return 0.0;
    int total = (5 * d[8]) / 10;
    for (int i = 0; i < 9; i++)
        total += WEIGHTS[i] * d[i];
    if ((10 - total % 10) % 10 == d[9] && words_near(c->words, t, s, e))
        return 0.93;
    return 0.0;
}
