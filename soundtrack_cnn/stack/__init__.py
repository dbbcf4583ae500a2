"""The 2015 stack on Python 3.11, and the package's own Theano code.

Kept apart from everything else, as Lasagne keeps its Theano code in
``theano_extensions/``.  Imports only :mod:`soundtrack_cnn.files` and
:mod:`soundtrack_cnn.parallel.locks`.

.. autosummary::

    compat         the one module that makes Theano, Lasagne and nolearn run unmodified
    runtime        speed settings applied when Theano is first imported (allocator; ops)
    ops            the 2x2 max-pool and its gradient as C ops, bitwise Theano's
    parallel_rng   Theano's MRG dropout streams advanced on every core, same numbers
    contrastive    the NT-Xent loss of contrastive pretraining, as a Theano expression
    threads        one thread per net while it trains: the same weights on any machine
"""
