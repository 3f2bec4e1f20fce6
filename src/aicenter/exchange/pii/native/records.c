/* The end of a scan (scanner.py: resolve_overlaps, _per_record).
 *
 * finish(found, texts, separator_length, finding, greedy): sorts the findings of the joined
 * text, keeps each one that overlaps no other, passes each group of mutually overlapping
 * findings to greedy() (scanner._greedy: best score, then longest, wins), and splits the
 * result by record, offsets made relative to the record.
 */
#include "native.h"

/* The start and end of a finding, checked: found and greedy's answer come from Python. */
static int finding_span(PyObject *f, Py_ssize_t *start, Py_ssize_t *end) {
    if (!PyTuple_Check(f) || PyTuple_GET_SIZE(f) < 4) {
        PyErr_SetString(PyExc_TypeError, "a finding is a (start, end, pii_type, score) tuple");
        return -1;
    }
    *start = PyLong_AsSsize_t(PyTuple_GET_ITEM(f, 0));
    *end = PyLong_AsSsize_t(PyTuple_GET_ITEM(f, 1));
    return PyErr_Occurred() ? -1 : 0;
}

/* Append `group` (one finding, or the greedy choice among overlapping ones) to kept. */
static int flush_group(PyObject *group, PyObject *greedy, PyObject *kept) {
    if (PyList_GET_SIZE(group) == 1)
        return PyList_Append(kept, PyList_GET_ITEM(group, 0));
    PyObject *chosen = PyObject_CallOneArg(greedy, group);
    if (chosen == NULL)
        return -1;
    PyObject *iter = PyObject_GetIter(chosen), *f;
    Py_DECREF(chosen);
    if (iter == NULL)
        return -1;
    while ((f = PyIter_Next(iter)) != NULL) {
        int rc = PyList_Append(kept, f);
        Py_DECREF(f);
        if (rc < 0) {
            Py_DECREF(iter);
            return -1;
        }
    }
    Py_DECREF(iter);
    return PyErr_Occurred() ? -1 : 0;
}

static PyObject *resolve(PyObject *found, PyObject *greedy) {
    PyObject *kept = PyList_New(0), *group = NULL;
    if (kept == NULL || PyList_Sort(found) < 0)
        goto fail;
    Py_ssize_t reach = -1, s, e;
    /* greedy() is Python code and may change `found`: its length is read again each time
     * and the current finding is held while greedy() runs. */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(found); i++) {
        PyObject *f = PyList_GET_ITEM(found, i);
        if (finding_span(f, &s, &e) < 0)
            goto fail;
        if (group != NULL && s < reach) {
            if (PyList_Append(group, f) < 0)
                goto fail;
            if (e > reach)
                reach = e;
            continue;
        }
        Py_INCREF(f);
        int rc = group != NULL ? flush_group(group, greedy, kept) : 0;
        Py_XSETREF(group, rc < 0 ? NULL : PyList_New(0));
        rc = group == NULL ? -1 : PyList_Append(group, f);
        Py_DECREF(f);
        if (rc < 0)
            goto fail;
        reach = e;
    }
    if (group != NULL && flush_group(group, greedy, kept) < 0)
        goto fail;
    Py_XDECREF(group);
    return kept;
fail:
    Py_XDECREF(group);
    Py_XDECREF(kept);
    return NULL;
}

static PyObject *shifted(PyTypeObject *finding, PyObject *f, Py_ssize_t s, Py_ssize_t e,
                         Py_ssize_t offset) {
    if (offset == 0) {
        Py_INCREF(f);
        return f;
    }
    return new_finding(finding, s - offset, e - offset, PyTuple_GET_ITEM(f, 2),
                       PyTuple_GET_ITEM(f, 3));
}

/* Where record r + 1 starts, given where record r starts (PY_SSIZE_T_MAX after the last). */
static Py_ssize_t next_start(PyObject *texts, Py_ssize_t r, Py_ssize_t lo, Py_ssize_t separator) {
    if (r + 1 >= PyList_GET_SIZE(texts))
        return PY_SSIZE_T_MAX;
    Py_ssize_t length = PyUnicode_GET_LENGTH(PyList_GET_ITEM(texts, r));
    return length < PY_SSIZE_T_MAX - separator - lo ? lo + length + separator : PY_SSIZE_T_MAX;
}

PyObject *finish(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5 || !PyList_Check(args[0]) || !PyList_Check(args[1]) ||
        !finding_type(args[3])) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError,
                            "finish(found: list, texts: list, separator_length, finding, greedy)");
        return NULL;
    }
    PyObject *greedy = args[4];
    PyTypeObject *finding = (PyTypeObject *)args[3];
    Py_ssize_t separator = PyLong_AsSsize_t(args[2]);
    if (separator == -1 && PyErr_Occurred())
        return NULL;
    if (separator < 0) {
        PyErr_SetString(PyExc_ValueError, "separator_length must be >= 0");
        return NULL;
    }
    /* A copy: greedy() (Python) runs before the lengths are read. */
    PyObject *texts = PyList_GetSlice(args[1], 0, PyList_GET_SIZE(args[1]));
    if (texts == NULL)
        return NULL;
    Py_ssize_t records = PyList_GET_SIZE(texts);
    for (Py_ssize_t r = 0; r < records; r++) {
        if (!PyUnicode_Check(PyList_GET_ITEM(texts, r))) {
            Py_DECREF(texts);
            PyErr_SetString(PyExc_TypeError, "finish: texts must be strs");
            return NULL;
        }
    }
    if (records == 0) {
        Py_DECREF(texts);
        return PyList_New(0);
    }
    PyObject *kept = resolve(args[0], greedy);
    if (kept == NULL) {
        Py_DECREF(texts);
        return NULL;
    }
    PyObject *out = PyList_New(records);
    if (out == NULL)
        goto fail;
    for (Py_ssize_t r = 0; r < records; r++) {
        PyObject *empty = PyList_New(0);
        if (empty == NULL)
            goto fail;
        PyList_SET_ITEM(out, r, empty);
    }
    Py_ssize_t record = 0, lo = 0, hi = next_start(texts, 0, 0, separator), s, e;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(kept); i++) {
        PyObject *f = PyList_GET_ITEM(kept, i);
        if (finding_span(f, &s, &e) < 0)
            goto fail;
        while (s >= hi && record + 1 < records) { /* findings are sorted by start */
            record++;
            lo = hi;
            hi = next_start(texts, record, lo, separator);
        }
        PyObject *moved = shifted(finding, f, s, e, lo);
        if (moved == NULL || PyList_Append(PyList_GET_ITEM(out, record), moved) < 0) {
            Py_XDECREF(moved);
            goto fail;
        }
        Py_DECREF(moved);
    }
    Py_DECREF(kept);
    Py_DECREF(texts);
    return out;
fail:
    Py_DECREF(kept);
    Py_DECREF(texts);
    Py_XDECREF(out);
    return NULL;
}
