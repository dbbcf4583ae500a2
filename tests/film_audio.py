"""Audio for the film tests: the two-tag corpus's tracks and noise (imported by the tests).

A module of its own, not ``conftest``: see ``processes``."""
import os

import numpy as np
import soundfile

SR = 22050


def corpus_track(corpus, number):
    """Samples of ``trackNN.wav`` of the two-tag corpus (even: Low, odd: High)."""
    signal, sr = soundfile.read(os.path.join(os.path.dirname(corpus), "track{:02d}.wav".format(number)),
                                dtype="float32")
    assert sr == SR
    return signal


def noise(seconds, seed=0):
    """Loud white noise: nothing like the corpus's tones."""
    return (0.3 * np.random.RandomState(seed).randn(int(seconds * SR))).astype(np.float32)
