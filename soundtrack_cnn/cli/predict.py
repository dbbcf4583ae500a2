"""Commands that use a trained run on new audio: ``predict``, ``export`` and ``upgrade``."""
import json
import os
import sys

from ..beyond.options import CALIBRATIONS
from ..inference.model import ENGINES
from ..scoring.pooling import POOLINGS
from ..training.modelfiles import KINDS
from .common import count, n_jobs

__all__ = ["register"]


def _predict(args):
    # Nothing here imports Theano: the numpy and ONNX engines answer in about a second.
    import tqdm

    from ..files import make_folder, printable
    from ..inference.model import describe_engine, load_model
    from ..inference.batch import check_csv, expand_inputs, predict_collection
    from ..reporting.timeline import timeline_stem, write_timeline
    from ..scoring.prediction import predict_file
    paths, any_folder = expand_inputs(args.inputs)
    csv_path = args.csv or ("tags.csv" if any_folder else None)
    if csv_path:
        check_csv(csv_path, paths)  # before the model loads: a bad --csv fails at once
    model = load_model(args.run, args.kind, engine=args.engine, n_jobs=args.jobs)
    print("soundtrack-cnn: {}".format(printable(describe_engine(model))), file=sys.stderr)
    calibration = None
    if args.calibrated:
        from ..beyond.calibration import Calibration
        calibration = Calibration.load(args.run, args.calibrated, genres=model.genres_)
    stems = set()

    def timeline(prediction):
        if args.timeline and not prediction.error:
            write_timeline(args.timeline, prediction, model.genres_, model.settings_,
                           timeline_stem(prediction.path, stems))

    if args.timeline:
        make_folder(args.timeline)
    if csv_path:
        def progress(items, total):
            return tqdm.tqdm(items, total=total, unit="file", file=sys.stderr,
                             disable=not sys.stderr.isatty())
        summary = predict_collection(model, paths, csv_path, k=args.top, pooling=args.pooling,
                                 calibration=calibration, n_jobs=args.jobs,
                                 on_prediction=timeline, progress=progress)
        print(summary.describe(csv_path), file=sys.stderr if args.json else None)
        if args.json:
            print(_json(_csv_predictions(csv_path, paths, args.top)))
        failed = summary.failed
    else:
        predictions = []
        for path in paths:
            prediction = predict_file(model, path, k=args.top, pooling=args.pooling,
                                      calibration=calibration)
            timeline(prediction)
            prediction.tile_scores = None
            predictions.append(prediction)
        if args.json:
            print(_json([p.to_dict() for p in predictions]))
        for p in [] if args.json else predictions:
            # An error already names its file.
            print(printable(p.error or "{}: {}".format(
                p.path, "  ".join("{} {:.2f}".format(g, s) for g, s in p.top))))
        failed = sum(1 for p in predictions if p.error)
    if args.timeline:
        print("timelines of {} file(s) in {}".format(len(stems), printable(args.timeline)),
              file=sys.stderr)
    if failed:
        sys.exit(2)


def _json(value):
    """JSON text, always valid: a non-finite number (never a score; see LoadedModel) as null."""
    from ..files import json_ready
    return json.dumps(json_ready(value), indent=1, allow_nan=False)


def _csv_predictions(csv_path, paths, k):
    """The JSON of ``--json`` for the files of this run, from the CSV (rows of earlier runs too)."""
    from ..files import same_file_key
    from ..inference.batch import distinct_files, read_tags
    # The CSV may name a file as an earlier run did (x for ./x): rows are found by file.
    rows = {same_file_key(path): row for path, row in read_tags(csv_path, k).items()}
    found = []
    for path in distinct_files(paths):
        row = rows[same_file_key(path)]
        top = [[row["tag_{}".format(rank)], float(row["score_{}".format(rank)])]
               for rank in range(1, k + 1) if row["tag_{}".format(rank)]]
        found.append({"path": path, "top": top, "error": row["error"] or None})
    return found


def _export(args):
    from ..experiment.export import export_model
    from ..files import printable
    print(printable(export_model(args.run, args.output, kind=args.kind)))


def _upgrade(args):
    from ..training.loading import upgrade_run
    kinds = [kind for kind in KINDS if os.path.isfile(os.path.join(args.run, kind + ".json"))]
    # A folder with neither model: upgrade_run says what is missing (or that it is no folder).
    for kind in kinds or KINDS[:1]:
        print(upgrade_run(args.run, kind, trust=args.trust_pickles))


def register(commands):
    predict = commands.add_parser("predict", help="rank the tags of audio files or folders")
    predict.add_argument("run", help="a run folder, or an .onnx or .npz from 'export'")
    predict.add_argument("inputs", nargs="+", metavar="FILE|DIR",
                         help="audio files; folders are searched recursively")
    predict.add_argument("--top", type=count("tags"), default=5)
    predict.add_argument("--kind", default="ensemble", choices=KINDS)
    predict.add_argument("--json", action="store_true")
    predict.add_argument("--pooling", default="mean", choices=sorted(POOLINGS),
                         help="tile scores to track scores (mean: the study's)")
    predict.add_argument("--calibrated", choices=CALIBRATIONS,
                         help="rank calibrated probabilities (written by compare)")
    predict.add_argument("--csv", help="write path, top tags, scores and error per file here "
                                       "(default tags.csv when a folder is given); a rerun "
                                       "skips the files already tagged in it")
    predict.add_argument("--timeline", metavar="DIR",
                         help="write each file's per-tile genre scores (CSV, JSON, PNG) here")
    predict.add_argument("--engine", choices=ENGINES,
                         help="onnx (ONNX Runtime: the default where it is installed), numpy "
                              "(the default otherwise) or the original Theano nets")
    predict.add_argument("--jobs", type=n_jobs, default=-1,
                         help="threads that score and processes that decode a collection "
                              "(-1: every core); scores are identical for a given value")
    predict.set_defaults(func=_predict)

    export = commands.add_parser("export", help="the model as .onnx (ONNX Runtime, any language) "
                                                "or .npz (plain arrays), loadable without pickle")
    export.add_argument("run")
    export.add_argument("output", help="OUT.onnx or OUT.npz")
    export.add_argument("--kind", default="ensemble", choices=KINDS)
    export.set_defaults(func=_export)

    upgrade = commands.add_parser("upgrade", help="give a run trained by an older version its "
                                                  "weights file (the one command that writes "
                                                  "into a trained run)")
    upgrade.add_argument("run")
    upgrade.add_argument("--trust-pickles", action="store_true",
                         help="read (and sign as yours) pickles this user did not write: a "
                              "pickle runs code, so only for a run you trust")
    upgrade.set_defaults(func=_upgrade)
