"""The ``film`` command: a whole film (or an album of cues) -> cues, verdict, cue sheet, page."""
import sys

from ..film.verdict import CALIBRATED
from ..inference.model import ENGINES
from ..scoring.pooling import POOLINGS

__all__ = ["register"]


def _film(args):
    # analyse_film checks every value (the command line only parses them).
    from ..film.analysis import analyse_film
    analysis = analyse_film(args.run, args.inputs, out=args.out, min_cue=args.min_cue,
                            fps=args.fps, pooling=args.pooling, calibrated=args.calibrated,
                            min_share=args.min_share, silence_db=args.silence_db,
                            min_silence=args.min_silence, n_boot=args.bootstrap, seed=args.seed,
                            top=args.top, engine=args.engine, quantile=args.quantile)
    verdict = analysis.verdict
    cues = sum(1 for s in analysis.segments if s.kind == "cue")
    print("{} cue(s), {:.0%} of the tiles like the training collection".format(
        cues, verdict["in_distribution_share"]))
    if verdict["abstained"]:
        print("no verdict: {}".format(verdict["reason"]))
    for g in verdict["genres"][:args.top]:
        value = g["probability"] if g["probability"] is not None else g["score"]
        interval = "  [{:.3f}, {:.3f}]".format(*g["interval"]) if g["interval"] else ""
        print("{:<12} {:.3f}{}".format(g["genre"], value, interval))
    print("cues.csv, verdict.json and film.html in {} ({:.1f} s)".format(
        args.out, analysis.seconds), file=sys.stderr)


def register(commands):
    film = commands.add_parser("film", help="a whole film or album: cues, genre verdict with "
                                            "evidence, cue sheet, page")
    film.add_argument("run", help="a run folder (its feature store calibrates the "
                                  "in-distribution flag)")
    film.add_argument("inputs", nargs="+", metavar="INPUT",
                      help="one long audio file, or several in order (a folder: its audio "
                           "files in name order), laid end to end")
    film.add_argument("--out", required=True, metavar="DIR",
                      help="where cues.csv, verdict.json and film.html go")
    film.add_argument("--min-cue", type=float, default=20.0, metavar="S",
                      help="shortest cue in seconds (silences end cues anyway)")
    film.add_argument("--fps", type=float, default=24, help="frame rate of the timecodes (whole "
                                                           "frames per second)")
    film.add_argument("--pooling", default="mean", choices=sorted(POOLINGS),
                      help="tile scores to the film's (mean: the study's)")
    film.add_argument("--calibrated", default="auto", choices=CALIBRATED,
                      help="probabilities from the run's calibration (auto: Platt if compare "
                           "wrote it)")
    film.add_argument("--min-share", type=float, default=0.1,
                      help="abstain when fewer of the tiles are music like the training "
                           "collection")
    film.add_argument("--silence-db", type=float, default=-70.0,
                      help="frames quieter than this (dB re full-scale white noise) are silent")
    film.add_argument("--min-silence", type=float, default=2.0, metavar="S",
                      help="a silence this long ends a cue")
    film.add_argument("--bootstrap", type=int, default=1000, help="resamples of the segments")
    film.add_argument("--seed", type=int, default=0)
    film.add_argument("--top", type=int, default=3, help="genres printed and with provenance")
    film.add_argument("--quantile", type=float, default=0.99,
                      help="share of held-out music tiles under the in-distribution threshold")
    film.add_argument("--engine", default="numpy", choices=ENGINES,
                      help="numpy (default: the smallest peak memory) or as predict")
    film.set_defaults(func=_film)
