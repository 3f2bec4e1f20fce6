/* IPv6 addresses (ipv6.py): the run of hex digits, dots and colons that triggered the
 * search is widened to its hex neighbours and validated by ipaddress's rules (valid_ipv6);
 * 0.90. A run with neither '::' nor six colons cannot hold an address (ipv6.py's prefilter). */
#include "native.h"

/* ipv6._valid_ipv4 on text[s:e]: four decimal octets 0–255 without leading zeros. */
static int valid_ipv4(const Text *t, Py_ssize_t s, Py_ssize_t e) {
    int octets = 0;
    Py_ssize_t i = s;
    while (1) {
        Py_ssize_t first = i;
        int value = 0;
        while (i < e && text_at(t, i) != '.') {
            Py_UCS4 c = text_at(t, i);
            if (!is_ascii_digit(c) || i - first >= 3)
                return 0;
            value = 10 * value + (int)(c - '0');
            i++;
        }
        if (i == first || (i - first > 1 && text_at(t, first) == '0') || value > 255)
            return 0;
        octets++;
        if (i == e)
            return octets == 4;
        i++; /* the dot */
    }
}

/* ipv6.valid_ipv6 on text[s:e]. */
static int valid_ipv6(const Text *t, Py_ssize_t s, Py_ssize_t e) {
    Py_ssize_t from[11], to[11];
    int n = 0;
    Py_ssize_t first = s;
    for (Py_ssize_t i = s; i <= e; i++) {
        if (i == e || text_at(t, i) == ':') {
            if (n == 10)
                return 0; /* more than nine parts, with or without an IPv4 tail */
            from[n] = first;
            to[n++] = i;
            first = i + 1;
        }
    }
    if (n < 3)
        return 0;
    int dotted = 0;
    for (Py_ssize_t i = from[n - 1]; i < to[n - 1]; i++)
        dotted |= text_at(t, i) == '.';
    int parts = n;
    if (dotted) {
        if (!valid_ipv4(t, from[n - 1], to[n - 1]))
            return 0;
        n--;         /* the hextets, the tail's two zero groups aside */
        parts = n + 2;
    }
    if (parts > 9)
        return 0;
    int skip = -1;
    for (int i = 1; i < parts - 1; i++) {
        int empty = i < n ? from[i] == to[i] : 0; /* the tail's groups are "0" */
        if (empty) {
            if (skip >= 0)
                return 0;
            skip = i;
        }
    }
    int hi, lo; /* hextets before and after '::' (the tail's groups count after it) */
    if (skip < 0) {
        if (parts != 8)
            return 0;
        hi = n;
        lo = 0;
    } else {
        hi = skip;
        lo = parts - skip - 1;
        if (from[0] == to[0]) {
            if (--hi)
                return 0;
        }
        int last_empty = dotted ? 0 : from[n - 1] == to[n - 1];
        if (last_empty) {
            if (--lo)
                return 0;
        }
        if (hi + lo > 7)
            return 0;
    }
    /* Every hextet kept has 1–4 hex digits (the tail's "0" groups always do). */
    for (int i = 0; i < n; i++) {
        int kept = i < hi || (skip >= 0 ? i >= parts - lo : 0);
        if (skip < 0)
            kept = 1;
        if (!kept)
            continue;
        Py_ssize_t len = to[i] - from[i];
        if (len < 1 || len > 4)
            return 0;
        for (Py_ssize_t j = from[i]; j < to[i]; j++)
            if (!is_hex(text_at(t, j)))
                return 0;
    }
    return 1;
}

int ipv6_find(const Text *t, Py_ssize_t start, Py_ssize_t end, const CheckObject *c,
              emit_fn emit, void *sink) {
    int colons = 0, double_colon = 0;
    for (Py_ssize_t i = start; i < end; i++) {
        if (text_at(t, i) == ':') {
            colons++;
            double_colon |= i > start && text_at(t, i - 1) == ':';
        }
    }
    if (!double_colon && colons < 6)
        return 0;
    Py_ssize_t s = start;
    while (s > 0 && start - s < 5 && (is_hex(text_at(t, s - 1)) || text_at(t, s - 1) == ':'))
        s--;
    Py_ssize_t e = s;
    while (e < t->len) {
        Py_UCS4 ch = text_at(t, e);
        if (!is_hex(ch) && ch != ':' && ch != '.')
            break;
        e++;
    }
    while (e > s && text_at(t, e - 1) == '.')
        e--;
    if ((s > 0 && ascii_alnum(text_at(t, s - 1))) || (e < t->len && ascii_alnum(text_at(t, e))))
        return 0;
    int candidate_colons = 0, other = 0;
    for (Py_ssize_t i = s; i < e; i++) {
        Py_UCS4 ch = text_at(t, i);
        candidate_colons += ch == ':';
        other |= ch != ':' && ch != '.';
    }
    if (candidate_colons < 2 || !other || !valid_ipv6(t, s, e))
        return 0;
    return emit(sink, s, e, 0.9);
}
