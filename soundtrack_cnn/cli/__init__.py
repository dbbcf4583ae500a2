"""The soundtrack-cnn command line (also python -m soundtrack_cnn).

Subcommands mirror the steps of the study (``run`` does them all; :data:`COMMANDS`
lists them).  Their synopsis is ``soundtrack-cnn --help`` and ``soundtrack-cnn CMD
--help``, generated from the parsers; the documentation's command-line reference
is generated from the same parsers, so no copy of it can disagree with the code.

Bad input (a usage error too) ends with one line naming the file or option
and exit status 2; Ctrl-C ends with status 130 and SIGTERM (``kill``, a batch
system's time limit) with 143, from the moment ``main`` starts, both with a
note that rerunning resumes.  File names are printed through
:func:`soundtrack_cnn.files.printable`: control characters (a terminal's
escape sequences) and bytes that are not UTF-8 are shown as ``\\xNN``.

One module per group of commands, each with a ``register(commands)``:

.. autosummary::

    common       checked argument types (``count``, ``seconds``, ``seed``, ``n_jobs``...), ``--scheduler``
    collection   corpus, features, store, label, collection
    training     run, train, pretrain
    predict      predict, export, upgrade
    evaluation   evaluate, report, compare, reconstruct
    film         film
"""
import argparse
import errno
import importlib
import os
import signal
import sys
import warnings

from ..errors import SoundtrackCNNError, SoundtrackCNNWarning
from ..files import printable

__all__ = ["main", "build_parser", "describe_os_error", "describe_error", "COMMANDS"]

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


#: The command that does what a library call named as an error's remedy does
#: (:class:`soundtrack_cnn.errors.Remedy`): the library speaks Python, the
#: command line its commands.
REMEDY_COMMANDS = {
    "evaluate_run": "soundtrack-cnn evaluate {}",
    "extract": "soundtrack-cnn features {} --out {}",
    "check_store": "soundtrack-cnn store check {}",
    "compare_run": "soundtrack-cnn compare {}",
    "upgrade_run": "soundtrack-cnn upgrade {}",
}

#: The option that says what a remedy's keyword argument says (``trust=True``);
#: None: the command does it anyway (``upgrade`` upgrades both kinds of model).
REMEDY_OPTIONS = {("trust", True): "--trust-pickles", ("labelled", False): "--unlabelled",
                  ("kind", "multilabel"): None}


def describe_error(error):
    """An error's message, with the command in place of the Python call it names as its fix.

    Examples
    --------
    >>> from soundtrack_cnn.errors import InputError, Remedy
    >>> fix = Remedy("evaluate_run", "runs/demo")
    >>> describe_error(InputError("no scores yet; run {} first".format(fix), remedy=fix))
    'no scores yet; run `soundtrack-cnn evaluate runs/demo` first'
    >>> fix = Remedy("upgrade_run", "runs/x", trust=True)
    >>> describe_error(InputError("no weights: {} writes them".format(fix), remedy=fix))
    'no weights: `soundtrack-cnn upgrade runs/x --trust-pickles` writes them'
    """
    message, remedy = str(error), getattr(error, "remedy", None)
    if remedy is not None and remedy.function in REMEDY_COMMANDS:
        options = [REMEDY_OPTIONS[keyword] for keyword in remedy.keywords.items()]
        command = " ".join([REMEDY_COMMANDS[remedy.function].format(*remedy.arguments)]
                           + [option for option in options if option is not None])
        message = message.replace(str(remedy), "`{}`".format(command))
    return message


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors are one line (as every other error) and exit 2."""

    def error(self, message):
        self.exit(2, "{}: error: {} (see {} --help)\n".format(
            self.prog, printable(message), self.prog))


def build_parser(command=None):
    """The argument parser: of ``command`` alone if it is one of :data:`COMMANDS`, else of all.

    Examples
    --------
    >>> build_parser("predict").parse_args(["predict", "runs/demo", "a.ogg"]).top
    5
    """
    parser = _Parser(prog="soundtrack-cnn", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    modules = [COMMANDS[command]] if command in COMMANDS else dict.fromkeys(COMMANDS.values())
    for name in modules:
        importlib.import_module("." + name, __name__).register(commands)
    return parser


def show_warning(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` of the command line: the package's warnings as one line each.

    Written between progress-bar updates (tqdm's ``write``); any other
    warning is shown as Python shows it.
    """
    ours = issubclass(category, SoundtrackCNNWarning) or (
        issubclass(category, DeprecationWarning) and filename.startswith(_PACKAGE))
    if not ours:
        return _python_show_warning(message, category, filename, lineno, file, line)
    import tqdm
    tqdm.tqdm.write("warning: {}".format(printable(str(message))), file=sys.stderr)


_python_show_warning = warnings.showwarning
#: Where the package's files are: its DeprecationWarnings (a file of an older
#: version read through a compatibility path) are shown as one line too.
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so it unwinds as Ctrl-C does (workers killed, files closed)."""


def main(argv=None):
    # First of all: from here on, Ctrl-C and SIGTERM end in one line (the
    # command's modules, numpy among them, are imported below, inside the try).
    # Which signal came is recorded as it arrives: code that catches the
    # KeyboardInterrupt and raises another (nolearn swallows it, training
    # then raises its own) must not turn a SIGTERM (143) into a Ctrl-C (130).
    received = []

    def interrupt(signum, frame):
        received.append(signum)
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    previous = {signum: signal.signal(signum, interrupt)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        # A file name of any bytes is printed as those bytes (Python holds the
        # ones that are not UTF-8 as surrogate escapes), not as a traceback.
        for stream in (sys.stdout, sys.stderr):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="surrogateescape")
        argv = sys.argv[1:] if argv is None else list(argv)
        # Every warning of the package, each time, as one line (the library only issues them).
        warnings.showwarning = show_warning
        warnings.simplefilter("always", SoundtrackCNNWarning)
        warnings.filterwarnings("always", category=DeprecationWarning, module="soundtrack_cnn")
        args = build_parser(argv[0] if argv else None).parse_args(argv)
        args.func(args)
    except SoundtrackCNNError as error:
        # Error lines name files: printable, so that a name cannot act on the terminal.
        print("soundtrack-cnn: error: {}".format(printable(describe_error(error))),
              file=sys.stderr)
        sys.exit(2)
    except OSError as error:
        # A full disk, a read-only or forbidden folder, too many open files:
        # one line naming the path; whatever was written before stays valid.
        print("soundtrack-cnn: error: {}".format(printable(describe_os_error(error))),
              file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        # A second signal while this line is printed must not print a traceback.
        for signum in previous:
            signal.signal(signum, signal.SIG_IGN)
        # Both signals unwind the same way; 128 + the signal number, as a shell reports them.
        terminated = signal.SIGTERM in received
        print("\nsoundtrack-cnn: {}; finished work is saved, rerun the same command to resume."
              .format("terminated (SIGTERM)" if terminated else "interrupted"), file=sys.stderr)
        sys.exit(143 if terminated else 130)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
