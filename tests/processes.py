"""Test helpers on real processes: Ctrl-C-able children and /proc readings.

A module of its own, not ``conftest``: several ``conftest.py`` files share that
module name, so tests import their helpers from here.
"""
import os


def sigint_default():
    """``preexec_fn`` for a child that a test will Ctrl-C: a shell running the
    suite in the background starts it with SIGINT ignored, which Python keeps."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stat_fields(pid):
    """The fields of ``/proc/PID/stat`` after the command name: state, ppid, ..."""
    with open("/proc/{}/stat".format(pid)) as stat:
        return stat.read().rsplit(")", 1)[1].split()


def process_state(pid):
    """A process's scheduler state letter (R running, S sleeping, ...), or None if gone."""
    try:
        return _stat_fields(pid)[0]
    except (OSError, IndexError):
        return None


def children(pid, marker):
    """Pids of the child processes of ``pid`` whose command line holds ``marker`` (bytes)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            ppid = int(_stat_fields(entry)[1])
            with open("/proc/{}/cmdline".format(entry), "rb") as cmdline:
                command = cmdline.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and marker in command:
            found.append(int(entry))
    return found


#: ``python -c`` code: ``predict MODEL FILE --json``, then the modules of the 2015
#: stack and scikit-learn it imported, as JSON on stderr.
PREDICT_LISTING_THE_2015_STACK = """
import json, sys
from soundtrack_cnn.cli import main
try:
    main(["predict", sys.argv[1], sys.argv[2], "--json"])
finally:
    # compat's scan shim is a None entry in sys.modules, not an imported module.
    print(json.dumps(sorted(m for m, module in sys.modules.items() if module is not None
                            and m.split(".")[0] in ("theano", "lasagne", "nolearn", "sklearn"))),
          file=sys.stderr)
"""
