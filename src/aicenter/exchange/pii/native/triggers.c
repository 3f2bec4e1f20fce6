/* The passes of scanner.py that search around a trigger character, for detectors with a
 * compiled search (Check.find); steps are (Check, pii_type).
 *
 * scan_colons(text, steps, finding, out): each run ':' [hex . :]* ':' (scanner._COLON_RUN,
 * matched left to right) handed to each search.
 * scan_ats(text, steps, finding, out): each '@' and the window from 64 characters before it
 * to 255 after it, keeping the findings that contain that '@'.
 */
#include "native.h"

typedef struct {
    PyTypeObject *finding;
    PyObject *pii_type;
    PyObject *out;
} TriggerSink;

static int emit_finding(void *target, Py_ssize_t s, Py_ssize_t e, double score) {
    TriggerSink *sink = target;
    return append_finding(sink->out, sink->finding, s, e, sink->pii_type, score);
}

static int valid_steps(PyObject *steps) {
    if (!PyTuple_Check(steps))
        return 0;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(steps); k++) {
        PyObject *step = PyTuple_GET_ITEM(steps, k);
        if (!PyTuple_Check(step) || PyTuple_GET_SIZE(step) != 2 ||
            !PyObject_TypeCheck(PyTuple_GET_ITEM(step, 0), &Check_Type) ||
            ((CheckObject *)PyTuple_GET_ITEM(step, 0))->find == NULL) {
            PyErr_SetString(PyExc_TypeError, "a trigger step is (compiled search, pii_type)");
            return 0;
        }
    }
    return 1;
}

static int colon_run_char(Py_UCS4 c) {
    return is_hex(c) || c == '.' || c == ':';
}

PyObject *scan_colons(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Text t;
    if (nargs != 4 || !valid_steps(args[1]) || !finding_type(args[2]) ||
        !PyList_Check(args[3])) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "scan_colons(text, steps: tuple, finding, out: list)");
        return NULL;
    }
    if (text_view(args[0], &t) < 0)
        return NULL;
    PyObject *steps = args[1];
    Py_ssize_t i = 0;
    while ((i = PyUnicode_FindChar(args[0], ':', i, t.len, 1)) >= 0) {
        Py_ssize_t last_colon = -1, j = i + 1;
        for (; j < t.len && colon_run_char(text_at(&t, j)); j++)
            if (text_at(&t, j) == ':')
                last_colon = j;
        if (last_colon < 0) {
            i = j;
            continue;
        }
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(steps); k++) {
            PyObject *step = PyTuple_GET_ITEM(steps, k);
            CheckObject *search = (CheckObject *)PyTuple_GET_ITEM(step, 0);
            TriggerSink sink = {(PyTypeObject *)args[2], PyTuple_GET_ITEM(step, 1), args[3]};
            if (search->find(&t, i, last_colon + 1, search, emit_finding, &sink) < 0)
                return NULL;
        }
        i = last_colon + 1;
    }
    if (i == -2) /* PyUnicode_FindChar's error */
        return NULL;
    Py_RETURN_NONE;
}


typedef struct {
    TriggerSink *sink;
    Py_ssize_t at;
} AtSink;

static int emit_around_at(void *target, Py_ssize_t s, Py_ssize_t e, double score) {
    AtSink *around = target;
    if (s > around->at || around->at >= e)
        return 0;
    return emit_finding(around->sink, s, e, score);
}

PyObject *scan_ats(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Text t;
    if (nargs != 4 || !valid_steps(args[1]) || !finding_type(args[2]) ||
        !PyList_Check(args[3])) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "scan_ats(text, steps: tuple, finding, out: list)");
        return NULL;
    }
    if (text_view(args[0], &t) < 0)
        return NULL;
    PyObject *steps = args[1];
    Py_ssize_t at = 0;
    for (; (at = PyUnicode_FindChar(args[0], '@', at, t.len, 1)) >= 0; at++) {
        Py_ssize_t s = at > 64 ? at - 64 : 0, e = at + 255 < t.len ? at + 255 : t.len;
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(steps); k++) {
            PyObject *step = PyTuple_GET_ITEM(steps, k);
            CheckObject *search = (CheckObject *)PyTuple_GET_ITEM(step, 0);
            TriggerSink sink = {(PyTypeObject *)args[2], PyTuple_GET_ITEM(step, 1), args[3]};
            AtSink around = {&sink, at};
            if (search->find(&t, s, e, search, emit_around_at, &around) < 0)
                return NULL;
        }
    }
    if (at == -2)
        return NULL;
    Py_RETURN_NONE;
}
