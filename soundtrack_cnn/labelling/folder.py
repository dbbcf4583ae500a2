"""A folder of soundtracks becomes a manifest: each film's tracks get its IMDb genres.

:func:`label_collection` walks a folder for audio files, groups them by film
(the folder they are in, disc folders such as ``CD1`` folded into their
parent, and the album tag when one folder holds several albums), reads each
file's embedded tags (album, year) with mutagen, and looks the album and
the folder name up in IMDb's ``title.basics.tsv.gz`` (soundtrack_cnn.labelling.imdb).
It writes

- the manifest (``path,tags,track_id,split,film``; ``film`` is the IMDb
  ``tconst``, so splits keep a film's tracks together), and
- a review CSV with one row per film folder: what was looked up, the title
  chosen (or the candidates), how and how sure; unmatched and ambiguous
  folders first.  A person corrects rows of it and passes them back as
  ``overrides`` (columns ``folder``, ``album``, ``tconst``, ``genres``;
  ``tconst`` ``skip`` leaves the folder out).

Nothing is guessed: a folder whose name fits several titles and whose year
and votes do not decide is reported as ambiguous and left out of the manifest.
"""
import collections
import csv
import dataclasses
import datetime
import io
import os
import re
import sys
import warnings

import mutagen

from ..audio.io import AUDIO_EXTENSIONS, find_audio
from ..collection.manifest import TAG_SEPARATOR, Track, write_manifest
from ..errors import InputError, InputWarning
from ..files import check_not_input, input_path, write_bytes
from .imdb import (
    IMDB_GENRES,
    STUDY_GENRES,
    Choice,
    choose_title,
    find_titles,
    normalise_title,
    read_votes,
)

__all__ = ["REVIEW_COLUMNS", "parse_name", "read_tags", "find_groups",
           "resolve_genres", "label_collection", "LabelSummary"]

#: Audio libsndfile cannot decode (what it decodes: audio.io.AUDIO_EXTENSIONS): reported, not listed.
_UNDECODABLE = (".m4a", ".aac", ".wma", ".ape", ".alac", ".mp4", ".m4b", ".wv", ".mpc")
REVIEW_COLUMNS = ("folder", "album", "files", "status", "confidence", "method", "tconst",
                  "title", "year", "genres", "looked_up", "candidates")
_STATUS_ORDER = {"unmatched": 0, "ambiguous": 1, "no genre": 2, "matched": 3, "override": 4,
                 "skipped": 5}
_CONFIDENCE_ORDER = {"low": 0, "medium": 1, "high": 2}
#: Words that say "this is a soundtrack release", not part of a film's title.
_NOISE = ("original motion picture soundtrack", "original motion picture score",
          "motion picture soundtrack", "original soundtrack recording", "original soundtrack",
          "original film score", "original score", "music from the motion picture",
          "music from and inspired by the motion picture", "music from the film",
          "original music", "the soundtrack", "soundtrack", "ost", "score", "ost score",
          "deluxe edition", "expanded edition", "special edition", "limited edition",
          "collectors edition", "anniversary edition", "complete score", "remastered",
          "deluxe", "expanded", "the complete recordings", "complete recordings")
_NOISE_WORDS = ("soundtrack", "score", "ost", "edition", "music", "remaster", "remastered",
                "deluxe", "expanded", "disc", "cd", "recordings", "bonus")
_NOISE_PATTERN = re.compile(r"^(?:(?:{0})\s+)*(.*?)(?:\s+(?:{0}))*$".format(
    "|".join(re.escape(n) for n in sorted(_NOISE, key=len, reverse=True))))
_BRACKETS = re.compile(r"[(\[{]([^)\]}]*)[)\]}]")
_DISC = re.compile(r"^(?:cd|dis[ck]|part|side|vol(?:ume)?)\.?\s*[-_]?\s*\d+\b", re.IGNORECASE)
_SEPARATOR = re.compile(r"\s+[-\u2013\u2014]\s+")


def _is_year(text):
    return text.isdigit() and len(text) == 4 and 1888 <= int(text) <= \
        datetime.date.today().year + 2


def _strip_noise(key):
    return _NOISE_PATTERN.match(key).group(1) if key not in _NOISE else ""


def parse_name(text, parts=True):
    """The (title, year) readings of a folder name or album tag, most literal first.

    Bracketed years are taken as the year; bracketed or trailing soundtrack
    words ("Original Motion Picture Soundtrack", "OST", "Score", editions)
    are dropped; "Artist - Title" also yields each side alone; a trailing
    year is read both as the year and as part of the title ("Death Race 2000").

    Parameters
    ----------
    text : str
    parts : bool
        Also read each side of " - " alone (after the whole name's readings).

    Returns
    -------
    readings : list of (str, int or None)
        Normalised titles (soundtrack_cnn.labelling.imdb.normalise_title) with a year.

    Examples
    --------
    >>> parse_name("Heat [1995] OST")
    [('heat', 1995)]
    >>> parse_name("Amélie - Original Soundtrack")
    [('amelie', None)]
    >>> parse_name("Vangelis - Blade Runner (1982)")
    [('vangelis blade runner', 1982), ('vangelis', 1982), ('blade runner', 1982)]
    >>> parse_name("Death Race 2000")
    [('death race', 2000), ('death race 2000', None)]
    """
    text = text.replace("_", " ")
    year = None
    for content in _BRACKETS.findall(text):
        if _is_year(content.strip()) and year is None:
            year = int(content.strip())
    kept = _BRACKETS.sub(lambda m: "" if _is_year(m.group(1).strip()) or set(
        normalise_title(m.group(1)).split()) & set(_NOISE_WORDS) else m.group(0), text)
    readings = []
    for piece in [kept] + (_SEPARATOR.split(kept) if parts and _SEPARATOR.search(kept) else []):
        key = _strip_noise(normalise_title(piece))
        words = key.split()
        if year is None and len(words) > 1 and _is_year(words[-1]):
            readings.append((_strip_noise(" ".join(words[:-1])), int(words[-1])))
        readings.append((key, year))
    unique = []
    for key, key_year in readings:
        if key and (key, key_year) not in unique:
            unique.append((key, key_year))
    return unique


def read_tags(path):
    """The album and year embedded in an audio file, if any.

    The year is the original release year when the file has one (a reissue's
    date names the reissue, not the film).

    Parameters
    ----------
    path : str

    Returns
    -------
    tags : dict
        ``{'album': str or None, 'year': int or None}``; unreadable or absent
        tags give Nones, never an error.

    Examples
    --------
    >>> read_tags("heat/01.flac")  # doctest: +SKIP
    {'album': 'Heat (Music from the Motion Picture)', 'year': 1995}
    """
    try:
        audio = mutagen.File(path, easy=True)
    except (mutagen.MutagenError, OSError, ValueError, EOFError):
        audio = None
    tags = getattr(audio, "tags", None)
    if tags is None:
        return {"album": None, "year": None}
    values = {}
    if hasattr(tags, "getall") and not hasattr(tags, "valid_keys"):
        # Plain ID3 (WAV, AIFF): frames instead of easy names.
        frames = {"album": "TALB", "originaldate": "TDOR", "date": "TDRC", "year": "TYER"}
        for name, frame in frames.items():
            found = tags.getall(frame)
            if found and found[0].text:
                values[name] = str(found[0].text[0])
    else:
        for name in ("album", "originaldate", "originalyear", "date", "year"):
            try:
                found = tags.get(name)
            except (KeyError, ValueError):
                found = None
            if found:
                values[name] = str(found[0] if isinstance(found, list) else found)
    year = None
    for name in ("originaldate", "originalyear", "date", "year"):
        match = re.match(r"\s*(\d{4})", values.get(name, ""))
        if match and _is_year(match.group(1)):
            year = int(match.group(1))
            break
    album = (values.get("album") or "").strip() or None
    return {"album": album, "year": year}


@dataclasses.dataclass
class _Group(object):
    """The files of one film: a folder (disc folders folded in), maybe one album."""

    folder: str
    album: str
    files: list
    year: int = None


def _film_folder(relative_dir):
    """The folder a file's film is named by: disc folders (``CD1``) fold into their parent."""
    parts = [] if relative_dir in ("", ".") else relative_dir.split("/")
    while parts and _DISC.match(parts[-1]):
        parts.pop()
    return "/".join(parts) or "."


def find_groups(root):
    """The audio files under ``root``, grouped by film.

    Parameters
    ----------
    root : str

    Returns
    -------
    groups : list of _Group
        Sorted by folder then album; ``files`` are paths relative to ``root``.
    others : list of str
        Audio files libsndfile cannot decode (``.m4a``, ``.wma``, ...).

    Raises
    ------
    InputError
        If ``root`` is not a folder or holds no audio file.
    """
    if not os.path.isdir(root):
        raise InputError("{}: not a folder".format(root))

    def relative(paths):
        return [os.path.relpath(path, root).replace(os.sep, "/") for path in paths]

    files, others = relative(find_audio(root)), relative(find_audio(root, _UNDECODABLE))
    if not files:
        raise InputError("{}: no audio files ({}) in it or its subfolders".format(
            root, " ".join(sorted(AUDIO_EXTENSIONS))))
    by_folder = collections.defaultdict(list)
    for relative in files:
        by_folder[_film_folder(os.path.dirname(relative))].append(
            (relative, read_tags(os.path.join(root, relative))))
    groups = []
    for folder, entries in sorted(by_folder.items()):
        albums = collections.defaultdict(list)
        for relative, tags in entries:
            albums[normalise_title(tags["album"]) if tags["album"] else ""].append(
                (relative, tags))
        tagged = [key for key in albums if key]
        if len(tagged) == 1 and "" in albums:
            # One album in the folder: its untagged files belong to it as well.
            albums[tagged[0]].extend(albums.pop(""))
        for key in sorted(albums):
            members = albums[key]
            names = collections.Counter(t["album"] for _, t in members if t["album"])
            years = collections.Counter(t["year"] for _, t in members if t["year"])
            groups.append(_Group(folder, names.most_common(1)[0][0] if names else "",
                                 sorted(relative for relative, _ in members),
                                 years.most_common(1)[0][0] if years else None))
    return groups, others


def resolve_genres(genres):
    """The genre list a user asked for: ``None`` (all), ``'study'`` or names.

    Examples
    --------
    >>> resolve_genres(["study"])[:3]
    ['Drama', 'Action', 'Adventure']
    >>> resolve_genres(["sci-fi", "Drama"])
    ['Sci-Fi', 'Drama']
    """
    if genres is None:
        return None
    genres = [genres] if isinstance(genres, str) else list(genres)
    names = list(STUDY_GENRES) if genres == ["study"] else genres
    known = {genre.casefold(): genre for genre in IMDB_GENRES}
    unknown = [name for name in names if name.casefold() not in known]
    if unknown:
        raise InputError("genres {} are not IMDb genres; IMDb's are {} (or say 'study' for "
                         "the study's ten)".format(unknown, ", ".join(IMDB_GENRES)))
    return list(dict.fromkeys(known[name.casefold()] for name in names))


def _read_overrides(path):
    """``{(folder, album key): row}`` of a person's corrections."""
    input_path(path, "overrides file")
    rows = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream)
            header = reader.fieldnames or ()
            if "folder" not in header or not {"tconst", "genres"} & set(header):
                raise InputError("{}: needs a 'folder' column and a 'tconst' or 'genres' "
                                 "column, has {}".format(path, list(header)))
            for row in reader:
                tconst = (row.get("tconst") or "").strip()
                genres = [g.strip() for g in (row.get("genres") or "").split(TAG_SEPARATOR)
                          if g.strip()]
                if not tconst and not genres:
                    continue  # an unresolved row copied from the review: nothing to apply
                if tconst and tconst != "skip" and not re.fullmatch(r"tt\d+", tconst):
                    raise InputError("{} line {}: tconst {!r} is not an IMDb id (ttNNNNNNN) "
                                     "or 'skip'".format(path, reader.line_num, tconst))
                folder = (row.get("folder") or "").strip().strip("/") or "."
                album = normalise_title(row.get("album") or "")
                rows[(folder, album)] = {"line": reader.line_num, "tconst": tconst,
                                         "genres": genres}
    except (UnicodeDecodeError, csv.Error) as error:
        raise InputError("{}: not a UTF-8 CSV file ({})".format(path, error))
    return rows


def _queries(group):
    """``(source, key, year, year_from_tag, whole)`` to look up for a group, tag first.

    ``whole`` is False for one side of an "Artist - Title" name.
    """
    queries = []
    names = ([("tag", group.album)] if group.album else []) + (
        [("folder", os.path.basename(group.folder))] if group.folder != "." else [])
    for source, name in names:
        whole = parse_name(name, parts=False)
        for key, year in parse_name(name):
            queries.append((source, key, year or group.year, year is None and bool(group.year),
                            (key, year) in whole))
    return queries


def _match(group, found, votes):
    """The best :class:`~soundtrack_cnn.labelling.imdb.Choice` over a group's queries, and its label."""
    results, whole_matched = [], set()
    for source, key, year, year_from_tag, whole in _queries(group):
        candidates = found.get(key, [])
        choice = choose_title(candidates, year, votes)
        if choice.status == "ambiguous" and year_from_tag and candidates:
            # An album's date may be a reissue's: try again without it, trusting less.
            retry = choose_title(candidates, None, votes)
            if retry.status == "matched":
                choice = dataclasses.replace(retry, how=retry.how + ", tag year {} ignored"
                                             .format(year), confidence="low")
        if whole or source not in whole_matched:
            results.append(("{}: {}{}".format(source, key, " ({})".format(year) if year else ""),
                            source, choice))
        if whole and choice.status == "matched":
            # "The Lord of the Rings - The Fellowship of the Ring" is one title: its
            # sides alone (a 1978 film among them) are not looked at.
            whole_matched.add(source)
    matched = [(q, s, c) for q, s, c in results if c.status == "matched"]
    if matched:
        best = max(_CONFIDENCE_ORDER[c.confidence] for _, _, c in matched)
        top = [(q, s, c) for q, s, c in matched if _CONFIDENCE_ORDER[c.confidence] == best]
        if len({c.title.tconst for _, _, c in top}) == 1:
            query, source, choice = top[0]
            return choice, "{}: {}".format(source, choice.how), query
        return (dataclasses.replace(top[0][2], status="ambiguous", title=None,
                                    candidates=tuple(c.title for _, _, c in top)),
                "tag and folder name disagree", "; ".join(q for q, _, _ in top))
    queries = "; ".join(q for q, _, _ in results)
    ambiguous = [c for _, _, c in results if c.status == "ambiguous"]
    if ambiguous:
        candidates = tuple({t.tconst: t for c in ambiguous for t in c.candidates}.values())
        return dataclasses.replace(ambiguous[0], candidates=candidates), ambiguous[0].how, queries
    return (Choice("unmatched"), "no title of that name" if results else "nothing to look up",
            queries)


@dataclasses.dataclass
class LabelSummary(object):
    """What :func:`label_collection` did.

    Attributes
    ----------
    groups : int
        Film folders found.
    statuses : dict
        ``{status: number of folders}`` (matched, override, ambiguous,
        unmatched, no genre, skipped).
    tracks : int
        Rows written to the manifest.
    tracks_left_out : int
        Audio files of folders not matched, or with no genre left.
    genres : dict
        ``{genre: tracks}`` in the manifest.
    dropped_genres : dict
        ``{genre: tracks}`` dropped by ``min_tracks``.
    undecodable : list of str
        Audio files in formats libsndfile cannot read.
    manifest, review : str
    """

    groups: int = 0
    statuses: dict = dataclasses.field(default_factory=dict)
    tracks: int = 0
    tracks_left_out: int = 0
    genres: dict = dataclasses.field(default_factory=dict)
    dropped_genres: dict = dataclasses.field(default_factory=dict)
    undecodable: list = dataclasses.field(default_factory=list)
    manifest: str = ""
    review: str = ""

    def __str__(self):
        lines = ["{} film folder(s): {}".format(self.groups, ", ".join(
            "{} {}".format(n, status) for status, n in sorted(self.statuses.items()))),
            "{} track(s) written to {} ({} left out); review: {}".format(
                self.tracks, self.manifest, self.tracks_left_out, self.review),
            "tracks per genre: {}".format(", ".join(
                "{} {}".format(genre, n) for genre, n in self.genres.items()) or "none")]
        unresolved = self.statuses.get("ambiguous", 0) + self.statuses.get("unmatched", 0)
        if unresolved:
            lines.append("{} folder(s) not labelled: fill in their tconst (or genres, or 'skip') "
                         "in {} and label again with it as the overrides file".format(unresolved,
                                                                               self.review))
        if self.dropped_genres:
            lines.append("genres dropped (fewer tracks than the minimum): {}".format(", ".join(
                "{} {}".format(genre, n) for genre, n in self.dropped_genres.items())))
        if self.undecodable:
            lines.append("{} file(s) in formats that cannot be decoded (convert them to FLAC): "
                         "{}".format(len(self.undecodable), ", ".join(self.undecodable[:5]) +
                                     (", ..." if len(self.undecodable) > 5 else "")))
        return "\n".join(lines)


def label_collection(root, basics, out, ratings=None, review=None, overrides=None, genres=None,
                     min_tracks=None, tv_movies=False, verbose=False):
    """Label every film folder under ``root`` with its IMDb genres; write manifest and review.

    Parameters
    ----------
    root : str
        The collection: audio files, one folder (or album) per film.
    basics : str
        IMDb's ``title.basics.tsv.gz``.
    out : str
        The manifest CSV to write (paths relative to its folder).
    ratings : str, optional
        IMDb's ``title.ratings.tsv.gz``: the most-voted title wins when the
        year does not decide.
    review : str, optional
        The review CSV (default: ``out`` with ``-review.csv``).
    overrides : str, optional
        A CSV of corrections (``folder``, ``album``, ``tconst``, ``genres``),
        e.g. edited rows of an earlier review.
    genres : sequence of str, optional
        Keep only these genres (``['study']``: the study's ten); default all.
    min_tracks : int, optional
        Drop genres with fewer tracks than this (a specialist needs examples).
    tv_movies : bool
        Also match ``tvMovie`` titles, not only ``movie``.
    verbose : bool
        Say on stderr what is looked up before reading IMDb's file (a minute).

    Returns
    -------
    summary : LabelSummary

    Warns
    -----
    InputWarning
        For each file under ``root`` that is not audio it can decode (left out).

    Examples
    --------
    >>> summary = label_collection("~/Music/Soundtracks", "title.basics.tsv.gz",
    ...                            "manifest.csv")  # doctest: +SKIP
    """
    keep = resolve_genres(genres)
    if min_tracks is not None and (not isinstance(min_tracks, int) or min_tracks < 1):
        raise InputError("min_tracks must be a positive integer, got {!r}".format(min_tracks))
    review = review or os.path.splitext(out)[0] + "-review.csv"
    # IMDb's dumps are never written over; the overrides may be: an earlier
    # review file passed back whole is read before the new one is written.
    for written in (out, review):
        check_not_input(written, [basics, ratings or basics])
    check_not_input(review, [out])
    corrections = _read_overrides(overrides) if overrides else {}
    groups, others = find_groups(root)
    keys = {query[1] for group in groups for query in _queries(group)}
    wanted = {c["tconst"] for c in corrections.values() if c["tconst"] not in ("", "skip")}
    if verbose:
        print("looking up {} name(s) of {} film folder(s) in {} (about a minute for IMDb's "
              "full file)".format(len(keys), len(groups), basics), file=sys.stderr, flush=True)
    found, by_tconst = find_titles(basics, keys=keys, tconsts=wanted,
                                   title_types=("movie", "tvMovie") if tv_movies else ("movie",))
    missing = sorted(wanted - set(by_tconst))
    if missing:
        raise InputError("{}: tconst(s) {} are not in {}".format(overrides, missing, basics))
    places = {(g.folder, normalise_title(g.album)) for g in groups}
    folders = {g.folder for g in groups}
    stale = [(c["line"], place[0]) for place, c in corrections.items()
             if place not in places and not (place[1] == "" and place[0] in folders)]
    if stale:
        raise InputError("{} line {}: no film folder {!r} under {}".format(
            overrides, stale[0][0], stale[0][1], root))
    votes = read_votes(ratings, {t.tconst for ts in found.values() for t in ts}) \
        if ratings else {}

    rows, labelled = [], []
    for group in groups:
        correction = corrections.get((group.folder, normalise_title(group.album))) or \
            corrections.get((group.folder, ""))
        choice, method, looked_up = _match(group, found, votes)
        row = {"folder": group.folder, "album": group.album, "files": len(group.files),
               "looked_up": looked_up, "candidates": "; ".join("{} {} ({}, {})".format(
                   t.tconst, t.primary_title, t.year or "?", t.title_type)
                   for t in choice.candidates)}
        # A row that only repeats the automatic match (a review passed back whole) is
        # no correction: the match keeps its method and confidence.
        if correction and not (choice.title and correction["tconst"] == choice.title.tconst):
            title = by_tconst.get(correction["tconst"])
            row.update(status="skipped" if correction["tconst"] == "skip" else "override",
                       method="override line {}".format(correction["line"]),
                       confidence="high" if correction["tconst"] != "skip" else "")
            # A corrected tconst brings IMDb's genres (a stale genres cell copied from
            # the review must not win); genres alone label a film IMDb lacks.
            tags = title.genres if title else tuple(correction["genres"])
            film = correction["tconst"] if title else group.folder
        else:
            title = choice.title
            row.update(status=choice.status, method=method, confidence=choice.confidence)
            tags = title.genres if title else ()
            film = title.tconst if title else None
        if title:
            row.update(tconst=title.tconst, title=title.primary_title, year=title.year or "")
        if keep is not None:
            tags = tuple(tag for tag in tags if tag in keep)
        if row["status"] in ("matched", "override") and not tags:
            row["status"] = "no genre"
        row["genres"] = TAG_SEPARATOR.join(tags)
        rows.append(row)
        if row["status"] in ("matched", "override"):
            labelled.append((group, tags, film))

    dropped = {}
    while min_tracks:
        counts = collections.Counter(tag for group, tags, _ in labelled
                                     for tag in tags for _ in group.files)
        rare = {tag: n for tag, n in counts.items() if n < min_tracks}
        if not rare:
            break
        dropped.update(rare)
        labelled = [(group, tuple(t for t in tags if t not in rare), film)
                    for group, tags, film in labelled]
        labelled = [(group, tags, film) for group, tags, film in labelled if tags]

    tracks = [Track(os.path.join(os.path.abspath(root), relative), tags, relative, None, film)
              for group, tags, film in labelled for relative in group.files]
    write_manifest(out, tracks)
    _write_review(review, rows)
    counts = collections.Counter(tag for track in tracks for tag in track.tags)
    statuses = collections.Counter(row["status"] for row in rows)
    summary = LabelSummary(
        groups=len(groups), statuses=dict(statuses), tracks=len(tracks),
        tracks_left_out=sum(len(g.files) for g in groups) - len(tracks),
        genres={genre: n for genre, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))},
        dropped_genres=dict(sorted(dropped.items())), undecodable=others, manifest=out,
        review=review)
    for name in others:
        warnings.warn("{}: cannot be decoded (not {}); left out".format(
            os.path.join(root, name), "/".join(sorted(AUDIO_EXTENSIONS))), InputWarning,
            stacklevel=2)
    return summary


def _write_review(path, rows):
    """The review CSV, problems first: unmatched, ambiguous, then the least sure matches."""
    rows = sorted(rows, key=lambda row: (_STATUS_ORDER[row["status"]],
                                         _CONFIDENCE_ORDER.get(row.get("confidence"), -1),
                                         row["folder"], row["album"]))
    text = io.StringIO()
    writer = csv.DictWriter(text, REVIEW_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    # A folder name that is not UTF-8 is written as its own bytes, as in the manifest.
    write_bytes(path, text.getvalue().encode("utf-8", "surrogateescape"))
