/* The compiled core of the PII scanner (module aicenter.exchange.pii._native).
 *
 * The Python scanner (scanner.py) and detectors (one a file) are the reference; this core
 * does the same work on the text's code points without creating a Python object per token:
 * the token pass of scanner.py, the context-word test of context.py (near), and the checks of
 * the shape detectors, one C file per detector next to its Python twin. Every function here
 * returns what its Python counterpart returns on the same input; tests/exchange/test_native.py
 * compares them on generated corpora and random strings.
 */
#ifndef AICENTER_PII_NATIVE_H
#define AICENTER_PII_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* A read-only view of a str's code points. */
typedef struct {
    int kind;
    const void *data;
    Py_ssize_t len;
} Text;

static inline Py_UCS4 text_at(const Text *t, Py_ssize_t i) {
    return PyUnicode_READ(t->kind, t->data, i);
}

static inline int is_ascii_digit(Py_UCS4 c) { return c >= '0' && c <= '9'; }

static inline int ascii_alpha(Py_UCS4 c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

static inline int ascii_alnum(Py_UCS4 c) { return is_ascii_digit(c) || ascii_alpha(c); }

static inline int is_hex(Py_UCS4 c) {
    return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The value of an ASCII digit at i (the shapes that reach a check hold ASCII digits only). */
static inline int digit_at(const Text *t, Py_ssize_t i) { return (int)text_at(t, i) - '0'; }

int text_view(PyObject *str, Text *out);

/* Context words (context.py): the words of one context pattern and the reach of near(). */
typedef struct {
    PyObject_HEAD
    Py_ssize_t before, after;
    Py_ssize_t count;
    Py_UCS4 **words;
    Py_ssize_t *lengths;
    uint64_t first[64]; /* bit (c & 4095) set when some word starts with a code point c */
    Py_ssize_t *bucket_start; /* words starting with c & 255 == b: order[bucket_start[b] ..
                                 bucket_start[b + 1]) */
    Py_ssize_t *order;
    PyObject *source;  /* the tuple of words it was built from */
} WordsObject;

extern PyTypeObject Words_Type;

/* near() of context.py: a word within `before` characters before `start` or `after`
 * characters after `end`, in the same clause. */
int words_near(const WordsObject *w, const Text *t, Py_ssize_t start, Py_ssize_t end);
/* Whether one of the words starts at i. */
int words_start_at(const WordsObject *w, const Text *t, Py_ssize_t i);

/* A shape detector's check: the score of the candidate text[start:end], 0.0 for none. */
typedef struct CheckObject CheckObject;
typedef double (*check_fn)(const Text *t, Py_ssize_t start, Py_ssize_t end,
                           const CheckObject *check);
/* A detector without a shape searches a window instead and reports each finding to emit(). */
typedef int (*emit_fn)(void *sink, Py_ssize_t start, Py_ssize_t end, double score);
typedef int (*find_fn)(const Text *t, Py_ssize_t start, Py_ssize_t end, const CheckObject *check,
                       emit_fn emit, void *sink);

struct CheckObject {
    PyObject_HEAD
    check_fn fn;   /* a shape detector's check, or NULL */
    find_fn find;  /* or a search of a window */
    const char *name;
    WordsObject *words; /* may be NULL */
    uint32_t mask;      /* a set of small integers (digits, region codes) */
    int offset;         /* a check-digit constant */
    Py_ssize_t lo, hi;  /* a range (digit counts) */
};

extern PyTypeObject Check_Type;
extern PyTypeObject NameAnchors_Type; /* person_name.c */

double registration_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c);
double corporate_number_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c);
double business_number_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c);
double driver_licence_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c);
double passport_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c);
double card_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c);
double bank_account_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c);
double ipv4_check(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c);
int ipv6_find(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c, emit_fn emit,
              void *sink);
int email_find(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c, emit_fn emit,
               void *sink);
int phone_find(const Text *t, Py_ssize_t s, Py_ssize_t e, const CheckObject *c, emit_fn emit,
               void *sink);

/* distinctive_or_in_context() of context.py. */
double distinctive_or_in_context(int distinctive, const CheckObject *c, const Text *t,
                                 Py_ssize_t s, Py_ssize_t e);

/* Finding objects (findings.c): a new Finding(start, end, pii_type, score), untracked by the
 * cycle collector; score_object(x) a float object for x, shared between findings. */
PyObject *new_finding(PyTypeObject *type, Py_ssize_t start, Py_ssize_t end, PyObject *pii_type,
                      PyObject *score);
PyObject *score_object(double score);
/* out.append(Finding(start, end, pii_type, score)); -1 on error. */
int append_finding(PyObject *out, PyTypeObject *type, Py_ssize_t start, Py_ssize_t end,
                   PyObject *pii_type, double score);
/* Whether `type` can be passed to new_finding (a tuple subclass); a TypeError if not. */
int finding_type(PyObject *type);

/* The token pass (scanner.py, _scan_tokens). */
PyObject *scan_tokens(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
/* The colon and '@' passes (triggers.c) and the end of a scan (records.c). */
PyObject *scan_colons(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *scan_ats(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *finish(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *fold(PyObject *self, PyObject *str);

#endif
