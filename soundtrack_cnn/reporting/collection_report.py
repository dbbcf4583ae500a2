"""A one-page report on a collection before any training: what is there, and what will not work.

:func:`collection_report` reads a manifest, decodes every file once (in
parallel, with :func:`~soundtrack_cnn.collection.extraction.decode_file`,
the rule the feature store uses), and writes into one
folder::

    collection.md        the page: counts, tables, figures, problems
    collection.json      the same figures, machine-readable
    tracks_per_genre.png, tags_per_track.png, label_overlap.png, durations.png

It answers: how many tracks and hours, how many tracks per genre (and
films, when the manifest has a ``film`` column), how many tags per track,
which genres go together, which genres are too rare to train a specialist,
which files are the same audio (same sha256), and which files will fail to
decode or give no tile.
"""
import collections
import functools
import os

from ..audio.features import FeatureSettings
from ..collection.extraction import decode_file
from ..collection.labels import cooccurrence, label_statistics, vocabulary
from ..collection.manifest import check_manifest
from ..parallel.pool import Death, effective_n_jobs, imap_unordered
from ..errors import InputError
from ..files import check_not_input, make_folder, write_bytes, write_json
from ..scoring.metrics import markdown_table, markdown_text
from . import figures

__all__ = ["collection_report", "MIN_FILMS"]

#: With fewer films than this, a genre cannot have a film in each of train,
#: valid and test once splits keep films together.
MIN_FILMS = 3


#: The files the report writes into its folder.
_OUTPUTS = ("collection.md", "collection.json") + tuple(
    name + ".png" for name in ("tracks_per_genre", "tags_per_track", "label_overlap", "durations"))


def _inspect_all(paths, settings, n_jobs):
    """:func:`decode_file`'s outcome (without tiles) for every path, in the order given."""
    inspect = functools.partial(decode_file, settings=settings, tiles=False)
    outcomes = {}
    for path, outcome in imap_unordered(inspect, paths, n_jobs):
        if isinstance(outcome, Death):
            # A file that kills its decoder twice will fail extraction too.
            outcome = {"status": "failed", "seconds": 0.0, "sha256": None, "reason": (
                "{}: the process decoding it {}, twice (a decoder crash or out of memory?)"
                .format(path, outcome.cause))}
        outcomes[path] = dict(outcome, path=path)
    return [outcomes[path] for path in paths]


def collection_report(manifest, out=None, min_tracks=20, n_jobs=None,
                      settings=FeatureSettings()):
    """Write the collection's one-page report (Markdown and PNG figures).

    Parameters
    ----------
    manifest : str
        The collection's manifest CSV (bad rows are reported, not fatal).
    out : str, optional
        Output folder (default: ``collection/`` beside the manifest).
    min_tracks : int
        Genres with fewer tracks are listed as too rare for a specialist
        (as are genres of fewer than ``MIN_FILMS`` films when films are known).
    n_jobs : int, optional
        Decoding processes in scikit-learn's meaning (None: 1, -1: every core);
        a worker that dies is replaced (:mod:`soundtrack_cnn.parallel.pool`).
    settings : FeatureSettings
        Sampling rate and shortest usable audio, as extraction will use them.

    Returns
    -------
    page : str
        Path of ``collection.md``.

    Raises
    ------
    InputError
        If the manifest is unusable or lists no usable row.

    Examples
    --------
    >>> collection_report("data/small/manifest.csv")  # doctest: +SKIP
    'data/small/collection/collection.md'
    """
    if not isinstance(min_tracks, int) or min_tracks < 1:
        raise InputError("min_tracks must be a positive integer, got {!r}".format(min_tracks))
    effective_n_jobs(n_jobs)  # a bad value is refused before anything is decoded
    tracks, bad_rows = check_manifest(manifest)
    if not tracks:
        raise InputError("{}: no usable track listed ({} bad rows)".format(manifest,
                                                                             len(bad_rows)))
    out = make_folder(out or os.path.join(os.path.dirname(os.path.abspath(manifest)),
                                          "collection"))
    for name in _OUTPUTS:
        check_not_input(os.path.join(out, name), [manifest] + [track.path for track in tracks])
    files = _inspect_all([track.path for track in tracks], settings, n_jobs)
    tag_lists = [track.tags for track in tracks]
    genres = vocabulary(tag_lists, k=len({tag for tags in tag_lists for tag in tags}))
    stats = label_statistics(tag_lists, genres)
    films = {track.film for track in tracks if track.film}
    films_per_genre = {genre: len({t.film for t in tracks if t.film and genre in t.tags})
                       for genre in genres} if films else {}
    rare = {genre: n for genre, n in stats["tag_counts"].items() if n < min_tracks}
    rare.update({genre: stats["tag_counts"][genre] for genre, n in films_per_genre.items()
                 if n < MIN_FILMS})
    by_hash = collections.defaultdict(list)
    for info in files:
        if info["sha256"]:
            by_hash[info["sha256"]].append(info["path"])
    ok = [info for info in files if info["status"] == "ok"]
    summary = {
        "manifest": os.path.abspath(manifest),
        "tracks": len(tracks),
        "usable_tracks": len(ok),
        "hours": round(sum(info["seconds"] for info in files) / 3600.0, 4),
        "usable_hours": round(sum(info["seconds"] for info in ok) / 3600.0, 4),
        "films": len(films),
        "genres": genres,
        "tracks_per_genre": stats["tag_counts"],
        "films_per_genre": films_per_genre,
        "tags_per_track": stats["tags_per_track"],
        "cooccurrence": stats["cooccurrence"],
        "near_subsets": stats["near_subsets"],
        "min_tracks": min_tracks,
        "too_rare": sorted(rare),
        "duplicates": sorted(sorted(paths) for paths in by_hash.values() if len(paths) > 1),
        "not_usable": [{"path": info["path"], "status": info["status"], "reason": info["reason"]}
                       for info in files if info["status"] != "ok"],
        "bad_rows": [{"line": line, "path": path, "reason": reason}
                     for line, path, reason in bad_rows],
        "figures": {name: figures.save_png(ax.figure, os.path.join(out, name + ".png"))
                    for name, ax in (
            ("tracks_per_genre", figures.plot_genre_counts(stats["tag_counts"], min_tracks)),
            ("tags_per_track", figures.plot_tags_per_track(tag_lists)),
            ("label_overlap", figures.plot_label_overlap(cooccurrence(tag_lists, genres), genres)),
            ("durations", figures.plot_durations([info["seconds"] for info in ok])))},
    }
    write_json(os.path.join(out, "collection.json"), summary)
    page = os.path.join(out, "collection.md")
    write_bytes(page, _markdown(summary).encode("utf-8"))
    return page


def _markdown(summary):
    """The report page; figures are linked by file name (they sit beside it).

    Every tag, path and reason comes from the user's collection, so each is
    :func:`~soundtrack_cnn.scoring.metrics.markdown_text` (table cells are too).
    """
    def image(name):
        return "![{0}]({1})".format(name.replace("_", " "),
                                     os.path.basename(summary["figures"][name]))

    films = summary["films"]
    n_tags = sum(n * k for n, k in summary["tags_per_track"].items())
    parts = ["# Collection: {}".format(markdown_text(summary["manifest"])), "", markdown_table(["", ""], [
        ["tracks (good manifest rows)", summary["tracks"]],
        ["tracks that decode and give tiles", summary["usable_tracks"]],
        ["hours of audio (usable)", "{:.2f} ({:.2f})".format(summary["hours"],
                                                            summary["usable_hours"])],
        ["films", films or "not known (no film column)"],
        ["genres", len(summary["genres"])],
        ["tags per track (mean)", "{:.2f}".format(n_tags / max(summary["tracks"], 1))],
        ["duplicate audio groups", len(summary["duplicates"])],
        ["files that will not be used", len(summary["not_usable"])],
        ["bad manifest rows", len(summary["bad_rows"])],
    ]), "", "## Tracks per genre", ""]
    header = ["genre", "tracks", "share of tracks"] + ["films"] * bool(films) + ["too rare?"]
    parts += [markdown_table(header, [
        [genre, n, "{:.0%}".format(n / float(summary["tracks"]))]
        + ([summary["films_per_genre"][genre]] if films else [])
        + ["yes" if genre in summary["too_rare"] else ""]
        for genre, n in summary["tracks_per_genre"].items()]), "", image("tracks_per_genre"), ""]
    rare_rule = "fewer than {} tracks".format(summary["min_tracks"]) + (
        " or fewer than {} films".format(MIN_FILMS) if films else "")
    parts += ["Too rare to train a specialist ({}): {}.".format(
        rare_rule, ", ".join(map(markdown_text, summary["too_rare"])) or "none"), ""]
    parts += ["## Tags per track", "", markdown_table(["tags", "tracks"], sorted(
        summary["tags_per_track"].items())), "", image("tags_per_track"), ""]
    parts += ["## Label overlap", "", "Cell (A, B): share of A's tracks also tagged B.", "",
              image("label_overlap"), ""]
    if summary["near_subsets"]:
        parts += ["Almost always together (P(B | A) >= 0.9): " + ", ".join(
            "{} -> {}".format(markdown_text(a), markdown_text(b))
            for a, b in summary["near_subsets"]) + ".", ""]
    parts += ["## Durations", "", image("durations"), ""]
    parts += ["## Duplicate audio (same sha256)", ""]
    parts += ["- " + ", ".join(map(markdown_text, paths))
              for paths in summary["duplicates"]] or ["None."]
    parts += ["", "## Files that will not be used", ""]
    parts += ["- {}: {}".format(item["status"], markdown_text(item["reason"]))
              for item in summary["not_usable"]] or ["None."]
    parts += ["", "## Bad manifest rows", ""]
    parts += ["- " + markdown_text(item["reason"]) for item in summary["bad_rows"]] or ["None."]
    return "\n".join(parts) + "\n"
