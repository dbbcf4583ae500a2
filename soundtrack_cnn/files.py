"""Small, dependable file I/O: atomic writes, JSON, checksums, and what stands at a path.

The one module every other module may use for files; it depends on nothing
else in the package but :mod:`soundtrack_cnn.errors`.  One rule decides what
may stand at a path the package is handed.  To read (:func:`input_path`,
which every reader calls before it opens anything): a regular file, or a
symbolic link to one; anything else is refused naming what it is, since
opening a FIFO blocks for ever and a device never ends.  To write, every
result goes through :func:`write_bytes`:

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

and a command never writes over a file it reads (:func:`check_not_input`:
``reconstruct song.flac song.flac`` would replace the song by its lossy
rebuild).  Folders are made by :func:`make_folder` by the same rule (a
dangling link's target is created).  Names go to a terminal through
:func:`printable`, so a file name cannot act on it.
"""
import errno
import hashlib
import json
import math
import os
import re
import stat
import tempfile

from .errors import InputError

__all__ = ["not_a_file", "input_path", "output_path", "check_not_input", "same_file_key",
           "make_folder",
           "printable", "write_bytes", "write_text", "write_json", "json_ready", "read_json",
           "sha256_bytes", "sha256_file", "check_writable"]


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


def input_path(path, what="file"):
    """``path``, once a regular file (or a link to one) is known to stand there.

    The reading half of the module's rule: every reader of a file the user
    names calls it before opening, so a FIFO is refused instead of blocking
    for ever and a device instead of being read without end.

    Parameters
    ----------
    path : str
    what : str
        What the file is, for the messages (``"tags CSV"``...).

    Raises
    ------
    InputError
        Naming the path and what stands there: nothing, a dangling link, a
        directory, FIFO, socket or device.

    Examples
    --------
    >>> input_path("/dev/null", what="manifest")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /dev/null: is a character device, not a regular file; give the path of a regular file to read
    >>> input_path("/nonexistent.csv", what="manifest")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: /nonexistent.csv: no such manifest
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError("{}: is a symbolic link to {}, which does not exist".format(
                path, os.readlink(path))) from None
        raise InputError("{}: no such {}".format(path, what)) from None
    except OSError as error:
        raise InputError("{}: cannot read it ({})".format(path, error.strerror)) from None
    kind = not_a_file(mode)
    if kind:
        shown = kind if not os.path.islink(path) else "a link to {} ({})".format(
            kind, os.path.realpath(path))
        raise InputError("{}: is {}, not a regular file; give the path of a regular file to "
                         "read".format(path, shown))
    return path


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


def check_not_input(output, inputs):
    """Raise :class:`InputError` if writing ``output`` would replace one of ``inputs``.

    The same file is found however it is named (``x``, ``./x``, ``d/../x``, a
    symbolic or hard link): by :func:`same_file_key`.  Every command that writes a file checks its outputs
    against what it reads, before it starts.

    Parameters
    ----------
    output : str
        A file (or folder) the command will write.
    inputs : iterable of str
        The files (or folders) it reads; missing ones are ignored.

    Examples
    --------
    >>> import os, tempfile
    >>> song = os.path.join(tempfile.mkdtemp(), "song.flac")
    >>> open(song, "wb").close()
    >>> check_not_input(song, [os.path.join(os.path.dirname(song), ".", "song.flac")])
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: ...song.flac: is also this command's input ....../song.flac); give another output path
    """
    written = same_file_key(output)  # through links, as writing would go
    if written[0] is None:
        return
    for path in inputs:
        if same_file_key(path) == written:
            raise InputError("{}: is also this command's input ({}); give another output "
                             "path".format(output, path))


def same_file_key(path):
    """What tells one file from another however it is named: ``(device, inode)``.

    ``x``, ``./x``, ``d/../x``, a symbolic link to ``x`` and a hard link to it
    all have ``x``'s key.  A path where nothing stands gets ``(None,
    absolute path)``, so that it is at least the same as its own spellings.

    Examples
    --------
    >>> same_file_key("/etc/../etc/hostname") == same_file_key("/etc/hostname")
    True
    >>> same_file_key("/nonexistent/../x.wav")
    (None, '/x.wav')
    """
    try:
        info = os.stat(path)
    except OSError:
        return None, os.path.normpath(os.path.abspath(path))
    return info.st_dev, info.st_ino


def make_folder(path):
    """Create the folder ``path`` (and its parents) unless it exists; return ``path``.

    By the module's rule: a link to a folder is used as that folder, a
    dangling link gets its target created (``os.makedirs`` would say only
    "File exists"), and anything else standing at ``path`` or at one of its
    parents is refused naming what it is.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.symlink(os.path.join(folder, "made"), os.path.join(folder, "link"))
    >>> make_folder(os.path.join(folder, "link")) and os.path.isdir(os.path.join(folder, "made"))
    True
    >>> make_folder(__file__)
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: ...files.py: is a regular file, not a folder; give a folder to write into
    """
    real = os.path.realpath(path)
    try:
        os.makedirs(real, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        # What is in the way: ``path`` itself, or the first parent that is not a folder.
        blocking = real
        while os.path.dirname(blocking) != blocking and not os.path.exists(blocking):
            blocking = os.path.dirname(blocking)
        kind = not_a_file(os.stat(blocking).st_mode) or "a regular file"
        raise InputError("{}: is {}, not a folder; give a folder to write into".format(
            path if blocking == real else blocking, kind)) from None
    except OSError as error:
        error.filename = path
        raise
    return path


#: Characters a terminal acts on rather than shows: the C0 and C1 controls (escape
#: sequences can retitle or clear the terminal), DEL, and the bidirectional
#: overrides that would show a name reordered.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text, keep_newlines=False):
    r"""``text`` for a terminal: control characters and bytes that are not UTF-8 as escapes.

    Every file name (and every error line, which names files) that the
    command line prints goes through here: a name holding ``\x1b]0;...``
    would otherwise retitle or clear the user's terminal, one holding a
    newline would forge a line.  A name's bytes that are not UTF-8 (which
    Python holds as surrogate escapes) are shown as ``\xNN``.

    Examples
    --------
    >>> print(printable("a\x1b]0;owned\x07.flac"))
    a\x1b]0;owned\x07.flac
    >>> print(printable(os.fsdecode(b"caf\xe9.wav")), printable("café.wav"))
    caf\xe9.wav café.wav
    >>> print(printable("a table\nof two lines: \x1b[2J", keep_newlines=True))
    a table
    of two lines: \x1b[2J

    ``keep_newlines``: a text of several lines (a table, a report) keeps its
    line breaks, each line escaped.
    """
    text = str(text)  # a summary object prints as its str()
    if keep_newlines:
        return "\n".join(printable(line) for line in text.split("\n"))
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(_escape, text)


def _escape(match):
    code = ord(match.group())
    return "\\x{:02x}".format(code) if code < 0x100 else "\\u{:04x}".format(code)


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
        make_folder(folder)
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
    if os.path.exists(path):
        input_path(path, what)  # open() of a FIFO would block for ever
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
    with open(input_path(path), "rb") as stream:
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
    soundtrack_cnn.errors.InputError: /proc/soundtrack_cnn/report: cannot write there (/proc is on a file system that accepts no new files); give a writable output folder
    """
    existing = os.path.abspath(folder)
    while not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    try:
        tempfile.TemporaryFile(dir=existing).close()
    except OSError as error:
        # Creating a file in an existing folder fails with "No such file or
        # directory" only where the file system itself refuses (/proc, /sys).
        reason = ("{} is on a file system that accepts no new files".format(existing)
                  if error.errno == errno.ENOENT else error.strerror)
        raise InputError("{}: cannot write there ({}); give a writable output folder".format(
            folder, reason)) from None
