"""Sound in, tiles out: decoding, MFCCs, tiles, and back to sound.

.. autosummary::

    io            decode any file to mono float at a fixed rate (``load_audio``); write audio
    features      ``FeatureSettings``, MFCC frames, tiles, ``Normalizer``, compression figures
    streaming     tiles of any-length audio in bounded memory (``stream_tiles``)
    reconstruct   MFCC -> audio (noise-excited), the crossfade demo

Where tiles are cut: :func:`soundtrack_cnn.audio.features.tile`.
"""
