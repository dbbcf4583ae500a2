"""film.html in a real headless Chromium (Debian's, driven by Playwright), as the viewer's test does."""

import numpy as np
import pytest
import soundfile
from film_audio import SR, noise

from soundtrack_cnn.film import analyse_film
from soundtrack_cnn.film.page import read_clip


def _open(browser, path):
    page = browser.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("file://" + path)
    return page, errors


@pytest.mark.slow
def test_a_provenance_segment_plays_when_clicked(browser, two_tag_run, joined_film, tmp_path):
    path, truth = joined_film
    analysis = analyse_film(two_tag_run, path, out=str(tmp_path), min_cue=5, n_boot=200)
    html = str(tmp_path / "film.html")
    text = open(html).read()
    assert "http://" not in text and "https://" not in text
    page, errors = _open(browser, html)
    ranked = [g["genre"] for g in analysis.verdict["genres"]]
    assert [b.get_attribute("data-genre") for b in page.query_selector_all(".bar")] == ranked
    assert len(page.query_selector_all(".interval")) == len(ranked)
    assert page.is_visible("#strip") and page.inner_text("#t-end") == "00:01:08:00"
    sources = page.query_selector_all(".source")
    assert [s.get_attribute("data-genre") for s in sources][0] == ranked[0]
    # The High cue is the evidence for High: click it and it plays.
    high = [s for s in sources if s.get_attribute("data-genre") == "High"][0]
    number = int(high.get_attribute("data-segment"))
    segment = [s for s in analysis.segments if s.number == number][0]
    assert segment.start >= truth["High"][0] - analysis.source.tile_seconds
    high.click()
    page.wait_for_function("() => document.getElementById('audio').currentTime > 0.05",
                           timeout=10000)
    assert "playing segment {}".format(number) in page.inner_text("#playing")
    assert "playing" in high.get_attribute("class")
    # The played segment is drawn white in the strip's top band.
    x = (segment.start + segment.end) / 2 / analysis.source.duration * 720
    pixel = page.evaluate("x => Array.from(document.getElementById('strip').getContext('2d')"
                          ".getImageData(x, 8, 1, 1).data)", x)
    assert pixel[:3] == [255, 255, 255]
    assert errors == []
    page.close()


@pytest.mark.slow
def test_an_abstention_is_said_on_the_page(browser, two_tag_run, tmp_path):
    path = str(tmp_path / "noise.wav")
    soundfile.write(path, noise(40, seed=7), SR)
    analyse_film(two_tag_run, path, out=str(tmp_path / "out"))
    page, errors = _open(browser, str(tmp_path / "out" / "film.html"))
    assert page.is_visible("#abstain") and "not enough music like the training collection" \
        in page.inner_text("#abstain")
    assert page.query_selector_all(".bar") == [] and page.query_selector_all(".source") == []
    assert errors == []
    page.close()


def test_a_clip_is_read_by_seeking_and_resampled(tmp_path):
    import base64
    import io
    path = str(tmp_path / "tone.flac")
    t = np.arange(44100 * 6) / 44100.
    # The loudness says the time: amplitude t / 10.
    tone = np.sin(2 * np.pi * 440 * t) * t / 10
    soundfile.write(path, np.stack([tone, tone], axis=1), 44100)
    uri = read_clip(path, 2.0, 4.5, sr=11025)
    clip, sr = soundfile.read(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert sr == 11025 and abs(len(clip) - 2.5 * 11025) <= 2
    assert np.abs(clip[200:1100]).max() == pytest.approx(0.205, abs=0.01)
    assert np.abs(clip[-1100:-200]).max() == pytest.approx(0.445, abs=0.01)
