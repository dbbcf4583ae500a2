"""The film mode (``soundtrack-cnn film``): speed and memory on a 2-hour film, and how well
the in-distribution flag tells synthesised speech from the collection's music.

* A film of ``--hours`` (44.1 kHz stereo FLAC) made of the run's *test* tracks
  (never trained on) with silences and noise between them, analysed by
  ``soundtrack-cnn film RUN film.flac --out DIR`` in a fresh process: wall
  time and peak RSS (VmHWM).  Targets: under 1 minute, under 500 MB.
* Speech from espeak-ng (Debian's text-to-speech; skipped, said so, if it is
  not installed), laid *between* test tracks (dialogue alone) and mixed
  *under* others (12 dB below the music), analysed with ``analyse_film``.
  Each tile is labelled by what fills most of it: music alone, speech alone,
  or music with speech under it.  Printed: the flag's recall on speech-alone
  tiles, its false-alarm rate on music-alone tiles, precision (flagged speech
  / everything flagged among those two), the share of music-with-speech
  tiles flagged, and whether the verdict on the mixed input keeps the
  music-only input's top three.

Run: ``python bench/bench_film.py [RUN]`` (default ``runs/demo``, a trained run).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile

import soundtrack_cnn  # noqa: F401  (compatibility shims first)
from soundtrack_cnn.audio.io import load_audio
from soundtrack_cnn.files import read_json
from soundtrack_cnn.collection.store import FeatureStore
from soundtrack_cnn.errors import InputError
from timing import command_peak_rss

SR = 22050


#: Lines of dialogue for espeak-ng (written for this benchmark).
LINES = [
    "Where were you last night? I waited for hours by the station.",
    "The car is gone, the keys are gone, and nobody saw a thing.",
    "Listen to me. We leave at dawn, before the guards change.",
    "I never wanted any of this. You know that, don't you?",
    "Doctor, the readings are off the scale. Something is coming through.",
    "Put the gun down, slowly, and nobody has to get hurt tonight.",
    "She said she would call when the train reached the border.",
    "Ladies and gentlemen, the performance will begin in five minutes.",
    "Do you remember the summer we spent at the lake? You were seven.",
    "The board will not approve it. Not this quarter, not ever.",
    "Get everyone out of the building. Now. Use the east stairs.",
    "I think I am in love with you, and I have no idea what to do.",
]
VOICES = ["en", "en-us", "en+f3", "en+m3", "en-gb-x-rp", "en+f2"]


def test_tracks(run_dir):
    """Paths of the run's test tracks (held out from training and validation)."""
    record = read_json(os.path.join(run_dir, "experiment.json"), what="run record")
    store = FeatureStore(record["store"])
    paths = [t.path for t in store.ok_tracks if record["splits"].get(t.track_id) == "test"]
    if not paths:
        sys.exit("{} has no test tracks".format(run_dir))
    return paths


def write_film(path, tracks, hours, sr=44100):
    """Test tracks, 3 s of silence and 20 s of quiet noise between them, up to ``hours``.

    Returns the path and the number of tracks in it.
    """
    import soxr
    rng = np.random.RandomState(0)
    music = [soxr.resample(load_audio(p, SR), SR, sr) for p in tracks]
    gap = np.r_[np.zeros(3 * sr), 0.02 * rng.randn(20 * sr), np.zeros(3 * sr)].astype(np.float32)
    left = int(hours * 3600 * sr)
    with soundfile.SoundFile(path, "w", sr, 2, subtype="PCM_16") as out:
        i = 0
        while left > 0:
            for block in (music[i % len(music)], gap):
                block = block[:left]
                out.write(np.stack([block, 0.9 * block], axis=1))
                left -= len(block)
            i += 1
    return path, i


def film_command(run_dir, film, out):
    """Wall seconds, peak RSS (MB) and output of ``soundtrack-cnn film`` in a fresh process."""
    return command_peak_rss("film", run_dir, film, "--out", out)


def speech(folder, seconds, rng):
    """About ``seconds`` of espeak-ng dialogue at 22,050 Hz, RMS 1 (scaled by the caller)."""
    pieces, total, n = [], 0, 0
    while total < seconds * SR:
        wav = os.path.join(folder, "line{}.wav".format(n))
        line = LINES[rng.randint(len(LINES))]
        subprocess.run(["espeak-ng", "-v", VOICES[rng.randint(len(VOICES))],
                        "-s", str(rng.randint(130, 190)), "-p", str(rng.randint(30, 70)),
                        "-w", wav, line], check=True, capture_output=True)
        signal = load_audio(wav, SR)
        # Speakers pause between lines, shorter than the 2 s that ends a cue.
        pieces += [signal, np.zeros(int(rng.uniform(0.2, 1.2) * SR), np.float32)]
        total += len(signal) + len(pieces[-1])
        n += 1
    joined = np.concatenate(pieces)[:int(seconds * SR)]
    return joined / np.sqrt(np.mean(joined ** 2))


def rms(x):
    return float(np.sqrt(np.mean(x ** 2)))


def speech_material(folder, tracks, rng, under_db=-12.0):
    """Test tracks with dialogue between (alone) and under (``under_db`` below the music).

    Returns the mixed signal, the music-only signal (the same music, no
    speech, the dialogue-alone stretches silent) and labelled stretches
    ``(start_s, end_s, kind)``.
    """
    mixed, clean, labels, at = [], [], [], 0.0
    for i, path in enumerate(tracks):
        music = load_audio(path, SR)
        level = rms(music)
        if i % 2:
            voice = speech(folder, len(music) / SR, rng) * level * 10 ** (under_db / 20)
            mixed.append(music + voice[:len(music)])
            kind = "music with speech under"
        else:
            mixed.append(music)
            kind = "music"
        clean.append(music)
        labels.append((at, at + len(music) / SR, kind))
        at += len(music) / SR
        alone = speech(folder, rng.uniform(20, 40), rng) * level
        mixed.append(alone.astype(np.float32))
        clean.append(np.zeros(len(alone), np.float32))
        labels.append((at, at + len(alone) / SR, "speech"))
        at += len(alone) / SR
    return np.concatenate(mixed), np.concatenate(clean), labels


def tile_kinds(analysis, labels):
    """The kind filling most of each tile (None for tiles centred in a silence)."""
    tile = analysis.source.tile_seconds
    kinds = []
    for start in analysis.source.starts:
        overlap = {}
        for a, b, kind in labels:
            overlap[kind] = overlap.get(kind, 0) + max(0.0, min(b, start + tile) - max(a, start))
        kinds.append(max(overlap, key=overlap.get))
    return np.array(kinds)


def speech_flag(run_dir, tracks, folder):
    from soundtrack_cnn.film import analyse_film
    rng = np.random.RandomState(0)
    mixed, clean, labels = speech_material(folder, tracks, rng)
    paths = {}
    for name, signal in (("mixed", mixed), ("music", clean)):
        paths[name] = os.path.join(folder, name + ".wav")
        soundfile.write(paths[name], signal / max(1.0, np.abs(signal).max()), SR)
    analysis = analyse_film(run_dir, paths["mixed"], n_boot=200)
    reference = analyse_film(run_dir, paths["music"], n_boot=200)
    kinds = tile_kinds(analysis, labels)
    flagged = ~analysis.in_distribution
    figures = {kind: (int(flagged[kinds == kind].sum()), int((kinds == kind).sum()))
               for kind in ("speech", "music", "music with speech under")}
    (tp, n_speech), (fp, n_music), (under, n_under) = (figures["speech"], figures["music"],
                                                       figures["music with speech under"])
    hours = len(mixed) / SR / 3600
    print("film speech flag ({} test tracks, {:.2f} h; espeak-ng, {} voices): recall on "
          "speech-alone tiles {:.3f} ({}/{}), false alarms on music-alone tiles {:.3f} ({}/{}), "
          "precision {:.3f}; music with speech 12 dB under flagged {:.3f} ({}/{})".format(
              len(tracks), hours, len(VOICES), tp / max(n_speech, 1), tp, n_speech,
              fp / max(n_music, 1), fp, n_music, tp / max(tp + fp, 1), under / max(n_under, 1),
              under, n_under))
    top = lambda a: [g["genre"] for g in a.verdict["genres"][:3]]
    print("film verdict with dialogue: {} (abstained: {}); music alone: {}".format(
        top(analysis), analysis.verdict["abstained"], top(reference)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", nargs="?", default="runs/demo", help="a trained run folder")
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--skip-film", action="store_true", help="only the speech flag")
    args = parser.parse_args(argv)
    try:
        tracks = test_tracks(args.run)
    except InputError as error:
        sys.exit("bench_film needs a trained run folder (make train): {}".format(error))
    with tempfile.TemporaryDirectory() as folder:
        if not args.skip_film:
            start = time.perf_counter()
            film, n_tracks = write_film(os.path.join(folder, "film.flac"), tracks, args.hours)
            made = time.perf_counter() - start
            load = os.getloadavg()[0]
            seconds, peak, stdout = film_command(args.run, film, os.path.join(folder, "out"))
            print("film {:.1f} h FLAC (44.1 kHz stereo, made in {:.0f} s): {:.1f} s wall "
                  "(target < 60 s), peak RSS {:.0f} MB (target < 500 MB), on {} cores at load "
                  "average {:.1f}; {} (it holds {} tracks)".format(
                      args.hours, made, seconds, peak, os.cpu_count(), load,
                      stdout.splitlines()[0], n_tracks))
        if shutil.which("espeak-ng") is None:
            print("film speech flag: skipped (espeak-ng is not installed; "
                  "apt-get install espeak-ng)")
            return
        speech_flag(args.run, tracks, folder)


if __name__ == "__main__":
    main()
