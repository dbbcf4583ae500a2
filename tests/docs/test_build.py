"""The documentation site as a reader gets it: built with warnings as errors, its
command-line page equal to ``--help``, no broken internal link, and it renders and
searches in a real browser (headless Chromium)."""
import html
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

import pytest

ROOT = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)
DOCS = os.path.join(ROOT, "docs")
COLUMNS = "88"   # docs/conf.py formats the help at this width

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """``make docs``: the whole site, any warning an error."""
    out = tmp_path_factory.mktemp("docs") / "html"
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                             "-d", str(out.parent / "doctrees"), DOCS, str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-5000:]
    return out


class _Page(HTMLParser):
    """Links, ids and preformatted blocks of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.ids, self.pres, self._pre = [], set(), [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name):
                self.links.append(attrs[name])
        if tag == "pre":
            self._pre = []

    def handle_endtag(self, tag):
        if tag == "pre" and self._pre is not None:
            self.pres.append("".join(self._pre))
            self._pre = None

    def handle_data(self, data):
        if self._pre is not None:
            self._pre.append(data)


def _parse(path):
    page = _Page()
    page.feed(open(path, encoding="utf-8").read())
    return page


def _help(words):
    env = dict(os.environ, COLUMNS=COLUMNS)
    command = os.path.join(os.path.dirname(sys.executable), "soundtrack-cnn")
    result = subprocess.run([command] + words + ["--help"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_command_line_page_is_what_help_prints_for_every_command(site):
    from soundtrack_cnn.cli import COMMANDS
    pres = [block.rstrip("\n") for block in _parse(site / "reference" / "cli.html").pres]
    expected = [[]] + [[command] for command in COMMANDS] + [["store", "check"], ["store", "compact"]]
    helps = [_help(words).rstrip("\n") for words in expected]
    for words, text in zip(expected, helps):
        assert text in pres, "the CLI page does not show `soundtrack-cnn {} --help`".format(" ".join(words))
    assert len(pres) == len(helps), "the CLI page shows {} commands, the parser has {}".format(
        len(pres), len(helps))


def test_no_internal_link_is_broken(site):
    pages = {path: _parse(path) for path in site.rglob("*.html")}
    broken = []
    for path, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue          # external: not this test's business (the build is offline)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not target.exists():
                broken.append("{} -> {}".format(path.relative_to(site), link))
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if parts.fragment not in ids:
                    broken.append("{} -> {}".format(path.relative_to(site), link))
    assert not broken, "\n".join(broken[:20])


def test_every_subpackage_has_an_api_page_in_layer_order(site):
    import soundtrack_cnn
    api = open(site / "reference" / "api.html", encoding="utf-8").read()
    found = [m for m in re.findall(r'href="api/soundtrack_cnn\.(\w+)\.html"', api)]
    ordered = list(dict.fromkeys(found))
    assert ordered == [g for g in soundtrack_cnn.LAYERS], ordered


@pytest.fixture(scope="module")
def served(site):
    """The site over HTTP on localhost, as a reader's browser gets it (search fetches pages)."""
    import functools
    import http.server
    import threading
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:{}/".format(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_the_site_renders_and_searches_in_a_browser(served, browser):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(served + "index.html")
    assert "soundtrack_cnn" in page.title()
    assert page.locator("a", has_text="How-to guides").count() >= 1

    page.goto(served + "reference/api/soundtrack_cnn.scoring.html")
    table = page.locator("table.autosummary")
    assert table.count() >= 1 and "prediction" in table.first.inner_text()
    page.locator("table.autosummary a", has_text="prediction").first.click()
    page.wait_for_load_state()
    assert "soundtrack_cnn.scoring.prediction.html" in page.url
    assert page.locator("#soundtrack_cnn\\.scoring\\.prediction\\.predict_tracks").count() == 1

    page.goto(served + "reference/cli.html")
    assert page.locator("h2", has_text="soundtrack-cnn predict").count() == 1
    blocks = page.locator("pre").all_inner_texts()
    assert any(block.startswith("usage: soundtrack-cnn predict") for block in blocks)

    page.goto(served + "tutorial/reproduce.html")   # the notebook, with its saved outputs
    assert page.locator("h1", has_text="Reproducing the study").count() == 1
    assert page.locator("img").count() >= 5
    assert page.locator("table", has_text="the study").count() >= 1

    page.goto(served + "search.html?q=predict_tracks")
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=30000)
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("prediction" in href for href in hrefs), hrefs
    assert not errors, errors
    page.close()
