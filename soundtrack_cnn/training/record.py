"""The model record (``ensemble.json`` / ``multilabel.json``): its schema and its checksum.

A run folder's model record says which pickles make the model and how tiles
are normalised before they reach the nets, so a silent edit would silently
change every score.  The record therefore carries a ``checksum`` (sha256 of
its canonical JSON without the checksum itself) and is checked field by field
when read: a record that fails either check is refused with one line naming
the file and the field, never used and never a traceback.  Records written
before checksums existed load with a warning.
"""
import hashlib
import json
import re
import sys

from ..errors import InputError

__all__ = ["seal", "check_record", "model_file"]

#: Every top-level field, with its JSON type(s).
FIELDS = {
    "kind": str,
    "genres": list,
    "feature_settings": dict,
    "normalizer": dict,
    "hyperparameters": dict,
    "seed": (int, type(None)),
    "training": dict,
    "versions": dict,
    "models": dict,
}
#: Every field of one ``models`` entry that loading relies on.
MODEL_FIELDS = {"file": str, "sha256": str}
_TYPE_NAMES = {str: "a string", list: "a list", dict: "an object", int: "an integer",
               type(None): "null", float: "a number"}


def model_file(kind, name):
    """The pickle's file name for net ``name``: readable, and distinct for distinct names.

    Sanitising alone would map ``Sci Fi`` and ``Sci/Fi`` (or any two non-Latin
    names) to one file, so a short hash of the exact name is appended.

    Examples
    --------
    >>> model_file("ensemble", "Sci Fi"), model_file("ensemble", "Sci/Fi")
    ('specialist-Sci_Fi-23fab21f.pkl', 'specialist-Sci_Fi-7541c0da.pkl')
    >>> model_file("multilabel", "multilabel")
    'multilabel.pkl'
    """
    if kind == "multilabel":
        return "multilabel.pkl"
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40]
    return "specialist-{}-{}.pkl".format(readable, hashlib.sha256(name.encode()).hexdigest()[:8])


def _digest(record):
    content = {key: value for key, value in record.items() if key != "checksum"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def seal(record):
    """``record`` with its ``checksum`` (over everything else) set.

    Examples
    --------
    >>> sealed = seal({"kind": "ensemble"})
    >>> sorted(sealed), len(sealed["checksum"])
    (['checksum', 'kind'], 64)
    """
    return dict(record, checksum=_digest(record))


def check_record(record, path, kind):
    """Raise :class:`InputError` naming ``path`` and the field unless ``record`` is intact.

    Parameters
    ----------
    record : object
        The parsed JSON.
    path : str
        Its file, for the message.
    kind : {'ensemble', 'multilabel'}
        What the file must hold.

    Examples
    --------
    >>> check_record({"kind": "ensemble"}, "RUN/ensemble.json", "ensemble")
    Traceback (most recent call last):
    ...
    soundtrack_cnn.errors.InputError: RUN/ensemble.json is damaged: field 'genres' is missing; train again into a new folder
    """
    def damaged(problem):
        return InputError("{} is damaged: {}; train again into a new folder".format(path, problem))

    if not isinstance(record, dict):
        raise damaged("it holds {} instead of an object".format(_type_name(record)))
    for field, types in FIELDS.items():
        if field not in record:
            raise damaged("field '{}' is missing".format(field))
        if not _is(record[field], types):
            raise damaged("field '{}' must be {}, not {}".format(
                field, _type_name_of(types), _type_name(record[field])))
    if "checksum" not in record:
        print("warning: {} has no checksum (written by an older version): edits to it cannot "
              "be detected".format(path), file=sys.stderr)
    elif record["checksum"] != _digest(record):
        raise damaged("its content does not match its checksum (it was edited or damaged "
                      "after training)")
    if record["kind"] != kind:
        raise damaged("field 'kind' is {!r}, expected {!r}".format(record["kind"], kind))
    genres = record["genres"]
    if not genres or not all(isinstance(g, str) and g for g in genres) or \
            len(set(genres)) != len(genres):
        raise damaged("field 'genres' must be a list of distinct non-empty strings")
    for field in ("mean", "std"):
        values = record["normalizer"].get(field)
        if not isinstance(values, list) or not all(_is(v, (int, float)) for v in values):
            raise damaged("field 'normalizer.{}' must be a list of numbers".format(field))
    names = set(genres) if kind == "ensemble" else {"multilabel"}
    for name, entry in record["models"].items():
        if name not in names:
            raise damaged("field 'models' holds {!r}, which is not one of its nets".format(name))
        if not isinstance(entry, dict):
            raise damaged("field 'models.{}' must be an object".format(name))
        for field, types in MODEL_FIELDS.items():
            if not _is(entry.get(field), types):
                raise damaged("field 'models.{}.{}' must be {}".format(
                    name, field, _type_name_of(types)))
        if entry["file"] != model_file(kind, name) and not _legacy_file(entry["file"]):
            raise damaged("field 'models.{}.file' names {!r}, not a model file of this "
                          "folder".format(name, entry["file"]))


def _legacy_file(filename):
    """A pickle name as written before names were hashed (a plain file of the folder)."""
    return re.fullmatch(r"specialist-[A-Za-z0-9_.-]+\.pkl", filename) is not None


def _is(value, types):
    # bool is an int to Python, but never a valid seed or statistic here.
    return isinstance(value, types) and not isinstance(value, bool)


def _type_name(value):
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _type_name_of(types):
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(_TYPE_NAMES[t] for t in types)
