"""Labelling a folder of soundtracks with their films' IMDb genres.

.. autosummary::

    imdb      IMDb's dataset files read streaming; title normalisation and choice
    folder    a folder of soundtracks -> manifest with IMDb genres, review, overrides
"""
