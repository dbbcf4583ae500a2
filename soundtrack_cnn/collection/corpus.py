"""The bundled corpus: deterministic synthetic soundtracks with the study's label structure.

The study's film soundtracks cannot be shipped, so ``make train`` runs on
music synthesised here.  The labels copy the study's structure: ten IMDb-like
genres, 2-3 tags per track, a broad "Drama" that co-occurs with most other
tags, and two clusters (Action / Adventure / SciFi / Thriller / Crime / Horror
vs. Romance / Comedy / Musical) whose tags go together.

Each tag adds one musical layer that MFCCs can carry -- timbre (harmonic
content), register, rhythm and tempo, dynamics, noise texture -- and every
layer's parameters (key, tempo, level, instrument brightness) are drawn at
random per track, over a random bed of background noise.  A track is the sum
of its tags' layers, so no single tag is trivial and tracks of one tag differ.

Sizes (``SIZES``): ``small`` for tests (48 tracks of 12-25 s, seconds to
write), ``demo`` for ``make train`` (200 tracks of 30-90 s, ~3.3 h), ``large``
for benchmarks (4,000 tracks of 60-180 s, ~133 h).
"""
import os

import numpy as np

from ..audio.io import write_audio
from ..errors import ClusterError, InputError
from ..files import make_folder
from ..parallel.pool import Death, effective_n_jobs, imap_unordered
from .manifest import Track, write_manifest
from .splits import split_by_rank

__all__ = ["GENRES", "SIZES", "generate_corpus", "corpus_tracks", "synthesize", "draw_tags"]

GENRES = ("Drama", "Action", "Adventure", "SciFi", "Thriller", "Romance", "Comedy", "Musical",
          "Crime", "Horror")
_TENSE = ("Action", "Adventure", "SciFi", "Thriller", "Crime", "Horror")
_LIGHT = ("Romance", "Comedy", "Musical")

#: name -> (number of tracks, shortest and longest duration in seconds)
SIZES = {"small": (48, 12.0, 25.0), "demo": (200, 30.0, 90.0), "large": (4000, 60.0, 180.0)}
SR = 22050



def _fftconvolve(signal, kernel):
    # scipy.signal takes about 0.4 s to import: only synthesis needs it, not
    # every command that reads SIZES (the CLI builds its parser from it).
    from scipy.signal import fftconvolve
    return fftconvolve(signal, kernel)

def draw_tags(rng):
    """2-3 tags: one or two from a cluster, Drama often, a cross-cluster tag rarely."""
    cluster = _TENSE if rng.rand() < 0.6 else _LIGHT
    tags = list(rng.choice(cluster, size=1 + (rng.rand() < 0.45), replace=False))
    if rng.rand() < 0.65:
        tags.append("Drama")
    if rng.rand() < 0.1:
        other = _LIGHT if cluster is _TENSE else _TENSE
        tags.append(rng.choice(other))
    if len(tags) < 2:
        tags.append(rng.choice([g for g in cluster if g not in tags]))
    return [g for g in GENRES if g in tags][:3]


def _melody(rng, n, low, high, beat, legato=1.0):
    """Per-sample frequency of a random melody and each sample's position in its note (0..1)."""
    note = max(int(beat * SR), 1)
    n_notes = n // note + 1
    degrees = np.cumsum(rng.choice([-2, -1, 0, 1, 2, 3], size=n_notes)) % 14
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16, 17, 19, 21, 23])
    freqs = low * 2.0 ** (scale[degrees] / 12.0)
    freqs = np.where(freqs > high, freqs / 2, freqs)
    frequency = np.repeat(freqs, note)[:n]
    position = (np.arange(n) % note) / (note * legato)
    return frequency, np.clip(position, 0, 1)


def _voice(frequency, harmonics, vibrato=0.0, rate=5.0):
    """Additive synthesis: sum of harmonics with the given amplitudes."""
    t = np.arange(len(frequency)) / SR
    frequency = frequency * (1 + vibrato * np.sin(2 * np.pi * rate * t))
    phase = 2 * np.pi * np.cumsum(frequency) / SR
    return sum(a * np.sin(k * phase) for k, a in enumerate(harmonics, start=1) if a)


def _hits(rng, n, period, kernel, jitter=0.0, probability=1.0):
    """Percussion: an impulse train (with random drops and jitter) convolved with a hit sound."""
    times = np.arange(0, n, max(int(period * SR), 1))
    times = times[rng.rand(len(times)) < probability]
    times = np.clip(times + (rng.randn(len(times)) * jitter * SR).astype(int), 0, n - 1)
    train = np.zeros(n)
    train[times] = 0.6 + 0.4 * rng.rand(len(times))
    return _fftconvolve(train, kernel)[:n]


def _decay(seconds, rate):
    return np.exp(-rate * np.arange(int(seconds * SR)) / SR)


def _layer(tag, rng, n, tempo):
    """One tag's contribution to a track."""
    beat = 60.0 / tempo
    bright = rng.uniform(0.5, 1.0)
    if tag == "Drama":       # slow, sustained string pad in the middle register
        f, _ = _melody(rng, n, rng.uniform(196, 262), 700, beat * 4)
        return 0.5 * _voice(f, [1, .5 * bright, .35, .2 * bright, .1], vibrato=.006)
    if tag == "Action":      # fast, loud drums
        kick = np.sin(2 * np.pi * 60 * np.arange(int(.15 * SR)) / SR) * _decay(.15, 30)
        snare = rng.randn(int(.12 * SR)) * _decay(.12, 40)
        return 1.2 * (_hits(rng, n, beat / 2, kick) + _hits(rng, n, beat, snare) * bright)
    if tag == "Adventure":   # bright brass fanfare, marching
        f, pos = _melody(rng, n, rng.uniform(233, 330), 1000, beat)
        return 0.5 * _voice(f, [1, .8, .7, .6 * bright, .5 * bright, .4, .3]) * (1 - .5 * pos)
    if tag == "SciFi":       # synth sweeps and a high shimmer
        t = np.arange(n) / SR
        sweep = 800 + 600 * bright * np.sin(2 * np.pi * rng.uniform(.05, .2) * t)
        return 0.35 * (_voice(sweep, [1, 0, .5]) + .4 * _voice(np.full(n, 3520.0), [1]))
    if tag == "Thriller":    # low drone with tremolo and a dissonant high cluster
        t = np.arange(n) / SR
        drone = _voice(np.full(n, rng.uniform(55, 70)), [1, .6, .4, .3])
        tremolo = .5 + .5 * np.sin(2 * np.pi * rng.uniform(4, 8) * t)
        cluster = sum(np.sin(2 * np.pi * f0 * t) for f0 in (1244.5, 1318.5, 1396.9))
        return 0.5 * drone * tremolo + .12 * bright * cluster
    if tag == "Romance":     # soft piano: decaying tones, slow
        f, pos = _melody(rng, n, rng.uniform(392, 523), 1600, beat * 2)
        return 0.45 * _voice(f, [1, .3, .1]) * np.exp(-3 * pos)
    if tag == "Comedy":      # staccato plucks over a bouncy pizzicato bass
        f, pos = _melody(rng, n, rng.uniform(523, 659), 2000, beat / 2, legato=.3)
        bass, bass_pos = _melody(rng, n, rng.uniform(82, 110), 220, beat / 2, legato=.3)
        pluck = _voice(f, [1, .5 * bright, .3]) * (pos < 1) * np.exp(-8 * pos)
        return 0.5 * (pluck + _voice(bass, [1, .4]) * (bass_pos < 1) * np.exp(-6 * bass_pos))
    if tag == "Musical":     # a singing voice: formant-shaped harmonics with vibrato
        f, _ = _melody(rng, n, rng.uniform(262, 392), 900, beat)
        formants = [1, .9, .4, .7, .8, .3, .2, .35, .15, .1]
        return 0.45 * _voice(f, formants, vibrato=.02, rate=rng.uniform(5, 6.5))
    if tag == "Crime":       # walking bass and swung hi-hats
        f, pos = _melody(rng, n, rng.uniform(55, 82), 165, beat)
        hat = rng.randn(int(.04 * SR)) * _decay(.04, 120)
        hats = _fftconvolve(_hits(rng, n, beat * 2 / 3, hat), [1, -.9])[:n]
        return 0.6 * _voice(f, [1, .5, .2]) * np.exp(-2 * pos) + .5 * bright * hats
    if tag == "Horror":      # rumbling noise and sparse stingers
        rumble = _fftconvolve(rng.randn(n), _decay(.05, 60))[:n]
        sting = rng.randn(int(.4 * SR)) * _decay(.4, 8) * bright
        return 0.25 * rumble / (np.abs(rumble).max() + 1e-9) + _hits(rng, n, 2.5, sting,
                                                                      probability=.4)
    raise InputError("unknown genre tag {!r}; known: {}".format(tag, GENRES))


def synthesize(tags, seconds, seed):
    """One track: the sum of its tags' layers, random levels, background noise.

    Parameters
    ----------
    tags : sequence of str
        Genres from ``GENRES``.
    seconds : float
    seed : int

    Returns
    -------
    signal : ndarray of float32, mono at 22,050 Hz, peak at most 0.9
    """
    rng = np.random.RandomState(seed)
    n = int(seconds * SR)
    tempo = rng.uniform(70, 150)
    mix = sum(rng.uniform(0.5, 1.0) * _layer(tag, rng, n, tempo) for tag in tags)
    noise = _fftconvolve(rng.randn(n), np.ones(rng.randint(1, 8)) / 4)[:n]
    mix = mix / (np.abs(mix).max() + 1e-9) + rng.uniform(0.01, 0.08) * noise
    fade = np.minimum(1, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.5 * SR))
    mix = mix * fade * rng.uniform(0.3, 1.0)
    return (0.9 * mix / max(np.abs(mix).max(), 1e-9)).astype(np.float32)


def _write_track(job):
    path, tags, seconds, seed = job
    if not os.path.exists(path):
        write_audio(path, synthesize(tags, seconds, seed), SR)


def _plan(size, seed, n_tracks=None):
    count, shortest, longest = SIZES[size]
    rng = np.random.RandomState(seed)
    plan = []
    for i in range(n_tracks or count):
        tags = draw_tags(rng)
        seconds = float(np.round(rng.uniform(shortest, longest), 2))
        # Mostly FLAC (fast to write), every fourth track Ogg/Vorbis.
        name = "track{:04d}.{}".format(i, "ogg" if i % 4 == 3 else "flac")
        plan.append((name, tags, seconds, int(rng.randint(2 ** 31))))
    return plan


def corpus_tracks(out_dir, size="small", seed=0, n_tracks=None):
    """The corpus's manifest rows (path, tags, track id, split), without writing audio.

    Examples
    --------
    >>> [(t.track_id, t.split) for t in corpus_tracks("data", n_tracks=3)]
    [('track0000', 'train'), ('track0001', 'train'), ('track0002', 'train')]
    """
    if size not in SIZES:
        raise InputError("unknown corpus size {!r}; choose one of {}".format(size, sorted(SIZES)))
    plan = _plan(size, seed, n_tracks)
    order = np.random.RandomState(seed + 1).permutation(len(plan))
    tracks = [Track(path=os.path.join(out_dir, name), tags=tuple(tags),
                    track_id=os.path.splitext(name)[0], split=split_by_rank(rank, len(plan)))
              for rank, (name, tags, _, _) in sorted(zip(order, plan))]
    return sorted(tracks, key=lambda t: t.track_id)


def generate_corpus(out_dir, size="small", seed=0, n_tracks=None, n_jobs=None, progress=False):
    """Write the synthetic corpus and its manifest (skipping files already written).

    Parameters
    ----------
    out_dir : str
    size : {'small', 'demo', 'large'}
    seed : int
        Same seed, same audio and manifest.
    n_tracks : int, optional
        Fewer (or more) tracks than the size's default.
    n_jobs : int, optional
        Worker processes in scikit-learn's meaning (None: 1, -1: every core).
    progress : bool
        Print one line on stdout when done (the command line does).

    Returns
    -------
    manifest : str
        Path of ``manifest.csv`` (columns ``path,tags,track_id,split``).

    Examples
    --------
    >>> import tempfile
    >>> from soundtrack_cnn.collection.manifest import read_manifest
    >>> manifest = generate_corpus(tempfile.mkdtemp(), n_tracks=2, progress=False)
    >>> [(t.track_id, t.tags) for t in read_manifest(manifest)]
    [('track0000', ('Drama', 'Action')), ('track0001', ('Drama', 'Horror'))]
    """
    tracks = corpus_tracks(out_dir, size, seed, n_tracks)
    effective_n_jobs(n_jobs)  # a bad value is refused before the folder is made
    make_folder(out_dir)
    manifest = os.path.join(out_dir, "manifest.csv")
    plan = _plan(size, seed, n_tracks)
    jobs_todo = [(os.path.join(out_dir, name), tags, seconds, track_seed)
                 for name, tags, seconds, track_seed in plan]
    todo = [job for job in jobs_todo if not os.path.exists(job[0])]
    for job, result in imap_unordered(_write_track, todo, n_jobs, name=lambda job: job[0]):
        if isinstance(result, Death):
            raise ClusterError("{}: the process writing it {}, twice (out of memory?); rerun to "
                               "write the rest".format(job[0], result.cause))
    write_manifest(manifest, tracks)
    if progress:
        hours = sum(seconds for _, _, seconds, _ in plan) / 3600
        print("corpus {}: {} tracks, {:.1f} h of audio ({} written now) -> {}".format(
            size, len(plan), hours, len(todo), manifest), flush=True)
    return manifest
