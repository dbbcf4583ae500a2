"""Film genres from soundtracks with an ensemble of binary specialist CNNs."""
from . import compat as _compat

_compat.install()

__version__ = "0.1.0"
