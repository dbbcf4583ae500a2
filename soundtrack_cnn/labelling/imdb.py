"""IMDb's public dataset files, read streaming, and film titles matched to them.

The user downloads ``title.basics.tsv.gz`` (and optionally
``title.ratings.tsv.gz``) from IMDb's non-commercial datasets; nothing here
downloads anything.  The files are gzipped, tab-separated, with one header
line and ``\\N`` for a missing value::

    tconst titleType primaryTitle originalTitle isAdult startYear endYear runtimeMinutes genres
    tt0113277 movie Heat Heat 0 1995 \\N 170 Action,Crime,Drama

The basics file holds millions of rows, so it is never loaded: it is read
once, line by line, keeping only the titles whose normalised name is one of
the names asked for (:func:`find_titles`).  Memory stays bounded by the
number of matches, whatever the file's size.

:func:`choose_title` then picks one title among the candidates of a name:
the year decides first, then the number of votes (ratings file), and when
neither decides, nothing is guessed: the name is reported as ambiguous.
"""
import dataclasses
import gzip
import re
import unicodedata
import zlib

from ..errors import InputError
from ..files import input_path

__all__ = ["Title", "Choice", "IMDB_GENRES", "STUDY_GENRES", "BASICS_COLUMNS",
           "normalise_title", "find_titles", "read_votes", "choose_title"]

BASICS_COLUMNS = ("tconst", "titleType", "primaryTitle", "originalTitle", "isAdult", "startYear",
                  "endYear", "runtimeMinutes", "genres")
RATINGS_COLUMNS = ("tconst", "averageRating", "numVotes")
MISSING = "\\N"

#: Every genre IMDb's basics file uses, as it spells them.
IMDB_GENRES = ("Action", "Adult", "Adventure", "Animation", "Biography", "Comedy", "Crime",
               "Documentary", "Drama", "Family", "Fantasy", "Film-Noir", "Game-Show", "History",
               "Horror", "Music", "Musical", "Mystery", "News", "Reality-TV", "Romance", "Sci-Fi",
               "Short", "Sport", "Talk-Show", "Thriller", "War", "Western")
#: The study's ten genres, in IMDb's spelling (the study wrote "SciFi").
STUDY_GENRES = ("Drama", "Action", "Adventure", "Sci-Fi", "Thriller", "Romance", "Comedy",
                "Musical", "Crime", "Horror")
#: With no year to decide, the most-voted title wins only with this many times
#: the runner-up's votes; closer than that, the name stays ambiguous.
VOTE_RATIO = 2.0

_ARTICLE_LAST = re.compile(r"^(.*\S)\s*,\s*(the|a|an|le|la|les|der|die|das|el|il)$")
#: Unicode's blocks of combining marks (accents left over by NFKD).
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
                        "\u3099\u309a]")
_APOSTROPHES = re.compile("['\u2019]")
_NON_WORD = re.compile(r"[\W_]+")


@dataclasses.dataclass(frozen=True)
class Title(object):
    """One row of ``title.basics.tsv.gz``.

    Attributes
    ----------
    tconst : str
        IMDb's identifier, e.g. ``'tt0113277'``.
    title_type : str
        ``'movie'``, ``'tvMovie'``, ``'tvSeries'``, ...
    primary_title, original_title : str
    year : int or None
        ``startYear``.
    genres : tuple of str
        Up to three, IMDb's spelling.
    """

    tconst: str
    title_type: str
    primary_title: str
    original_title: str
    year: int
    genres: tuple


@dataclasses.dataclass(frozen=True)
class Choice(object):
    """The outcome of matching one name (and maybe a year) to titles.

    Attributes
    ----------
    status : str
        ``'matched'``, ``'ambiguous'`` (several titles, nothing decides) or
        ``'unmatched'`` (no title of that name).
    title : Title or None
        The chosen title when matched.
    how : str
        What decided: ``'only title'``, ``'year'``, ``'year +-1'``,
        ``'year, then votes'``, ``'votes'``; or why nothing was chosen.
    confidence : str
        ``'high'`` (one title of that name and year), ``'medium'`` (one title
        of that name with no year to check, one within a year, or votes
        among titles of the same year), ``'low'`` (votes decided without a
        year) or ``''`` when not matched.
    candidates : tuple of Title
        Every title of that name (for the review file).
    """

    status: str
    title: Title = None
    how: str = ""
    confidence: str = ""
    candidates: tuple = ()


def normalise_title(text):
    """The form titles are compared in: no accents, case or punctuation.

    Parameters
    ----------
    text : str

    Returns
    -------
    key : str
        Lower-case words separated by single spaces; ``&`` reads ``and``; a
        trailing article (``"Dark Knight, The"``) moves to the front.

    Examples
    --------
    >>> normalise_title("Amélie")
    'amelie'
    >>> normalise_title("Dark Knight, The") == normalise_title("THE DARK KNIGHT!")
    True
    >>> normalise_title("Crouching Tiger, Hidden Dragon")
    'crouching tiger hidden dragon'
    """
    # Called for every movie of the basics file: the ASCII majority skips the
    # Unicode work, and regular expressions do per-character work in C.
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    text = text.casefold().strip()
    if "," in text:
        moved = _ARTICLE_LAST.match(text)
        if moved:
            text = "{} {}".format(moved.group(2), moved.group(1))
    text = _APOSTROPHES.sub("", text.replace("&", " and "))
    return " ".join(_NON_WORD.sub(" ", text).split())


def _open_tsv(path, columns):
    """A text stream positioned after a checked header line."""
    input_path(path)
    try:
        stream = gzip.open(path, "rt", encoding="utf-8", newline="\n")
        header = stream.readline().rstrip("\n").split("\t")
    except FileNotFoundError:
        raise InputError("{}: no such file".format(path))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        raise InputError("{}: not a gzipped IMDb TSV file ({})".format(path, error))
    if tuple(header) != columns:
        stream.close()
        raise InputError("{}: header {} is not IMDb's {}".format(path, header, list(columns)))
    return stream


def _lines(path, columns):
    """``(line number, fields)`` of a gzipped IMDb TSV file, streaming."""
    stream = _open_tsv(path, columns)
    number = 1
    try:
        with stream:
            for number, line in enumerate(stream, 2):
                yield number, line
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as error:
        raise InputError("{} line {}: cannot be read ({})".format(path, number + 1, error))


def _title(fields, path, number):
    if len(fields) != len(BASICS_COLUMNS):
        raise InputError("{} line {}: {} fields, IMDb's basics rows have {}".format(
            path, number, len(fields), len(BASICS_COLUMNS)))
    year = fields[5]
    genres = fields[8].rstrip("\n")
    return Title(fields[0], fields[1], fields[2], fields[3],
                 int(year) if year != MISSING and year.isdigit() else None,
                 tuple(genres.split(",")) if genres != MISSING else ())


def find_titles(path, keys=(), tconsts=(), title_types=("movie",)):
    """Titles whose normalised name is one of ``keys``, and titles by identifier.

    Reads the basics file once, streaming; memory is bounded by the matches.

    Parameters
    ----------
    path : str
        ``title.basics.tsv.gz``.
    keys : iterable of str
        Names already normalised with :func:`normalise_title`; a title
        matches if its primary or original title does.
    tconsts : iterable of str
        Identifiers wanted whatever their type (a person's corrections).
    title_types : sequence of str
        Which ``titleType`` values match by name (``'movie'``, ``'tvMovie'``).

    Returns
    -------
    by_key : dict
        ``{key: [Title, ...]}`` for every key with a title, in file order.
    by_tconst : dict
        ``{tconst: Title}`` for the identifiers found.

    Raises
    ------
    InputError
        If the file is missing, not gzip, has another header or a malformed row.

    Examples
    --------
    >>> by_key, _ = find_titles("title.basics.tsv.gz", keys={"heat"})  # doctest: +SKIP
    >>> [(t.tconst, t.year) for t in by_key["heat"]]  # doctest: +SKIP
    [('tt0091188', 1986), ('tt0113277', 1995)]
    """
    keys, tconsts, types = set(keys), set(tconsts), set(title_types)
    by_key, by_tconst = {}, {}
    for number, line in _lines(path, BASICS_COLUMNS):
        # Most rows are episodes and shorts: look at the type before anything else.
        head = line.split("\t", 4)
        if len(head) < 5:
            _title(head, path, number)  # raises, naming the line
        if head[0] in tconsts:
            by_tconst[head[0]] = _title(line.split("\t"), path, number)
        if head[1] not in types:
            continue
        primary = normalise_title(head[2])
        original = primary if head[3] == head[2] else normalise_title(head[3])
        for key in {primary, original} & keys:
            by_key.setdefault(key, []).append(_title(line.split("\t"), path, number))
    return by_key, by_tconst


def read_votes(path, tconsts):
    """``{tconst: numVotes}`` from ``title.ratings.tsv.gz`` for the given titles only.

    Examples
    --------
    >>> read_votes("title.ratings.tsv.gz", {"tt0113277"})  # doctest: +SKIP
    {'tt0113277': 720000}
    """
    wanted, votes = set(tconsts), {}
    for number, line in _lines(path, RATINGS_COLUMNS):
        fields = line.rstrip("\n").split("\t")
        if fields[0] in wanted:
            if len(fields) != 3 or not fields[2].isdigit():
                raise InputError("{} line {}: not a ratings row (tconst, averageRating, "
                                 "numVotes)".format(path, number))
            votes[fields[0]] = int(fields[2])
    return votes


def choose_title(candidates, year=None, votes=None):
    """Pick the title a name means: the year first, then the votes, else nobody.

    Parameters
    ----------
    candidates : sequence of Title
        All titles of one name.
    year : int, optional
        The year the soundtrack names (folder name or tag).
    votes : dict, optional
        ``{tconst: numVotes}``; without it votes never decide.

    Returns
    -------
    choice : Choice

    Examples
    --------
    >>> a = Title("tt1", "movie", "Heat", "Heat", 1986, ("Action",))
    >>> b = Title("tt2", "movie", "Heat", "Heat", 1995, ("Crime",))
    >>> choose_title([a, b], year=1995).title.tconst
    'tt2'
    >>> choose_title([a, b]).status
    'ambiguous'
    >>> choice = choose_title([a, b], votes={"tt1": 10, "tt2": 500})
    >>> choice.title.tconst, choice.how, choice.confidence
    ('tt2', 'votes', 'low')
    """
    candidates = tuple(candidates)
    votes = votes or {}
    if not candidates:
        return Choice("unmatched", how="no title of that name")
    if year is not None:
        exact = [t for t in candidates if t.year == year]
        near = [t for t in candidates if t.year is not None and abs(t.year - year) == 1]
        for pool, how, alone, voted in ((exact, "year", "high", "medium"),
                                        (near, "year +-1", "medium", "low")):
            if len(pool) == 1:
                return Choice("matched", pool[0], how, alone, candidates)
            if pool:
                best = _most_voted(pool, votes)
                if best is None:
                    return Choice("ambiguous", how="{} titles of year {}, votes do not decide"
                                  .format(len(pool), year), candidates=candidates)
                return Choice("matched", best, how + ", then votes", voted, candidates)
        return Choice("ambiguous", how="no title of that name in {} (+-1)".format(year),
                      candidates=candidates)
    if len(candidates) == 1:
        return Choice("matched", candidates[0], "only title", "medium", candidates)
    best = _most_voted(candidates, votes)
    if best is None:
        return Choice("ambiguous", how="{} titles of that name, no year, {}".format(
            len(candidates), "votes do not decide" if votes else "no votes (ratings file)"),
            candidates=candidates)
    return Choice("matched", best, "votes", "low", candidates)


def _most_voted(titles, votes):
    """The title with at least VOTE_RATIO times the runner-up's votes, else None."""
    ranked = sorted(titles, key=lambda t: votes.get(t.tconst, 0), reverse=True)
    first, second = (votes.get(t.tconst, 0) for t in ranked[:2])
    return ranked[0] if first > 0 and first >= VOTE_RATIO * second else None
