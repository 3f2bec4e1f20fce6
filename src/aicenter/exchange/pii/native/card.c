/* Payment cards (card.py): Luhn over the digits; separated numbers with an international
 * issuer's prefix 0.90, anything else that passes only with a context word (0.85). 4-6-5
 * grouping is American Express's only (34, 37). */
#include "native.h"

/* card.py's _ISSUER_PREFIX: Visa 4, Mastercard 51–55 and 2221–2720, Amex 34/37, JCB
 * 3528–3589, Diners 36/38, UnionPay 62, Discover 6011/65. */
static int international_issuer(const int *d) {
    int p2 = 10 * d[0] + d[1], p4 = 100 * p2 + 10 * d[2] + d[3];
    return d[0] == 4 || (p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720) || p2 == 34 ||
           p2 == 37 || (p4 >= 3528 && p4 <= 3589) || p2 == 36 || p2 == 38 || p2 == 62 ||
           p4 == 6011 || p2 == 65;
}

double card_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c) {
    int d[32], n = 0;
    for (Py_ssize_t i = s; i < e; i++) {
        Py_UCS4 ch = text_at(t, i);
        if (ch == '-' || ch == ' ')
            continue;
        if (n == 32)
            return 0.0;
        d[n++] = (int)ch - '0';
    }
    int separated = n < e - s;
    if (n < 4)
        return 0.0;
    if (separated && n == 15 && !(d[0] == 3 && (d[1] == 4 || d[1] == 7)))
        return 0.0;
    int total = 0;
    for (int k = 0; k < n; k++) {
        int v = d[n - 1 - k];
        if (k % 2) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        total += v;
    }
    if (total % 10)
        return 0.0;
    if (separated && international_issuer(d))
        return 0.9;
    return words_near(c->words, t, s, e) ? 0.85 : 0.0;
}
