/* fold(text): scanner._FOLD applied to text — full-width ASCII (U+FF01–U+FF5E) to ASCII and
 * the dash look-alikes U+2010–U+2015, U+2212 and the Hangul vowel ㅡ (U+3161) to '-', one
 * character for one, so offsets are kept. The text itself when it has none of them (one pass,
 * no copy), which is what almost every record is. */
#include "native.h"

static inline Py_UCS4 folded(Py_UCS4 c) {
    if (c >= 0xFF01 && c <= 0xFF5E)
        return c - 0xFEE0;
    if ((c >= 0x2010 && c <= 0x2015) || c == 0x2212 || c == 0x3161)
        return '-';
    return c;
}

#define FIRST_FOLDABLE(NAME, TYPE)                                                           \
    static Py_ssize_t NAME(const TYPE *text, Py_ssize_t n) {                                 \
        for (Py_ssize_t i = 0; i < n; i++)                                                   \
            if (text[i] >= 0x2010 && folded(text[i]) != text[i])                             \
                return i;                                                                    \
        return -1;                                                                           \
    }

FIRST_FOLDABLE(first_foldable_2, Py_UCS2)
FIRST_FOLDABLE(first_foldable_4, Py_UCS4)

PyObject *fold(PyObject *self, PyObject *str) {
    Text t;
    if (text_view(str, &t) < 0)
        return NULL;
    Py_ssize_t first = -1; /* Latin-1 text holds none of them */
    if (t.kind == PyUnicode_2BYTE_KIND)
        first = first_foldable_2(t.data, t.len);
    else if (t.kind == PyUnicode_4BYTE_KIND)
        first = first_foldable_4(t.data, t.len);
    if (first < 0) {
        Py_INCREF(str);
        return str;
    }
    Py_UCS4 *copy = PyUnicode_AsUCS4Copy(str);
    if (copy == NULL)
        return NULL;
    for (Py_ssize_t i = first; i < t.len; i++)
        copy[i] = folded(copy[i]);
    PyObject *out = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, copy, t.len);
    PyMem_Free(copy);
    return out;
}
