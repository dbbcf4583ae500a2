"""The package's one error type for bad input."""

__all__ = ["InputError"]


class InputError(ValueError):
    """Raised for input the package cannot use: a bad file, manifest row, setting or run.

    The message always names the offending file, row or parameter, so a long
    job can report it, skip the item and go on.
    """
