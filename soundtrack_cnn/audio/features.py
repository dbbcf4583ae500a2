"""MFCC frames, 10-second tiles and their per-coefficient normalisation.

The study's features: the first 40 MFCCs of python_speech_features, one frame
per 0.1 s, cut into tiles of 100 frames (10 s).  Every parameter lives in one
frozen :class:`FeatureSettings`, stored with every feature store and every
model, so features made one way are never fed to a net trained another way.

Choices, and why (python_speech_features' own defaults where the study gives
nothing else):

* ``winlen = winstep = 0.1 s`` with the library's rectangular window: frames
  tile the signal without gap or overlap, so every sample counts once (a
  tapering window on non-overlapping frames would ignore the frame edges).
* ``nfilt = 40``: the 40 coefficients are the *whole* cepstrum of 40 mel
  bands, i.e. an orthogonal rotation of the log-mel spectrogram -- nothing is
  thrown away beyond the mel smoothing.  ``nfilt`` must be ``>= n_mfcc``
  (python_speech_features silently returns only ``nfilt`` coefficients).
* ``nfft = 4096``: the smallest power of two ``>= winlen * sr`` (2205
  samples), so no frame is silently truncated (the library truncates frames
  longer than ``nfft`` with only a log warning).
* ``preemph = 0.97``, ``ceplifter = 22``, ``append_energy = True`` (c0 is
  replaced by the log of the frame's total energy): the library defaults.
  The lifter is a fixed per-coefficient gain, which :class:`Normalizer` undoes
  anyway.
* Only whole frames are made: a last partial window is dropped rather than
  zero-padded into a spuriously quiet frame.
* Tail policy (:func:`tile`): whole tiles start every ``hop`` frames.  If
  frames are left that no whole tile covers, one more tile starts at the next
  hop position, provided at least ``min_fraction * n_frames`` frames remain
  from there; it is completed by looping its own frames
  (``np.pad(mode='wrap')``; zeros or a repeated edge frame would be sounds the
  track never makes).  Otherwise the uncovered frames are dropped.  A clip shorter than
  ``min_fraction * n_frames * winstep`` seconds (5 s) gives no tile at all.
* Per-track normalisation (``track_norm``, an option beyond the study, off by
  default): each track's tiles minus the mean of each coefficient over all
  the track's tiles (cepstral mean normalisation: a fixed recording or
  mastering filter and the overall level are such a mean), or also divided
  by its standard deviation.  It needs the whole track, so it is applied to
  a track's tiles once they are all cut (:func:`normalise_track`).
* Digital silence gives finite numbers: the library floors zero energies at
  machine epsilon before the log (c0 = log(eps) = -36).  The feature store
  skips files that are entirely digital silence.
"""
import dataclasses

import numpy as np
import python_speech_features

from .io import load_audio
from ..errors import InputError

__all__ = ["FeatureSettings", "TRACK_NORMS", "SETTINGS_BOUNDS", "mfcc", "tile", "normalise_track", "signal_to_tiles",
           "audio_to_tiles", "Normalizer", "compression_figures"]

#: Frames computed per call of python_speech_features, bounding memory per track.
MFCC_BLOCK_FRAMES = 1000

#: Per-track normalisations: none (the study), the track's mean of each
#: coefficient removed, or its mean removed and its standard deviation divided out.
TRACK_NORMS = ("none", "mean", "meanvar")


#: The range of every numeric setting: what the package's own profiles and options can
#: produce, with room for real audio practice, and nothing beyond.  Settings travel
#: inside shared files (a store's ``store.json``, a model's ``.npz`` / ``.onnx``
#: metadata), and each one sizes an allocation when features are computed: ``nfft``
#: floats per frame for 1000 frames at a time (:data:`MFCC_BLOCK_FRAMES`: 2**14 gives
#: about 0.4 GB at most, four times the study's 4096), ``nfilt`` filters of ``nfft / 2``
#: bins, ``n_mfcc x n_frames`` floats per tile.  A file declaring ``nfft = 2**28`` would
#: ask for hundreds of GB: every reader goes through :class:`FeatureSettings`, which
#: refuses anything outside this table.  ``{name: (low, high, unit)}``, both ends included.
SETTINGS_BOUNDS = {
    "sr": (4000, 96000, "Hz"),
    "n_mfcc": (1, 128, "coefficients"),
    "winlen": (0.005, 1.0, "s"),
    "winstep": (0.005, 1.0, "s"),
    "nfilt": (1, 256, "filters"),
    "nfft": (64, 2 ** 14, "samples"),
    "lowfreq": (0.0, 48000.0, "Hz"),
    "highfreq": (1.0, 48000.0, "Hz"),
    "preemph": (0.0, 0.999, ""),
    "ceplifter": (0, 1000, ""),
    "n_frames": (1, 1000, "frames"),
    "hop": (1, 1000, "frames"),
    "min_fraction": (0.001, 1.0, "of a tile"),
}
_INTEGERS = ("sr", "n_mfcc", "nfilt", "nfft", "ceplifter", "n_frames", "hop")


def _bound_problems(settings):
    """What is out of :data:`SETTINGS_BOUNDS` or of the wrong type, as phrases."""
    problems = []
    for name, (low, high, unit) in SETTINGS_BOUNDS.items():
        value = getattr(settings, name)
        if name == "highfreq" and value is None:
            continue
        integer = name in _INTEGERS
        kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
        if not isinstance(value, kinds) or isinstance(value, (bool, np.bool_)):
            problems.append("{} must be {}, got {!r}".format(
                name, "an integer" if integer else "a number", value))
        elif not low <= value <= high:  # also False for NaN
            problems.append("{} must be in [{}, {}]{}, got {!r}".format(
                name, low, high, " " + unit if unit else "", value))
    if not isinstance(settings.append_energy, (bool, np.bool_)):
        problems.append("append_energy must be true or false, got {!r}".format(
            settings.append_energy))
    return problems


@dataclasses.dataclass(frozen=True)
class FeatureSettings(object):
    """Every parameter of the feature extraction, frozen and serialisable.

    Parameters
    ----------
    sr : int
        Sampling rate (Hz) audio is resampled to.
    n_mfcc : int
        Cepstral coefficients kept (``numcep``).
    winlen, winstep : float
        Analysis window length and step, in seconds.
    nfilt : int
        Mel filters (``>= n_mfcc``).
    nfft : int
        FFT size, a power of two ``>= winlen * sr``.
    lowfreq : float
        Lowest mel band edge (Hz).
    highfreq : float or None
        Highest mel band edge (Hz); None for ``sr / 2``.
    preemph : float
        Pre-emphasis coefficient (0 for none).
    ceplifter : int
        Cepstral lifter (0 for none).
    append_energy : bool
        Replace c0 by the log of the total frame energy.
    n_frames : int
        Frames per tile (100 frames = 10 s).
    hop : int
        Frames between the starts of consecutive tiles.
    min_fraction : float
        Shortest tail kept as a (looped) tile, as a fraction of a tile.
    track_norm : {'none', 'mean', 'meanvar'}
        Per-track normalisation of the tiles (:func:`normalise_track`); the
        study has none.

    Every numeric setting must lie within :data:`SETTINGS_BOUNDS` (settings
    are read from shared files, and they size allocations).

    Examples
    --------
    >>> settings = FeatureSettings()
    >>> FeatureSettings.from_dict(settings.to_dict()) == settings
    True
    >>> settings.tile_shape
    (1, 40, 100)
    """

    sr: int = 22050
    n_mfcc: int = 40
    winlen: float = 0.1
    winstep: float = 0.1
    nfilt: int = 40
    nfft: int = 4096
    lowfreq: float = 0
    highfreq: float = None
    preemph: float = 0.97
    ceplifter: int = 22
    append_energy: bool = True
    n_frames: int = 100
    hop: int = 100
    min_fraction: float = 0.5
    track_norm: str = "none"

    def __post_init__(self):
        # Types and bounds first: the relations below compare and multiply these values.
        problems = _bound_problems(self)
        if problems:
            raise InputError("invalid FeatureSettings: " + "; ".join(problems))
        if not 0 < self.winstep <= self.winlen:
            problems.append("need 0 < winstep <= winlen, got winstep={!r}, winlen={!r}"
                            .format(self.winstep, self.winlen))
        if self.nfilt < self.n_mfcc:
            problems.append("nfilt={} < n_mfcc={}: there are only nfilt cepstral coefficients"
                            .format(self.nfilt, self.n_mfcc))
        if self.nfft & (self.nfft - 1) or self.nfft < self.window_samples:
            problems.append("nfft={} must be a power of two >= winlen * sr = {} samples"
                            .format(self.nfft, self.window_samples))
        top = self.sr / 2 if self.highfreq is None else self.highfreq
        if not 0 <= self.lowfreq < top <= self.sr / 2:
            problems.append("need 0 <= lowfreq < highfreq <= sr / 2, got lowfreq={!r}, "
                            "highfreq={!r}, sr={}".format(self.lowfreq, self.highfreq, self.sr))
        if self.track_norm not in TRACK_NORMS:
            problems.append("track_norm must be one of {}, got {!r}".format(TRACK_NORMS,
                                                                            self.track_norm))
        if problems:
            raise InputError("invalid FeatureSettings: " + "; ".join(problems))

    @property
    def window_samples(self):
        """Samples per analysis window."""
        return int(python_speech_features.sigproc.round_half_up(self.winlen * self.sr))

    @property
    def step_samples(self):
        """Samples between the starts of consecutive windows."""
        return int(python_speech_features.sigproc.round_half_up(self.winstep * self.sr))

    @property
    def tile_shape(self):
        """Shape of one tile: ``(1, n_mfcc, n_frames)``."""
        return (1, self.n_mfcc, self.n_frames)

    @property
    def min_windows(self):
        """Fewest MFCC frames (whole windows) that give one tile (see the tail policy)."""
        return int(np.ceil(self.min_fraction * self.n_frames))

    @property
    def min_seconds(self):
        """Shortest audio that gives one tile, in seconds."""
        return (self.min_windows - 1) * self.winstep + self.winlen

    def n_windows(self, n_samples):
        """Whole analysis windows (MFCC frames) in ``n_samples`` samples.

        Examples
        --------
        >>> FeatureSettings().n_windows(22050), FeatureSettings().n_windows(10)
        (10, 0)
        """
        if n_samples < self.window_samples:
            return 0
        return 1 + (n_samples - self.window_samples) // self.step_samples

    def to_dict(self):
        """The settings as a JSON-friendly dict (``track_norm`` only when not 'none').

        Leaving out the option at its default keeps the records of stores
        and models made before it existed equal to today's.

        Examples
        --------
        >>> "track_norm" in FeatureSettings().to_dict()
        False
        >>> FeatureSettings(track_norm="mean").to_dict()["track_norm"]
        'mean'
        """
        values = dataclasses.asdict(self)
        if self.track_norm == "none":
            del values["track_norm"]
        return values

    @classmethod
    def from_dict(cls, values):
        """Settings from :meth:`to_dict` output; unknown keys are an error."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise InputError("unknown FeatureSettings fields {}".format(unknown))
        return cls(**values)

    def check_same(self, other, what="these features"):
        """Raise InputError, listing the differing fields, unless ``other == self``.

        Parameters
        ----------
        other : FeatureSettings
            The settings something else was made with.
        what : str
            Names that something in the message (e.g. the store's path).
        """
        if other == self:
            return
        differing = ["{}={!r} (expected {!r})".format(field.name, getattr(other, field.name),
                                                      getattr(self, field.name))
                     for field in dataclasses.fields(self)
                     if getattr(other, field.name) != getattr(self, field.name)]
        raise InputError("{} was made with other feature settings: {}"
                         .format(what, ", ".join(differing)))


def mfcc(signal, settings=FeatureSettings()):
    """MFCC frames of a mono signal, with python_speech_features.

    Parameters
    ----------
    signal : array-like of float, shape (n_samples,)
        Mono audio at ``settings.sr``.
    settings : FeatureSettings

    Returns
    -------
    frames : ndarray of float32, shape (n_frames, n_mfcc)
        One row per whole window; always finite.

    Examples
    --------
    >>> mfcc(np.zeros(22050, np.float32)).shape
    (10, 40)
    """
    signal = np.asarray(signal)
    if signal.ndim != 1:
        raise InputError("signal must be mono (1-D), got shape {}".format(signal.shape))
    if len(signal) < settings.window_samples:
        raise InputError("signal of {} samples is shorter than one {} s window"
                         .format(len(signal), settings.winlen))
    if not np.isfinite(signal).all():
        raise InputError("signal holds NaN or infinite samples")
    step, window = settings.step_samples, settings.window_samples
    n_frames = settings.n_windows(len(signal))
    # Pre-emphasis runs once over the whole signal so that the blocks below can
    # be cut anywhere; python_speech_features then gets preemph=0.
    emphasised = python_speech_features.sigproc.preemphasis(
        signal[:(n_frames - 1) * step + window].astype(np.float64), settings.preemph)
    blocks = []
    for first in range(0, n_frames, MFCC_BLOCK_FRAMES):
        count = min(MFCC_BLOCK_FRAMES, n_frames - first)
        piece = emphasised[first * step:(first + count - 1) * step + window]
        blocks.append(emphasised_mfcc(piece, settings))
    return np.concatenate(blocks).astype(np.float32)


def emphasised_mfcc(piece, settings=FeatureSettings()):
    """MFCC frames of an already pre-emphasised float64 piece (no checks).

    The one call of python_speech_features, shared by :func:`mfcc` and the
    streaming extractor (:mod:`soundtrack_cnn.audio.streaming`), so both make the
    same frames.

    Returns
    -------
    frames : ndarray of float64, shape (n_whole_windows, n_mfcc)
    """
    return python_speech_features.mfcc(
        piece, samplerate=settings.sr, winlen=settings.winlen, winstep=settings.winstep,
        numcep=settings.n_mfcc, nfilt=settings.nfilt, nfft=settings.nfft,
        lowfreq=settings.lowfreq, highfreq=settings.highfreq, preemph=0,
        ceplifter=settings.ceplifter, appendEnergy=settings.append_energy)


def tile(frames, settings=FeatureSettings()):
    """Cut MFCC frames into tiles the network reads.

    Parameters
    ----------
    frames : ndarray, shape (n_frames_total, n_mfcc)
        Output of :func:`mfcc`.
    settings : FeatureSettings
        ``n_frames``, ``hop`` and ``min_fraction`` (see the module's tail policy).

    Returns
    -------
    tiles : ndarray of float32, shape (n_tiles, 1, n_mfcc, n_frames)
        Coefficients on axis 2, time on axis 3; ``n_tiles`` may be 0.

    Examples
    --------
    >>> tile(np.zeros((250, 40))).shape  # two whole tiles and a looped half tile
    (3, 1, 40, 100)
    >>> tile(np.zeros((40, 40))).shape   # under half a tile: dropped
    (0, 1, 40, 100)
    """
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 2 or frames.shape[1] != settings.n_mfcc:
        raise InputError("frames must have shape (n, {}), got {}"
                         .format(settings.n_mfcc, frames.shape))
    size, hop = settings.n_frames, settings.hop
    n_whole = 0 if len(frames) < size else 1 + (len(frames) - size) // hop
    pieces = [frames[start:start + size] for start in range(0, n_whole * hop, hop)]
    covered = (n_whole - 1) * hop + size if n_whole else 0
    tail = frames[n_whole * hop:]
    if len(frames) > covered and len(tail) >= settings.min_fraction * size:
        pieces.append(np.pad(tail, ((0, size - len(tail)), (0, 0)), mode="wrap"))
    tiles = np.empty((len(pieces),) + settings.tile_shape, np.float32)
    for index, piece in enumerate(pieces):
        tiles[index, 0] = piece.T
    return tiles


def normalise_track(tiles, settings=FeatureSettings()):
    """One track's tiles, normalised over the track as ``settings.track_norm`` says.

    The statistics are taken over every frame of every tile given, so the
    tiles of the whole track must be given at once: the streaming extractor
    gives the same tiles as :func:`signal_to_tiles` before this step, and
    ``normalise_track(np.concatenate(list(stream_tiles(path, settings))),
    settings)`` equals ``signal_to_tiles`` after it.

    Parameters
    ----------
    tiles : ndarray, shape (n_tiles, 1, n_mfcc, n_frames)
        All tiles of one track, as :func:`tile` cuts them.
    settings : FeatureSettings

    Returns
    -------
    tiles : ndarray of float32
        The tiles themselves with ``track_norm='none'``; otherwise a copy with
        each coefficient's track mean removed ('mean') and its track standard
        deviation divided out ('meanvar'; a constant coefficient is divided by 1).

    Examples
    --------
    >>> tiles = np.arange(2 * 3, dtype=np.float32).reshape(2, 1, 1, 3)  # frames 0..5
    >>> normalise_track(tiles, FeatureSettings(track_norm="mean"))[:, 0, 0].tolist()
    [[-2.5, -1.5, -0.5], [0.5, 1.5, 2.5]]
    """
    if settings.track_norm == "none" or len(tiles) == 0:
        return tiles
    values = np.asarray(tiles, np.float64)
    mean = values.mean(axis=(0, 1, 3), keepdims=True)
    values = values - mean
    if settings.track_norm == "meanvar":
        std = np.sqrt((values ** 2).mean(axis=(0, 1, 3), keepdims=True))
        values = values / np.where(std > 0, std, 1.0)
    return values.astype(np.float32)


def signal_to_tiles(signal, settings=FeatureSettings(), name="signal"):
    """Tiles of a mono signal at ``settings.sr``.

    Parameters
    ----------
    signal : ndarray, shape (n_samples,)
    settings : FeatureSettings
    name : str
        What the signal is (usually its file), for the error message.

    Returns
    -------
    tiles : ndarray of float32, shape (n_tiles, 1, n_mfcc, n_frames)
        At least one tile, normalised over the track if
        ``settings.track_norm`` says so (:func:`normalise_track`).

    Raises
    ------
    InputError
        If the signal is too short for one tile (shorter than
        ``settings.min_seconds``), or digital silence (:func:`is_silent`:
        nothing to learn from, and the normalised tiles would be constant).
    """
    check_usable(signal, settings, name)
    return normalise_track(tile(mfcc(signal, settings), settings), settings)


def check_usable(signal, settings=FeatureSettings(), name="signal"):
    """Raise the error extraction, ``predict`` and the collection report give for audio without a tile.

    Too short is checked before digital silence, so every command names the
    same reason for the same file.

    Raises
    ------
    InputError
        If ``signal`` gives no tile (fewer than ``min_fraction * n_frames``
        whole windows) or is silent (:func:`is_silent`).

    Examples
    --------
    >>> noise = np.random.RandomState(0).randn(22050 * 6).astype(np.float32)
    >>> check_usable(noise)
    >>> check_usable(noise[:22050 * 4], name="short.wav")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: short.wav: too short: 4.00 s of audio, a tile needs at least 5.00 s
    """
    if settings.n_windows(len(signal)) < settings.min_windows:
        raise too_short(name, len(signal), settings)
    if is_silent(np.min(signal), np.max(signal)):
        raise digital_silence(name)


#: Audio whose samples all lie within this of each other (full scale 1) is
#: silence, whatever constant it sits at: -120 dBFS peak to peak, below the
#: last bit of a 16-bit file.  All zeros, a DC offset and a signal at 1e-30
#: would otherwise reach the nets as tiles of pure rounding noise
#: (pre-emphasis turns a constant into a near-constant, the MFCCs' log makes
#: 1e-30 look like any other level).
SILENCE_PEAK_TO_PEAK = 1e-6


def is_silent(low, high):
    """Whether audio whose samples span ``low`` to ``high`` is silence (:data:`SILENCE_PEAK_TO_PEAK`).

    Examples
    --------
    >>> is_silent(0.25, 0.25), is_silent(-1e-30, 1e-30), is_silent(-1e-3, 1e-3)
    (True, True, False)
    """
    return float(high) - float(low) < SILENCE_PEAK_TO_PEAK


def digital_silence(name):
    """The InputError for silent audio (:func:`is_silent`; the same rule for features and predict)."""
    return InputError("{}: digital silence (no two samples differ by 1e-6 of full scale)"
                      .format(name))


def too_short(name, n_samples, settings=FeatureSettings()):
    """The InputError for audio that gives no tile."""
    return InputError("{}: too short: {:.2f} s of audio, a tile needs at least {:.2f} s"
                      .format(name, n_samples / float(settings.sr), settings.min_seconds))


def audio_to_tiles(path, settings=FeatureSettings()):
    """Decode an audio file and cut it into tiles.

    Parameters
    ----------
    path : str
        Any file :func:`~soundtrack_cnn.audio.io.load_audio` reads.
    settings : FeatureSettings

    Returns
    -------
    tiles : ndarray of float32, shape (n_tiles, 1, n_mfcc, n_frames)

    Raises
    ------
    InputError
        Naming the file, if it cannot be decoded, is digital silence or is
        too short.

    Examples
    --------
    >>> import os, tempfile
    >>> from soundtrack_cnn.audio.io import write_audio
    >>> path = os.path.join(tempfile.mkdtemp(), "theme.ogg")
    >>> write_audio(path, 0.1 * np.random.RandomState(0).randn(25 * 22050), 22050)  # 25 s
    >>> audio_to_tiles(path).shape
    (3, 1, 40, 100)
    """
    return signal_to_tiles(load_audio(path, settings.sr), settings, name=path)


class Normalizer(object):
    """Per-coefficient standardisation of tiles, fitted on training tiles only.

    Parameters
    ----------
    chunk : int
        Tiles read per step in :meth:`fit`, so fitting never loads all tiles.

    Attributes
    ----------
    mean_, std_ : ndarray of float64, shape (n_mfcc,)
        Mean and standard deviation of each coefficient over all frames of
        all fitted tiles (a constant coefficient gets std 1).
    n_tiles_ : int
        Tiles fitted on.

    Examples
    --------
    >>> tiles = np.random.RandomState(0).randn(8, 1, 40, 100).astype(np.float32) * 3 + 1
    >>> scaled = Normalizer().fit(tiles).transform(tiles)
    >>> bool(abs(scaled.mean()) < 1e-5), scaled.dtype
    (True, dtype('float32'))
    """

    # Not a scikit-learn BaseEstimator, though it keeps its conventions: the
    # numpy inference path (``predict``) uses it and never imports scikit-learn.
    def __init__(self, chunk=1024):
        self.chunk = chunk

    def fit(self, tiles):
        """Fit on an array-like of tiles (anything with ``len`` and slicing).

        Parameters
        ----------
        tiles : array-like, shape (n_tiles, 1, n_mfcc, n_frames)
            E.g. ``FeatureStore.tiles`` or a ``TileView``; read ``chunk`` tiles
            at a time.

        Returns
        -------
        self
        """
        if len(tiles) == 0:
            raise InputError("Normalizer.fit needs at least one tile")
        count, mean, squares = 0, None, None
        for start in range(0, len(tiles), self.chunk):
            batch = np.asarray(tiles[start:start + self.chunk], dtype=np.float64)
            if batch.ndim != 4 or batch.shape[1] != 1:
                raise InputError("tiles must have shape (n, 1, n_mfcc, n_frames), got {}"
                                 .format(batch.shape))
            values = batch.transpose(2, 0, 1, 3).reshape(batch.shape[2], -1)
            batch_mean = values.mean(axis=1)
            batch_squares = ((values - batch_mean[:, None]) ** 2).sum(axis=1)
            if mean is None:
                count, mean, squares = values.shape[1], batch_mean, batch_squares
                continue
            # Chan et al.'s pairwise update: stable even with large offsets (c0).
            total = count + values.shape[1]
            delta = batch_mean - mean
            mean = mean + delta * values.shape[1] / total
            squares = squares + batch_squares + delta ** 2 * count * values.shape[1] / total
            count = total
        std = np.sqrt(squares / count)
        self.mean_, self.std_ = mean, np.where(std > 0, std, 1.0)
        self.n_tiles_ = len(tiles)
        return self

    def transform(self, tiles):
        """Standardised float32 copy of ``tiles`` (shape (n, 1, n_mfcc, n_frames))."""
        tiles = np.asarray(tiles, dtype=np.float32)
        if tiles.ndim != 4 or tiles.shape[2] != len(self.mean_):
            raise InputError("tiles must have shape (n, 1, {}, n_frames), got {}"
                             .format(len(self.mean_), tiles.shape))
        mean = self.mean_.astype(np.float32)[:, None]
        std = self.std_.astype(np.float32)[:, None]
        return (tiles - mean) / std

    def to_dict(self):
        """The fitted statistics as JSON-friendly lists."""
        return {"mean": self.mean_.tolist(), "std": self.std_.tolist(),
                "n_tiles": int(self.n_tiles_), "chunk": self.chunk}

    @classmethod
    def from_dict(cls, values):
        """A fitted Normalizer from :meth:`to_dict` output."""
        normalizer = cls(chunk=values.get("chunk", 1024))
        normalizer.mean_ = np.asarray(values["mean"], dtype=np.float64)
        normalizer.std_ = np.asarray(values["std"], dtype=np.float64)
        normalizer.n_tiles_ = int(values.get("n_tiles", 0))
        if normalizer.mean_.shape != normalizer.std_.shape or (normalizer.std_ <= 0).any():
            raise InputError("normalizer: mean and std must be equally long, std positive")
        return normalizer


def compression_figures(settings=FeatureSettings(), seconds=10.0):
    """How much smaller ``seconds`` of audio are as MFCC tiles than as sound.

    Parameters
    ----------
    settings : FeatureSettings
    seconds : float

    Returns
    -------
    figures : dict
        ``pcm16_bytes`` (mono 16-bit PCM at ``settings.sr``),
        ``spectrogram_bytes`` (float32 magnitudes, ``nfft // 2 + 1`` bins per
        frame at the same hop), ``mfcc_bytes`` (float32 MFCC frames, one tile
        per 10 s), and ``saved_vs_pcm16_percent`` /
        ``saved_vs_spectrogram_percent``.

    Examples
    --------
    >>> compression_figures()["mfcc_bytes"]
    16000
    """
    if seconds <= 0:
        raise InputError("seconds must be positive, got {!r}".format(seconds))
    n_frames = int(round(seconds / settings.winstep))
    figures = {
        "seconds": seconds,
        "pcm16_bytes": int(round(seconds * settings.sr)) * 2,
        "spectrogram_bytes": (settings.nfft // 2 + 1) * n_frames * 4,
        "mfcc_bytes": settings.n_mfcc * n_frames * 4,
    }
    for name in ("pcm16", "spectrogram"):
        figures["saved_vs_{}_percent".format(name)] = 100.0 * (
            1 - figures["mfcc_bytes"] / float(figures[name + "_bytes"]))
    return figures
