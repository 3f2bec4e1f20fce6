/* E-mail addresses (email.py): for each '@' in the window, the run of local-part characters
 * before it (from its start, as email.py's rstrip finds it) and email.SHAPE matched there:
 * a local part of 1–64 characters starting with a letter or digit, then labels (1–63
 * letters, digits and hyphens, starting and ending with a letter or digit) each followed by
 * a dot, then a top-level domain of 2–24 letters not followed by a letter, digit or hyphen.
 * With as many labels as possible first, then fewer, as the regular expression backtracks. */
#include "native.h"

static int local_char(Py_UCS4 c) {
    return ascii_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static int label_char(Py_UCS4 c) { return ascii_alnum(c) || c == '-'; }

/* The end of email.SHAPE matched at the '@' `at` with its local part from `local`, or -1. */
static Py_ssize_t match_address(const Text *t, Py_ssize_t local, Py_ssize_t at, Py_ssize_t end) {
    if (local > 0 && local_char(text_at(t, local - 1)))
        return -1;
    if (local == at || at - local > 64 || !ascii_alnum(text_at(t, local)))
        return -1;
    /* The labels, as many as there are: the top-level domain may start after each of their
     * dots, tried from the last one back (labels hold no dot, so the previous start is just
     * after the previous dot). */
    Py_ssize_t i = at + 1, last = -1;
    while (1) {
        Py_ssize_t j = i;
        while (j < end && label_char(text_at(t, j)))
            j++;
        int valid = j > i && j - i <= 63 && ascii_alnum(text_at(t, i)) &&
                    ascii_alnum(text_at(t, j - 1));
        if (!valid || j >= end || text_at(t, j) != '.')
            break;
        last = j + 1;
        i = j + 1;
    }
    for (Py_ssize_t s = last; s > at + 1;) {
        Py_ssize_t letters = 0;
        while (s + letters < end && letters < 24 && ascii_alpha(text_at(t, s + letters)))
            letters++;
        for (; letters >= 2; letters--) {
            Py_ssize_t e = s + letters;
            if (e >= end || !label_char(text_at(t, e)))
                return e;
        }
        s -= 2; /* the previous label's start: after the dot before it */
        while (s > at + 1 && text_at(t, s - 1) != '.')
            s--;
    }
    return -1;
}

int email_find(const Text *t, Py_ssize_t start, Py_ssize_t end, const CheckObject *c,
               emit_fn emit, void *sink) {
    for (Py_ssize_t at = start; at < end; at++) {
        if (text_at(t, at) != '@')
            continue;
        Py_ssize_t local = at;
        while (local > start && local_char(text_at(t, local - 1)))
            local--;
        Py_ssize_t e = match_address(t, local, at, end);
        if (e > at && emit(sink, local, e, 0.95) < 0)
            return -1;
    }
    return 0;
}
