"""The ``soundtrack-cnn`` command line (also ``python -m soundtrack_cnn``).

Subcommands mirror the steps of the study::

    soundtrack-cnn run [--profile demo] [--run RUN] [--manifest CSV]   # everything
    soundtrack-cnn corpus OUT [--size demo] [--jobs N]                 # bundled audio
    soundtrack-cnn features MANIFEST|DIR --out STORE [--jobs N] [--stall-timeout SECONDS]
                            [--scheduler ADDRESS] [--strict] [--unlabelled] [--exclude-split test]
    soundtrack-cnn features --compression
    soundtrack-cnn store compact STORE
    soundtrack-cnn store check STORE
    soundtrack-cnn train STORE --out RUN [--genres ...] [--max-epochs N] [--seed S] [-v]
                         [--scheduler ADDRESS] [--init pretrained|TRUNK.npz [--freeze-conv]]
    soundtrack-cnn pretrain STORE [STORE...] --out TRUNK.npz [--epochs N] [--batch PAIRS]
                            [--keep-test] [--seed S]
    soundtrack-cnn predict RUN|MODEL.onnx|MODEL.npz FILE|DIR... [--top K] [--json] [--csv OUT]
                           [--timeline DIR] [--engine numpy|onnx|theano] [--jobs N]
                           [--pooling mean|max|lme] [--calibrated platt|isotonic]
    soundtrack-cnn film RUN INPUT... --out DIR [--min-cue SECONDS] [--fps 24]
    soundtrack-cnn evaluate RUN [--engine numpy|onnx|theano]
    soundtrack-cnn report RUN [--out DIR]
    soundtrack-cnn reconstruct IN OUT [--crossfade]
    soundtrack-cnn export RUN OUT.onnx|OUT.npz [--kind ensemble|multilabel]
    soundtrack-cnn upgrade RUN
    soundtrack-cnn label DIR --imdb BASICS.tsv.gz --out CSV [--ratings ...] [--overrides CSV]
    soundtrack-cnn collection MANIFEST [--out DIR] [--min-tracks N]
    soundtrack-cnn compare RUN [OTHER_RUN...] [--bootstrap N] [--seed S] [--embedding scores|hidden6]

Bad input ends with one line naming the file and exit status 2; Ctrl-C ends
with status 130 and SIGTERM (``kill``, a batch system's time limit) with 143,
both with a note that rerunning resumes.  File names that are not UTF-8 are
printed as their bytes.

One module per group of commands, each with a ``register(commands)``:

.. autosummary::

    common       checked argument types (``positive_int``, ``seed``, ``n_jobs``...), ``--scheduler``
    collection   corpus, features, store, label, collection
    training     run, train, pretrain
    predict      predict, export, upgrade
    evaluation   evaluate, report, compare, reconstruct
    film         film
"""
import argparse
import errno
import importlib
import signal
import sys

from ..errors import SoundtrackCNNError

__all__ = ["main", "build_parser", "describe_os_error", "COMMANDS"]

#: Each command's module, in the order ``--help`` lists them.  The parser of a
#: known command imports only its own module: building every command's options
#: imports the training and corpus code too, a quarter of a second that
#: ``predict`` on one file does not need (a test keeps this table equal to what
#: the modules register).
COMMANDS = {
    "run": "training", "train": "training", "pretrain": "training",
    "corpus": "collection", "features": "collection", "store": "collection",
    "label": "collection", "collection": "collection",
    "predict": "predict", "export": "predict", "upgrade": "predict",
    "evaluate": "evaluation", "report": "evaluation", "compare": "evaluation",
    "reconstruct": "evaluation",
    "film": "film",
}


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


def build_parser(command=None):
    """The argument parser: of ``command`` alone if it is one of :data:`COMMANDS`, else of all.

    Examples
    --------
    >>> build_parser("predict").parse_args(["predict", "runs/demo", "a.ogg"]).top
    5
    """
    parser = argparse.ArgumentParser(prog="soundtrack-cnn", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    modules = [COMMANDS[command]] if command in COMMANDS else dict.fromkeys(COMMANDS.values())
    for name in modules:
        importlib.import_module("." + name, __name__).register(commands)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it unwinds as Ctrl-C does (workers killed, files closed)."""


def _terminate(signum, frame):
    raise Terminated()


def main(argv=None):
    # A file name of any bytes is printed as those bytes (Python holds the
    # ones that are not UTF-8 as surrogate escapes), not as a traceback.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        args.func(args)
    except SoundtrackCNNError as error:
        print("soundtrack-cnn: error: {}".format(error), file=sys.stderr)
        sys.exit(2)
    except OSError as error:
        # A full disk, a read-only or forbidden folder, too many open files:
        # one line naming the path; whatever was written before stays valid.
        print("soundtrack-cnn: error: {}".format(describe_os_error(error)), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as interrupt:
        # Both signals unwind the same way; 128 + the signal number, as a shell reports them.
        terminated = isinstance(interrupt, Terminated)
        print("\nsoundtrack-cnn: {}; finished work is saved, rerun the same command to resume."
              .format("terminated (SIGTERM)" if terminated else "interrupted"), file=sys.stderr)
        sys.exit(143 if terminated else 130)
    finally:
        signal.signal(signal.SIGTERM, previous)
