"""Using a trained run without Theano: the numpy and ONNX Runtime engines, ONNX export, batches.

.. autosummary::

    numpy_net     the study's network as a numpy forward pass
    loaded        ``LoadedModel``: what a model loaded for inference has, on any engine
    onnx_export   the model as one sealed ``.onnx`` graph (``soundtrack-cnn export``)
    onnx_engine   ``OnnxEnsemble``: the graph run by ONNX Runtime (optional dependency)
    model         ``NumpyEnsemble`` and ``load_model``: a run loaded on any engine
    batch         predicting a whole collection -> one resumable tags CSV, decoding beside scoring
"""
