"""Commands that use a trained run on new audio: ``predict``, ``export`` and ``upgrade``."""
import json
import os
import sys

from ..errors import InputError
from ..inference.model import ENGINES
from ..scoring.pooling import POOLINGS
from .common import n_jobs, positive_int

__all__ = ["register"]

#: Calibration methods (:data:`soundtrack_cnn.beyond.calibration.METHODS`),
#: repeated here because ``predict`` must not import scikit-learn to build its
#: parser; a test keeps the two equal.
CALIBRATIONS = ("platt", "isotonic")
#: Model kinds of a run folder.
KINDS = ("ensemble", "multilabel")


def _predict(args):
    # Nothing here imports Theano: the numpy and ONNX engines answer in about a second.
    import tqdm

    from ..inference.model import describe_engine, load_model
    from ..inference.tagging import expand_inputs, printable, tag_collection
    from ..reporting.timeline import timeline_stem, write_timeline
    from ..scoring.prediction import predict_file
    paths, any_folder = expand_inputs(args.inputs)
    csv_path = args.csv or ("tags.csv" if any_folder else None)
    model = load_model(args.run, args.kind, engine=args.engine, n_jobs=args.jobs)
    print("soundtrack-cnn: {}".format(describe_engine(model)), file=sys.stderr)
    calibration = None
    if args.calibrated:
        from ..beyond.calibration import Calibration
        if args.pooling != "mean":
            raise InputError("--calibrated maps mean-pooled scores (as fitted by compare); "
                             "drop --pooling {}".format(args.pooling))
        calibration = Calibration.load(args.run, args.calibrated)
    stems = set()

    def timeline(prediction):
        if args.timeline and not prediction.error:
            write_timeline(args.timeline, prediction, model.genres_, model.settings_,
                           timeline_stem(prediction.path, stems))

    if args.timeline:
        os.makedirs(args.timeline, exist_ok=True)
    if csv_path:
        def progress(items, total):
            return tqdm.tqdm(items, total=total, unit="file", file=sys.stderr,
                             disable=not sys.stderr.isatty())
        summary = tag_collection(model, paths, csv_path, k=args.top, pooling=args.pooling,
                                 calibration=calibration, n_jobs=args.jobs,
                                 on_prediction=timeline, progress=progress)
        print(summary.describe(csv_path), file=sys.stderr if args.json else None)
        if args.json:
            print(json.dumps(_csv_predictions(csv_path, paths, args.top), indent=1))
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
            print(json.dumps([p.to_dict() for p in predictions], indent=1))
        for p in [] if args.json else predictions:
            # An error already names its file.
            print(printable(p.error or "{}: {}".format(
                p.path, "  ".join("{} {:.2f}".format(g, s) for g, s in p.top))))
        failed = sum(1 for p in predictions if p.error)
    if args.timeline:
        print("timelines of {} file(s) in {}".format(len(stems), args.timeline), file=sys.stderr)
    if failed:
        sys.exit(2)


def _csv_predictions(csv_path, paths, k):
    """The JSON of ``--json`` for the files of this run, from the CSV (rows of earlier runs too)."""
    from ..inference.tagging import read_tags
    rows = read_tags(csv_path, k)
    found = []
    for path in dict.fromkeys(paths):
        row = rows[path]
        top = [[row[i], float(row[i + 1])] for i in range(1, 2 * k, 2) if row[i]]
        found.append({"path": path, "top": top, "error": row[-1] or None})
    return found


def _export(args):
    # From the run's weights file: no pickle, no Theano.
    from ..files import write_bytes
    from ..inference.model import read_model
    from ..inference.onnx_export import export_onnx
    from ..training.modelfiles import pack_weights
    if not args.output.endswith((".onnx", ".npz")):
        raise InputError("{}: export writes .onnx (ONNX Runtime, any language) or .npz (numpy "
                         "arrays): name the file so".format(args.output))
    metadata, params = read_model(args.run, args.kind)
    if args.output.endswith(".onnx"):
        export_onnx(metadata, params, args.output)
    else:
        write_bytes(args.output, pack_weights(metadata, params))
    print(args.output)


def _upgrade(args):
    from ..training.loading import upgrade_run
    for kind in KINDS:
        if os.path.exists(os.path.join(args.run, kind + ".json")):
            print(upgrade_run(args.run, kind))


def register(commands):
    predict = commands.add_parser("predict", help="rank the tags of audio files or folders")
    predict.add_argument("run", help="a run folder, or an .onnx or .npz from 'export'")
    predict.add_argument("inputs", nargs="+", metavar="FILE|DIR",
                         help="audio files; folders are searched recursively")
    predict.add_argument("--top", type=positive_int, default=5)
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
    upgrade.set_defaults(func=_upgrade)
