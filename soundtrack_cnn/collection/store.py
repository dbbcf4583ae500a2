"""The on-disk feature store: every tile of a collection, memory-mapped.

Layout of a store directory::

    STORE/
      store.json        format version and the FeatureSettings of every tile
      journal.jsonl     one JSON line per finished track (append-only, fsync'd)
      chunks/000003.f32 raw float32 tiles, C order, shape (rows, 1, n_mfcc, n_frames)
      lock              held (flock) by the one extraction writing the store
                        (a finished store in a read-only folder is read without it)
      complete          written when an extraction has gone through its whole
                        manifest; removed when one starts adding tracks

A store verifies itself: each ``ok`` track's journal line holds the chunk,
row and count of its tiles and the sha256 of their bytes (``tiles_sha256``).
Opening a store for training (:class:`FeatureStore`) refuses one that an
extraction is writing (its lock is held) or never finished (no ``complete``),
a malformed ``store.json`` or journal line, and a chunk too short for the
tiles the journal puts in it, each in one line; :func:`damaged_tracks` also
compares every checksum (``soundtrack-cnn store check``, a resumed
extraction, which extracts the damaged tracks again, and the start of
training).  Tiles that are not finite are refused when written.

Crash safety: a track's tiles are appended to the run's chunk file and
fsync'd, and only then is its journal line appended and fsync'd.  A journal
line therefore only ever points at tiles that are on disk; a run killed at any
moment leaves at worst a torn last journal line (ignored, and cut off by the
next extraction) and unreferenced bytes at the end of a chunk (never read:
every run writes to chunk files of its own).  The latest line of a track wins,
so a re-extracted track simply supersedes its old record.

Global tile numbering: the ``ok`` tracks sorted by ``track_id``, each track's
tiles in time order.  It depends only on which tracks the store holds, not on
the order or parallelism of extraction, so it is stable for a given store
state and reproducible across machines.
"""
import dataclasses
import errno
import hashlib
import json
import numbers
import os
import warnings

import numpy as np

from .. import __version__
from ..audio.features import FeatureSettings
from ..errors import InputError, Remedy
from ..files import input_path, make_folder, output_path, write_json
from ..parallel.locks import lock

__all__ = ["FeatureStore", "StoredTrack", "StoreTiles", "StoreWriter", "create_store",
           "damaged_tracks", "check_store", "mark_complete"]

FORMAT = "soundtrack_cnn feature store"
VERSION = 1
#: Tiles per chunk file before a run starts the next one (64 MB at 40 x 100).
STORE_CHUNK_TILES = 4096
STATUSES = ("ok", "skipped", "failed")


@dataclasses.dataclass(frozen=True)
class StoredTrack(object):
    """A track's record in the store.

    Attributes
    ----------
    track_id, path : str
    tags : tuple of str
    split : str or None
    start, stop : int
        Its tiles in the global numbering (``start == stop`` unless ``ok``).
    duration : float
        Seconds of audio decoded (0 if it could not be decoded).
    status : str
        ``'ok'``, ``'skipped'`` (valid audio that gives no tile: too short,
        digital silence) or ``'failed'`` (missing or undecodable file).
    reason : str or None
        Why it is not ``ok``; names the file.
    size, mtime_ns : int or None
        Of the source file when it was extracted (how reruns spot changes).
    sha256 : str or None
        Of the source file's bytes.
    film : str or None
        The film of the track (manifest's ``film`` column).
    """

    track_id: str
    path: str
    tags: tuple
    split: str
    start: int
    stop: int
    duration: float
    status: str
    reason: str = None
    size: int = None
    mtime_ns: int = None
    sha256: str = None
    film: str = None


def create_store(out, settings):
    """Make ``out`` a store with ``settings``, or check the one already there."""
    header = os.path.join(out, "store.json")
    if os.path.exists(header):
        read_settings(out).check_same(settings, what="feature store {}".format(out))
        return
    if os.path.isdir(out) and os.listdir(out):
        raise InputError("{}: exists and is not a feature store (no store.json); "
                         "choose an empty or new directory".format(out))
    make_folder(os.path.join(out, "chunks"))
    write_json(header, {"format": FORMAT, "version": VERSION, "dtype": "float32",
                        "tile_shape": list(settings.tile_shape), "settings": settings.to_dict(),
                        "soundtrack_cnn": __version__})


class StoreWriter(object):
    """Appends tracks to a store under an exclusive lock."""

    def __init__(self, out):
        self.out = out

    def __enter__(self):
        self.read_only = None
        try:
            self.lock = lock(output_path(os.path.join(self.out, "lock")))
        except OSError as error:
            if error.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            # A finished store in a folder one may not write is still read:
            # the error is raised only if something has to be written.
            self.read_only = error
            self.records = _latest_records(os.path.join(self.out, "journal.jsonl"))
            self.lock = self.journal = self.chunk_file = None
            return self
        if self.lock is None:
            raise InputError("{}: another extraction is writing this store".format(self.out))
        path = os.path.join(self.out, "journal.jsonl")
        self.records = _latest_records(path)
        self.complete = os.path.exists(os.path.join(self.out, COMPLETE))
        self.journal = open(path, "ab")
        # Cut a torn last line off, so the next line starts on a line of its own.
        self.journal.truncate(_complete_length(path))
        self.chunk, self.chunk_file, self.chunk_rows = None, None, 0
        self.next_chunk = 1 + max([int(name.split(".")[0]) for name in
                                   os.listdir(os.path.join(self.out, "chunks"))
                                   if name.endswith(".f32")] or [-1])
        return self

    def append(self, record, tiles=None):
        """Write ``tiles`` (if any) durably, then the record that points at them.

        Raises
        ------
        InputError
            If ``tiles`` hold NaN or infinite values (nothing is written).
        """
        if self.read_only:
            raise self.read_only
        record = dict({"chunk": None, "row": 0, "n_tiles": 0}, **record)
        if tiles is not None:
            data = np.ascontiguousarray(tiles, np.float32)
            if not np.isfinite(data).all():
                raise InputError("{}: its tiles hold NaN or infinite values; not written to {}"
                                 .format(record["path"], self.out))
        try:
            if self.complete:
                # From now until the extraction ends, the store lacks tracks.
                os.unlink(os.path.join(self.out, COMPLETE))
                self.complete = False
            if tiles is not None:
                if self.chunk_file is None or self.chunk_rows >= STORE_CHUNK_TILES:
                    self._next_chunk()
                self.chunk_file.write(data.tobytes())
                self.chunk_file.flush()
                os.fsync(self.chunk_file.fileno())
                record.update(chunk=self.chunk, row=self.chunk_rows, n_tiles=len(data),
                              tiles_sha256=hashlib.sha256(data.tobytes()).hexdigest())
                self.chunk_rows += len(data)
            self.journal.write((json.dumps(record, sort_keys=True) + "\n").encode())
            self.journal.flush()
            os.fsync(self.journal.fileno())
        except OSError as error:
            error.filename = error.filename or self.out  # write() errors carry no path
            raise
        self.records[record["track_id"]] = record

    def _next_chunk(self):
        if self.chunk_file is not None:
            self.chunk_file.close()
        self.chunk, self.next_chunk = self.next_chunk, self.next_chunk + 1
        self.chunk_file = open(_chunk_path(self.out, self.chunk), "xb")
        self.chunk_rows = 0

    def __exit__(self, *exc):
        for stream in (self.chunk_file, self.journal, self.lock):
            if stream is not None:
                stream.close()


def _chunk_path(store, chunk):
    return os.path.join(store, "chunks", "{:06d}.f32".format(chunk))


def _complete_length(path):
    """Bytes of ``path`` up to and including its last newline."""
    with open(input_path(path, "journal"), "rb") as stream:
        data = stream.read()
    return data.rfind(b"\n") + 1


def _latest_records(path):
    """``{track_id: record}`` from the journal; the latest line of a track wins.

    Raises
    ------
    InputError
        Naming the line, if a complete line is not a well-formed record.
    """
    records = {}
    if not os.path.exists(path):
        return records
    with open(input_path(path, "journal"), "rb") as stream:
        for number, line in enumerate(stream, 1):
            if not line.endswith(b"\n"):
                break  # torn by a kill mid-write: the track was never finished
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            problem = _record_problem(record)
            if problem:
                raise InputError("{} line {}: corrupt journal entry ({}); the store is damaged: "
                                 "extract into a new store".format(path, number, problem))
            records[record["track_id"]] = record
    return records


def _is_int(value, low=0):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low


#: Each field of a journal record and the test its value must pass.
_FIELDS = {
    "track_id": lambda v: isinstance(v, str) and v != "",
    "path": lambda v: isinstance(v, str),
    "tags": lambda v: isinstance(v, list) and all(isinstance(tag, str) for tag in v),
    "split": lambda v: v is None or isinstance(v, str),
    "status": lambda v: v in STATUSES,
    "reason": lambda v: v is None or isinstance(v, str),
    "duration": lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool) and v >= 0,
    "size": lambda v: v is None or _is_int(v),
    "mtime_ns": lambda v: v is None or _is_int(v, low=-2 ** 63),
    "sha256": lambda v: v is None or isinstance(v, str),
    "chunk": lambda v: v is None or _is_int(v),
    "row": _is_int,
    "n_tiles": _is_int,
}


def _record_problem(record):
    """Why ``record`` is not a well-formed journal record, or None."""
    if not isinstance(record, dict):
        return "not a JSON object"
    for field, valid in _FIELDS.items():
        if field not in record:
            return "no {!r}".format(field)
        if not valid(record[field]):
            return "bad {!r}: {!r}".format(field, record[field])
    if record["status"] == "ok" and record["n_tiles"] and record["chunk"] is None:
        return "tiles in no chunk"
    if record["status"] != "ok" and record["n_tiles"]:
        return "a {} track with tiles".format(record["status"])
    return None


def read_settings(path):
    """The :class:`FeatureSettings` of the store at ``path``, from a checked ``store.json``.

    Raises
    ------
    InputError
        If ``store.json`` is missing, not JSON, of another format or version,
        or its settings are incomplete or wrong; one line naming the file.
    """
    header = os.path.join(path, "store.json")
    try:
        with open(input_path(header, "store.json"), encoding="utf-8") as stream:
            meta = json.load(stream)
    except (OSError, ValueError):  # InputError too: a FIFO or folder named store.json
        raise InputError("{}: not a feature store (no readable store.json)".format(path)) \
            from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or \
            meta.get("version") != VERSION:
        raise InputError("{}: not a version {} feature store".format(path, VERSION))
    missing = [field for field in ("settings", "tile_shape") if field not in meta]
    if missing:
        raise InputError("{}: damaged: no {} field ({}); rerun features into a new "
                         "folder".format(header, " or ".join(repr(f) for f in missing),
                                         "the feature settings the tiles were made with"
                                         if "settings" in missing else "the tiles' shape"))
    try:
        settings = FeatureSettings.from_dict(meta["settings"])
        if list(settings.tile_shape) != meta["tile_shape"]:
            raise ValueError("tile_shape {} is not the settings' {}".format(
                meta["tile_shape"], list(settings.tile_shape)))
    except (KeyError, TypeError, ValueError) as error:
        raise InputError("{}: damaged: its settings are not usable ({})".format(
            header, error if not isinstance(error, KeyError) else
            "no {} setting".format(error))) from None
    return settings


#: The file an extraction writes when it has gone through its whole manifest.
COMPLETE = "complete"


def mark_complete(path):
    """Record that an extraction went through its whole manifest (see the module)."""
    write_json(os.path.join(path, COMPLETE), {"tracks": len(_latest_records(
        os.path.join(path, "journal.jsonl")))})


def _check_not_being_written(path):
    """Raise :class:`InputError` if an extraction holds the lock of the store, or never finished."""
    lock_path = os.path.join(path, "lock")
    if os.path.exists(lock_path):
        held = lock(input_path(lock_path, "lock file"), shared=True)  # not a FIFO: it would block
        if held is None:
            raise InputError("{}: an extraction is writing this store (it holds {}); wait "
                             "until `features` ends, then rerun".format(path, lock_path))
        held.close()
    if not os.path.exists(os.path.join(path, COMPLETE)):
        # Stores written before 0.3 have no marker either: the same rerun checks
        # their tracks (nothing finished is extracted again) and marks them.
        fix = Remedy("extract", "MANIFEST", path)
        raise InputError("{}: its extraction did not finish (interrupted?), or it was written by "
                         "soundtrack_cnn 0.2, which did not mark finished stores; {} completes "
                         "or marks it (finished tracks are not extracted again)".format(path, fix),
                         remedy=fix)


def damaged_tracks(path, records, settings, checksums=True):
    """The ok tracks whose tiles are not what the journal says, with the reason.

    Parameters
    ----------
    path : str
        The store.
    records : dict
        ``{track_id: record}`` (the journal's latest lines).
    settings : FeatureSettings
    checksums : bool
        Also read every track's tiles and compare their sha256 with the
        journal's (tracks written before checksums existed are only
        length-checked); False checks only that each chunk holds the rows.

    Returns
    -------
    damaged : dict
        ``{track_id: reason}``; the reason names the chunk file.
    """
    tile_bytes = 4 * int(np.prod(settings.tile_shape))
    sizes, damaged = {}, {}
    for track_id in sorted(records):
        record = records[track_id]
        if record["status"] != "ok" or not record["n_tiles"]:
            continue
        chunk = _chunk_path(path, record["chunk"])
        if chunk not in sizes:
            sizes[chunk] = os.path.getsize(chunk) if os.path.exists(chunk) else -1
        start, stop = record["row"] * tile_bytes, (record["row"] + record["n_tiles"]) * tile_bytes
        if sizes[chunk] < 0:
            damaged[track_id] = "{} is missing".format(chunk)
        elif sizes[chunk] < stop:
            damaged[track_id] = "{} holds {} bytes, its tiles end at byte {}".format(
                chunk, sizes[chunk], stop)
        elif checksums and not record.get("tiles_sha256"):
            warnings.warn("{}: track {} has no checksum (compatibility path `unchecked-tracks`, "
                          "removed in 0.4)".format(path, track_id), DeprecationWarning)
        elif checksums:
            with open(chunk, "rb") as stream:
                stream.seek(start)
                data = stream.read(stop - start)
            if hashlib.sha256(data).hexdigest() != record["tiles_sha256"]:
                damaged[track_id] = "its tiles in {} do not match their checksum".format(chunk)
            elif not np.isfinite(np.frombuffer(data, np.float32)).all():
                damaged[track_id] = "its tiles in {} hold NaN or infinite values".format(chunk)
    return damaged


def check_store(path):
    """Verify a whole store: ``store.json``, every journal line, chunk and checksum.

    Parameters
    ----------
    path : str

    Returns
    -------
    report : str
        One line saying what was verified.

    Raises
    ------
    InputError
        Naming every damaged track (and what to do), or the malformed file.
    """
    settings = read_settings(path)
    records = _latest_records(os.path.join(path, "journal.jsonl"))
    damaged = damaged_tracks(path, records, settings)
    ok = [record for record in records.values() if record["status"] == "ok" and record["n_tiles"]]
    summed = sum(1 for record in ok if record.get("tiles_sha256"))
    if damaged:
        fix = Remedy("extract", "MANIFEST", path)
        raise InputError("{}: {} damaged track(s): {}; {} extracts them again".format(
            path, len(damaged), "; ".join("{}: {}".format(track_id, reason)
                                          for track_id, reason in sorted(damaged.items())), fix),
            remedy=fix)
    state = "complete" if os.path.exists(os.path.join(path, COMPLETE)) else \
        "extraction not finished"
    return ("{}: ok: {} tracks, {} with {} tiles; {} verified against their checksums{}; {}"
            .format(path, len(records), len(ok), sum(r["n_tiles"] for r in ok), summed,
                    ", {} extracted before checksums existed (lengths only)".format(
                        len(ok) - summed) if summed < len(ok) else "", state))


class FeatureStore(object):
    """An extracted collection, read lazily from its memory-mapped chunks.

    Parameters
    ----------
    path : str
        A directory written by :func:`extract`.
    partial : bool
        Also open a store an extraction is writing or never finished (for
        maintenance: compaction, checks); training never does.

    Raises
    ------
    InputError
        One line: not a store, a damaged ``store.json`` or journal line, a
        chunk shorter than its tiles, or (unless ``partial``) a store being
        written or never finished.

    Attributes
    ----------
    settings : FeatureSettings
    tracks : list of StoredTrack
        Every track, sorted by ``track_id``.
    ok_tracks : list of StoredTrack
        The tracks with tiles.
    tiles : StoreTiles
        All tiles of the ok tracks in the global numbering (see the module).

    Examples
    --------
    >>> import os, tempfile
    >>> from soundtrack_cnn.collection.corpus import generate_corpus
    >>> from soundtrack_cnn.collection.extraction import extract
    >>> folder = tempfile.mkdtemp()
    >>> manifest = generate_corpus(folder, n_tracks=2, progress=False)
    >>> _ = extract(manifest, os.path.join(folder, "store"), progress=False)
    >>> store = FeatureStore(os.path.join(folder, "store"))
    >>> store.tiles[:4].shape, store.track_tiles("track0001").dtype
    ((4, 1, 40, 100), dtype('float32'))
    """

    def __init__(self, path, partial=False):
        self.path = path
        self.settings = read_settings(path)
        if not partial:
            _check_not_being_written(path)
        records = _latest_records(os.path.join(path, "journal.jsonl"))
        _refuse_damaged(path, damaged_tracks(path, records, self.settings, checksums=False))
        self.records = records
        self.tracks, self._by_id, locations, start = [], {}, [], 0
        for track_id in sorted(records):
            record = records[track_id]
            stop = start + record["n_tiles"] if record["status"] == "ok" else start
            track = StoredTrack(track_id, record["path"], tuple(record["tags"]), record["split"],
                                start, stop, record["duration"], record["status"],
                                record["reason"], record["size"], record["mtime_ns"],
                                record["sha256"], record.get("film"))
            self.tracks.append(track)
            self._by_id[track_id] = track
            if stop > start:
                locations.append((start, record["chunk"], record["row"]))
            start = stop
        self.ok_tracks = [track for track in self.tracks if track.status == "ok"]
        self.tiles = StoreTiles(path, self.settings, locations, start)

    def verify(self):
        """Compare every track's tiles with its checksum; raise :class:`InputError` if any differs."""
        _refuse_damaged(self.path, damaged_tracks(self.path, self.records, self.settings))

    def track_tiles(self, track_id):
        """The tiles of one track, shape (n, 1, n_mfcc, n_frames)."""
        if track_id not in self._by_id:
            raise InputError("{}: no track {!r} in the store".format(self.path, track_id))
        track = self._by_id[track_id]
        return self.tiles[track.start:track.stop]


def _refuse_damaged(path, damaged):
    """One line for the first of the damaged tracks of a store, if any."""
    if damaged:
        track_id = min(damaged)
        fix = Remedy("check_store", path)
        raise InputError("{}: damaged: track {}: {} ({} damaged track(s); {} lists them)".format(
            path, track_id, damaged[track_id], len(damaged), fix), remedy=fix)


class StoreTiles(object):
    """Array-like over a store's tiles; indexing gathers a float32 copy.

    Parameters
    ----------
    store : str
    settings : FeatureSettings
    locations : list of (int, int, int)
        ``(global start, chunk, row in chunk)`` of each ok track, by start.
    n_tiles : int
    """

    dtype = np.dtype(np.float32)
    ndim = 4

    def __init__(self, store, settings, locations, n_tiles):
        self.store = store
        self.settings = settings
        self.shape = (n_tiles,) + settings.tile_shape
        table = np.asarray(locations, dtype=np.int64).reshape(-1, 3)
        self._starts, self._chunks, self._rows = table.T
        self._maps = {}

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self._gather(np.arange(*key.indices(len(self))))
        index = np.asarray(key)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        if index.ndim == 0:
            return self._gather(index.reshape(1))[0]
        return self._gather(index)

    def _gather(self, index):
        index = index.astype(np.int64)
        index = np.where(index < 0, index + len(self), index)
        if len(index) and (index.min() < 0 or index.max() >= len(self)):
            raise IndexError("tile index out of range for {} tiles".format(len(self)))
        out = np.empty((len(index),) + self.shape[1:], np.float32)
        track = np.searchsorted(self._starts, index, side="right") - 1
        rows = self._rows[track] + index - self._starts[track]
        chunks = self._chunks[track]
        for chunk in np.unique(chunks):
            where = np.flatnonzero(chunks == chunk)
            wanted = rows[where]
            mapped = self._map(int(chunk))
            if np.array_equal(wanted, np.arange(wanted[0], wanted[0] + len(wanted))):
                out[where] = mapped[wanted[0]:wanted[0] + len(wanted)]
            else:
                # Reading in ascending row order keeps the disk access sequential.
                order = np.argsort(wanted, kind="stable")
                out[where[order]] = mapped[wanted[order]]
        return out

    def _map(self, chunk):
        if chunk not in self._maps:
            path = _chunk_path(self.store, chunk)
            rows = os.path.getsize(path) // (self.dtype.itemsize * int(np.prod(self.shape[1:])))
            self._maps[chunk] = np.memmap(path, self.dtype, "r", shape=(rows,) + self.shape[1:])
        return self._maps[chunk]
