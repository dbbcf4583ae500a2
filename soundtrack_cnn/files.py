"""Small, dependable file I/O: atomic writes, JSON, checksums.

The one module every other module may use for files; it depends on nothing
else in the package but :mod:`soundtrack_cnn.errors`.  Every result the
package writes goes through :func:`write_bytes`, and one rule decides what
happens to whatever already stands at the output path:

==========================  ================================================
at the path                 what :func:`write_bytes` does
==========================  ================================================
nothing, or a regular file  writes a temp file beside it and renames it over
                            the path: a run killed at any moment leaves the
                            old file or the new one, never half of one (an
                            existing file keeps its permission bits)
a symbolic link             writes through it: the file the link points at
                            is replaced atomically as above and the link
                            stays a link (a dangling link's target is
                            created), as ``echo x > link`` would
a directory, FIFO, socket   refused with :class:`~soundtrack_cnn.errors.InputError`
or device                   naming the path and what stands there (nothing
                            is written, nothing replaced)
==========================  ================================================
"""
import hashlib
import json
import math
import os
import stat
import tempfile

from .errors import InputError

__all__ = ["not_a_file", "output_path", "write_bytes", "write_text", "write_json", "json_ready", "read_json", "sha256_bytes", "sha256_file",
           "check_writable"]


#: What may stand at a path instead of a regular file, by ``stat`` kind.
_NOT_FILES = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
              (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
              (stat.S_ISBLK, "a block device"))


def not_a_file(mode):
    """What a ``stat`` mode is when it is not a regular file (``'a directory'``...), else None.

    Shared by every message about a path that names something other than a file.

    Examples
    --------
    >>> import os
    >>> not_a_file(os.stat("/").st_mode), not_a_file(os.stat(__file__).st_mode)
    ('a directory', None)
    """
    for is_kind, kind in _NOT_FILES:
        if is_kind(mode):
            return kind
    return None


def output_path(path):
    """The regular file that writing ``path`` replaces: ``path``, or a symlink's target.

    Parameters
    ----------
    path : str

    Returns
    -------
    target : str
        ``path`` itself unless it is a symbolic link, else the file the link
        (or chain of links) points at, which may not exist yet.

    Raises
    ------
    InputError
        If a directory, FIFO, socket or device stands at ``path`` (or at its
        link's target), or the link is a loop.

    Examples
    --------
    >>> output_path("/dev/null")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /dev/null: is a character device, not a regular file; give the path of a regular file to write
    """
    target = path
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            target = os.path.realpath(path)
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return target
    if stat.S_ISLNK(mode):
        raise InputError("{}: is a symbolic link loop; give the path of a regular file to write"
                         .format(path))
    kind = not_a_file(mode)
    if kind:
        shown = kind if target == path else "a link to {} ({})".format(kind, target)
        raise InputError("{}: is {}, not a regular file; give the path of a regular file "
                         "to write".format(path, shown))
    return target


def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically, by the module's rule for what stands there.

    A temp file in the same folder is written, fsync'd and renamed over the
    path (over a symlink's target, so the link stays; see the module).

    Raises
    ------
    InputError
        If ``path`` is a directory, FIFO, socket or device (or links to one).
    OSError
        If the file cannot be written; its ``filename`` is ``path``.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a", "b.txt")
    >>> write_bytes(path, b"hello")
    >>> open(path, "rb").read()
    b'hello'
    """
    target = output_path(path)
    folder = os.path.dirname(os.path.abspath(target))
    try:
        # An existing file keeps its permissions; mkstemp's 0600 would hide a
        # result meant to be shared like any other file.
        mode = stat.S_IMODE(os.stat(target).st_mode) if os.path.exists(target) else 0o644
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
        os.chmod(tmp, mode)
        os.replace(tmp, target)
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
    """Write ``obj`` as indented JSON, atomically; NaN and infinities become ``null``.

    JSON has no NaN: Python would write the non-standard ``NaN`` that other
    readers reject, so an undefined figure (a metric of a genre without
    positives, say) is written as ``null`` here, once for every caller.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "x.json")
    >>> write_json(path, {"a": [1, 2], "auc": float("nan"), "loss": (float("inf"), 0.5)})
    >>> read_json(path)
    {'a': [1, 2], 'auc': None, 'loss': [None, 0.5]}
    """
    write_text(path, json.dumps(json_ready(obj), indent=1, sort_keys=False, allow_nan=False))


def json_ready(obj):
    """``obj`` with every non-finite float (numpy's float64 included) replaced by None.

    What :func:`write_json` writes; a checksum over a record is taken over this too.

    Examples
    --------
    >>> json_ready({"loss": float("inf"), "auc": [0.5, float("nan")]})
    {'loss': None, 'auc': [0.5, None]}
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: json_ready(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(value) for value in obj]
    return obj


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
