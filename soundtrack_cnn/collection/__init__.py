"""The collection on disk: manifest, tags, splits, the feature store and how it is filled.

.. autosummary::

    manifest      the manifest CSV (path, tags, track_id, split) and its validation
    labels        vocabulary, label matrices, label statistics
    splits        splits by whole tracks (and films); nolearn's train_split on held-out tracks
    store         the memory-mapped feature store: format, writer, reader, self-check
    extraction    a collection into a store: ``decode_file`` (ok / skipped / failed), resume
    compaction    ``store compact``: live tiles into fresh chunks, dead space reclaimed
    corpus        the bundled synthetic corpus
"""
