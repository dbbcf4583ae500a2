"""One writer at a time: a file lock (``flock``) taken without waiting.

Feature stores, run folders and the compile caches of Dask workers are each
written by one process at a time.  Each holds a lock file for as long as it
writes; a second writer is refused at once (it would otherwise wait without
saying why).  ``flock`` locks belong to the open file, so the lock goes
with the process however it ends (even SIGKILL): a stale lock file never
blocks anyone.
"""
import fcntl

__all__ = ["lock"]


def lock(path, shared=False):
    """Lock ``path`` without waiting; the open file that holds the lock, or None if another does.

    Parameters
    ----------
    path : str
        The lock file: created if missing for an exclusive lock; a shared
        lock only opens it (so it works in a folder one may not write).
    shared : bool
        A shared lock (readers checking that no writer holds the file)
        instead of an exclusive one.

    Returns
    -------
    stream : file object or None
        Close it to release the lock (or use it in a ``with`` block).

    Raises
    ------
    OSError
        If the file cannot be opened (a read-only folder, a shared lock on a
        missing file).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "lock")
    >>> with lock(path) as held:
    ...     lock(path) is None, lock(path, shared=True) is None
    (True, True)
    >>> with lock(path, shared=True), lock(path, shared=True) as second:
    ...     second is None
    False
    """
    stream = open(path, "r" if shared else "a")
    try:
        fcntl.flock(stream, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        stream.close()
        return None
    except BaseException:
        stream.close()
        raise
    return stream
