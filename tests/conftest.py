"""Session-wide fixtures: Theano compiles are slow, so compiled nets are shared."""
import os
import shutil
import tempfile

import numpy as np
import pytest

import soundtrack_cnn  # noqa: F401  (compatibility shims before Theano)
from soundtrack_cnn.training.network import build_net

#: Scripts that made test fixtures with earlier versions of the package (not tests).
collect_ignore_glob = ["*/fixtures/*.py"]

# The pickles the tests train are signed with a secret of the test session, never the
# user's own (soundtrack_cnn.signing); child processes inherit it.
os.environ["SOUNDTRACK_CNN_SECRET"] = os.path.join(
    tempfile.mkdtemp(prefix="soundtrack_cnn_secret_"), "secret")


@pytest.fixture(scope="session")
def random_tiles():
    """300 random tiles whose target depends on them (so a fit can learn)."""
    rng = np.random.RandomState(0)
    X = rng.randn(300, 1, 40, 100).astype(np.float32)
    y = (X[:, 0, :5, :].mean(axis=(1, 2)) > 0).astype(np.float32)[:, None]
    return X, y


@pytest.fixture(scope="session")
def fitted_net(random_tiles):
    """The study's exact architecture, fitted for 2 epochs on the random tiles."""
    X, y = random_tiles
    return build_net(epochs=2, batch=100).fit(X, y)


def _tone_track(rng, low, seconds=14.0, sr=22050):
    """A few seconds of tones: low register (~110-220 Hz) or high (~1.5-3 kHz), plus noise."""
    t = np.arange(int(seconds * sr)) / sr
    base = rng.uniform(110, 220) if low else rng.uniform(1500, 3000)
    signal = sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6)) / k for k in (1, 2, 3))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t)
    return (0.3 * signal * envelope + 0.02 * rng.randn(len(t))).astype(np.float32)


@pytest.fixture(scope="session")
def two_tag_corpus(tmp_path_factory):
    """36 real wav files: tag 'Low' or 'High' (audibly different), all also 'Music'.

    Returns the manifest path; splits are fixed in the manifest (24/6/6).
    """
    import soundfile
    folder = tmp_path_factory.mktemp("two_tags")
    rng = np.random.RandomState(1)
    rows = ["path,tags,track_id,split"]
    for i in range(36):
        low = i % 2 == 0
        name = "track{:02d}.wav".format(i)
        soundfile.write(str(folder / name), _tone_track(rng, low), 22050)
        split = "train" if i < 24 else "valid" if i < 30 else "test"
        rows.append("{},{}|Music,t{:02d},{}".format(name, "Low" if low else "High", i, split))
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    return str(folder / "manifest.csv")


@pytest.fixture(scope="session")
def two_tag_store(two_tag_corpus, tmp_path_factory):
    """The two-tag corpus extracted with a 25-frame hop (5 tiles per 14 s track)."""
    from soundtrack_cnn.audio.features import FeatureSettings
    from soundtrack_cnn.collection.extraction import extract
    out = str(tmp_path_factory.mktemp("store") / "features")
    extract(two_tag_corpus, out, settings=FeatureSettings(hop=25), n_jobs=1, progress=False)
    return out


@pytest.fixture(scope="session")
def two_tag_run(two_tag_store, tmp_path_factory):
    """A prepared, trained and evaluated run (ensemble + single net) on the two-tag store."""
    from soundtrack_cnn.experiment.pipeline import evaluate_run, prepare_run, train_run
    from soundtrack_cnn.experiment.profiles import Profile
    run_dir = str(tmp_path_factory.mktemp("run"))
    profile = Profile("test", corpus="small",
                      net_params={"epochs": 12, "batch": 32, "patience": 12, "rate": .03})
    prepare_run(run_dir, two_tag_store, profile, genres=["Low", "High"], seed=0)
    train_run(run_dir, verbose=0)
    evaluate_run(run_dir)
    return run_dir


@pytest.fixture(scope="session")
def joined_film(two_tag_corpus, tmp_path_factory):
    """Low track | 20 s digital silence | 20 s noise | High track, as one wav (a film).

    Returns the path and the true stretches ``{name: (start, end)}`` in seconds.
    """
    import soundfile
    from film_audio import SR, corpus_track, noise
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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    if CHROMIUM is None:
        pytest.skip("no chromium binary (make test installs Debian's chromium when it can)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--autoplay-policy=no-user-gesture-required"])
        yield browser
        browser.close()
