"""The ``soundtrack-cnn`` command's first lines: Ctrl-C and SIGTERM end in one line from the start.

A console script imports the module of its function before calling it.  For
``soundtrack_cnn.cli:main`` that is the package first (``soundtrack_cnn``'s
``__init__`` and the 2015 stack's import hooks: 0.1 to 0.3 s), and a Ctrl-C in
that time printed a KeyboardInterrupt traceback, since ``main`` had not yet
installed its handlers.  This module lies outside the package so that its
handlers come before any of it: a signal during those imports ends the
process at once, with the line and status ``main`` gives (nothing has been
done yet that would need unwinding).  ``main`` then installs its own.
"""
import os
import signal

__all__ = ["main"]


def _during_imports(signum, frame):
    what = b"terminated (SIGTERM)" if signum == signal.SIGTERM else b"interrupted"
    os.write(2, b"\nsoundtrack-cnn: " + what + b"; finished work is saved, rerun the same "
             b"command to resume.\n")
    os._exit(128 + signum)


def main():
    """Run ``soundtrack_cnn.cli.main`` with the signals handled while it is imported."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _during_imports)
    from soundtrack_cnn.cli import main as command
    return command()
