/* Corporate registration numbers (corporate_number.py): C = (10 − Σ wᵢ·dᵢ mod 10) mod 10 with
 * w = 1,2,1,2,… on the first twelve digits, and a context word required (0.97). */
#include "native.h"

void registration_digits(const Text *t, Py_ssize_t s, Py_ssize_t e, int d[13]);

double corporate_number_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c) {
    int d[13], total = 0;
    if (e - s < 13)
        return 0.0; /* not a match of the 6 + 7 shape */
    registration_digits(t, s, e, d);
    for (int i = 0; i < 12; i++)
        total += (i % 2) ? 2 * d[i] : d[i];
    if ((10 - total % 10) % 10 == d[12] && words_near(c->words, t, s, e))
        return 0.97;
    return 0.0;
}
