"""The viewer page in a real headless Chromium (Debian's, driven by Playwright)."""
import numpy as np
import pytest
import soundfile

from soundtrack_cnn.reporting.figures import TRUE_TAG_GREEN
from soundtrack_cnn.reporting.viewer import write_viewer

GENRES = ["Drama", "Action", "Comedy", "Romance"]


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("viewer")
    sr = 22050
    tracks = []
    for i, (scores, true) in enumerate([([.1, .5, .3, .1], ["Action", "Drama"]),
                                        ([.4, .1, .2, .3], ["Romance"]),
                                        ([.25, .25, .25, .25], ["Comedy"])]):
        audio = str(folder / "t{}.wav".format(i))
        soundfile.write(audio, 0.3 * np.sin(2 * np.pi * 220 * (i + 1) * np.arange(sr * 4) / sr), sr)
        tracks.append({"name": "track-{}".format(i), "audio_path": audio, "scores": scores,
                       "true_tags": true})
    # track-0's timeline: Action in the first two tiles, Romance in the last two.
    tracks[0]["timeline"] = {"starts": [0, 10, 20, 30], "tile_seconds": 10,
                             "scores": [[0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1]]}
    tracks.insert(1, {"name": "lost", "audio_path": str(folder / "missing.wav"),
                      "scores": [.25] * 4, "true_tags": ["Drama"]})
    return write_viewer(str(folder / "index.html"), tracks, GENRES, clip_seconds=2)


def test_page_is_self_contained(page_file):
    text = open(page_file).read()
    assert "http://" not in text and "https://" not in text
    assert text.count("data:audio/wav;base64,") == 3
    assert "lost" in text and "missing.wav" in text


def test_viewer_in_headless_chromium(browser, page_file, tmp_path):
    page = browser.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("file://" + page_file)
    assert page.inner_text("#track") == "track-0"
    bars = page.query_selector_all(".bar")
    assert [b.get_attribute("data-genre") for b in bars] == ["Action", "Comedy", "Drama", "Romance"]
    green = {b.get_attribute("data-genre") for b in bars
             if "true" in b.get_attribute("class")}
    assert green == {"Action", "Drama"}
    colour = page.eval_on_selector(".bar.true", "e => getComputedStyle(e).backgroundColor")
    r, g, b = (int(TRUE_TAG_GREEN[i:i + 2], 16) for i in (1, 3, 5))
    assert colour == "rgb({}, {}, {})".format(r, g, b)
    # The track whose audio is missing was left out: Next goes to track-1.
    page.click("#next")
    assert page.inner_text("#track") == "track-1"
    assert "lost" in page.inner_text("#missing")
    page.click("#play")
    page.wait_for_function("() => document.getElementById('audio').currentTime > 0.05",
                           timeout=10000)
    screenshot = str(tmp_path / "viewer.png")
    page.screenshot(path=screenshot)
    from matplotlib import image
    pixels = image.imread(screenshot)[..., :3]
    assert pixels.std() > 0.05 and (np.abs(pixels - np.array([r, g, b]) / 255).max(-1) < .02).sum() > 1000
    assert errors == []
    page.close()


def test_page_inlines_the_timeline_of_a_track(page_file):
    text = open(page_file).read()
    assert '"timeline": {"starts": [0.0, 10.0, 20.0, 30.0]' in text and text.count('"timeline": {') == 1


def test_timeline_needs_one_row_of_scores_per_tile(tmp_path):
    from soundtrack_cnn.errors import InputError
    track = {"name": "x", "audio_path": None, "scores": [.25] * 4, "true_tags": [],
             "timeline": {"starts": [0, 10], "scores": [[0, 1, 0, 0]], "tile_seconds": 10}}
    with pytest.raises(InputError, match="timeline"):
        write_viewer(str(tmp_path / "v.html"), [track], GENRES)


def test_timeline_strip_under_the_bars_in_chromium(browser, page_file):
    page = browser.new_page()
    page.goto("file://" + page_file)
    assert page.is_visible("#strip") and page.inner_text("#t-end") == "40 s"
    # Rows follow the bars (Action, Comedy, Drama, Romance): Action lit on the
    # left half, Romance on the right half, Comedy dark throughout.
    lit = page.evaluate("""() => {
        const c = document.getElementById('strip'), x = c.getContext('2d');
        const at = (px, row) => x.getImageData(px, row * 12 + 6, 1, 1).data[1];
        return [[at(100, 0), at(460, 0)], [at(100, 1), at(460, 1)], [at(100, 3), at(460, 3)]];
    }""")
    (action_left, action_right), (comedy_left, comedy_right), (romance_left, romance_right) = lit
    assert action_left > action_right and romance_right > romance_left
    assert comedy_left == comedy_right < action_left
    page.click("#next")
    assert page.inner_text("#track") == "track-1" and not page.is_visible("#strip")
    page.close()
