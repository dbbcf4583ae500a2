"""Inputs for the film analysis built from the two-tag corpus's held-out tracks."""
import numpy as np
import pytest
import soundfile
from film_audio import SR, corpus_track, noise


@pytest.fixture(scope="session")
def joined_film(two_tag_corpus, tmp_path_factory):
    """Low track | 20 s digital silence | 20 s noise | High track, as one wav.

    Returns the path and the true stretches ``{name: (start, end)}`` in seconds.
    """
    low, high = corpus_track(two_tag_corpus, 30), corpus_track(two_tag_corpus, 31)
    parts = [("Low", low), ("silence", np.zeros(20 * SR, np.float32)), ("noise", noise(20)),
             ("High", high)]
    path = str(tmp_path_factory.mktemp("film") / "joined.wav")
    soundfile.write(path, np.concatenate([p for _, p in parts]), SR)
    truth, start = {}, 0.0
    for name, part in parts:
        truth[name] = (start, start + len(part) / float(SR))
        start += len(part) / float(SR)
    return path, truth
