"""The ``film`` command: a whole film (or an album of cues) -> cues, verdict, cue sheet, page."""
import sys

from ..files import printable
from ..film.verdict import CALIBRATED
from ..inference.model import ENGINES
from ..scoring.pooling import POOLINGS
from .common import Number, count, seconds, seed, share

__all__ = ["register"]

#: Longest cue or silence asked for: a day (longer, every film is one cue).
_DAY = 86400
#: A silence threshold: below full scale; -200 dB is below digital silence (-190 dB).
_SILENCE_DB = Number(float, "a level in dB relative to full-scale white noise, from -200 to "
                            "below 0", low=-200, below=0)


def _film(args):
    # The option types (cli.common) read the numbers with their units; analyse_film
    # checks every value again, and the files, for any caller.
    import os

    from ..film.analysis import analyse_film
    from ..film.novelty import REFERENCE_FILE
    reference = None
    if os.path.isdir(args.run) and not os.path.exists(os.path.join(args.run, REFERENCE_FILE)):
        # A run evaluated before references were kept: fitted from its store now, not
        # written (reading a run leaves it as it was).
        from ..experiment.tracksets import in_distribution_reference
        reference = in_distribution_reference(args.run).to_reference()
    analysis = analyse_film(args.run, args.inputs, out=args.out, min_cue=args.min_cue,
                            fps=args.fps, pooling=args.pooling, calibrated=args.calibrated,
                            min_share=args.min_share, silence_db=args.silence_db,
                            min_silence=args.min_silence, n_boot=args.bootstrap, seed=args.seed,
                            top=args.top, engine=args.engine, quantile=args.quantile,
                            reference=reference)
    verdict = analysis.verdict
    cues = sum(1 for s in analysis.segments if s.kind == "cue")
    print("{} cue(s), {:.0%} of the tiles like the training collection".format(
        cues, verdict["in_distribution_share"]))
    if verdict["abstained"]:
        print("no verdict: {}".format(printable(verdict["reason"])))
    for g in verdict["genres"][:args.top]:
        value = g["probability"] if g["probability"] is not None else g["score"]
        interval = "  [{:.3f}, {:.3f}]".format(*g["interval"]) if g["interval"] else ""
        print("{:<12} {:.3f}{}".format(printable(g["genre"]), value, interval))
    print("cues.csv, verdict.json and film.html in {} ({:.1f} s)".format(
        printable(args.out), analysis.seconds), file=sys.stderr)


def register(commands):
    film = commands.add_parser("film", help="a whole film or album: cues, genre verdict with "
                                            "evidence, cue sheet, page")
    film.add_argument("run", help="an evaluated run folder, or a model file of 'export' "
                                  "(.onnx, .npz): either carries what tells music like the "
                                  "training collection from the rest")
    film.add_argument("inputs", nargs="+", metavar="INPUT",
                      help="one long audio file, or several in order (a folder: its audio "
                           "files in name order), laid end to end")
    film.add_argument("--out", required=True, metavar="DIR",
                      help="where cues.csv, verdict.json and film.html go")
    film.add_argument("--min-cue", type=seconds(_DAY), default=20.0, metavar="S",
                      help="shortest cue in seconds (silences end cues anyway)")
    film.add_argument("--fps", type=Number(int, "a whole number of frames per second, from 1 to "
                                                "1000", low=1, high=1000), default=24, help="frame rate of the timecodes (whole "
                                                           "frames per second)")
    film.add_argument("--pooling", default="mean", choices=sorted(POOLINGS),
                      help="tile scores to the film's (mean: the study's)")
    film.add_argument("--calibrated", default="auto", choices=CALIBRATED,
                      help="probabilities from the run's calibration (auto: Platt if compare "
                           "wrote it)")
    film.add_argument("--min-share", type=share("the tiles"), default=0.1,
                      help="abstain when fewer of the tiles are music like the training "
                           "collection")
    film.add_argument("--silence-db", type=_SILENCE_DB, default=-70.0,
                      help="frames quieter than this (dB re full-scale white noise) are silent")
    film.add_argument("--min-silence", type=seconds(_DAY), default=2.0, metavar="S",
                      help="a silence this long ends a cue")
    film.add_argument("--bootstrap", type=count("resamples", high=100000), default=1000,
                      help="resamples of the segments")
    film.add_argument("--seed", type=seed, default=0)
    film.add_argument("--top", type=count("genres"), default=3,
                      help="genres printed and with provenance")
    film.add_argument("--quantile", type=share("the held-out music tiles", closed=False),
                      default=0.99,
                      help="share of held-out music tiles under the in-distribution threshold")
    film.add_argument("--engine", choices=ENGINES,
                      help="numpy (default: the smallest peak memory; an .onnx runs on onnx) "
                           "or as predict")
    film.set_defaults(func=_film)
