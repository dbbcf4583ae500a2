"""Keyed signatures of the pickles this user writes: a pickle is code, run only what we wrote.

A run folder's checksums (sha256 in ``ensemble.json``) prove only that its
files match each other: anyone can recompute them.  What proves that a pickle
was written here, by this user, is a keyed signature -- an HMAC-SHA256 with a
secret that never leaves this account, as Jupyter signs the notebooks it
trusts.  The secret lives outside every run folder, in
``$XDG_DATA_HOME/soundtrack_cnn/secret`` (else
``~/.local/share/soundtrack_cnn/secret``; :data:`SECRET_ENV` names another
file, for tests and for sharing one secret between one's own machines).  It
is made on the first signature: 32 random bytes, mode 0600, created
atomically (a second process signing at the same moment reads the first
one's secret instead of replacing it).

A signature is ``{"signer": ..., "hmac": ...}``: the HMAC of the signed bytes
with a ``context`` (which file of which model: a signed pickle moved to
another net's place no longer verifies), and the signer, an HMAC of a fixed
label (it names the secret without revealing it).  :func:`verify` tells the
three ways a pickle can be untrusted apart, so that a refusal can say why.

This module only signs and verifies; what is signed, and when an unsigned
file is refused, is the caller's (:mod:`soundtrack_cnn.training.checkpoint`).

Examples
--------
>>> import os, tempfile
>>> from unittest import mock
>>> with mock.patch.dict(os.environ, {SECRET_ENV: os.path.join(tempfile.mkdtemp(), "secret")}):
...     signature = sign(b"pickle bytes", "ensemble/Drama")
...     print(verify(b"pickle bytes", "ensemble/Drama", signature))
...     print(verify(b"other bytes", "ensemble/Drama", signature))
...     print(verify(b"pickle bytes", "ensemble/Drama", None))
None
its signature does not match it (it was changed after it was signed)
it is not signed (written by another user or machine, or by a version before signatures)
"""
import hashlib
import hmac
import os
import secrets
import stat

from .errors import InputError

__all__ = ["sign", "verify", "secret_path", "is_signature", "SECRET_ENV"]

#: Environment variable naming the secret's file (default: see :func:`secret_path`).
SECRET_ENV = "SOUNDTRACK_CNN_SECRET"
#: Bytes of a new secret (HMAC-SHA256's block is 64; 32 random bytes are its strength).
SECRET_BYTES = 32
#: A secret file longer than this is not one of ours (it is read whole).
MAX_SECRET_BYTES = 4096
_SIGNER_LABEL = b"soundtrack_cnn signer v1"
_CONTEXT_PREFIX = b"soundtrack_cnn signed v1\0"

UNSIGNED = "it is not signed (written by another user or machine, or by a version before signatures)"
ELSEWHERE = "it was signed by another user or machine (another secret)"
MISMATCH = "its signature does not match it (it was changed after it was signed)"


def secret_path():
    """The file holding this user's secret.

    Examples
    --------
    >>> secret_path().endswith(os.path.join("soundtrack_cnn", "secret")) or SECRET_ENV in os.environ
    True
    """
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share")
    return os.path.join(data_home, "soundtrack_cnn", "secret")


def _read_secret(path):
    """The secret's bytes, None if there is none; InputError if the file is not a secret.

    A secret that others can read signs their pickles as ours, and one they
    can write replaces ours: as ssh does with a private key, such a file is
    refused (it must be this user's, mode 0600 or stricter).
    """
    try:
        # O_NONBLOCK: a FIFO in its place is refused below, not waited on.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InputError("{}: cannot read the signing secret ({})".format(
            path, error.strerror)) from None
    with os.fdopen(descriptor, "rb") as stream:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise InputError("{}: the signing secret is not a regular file".format(path))
        foreign = hasattr(os, "geteuid") and status.st_uid != os.geteuid()
        if foreign or status.st_mode & 0o077:
            raise InputError(
                "{}: the signing secret is {} (mode {:04o}): whoever can read it can sign "
                "pickles that run code here; chmod 600 it if it is yours, else remove it (a "
                "new one is made, and pickles signed with it then count as unsigned)".format(
                    path, "another user's" if foreign else "open to others",
                    stat.S_IMODE(status.st_mode)))
        data = stream.read(MAX_SECRET_BYTES + 1)
    if not SECRET_BYTES <= len(data) <= MAX_SECRET_BYTES:
        raise InputError("{}: not a signing secret ({} bytes); remove it and a new one is made "
                         "(pickles signed with it then count as unsigned)".format(path, len(data)))
    return data


def _create_secret(path):
    """Make the secret atomically (mode 0600 from the start); return whichever secret won."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    temporary = "{}.{}.tmp".format(path, secrets.token_hex(8))  # unique per process and thread
    # O_EXCL and mode 0600 at creation: the secret is never readable by others, not even
    # for a moment; link() publishes it only whole, and fails if another process won.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(secrets.token_bytes(SECRET_BYTES))
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(temporary)
    return _read_secret(path)


def _secret(create):
    path = secret_path()
    secret = _read_secret(path)
    if secret is None and create:
        try:
            secret = _create_secret(path)
        except OSError as error:
            raise InputError("{}: cannot create the signing secret ({})".format(
                path, error.strerror)) from None
    return secret


def _signer(secret):
    return hmac.new(secret, _SIGNER_LABEL, hashlib.sha256).hexdigest()[:32]


def _mac(secret, data, context):
    mac = hmac.new(secret, _CONTEXT_PREFIX + context.encode("utf-8") + b"\0", hashlib.sha256)
    mac.update(data)
    return mac.hexdigest()


def sign(data, context):
    """This user's signature of ``data`` in ``context`` (making the secret if needed).

    Parameters
    ----------
    data : bytes
    context : str
        What ``data`` is (e.g. ``"ensemble/Drama"``): a signature verifies only in
        its own context.

    Returns
    -------
    signature : dict
        ``{"signer": ..., "hmac": ...}``, JSON-ready.
    """
    secret = _secret(create=True)
    return {"signer": _signer(secret), "hmac": _mac(secret, data, context)}


def is_signature(value):
    """Whether ``value`` has a signature's form (as a record field).

    Examples
    --------
    >>> is_signature({"signer": "ab", "hmac": "cd"}), is_signature({"hmac": 1})
    (True, False)
    """
    return isinstance(value, dict) and set(value) == {"signer", "hmac"} and \
        all(isinstance(part, str) and len(part) <= 128 for part in value.values())


def verify(data, context, signature):
    """None if ``signature`` is this user's for ``data`` in ``context``; else why not.

    Never makes a secret: without one, nothing was signed here.

    Returns
    -------
    reason : str or None
        :data:`UNSIGNED`, :data:`ELSEWHERE` or :data:`MISMATCH`.
    """
    if not is_signature(signature):
        return UNSIGNED
    secret = _secret(create=False)
    if secret is None or not hmac.compare_digest(signature["signer"], _signer(secret)):
        return ELSEWHERE
    if not hmac.compare_digest(signature["hmac"], _mac(secret, data, context)):
        return MISMATCH
    return None
