"""Using a trained run without Theano: the numpy engine and tagging.

.. autosummary::

    numpy_net     the study's network as a numpy forward pass
    model         ``NumpyEnsemble`` and ``load_model``: a run loaded without Theano
    tagging       a folder of audio -> one tags CSV
"""
