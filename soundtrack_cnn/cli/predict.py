"""Commands that use a trained run on new audio: ``predict`` and ``export``."""
import json
import os
import sys

from ..errors import InputError
from ..inference.model import ENGINES
from ..scoring.pooling import POOLINGS

__all__ = ["register"]

#: Calibration methods (:data:`soundtrack_cnn.evaluation.calibration.METHODS`),
#: repeated here because ``predict`` must not import scikit-learn to build its
#: parser; a test keeps the two equal.
CALIBRATIONS = ("platt", "isotonic")


def _predict(args):
    # Nothing here imports Theano: the numpy engine answers in about a second.
    import tqdm
    from ..inference.model import load_model
    from ..inference.tagging import expand_inputs, tags_csv
    from ..reporting.timeline import timeline_stem, write_timeline
    from ..scoring.prediction import predict_file
    if args.top < 1:
        raise InputError("--top must be at least 1, got {}".format(args.top))
    paths, any_folder = expand_inputs(args.inputs)
    csv_path = args.csv or ("tags.csv" if any_folder else None)
    model = load_model(args.run, args.kind, engine=args.engine)
    calibration = None
    if args.calibrated:
        from ..evaluation.calibration import Calibration
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


def _export(args):
    from ..training.loading import export_weights, load_run
    export_weights(load_run(args.run, args.kind), args.output)
    print(args.output)


def register(commands):
    predict = commands.add_parser("predict", help="rank the tags of audio files or folders")
    predict.add_argument("run", help="a run folder or an .npz from 'export'")
    predict.add_argument("inputs", nargs="+", metavar="FILE|DIR",
                         help="audio files; folders are searched recursively")
    predict.add_argument("--top", type=int, default=5)
    predict.add_argument("--kind", default="ensemble", choices=["ensemble", "multilabel"])
    predict.add_argument("--json", action="store_true")
    predict.add_argument("--pooling", default="mean", choices=sorted(POOLINGS),
                         help="tile scores to track scores (mean: the study's)")
    predict.add_argument("--calibrated", choices=CALIBRATIONS,
                         help="rank calibrated probabilities (written by compare)")
    predict.add_argument("--csv", help="write path, top tags, scores and error per file here "
                                       "(default tags.csv when a folder is given)")
    predict.add_argument("--timeline", metavar="DIR",
                         help="write each file's per-tile genre scores (CSV, JSON, PNG) here")
    predict.add_argument("--engine", default="numpy", choices=ENGINES,
                         help="numpy (default, no Theano import) or the original Theano nets")
    predict.set_defaults(func=_predict)

    export = commands.add_parser("export", help="weights as .npz, loadable without pickle")
    export.add_argument("run")
    export.add_argument("output")
    export.add_argument("--kind", default="ensemble", choices=["ensemble", "multilabel"])
    export.set_defaults(func=_export)
