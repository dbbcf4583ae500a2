"""The ``soundtrack-cnn`` command line (also ``python -m soundtrack_cnn``).

Subcommands mirror the steps of the study::

    soundtrack-cnn run [--profile demo] [--run RUN] [--manifest CSV]   # everything
    soundtrack-cnn corpus OUT [--size demo]                            # bundled audio
    soundtrack-cnn features MANIFEST --out STORE [--jobs N] [--scheduler ADDRESS]
    soundtrack-cnn features --compression
    soundtrack-cnn store compact STORE
    soundtrack-cnn train STORE --out RUN [--genres ...] [--max-epochs N] [--seed S] [-v]
                         [--scheduler ADDRESS]
    soundtrack-cnn predict RUN FILE|DIR... [--top K] [--json] [--csv OUT] [--timeline DIR]
                           [--engine numpy|theano] [--pooling mean|max|lme]
                           [--calibrated platt|isotonic]
    soundtrack-cnn evaluate RUN [--engine numpy|theano]
    soundtrack-cnn report RUN [--out DIR] [--engine numpy|theano]
    soundtrack-cnn reconstruct IN OUT [--crossfade]
    soundtrack-cnn export RUN OUT.npz [--kind ensemble]
    soundtrack-cnn label DIR --imdb BASICS.tsv.gz --out CSV [--ratings ...] [--overrides CSV]
    soundtrack-cnn collection MANIFEST [--out DIR] [--min-tracks N]
    soundtrack-cnn compare RUN [--bootstrap N] [--seed S] [--embedding scores|hidden6]

Bad input ends with one line naming the file and exit status 2; Ctrl-C ends
with status 130 and a note that rerunning resumes.
"""
import argparse
import errno
import json
import os
import sys

from .errors import InputError

__all__ = ["main"]


def _cluster(args):
    """A Dask client for ``--scheduler`` (or $DASK_SCHEDULER_ADDRESS), or a null context."""
    import contextlib
    if not args.scheduler:
        return contextlib.nullcontext()
    from .distributed import session
    return session(args.scheduler)


def _run(args):
    from .pipeline import run_experiment
    from .profiles import default_run_dir
    from .runfolder import run_lock
    run_dir = args.run or default_run_dir(args.profile)
    with run_lock(run_dir), _cluster(args) as client:
        run_experiment(run_dir, profile=args.profile,
                       manifest=args.manifest, data_dir=args.data_dir, corpus=args.corpus,
                       equal_updates=args.equal_updates or None,
                       seed=args.seed,
                       jobs=args.jobs, genres=args.genres, client=client)


def _corpus(args):
    from .corpus import generate_corpus
    print(generate_corpus(args.out, size=args.size, seed=args.seed))


def _features(args):
    from .extraction import extract
    from .features import FeatureSettings, compression_figures
    if args.compression:
        print(json.dumps(compression_figures(FeatureSettings()), indent=1))
        return
    if not args.manifest or not args.out:
        raise InputError("features needs MANIFEST and --out STORE (or --compression)")
    with _cluster(args) as client:
        summary = extract(args.manifest, args.out, jobs=args.jobs, client=client)
    if args.strict and summary.problems:
        raise InputError("{} file(s) could not be used (listed above)".format(len(summary.problems)))


def _compact(args):
    from .compaction import compact_store
    print(compact_store(args.store))


def _train(args):
    from .pipeline import prepare_run, train_run
    from .profiles import get_profile
    from .runfolder import run_lock
    with run_lock(args.out):
        prepare_run(args.out, args.store, args.profile, genres=args.genres, seed=args.seed)
        params = dict(get_profile(args.profile).net_params)
        if args.max_epochs is not None:
            params["epochs"] = args.max_epochs
        with _cluster(args) as client:
            train_run(args.out, net_params=params, verbose=1 + args.verbose, client=client)


def _predict(args):
    # Nothing here imports Theano: the numpy engine answers in about a second.
    import tqdm
    from .inference import load_model
    from .prediction import predict_file
    from .tagging import expand_inputs, tags_csv
    from .timeline import timeline_stem, write_timeline
    if args.top < 1:
        raise InputError("--top must be at least 1, got {}".format(args.top))
    paths, any_folder = expand_inputs(args.inputs)
    csv_path = args.csv or ("tags.csv" if any_folder else None)
    model = load_model(args.run, args.kind, engine=args.engine)
    calibration = None
    if args.calibrated:
        from .calibration import Calibration
        if args.pooling != "mean":
            raise InputError("--calibrated maps mean-pooled scores (as fitted by compare); "
                             "drop --pooling {}".format(args.pooling))
        calibration = Calibration.load(args.run, args.calibrated)
    if args.timeline:
        os.makedirs(args.timeline, exist_ok=True)
    predictions, stems = [], set()
    for path in tqdm.tqdm(paths, unit="file", file=sys.stderr,
                          disable=csv_path is None or not sys.stderr.isatty()):
        prediction = predict_file(model, path, k=args.top, pooling=args.pooling,
                                  calibration=calibration)
        if args.timeline and not prediction.error:
            write_timeline(args.timeline, prediction, model.genres_, model.settings_,
                           timeline_stem(path, stems))
        prediction.tile_scores = None  # a collection's tiles need not stay in memory
        predictions.append(prediction)
    failed = sum(1 for p in predictions if p.error)
    if csv_path:
        tags_csv(csv_path, predictions, args.top)
        print("{}: {} file(s) tagged, {} could not be read".format(
            csv_path, len(predictions) - failed, failed), file=sys.stderr if args.json else None)
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], indent=1))
    elif not csv_path:
        for p in predictions:
            # An error already names its file.
            print(p.error or "{}: {}".format(
                p.path, "  ".join("{} {:.2f}".format(g, s) for g, s in p.top)))
    if args.timeline:
        print("timelines of {} file(s) in {}".format(len(stems), args.timeline), file=sys.stderr)
    if failed:
        sys.exit(2)


def _evaluate(args):
    from .files import check_writable
    from .pipeline import evaluate_run
    check_writable(args.run)
    evaluate_run(args.run, engine=args.engine)
    print(open(os.path.join(args.run, "evaluation.md")).read())


def _report(args):
    from .files import check_writable
    from .report import report_run
    check_writable(args.out or os.path.join(args.run, "report"))
    print(report_run(args.run, out=args.out, engine=args.engine))


def _reconstruct(args):
    from .reconstruct import reconstruct_file
    print(reconstruct_file(args.input, args.output, crossfade=args.crossfade))


def _export(args):
    from .loading import export_weights, load_run
    export_weights(load_run(args.run, args.kind), args.output)
    print(args.output)


def _label(args):
    from .labelling import label_collection
    print(label_collection(args.folder, args.imdb, args.out, ratings=args.ratings,
                           review=args.review, overrides=args.overrides, genres=args.genres,
                           min_tracks=args.min_tracks, tv_movies=args.tv_movies))


def _collection(args):
    from .collection import collection_report
    print(collection_report(args.manifest, out=args.out, min_tracks=args.min_tracks,
                            jobs=args.jobs))


def _compare(args):
    from .compare import compare_run
    print(compare_run(args.run, n_boot=args.bootstrap, seed=args.seed, embedding=args.embedding))


#: What to do about the file-system errors a long run meets.
_ADVICE = {
    errno.ENOSPC: "free some space, then rerun the same command to resume",
    errno.EDQUOT: "free some space, then rerun the same command to resume",
    errno.EROFS: "give a writable folder",
    errno.EACCES: "give a folder you may write to",
    errno.EPERM: "give a folder you may write to",
    errno.EMFILE: "raise the open-file limit (ulimit -n), then rerun the same command",
    errno.ENFILE: "raise the open-file limit (ulimit -n), then rerun the same command",
}


def describe_os_error(error):
    """One line for an :class:`OSError`: the path, the cause and what to do.

    Examples
    --------
    >>> describe_os_error(OSError(errno.ENOSPC, "No space left on device", "runs/x.pkl"))
    'runs/x.pkl: No space left on device; free some space, then rerun the same command to resume'
    """
    line = "{}: {}".format(error.filename, error.strerror) if error.filename else \
        (error.strerror or str(error))
    advice = _ADVICE.get(error.errno)
    return "{}; {}".format(line, advice) if advice else line


def build_parser():
    parser = argparse.ArgumentParser(prog="soundtrack-cnn", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="the whole study: corpus, features, training, report")
    run.add_argument("--profile", default="demo", choices=["demo", "study", "small"])
    run.add_argument("--run", help="output folder (default runs/PROFILE)")
    run.add_argument("--manifest", help="your own collection (CSV path,tags[,track_id,split])")
    run.add_argument("--data-dir", help="where the bundled corpus is generated")
    run.add_argument("--corpus", choices=["small", "demo", "large"],
                     help="size of the bundled corpus (default: the profile's)")
    run.add_argument("--equal-updates", action="store_true",
                     help="also train the single net with as many updates as all specialists")
    run.add_argument("--genres", nargs="+", help="explicit vocabulary")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--jobs", type=int)
    run.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                     help="a Dask scheduler (tcp://host:8786) to run on; "
                          "default $DASK_SCHEDULER_ADDRESS, else this process")
    run.set_defaults(func=_run)

    corpus = commands.add_parser("corpus", help="write the bundled synthetic corpus")
    corpus.add_argument("out")
    corpus.add_argument("--size", default="demo", choices=["small", "demo", "large"])
    corpus.add_argument("--seed", type=int, default=0)
    corpus.set_defaults(func=_corpus)

    features = commands.add_parser("features", help="extract MFCC tiles into a feature store")
    features.add_argument("manifest", nargs="?")
    features.add_argument("--out")
    features.add_argument("--jobs", type=int)
    features.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                          help="a Dask scheduler (tcp://host:8786) to run on; "
                               "default $DASK_SCHEDULER_ADDRESS, else this process")
    features.add_argument("--strict", action="store_true",
                          help="exit with status 2 if any file was skipped")
    features.add_argument("--compression", action="store_true",
                          help="print bytes per 10 s as PCM, spectrogram and MFCC tile")
    features.set_defaults(func=_features)

    store = commands.add_parser("store", help="maintain a feature store")
    store_commands = store.add_subparsers(dest="store_command", required=True)
    compact = store_commands.add_parser(
        "compact", help="rewrite the live tiles, reclaiming the space of dead ones")
    compact.add_argument("store")
    compact.set_defaults(func=_compact)

    train = commands.add_parser("train", help="train the specialists and the single-net baseline")
    train.add_argument("store")
    train.add_argument("--out", required=True)
    train.add_argument("--profile", default="demo", choices=["demo", "study", "small"])
    train.add_argument("--genres", nargs="+")
    train.add_argument("--max-epochs", type=int)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("-v", "--verbose", action="count", default=0,
                       help="also print each net's layer table and a line per epoch")
    train.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                       help="a Dask scheduler (tcp://host:8786) to run on; "
                            "default $DASK_SCHEDULER_ADDRESS, else this process")
    train.set_defaults(func=_train)

    predict = commands.add_parser("predict", help="rank the tags of audio files or folders")
    predict.add_argument("run", help="a run folder or an .npz from 'export'")
    predict.add_argument("inputs", nargs="+", metavar="FILE|DIR",
                         help="audio files; folders are searched recursively")
    predict.add_argument("--top", type=int, default=5)
    predict.add_argument("--kind", default="ensemble", choices=["ensemble", "multilabel"])
    predict.add_argument("--json", action="store_true")
    predict.add_argument("--pooling", default="mean", choices=["mean", "max", "lme"],
                         help="tile scores to track scores (mean: the study's)")
    predict.add_argument("--calibrated", choices=["platt", "isotonic"],
                         help="rank calibrated probabilities (written by compare)")
    predict.add_argument("--csv", help="write path, top tags, scores and error per file here "
                                       "(default tags.csv when a folder is given)")
    predict.add_argument("--timeline", metavar="DIR",
                         help="write each file's per-tile genre scores (CSV, JSON, PNG) here")
    predict.add_argument("--engine", default="numpy", choices=["numpy", "theano"],
                         help="numpy (default, no Theano import) or the original Theano nets")
    predict.set_defaults(func=_predict)

    evaluate = commands.add_parser("evaluate", help="metrics on the run's test tracks")
    evaluate.add_argument("run")
    evaluate.add_argument("--engine", default="numpy", choices=["numpy", "theano"])
    evaluate.set_defaults(func=_evaluate)

    report = commands.add_parser("report", help="figures and the prediction viewer")
    report.add_argument("run")
    report.add_argument("--out")
    report.add_argument("--engine", default="numpy", choices=["numpy", "theano"])
    report.set_defaults(func=_report)

    reconstruct = commands.add_parser("reconstruct", help="audio rebuilt from its MFCCs")
    reconstruct.add_argument("input")
    reconstruct.add_argument("output")
    reconstruct.add_argument("--crossfade", action="store_true")
    reconstruct.set_defaults(func=_reconstruct)

    export = commands.add_parser("export", help="weights as .npz, loadable without pickle")
    export.add_argument("run")
    export.add_argument("output")
    export.add_argument("--kind", default="ensemble", choices=["ensemble", "multilabel"])
    export.set_defaults(func=_export)

    label = commands.add_parser("label", help="a folder of soundtracks -> manifest with IMDb "
                                "genres (and a review file)")
    label.add_argument("folder")
    label.add_argument("--imdb", required=True, help="IMDb's title.basics.tsv.gz")
    label.add_argument("--ratings", help="IMDb's title.ratings.tsv.gz (votes break ties)")
    label.add_argument("--out", required=True, help="the manifest CSV to write")
    label.add_argument("--review", help="review CSV (default: OUT with -review.csv)")
    label.add_argument("--overrides", help="CSV of corrections: folder,album,tconst,genres")
    label.add_argument("--genres", nargs="+", help="keep only these genres ('study': its ten)")
    label.add_argument("--min-tracks", type=int, help="drop genres with fewer tracks")
    label.add_argument("--tv-movies", action="store_true", help="also match tvMovie titles")
    label.set_defaults(func=_label)

    collection = commands.add_parser("collection", help="one-page report of a collection "
                                     "before training")
    collection.add_argument("manifest")
    collection.add_argument("--out", help="output folder (default: MANIFEST's folder/collection)")
    collection.add_argument("--min-tracks", type=int, default=20,
                            help="genres with fewer tracks are reported as too rare")
    collection.add_argument("--jobs", type=int)
    collection.set_defaults(func=_collection)

    compare = commands.add_parser("compare", help="the study's method beside its next steps, "
                                  "with bootstrap intervals")
    compare.add_argument("run")
    compare.add_argument("--bootstrap", type=int, default=500, help="resamples of the test tracks")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--embedding", default="scores", choices=["scores", "hidden6"],
                         help="what the GRU reads per tile")
    compare.set_defaults(func=_compare)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except InputError as error:
        print("soundtrack-cnn: error: {}".format(error), file=sys.stderr)
        sys.exit(2)
    except OSError as error:
        # A full disk, a read-only or forbidden folder, too many open files:
        # one line naming the path; whatever was written before stays valid.
        print("soundtrack-cnn: error: {}".format(describe_os_error(error)), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\nsoundtrack-cnn: interrupted; finished work is saved, rerun the same command "
              "to resume.", file=sys.stderr)
        sys.exit(130)
