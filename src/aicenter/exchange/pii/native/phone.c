/* Korean telephone numbers (phone.py): finditer of phone.SHAPE in a window, compiled.
 *
 * phone.SHAPE is matched by a small backtracking matcher over a tree of the same pattern
 * (literals, ASCII digits, character sets, greedy counted repeats and optionals, ordered alternatives),
 * so that the first alternative in the pattern's order whose match passes the final
 * look-ahead wins, exactly as in Python's re. Scores as in phone.py: +82 and separated forms
 * 0.90, 010 + 8 digits 0.85, the rest only next to a context word (0.80).
 */
#include "native.h"

#include <string.h>

typedef enum { N_CHAR, N_DIGIT, N_SET, N_REPEAT, N_OPTIONAL, N_ALT, N_SEQ } NodeKind;

typedef struct Node {
    NodeKind kind;
    Py_UCS4 c;                  /* N_CHAR */
    const char *set;            /* N_SET: ASCII characters */
    int min, max;               /* N_REPEAT of a one-character node */
    const struct Node *child;   /* N_REPEAT (one character), N_OPTIONAL (a sequence) */
    const struct Node *const *items; /* N_SEQ: the sequence; N_ALT: the alternatives (sequences) */
    int count;
} Node;

typedef struct Cont {
    const Node *seq;
    int next;
    const struct Cont *up;
} Cont;

#define CHAR(name, ch) static const Node name = {.kind = N_CHAR, .c = ch};
#define SET(name, chars) static const Node name = {.kind = N_SET, .set = chars};
#define REPEAT(name, node, lo, hi)                                                           \
    static const Node name = {.kind = N_REPEAT, .child = &node, .min = lo, .max = hi};
#define OPTIONAL(name, seq) static const Node name = {.kind = N_OPTIONAL, .child = &seq};
#define SEQ(name, ...)                                                                       \
    static const Node *const name##_items[] = {__VA_ARGS__};                                 \
    static const Node name = {.kind = N_SEQ, .items = name##_items,                          \
                              .count = sizeof(name##_items) / sizeof(Node *)};
#define ALT(name, ...)                                                                       \
    static const Node *const name##_items[] = {__VA_ARGS__};                                 \
    static const Node name = {.kind = N_ALT, .items = name##_items,                          \
                              .count = sizeof(name##_items) / sizeof(Node *)};

static const Node DIGIT = {.kind = N_DIGIT};
CHAR(SPACE, ' ')
CHAR(PLUS, '+')
CHAR(OPEN, '(')
CHAR(CLOSE, ')')
CHAR(D0, '0')
CHAR(D1, '1')
CHAR(D2, '2')
CHAR(D5, '5')
CHAR(D7, '7')
CHAR(D8, '8')
SET(DASH_OR_DOT, "-.")
SET(MOBILE_SECOND, "016789")
SET(REGION_FIRST, "3456")
SET(REGION_SECOND, "12345")
SET(REPRESENTATIVE_SECOND, "568")
REPEAT(MAYBE_SPACE, SPACE, 0, 1)
REPEAT(DIGITS_3_4, DIGIT, 3, 4)
REPEAT(DIGITS_4, DIGIT, 4, 4)
REPEAT(DIGITS_7_8, DIGIT, 7, 8)
REPEAT(DIGITS_8, DIGIT, 8, 8)

/* _SEP = (?: ?[-.] ?| ) */
SEQ(SEP_MARK, &MAYBE_SPACE, &DASH_OR_DOT, &MAYBE_SPACE)
SEQ(SEP_SPACE, &SPACE)
ALT(SEP_ALT, &SEP_MARK, &SEP_SPACE)
SEQ(SEP, &SEP_ALT)
OPTIONAL(MAYBE_SEP, SEP)

/* _AREA = (?:1[016789]|2|[3-6][1-5]|70|80|50\d) */
SEQ(AREA_MOBILE, &D1, &MOBILE_SECOND)
SEQ(AREA_SEOUL, &D2)
SEQ(AREA_REGION, &REGION_FIRST, &REGION_SECOND)
SEQ(AREA_70, &D7, &D0)
SEQ(AREA_80, &D8, &D0)
SEQ(AREA_50X, &D5, &D0, &DIGIT)
ALT(AREA_ALT, &AREA_MOBILE, &AREA_SEOUL, &AREA_REGION, &AREA_70, &AREA_80, &AREA_50X)

/* intl: \+82 SEP? (?:\(0\) SEP?|0)? AREA (?:SEP|\) SEP?)? \d{3,4} SEP? \d{4} */
SEQ(TRUNK_PAREN, &OPEN, &D0, &CLOSE, &MAYBE_SEP)
SEQ(TRUNK_ZERO, &D0)
ALT(TRUNK_ALT, &TRUNK_PAREN, &TRUNK_ZERO)
SEQ(TRUNK, &TRUNK_ALT)
OPTIONAL(MAYBE_TRUNK, TRUNK)
SEQ(AFTER_AREA_CLOSE, &CLOSE, &MAYBE_SEP)
ALT(AFTER_AREA_ALT, &SEP, &AFTER_AREA_CLOSE)
SEQ(AFTER_AREA, &AFTER_AREA_ALT)
OPTIONAL(MAYBE_AFTER_AREA, AFTER_AREA)
SEQ(INTERNATIONAL, &PLUS, &D8, &D2, &MAYBE_SEP, &MAYBE_TRUNK, &AREA_ALT, &MAYBE_AFTER_AREA,
    &DIGITS_3_4, &MAYBE_SEP, &DIGITS_4)

/* sep: (?:\(0 AREA\) ?|0 AREA SEP) \d{3,4} SEP \d{4} */
SEQ(PAREN_AREA, &OPEN, &D0, &AREA_ALT, &CLOSE, &MAYBE_SPACE)
SEQ(ZERO_AREA_SEP, &D0, &AREA_ALT, &SEP)
ALT(PREFIX_ALT, &PAREN_AREA, &ZERO_AREA_SEP)
SEQ(SEPARATED, &PREFIX_ALT, &DIGITS_3_4, &SEP, &DIGITS_4)

/* mobile: 010\d{8}; plain: 0 AREA \d{7,8}; rep: 1[568]\d\d SEP? \d{4} */
SEQ(MOBILE_PLAIN, &D0, &D1, &D0, &DIGITS_8)
SEQ(OTHER_PLAIN, &D0, &AREA_ALT, &DIGITS_7_8)
SEQ(REPRESENTATIVE, &D1, &REPRESENTATIVE_SECOND, &DIGIT, &DIGIT, &MAYBE_SEP, &DIGITS_4)

enum { INTL, SEPARATED_FORM, MOBILE, PLAIN, REP, FORMS };
static const Node *const FORM[FORMS] = {&INTERNATIONAL, &SEPARATED, &MOBILE_PLAIN,
                                        &OTHER_PLAIN, &REPRESENTATIVE};

static int one(const Node *node, Py_UCS4 c) {
    switch (node->kind) {
    case N_CHAR:
        return c == node->c;
    case N_DIGIT:
        return is_ascii_digit(c);
    case N_SET:
        return c < 128 && c != 0 && strchr(node->set, (int)c) != NULL;
    default:
        return 0;
    }
}

/* SHAPE's closing look-ahead (?![0-9A-Za-z]|[-.]\d), the window's end being the text's end. */
static int may_end(const Text *t, Py_ssize_t limit, Py_ssize_t q) {
    if (q >= limit)
        return 1;
    Py_UCS4 c = text_at(t, q);
    if (ascii_alnum(c))
        return 0;
    return !((c == '-' || c == '.') && q + 1 < limit && is_ascii_digit(text_at(t, q + 1)));
}

/* The end of the first match of seq->items[i:] then the continuations, or -1. */
static Py_ssize_t match(const Text *t, Py_ssize_t limit, const Node *seq, int i, Py_ssize_t pos,
                        const Cont *k) {
    if (i == seq->count) {
        if (k != NULL)
            return match(t, limit, k->seq, k->next, pos, k->up);
        return may_end(t, limit, pos) ? pos : -1;
    }
    const Node *node = seq->items[i];
    switch (node->kind) {
    case N_CHAR:
    case N_DIGIT:
    case N_SET:
        if (pos < limit && one(node, text_at(t, pos)))
            return match(t, limit, seq, i + 1, pos + 1, k);
        return -1;
    case N_REPEAT: {
        int run = 0;
        while (run < node->max && pos + run < limit && one(node->child, text_at(t, pos + run)))
            run++;
        for (; run >= node->min; run--) {
            Py_ssize_t end = match(t, limit, seq, i + 1, pos + run, k);
            if (end >= 0)
                return end;
        }
        return -1;
    }
    case N_SEQ: { /* a group */
        Cont rest = {seq, i + 1, k};
        return match(t, limit, node, 0, pos, &rest);
    }
    case N_OPTIONAL: {
        Cont rest = {seq, i + 1, k};
        Py_ssize_t end = match(t, limit, node->child, 0, pos, &rest);
        return end >= 0 ? end : match(t, limit, seq, i + 1, pos, k);
    }
    case N_ALT: {
        Cont rest = {seq, i + 1, k};
        for (int a = 0; a < node->count; a++) {
            Py_ssize_t end = match(t, limit, node->items[a], 0, pos, &rest);
            if (end >= 0)
                return end;
        }
        return -1;
    }
    default:
        return -1;
    }
}

int phone_find(const Text *t, Py_ssize_t start, Py_ssize_t limit, const CheckObject *c,
               emit_fn emit, void *sink) {
    Py_ssize_t pos = start;
    while (pos < limit) {
        Py_UCS4 ch = text_at(t, pos);
        Py_UCS4 before = pos > 0 ? text_at(t, pos - 1) : 0;
        int starts = ch == '+' || ch == '(' || ch == '0' || ch == '1';
        if (!starts || ascii_alnum(before) || before == '-' || before == '.' || before == '+') {
            pos++;
            continue;
        }
        Py_ssize_t end = -1;
        int form = 0;
        for (; form < FORMS && end < 0; form++)
            end = match(t, limit, FORM[form], 0, pos, NULL);
        if (end < 0) {
            pos++;
            continue;
        }
        form--;
        double score = 0.0;
        if (form == INTL || form == SEPARATED_FORM)
            score = 0.9;
        else if (form == MOBILE)
            score = 0.85;
        else if (words_near(c->words, t, pos, end))
            score = 0.8;
        if (score != 0.0 && emit(sink, pos, end, score) < 0)
            return -1;
        pos = end > pos ? end : pos + 1;
    }
    return 0;
}
