"""The ``soundtrack-cnn`` command line (also ``python -m soundtrack_cnn``).

Subcommands mirror the steps of the study::

    soundtrack-cnn run [--profile demo] [--run RUN] [--manifest CSV]   # everything
    soundtrack-cnn corpus OUT [--size demo]                            # bundled audio
    soundtrack-cnn features MANIFEST --out STORE [--jobs N] [--scheduler ADDRESS]
    soundtrack-cnn features --compression
    soundtrack-cnn train STORE --out RUN [--genres ...] [--max-epochs N] [--seed S] [--scheduler ADDRESS]
    soundtrack-cnn predict RUN FILE... [--top K] [--json]
    soundtrack-cnn evaluate RUN
    soundtrack-cnn report RUN [--out DIR]
    soundtrack-cnn reconstruct IN OUT [--crossfade]
    soundtrack-cnn export RUN OUT.npz [--kind ensemble]

Bad input ends with one line naming the file and exit status 2; Ctrl-C ends
with status 130 and a note that rerunning resumes.
"""
import argparse
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
    with _cluster(args) as client:
        run_experiment(args.run or default_run_dir(args.profile), profile=args.profile,
                       manifest=args.manifest, data_dir=args.data_dir, corpus=args.corpus,
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


def _train(args):
    from .pipeline import prepare_run, train_run
    from .profiles import get_profile
    prepare_run(args.out, args.store, args.profile, genres=args.genres, seed=args.seed)
    params = dict(get_profile(args.profile).net_params)
    if args.max_epochs is not None:
        params["epochs"] = args.max_epochs
    with _cluster(args) as client:
        train_run(args.out, net_params=params, client=client)


def _predict(args):
    from .loading import load_run
    model = load_run(args.run, args.kind)
    predictions = model.predict_tracks(args.files, k=args.top)
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], indent=1))
    else:
        for p in predictions:
            ranked = p.error or "  ".join("{} {:.2f}".format(g, s) for g, s in p.top)
            print("{}: {}".format(p.path, ranked))
    if any(p.error for p in predictions):
        sys.exit(2)


def _evaluate(args):
    import os
    from .pipeline import evaluate_run
    evaluate_run(args.run)
    print(open(os.path.join(args.run, "evaluation.md")).read())


def _report(args):
    from .report import report_run
    print(report_run(args.run, out=args.out))


def _reconstruct(args):
    from .reconstruct import reconstruct_file
    print(reconstruct_file(args.input, args.output, crossfade=args.crossfade))


def _export(args):
    from .loading import export_weights, load_run
    export_weights(load_run(args.run, args.kind), args.output)
    print(args.output)


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

    train = commands.add_parser("train", help="train the specialists and the single-net baseline")
    train.add_argument("store")
    train.add_argument("--out", required=True)
    train.add_argument("--profile", default="study", choices=["demo", "study", "small"])
    train.add_argument("--genres", nargs="+")
    train.add_argument("--max-epochs", type=int)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                       help="a Dask scheduler (tcp://host:8786) to run on; "
                            "default $DASK_SCHEDULER_ADDRESS, else this process")
    train.set_defaults(func=_train)

    predict = commands.add_parser("predict", help="rank the tags of audio files")
    predict.add_argument("run")
    predict.add_argument("files", nargs="+")
    predict.add_argument("--top", type=int, default=5)
    predict.add_argument("--kind", default="ensemble", choices=["ensemble", "multilabel"])
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(func=_predict)

    evaluate = commands.add_parser("evaluate", help="metrics on the run's test tracks")
    evaluate.add_argument("run")
    evaluate.set_defaults(func=_evaluate)

    report = commands.add_parser("report", help="figures and the prediction viewer")
    report.add_argument("run")
    report.add_argument("--out")
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
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except InputError as error:
        print("soundtrack-cnn: error: {}".format(error), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\nsoundtrack-cnn: interrupted; finished work is saved, rerun the same command "
              "to resume.", file=sys.stderr)
        sys.exit(130)
