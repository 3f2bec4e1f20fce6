/* Context words and near() (the compiled twin of context.py).
 *
 * near(): some word lies in [start - before, start) with no clause end between the word's end
 * and `start`, or in [end, end + after) with no clause end between `end` and the word. A
 * clause end is '\n', '|', or one of . ! ? ; 。 followed by white space or by the window's end
 * (the regular expressions of context.py see the window's end as the end of the text); a '.'
 * right after a word of 1-4 ASCII letters is an abbreviation ("Tel.", "No."), no clause end.
 */
#include "native.h"

#include <string.h>

static inline int is_ascii_letter(Py_UCS4 c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_clause_end(const Text *t, Py_ssize_t i, Py_ssize_t window_end) {
    Py_UCS4 c = text_at(t, i);
    if (c == '\n' || c == '|')
        return 1;
    if (c == '.') { /* not after a 1-4-letter ASCII word: an abbreviation (Tel., No.) */
        Py_ssize_t k = 0;
        while (k < 5 && i - k - 1 >= 0 && is_ascii_letter(text_at(t, i - k - 1)))
            k++;
        if (k >= 1 && k <= 4)
            return 0;
    }
    if (c == '.' || c == '!' || c == '?' || c == ';' || c == 0x3002)
        return i + 1 >= window_end || Py_UNICODE_ISSPACE(text_at(t, i + 1));
    return 0;
}

static inline int may_start_word(const WordsObject *w, Py_UCS4 c) {
    return (w->first[(c >> 6) & 63] >> (c & 63)) & 1;
}

/* Whether some word starts at i, ends at or before limit and at or after min_end. */
static int word_at(const WordsObject *w, const Text *t, Py_ssize_t i, Py_ssize_t limit,
                   Py_ssize_t min_end) {
    Py_UCS4 c = text_at(t, i);
    for (Py_ssize_t b = w->bucket_start[c & 255]; b < w->bucket_start[(c & 255) + 1]; b++) {
        Py_ssize_t k = w->order[b], n = w->lengths[k];
        if (i + n > limit || i + n < min_end)
            continue;
        const Py_UCS4 *word = w->words[k];
        Py_ssize_t j = 0;
        while (j < n && text_at(t, i + j) == word[j])
            j++;
        if (j == n)
            return 1;
    }
    return 0;
}

int words_start_at(const WordsObject *w, const Text *t, Py_ssize_t i) {
    return i >= 0 && i < t->len && may_start_word(w, text_at(t, i)) &&
           word_at(w, t, i, t->len, 0);
}

int words_near(const WordsObject *w, const Text *t, Py_ssize_t start, Py_ssize_t end) {
    /* Offsets from a Python find (tokens.c) are not checked there: keep them in the text. */
    start = start < 0 ? 0 : start > t->len ? t->len : start;
    end = end < 0 ? 0 : end > t->len ? t->len : end;
    Py_ssize_t lo = start - w->before > 0 ? start - w->before : 0;
    /* Look back: a word ending after the last clause end before start. */
    Py_ssize_t min_end = lo;
    for (Py_ssize_t i = start - 1; i >= lo; i--) {
        if (is_clause_end(t, i, start)) {
            min_end = i + 1;
            break;
        }
    }
    for (Py_ssize_t i = lo; i < start; i++) {
        if (may_start_word(w, text_at(t, i)) && word_at(w, t, i, start, min_end))
            return 1;
    }
    if (w->after <= 0)
        return 0;
    /* Look ahead: a word before the first clause end after end. */
    Py_ssize_t limit = w->after < t->len - end ? end + w->after : t->len; /* no overflow */
    for (Py_ssize_t i = end; i < limit; i++) {
        if (may_start_word(w, text_at(t, i)) && word_at(w, t, i, limit, 0))
            return 1;
        if (is_clause_end(t, i, limit))
            return 0;
    }
    return 0;
}

int text_view(PyObject *str, Text *out) {
    if (!PyUnicode_Check(str)) {
        PyErr_SetString(PyExc_TypeError, "expected a str");
        return -1;
    }
    if (PyUnicode_READY(str) < 0)
        return -1;
    out->kind = PyUnicode_KIND(str);
    out->data = PyUnicode_DATA(str);
    out->len = PyUnicode_GET_LENGTH(str);
    return 0;
}

static void Words_dealloc(WordsObject *self) {
    for (Py_ssize_t k = 0; k < self->count; k++)
        PyMem_Free(self->words[k]);
    PyMem_Free(self->words);
    PyMem_Free(self->lengths);
    PyMem_Free(self->bucket_start);
    PyMem_Free(self->order);
    Py_XDECREF(self->source);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Words_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"words", "before", "after", NULL};
    PyObject *words;
    Py_ssize_t before = 24, after = 12;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!|nn", keywords, &PyTuple_Type, &words,
                                     &before, &after))
        return NULL;
    if (before < 0 || after < 0) {
        PyErr_SetString(PyExc_ValueError, "before and after must be >= 0");
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(words);
    WordsObject *self = (WordsObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->before = before;
    self->after = after;
    self->words = PyMem_Calloc(count ? count : 1, sizeof(Py_UCS4 *));
    self->lengths = PyMem_Calloc(count ? count : 1, sizeof(Py_ssize_t));
    if (self->words == NULL || self->lengths == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *word = PyTuple_GET_ITEM(words, k);
        if (!PyUnicode_Check(word) || PyUnicode_GET_LENGTH(word) == 0) {
            Py_DECREF(self);
            PyErr_Format(PyExc_TypeError, "word %zd is not a non-empty str", k);
            return NULL;
        }
        self->words[k] = PyUnicode_AsUCS4Copy(word);
        if (self->words[k] == NULL) {
            Py_DECREF(self);
            return NULL;
        }
        self->count = k + 1;
        self->lengths[k] = PyUnicode_GET_LENGTH(word);
        Py_UCS4 c = self->words[k][0];
        self->first[(c >> 6) & 63] |= (uint64_t)1 << (c & 63);
    }
    /* Words grouped by the low byte of their first code point (a counting sort). */
    self->bucket_start = PyMem_Calloc(257, sizeof(Py_ssize_t));
    self->order = PyMem_Calloc(count ? count : 1, sizeof(Py_ssize_t));
    if (self->bucket_start == NULL || self->order == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t k = 0; k < count; k++)
        self->bucket_start[(self->words[k][0] & 255) + 1]++;
    for (int b = 0; b < 256; b++)
        self->bucket_start[b + 1] += self->bucket_start[b];
    Py_ssize_t fill[256];
    memcpy(fill, self->bucket_start, sizeof(fill));
    for (Py_ssize_t k = 0; k < count; k++)
        self->order[fill[self->words[k][0] & 255]++] = k;
    Py_INCREF(words);
    self->source = words;
    return (PyObject *)self;
}

static PyObject *Words_near(WordsObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Text t;
    Py_ssize_t start, end;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "near(text, start, end)");
        return NULL;
    }
    if (text_view(args[0], &t) < 0)
        return NULL;
    start = PyLong_AsSsize_t(args[1]);
    end = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred())
        return NULL;
    if (start < 0 || end < start || end > t.len) {
        PyErr_SetString(PyExc_IndexError, "span outside the text");
        return NULL;
    }
    return PyBool_FromLong(words_near(self, &t, start, end));
}

static PyMethodDef Words_methods[] = {
    {"near", (PyCFunction)(void (*)(void))Words_near, METH_FASTCALL,
     "near(text, start, end) -> bool: a word within reach of text[start:end], same clause."},
    {NULL, NULL, 0, NULL},
};

static PyObject *Words_get_words(WordsObject *self, void *closure) {
    Py_INCREF(self->source);
    return self->source;
}

static PyObject *Words_get_before(WordsObject *self, void *closure) {
    return PyLong_FromSsize_t(self->before);
}

static PyObject *Words_get_after(WordsObject *self, void *closure) {
    return PyLong_FromSsize_t(self->after);
}

static PyGetSetDef Words_getset[] = {
    {"words", (getter)Words_get_words, NULL, "the words", NULL},
    {"before", (getter)Words_get_before, NULL, "characters looked at before a span", NULL},
    {"after", (getter)Words_get_after, NULL, "characters looked at after a span", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject Words_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "aicenter.exchange.pii._native.Words",
    .tp_basicsize = sizeof(WordsObject),
    .tp_dealloc = (destructor)Words_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Words(words, before=24, after=12): context words and the reach of near().",
    .tp_methods = Words_methods,
    .tp_getset = Words_getset,
    .tp_new = Words_new,
};
