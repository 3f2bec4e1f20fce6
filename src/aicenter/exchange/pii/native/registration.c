/* Resident and foreigner registration numbers (rrn.py, foreigner_number.py, through
 * registration_shape.py): YYMMDD-GNNNNNC, the candidate being a match of the shared 6 + 7
 * shape. `mask` holds the family's gender digits G, `offset` the check-digit constant
 * (C = (offset − Σ wᵢ·dᵢ mod 11) mod 10: 11 for residents, 13 for foreigners).
 */
#include "native.h"

static const int DAYS_IN_MONTH[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
static const int WEIGHTS[12] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};

/* The 13 digits of a 6 + 7 candidate: the first six and the last seven characters. */
void registration_digits(const Text *t, Py_ssize_t s, Py_ssize_t e, int d[13]) {
    for (int i = 0; i < 6; i++)
        d[i] = digit_at(t, s + i);
    for (int i = 0; i < 7; i++)
        d[6 + i] = digit_at(t, e - 7 + i);
}

/* EAN-13 with prefix 880 and a valid check digit (registration_shape.korean_barcode). */
static int korean_barcode(const int d[13]) {
    if (d[0] != 8 || d[1] != 8 || d[2] != 0)
        return 0;
    int total = 0;
    for (int i = 0; i < 12; i++)
        total += (i % 2) ? 3 * d[i] : d[i];
    return (10 - total % 10) % 10 == d[12];
}

double registration_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c) {
    int d[13];
    if (e - s < 13)
        return 0.0; /* not a match of the 6 + 7 shape */
    Py_UCS4 g = text_at(t, e - 7);
    if (!is_ascii_digit(g) || !((c->mask >> (g - '0')) & 1))
        return 0.0;
    registration_digits(t, s, e, d);
    int month = 10 * d[2] + d[3], day = 10 * d[4] + d[5];
    if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1])
        return 0.0;
    int total = 0;
    for (int i = 0; i < 12; i++)
        total += WEIGHTS[i] * d[i];
    int valid = (c->offset - total % 11) % 10 == d[12];
    if (valid && e - s > 13)
        return 0.95; /* separated and valid, with or without a context word */
    if (words_near(c->words, t, s, e))
        return valid ? 0.95 : 0.80;
    if (valid && !korean_barcode(d))
        return 0.70;
    return 0.0;
}
