"""Keyed signatures: this user's secret, made once and safely; three reasons for distrust."""
import os
import stat
import threading

import pytest

from soundtrack_cnn import signing
from soundtrack_cnn.errors import InputError


@pytest.fixture
def secret(tmp_path, monkeypatch):
    path = str(tmp_path / "keys" / "secret")
    monkeypatch.setenv(signing.SECRET_ENV, path)
    return path


def test_the_secret_is_made_on_first_signature_private_and_outside_the_data(secret):
    assert not os.path.exists(secret)
    assert signing.verify(b"data", "ensemble/A", None) == signing.UNSIGNED
    assert not os.path.exists(secret)  # verifying never makes one
    signature = signing.sign(b"data", "ensemble/A")
    mode = os.stat(secret).st_mode
    assert stat.S_IMODE(mode) == 0o600 and stat.S_ISREG(mode)
    assert os.path.getsize(secret) == signing.SECRET_BYTES
    assert signing.verify(b"data", "ensemble/A", signature) is None
    assert signing.sign(b"data", "ensemble/A") == signature  # the same secret, kept


def test_processes_signing_at_once_share_one_secret(secret):
    signatures = []

    def sign():
        try:
            signatures.append(signing.sign(b"x", "c"))
        except Exception as error:  # reported below, not lost in the thread
            signatures.append(error)

    threads = [threading.Thread(target=sign) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(signatures) == 8 and all(isinstance(s, dict) for s in signatures), signatures
    assert len({s["hmac"] for s in signatures}) == 1
    assert [name for name in os.listdir(os.path.dirname(secret))] == ["secret"]


def test_each_kind_of_distrust_has_its_reason(secret, tmp_path, monkeypatch):
    signature = signing.sign(b"pickle", "ensemble/Drama")
    assert signing.verify(b"pickle!", "ensemble/Drama", signature) == signing.MISMATCH
    assert signing.verify(b"pickle", "ensemble/Crime", signature) == signing.MISMATCH
    assert signing.verify(b"pickle", "ensemble/Drama", {"hmac": 3}) == signing.UNSIGNED
    monkeypatch.setenv(signing.SECRET_ENV, str(tmp_path / "another user" / "secret"))
    assert signing.verify(b"pickle", "ensemble/Drama", signature) == signing.ELSEWHERE
    signing.sign(b"other", "ensemble/Drama")  # that user has a secret now: still not theirs
    assert signing.verify(b"pickle", "ensemble/Drama", signature) == signing.ELSEWHERE


def test_a_file_that_is_not_a_secret_is_refused_in_one_line(secret):
    os.makedirs(os.path.dirname(secret))
    with open(secret, "wb") as stream:
        stream.write(b"short")
    os.chmod(secret, 0o600)
    with pytest.raises(InputError, match="not a signing secret"):
        signing.sign(b"data", "c")
    os.unlink(secret)
    os.mkfifo(secret, 0o600)  # refused at once, not waited on
    with pytest.raises(InputError, match="not a regular file"):
        signing.verify(b"data", "c", {"signer": "x", "hmac": "y"})


def test_a_secret_others_can_read_or_write_is_refused_until_it_is_private_again(secret):
    signature = signing.sign(b"data", "c")
    for mode in (0o644, 0o620, 0o604):
        os.chmod(secret, mode)
        for use in (lambda: signing.sign(b"data", "c"),
                    lambda: signing.verify(b"data", "c", signature)):
            with pytest.raises(InputError, match=r"open to others \(mode 0{:o}\).*chmod 600".format(
                    mode)):
                use()
    os.chmod(secret, 0o400)  # stricter than 0600 is fine
    assert signing.verify(b"data", "c", signature) is None


def test_the_default_secret_lives_in_the_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(signing.SECRET_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert signing.secret_path() == str(tmp_path / "soundtrack_cnn" / "secret")
    monkeypatch.delenv("XDG_DATA_HOME")
    assert signing.secret_path() == os.path.join(
        os.path.expanduser("~"), ".local", "share", "soundtrack_cnn", "secret")
