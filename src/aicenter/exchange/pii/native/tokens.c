/* The token pass of scanner.py (_scan_tokens) over a str's code points.
 *
 * A token is a maximal run of token characters (ASCII digits, capitals, - . space ( ) +) cut
 * at its last digit, starting at the first position that may start one (a digit, +, ( or a
 * capital not right after an ASCII letter, digit or '-') and at least 7 characters long: the
 * match of scanner._TOKEN, which can match at most once per run because it is greedy to the
 * run's last digit. Its key is the character class of the character before it, its shape
 * (digits as 9) and the classes of the two characters after it; `memo` maps a key to its plan
 * (made by make_plan(key, len(shape)) on a miss). A plan is a tuple of steps
 * (kind, function, pii_type, spans): kind 0 a compiled Check, 1 a Python check(text, s, e),
 * 2 a Python find(text, s, e) called on the token and the two characters after it, 3 a
 * compiled search (phone) called likewise; spans are
 * the candidate (start, end) pairs relative to the token (None for kind 2).
 */
#include "native.h"

#define MAX_MEMO 65536
enum { STEP_NATIVE = 0, STEP_CHECK = 1, STEP_FIND = 2, STEP_NATIVE_FIND = 3 };

static inline int is_token_char(Py_UCS4 c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
           c == ' ' || c == '(' || c == ')' || c == '+';
}

static inline int may_start_token(Py_UCS4 c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c == '+' || c == '(';
}

static inline int blocks_token(Py_UCS4 c) { /* scanner._TOKEN's look-behind */
    return ascii_alnum(c) || c == '-';
}

static inline char boundary_class(Py_UCS4 c) { /* scanner._BOUNDARY */
    if (c >= '0' && c <= '9')
        return '9';
    if (c >= 'A' && c <= 'Z')
        return 'A';
    if (c >= 'a' && c <= 'z')
        return 'a';
    if (c == '-' || c == '.' || c == '+' || c == '(' || c == ')' || c == ' ' || c == '^')
        return (char)c;
    return '_';
}

/* The next token at or after i: sets [*start, *end) and returns where to go on, or -1.
 * One loop per string kind, so that reading a code point is a plain array access. */
#define NEXT_TOKEN(NAME, TYPE)                                                                \
    static Py_ssize_t NAME(const TYPE *text, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *start,  \
                           Py_ssize_t *end) {                                                \
        while (i < n) {                                                                      \
            while (i < n && !is_token_char(text[i]))                                         \
                i++;                                                                         \
            Py_ssize_t last_digit = -1, first = -1;                                          \
            for (; i < n; i++) {                                                             \
                Py_UCS4 c = text[i];                                                         \
                if (!is_token_char(c))                                                       \
                    break;                                                                   \
                if (c >= '0' && c <= '9')                                                    \
                    last_digit = i;                                                          \
                if (first < 0 && may_start_token(c) && (i == 0 || !blocks_token(text[i - 1]))) \
                    first = i;                                                               \
            }                                                                                \
            if (first >= 0 && last_digit >= first + 6) {                                     \
                *start = first;                                                              \
                *end = last_digit + 1;                                                       \
                return i;                                                                    \
            }                                                                                \
        }                                                                                    \
        return -1;                                                                           \
    }

NEXT_TOKEN(next_token_1, Py_UCS1)
NEXT_TOKEN(next_token_2, Py_UCS2)
NEXT_TOKEN(next_token_4, Py_UCS4)

static Py_ssize_t next_token(const Text *t, Py_ssize_t i, Py_ssize_t *start, Py_ssize_t *end) {
    switch (t->kind) {
    case PyUnicode_1BYTE_KIND:
        return next_token_1(t->data, t->len, i, start, end);
    case PyUnicode_2BYTE_KIND:
        return next_token_2(t->data, t->len, i, start, end);
    default:
        return next_token_4(t->data, t->len, i, start, end);
    }
}

static PyObject *token_key(const Text *t, Py_ssize_t s, Py_ssize_t e) {
    Py_ssize_t after = t->len - e < 2 ? t->len - e : 2;
    PyObject *key = PyUnicode_New(1 + (e - s) + after, 127);
    if (key == NULL)
        return NULL;
    Py_UCS1 *k = PyUnicode_1BYTE_DATA(key);
    *k++ = s == 0 ? '^' : boundary_class(text_at(t, s - 1));
    for (Py_ssize_t i = s; i < e; i++) {
        Py_UCS4 c = text_at(t, i);
        *k++ = (c >= '0' && c <= '9') ? '9' : (Py_UCS1)c;
    }
    for (Py_ssize_t i = 0; i < after; i++)
        *k++ = boundary_class(text_at(t, e + i));
    return key;
}

typedef struct {
    const Text *text;
    const WordsObject *labels;
    PyTypeObject *finding;
    PyObject *out;
} Sink;

/* Append Finding(s, e, pii_type, score) unless a not-PII label directly precedes it. */
static int emit(const Sink *sink, Py_ssize_t s, Py_ssize_t e, PyObject *pii_type, double score) {
    if (sink->labels != NULL && words_near(sink->labels, sink->text, s, e))
        return 0;
    return append_finding(sink->out, sink->finding, s, e, pii_type, score);
}

/* Findings returned by a Python find, kept unless a not-PII label precedes them. */
static int emit_found(const Sink *sink, PyObject *found) {
    PyObject *iter = PyObject_GetIter(found), *f;
    if (iter == NULL)
        return -1;
    while ((f = PyIter_Next(iter)) != NULL) {
        int keep = 1;
        if (sink->labels != NULL) {
            if (!PyTuple_Check(f) || PyTuple_GET_SIZE(f) < 2) {
                PyErr_SetString(PyExc_TypeError, "find() must yield Findings");
                Py_DECREF(f);
                Py_DECREF(iter);
                return -1;
            }
            Py_ssize_t s = PyLong_AsSsize_t(PyTuple_GET_ITEM(f, 0));
            Py_ssize_t e = PyLong_AsSsize_t(PyTuple_GET_ITEM(f, 1));
            if (PyErr_Occurred()) {
                Py_DECREF(f);
                Py_DECREF(iter);
                return -1;
            }
            keep = !words_near(sink->labels, sink->text, s, e);
        }
        if (keep && PyList_Append(sink->out, f) < 0) {
            Py_DECREF(f);
            Py_DECREF(iter);
            return -1;
        }
        Py_DECREF(f);
    }
    Py_DECREF(iter);
    return PyErr_Occurred() ? -1 : 0;
}

typedef struct {
    const Sink *sink;
    PyObject *pii_type;
} TypedSink;

static int emit_typed(void *target, Py_ssize_t s, Py_ssize_t e, double score) {
    const TypedSink *typed = target;
    return emit(typed->sink, s, e, typed->pii_type, score);
}

static int run_step(const Sink *sink, PyObject *str, PyObject *step, Py_ssize_t s,
                    Py_ssize_t e) {
    if (!PyTuple_Check(step) || PyTuple_GET_SIZE(step) != 4) {
        PyErr_SetString(PyExc_TypeError, "a plan step is (kind, function, pii_type, spans)");
        return -1;
    }
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(step, 0));
    PyObject *fn = PyTuple_GET_ITEM(step, 1), *pii_type = PyTuple_GET_ITEM(step, 2);
    PyObject *spans = PyTuple_GET_ITEM(step, 3);
    Py_ssize_t reach = e + 2 < sink->text->len ? e + 2 : sink->text->len;
    if (kind == STEP_NATIVE_FIND) {
        if (!PyObject_TypeCheck(fn, &Check_Type) || ((CheckObject *)fn)->find == NULL) {
            PyErr_SetString(PyExc_TypeError, "a compiled search step needs a compiled search");
            return -1;
        }
        TypedSink typed = {sink, pii_type};
        return ((CheckObject *)fn)->find(sink->text, s, reach, (CheckObject *)fn, emit_typed,
                                         &typed);
    }
    if (kind == STEP_FIND) {
        PyObject *found = PyObject_CallFunction(fn, "Onn", str, s, reach);
        if (found == NULL)
            return -1;
        int rc = emit_found(sink, found);
        Py_DECREF(found);
        return rc;
    }
    if ((kind != STEP_NATIVE && kind != STEP_CHECK) || !PyTuple_Check(spans) ||
        (kind == STEP_NATIVE &&
         (!PyObject_TypeCheck(fn, &Check_Type) || ((CheckObject *)fn)->fn == NULL))) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "bad plan step");
        return -1;
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(spans); k++) {
        PyObject *span = PyTuple_GET_ITEM(spans, k);
        if (!PyTuple_Check(span) || PyTuple_GET_SIZE(span) != 2) {
            PyErr_SetString(PyExc_TypeError, "a span is (start, end)");
            return -1;
        }
        Py_ssize_t a = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 0));
        Py_ssize_t b = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 1));
        if (PyErr_Occurred())
            return -1;
        if (a < 0 || b < a || b > e - s) {
            PyErr_SetString(PyExc_ValueError, "a span outside its token");
            return -1;
        }
        double score;
        if (kind == STEP_NATIVE) {
            const CheckObject *check = (const CheckObject *)fn;
            score = check->fn(sink->text, s + a, s + b, check);
        } else {
            PyObject *value = PyObject_CallFunction(fn, "Onn", str, s + a, s + b);
            if (value == NULL)
                return -1;
            /* scanner.py keeps a candidate when its score is true: None, False, 0 drop it */
            int truth = PyObject_IsTrue(value);
            score = truth > 0 ? PyFloat_AsDouble(value) : 0.0;
            Py_DECREF(value);
            if (truth < 0 || (score == -1.0 && PyErr_Occurred()))
                return -1;
        }
        if (score != 0.0 && emit(sink, s + a, s + b, pii_type, score) < 0)
            return -1;
    }
    return 0;
}

static int run_token(const Sink *sink, PyObject *str, PyObject *memo, PyObject *make_plan,
                     Py_ssize_t s, Py_ssize_t e) {
    PyObject *key = token_key(sink->text, s, e);
    if (key == NULL)
        return -1;
    /* A strong reference from here on: a step may run Python code that empties the memo. */
    PyObject *plan = PyDict_GetItemWithError(memo, key);
    Py_XINCREF(plan);
    if (plan == NULL && !PyErr_Occurred()) {
        plan = PyObject_CallFunction(make_plan, "On", key, e - s);
        if (plan != NULL && PyDict_GET_SIZE(memo) >= MAX_MEMO)
            PyDict_Clear(memo);
        if (plan != NULL && PyDict_SetItem(memo, key, plan) < 0)
            Py_CLEAR(plan);
    }
    Py_DECREF(key);
    if (plan == NULL)
        return -1;
    if (!PyTuple_Check(plan)) {
        Py_DECREF(plan);
        PyErr_SetString(PyExc_TypeError, "make_plan must return a tuple");
        return -1;
    }
    int rc = 0;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(plan) && rc == 0; k++)
        rc = run_step(sink, str, PyTuple_GET_ITEM(plan, k), s, e);
    Py_DECREF(plan);
    return rc;
}

PyObject *scan_tokens(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError,
                        "scan_tokens(text, memo, make_plan, labels, finding, out)");
        return NULL;
    }
    PyObject *str = args[0], *memo = args[1], *make_plan = args[2], *labels = args[3];
    PyObject *finding = args[4], *out = args[5];
    Text t;
    if (text_view(str, &t) < 0)
        return NULL;
    if (!PyDict_Check(memo) || !PyList_Check(out) || !PyType_Check(finding) ||
        !PyType_IsSubtype((PyTypeObject *)finding, &PyTuple_Type) ||
        (labels != Py_None && !PyObject_TypeCheck(labels, &Words_Type))) {
        PyErr_SetString(PyExc_TypeError, "scan_tokens: bad argument types");
        return NULL;
    }
    Sink sink = {&t, labels == Py_None ? NULL : (const WordsObject *)labels,
                 (PyTypeObject *)finding, out};
    Py_ssize_t i = 0, start, end;
    while ((i = next_token(&t, i, &start, &end)) >= 0) {
        if (run_token(&sink, str, memo, make_plan, start, end) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}
