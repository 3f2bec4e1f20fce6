/* Finding objects made in C: instances of the Python Finding (a tuple subclass) filled in
 * place, as tuple.__new__ would, then untracked by the cycle collector — they hold two ints,
 * a PiiType and a float and can be part of no cycle, and a scan makes tens of thousands,
 * which would otherwise be walked by every young-generation collection. Scores come from a
 * small table of float objects: detectors give a handful of distinct scores. */
#include "native.h"

#define SCORE_CACHE 32
static double cached_value[SCORE_CACHE];
static PyObject *cached_object[SCORE_CACHE];
static int cached_count;

PyObject *score_object(double score) {
    for (int i = 0; i < cached_count; i++) {
        if (cached_value[i] == score) {
            Py_INCREF(cached_object[i]);
            return cached_object[i];
        }
    }
    PyObject *value = PyFloat_FromDouble(score);
    if (value != NULL && cached_count < SCORE_CACHE) {
        cached_value[cached_count] = score;
        cached_object[cached_count++] = value;
        Py_INCREF(value); /* the table's reference, kept for the life of the process */
    }
    return value;
}

int finding_type(PyObject *type) {
    if (PyType_Check(type) && PyType_IsSubtype((PyTypeObject *)type, &PyTuple_Type))
        return 1;
    PyErr_SetString(PyExc_TypeError, "finding must be a tuple type (Finding)");
    return 0;
}

int append_finding(PyObject *out, PyTypeObject *type, Py_ssize_t start, Py_ssize_t end,
                   PyObject *pii_type, double score) {
    PyObject *value = score_object(score);
    PyObject *f = value == NULL ? NULL : new_finding(type, start, end, pii_type, value);
    Py_XDECREF(value);
    if (f == NULL)
        return -1;
    int rc = PyList_Append(out, f);
    Py_DECREF(f);
    return rc;
}

PyObject *new_finding(PyTypeObject *type, Py_ssize_t start, Py_ssize_t end, PyObject *pii_type,
                      PyObject *score) {
    PyObject *f = type->tp_alloc(type, 4);
    if (f == NULL)
        return NULL;
#if PY_VERSION_HEX >= 0x030E0000
    /* Python 3.14 caches a tuple's hash in the object, -1 for "not computed"; tp_alloc zeroes
     * it, which would make every Finding hash to 0, unlike the same Finding made in Python. */
    ((PyTupleObject *)f)->ob_hash = -1;
#endif
    PyObject *s = PyLong_FromSsize_t(start), *e = PyLong_FromSsize_t(end);
    if (s == NULL || e == NULL) {
        Py_XDECREF(s);
        Py_XDECREF(e);
        Py_DECREF(f);
        return NULL;
    }
    Py_INCREF(pii_type);
    Py_INCREF(score);
    PyTuple_SET_ITEM(f, 0, s);
    PyTuple_SET_ITEM(f, 1, e);
    PyTuple_SET_ITEM(f, 2, pii_type);
    PyTuple_SET_ITEM(f, 3, score);
    if (PyObject_IS_GC(f))
        PyObject_GC_UnTrack(f);
    return f;
}
