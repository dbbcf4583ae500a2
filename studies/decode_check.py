"""Decode every file of a manifest as ``features`` does, and judge it by the package's truncation rule.

No false refusals (issue 32): each file is decoded at its own rate (the
resampling and mixdown ``features`` adds cannot change whether a file is
whole) and judged by :mod:`soundtrack_cnn.audio.io`'s own rule; printed are
the files refused and, per container, how far each decoded length falls
short of the length its header declares, beside the shortfall the
container's own evidence allows (one Ogg page, one FLAC block, one MP3
frame; ``None``: a length the file does not state).  Run from the
repository's root::

    nice -n 10 .venv/bin/python studies/decode_check.py ~/.cache/realmusic2/manifest-project.csv 2
"""
import collections
import csv
import multiprocessing
import os
import sys
import time

import soundfile

from soundtrack_cnn.audio import io as audio_io
from soundtrack_cnn.errors import InputError


def check(path):
    """``(path, format, frames short of the header, shortfall allowed)``, or ``(path, "refused", why, None)``."""
    try:
        audio_io.check_source(path)
        with audio_io._quiet_decoder(path), soundfile.SoundFile(os.fsencode(path)) as source:
            decoded = 0
            while True:
                try:
                    block = source.read(audio_io.DECODE_BLOCK_SAMPLES, dtype="float32",
                                        always_2d=True)
                except (soundfile.LibsndfileError, RuntimeError) as error:
                    return path, "refused", "{}: truncated or damaged ({})".format(path, error), None
                if not len(block):
                    break
                decoded += len(block)
            audio_io._check_complete(path, source, decoded)
            return path, source.format, source.frames - decoded, \
                audio_io._shortfall_allowed(path, source)
    except (InputError, soundfile.LibsndfileError, RuntimeError) as error:
        return path, "refused", str(error), None


def main(manifest, processes=2):
    folder = os.path.dirname(os.path.abspath(manifest))
    with open(manifest, newline="") as stream:
        paths = [os.path.join(folder, row["path"]) for row in csv.DictReader(stream)]
    start = time.time()
    with multiprocessing.Pool(processes) as pool:
        results = pool.map(check, paths, chunksize=4)
    refused = [result for result in results if result[1] == "refused"]
    print("{} files, {} refused ({:.0f} s)".format(len(paths), len(refused), time.time() - start))
    for _, _, why, _ in refused:
        print("refused:", why)
    by_format = collections.defaultdict(list)
    for path, kind, short, allowed in results:
        if kind != "refused":
            by_format[kind].append((short, allowed, os.path.basename(path)))
    for kind, items in sorted(by_format.items()):
        shorts = [short for short, _, _ in items]
        print("{}: {} files, shortfall {} to {} frames, {} short at all; largest (frames short, "
              "allowed, file): {}".format(kind, len(items), min(shorts), max(shorts),
                                          sum(1 for short in shorts if short),
                                          sorted(items, key=lambda item: -abs(item[0]))[:5]))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2)
