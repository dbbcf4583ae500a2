"""Commands on a trained run: ``evaluate``, ``report``, ``compare``; and ``reconstruct``."""

from ..files import printable
from ..inference.model import ENGINES
from .common import count, seed

__all__ = ["register"]


def _evaluate(args):
    from ..experiment.pipeline import evaluate_run, read_evaluation
    evaluate_run(args.run, engine=args.engine, probe=args.probe or ())
    print(printable(read_evaluation(args.run), keep_newlines=True))


def _report(args):
    from ..experiment.report import report_run
    print(printable(report_run(args.run, out=args.out)))


def _compare(args):
    from ..experiment.compare import compare_run, compare_runs
    if args.others:
        print(printable(compare_runs([args.run] + args.others, n_boot=args.bootstrap,
                                     seed=args.seed, probe=args.probe or ()),
                        keep_newlines=True))
        return
    print(printable(compare_run(args.run, n_boot=args.bootstrap, seed=args.seed,
                                embedding=args.embedding), keep_newlines=True))


def _reconstruct(args):
    from ..audio.reconstruct import reconstruct_file
    print(reconstruct_file(args.input, args.output, crossfade=args.crossfade))


def register(commands):
    evaluate = commands.add_parser("evaluate", help="metrics on the run's test tracks")
    evaluate.add_argument("run")
    evaluate.add_argument("--engine", choices=ENGINES,
                          help="what runs the nets (default: ONNX Runtime where installed, "
                               "else numpy; the same scores within 1e-5)")
    evaluate.add_argument("--probe", action="append", metavar="TRUNK",
                          help="also the linear probe of this trunk ('pretrained' or a "
                               "TRUNK.npz; repeatable); a fine-tuned run always gets its own")
    evaluate.set_defaults(func=_evaluate)

    report = commands.add_parser("report", help="figures and the prediction viewer "
                                 "(from the scores evaluate wrote)")
    report.add_argument("run")
    report.add_argument("--out")
    report.set_defaults(func=_report)

    compare = commands.add_parser("compare", help="the study's method beside its next steps, "
                                  "or several runs side by side, with bootstrap intervals")
    compare.add_argument("run")
    compare.add_argument("others", nargs="*", metavar="OTHER_RUN",
                         help="runs of the same collection and split: print every run's models "
                              "beside the classical baseline and the label prior instead")
    compare.add_argument("--bootstrap", type=count("resamples", high=100000), default=500,
                         help="resamples of the test tracks")
    compare.add_argument("--seed", type=seed, default=0)
    compare.add_argument("--embedding", default="scores", choices=["scores", "hidden6"],
                         help="what the GRU reads per tile")
    compare.add_argument("--probe", action="append", metavar="TRUNK",
                         help="with OTHER_RUN: also the linear probe of this trunk (repeatable); "
                              "every run's own trunk is probed anyway")
    compare.set_defaults(func=_compare)

    reconstruct = commands.add_parser("reconstruct", help="audio rebuilt from its MFCCs")
    reconstruct.add_argument("input")
    reconstruct.add_argument("output")
    reconstruct.add_argument("--crossfade", action="store_true")
    reconstruct.set_defaults(func=_reconstruct)
