"""The collection's manifest: one CSV row per audio file with its genre tags.

Format (UTF-8 CSV with a header row; a file name that is not UTF-8 is
written as its own bytes and read back as the same name)::

    path,tags,track_id,split
    scores/heat.flac,Action|Crime|Drama,heat,train
    /music/up.ogg,Adventure|Comedy,,

``path`` and ``tags`` are required (tags separated by ``|``); ``track_id``
(default: the path relative to the manifest's folder, without extension),
``split`` (``train``, ``valid``, ``test`` or empty) and ``film`` (the film a
track belongs to, e.g. its IMDb ``tconst``: drawn splits keep a film's tracks
together) are optional; other columns are ignored.  Relative paths resolve
against the manifest's folder.
Rows are named by their line number in the file (the header is line 1).

A manifest for pretraining needs no tags (``labelled=False``): a ``path``
column is enough, and the unlabelled pool of the real-music development set
(``path,game,duration_s,status,split``) is read as it is; rows of the splits
given as ``exclude_splits`` (say ``test``) are left out.  A folder of audio
files is such a manifest too (:func:`folder_tracks`).
"""
import csv
import dataclasses
import errno
import io
import os
import re

from ..audio.io import find_audio
from ..errors import InputError, Remedy
from ..files import not_a_file, write_bytes
from .splits import SPLITS

__all__ = ["Track", "read_manifest", "check_manifest", "write_manifest", "folder_tracks"]

TAG_SEPARATOR = "|"
#: Longest tag accepted: a genre name; a cell of text pasted by mistake (100k
#: characters) would otherwise end in figures and tables (matplotlib: bad_alloc).
MAX_TAG_LENGTH = 100
#: Bytes that were not UTF-8, as Python's surrogate escapes hold them.
_UNDECODED = re.compile("[\udc80-\udcff]")
COLUMNS = ("path", "tags", "track_id", "split")


@dataclasses.dataclass(frozen=True)
class Track(object):
    """One audio file of the collection.

    Attributes
    ----------
    path : str
        Absolute path of the audio file.
    tags : tuple of str
        Genre tags, in manifest order, without duplicates.
    track_id : str
        Unique name of the track.
    split : str or None
        ``'train'``, ``'valid'``, ``'test'`` or None (to be drawn).
    film : str or None
        The film the track belongs to (tracks of one film share a split).
    """

    path: str
    tags: tuple
    track_id: str
    split: str = None
    film: str = None


def check_manifest(path, vocabulary=None, labelled=True, exclude_splits=()):
    """Read a manifest, keeping the good rows and listing the bad ones.

    Parameters
    ----------
    path : str
        The CSV file.
    vocabulary : sequence of str, optional
        Allowed tags; any other tag makes its row bad.
    labelled : bool
        Every row needs tags (training); False accepts rows without tags and
        a manifest without a ``tags`` column (pretraining).
    exclude_splits : sequence of str
        Rows of these splits are left out (neither tracks nor problems).

    Returns
    -------
    tracks : list of Track
        The good rows, in file order.
    problems : list of (int, str, str)
        ``(line, path, reason)`` for every bad row; ``reason`` names the line
        and the path.

    Raises
    ------
    InputError
        Only if the file itself is unusable (missing, not CSV, no ``path``
        column, or no ``tags`` column when ``labelled``).

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> open(os.path.join(folder, "theme.flac"), "wb").close()
    >>> path = os.path.join(folder, "manifest.csv")
    >>> _ = open(path, "w").write("path,tags\\ntheme.flac,Drama|Action\\n,Comedy\\n")
    >>> tracks, problems = check_manifest(path)
    >>> tracks[0].tags, problems[0][0], problems[0][2].endswith("line 3: (empty path): empty path")
    (('Drama', 'Action'), 3, True)
    >>> _ = open(path, "w").write("path,game,split\\ntheme.flac,naev,train\\n")
    >>> check_manifest(path, labelled=False)[0][0].tags, check_manifest(path, labelled=False,
    ...                exclude_splits=["train"])
    ((), ([], []))
    """
    folder = os.path.dirname(os.path.abspath(path))
    allowed = None if vocabulary is None else set(vocabulary)
    tracks, problems, seen_paths, seen_ids = [], [], {}, {}
    excluded = set(exclude_splits or ())
    for line, row in _rows(path, labelled):
        if (row.get("split") or "").strip() in excluded:
            continue
        raw_path = (row.get("path") or "").strip()
        where = "{} line {}: {}".format(path, line, raw_path or "(empty path)")
        full = os.path.normpath(os.path.join(folder, raw_path)) if raw_path else ""
        pieces = (tag.strip() for tag in (row.get("tags") or "").split(TAG_SEPARATOR))
        tags = tuple(dict.fromkeys(tag for tag in pieces if tag))
        track_id = (row.get("track_id") or "").strip() or _default_id(full, folder)
        split = (row.get("split") or "").strip() or None
        film = (row.get("film") or "").strip() or None
        reason = None
        if not raw_path:
            reason = "empty path"
        elif not os.path.isfile(full):
            reason = _not_a_file(full)
        elif not tags and labelled:
            reason = "no tags"
        elif any(_UNDECODED.search(tag) for tag in tags):
            reason = "tags {} are not UTF-8 text".format(list(tags))
        elif tags and max(len(tag) for tag in tags) > MAX_TAG_LENGTH:
            reason = "a tag of {} characters (at most {}: a genre name, not a text)".format(
                max(len(tag) for tag in tags), MAX_TAG_LENGTH)
        elif allowed is not None and not allowed.issuperset(tags):
            reason = "tags {} are not in the vocabulary {}".format(
                [tag for tag in tags if tag not in allowed], sorted(allowed))
        elif split is not None and split not in SPLITS:
            reason = "split {!r} is not one of {}".format(split, SPLITS)
        elif full in seen_paths:
            reason = "same file as line {}".format(seen_paths[full])
        elif track_id in seen_ids:
            reason = "track_id {!r} already used on line {}".format(track_id, seen_ids[track_id])
        if reason:
            problems.append((line, full or raw_path, "{}: {}".format(where, reason)))
            continue
        seen_paths[full], seen_ids[track_id] = line, line
        tracks.append(Track(full, tags, track_id, split, film))
    return tracks, problems


def read_manifest(path, vocabulary=None, labelled=True, exclude_splits=()):
    """Read a manifest strictly: every row must be good.

    Parameters
    ----------
    path : str
        The CSV file.
    vocabulary : sequence of str, optional
        Allowed tags.
    labelled, exclude_splits
        As in :func:`check_manifest`.

    Returns
    -------
    tracks : list of Track
        In file order.

    Raises
    ------
    InputError
        Listing every bad row (line number, path and reason), or if the
        manifest holds no row at all.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> open(os.path.join(folder, "heat.flac"), "wb").close()
    >>> path = os.path.join(folder, "manifest.csv")
    >>> _ = open(path, "w").write("path,tags\\nheat.flac,Action|Crime|Drama\\n")
    >>> read_manifest(path)[0].tags
    ('Action', 'Crime', 'Drama')
    """
    tracks, problems = check_manifest(path, vocabulary, labelled, exclude_splits)
    if problems:
        raise InputError("{} has {} bad row(s):\n  {}".format(
            path, len(problems), "\n  ".join(reason for _, _, reason in problems)))
    if not tracks:
        raise InputError("{}: no tracks listed".format(path))
    return tracks


def write_manifest(path, tracks):
    """Write tracks as a manifest, atomically.

    Paths inside the manifest's folder are written relative to it, so the
    collection can move as a whole; others stay absolute.  A ``film`` column
    is added when any track names its film.

    Parameters
    ----------
    path : str
        The CSV file to write.
    tracks : iterable of Track

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "subset.csv")
    >>> write_manifest(path, [Track(os.path.join(os.path.dirname(path), "a.flac"), ("Drama",), "a")])
    >>> open(path).read().splitlines()
    ['path,tags,track_id,split', 'a.flac,Drama,a,']
    """
    folder = os.path.dirname(os.path.abspath(path))
    tracks = list(tracks)
    films = any(track.film for track in tracks)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS + ("film",) * films)
    for track in tracks:
        relative = os.path.relpath(track.path, folder)
        shown = track.path if relative.startswith(os.pardir) else relative
        writer.writerow([shown, TAG_SEPARATOR.join(track.tags), track.track_id, track.split or ""]
                        + [track.film or ""] * films)
    # A file name that is not UTF-8 is held by Python as surrogate escapes; they
    # are written back as the name's own bytes, so the manifest names the file.
    write_bytes(path, text.getvalue().encode("utf-8", "surrogateescape"))


def folder_tracks(folder):
    """Every audio file under ``folder`` as an unlabelled track (pretraining).

    Track ids are the paths relative to the folder, without extension.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(folder, "naev"))
    >>> open(os.path.join(folder, "naev", "theme.ogg"), "wb").close()
    >>> [(t.track_id, t.tags) for t in folder_tracks(folder)]
    [('naev/theme', ())]
    """
    if not os.path.isdir(folder):
        raise InputError("{}: no such folder".format(folder))
    tracks = [Track(os.path.abspath(path), (), _default_id(os.path.abspath(path), folder))
              for path in find_audio(folder)]
    if not tracks:
        raise InputError("{}: holds no audio file".format(folder))
    return tracks


def _rows(path, labelled=True):
    if not os.path.isfile(path):
        raise InputError("{}: no such manifest file".format(path))
    try:
        # surrogateescape: the bytes of a file name that is not UTF-8 (written
        # by write_manifest, or by hand) come back as the same file name.
        with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as stream:
            reader = csv.DictReader(stream)
            header = reader.fieldnames or ()
            missing = [column for column in ("path", "tags")[:1 + labelled] if column not in header]
            if missing:
                fix = Remedy("extract", path, "OUT", labelled=False) if "tags" in missing else None
                raise InputError("{}: header {} lacks the column(s) {}{}".format(
                    path, reader.fieldnames, missing, " (a manifest to pretrain on needs no "
                    "tags: {})".format(fix) if fix else ""), remedy=fix)
            for row in reader:
                yield reader.line_num, row
    except csv.Error as error:
        raise InputError("{}: not a CSV file ({})".format(path, error)) from error


def _not_a_file(path):
    """Why ``path``, which is not a regular file, cannot be a track."""
    try:
        kind = not_a_file(os.stat(path).st_mode)
    except OSError as error:
        return "no such file {}".format(path) if error.errno == errno.ENOENT else \
            "cannot read {} ({})".format(path, error.strerror)
    return "{} is {}, not an audio file".format(path, kind)


def _default_id(full, folder):
    folder = os.path.abspath(folder)
    return os.path.splitext(os.path.relpath(full, folder))[0].replace(os.sep, "/") if full else ""
