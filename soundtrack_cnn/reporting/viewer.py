"""The study's prediction viewer, as one self-contained offline HTML page.

The page cycles through the test tracks, drawing each track's normalised
predictions as bars sorted by score, its true tags as bright green bars, with
Play (a short clip of the track) and Next.  Under the bars, a strip chart
shows the genre timeline of the track on screen: one row per genre (in the
bars' order), one cell per tile, shaded by the tile's score.  Everything is inlined -- data as
JSON, clips as base64 WAV -- so the page works from disk with no network.
A track whose audio cannot be read is left out (listed at the bottom of the
page), and a clip that fails to play skips to the next track, as the study's
viewer did.
"""
import base64
import html
import io
import json
import os

import numpy as np
import soundfile

from ..audio.io import load_audio
from ..errors import InputError
from ..files import write_bytes
from .figures import TRUE_TAG_GREEN

__all__ = ["write_viewer"]

_TEMPLATE = os.path.join(os.path.dirname(__file__), "templates", "viewer.html")


def _clip(path, sr, seconds):
    """A ``seconds`` clip from the middle of the track, as a WAV data URI."""
    signal = load_audio(path, sr=sr)
    start = max(0, (len(signal) - int(seconds * sr)) // 2)
    clip = signal[start:start + int(seconds * sr)]
    buffer = io.BytesIO()
    soundfile.write(buffer, (clip / max(1.0, float(np.abs(clip).max()))), sr,
                    format="WAV", subtype="PCM_16")
    return "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode()


def _timeline(name, timeline, n_genres):
    """The strip chart's data, checked and rounded (the page stays small)."""
    scores = np.asarray(timeline["scores"], dtype=float)
    if scores.ndim != 2 or scores.shape[1] != n_genres or len(timeline["starts"]) != len(scores):
        raise InputError("track {}: timeline needs one start and {} scores per tile".format(
            name, n_genres))
    return {"starts": [round(float(s), 2) for s in timeline["starts"]],
            "scores": np.round(scores, 3).tolist(),
            "tile_seconds": float(timeline["tile_seconds"])}


def write_viewer(path, tracks, genres, title="soundtrack_cnn predictions", clip_seconds=15,
                 sr=22050, clip_sr=11025, figures=()):
    """Write the viewer page.

    Parameters
    ----------
    path : str
        Output ``.html``.
    tracks : list of dict
        ``{"name", "audio_path" (or None), "scores" (K normalised floats),
        "true_tags" (list of str)}``, in display order; optionally
        ``"timeline": {"starts": [s, ...], "scores": [[K floats], ...],
        "tile_seconds": float}``, every tile's scores for the strip chart.
    genres : sequence of str
    title : str
    clip_seconds : float
        Length of the inlined clip, cut from the middle of each track.
    sr : int
        Rate the audio is decoded at.
    clip_sr : int
        Rate of the inlined clip (lower keeps the page small).
    figures : sequence of str
        PNG files (in the page's folder) to link below the viewer.

    Returns
    -------
    path : str
    """
    shown, missing = [], []
    for track in tracks:
        if len(track["scores"]) != len(genres):
            raise InputError("track {}: {} scores for {} genres".format(
                track["name"], len(track["scores"]), len(genres)))
        timeline = track.get("timeline") and _timeline(track["name"], track["timeline"],
                                                        len(genres))
        try:
            clip = _clip(track["audio_path"], clip_sr, clip_seconds)
        except (InputError, TypeError) as error:
            missing.append("{}: {}".format(track["name"], error))
            continue
        entry = {"name": track["name"], "scores": [float(s) for s in track["scores"]],
                 "true": list(track["true_tags"]), "clip": clip}
        if timeline:
            entry["timeline"] = timeline
        shown.append(entry)
    data = {"genres": list(genres), "tracks": shown, "missing": missing,
            "figures": [os.path.basename(f) for f in figures], "green": TRUE_TAG_GREEN}
    with open(_TEMPLATE) as stream:
        page = stream.read()
    # "</" inside inlined JSON would end the <script> element early.
    payload = json.dumps(data).replace("</", "<\\/")
    page = page.replace("__TITLE__", html.escape(title)).replace("__DATA__", payload)
    write_bytes(path, page.encode())
    return path
