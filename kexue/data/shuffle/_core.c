/* kexue.data.shuffle._core: the byte-moving loops of `kexue shuffle`, in C.
 *
 * Two functions on whole buffers (buffer protocol), each releasing the GIL around its loop so
 * that other threads (disk reads and writes, NumPy) run at the same time:
 *
 *   find(buf, sep, out) -> int
 *       The number of bytes equal to `sep` in `buf`. The end (index + 1) of the first
 *       min(count, len(out)) of them is stored in `out` (int64), so line i of `buf` is
 *       buf[out[i-1]:out[i]] with out[-1] taken as 0, separator included.
 *
 *   gather(src, ends, order, dst) -> (lines, nbytes)
 *       Copy the lines src[ends[o-1]:ends[o]] (ends[-1] taken as 0) for o in `order` (int64),
 *       in that order, to the front of `dst`; stops before the first line that does not fit.
 *       Returns how many lines of `order` were copied and their total size.
 *
 *   preallocate(fd, length) -> bool
 *       Reserve disk blocks for the first `length` bytes of the open file `fd` (Linux
 *       fallocate, size unchanged); False where the file system cannot (no slow emulation).
 *
 * Randomness lives in NumPy (bucket labels, permutations); this file only moves bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>

#define PREFETCH 4 /* lines ahead */

static int
int64_view(PyObject *obj, Py_buffer *view, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s must be a %scontiguous int64 array, not %.100s",
                     name, writable ? "writable " : "", Py_TYPE(obj)->tp_name);
        return -1;
    }
    const char *f = view->format ? view->format : "B";
    if (*f == '<' || *f == '=' || *f == '@') {
        f++;
    }
    if (view->itemsize != 8 || (strcmp(f, "q") != 0 && strcmp(f, "l") != 0) || view->ndim > 1) {
        PyErr_Format(PyExc_TypeError, "%s must be a 1-D int64 array (got format '%s', %zd dims)",
                     name, view->format ? view->format : "B", (Py_ssize_t)view->ndim);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int
byte_view(PyObject *obj, Py_buffer *view, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s must be a %scontiguous bytes-like object, not %.100s",
                     name, writable ? "writable " : "", Py_TYPE(obj)->tp_name);
        return -1;
    }
    return 0;
}

static PyObject *
core_find(PyObject *self, PyObject *args)
{
    PyObject *buf_obj, *out_obj;
    int sep;
    if (!PyArg_ParseTuple(args, "OiO:find", &buf_obj, &sep, &out_obj)) {
        return NULL;
    }
    if (sep < 0 || sep > 255) {
        PyErr_SetString(PyExc_ValueError, "sep must be a byte value in [0, 255]");
        return NULL;
    }
    Py_buffer buf, out;
    if (byte_view(buf_obj, &buf, 0, "buf") < 0) {
        return NULL;
    }
    if (int64_view(out_obj, &out, 1, "out") < 0) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    const char *base = (const char *)buf.buf;
    const char *p = base, *end = base + buf.len;
    int64_t *o = (int64_t *)out.buf;
    Py_ssize_t cap = out.len / 8, n = 0;
    Py_BEGIN_ALLOW_THREADS
    while (p < end) {
        const char *q = memchr(p, sep, (size_t)(end - p));
        if (q == NULL) {
            break;
        }
        if (n < cap) {
            o[n] = (int64_t)(q - base) + 1;
        }
        n++;
        p = q + 1;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&out);
    PyBuffer_Release(&buf);
    return PyLong_FromSsize_t(n);
}

static PyObject *
core_gather(PyObject *self, PyObject *args)
{
    PyObject *src_obj, *ends_obj, *order_obj, *dst_obj;
    if (!PyArg_ParseTuple(args, "OOOO:gather", &src_obj, &ends_obj, &order_obj, &dst_obj)) {
        return NULL;
    }
    Py_buffer src, ends, order, dst;
    if (byte_view(src_obj, &src, 0, "src") < 0) {
        return NULL;
    }
    if (int64_view(ends_obj, &ends, 0, "ends") < 0) {
        PyBuffer_Release(&src);
        return NULL;
    }
    if (int64_view(order_obj, &order, 0, "order") < 0) {
        PyBuffer_Release(&ends);
        PyBuffer_Release(&src);
        return NULL;
    }
    if (byte_view(dst_obj, &dst, 1, "dst") < 0) {
        PyBuffer_Release(&order);
        PyBuffer_Release(&ends);
        PyBuffer_Release(&src);
        return NULL;
    }
    const char *s = (const char *)src.buf;
    char *d = (char *)dst.buf;
    const int64_t *e = (const int64_t *)ends.buf;
    const int64_t *ord = (const int64_t *)order.buf;
    Py_ssize_t nends = ends.len / 8, norder = order.len / 8, i = 0;
    int64_t slen = (int64_t)src.len, room = (int64_t)dst.len, pos = 0;
    int64_t bad = 0;
    int err = 0; /* 1: an index outside ends, 2: ends that do not fit src */
    Py_BEGIN_ALLOW_THREADS
    for (; i < norder; i++) {
        int64_t o = ord[i];
        if (o < 0 || o >= nends) {
            err = 1;
            bad = o;
            break;
        }
        int64_t a = o ? e[o - 1] : 0, b = e[o];
        if (a < 0 || a > b || b > slen) {
            err = 2;
            bad = o;
            break;
        }
        if (b - a > room - pos) {
            break;
        }
        if (i + PREFETCH < norder) { /* lines are gathered from random places: fetch ahead */
            int64_t q = ord[i + PREFETCH];
            if (q > 0 && q < nends) {
                int64_t qa = e[q - 1];
                if (qa >= 0 && qa < slen) {
                    __builtin_prefetch(s + qa, 0, 0);
                    __builtin_prefetch(s + qa + 64 < s + slen ? s + qa + 64 : s + qa, 0, 0);
                }
            }
        }
        memcpy(d + pos, s + a, (size_t)(b - a));
        pos += b - a;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&dst);
    PyBuffer_Release(&order);
    PyBuffer_Release(&ends);
    PyBuffer_Release(&src);
    if (err == 1) {
        PyErr_Format(PyExc_IndexError, "order holds %lld, outside [0, %zd)", (long long)bad,
                     nends);
        return NULL;
    }
    if (err == 2) {
        PyErr_Format(PyExc_ValueError,
                     "ends do not describe lines of src at line %lld (src has %lld bytes)",
                     (long long)bad, (long long)slen);
        return NULL;
    }
    return Py_BuildValue("nL", i, (long long)pos);
}

static PyObject *
core_preallocate(PyObject *self, PyObject *args)
{
    int fd;
    long long length;
    if (!PyArg_ParseTuple(args, "iL:preallocate", &fd, &length)) {
        return NULL;
    }
    if (length <= 0) {
        Py_RETURN_FALSE;
    }
    int err;
    Py_BEGIN_ALLOW_THREADS
#ifdef __linux__
    err = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)length) == 0 ? 0 : errno;
#else
    err = EOPNOTSUPP;
#endif
    Py_END_ALLOW_THREADS
    if (err == 0) {
        Py_RETURN_TRUE;
    }
    if (err == EOPNOTSUPP || err == ENOSYS || err == EINVAL) {
        Py_RETURN_FALSE;
    }
    errno = err;
    return PyErr_SetFromErrno(PyExc_OSError);
}

static PyMethodDef core_methods[] = {
    {"find", core_find, METH_VARARGS,
     "find(buf, sep, out) -> count: store the ends (index + 1) of the separators of buf in the "
     "int64 array out (as many as fit) and return how many separators buf holds."},
    {"gather", core_gather, METH_VARARGS,
     "gather(src, ends, order, dst) -> (lines, nbytes): copy the lines of src given by the "
     "int64 arrays ends (line ends) and order (line numbers) to dst, while they fit."},
    {"preallocate", core_preallocate, METH_VARARGS,
     "preallocate(fd, length) -> bool: reserve disk blocks for the first length bytes of fd "
     "(fallocate, keeping the size); False where the file system cannot."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "_core",
    "The byte-moving loops of kexue shuffle (C, releases the GIL).", -1, core_methods,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModule_Create(&core_module);
}
