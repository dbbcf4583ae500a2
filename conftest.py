"""The ``slow`` marker, for tests and docstring examples alike (`pytest -m "not slow"`).

At the root so that it also applies when only the package's doctests are collected.
"""
import re

import pytest

#: Session fixtures that train nets or extract a corpus: a test using one is slow.
_SLOW_FIXTURES = {"fitted_net", "two_tag_store", "two_tag_run"}
#: Docstring examples that train a net or extract a corpus (doctests carry no
#: markers, so they are recognised by what they call).
_SLOW_EXAMPLE = re.compile(r"\b(extract|generate_corpus|train_net|embed_tiles|pretrain)\(|"
                           r"\.fit\(X, [yY], groups|ContrastivePretrainer\(")


def pytest_collection_modifyitems(items):
    for item in items:
        examples = getattr(getattr(item, "dtest", None), "examples", ())
        if (_SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
                or any(_SLOW_EXAMPLE.search(example.source) for example in examples)):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _fast_loop_trains_no_net(request, monkeypatch):
    """A test (or docstring example) that trains a net without being slow fails."""
    if request.node.get_closest_marker("slow"):
        return
    import soundtrack_cnn  # noqa: F401  (compatibility shims before nolearn)
    from nolearn.lasagne import NeuralNet

    def refuse(*args, **kwargs):
        raise AssertionError("{} trains a net: mark it slow (or use a trained-net fixture)"
                             .format(request.node.nodeid))
    monkeypatch.setattr(NeuralNet, "fit", refuse)
