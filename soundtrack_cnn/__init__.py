"""Film genres from soundtracks with an ensemble of binary specialist CNNs."""
from . import compat as _compat
from . import runtime as _runtime

_compat.install()
_runtime.install()

__version__ = "0.1.0"
