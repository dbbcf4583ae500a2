"""Small IMDb dataset files in IMDb's exact format, written by the tests (nothing downloaded)."""
import gzip

from soundtrack_cnn.labelling.imdb import BASICS_COLUMNS

N = "\\N"

#: tconst, titleType, primaryTitle, originalTitle, startYear, genres
TITLES = [
    ("tt0000001", "short", "Carmencita", "Carmencita", "1894", "Documentary,Short"),
    ("tt0091188", "movie", "Heat", "Heat", "1986", "Action,Thriller"),
    ("tt0113277", "movie", "Heat", "Heat", "1995", "Action,Crime,Drama"),
    ("tt9000001", "tvSeries", "Heat", "Heat", "2003", "Drama"),
    ("tt0211915", "movie", "Amélie", "Le fabuleux destin d'Amélie Poulain", "2001",
     "Comedy,Romance"),
    ("tt0245429", "movie", "Spirited Away", "千と千尋の神隠し", "2001",
     "Adventure,Animation,Family"),
    ("tt0083658", "movie", "Blade Runner", "Blade Runner", "1982", "Action,Drama,Sci-Fi"),
    ("tt1856101", "movie", "Blade Runner 2049", "Blade Runner 2049", "2017",
     "Action,Drama,Mystery"),
    ("tt0115964", "movie", "Crash", "Crash", "1996", "Drama,Thriller"),
    ("tt0375679", "movie", "Crash", "Crash", "2004", "Crime,Drama,Thriller"),
    ("tt0072856", "movie", "Death Race 2000", "Death Race 2000", "1975", "Action,Comedy,Sci-Fi"),
    ("tt0123865", "tvMovie", "Gia", "Gia", "1998", "Biography,Drama,Romance"),
    ("tt0077869", "movie", "The Lord of the Rings", "The Lord of the Rings", "1978",
     "Adventure,Animation,Drama"),
    ("tt0120737", "movie", "The Lord of the Rings: The Fellowship of the Ring",
     "The Lord of the Rings: The Fellowship of the Ring", "2001", "Action,Adventure,Drama"),
    ("tt7000001", "movie", "Untitled Film", "Untitled Film", N, N),
]

#: numVotes: Crash (2004) has many more votes than Crash (1996).
VOTES = {"tt0113277": 720000, "tt0091188": 4000, "tt0375679": 450000, "tt0115964": 70000}


def basics_line(tconst, kind, primary, original, year, genres):
    return "\t".join([tconst, kind, primary, original, "0", year, N, N, genres]) + "\n"


def write_basics(path, titles=TITLES):
    with gzip.open(path, "wt", encoding="utf-8", newline="\n") as stream:
        stream.write("\t".join(BASICS_COLUMNS) + "\n")
        for row in titles:
            stream.write(basics_line(*row))
    return str(path)


def write_ratings(path, votes=VOTES):
    with gzip.open(path, "wt", encoding="utf-8", newline="\n") as stream:
        stream.write("tconst\taverageRating\tnumVotes\n")
        for tconst, n in votes.items():
            stream.write("{}\t7.1\t{}\n".format(tconst, n))
    return str(path)
