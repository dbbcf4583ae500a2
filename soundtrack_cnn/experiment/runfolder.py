"""A run folder's guards: it is only ever resumed with what it was made from, by one writer.

``experiment.json`` records the store, genres, profile and seed a run was
made from; :func:`check_inputs` refuses a command that names others (it would
otherwise silently train with the recorded ones).  :func:`run_lock` holds
``RUN/lock`` (``flock``) while a command writes the folder, so two trainings
cannot interleave their checkpoints; a command that fails before writing
anything there leaves no folder behind.
"""
import contextlib
import os

from ..errors import InputError
from ..files import make_folder, output_path
from ..parallel.locks import lock

__all__ = ["check_inputs", "run_lock"]


def check_inputs(run_dir, record, store_dir, profile, genres=None, seed=None):
    """Raise :class:`InputError` naming every input that differs from the run's record.

    Parameters
    ----------
    run_dir : str
    record : dict
        The run's ``experiment.json``.
    store_dir : str
    profile : str
        Profile name.
    genres : sequence of str, optional
        None: whatever the run recorded.
    seed : int, optional
        None: whatever the run recorded.

    Examples
    --------
    >>> record = {"store": "/data/store", "genres": ["Drama"], "profile": {"name": "demo"},
    ...           "seed": 0}
    >>> check_inputs("RUN", record, "/data/store", "demo", genres=["Drama"], seed=0)
    >>> check_inputs("RUN", record, "/data/other", "demo", genres=["Comedy"])
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: RUN was made from store /data/store (not /data/other), genres Drama (not Comedy); give the same inputs to resume it, or another output folder
    """
    differences = []
    if os.path.realpath(record["store"]) != os.path.realpath(store_dir):
        differences.append("store {} (not {})".format(record["store"], store_dir))
    if genres is not None and list(genres) != list(record["genres"]):
        differences.append("genres {} (not {})".format(" ".join(record["genres"]),
                                                       " ".join(genres)))
    if profile != record["profile"]["name"]:
        differences.append("profile {} (not {})".format(record["profile"]["name"], profile))
    if seed is not None and seed != record["seed"]:
        differences.append("seed {} (not {})".format(record["seed"], seed))
    if differences:
        raise InputError("{} was made from {}; give the same inputs to resume it, or another "
                         "output folder".format(run_dir, ", ".join(differences)))


@contextlib.contextmanager
def run_lock(run_dir):
    """Hold ``run_dir/lock`` exclusively (creating the folder), or refuse at once.

    A folder this call created and that holds nothing but the lock when the
    command ends (``train nope --out r``: no such store) is removed again, so
    a failed command leaves no empty run folder behind.

    Examples
    --------
    >>> import tempfile
    >>> run_dir = tempfile.mkdtemp()
    >>> with run_lock(run_dir):
    ...     with run_lock(run_dir):
    ...         pass
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: ...: another command is writing this run folder (it holds .../lock)
    """
    created = not os.path.lexists(run_dir)
    make_folder(run_dir)
    path = os.path.join(run_dir, "lock")
    try:
        held = lock(output_path(path))  # a FIFO there would block open() for ever
        if held is None:
            raise InputError("{}: another command is writing this run folder (it holds {})"
                             .format(run_dir, path))
        with held:
            yield
    finally:
        if created and os.listdir(run_dir) == ["lock"]:
            os.unlink(path)
            os.rmdir(run_dir)
