"""A whole film (or an album of cues) in, a genre verdict with its evidence out.

``analyse_film(run, inputs, out=...)``, also ``soundtrack-cnn film``: the input
is streamed, its tiles scored and flagged when unlike the training
collection, cut into cues at silences and where the scores change, and the
genres are ranked from the music like the training collection, with
intervals, an abstention, and the segments behind each top genre.

.. autosummary::

    source      the input on one timeline: files in order, tile scores, MFCC statistics, loudness
    novelty     how unlike the training tiles a tile is; the threshold from validation tiles
    segments    silences, in/out-of-distribution runs, change points of the scores: the cues
    verdict     the film's ranking from in-distribution tiles, intervals, abstention, provenance
    cuesheet    HH:MM:SS:FF timecodes and ``cues.csv``
    page        ``film.html``: timeline, verdict bars, provenance segments that play
    analysis    ``analyse_film``: the steps in order; ``verdict.json``

``templates/film.html`` is the page ``page`` fills in.
"""
import importlib

__all__ = ["analyse_film"]


def __getattr__(name):
    # Imported on first use, so that a light module of the subpackage (verdict's
    # CALIBRATED, for the command line's parser) does not bring in the rest.
    if name != "analyse_film":
        raise AttributeError("module 'soundtrack_cnn.film' has no attribute {!r}".format(name))
    return importlib.import_module(".analysis", __name__).analyse_film
