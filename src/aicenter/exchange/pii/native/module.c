/* Module aicenter.exchange.pii._native: the Words and Check types, one factory per compiled
 * check (called by the detector files with their own parameters), and scan_tokens. */
#include "native.h"

static PyObject *new_check(check_fn fn, const char *name, PyObject *words) {
    if (words != NULL && !PyObject_TypeCheck(words, &Words_Type)) {
        PyErr_SetString(PyExc_TypeError, "context must be a Words");
        return NULL;
    }
    CheckObject *c = PyObject_New(CheckObject, &Check_Type);
    if (c == NULL)
        return NULL;
    c->fn = fn;
    c->find = NULL;
    c->name = name;
    Py_XINCREF(words);
    c->words = (WordsObject *)words;
    c->mask = 0;
    c->offset = 0;
    c->lo = c->hi = 0;
    return (PyObject *)c;
}

static PyObject *make_registration(PyObject *m, PyObject *args) {
    const char *genders;
    int offset;
    PyObject *words;
    if (!PyArg_ParseTuple(args, "siO", &genders, &offset, &words))
        return NULL;
    CheckObject *c = (CheckObject *)new_check(registration_check, "registration", words);
    if (c == NULL)
        return NULL;
    for (const char *g = genders; *g; g++) {
        if (*g < '0' || *g > '9') {
            Py_DECREF(c);
            PyErr_SetString(PyExc_ValueError, "gender digits must be digits");
            return NULL;
        }
        c->mask |= 1u << (*g - '0');
    }
    c->offset = offset;
    return (PyObject *)c;
}

static PyObject *make_driver_licence(PyObject *m, PyObject *args) {
    PyObject *regions, *words;
    if (!PyArg_ParseTuple(args, "O!O", &PyTuple_Type, &regions, &words))
        return NULL;
    CheckObject *c = (CheckObject *)new_check(driver_licence_check, "driver_licence", words);
    if (c == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(regions); i++) {
        long r = PyLong_AsLong(PyTuple_GET_ITEM(regions, i));
        if (r < 10 || r > 41) {
            Py_DECREF(c);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "region codes must be 10-41");
            return NULL;
        }
        c->mask |= 1u << (r - 10);
    }
    return (PyObject *)c;
}

static PyObject *make_bank_account(PyObject *m, PyObject *args) {
    PyObject *words;
    Py_ssize_t lo, hi;
    if (!PyArg_ParseTuple(args, "Onn", &words, &lo, &hi))
        return NULL;
    CheckObject *c = (CheckObject *)new_check(bank_account_check, "bank_account", words);
    if (c != NULL) {
        c->lo = lo;
        c->hi = hi;
    }
    return (PyObject *)c;
}

#define WORDS_ONLY(factory, fn, name)                                                        \
    static PyObject *factory(PyObject *m, PyObject *words) { return new_check(fn, name, words); }

WORDS_ONLY(make_corporate_number, corporate_number_check, "corporate_number")
WORDS_ONLY(make_business_number, business_number_check, "business_number")
WORDS_ONLY(make_passport, passport_check, "passport")
WORDS_ONLY(make_card, card_check, "card")

static PyObject *make_phone(PyObject *m, PyObject *words) {
    CheckObject *c = (CheckObject *)new_check(NULL, "phone", words);
    if (c != NULL)
        c->find = phone_find;
    return (PyObject *)c;
}

static PyObject *make_ipv6(PyObject *m, PyObject *unused) {
    CheckObject *c = (CheckObject *)new_check(NULL, "ipv6", NULL);
    if (c != NULL)
        c->find = ipv6_find;
    return (PyObject *)c;
}

static PyObject *make_email(PyObject *m, PyObject *unused) {
    CheckObject *c = (CheckObject *)new_check(NULL, "email", NULL);
    if (c != NULL)
        c->find = email_find;
    return (PyObject *)c;
}

static PyObject *make_ipv4(PyObject *m, PyObject *unused) {
    return new_check(ipv4_check, "ipv4", NULL);
}

static PyMethodDef module_methods[] = {
    {"registration", make_registration, METH_VARARGS,
     "registration(gender_digits, check_offset, context) -> Check (resident, foreigner)"},
    {"corporate_number", make_corporate_number, METH_O, "corporate_number(context) -> Check"},
    {"business_number", make_business_number, METH_O, "business_number(context) -> Check"},
    {"driver_licence", make_driver_licence, METH_VARARGS,
     "driver_licence(regions, context) -> Check"},
    {"passport", make_passport, METH_O, "passport(context) -> Check"},
    {"card", make_card, METH_O, "card(context) -> Check"},
    {"bank_account", make_bank_account, METH_VARARGS,
     "bank_account(context, min_digits, max_digits) -> Check"},
    {"ipv4", make_ipv4, METH_NOARGS, "ipv4() -> Check"},
    {"phone", make_phone, METH_O, "phone(context) -> Check (a search: check(text, s, e) -> list)"},
    {"ipv6", make_ipv6, METH_NOARGS, "ipv6() -> Check (a search of a colon run)"},
    {"email", make_email, METH_NOARGS, "email() -> Check (a search around '@')"},
    {"scan_ats", (PyCFunction)(void (*)(void))scan_ats, METH_FASTCALL,
     "scan_ats(text, steps, finding, out): the '@' pass of scanner.py"},
    {"scan_colons", (PyCFunction)(void (*)(void))scan_colons, METH_FASTCALL,
     "scan_colons(text, steps, finding, out): the colon pass of scanner.py"},
    {"fold", fold, METH_O, "fold(text) -> text with full-width ASCII and dashes folded"},
    {"finish", (PyCFunction)(void (*)(void))finish, METH_FASTCALL,
     "finish(found, texts, separator_length, finding, greedy) -> findings per record"},
    {"scan_tokens", (PyCFunction)(void (*)(void))scan_tokens, METH_FASTCALL,
     "scan_tokens(text, memo, make_plan, labels, finding, out): the token pass of scanner.py"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_native",
    .m_doc = "The compiled core of the PII scanner.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&Words_Type) < 0 || PyType_Ready(&Check_Type) < 0 ||
        PyType_Ready(&NameAnchors_Type) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Words", (PyObject *)&Words_Type) < 0 ||
        PyModule_AddObjectRef(m, "Check", (PyObject *)&Check_Type) < 0 ||
        PyModule_AddObjectRef(m, "NameAnchors", (PyObject *)&NameAnchors_Type) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
