"""What several commands share: the ``--scheduler`` option and its Dask client."""
import contextlib
import os

__all__ = ["add_scheduler", "cluster"]


def add_scheduler(parser):
    """``--scheduler ADDRESS``, defaulting to ``$DASK_SCHEDULER_ADDRESS``."""
    parser.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER_ADDRESS"),
                        help="a Dask scheduler (tcp://host:8786) to run on; "
                             "default $DASK_SCHEDULER_ADDRESS, else this process")


def cluster(args):
    """A Dask client for ``--scheduler`` (or $DASK_SCHEDULER_ADDRESS), or a null context."""
    if not args.scheduler:
        return contextlib.nullcontext()
    from ..collection.distributed import session
    return session(args.scheduler)
