"""Feature extraction speed and memory (``make bench``).

Prints

* throughput of ``audio_to_tiles`` (decoding, resampling and MFCCs) as
  "x real time per core", for 44.1 kHz stereo WAV and Ogg/Vorbis;
* wall time and peak resident memory of the whole process tree (the
  extraction and its workers) for extracting collections of synthetic audio
  of several sizes into a feature store -- flat memory as the collection
  grows is the point.

The collections are made of 10-minute files: a few distinct ones, hard-linked
under many names (each name is a track of its own to the store, decoded and
extracted in full), so 100 h costs no 100 h of disk.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import psutil
import soundfile

import soundtrack_cnn  # noqa: F401  (installs the compatibility shims first)
from soundtrack_cnn.audio.features import FeatureSettings, audio_to_tiles

SOURCE_SR = 44100
DISTINCT_FILES = 3


def synthetic_music(seconds, sr=SOURCE_SR, channels=2, seed=0):
    """Chords with a changing root, a beat and noise, as int16 PCM."""
    rng = np.random.RandomState(seed)
    t = np.arange(int(seconds * sr)) / float(sr)
    root = 110 * 2 ** (np.floor(t / 2.0) % 12 / 12.0)
    chord = sum(np.sin(2 * np.pi * root * ratio * t) for ratio in (1, 1.25, 1.5, 2))
    beat = np.exp(-8 * (t % 0.5))
    mono = 0.15 * chord * (0.5 + 0.5 * beat) + 0.02 * rng.randn(len(t))
    stereo = np.stack([mono, np.roll(mono, 7)][:channels], axis=1)
    return (np.clip(stereo, -1, 1) * 32767).astype(np.int16)


def throughput(extension, folder, minutes=5.0):
    """Seconds of audio tiled per CPU second, one core, for one file type."""
    path = os.path.join(folder, "throughput." + extension)
    music = synthetic_music(minutes * 60)
    # libsndfile 1.2.2's Vorbis encoder crashes on very large single writes: feed it blocks.
    with soundfile.SoundFile(path, "w", SOURCE_SR, music.shape[1]) as stream:
        for start in range(0, len(music), 1 << 16):
            stream.write(music[start:start + (1 << 16)])
    start = time.process_time()
    tiles = audio_to_tiles(path, FeatureSettings())
    cpu = time.process_time() - start
    return {"format": extension, "audio_s": minutes * 60, "cpu_s": cpu, "tiles": len(tiles),
            "x_real_time": minutes * 60 / cpu}


def make_collection(folder, hours, file_minutes=10.0):
    """A manifest of ``hours`` of audio as hard links to a few distinct files."""
    distinct = []
    for seed in range(DISTINCT_FILES):
        path = os.path.join(folder, "distinct{}.wav".format(seed))
        if not os.path.exists(path):
            soundfile.write(path, synthetic_music(file_minutes * 60, seed=seed), SOURCE_SR)
        distinct.append(path)
    manifest = os.path.join(folder, "manifest-{:g}h.csv".format(hours))
    rows = ["path,tags"]
    for index in range(int(round(hours * 60 / file_minutes))):
        name = os.path.join(folder, "{:g}h-track{:05d}.wav".format(hours, index))
        if not os.path.exists(name):
            os.link(distinct[index % len(distinct)], name)
        rows.append("{},Drama".format(os.path.basename(name)))
    with open(manifest, "w") as stream:
        stream.write("\n".join(rows) + "\n")
    return manifest


def peak_tree_rss(process, interval=0.05):
    """Run until ``process`` exits; return the peak summed RSS of it and its children."""
    peak = 0
    root = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            tree = [root] + root.children(recursive=True)
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(interval)
    return peak


def extraction_memory(folder, hours, jobs, file_minutes=10.0):
    """Extract ``hours`` of synthetic audio in a child process; wall time and peak RSS."""
    manifest = make_collection(folder, hours, file_minutes)
    store = os.path.join(folder, "store-{:g}h".format(hours))
    code = ("import sys; from soundtrack_cnn.collection.store import extract; "
            "extract(sys.argv[1], sys.argv[2], n_jobs=int(sys.argv[3]), progress=False)")
    start = time.time()
    child = subprocess.Popen([sys.executable, "-c", code, manifest, store, str(jobs)])
    peak = peak_tree_rss(child)
    wall = time.time() - start
    if child.returncode != 0:
        raise RuntimeError("extraction of {} h failed ({})".format(hours, child.returncode))
    size = sum(os.path.getsize(os.path.join(store, "chunks", name))
               for name in os.listdir(os.path.join(store, "chunks")))
    return {"hours": hours, "jobs": jobs, "wall_s": wall, "peak_rss_mb": peak / 2.0 ** 20,
            "store_mb": size / 2.0 ** 20, "x_real_time": hours * 3600 / wall}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, nargs="*", default=[10.0, 30.0],
                        help="collection sizes to extract (default: 10 30; e.g. 10 100)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--file-minutes", type=float, default=10.0)
    parser.add_argument("--throughput-minutes", type=float, default=5.0)
    parser.add_argument("--dir", default=None, help="scratch folder (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-features-") as folder:
        for extension in ("wav", "ogg"):
            figures = throughput(extension, folder, args.throughput_minutes)
            print("features  {format}, 44.1 kHz stereo -> tiles: {x_real_time:.0f}x real time "
                  "per core ({audio_s:.0f} s of audio in {cpu_s:.2f} CPU s)".format(**figures),
                  flush=True)
        for hours in args.hours:
            figures = extraction_memory(folder, hours, args.jobs, args.file_minutes)
            print("features  store of {hours:g} h ({jobs} jobs): {wall_s:.0f} s wall, "
                  "{x_real_time:.0f}x real time, peak RSS of the process tree "
                  "{peak_rss_mb:.0f} MB, {store_mb:.0f} MB of tiles".format(**figures),
                  flush=True)
            shutil.rmtree(os.path.join(folder, "store-{:g}h".format(hours)))


if __name__ == "__main__":
    main()
