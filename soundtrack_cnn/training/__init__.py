"""Training the study's nets (Theano, Lasagne, nolearn) and keeping them.

Importing this subpackage imports nothing; :mod:`.modelfiles` and :mod:`.checkpoint`
are read without Theano.

.. autosummary::

    network       the study's listing: hyperparameters, then one ``NeuralNet(...)`` call
    callbacks     AdjustVariable, EarlyStopping (loss or AUC), ValidationTrackAUC, ...
    batches       the order of training tiles: stored, shuffled, class-balanced
    dataset       a lazy, normalising view of tiles for nolearn
    budget        updates per epoch, measured step time, warnings before training
    modelfiles    a model's files: ``ensemble.json`` (schema, checksum), the checked weights ``.npz``
    checkpoint    ``ModelFolder``: one model's pickles, checksums and signatures, written during fit
    ensemble      ``SpecialistEnsemble`` (the study), ``MultiLabelNet`` (its baseline)
    loading       ``load_run`` (signed pickles only), the pickle-free ``.npz`` export and import

Where a specialist's epoch is chosen: :class:`soundtrack_cnn.training.callbacks.EarlyStopping`.
"""
