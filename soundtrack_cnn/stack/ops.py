"""Faster C ops for the study's 2x2 max-pooling, swapped in by a Theano graph optimisation.

Theano's CPU ``Pool`` and ``MaxPoolGrad`` walk every window through generic
n-dimensional index arithmetic (``PyArray_GETPTR4`` per element); at batch 1200
the gradient alone took about 40% of a training step.  The study's four
``MaxPool2DLayer``\\ s all pool 2x2 windows with stride 2 and no padding
(``ignore_border=True``), so :class:`MaxPool2x2` and :class:`MaxPool2x2Grad`
implement exactly that case with plain strided loops over contiguous rows,
parallel over images x channels with OpenMP.

They compute *the same bits* as Theano's ops, not just close values:

* forward: the running maximum starts at the window's first element and takes
  each element ``a`` with ``a > max`` in row-major order, as Theano's C code
  does (so NaNs propagate the same way);
* gradient: every element equal to its window's maximum receives
  ``0 + gz`` (Theano adds into a zeroed buffer; the addition turns ``-0.0``
  into ``+0.0``), every tied maximum included; rows and columns left over by
  an odd size receive 0.

:func:`local_max_pool_2x2` replaces Theano's ops by these in the
``specialize`` phase of ``fast_run`` compilation, after gradients are built,
so ``network.py`` and Lasagne stay as they are and a pickled net simply
compiles to the faster graph when loaded.  :func:`register` adds it to
Theano's optimiser database under :data:`OPTIMIZATION_NAME`; a compile mode
can leave it out with ``mode.excluding(OPTIMIZATION_NAME)``.  A second
optimisation, in Theano's ``inplace`` phase, lets the gradient overwrite the
pooled layer's input where nothing else needs it (one buffer less at the
peak of a training step).

Examples
--------
>>> import numpy as np, theano, theano.tensor as T
>>> from soundtrack_cnn.stack.ops import MaxPool2x2
>>> x = T.ftensor4()
>>> pool = theano.function([x], MaxPool2x2()(x))
>>> pool(np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4))
array([[[[5., 7.]]]], dtype=float32)
"""
import theano
import theano.tensor as T
from theano import gof
from theano.tensor.signal.pool import MaxPoolGrad, Pool

__all__ = ["MaxPool2x2", "MaxPool2x2Grad", "local_max_pool_2x2",
           "local_max_pool_2x2_grad_inplace", "register",
           "OPTIMIZATION_NAME"]

#: Name of the graph optimisation in Theano's ``optdb`` (for ``Mode.excluding``).
OPTIMIZATION_NAME = "soundtrack_cnn_max_pool_2x2"

_FLOAT_DTYPES = ("float32", "float64")

# Shared C prologue: the 4-d input as a C-contiguous array (a new reference,
# released at the end), its shape and the pooled shape.  Theano's output size
# for ignore_border=True, stride 2, window 2 is (size - 2) // 2 + 1 when
# size >= 2 and 0 otherwise, i.e. size // 2.
_PROLOGUE = """
    {  // closed at the end of each c_code: Theano's failure gotos must not jump over initialisations
    PyArrayObject* x_c = PyArray_GETCONTIGUOUS(%(x)s);
    if (!x_c) %(fail)s;
    if (PyArray_NDIM(x_c) != 4) {
        Py_DECREF(x_c);
        PyErr_SetString(PyExc_ValueError, "MaxPool2x2: input must be 4-d");
        %(fail)s;
    }
    const npy_intp n_planes = PyArray_DIMS(x_c)[0] * PyArray_DIMS(x_c)[1];
    const npy_intp height = PyArray_DIMS(x_c)[2], width = PyArray_DIMS(x_c)[3];
    const npy_intp out_height = height / 2, out_width = width / 2;
"""


def _allocate(name, dims, like, fail):
    """C code: make ``name`` a C-contiguous array of ``dims`` (reused when it already is)."""
    return """
    {
        int reuse = %(name)s && PyArray_ISCONTIGUOUS(%(name)s) && PyArray_NDIM(%(name)s) == 4;
        for (int i = 0; reuse && i < 4; i++) reuse = PyArray_DIMS(%(name)s)[i] == %(dims)s[i];
        if (!reuse) {
            Py_XDECREF(%(name)s);
            %(name)s = (PyArrayObject*) PyArray_EMPTY(4, %(dims)s, PyArray_TYPE(%(like)s), 0);
            if (!%(name)s) { Py_DECREF(x_c); %(fail)s; }
        }
    }
""" % dict(name=name, dims=dims, like=like, fail=fail)


class MaxPool2x2(gof.OpenMPOp):
    """Max over 2x2 windows, stride 2, trailing odd row/column dropped.

    Bitwise the same as Theano's ``Pool(ignore_border=True, mode='max')``
    with ``ws=stride=(2, 2)`` and no padding, on 4-d float arrays.
    """

    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        if x.ndim != 4 or x.dtype not in _FLOAT_DTYPES:
            raise TypeError("MaxPool2x2 takes a 4-d float tensor, not {}".format(x.type))
        out = T.TensorType(x.dtype, x.broadcastable[:2] + (False, False))
        return gof.Apply(self, [x], [out()])

    def infer_shape(self, node, shapes):
        n, c, h, w = shapes[0]
        return [(n, c, h // 2, w // 2)]

    def grad(self, inputs, output_grads):
        x, = inputs
        gz, = output_grads
        # Theano's own gradient op: differentiating a graph that already holds
        # this op builds the same graph as differentiating Theano's Pool, and
        # the optimisation then swaps both ops.
        maxout = self(x)
        return [MaxPoolGrad(ignore_border=True)(x, maxout, gz, (2, 2), (2, 2), (0, 0))]

    def c_code(self, node, name, inp, out, sub):
        x, = inp
        z, = out
        parallel = "#pragma omp parallel for schedule(static)" if self.openmp else ""
        return (_PROLOGUE % dict(x=x, fail=sub["fail"])) + """
    npy_intp z_dims[4] = {PyArray_DIMS(x_c)[0], PyArray_DIMS(x_c)[1], out_height, out_width};
""" + _allocate(z, "z_dims", "x_c", sub["fail"]) + """
    {
        typedef dtype_%(x)s real;
        const real* x_data = (const real*) PyArray_DATA(x_c);
        real* z_data = (real*) PyArray_DATA(%(z)s);
        %(parallel)s
        for (npy_intp p = 0; p < n_planes; p++) {
            const real* plane = x_data + p * height * width;
            real* pooled = z_data + p * out_height * out_width;
            for (npy_intp i = 0; i < out_height; i++) {
                const real* top = plane + 2 * i * width;
                const real* bottom = top + width;
                real* row = pooled + i * out_width;
                for (npy_intp j = 0; j < out_width; j++) {
                    // Theano's order and comparison: first element, then a > max.
                    real m = top[2 * j], a;
                    a = top[2 * j + 1]; m = (a > m) ? a : m;
                    a = bottom[2 * j]; m = (a > m) ? a : m;
                    a = bottom[2 * j + 1]; m = (a > m) ? a : m;
                    row[j] = m;
                }
            }
        }
    }
    Py_DECREF(x_c);
    }
""" % dict(x=x, z=z, parallel=parallel)

    def c_code_cache_version(self):
        return (1, self.openmp)


class MaxPool2x2Grad(gof.OpenMPOp):
    """Gradient of :class:`MaxPool2x2`: ``gz`` to every element equal to its window's max.

    Bitwise the same as Theano's ``MaxPoolGrad(ignore_border=True)`` with
    ``ws=stride=(2, 2)`` and no padding.  With ``inplace=True`` it writes the
    gradient over ``x`` (each window is read before it is written), which
    saves a buffer the size of the pooled layer's input; Theano's ``inplace``
    phase chooses it where nothing else needs ``x`` afterwards.
    """

    __props__ = ("inplace",)

    def __init__(self, inplace=False, openmp=None):
        super(MaxPool2x2Grad, self).__init__(openmp=openmp)
        self.inplace = inplace
        if inplace:
            self.destroy_map = {0: [0]}

    def make_node(self, x, maxout, gz):
        x, maxout, gz = (T.as_tensor_variable(v) for v in (x, maxout, gz))
        if x.ndim != 4 or x.dtype not in _FLOAT_DTYPES:
            raise TypeError("MaxPool2x2Grad takes 4-d float tensors, not {}".format(x.type))
        if maxout.type != gz.type or maxout.dtype != x.dtype:
            raise TypeError("MaxPool2x2Grad: maxout and gz must match x's dtype")
        return gof.Apply(self, [x, maxout, gz], [x.type()])

    def infer_shape(self, node, shapes):
        return [shapes[0]]

    def c_code(self, node, name, inp, out, sub):
        x, maxout, gz = inp
        gx, = out
        parallel = "#pragma omp parallel for schedule(static)" if self.openmp else ""
        fail = sub["fail"]
        if self.inplace:
            # x_c is x itself when x is C-contiguous, else a private copy.
            output = """
    Py_XDECREF(%(gx)s);
    %(gx)s = x_c;
    Py_INCREF(%(gx)s);
""" % dict(gx=gx)
        else:
            output = _allocate(gx, "PyArray_DIMS(x_c)", "x_c", fail)
        return (_PROLOGUE % dict(x=x, fail=fail)) + """
    PyArrayObject* maxout_c = PyArray_GETCONTIGUOUS(%(maxout)s);
    PyArrayObject* gz_c = PyArray_GETCONTIGUOUS(%(gz)s);
    if (!maxout_c || !gz_c) { Py_DECREF(x_c); Py_XDECREF(maxout_c); Py_XDECREF(gz_c); %(fail)s; }
    for (int i = 0; i < 4; i++) {
        npy_intp expected = i < 2 ? PyArray_DIMS(x_c)[i] : (i == 2 ? out_height : out_width);
        if (PyArray_DIMS(maxout_c)[i] != expected || PyArray_DIMS(gz_c)[i] != expected) {
            Py_DECREF(x_c); Py_DECREF(maxout_c); Py_DECREF(gz_c);
            PyErr_SetString(PyExc_ValueError, "MaxPool2x2Grad: maxout/gz shape does not match x");
            %(fail)s;
        }
    }
    Py_DECREF(maxout_c); Py_DECREF(gz_c);  // %(maxout)s and %(gz)s still hold them
""" % dict(maxout=maxout, gz=gz, fail=fail) + output + """
    {
        typedef dtype_%(x)s real;
        const real zero = 0;
        const real* x_data = (const real*) PyArray_DATA(x_c);
        const real* max_data = (const real*) PyArray_DATA(maxout_c);
        const real* gz_data = (const real*) PyArray_DATA(gz_c);
        real* gx_data = (real*) PyArray_DATA(%(gx)s);
        %(parallel)s
        for (npy_intp p = 0; p < n_planes; p++) {
            const real* plane = x_data + p * height * width;
            real* grad = gx_data + p * height * width;
            const real* maxima = max_data + p * out_height * out_width;
            const real* grads = gz_data + p * out_height * out_width;
            for (npy_intp i = 0; i < out_height; i++) {
                const real* top = plane + 2 * i * width;
                const real* bottom = top + width;
                real* gtop = grad + 2 * i * width;
                real* gbottom = gtop + width;
                for (npy_intp j = 0; j < out_width; j++) {
                    const real m = maxima[i * out_width + j];
                    // zero + g, as Theano accumulates into a zeroed buffer.
                    const real g = zero + grads[i * out_width + j];
                    // Read the whole window before writing: gx may be x.
                    const int t0 = top[2 * j] == m, t1 = top[2 * j + 1] == m;
                    const int b0 = bottom[2 * j] == m, b1 = bottom[2 * j + 1] == m;
                    gtop[2 * j] = t0 ? g : zero;
                    gtop[2 * j + 1] = t1 ? g : zero;
                    gbottom[2 * j] = b0 ? g : zero;
                    gbottom[2 * j + 1] = b1 ? g : zero;
                }
                if (width %% 2) { gtop[width - 1] = zero; gbottom[width - 1] = zero; }
            }
            if (height %% 2) {
                real* last = grad + (height - 1) * width;
                for (npy_intp j = 0; j < width; j++) last[j] = zero;
            }
        }
    }
    Py_DECREF(x_c);
    }
""" % dict(x=x, gx=gx, parallel=parallel)

    def c_code_cache_version(self):
        return (2, self.inplace, self.openmp)


def _is_2x2_max_pool(op, ws, stride, pad):
    """True for the study's pooling: 2-d max, ignore_border, 2x2 window, stride 2, no pad."""
    if op.ndim != 2 or op.mode != "max" or not op.ignore_border:
        return False
    # Lasagne passes the sizes as Python tuples, which Theano turns into constants.
    if not all(isinstance(v, T.TensorConstant) for v in (ws, stride, pad)):
        return False
    values = [tuple(v.data.tolist()) for v in (ws, stride, pad)]
    return values == [(2, 2), (2, 2), (0, 0)]


@gof.local_optimizer([Pool, MaxPoolGrad])
def local_max_pool_2x2(node):
    """Replace Theano's 2x2/stride-2 max ``Pool`` and ``MaxPoolGrad`` by the ops above."""
    op = node.op
    if isinstance(op, Pool):
        x, ws, stride, pad = node.inputs
        if x.ndim == 4 and x.dtype in _FLOAT_DTYPES and _is_2x2_max_pool(op, ws, stride, pad):
            return [MaxPool2x2()(x)]
    elif isinstance(op, MaxPoolGrad):
        x, maxout, gz, ws, stride, pad = node.inputs
        if (x.ndim == 4 and x.dtype in _FLOAT_DTYPES and maxout.dtype == gz.dtype == x.dtype
                and _is_2x2_max_pool(op, ws, stride, pad)):
            return [MaxPool2x2Grad()(x, maxout, gz)]
    return False


@gof.local_optimizer([MaxPool2x2Grad], inplace=True)
def local_max_pool_2x2_grad_inplace(node):
    """Let :class:`MaxPool2x2Grad` overwrite its input (kept only if nothing else needs it)."""
    if isinstance(node.op, MaxPool2x2Grad) and not node.op.inplace:
        return [MaxPool2x2Grad(inplace=True)(*node.inputs)]
    return False


_registered = False


def register():
    """Add the optimisations to Theano's ``specialize`` and ``inplace`` phases (idempotent)."""
    global _registered
    if not _registered:
        T.opt.register_specialize(local_max_pool_2x2, name=OPTIMIZATION_NAME)
        # Position 75 is where Theano makes its own ops in-place; an in-place
        # version that would destroy a value still needed is silently skipped.
        theano.compile.optdb.register(
            OPTIMIZATION_NAME + "_inplace",
            gof.TopoOptimizer(local_max_pool_2x2_grad_inplace,
                              failure_callback=gof.TopoOptimizer.warn_inplace),
            75, "fast_run", "inplace", OPTIMIZATION_NAME)
        _registered = True
