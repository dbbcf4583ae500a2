"""Dropout's random numbers on every core, drawing exactly the numbers Theano draws.

Lasagne's ``DropoutLayer`` draws its masks from Theano's ``MRG_RandomStreams``:
the CPU op ``mrg_uniform`` keeps ``n_streams`` independent MRG31k3p generator
states and fills element ``i`` of the sample from stream ``i % n_streams``,
in one single-threaded loop (10-14% of a training step at batch 1200).
Each stream's numbers depend only on that stream's state, so the streams can
be advanced in parallel: :class:`ParallelMRGUniform` gives each thread a
block of streams and walks the sample round by round (stream ``s`` of round
``r`` is element ``r * n_streams + s``, as in Theano).  Samples and final
states are the same bits as Theano's, so the masks -- their keep-rate and
their independence -- are unchanged, and so is every run's sequence of masks.

:func:`local_parallel_mrg_uniform` swaps the op in at compile time (Theano's
own in-place optimisation then keeps the subclass); :func:`register` adds it
to Theano's ``specialize`` phase under :data:`OPTIMIZATION_NAME`.

Examples
--------
>>> import numpy as np, theano
>>> from theano.sandbox.rng_mrg import MRG_RandomStreams
>>> draw = theano.function([], MRG_RandomStreams(seed=1).uniform((2, 3)))
>>> [type(node.op).__name__ for node in draw.maker.fgraph.toposort()]
['ParallelMRGUniform']
"""
import theano
from theano import gof
from theano.sandbox.rng_mrg import mrg_uniform

__all__ = ["ParallelMRGUniform", "local_parallel_mrg_uniform", "register", "OPTIMIZATION_NAME"]

#: Name of the graph optimisation in Theano's ``optdb`` (for ``Mode.excluding``).
OPTIMIZATION_NAME = "soundtrack_cnn_parallel_mrg_uniform"

# The generator step with the same constants, expressions and int32 types as
# Theano's C code (so the compiler treats its arithmetic the same way).
_KERNEL = """
void cpu_rng_mrg_uniform_%(dtype)s(PyArrayObject* o_sample, PyArrayObject* o_rstate,
                                   npy_int64 n_elements, int n_streams) {
    const npy_int32 i7 = 7, i9 = 9, i15 = 15, i16 = 16, i22 = 22, i24 = 24;
    const npy_int32 M1 = 2147483647;      // 2^31 - 1
    const npy_int32 M2 = 2147462579;      // 2^31 - 21069
    const npy_int32 MASK12 = 511;         // 2^9 - 1
    const npy_int32 MASK13 = 16777215;    // 2^24 - 1
    const npy_int32 MASK2 = 65535;        // 2^16 - 1
    const npy_int32 MULT2 = 21069;
    %(dtype)s* sample_data = (%(dtype)s*) PyArray_DATA(o_sample);
    npy_int32* state_data = (npy_int32*) PyArray_DATA(o_rstate);
    // Blocks of streams per thread; each round writes a contiguous run of samples.
    const npy_int64 block = 512;
    const npy_int64 n_blocks = (n_streams + block - 1) / block;
    #pragma omp parallel for schedule(static) if (n_elements > 65536)
    for (npy_int64 b = 0; b < n_blocks; ++b) {
        const npy_int64 first = b * block;
        const npy_int64 last = first + block < n_streams ? first + block : n_streams;
        for (npy_int64 round = 0; round < n_elements; round += n_streams) {
            for (npy_int64 s = first; s < last && round + s < n_elements; ++s) {
                npy_int32* state = state_data + s * 6;
                npy_int32 y1, y2, x11, x12, x13, x21, x22, x23;
                x11 = state[0]; x12 = state[1]; x13 = state[2];
                x21 = state[3]; x22 = state[4]; x23 = state[5];

                y1 = ((x12 & MASK12) << i22) + (x12 >> i9) + ((x13 & MASK13) << i7) + (x13 >> i24);
                if ((y1 < 0 || y1 >= M1))
                    y1 -= M1;
                y1 += x13;
                if ((y1 < 0 || y1 >= M1))
                    y1 -= M1;
                x13 = x12;
                x12 = x11;
                x11 = y1;

                y1 = ((x21 & MASK2) << i15) + (MULT2 * (x21 >> i16));
                if (y1 < 0 || y1 >= M2)
                    y1 -= M2;
                y2 = ((x23 & MASK2) << i15) + (MULT2 * (x23 >> i16));
                if (y2 < 0 || y2 >= M2)
                    y2 -= M2;
                y2 += x23;
                if (y2 < 0 || y2 >= M2)
                    y2 -= M2;
                y2 += y1;
                if (y2 < 0 || y2 >= M2)
                    y2 -= M2;
                x23 = x22;
                x22 = x21;
                x21 = y2;

                if (x11 <= x21)
                    sample_data[round + s] = (x11 - x21 + M1) * %(norm)s;
                else
                    sample_data[round + s] = (x11 - x21) * %(norm)s;
                state[0] = x11; state[1] = x12; state[2] = x13;
                state[3] = x21; state[4] = x22; state[5] = x23;
            }
        }
    }
}
"""


class ParallelMRGUniform(mrg_uniform):
    """Theano's CPU ``mrg_uniform``, its streams advanced in parallel (OpenMP)."""

    def c_support_code(self):
        return "\n".join(_KERNEL % dict(dtype=dtype, norm=norm) for dtype, norm in (
            ("npy_float32", "4.6566126e-10f"), ("npy_float64", "4.656612873077392578125e-10")))

    def c_compile_args(self):
        return ["-fopenmp"] if theano.config.openmp else []

    def c_code_cache_version(self):
        return (1, super(ParallelMRGUniform, self).c_code_cache_version(), theano.config.openmp)


@gof.local_optimizer([mrg_uniform])
def local_parallel_mrg_uniform(node):
    """Replace Theano's CPU ``mrg_uniform`` (float32/64) by :class:`ParallelMRGUniform`."""
    op = node.op
    if type(op) is mrg_uniform and op.output_type.dtype in ("float32", "float64"):
        return ParallelMRGUniform(op.output_type, inplace=op.inplace)(*node.inputs)
    return False


_registered = False


def register():
    """Add :func:`local_parallel_mrg_uniform` to Theano's ``specialize`` phase (idempotent)."""
    global _registered
    if not _registered:
        theano.tensor.opt.register_specialize(local_parallel_mrg_uniform, name=OPTIMIZATION_NAME)
        _registered = True
