"""IMDb's dataset files: streaming reader, title normalisation, choosing among namesakes."""
import gzip
import json
import os
import subprocess
import sys

import pytest
from imdb_fixture import TITLES, basics_line, write_basics, write_ratings

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.labelling.imdb import (
    BASICS_COLUMNS,
    Title,
    choose_title,
    find_titles,
    normalise_title,
    read_votes,
)


def test_normalise_title_ignores_accents_case_punctuation_and_moved_articles():
    assert normalise_title("Amélie") == normalise_title("AMELIE") == "amelie"
    assert normalise_title("Dark Knight, The") == normalise_title("The Dark Knight") \
        == "the dark knight"
    assert normalise_title("Léon: The Professional") == "leon the professional"
    assert normalise_title("Romeo & Juliet") == "romeo and juliet"
    assert normalise_title("千と千尋の神隠し") != ""          # other scripts are kept, not erased
    assert normalise_title("Heat") != normalise_title("Heat Wave")


def test_find_titles_keeps_only_movies_of_the_names_asked_for(tmp_path):
    basics = write_basics(tmp_path / "title.basics.tsv.gz")
    keys = {"heat", normalise_title("千と千尋の神隠し"), "untitled film", "gia"}
    by_key, by_tconst = find_titles(basics, keys=keys, tconsts={"tt9000001"})
    assert [(t.tconst, t.year) for t in by_key["heat"]] == [("tt0091188", 1986),
                                                            ("tt0113277", 1995)]
    assert [t.primary_title for t in by_key[normalise_title("千と千尋の神隠し")]] == ["Spirited Away"]
    untitled = by_key["untitled film"][0]
    assert untitled.year is None and untitled.genres == ()          # \N read as missing
    assert "gia" not in by_key                                       # a tvMovie, not asked for
    assert by_tconst["tt9000001"].title_type == "tvSeries"           # by id: any type
    with_tv, _ = find_titles(basics, keys={"gia"}, title_types=("movie", "tvMovie"))
    assert with_tv["gia"][0].genres == ("Biography", "Drama", "Romance")


def test_read_votes_keeps_only_the_titles_asked_for(tmp_path):
    ratings = write_ratings(tmp_path / "title.ratings.tsv.gz")
    assert read_votes(ratings, {"tt0375679", "tt9999999"}) == {"tt0375679": 450000}


def test_choose_title_prefers_the_year_then_clear_votes_and_never_guesses():
    a = Title("tt1", "movie", "Crash", "Crash", 1996, ("Drama",))
    b = Title("tt2", "movie", "Crash", "Crash", 2004, ("Crime",))
    c = Title("tt3", "movie", "Crash", "Crash", 2004, ("Thriller",))
    assert choose_title([a, b], year=1996).title is a
    assert choose_title([a, b], year=1996).confidence == "high"
    assert (choose_title([a, b], year=1997).title, choose_title([a, b], year=1997).confidence) \
        == (a, "medium")
    assert choose_title([a, b], year=2010).status == "ambiguous"
    assert choose_title([a, b]).status == "ambiguous"
    assert choose_title([a, b], votes={"tt1": 100, "tt2": 150}).status == "ambiguous"
    voted = choose_title([a, b], votes={"tt1": 100, "tt2": 450})
    assert (voted.title, voted.how, voted.confidence) == (b, "votes", "low")
    same_year = choose_title([a, b, c], year=2004, votes={"tt2": 10, "tt3": 30})
    assert (same_year.title, same_year.confidence) == (c, "medium")
    assert choose_title([a, b, c], year=2004).status == "ambiguous"
    assert choose_title([], year=2004).status == "unmatched"


@pytest.mark.parametrize("content, message", [
    (b"not gzip at all", "not a gzipped IMDb TSV"),
    (gzip.compress(b"tconst\ttitle\n"), "is not IMDb's"),
    (gzip.compress(("\t".join(BASICS_COLUMNS) + "\ntt1\tmovie\n").encode()), "line 2"),
])
def test_a_bad_basics_file_is_one_clear_error_naming_it(tmp_path, content, message):
    path = tmp_path / "title.basics.tsv.gz"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as error:
        find_titles(str(path), keys={"heat"})
    assert str(path) in str(error.value)


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        find_titles(str(tmp_path / "nope.tsv.gz"), keys={"heat"})


_READ = """
import json, resource, sys
from soundtrack_cnn.labelling.imdb import find_titles
by_key, _ = find_titles(sys.argv[1], keys={"heat", "amelie"})
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "heat": [t.tconst for t in by_key.get("heat", [])],
                  "amelie": [t.tconst for t in by_key.get("amelie", [])]}))
"""


def test_reading_two_million_rows_keeps_memory_bounded(tmp_path):
    """A 2,000,000-row basics file (~110 MB of text) is read with a peak RSS under 300 MB."""
    path = str(tmp_path / "title.basics.tsv.gz")
    kinds = ("tvEpisode", "tvEpisode", "tvEpisode", "short", "movie")
    # One block of 10,000 rows written 200 times: generating stays quick, reading does not.
    block = "".join(basics_line("tt{:07d}".format(i), kinds[i % 5], "Episode #{}".format(i),
                                "Épisode n°{}".format(i), str(1950 + i % 70), "Drama,Comedy")
                    for i in range(10000))
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1, newline="\n") as stream:
        stream.write("\t".join(BASICS_COLUMNS) + "\n")
        for _ in range(200):
            stream.write(block)
        stream.write("".join(basics_line(*row) for row in TITLES))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))] + sys.path))
    # Linux carries ru_maxrss over fork and exec: a child of this (large) pytest process
    # would report pytest's size.  A small launcher in between makes the figure the reader's.
    launcher = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"
    result = subprocess.run([sys.executable, "-c", launcher, sys.executable, "-c", _READ, path],
                            capture_output=True, text=True, env=env, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["heat"] == ["tt0091188", "tt0113277"]      # rows at the very end were read
    assert report["amelie"] == ["tt0211915"]
    assert report["peak_mb"] < 300, report

