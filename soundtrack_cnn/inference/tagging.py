"""Tag a whole collection: find the audio files under a folder, write one CSV of their tags.

The CSV has one row per file, in path order::

    path,tag_1,score_1,...,tag_k,score_k,error

with scores the track's normalised shares (as ``predict`` prints them).  A
file that cannot be read gets its row with the error and empty tags; the
others are still scored.
"""
import csv
import io
import os

from ..errors import InputError
from ..files import write_bytes

__all__ = ["AUDIO_EXTENSIONS", "find_audio", "expand_inputs", "tags_csv"]

#: File name extensions taken for audio (formats libsndfile decodes).
AUDIO_EXTENSIONS = frozenset([".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3",
                              ".aif", ".aiff", ".aifc", ".au", ".snd", ".caf", ".w64", ".rf64"])


def find_audio(folder):
    """Audio files under ``folder``, recursively, sorted; hidden files and folders skipped.

    Parameters
    ----------
    folder : str

    Returns
    -------
    paths : list of str
    """
    found = []
    for root, folders, files in os.walk(folder):
        # Hidden entries are never music: ".git", macOS "._song.mp3" resource forks.
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        found.extend(os.path.join(root, name) for name in sorted(files)
                     if not name.startswith(".")
                     and os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS)
    return found


def expand_inputs(inputs):
    """Files as given, folders replaced by the audio files under them.

    Returns
    -------
    paths : list of str
    any_folder : bool
        Whether a folder was among the inputs.

    Raises
    ------
    InputError
        If a folder holds no audio file.
    """
    paths, any_folder = [], False
    for item in inputs:
        if os.path.isdir(item):
            any_folder = True
            found = find_audio(item)
            if not found:
                raise InputError("{}: no audio files ({}) in this folder or below".format(
                    item, ", ".join(sorted(AUDIO_EXTENSIONS))))
            paths.extend(found)
        else:
            paths.append(item)
    return paths, any_folder


def tags_csv(path, predictions, k):
    """Write the tags of ``predictions`` (TrackPrediction list) as one CSV, atomically.

    Returns
    -------
    path : str
    """
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    header = ["path"]
    for rank in range(1, k + 1):
        header += ["tag_{}".format(rank), "score_{}".format(rank)]
    writer.writerow(header + ["error"])
    for prediction in predictions:
        cells = []
        for genre, share in prediction.top[:k]:
            cells += [genre, "{:.4f}".format(share)]
        cells += [""] * (2 * k - len(cells))
        writer.writerow([prediction.path] + cells + [prediction.error or ""])
    write_bytes(path, text.getvalue().encode())
    return path
