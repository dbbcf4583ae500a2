"""Store compaction: live tiles rewritten into fresh chunk files, dead space given back.

A store only ever appends (see :mod:`soundtrack_cnn.collection.store`), so tiles of a
re-extracted track, of a track that later failed, and the partial chunk tail
of a killed run stay on disk, unreferenced.  :func:`compact_store` copies the
tiles the journal still points at into new chunk files, then replaces the
journal atomically (one line per track), then deletes the chunk files nothing
points at any more.  Killed at any moment, the store stays valid: before the
journal is replaced the old journal and chunks are untouched (the new chunks
are just dead space, reclaimed by the next compaction); after it, the old
chunks are dead space.
"""
import dataclasses
import json
import os

import numpy as np

from ..files import write_bytes
from .store import STORE_CHUNK_TILES, FeatureStore, StoreWriter, _chunk_path, read_settings

__all__ = ["compact_store", "CompactSummary"]


@dataclasses.dataclass
class CompactSummary(object):
    """What :func:`compact_store` did.

    Attributes
    ----------
    store : str
    tracks, tiles : int
        Tracks in the journal, and the tiles of the ``ok`` ones, kept.
    bytes_before, bytes_after : int
        Size of the chunk files.
    """

    store: str
    tracks: int
    tiles: int
    bytes_before: int
    bytes_after: int

    def __str__(self):
        return "{}: compacted: {:.1f} MB -> {:.1f} MB of tiles ({} tiles of {} tracks kept)".format(
            self.store, self.bytes_before / 1e6, self.bytes_after / 1e6, self.tiles, self.tracks)


def compact_store(path):
    """Rewrite a store's live tiles into fresh chunk files and reclaim the rest.

    Takes the store's lock (an extraction cannot run meanwhile).  Tile
    values, track records and the global tile numbering are unchanged.  A
    store with damaged tiles is refused (its damage would be copied): rerun
    ``features`` first.

    Parameters
    ----------
    path : str
        A feature store.

    Returns
    -------
    summary : CompactSummary

    Examples
    --------
    >>> import os, tempfile
    >>> from soundtrack_cnn.collection.corpus import generate_corpus
    >>> from soundtrack_cnn.collection.extraction import extract
    >>> folder = tempfile.mkdtemp()
    >>> manifest = generate_corpus(folder, n_tracks=2, progress=False)
    >>> store = os.path.join(folder, "store")
    >>> _ = extract(manifest, store, progress=False)
    >>> with open(os.path.join(store, "chunks", "000000.f32"), "ab") as chunk:
    ...     _ = chunk.write(bytes(16000))   # a killed run's partial tile
    >>> summary = compact_store(store)
    >>> summary.tiles, summary.bytes_before - summary.bytes_after
    (4, 16000)
    """
    read_settings(path)  # refuses a non-store with one line, before any lock file is made
    chunks = os.path.join(path, "chunks")
    with StoreWriter(path) as writer:
        if writer.read_only:
            raise writer.read_only
        store = FeatureStore(path, partial=True)  # as it is now that nothing else writes it
        store.verify()
        old_files = sorted(name for name in os.listdir(chunks) if name.endswith(".f32"))
        before = sum(os.path.getsize(os.path.join(chunks, name)) for name in old_files)
        records, chunk, rows, stream = [], writer.next_chunk, 0, None
        try:
            for track_id in sorted(writer.records):
                record = writer.records[track_id]
                if record["status"] == "ok" and record["n_tiles"]:
                    if stream is None or rows >= STORE_CHUNK_TILES:
                        stream, chunk, rows = _next(stream, chunk, rows, path)
                    tiles = store.track_tiles(track_id)
                    stream.write(np.ascontiguousarray(tiles, np.float32).tobytes())
                    record = dict(record, chunk=chunk, row=rows)
                    rows += len(tiles)
                records.append(record)
        finally:
            _close(stream)
        journal = "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)
        write_bytes(os.path.join(path, "journal.jsonl"), journal.encode())
        kept = {"{:06d}.f32".format(record["chunk"]) for record in records
                if record["chunk"] is not None}
        for name in old_files:
            if name not in kept:
                os.unlink(os.path.join(chunks, name))
        after = sum(os.path.getsize(os.path.join(chunks, name)) for name in kept)
    return CompactSummary(path, len(records), len(store.tiles), before, after)


def _next(stream, chunk, rows, path):
    """Close the current new chunk file (if any) and open the next one."""
    if stream is not None:
        _close(stream)
        chunk += 1
    return open(_chunk_path(path, chunk), "xb"), chunk, 0


def _close(stream):
    if stream is not None:
        stream.flush()
        os.fsync(stream.fileno())
        stream.close()
