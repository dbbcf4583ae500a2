"""``film.html``: one offline page for one film -- timeline, verdict, and the music behind it.

From top to bottom: the verdict (bars of the ranked genres with their
intervals, or the abstention), the timeline strip (a band of the segments --
cues coloured, stretches unlike the training collection grey, silences
dark -- over one row per genre shaded by every tile's score, dimmed where the
tile is unlike the training collection), and the provenance: for each top
genre, the segments that weigh most in its score, each a button that plays a
clip of it.  Clips (up to :data:`CLIP_SECONDS` around the segment's tile that
scores the genre highest) are inlined as WAV, read from the input files by
seeking, never by decoding a whole film, so the page works from disk with no
network and stays a few MB.
"""
import base64
import html
import io
import json
import os

import numpy as np
import soundfile
import soxr

from ..errors import InputError
from ..files import write_bytes
from ..reporting.figures import TRUE_TAG_GREEN

__all__ = ["write_film_page", "read_clip", "CLIP_SECONDS"]

_TEMPLATE = os.path.join(os.path.dirname(__file__), "templates", "film.html")

#: Longest clip inlined per provenance segment.
CLIP_SECONDS = 20.0


def read_clip(path, start, end, sr=11025):
    """``[start, end)`` seconds of an audio file as a mono 16-bit WAV data URI.

    Seeks to ``start``, so a clip of a 2-hour film costs what the clip does.

    Examples
    --------
    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.wav")
    >>> soundfile.write(path, np.zeros((44100 * 3, 2)), 44100)
    >>> read_clip(path, 1.0, 2.0)[:22]
    'data:audio/wav;base64,'
    """
    try:
        with soundfile.SoundFile(path) as stream:
            stream.seek(min(int(start * stream.samplerate), stream.frames))
            block = stream.read(int((end - start) * stream.samplerate), dtype="float32",
                                always_2d=True)
            rate = stream.samplerate
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        raise InputError("{}: cannot read a clip ({})".format(path, error)) from error
    mono = block.mean(axis=1)
    if rate != sr and len(mono):
        mono = soxr.resample(mono, rate, sr)
    buffer = io.BytesIO()
    soundfile.write(buffer, mono / max(1.0, float(np.abs(mono).max(initial=0))), sr,
                    format="WAV", subtype="PCM_16")
    return "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode()


def _clip_span(analysis, segment, genre):
    """Up to CLIP_SECONDS of ``segment`` around its in-distribution tile scoring ``genre`` highest."""
    source, j = analysis.source, analysis.genres.index(genre)
    rows = np.arange(*segment.tiles)
    rows = rows[analysis.in_distribution[rows]]
    centre = source.starts[rows[np.argmax(source.scores[rows, j])]] + source.tile_seconds / 2
    start = max(segment.start, min(centre - CLIP_SECONDS / 2, segment.end - CLIP_SECONDS))
    return start, min(segment.end, start + CLIP_SECONDS)


def _provenance(analysis, clip_sr):
    """The verdict's provenance with a clip for every segment named."""
    by_number = {s.number: s for s in analysis.segments}
    clips, result = {}, {}
    for genre, sources in analysis.verdict["provenance"].items():
        result[genre] = []
        for entry in sources:
            segment = by_number[entry["segment"]]
            start, end = _clip_span(analysis, segment, genre)
            f = analysis.source.files[segment.file]
            key = (segment.file, round(start, 2), round(end, 2))
            if key not in clips:
                clips[key] = read_clip(f.path, start - f.offset, end - f.offset, clip_sr)
            result[genre].append(dict(entry, clip=clips[key], clip_start=round(start, 2),
                                      clip_end=round(end, 2)))
    return result


def write_film_page(path, analysis, clip_sr=11025):
    """Write ``film.html`` for a :class:`~soundtrack_cnn.film.analysis.FilmAnalysis`.

    Returns
    -------
    path : str
    """
    source = analysis.source
    names = [os.path.basename(f.path) for f in source.files]
    title = names[0] if len(names) == 1 else "{} ... {} ({} files)".format(
        names[0], names[-1], len(names))
    data = {
        "title": title, "duration": source.duration, "fps": analysis.settings["fps"],
        "genres": analysis.genres, "verdict": analysis.verdict, "green": TRUE_TAG_GREEN,
        "segments": [{"number": s.number, "kind": s.kind, "start": s.start, "end": s.end,
                      "in_distribution": s.in_distribution,
                      "top": None if s.scores is None else
                      analysis.genres[int(np.argmax(s.scores))]} for s in analysis.segments],
        "gaps": analysis.gaps,
        "tiles": {"starts": np.round(source.starts, 2).tolist(),
                  "seconds": source.tile_seconds, "hop": source.hop_seconds,
                  "in": analysis.in_distribution.astype(int).tolist(),
                  "scores": np.round(source.scores, 3).tolist()},
        "provenance": _provenance(analysis, clip_sr)}
    with open(_TEMPLATE) as stream:
        page = stream.read()
    # "</" inside inlined JSON would end the <script> element early.
    payload = json.dumps(data).replace("</", "<\\/")
    page = page.replace("__TITLE__", html.escape("soundtrack_cnn film: " + title))
    write_bytes(path, page.replace("__DATA__", payload).encode())
    return path
