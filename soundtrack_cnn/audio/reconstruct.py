"""Back from MFCCs to sound, so one can hear what the network hears.

:func:`mfcc_to_audio` inverts each step of python_speech_features' MFCC that
can be inverted and replaces the one that cannot (the phase) with noise:

1. divide out the lifter;
2. zero-pad the dropped coefficients up to ``nfilt`` and invert the
   orthonormal DCT: log mel energies;
3. undo the mel filterbank by least squares (pseudo-inverse), clipped to
   non-negative power;
4. with ``append_energy`` c0 holds no cepstrum but the log of the frame's
   total power, so the spectral *shape* comes from c1.. and each frame is
   scaled to that total power (without it, to its total mel energy);
5. excite each frame's magnitude spectrum with random phases (noise), window
   it with power-complementary tapers and overlap-add;
6. undo the pre-emphasis.

The result keeps the spectral envelope and loudness of every 0.1 s and loses
pitch and fine structure -- the study's point about how much the tiles keep.
"""
import numpy as np
import python_speech_features
import scipy.fftpack
import scipy.signal

from ..errors import InputError
from ..files import check_not_input
from .features import FeatureSettings, mfcc
from .io import load_audio, write_audio

__all__ = ["mfcc_to_audio", "crossfade", "reconstruct_file"]

def mfcc_to_audio(frames, settings=FeatureSettings(), seed=0, taper=0.5):
    """Noise-excited audio whose MFCCs approximate ``frames``.

    Parameters
    ----------
    frames : ndarray, shape (n_frames, n_mfcc)
        MFCC frames as made by :func:`~soundtrack_cnn.audio.features.mfcc`.
    settings : FeatureSettings
        The settings the frames were made with.
    seed : int
        Seed of the random phases.
    taper : float
        Length of the crossfade between consecutive frames, as a fraction of
        the hop (0 < taper <= 1); shorter keeps each frame's spectrum purer,
        longer smooths the 10 Hz frame rate out of the sound.

    Returns
    -------
    signal : ndarray of float32, shape ((n_frames - 1) * step + window,)
        Audio at ``settings.sr``, the length the frames were analysed from.

    Examples
    --------
    >>> noise = np.random.RandomState(0).randn(22050).astype(np.float32) * 0.1
    >>> mfcc_to_audio(mfcc(noise)).shape
    (22050,)
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2 or frames.shape[1] != settings.n_mfcc or not len(frames):
        raise InputError("frames must have shape (n >= 1, {}), got {}"
                         .format(settings.n_mfcc, frames.shape))
    if not 0 < taper <= 1:
        raise InputError("taper must be in (0, 1], got {!r}".format(taper))
    power = _power_spectra(frames, settings)
    return _overlap_add(power, settings, np.random.RandomState(seed), taper)


def _power_spectra(frames, settings):
    """(n_frames, nfft // 2 + 1) power spectra (python_speech_features' powspec scale)."""
    cepstra = frames / _lift(settings)
    if settings.append_energy:
        cepstra[:, 0] = 0.0
    padded = np.zeros((len(frames), settings.nfilt))
    padded[:, :settings.n_mfcc] = cepstra
    log_mel = scipy.fftpack.idct(padded, type=2, axis=1, norm="ortho")
    bank = python_speech_features.get_filterbanks(settings.nfilt, settings.nfft, settings.sr,
                                                  settings.lowfreq, settings.highfreq)
    mel = np.exp(log_mel)
    power = np.clip(mel @ np.linalg.pinv(bank).T, 0.0, None)
    # Clipping the least-squares solution's negative lobes adds power, so each
    # frame is rescaled: to its total energy (c0) when that is known, else to
    # its total mel energy.
    if settings.append_energy:
        wanted, got = np.exp(frames[:, 0]), power.sum(axis=1)
    else:
        wanted, got = mel.sum(axis=1), (power @ bank.T).sum(axis=1)
    return power * (wanted / np.where(got > 0, got, 1.0))[:, None]


def _lift(settings):
    n = np.arange(settings.n_mfcc)
    if settings.ceplifter <= 0:
        return np.ones(settings.n_mfcc)
    # Never zero for integer n (that would need sin(pi n / L) = -2 / L exactly).
    return 1 + (settings.ceplifter / 2.0) * np.sin(np.pi * n / settings.ceplifter)


def _overlap_add(power, settings, rng, taper):
    hop, window = settings.step_samples, settings.window_samples
    overlap = max(2, 2 * int(round(taper * hop / 2)))
    length = hop + overlap
    # The analysis saw |FFT_nfft(frame of `window` samples)|^2 / nfft; a random-phase
    # segment of `length` samples with this magnitude has the same power density.
    analysis_hz = np.arange(power.shape[1]) * settings.sr / float(settings.nfft)
    synthesis_hz = np.fft.rfftfreq(length, 1.0 / settings.sr)
    scale = length * settings.nfft / float(window)
    rise = np.sin(0.5 * np.pi * (np.arange(overlap) + 0.5) / overlap)
    # sin^2 + cos^2 = 1: independent noise segments keep a constant power across a crossfade.
    taper_window = np.concatenate([rise, np.ones(length - 2 * overlap), rise[::-1]])
    first = (window - hop) // 2 - overlap // 2
    out = np.zeros((len(power) - 1) * hop + length + max(0, -first))
    offset = max(0, -first)
    for index, frame_power in enumerate(power):
        magnitude = np.sqrt(scale * np.interp(synthesis_hz, analysis_hz, frame_power))
        magnitude[0] = 0.0  # no DC: the de-emphasis below would turn it into drift
        phase = np.exp(2j * np.pi * rng.uniform(size=len(magnitude)))
        start = offset + first + index * hop
        out[start:start + length] += np.fft.irfft(magnitude * phase, n=length) * taper_window
    signal = out[offset:offset + (len(power) - 1) * hop + window]
    if settings.preemph:
        signal = scipy.signal.lfilter([1.0], [1.0, -settings.preemph], signal)
    return signal.astype(np.float32)


def crossfade(original, rebuilt, sr, at=None, fade=2.0):
    """The study's demo: the original crossfading into its reconstruction.

    Parameters
    ----------
    original, rebuilt : ndarray, shape (n_samples,)
        Mono signals at ``sr``; the longer is cut to the shorter.
    sr : int
        Sampling rate (Hz).
    at : float, optional
        Centre of the crossfade in seconds (default: the middle).
    fade : float
        Crossfade length in seconds (equal-power: the two are uncorrelated).

    Returns
    -------
    signal : ndarray of float32

    Examples
    --------
    >>> crossfade(np.ones(44100), -np.ones(44100), 22050, fade=1.0)[[0, -1]].round(3).tolist()
    [1.0, -1.0]
    """
    n = min(len(original), len(rebuilt))
    if n == 0:
        raise InputError("crossfade needs two non-empty signals")
    if fade < 0:
        raise InputError("fade must be >= 0 seconds, got {!r}".format(fade))
    centre = n / 2.0 if at is None else at * sr
    if not 0 <= centre <= n:
        raise InputError("at={!r} s lies outside the {:.2f} s signal".format(at, n / float(sr)))
    half = max(fade * sr / 2.0, 1e-9)
    mix = np.clip((np.arange(n) - centre + half) / (2 * half), 0.0, 1.0)
    faded = (np.cos(0.5 * np.pi * mix) * np.asarray(original[:n], np.float64)
             + np.sin(0.5 * np.pi * mix) * np.asarray(rebuilt[:n], np.float64))
    return faded.astype(np.float32)


def reconstruct_file(in_path, out_path, crossfade=False, settings=FeatureSettings(), seed=0):
    """Audio file -> MFCCs -> audio file (the CLI's ``reconstruct``).

    Parameters
    ----------
    in_path : str
        Any file :func:`~soundtrack_cnn.audio.io.load_audio` reads.
    out_path : str
        Where to write the result (format from the extension).
    crossfade : bool
        Write the original crossfading into the reconstruction instead.
    settings : FeatureSettings
    seed : int

    Returns
    -------
    seconds : float
        Length of the written audio.
    """
    check_not_input(out_path, [in_path])  # the song, not its lossy rebuild, is the user's
    original = load_audio(in_path, settings.sr)
    if len(original) < settings.window_samples:
        raise InputError("{}: too short: shorter than one {} s frame"
                         .format(in_path, settings.winlen))
    rebuilt = mfcc_to_audio(mfcc(original, settings), settings, seed=seed)
    signal = _crossfade(original, rebuilt, settings.sr) if crossfade else rebuilt
    write_audio(out_path, signal, settings.sr)
    return len(signal) / float(settings.sr)


# reconstruct_file's ``crossfade`` flag shadows the function inside it.
_crossfade = crossfade
