"""Small, dependable file I/O: atomic writes, JSON, checksums.

The one module every other module may use for files; it depends on nothing
else in the package but :mod:`soundtrack_cnn.errors`.  Every result the
package writes goes through :func:`write_bytes`, so a run killed at any moment
leaves either the old file or the new one, never half of one.
"""
import hashlib
import json
import os
import tempfile

from .errors import InputError

__all__ = ["write_bytes", "write_text", "write_json", "read_json", "sha256_bytes", "sha256_file",
           "check_writable"]


def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a", "b.txt")
    >>> write_bytes(path, b"hello")
    >>> open(path, "rb").read()
    b'hello'
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    except OSError as error:
        error.filename = path  # not the temp file: the user knows the path asked for
        raise
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates 0600; results are meant to be shared like any other file.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as error:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(error, OSError):
            error.filename = path  # write() errors (no space) carry no path
        raise


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x.json")
    >>> write_json(path, {"a": [1, 2]})
    >>> read_json(path)
    {'a': [1, 2]}
    """
    write_text(path, json.dumps(obj, indent=1, sort_keys=False))


def read_json(path, what="file"):
    """Read a JSON file; a missing or unreadable file is an :class:`InputError` naming it.

    Parameters
    ----------
    path : str
    what : str
        What the file is, for the message (e.g. ``"run record"``).

    Examples
    --------
    >>> read_json("/nonexistent/run.json", what="run record")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /nonexistent/run.json: cannot read this run record (No such file or directory)
    """
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except OSError as error:
        raise InputError("{}: cannot read this {} ({})".format(path, what, error.strerror))
    except ValueError as error:
        raise InputError("{} is not valid JSON: {}".format(path, error))


def sha256_bytes(data):
    """Hex sha256 of ``data``.

    Examples
    --------
    >>> sha256_bytes(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_writable(folder):
    """Raise :class:`InputError` unless files can be created in ``folder``.

    For commands that compute for a while before they write: they check
    first.  A folder that does not exist yet is checked at its nearest
    existing parent (and not created).

    Examples
    --------
    >>> check_writable("/proc/soundtrack_cnn/report")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /proc/soundtrack_cnn/report: cannot write there (No such file or directory); give a writable output folder
    """
    existing = os.path.abspath(folder)
    while not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    try:
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as error:
        raise InputError("{}: cannot write there ({}); give a writable output folder".format(
            folder, error.strerror)) from None
