/* The end of a scan (scanner.py: resolve_overlaps, _per_record).
 *
 * finish(found, texts, separator_length, finding, greedy): sorts the findings of the joined
 * text, keeps each one that overlaps no other, passes each group of mutually overlapping
 * findings to greedy() (scanner._greedy: best score, then longest, wins), and splits the
 * result by record, offsets made relative to the record.
 */
#include "native.h"

static Py_ssize_t item_ssize(PyObject *finding, Py_ssize_t i) {
    return PyLong_AsSsize_t(PyTuple_GET_ITEM(finding, i));
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
    Py_ssize_t n = PyList_GET_SIZE(found), reach = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *f = PyList_GET_ITEM(found, i);
        Py_ssize_t s = item_ssize(f, 0), e = item_ssize(f, 1);
        if (PyErr_Occurred())
            goto fail;
        if (group != NULL && s < reach) {
            if (PyList_Append(group, f) < 0)
                goto fail;
            if (e > reach)
                reach = e;
            continue;
        }
        if (group != NULL && flush_group(group, greedy, kept) < 0)
            goto fail;
        Py_XDECREF(group);
        group = PyList_New(0);
        if (group == NULL || PyList_Append(group, f) < 0)
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

static PyObject *shifted(PyTypeObject *finding, PyObject *f, Py_ssize_t offset) {
    if (offset == 0) {
        Py_INCREF(f);
        return f;
    }
    PyObject *copy = new_finding(finding, item_ssize(f, 0) - offset, item_ssize(f, 1) - offset,
                                 PyTuple_GET_ITEM(f, 2), PyTuple_GET_ITEM(f, 3));
    return copy;
}

PyObject *finish(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5 || !PyList_Check(args[0]) || !PyList_Check(args[1]) ||
        !PyType_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError,
                        "finish(found: list, texts: list, separator_length, finding, greedy)");
        return NULL;
    }
    PyObject *texts = args[1], *greedy = args[4];
    PyTypeObject *finding = (PyTypeObject *)args[3];
    Py_ssize_t separator = PyLong_AsSsize_t(args[2]);
    if (separator == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t records = PyList_GET_SIZE(texts);
    if (records == 0)
        return PyList_New(0);
    PyObject *kept = resolve(args[0], greedy);
    if (kept == NULL)
        return NULL;
    PyObject *out = PyList_New(records);
    if (out == NULL)
        goto fail;
    for (Py_ssize_t r = 0; r < records; r++) {
        PyObject *empty = PyList_New(0);
        if (empty == NULL)
            goto fail;
        PyList_SET_ITEM(out, r, empty);
    }
    Py_ssize_t record = 0, lo = 0, hi = PY_SSIZE_T_MAX;
    if (records > 1)
        hi = PyUnicode_GET_LENGTH(PyList_GET_ITEM(texts, 0)) + separator;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(kept); i++) {
        PyObject *f = PyList_GET_ITEM(kept, i);
        Py_ssize_t s = item_ssize(f, 0);
        while (s >= hi && record + 1 < records) { /* findings are sorted by start */
            record++;
            lo = hi;
            hi = record + 1 < records
                     ? lo + PyUnicode_GET_LENGTH(PyList_GET_ITEM(texts, record)) + separator
                     : PY_SSIZE_T_MAX;
        }
        PyObject *moved = shifted(finding, f, lo);
        if (moved == NULL || PyList_Append(PyList_GET_ITEM(out, record), moved) < 0) {
            Py_XDECREF(moved);
            goto fail;
        }
        Py_DECREF(moved);
    }
    Py_DECREF(kept);
    return out;
fail:
    Py_DECREF(kept);
    Py_XDECREF(out);
    return NULL;
}
