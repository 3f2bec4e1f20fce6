/* The Check type: a shape detector's compiled check with its parameters, callable from Python
 * as check(text, start, end) -> float (how the tests compare it with the Python check). */
#include "native.h"

double distinctive_or_in_context(int distinctive, const CheckObject *c, const Text *t,
                                 Py_ssize_t s, Py_ssize_t e) {
    if (words_near(c->words, t, s, e))
        return 0.9;
    return distinctive ? 0.85 : 0.0;
}

static void Check_dealloc(CheckObject *self) {
    Py_XDECREF(self->words);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int append_triple(void *list, Py_ssize_t s, Py_ssize_t e, double score) {
    PyObject *item = Py_BuildValue("(nnd)", s, e, score);
    if (item == NULL)
        return -1;
    int rc = PyList_Append((PyObject *)list, item);
    Py_DECREF(item);
    return rc;
}

/* A check: its score (float). A search: its findings in the window, [(start, end, score)]. */
static PyObject *Check_call(CheckObject *self, PyObject *args, PyObject *kwargs) {
    PyObject *str;
    Py_ssize_t start, end;
    Text t;
    if (!PyArg_ParseTuple(args, "Onn", &str, &start, &end) || text_view(str, &t) < 0)
        return NULL;
    if (start < 0 || end < start || end > t.len) {
        PyErr_SetString(PyExc_IndexError, "span outside the text");
        return NULL;
    }
    if (self->fn != NULL)
        return PyFloat_FromDouble(self->fn(&t, start, end, self));
    PyObject *found = PyList_New(0);
    if (found != NULL && self->find(&t, start, end, self, append_triple, found) < 0)
        Py_CLEAR(found);
    return found;
}

static PyObject *Check_repr(CheckObject *self) {
    return PyUnicode_FromFormat("<native check %s>", self->name);
}

PyTypeObject Check_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "aicenter.exchange.pii._native.Check",
    .tp_basicsize = sizeof(CheckObject),
    .tp_dealloc = (destructor)Check_dealloc,
    .tp_call = (ternaryfunc)Check_call,
    .tp_repr = (reprfunc)Check_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A shape detector's compiled check: check(text, start, end) -> score.",
};
