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

__all__ = ["write_bytes", "write_text", "write_json", "read_json", "sha256_bytes", "sha256_file"]


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
    os.makedirs(folder, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates 0600; results are meant to be shared like any other file.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
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
