/* Person names, fast mode (person_name.py): where person_name._context_scan can match.
 *
 * NameAnchors(titles, labels, initials).find(text) lists the positions p where that pattern
 * can match; the Python detector then runs the pattern at those positions only, instead of
 * the regex engine testing a character class at every position (8–10 ns a character, most
 * of the detector's time). A position is listed when a label starts there, or when a title
 * or an age in parentheses ("(" then a digit, a space allowed between) starts there and a
 * title-shaped word ends right before it or one white-space character before it: 3 or 4
 * Hangul syllables, the first a surname initial, not preceded by Hangul. Each of the
 * pattern's two branches needs one of these, so every match starts at a listed position.
 * Titles are looked for only after the first 3 and 4 syllables of words that start with an
 * initial, and labels only where a label's first two characters (hashed) stand: the title
 * and label initials are common syllables (의, 이, 사 ...), so testing every position for a
 * whole word would cost more than the regular expression it replaces.
 */
#include "native.h"

typedef struct {
    PyObject_HEAD
    WordsObject *titles;
    WordsObject *labels;
    uint64_t initials[1024];   /* one bit per BMP code point */
    uint64_t label_pairs[1024]; /* a bit per hash of a label's first two characters */
} NameAnchorsObject;

static inline int hangul(Py_UCS4 c) { return c >= 0xAC00 && c <= 0xD7A3; }

static inline int initial(const NameAnchorsObject *a, Py_UCS4 c) {
    return c < 0x10000 && ((a->initials[c >> 6] >> (c & 63)) & 1);
}

/* "(" then a digit, one white-space character allowed between: how an age starts. */
static int age_starts(const Text *t, Py_ssize_t p) {
    if (text_at(t, p) != '(' || p + 1 >= t->len)
        return 0;
    Py_UCS4 c = text_at(t, p + 1);
    if (Py_UNICODE_ISSPACE(c))
        return p + 2 < t->len && Py_UNICODE_ISDECIMAL(text_at(t, p + 2));
    return Py_UNICODE_ISDECIMAL(c);
}

/* Positions collected out of order (a word's anchors lie after it), sorted at the end. */
typedef struct {
    Py_ssize_t *items;
    Py_ssize_t count, capacity;
} Positions;

static int add_position(Positions *p, Py_ssize_t position) {
    if (p->count == p->capacity) {
        Py_ssize_t capacity = p->capacity ? 2 * p->capacity : 64;
        Py_ssize_t *items = PyMem_Realloc(p->items, capacity * sizeof(Py_ssize_t));
        if (items == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        p->items = items;
        p->capacity = capacity;
    }
    p->items[p->count++] = position;
    return 0;
}

static int by_position(const void *a, const void *b) {
    Py_ssize_t x = *(const Py_ssize_t *)a, y = *(const Py_ssize_t *)b;
    return (x > y) - (x < y);
}

static inline Py_ssize_t pair_bit(Py_UCS4 first, Py_UCS4 second) {
    return (Py_ssize_t)((first * 31u) ^ second) & 0xFFFF;
}

/* The anchors of the word starting at a (a surname initial not preceded by Hangul): where a
 * title or an age starts right after its first 3 or 4 syllables, or one white-space
 * character after a word of exactly that many. */
static int title_anchors(const NameAnchorsObject *self, const Text *t, Py_ssize_t a,
                         Positions *out) {
    for (Py_ssize_t length = 3; length <= 4; length++) {
        Py_ssize_t w = a + length, i = a;
        while (i < w && i < t->len && hangul(text_at(t, i)))
            i++;
        if (i < w || w >= t->len)
            return 0;
        Py_ssize_t anchors[2] = {w, -1};
        if (Py_UNICODE_ISSPACE(text_at(t, w)))
            anchors[1] = w + 1;
        for (int k = 0; k < 2; k++) {
            Py_ssize_t q = anchors[k];
            if (q >= 0 && q < t->len &&
                (words_start_at(self->titles, t, q) || age_starts(t, q)) &&
                add_position(out, q) < 0)
                return -1;
        }
    }
    return 0;
}

/* Titles after words that start with an initial; labels where a label's first two
 * characters stand. Both start with Hangul, so other characters are passed over at once;
 * one loop per string kind reads characters without a kind test each. */
#define SCAN_HANGUL(NAME, TYPE)                                                              \
    static int NAME(const NameAnchorsObject *self, const Text *t, Positions *found) {        \
        const TYPE *text = t->data;                                                          \
        Py_ssize_t n = t->len;                                                               \
        for (Py_ssize_t p = 0; p < n; p++) {                                                 \
            Py_UCS4 c = text[p];                                                             \
            if (!hangul(c))                                                                  \
                continue;                                                                    \
            if ((p == 0 || !hangul(text[p - 1])) && initial(self, c) &&                      \
                title_anchors(self, t, p, found) < 0)                                        \
                return -1;                                                                   \
            if (p + 1 < n) {                                                                 \
                Py_ssize_t bit = pair_bit(c, text[p + 1]);                                   \
                if (((self->label_pairs[bit >> 6] >> (bit & 63)) & 1) &&                     \
                    words_start_at(self->labels, t, p) && add_position(found, p) < 0)        \
                    return -1;                                                               \
            }                                                                                \
        }                                                                                    \
        return 0;                                                                            \
    }

SCAN_HANGUL(scan_hangul_2, Py_UCS2)
SCAN_HANGUL(scan_hangul_4, Py_UCS4)

static PyObject *NameAnchors_find(NameAnchorsObject *self, PyObject *str) {
    Text t;
    if (text_view(str, &t) < 0)
        return NULL;
    Positions found = {NULL, 0, 0};
    int rc = 0; /* Latin-1 text holds no Hangul: nothing to find */
    if (t.kind == PyUnicode_2BYTE_KIND)
        rc = scan_hangul_2(self, &t, &found);
    else if (t.kind == PyUnicode_4BYTE_KIND)
        rc = scan_hangul_4(self, &t, &found);
    if (rc < 0) {
        PyMem_Free(found.items);
        return NULL;
    }
    qsort(found.items, found.count, sizeof(Py_ssize_t), by_position);
    PyObject *out = PyList_New(0);
    for (Py_ssize_t i = 0; out != NULL && i < found.count; i++) {
        if (i > 0 && found.items[i] == found.items[i - 1])
            continue;
        PyObject *position = PyLong_FromSsize_t(found.items[i]);
        if (position == NULL || PyList_Append(out, position) < 0)
            Py_CLEAR(out);
        Py_XDECREF(position);
    }
    PyMem_Free(found.items);
    return out;
}

static PyObject *NameAnchors_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    PyObject *titles, *labels, *initials;
    static char *keywords[] = {"titles", "labels", "initials", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!U", keywords, &Words_Type, &titles,
                                     &Words_Type, &labels, &initials))
        return NULL;
    NameAnchorsObject *self = (NameAnchorsObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    Py_INCREF(titles);
    Py_INCREF(labels);
    self->titles = (WordsObject *)titles;
    self->labels = (WordsObject *)labels;
    Text chars;
    if (text_view(initials, &chars) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < chars.len; i++) {
        Py_UCS4 c = text_at(&chars, i);
        if (c >= 0x10000) {
            Py_DECREF(self);
            PyErr_SetString(PyExc_ValueError, "initials outside the BMP");
            return NULL;
        }
        self->initials[c >> 6] |= (uint64_t)1 << (c & 63);
    }
    const WordsObject *l = self->labels;
    for (Py_ssize_t k = 0; k < l->count; k++) {
        if (l->lengths[k] < 2) {
            Py_DECREF(self);
            PyErr_SetString(PyExc_ValueError, "labels must have two characters or more");
            return NULL;
        }
        Py_ssize_t bit = pair_bit(l->words[k][0], l->words[k][1]);
        self->label_pairs[bit >> 6] |= (uint64_t)1 << (bit & 63);
    }
    return (PyObject *)self;
}

static void NameAnchors_dealloc(NameAnchorsObject *self) {
    Py_XDECREF(self->titles);
    Py_XDECREF(self->labels);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef NameAnchors_methods[] = {
    {"find", (PyCFunction)NameAnchors_find, METH_O,
     "find(text) -> [p]: the positions where person_name._context_scan may match"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject NameAnchors_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "aicenter.exchange.pii._native.NameAnchors",
    .tp_basicsize = sizeof(NameAnchorsObject),
    .tp_dealloc = (destructor)NameAnchors_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "NameAnchors(titles: Words, labels: Words, initials: str)",
    .tp_methods = NameAnchors_methods,
    .tp_new = NameAnchors_new,
};
