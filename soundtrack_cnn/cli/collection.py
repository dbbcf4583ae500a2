"""Commands on the collection: ``corpus``, ``features``, ``store``, ``label``, ``collection``."""
import json
import sys

from ..collection.corpus import SIZES
from ..errors import InputError
from ..files import printable
from ..parallel.pool import STALL_SECONDS
from .common import Distinct, add_scheduler, cluster, count, n_jobs, seconds, seed

__all__ = ["register"]


def _corpus(args):
    from ..collection.corpus import generate_corpus
    print(printable(generate_corpus(args.out, size=args.size, seed=args.seed, n_jobs=args.jobs,
                                    progress=True)))


def _features(args):
    from ..audio.features import FeatureSettings, compression_figures
    from ..collection.extraction import extract
    if args.compression:
        print(json.dumps(compression_figures(FeatureSettings()), indent=1))
        return
    if not args.manifest or not args.out:
        raise InputError("features needs MANIFEST and --out STORE (or --compression)")
    from ..files import check_not_input
    check_not_input(args.out, [args.manifest])
    with cluster(args) as client:
        summary = extract(args.manifest, args.out, n_jobs=args.jobs, client=client,
                          stall_seconds=args.stall_timeout, progress=True,
                          labelled=not args.unlabelled, exclude_splits=args.exclude_split or ())
    print(printable(summary), file=sys.stderr, flush=True)
    if args.strict and summary.problems:
        raise InputError("{} file(s) could not be used (listed above)".format(len(summary.problems)))


def _check(args):
    from ..collection.store import check_store
    print(printable(check_store(args.store), keep_newlines=True))


def _compact(args):
    from ..collection.compaction import compact_store
    print(printable(compact_store(args.store), keep_newlines=True))


def _label(args):
    from ..labelling.folder import label_collection
    summary = label_collection(args.folder, args.imdb, args.out, ratings=args.ratings,
                               review=args.review, overrides=args.overrides, genres=args.genres,
                               min_tracks=args.min_tracks, tv_movies=args.tv_movies, verbose=True)
    print(printable(summary, keep_newlines=True))


def _collection(args):
    from ..reporting.collection_report import collection_report
    print(printable(collection_report(args.manifest, out=args.out, min_tracks=args.min_tracks,
                                      n_jobs=args.jobs)))


def register(commands):
    corpus = commands.add_parser("corpus", help="write the bundled synthetic corpus")
    corpus.add_argument("out")
    corpus.add_argument("--size", default="demo", choices=sorted(SIZES))
    corpus.add_argument("--seed", type=seed, default=0)
    corpus.add_argument("--jobs", type=n_jobs, default=-1,
                        help="processes writing audio (default -1: every core)")
    corpus.set_defaults(func=_corpus)

    features = commands.add_parser("features", help="extract MFCC tiles into a feature store")
    features.add_argument("manifest", nargs="?", help="a manifest CSV, or a folder of audio "
                          "files (unlabelled, for pretrain)")
    features.add_argument("--out")
    features.add_argument("--jobs", type=n_jobs, default=-1,
                          help="worker processes (default -1: every core; 1: this process)")
    features.add_argument("--stall-timeout", type=seconds(7 * 86400), default=STALL_SECONDS,
                          metavar="SECONDS", help="a worker using no CPU this long is killed "
                          "and its file retried (default %(default)g)")
    add_scheduler(features)
    features.add_argument("--strict", action="store_true",
                          help="exit with status 2 if any file was skipped")
    features.add_argument("--unlabelled", action="store_true",
                          help="accept rows without tags, and a manifest with only a path "
                          "column (a store to pretrain on; train refuses it)")
    features.add_argument("--exclude-split", action="append", choices=("train", "valid", "test"),
                          help="leave out the manifest rows of this split (repeatable)")
    features.add_argument("--compression", action="store_true",
                          help="print bytes per 10 s as PCM, spectrogram and MFCC tile")
    features.set_defaults(func=_features)

    store = commands.add_parser("store", help="maintain a feature store")
    store_commands = store.add_subparsers(dest="store_command", required=True)
    compact = store_commands.add_parser(
        "compact", help="rewrite the live tiles, reclaiming the space of dead ones")
    compact.add_argument("store")
    compact.set_defaults(func=_compact)
    check = store_commands.add_parser(
        "check", help="verify every chunk and checksum; name the damaged tracks (exit 2)")
    check.add_argument("store")
    check.set_defaults(func=_check)

    label = commands.add_parser("label", help="a folder of soundtracks -> manifest with IMDb "
                                "genres (and a review file)")
    label.add_argument("folder")
    label.add_argument("--imdb", required=True, help="IMDb's title.basics.tsv.gz")
    label.add_argument("--ratings", help="IMDb's title.ratings.tsv.gz (votes break ties)")
    label.add_argument("--out", required=True, help="the manifest CSV to write")
    label.add_argument("--review", help="review CSV (default: OUT with -review.csv)")
    label.add_argument("--overrides", help="CSV of corrections: folder,album,tconst,genres")
    label.add_argument("--genres", nargs="+", action=Distinct,
                       help="keep only these genres ('study': its ten)")
    label.add_argument("--min-tracks", type=count("tracks"), help="drop genres with fewer tracks")
    label.add_argument("--tv-movies", action="store_true", help="also match tvMovie titles")
    label.set_defaults(func=_label)

    collection = commands.add_parser("collection", help="one-page report of a collection "
                                     "before training")
    collection.add_argument("manifest")
    collection.add_argument("--out", help="output folder (default: MANIFEST's folder/collection)")
    collection.add_argument("--min-tracks", type=count("tracks"), default=20,
                            help="genres with fewer tracks are reported as too rare")
    collection.add_argument("--jobs", type=n_jobs, default=-1,
                            help="decoding processes (default -1: every core)")
    collection.set_defaults(func=_collection)
