"""The pages' Python examples, run: on a trained run (the two-tag fixture) in place of
``runs/demo``, one of its tracks in place of ``film.flac``, its ONNX export in place of
``demo.onnx``.  Examples that train a whole run have their profile built and checked and
the training left to ``make train`` (the pipeline's own tests train)."""
import os
import re
import subprocess
import sys

import pytest

from test_pages import PAGES, ROOT, _blocks

pytestmark = pytest.mark.slow

EXAMPLES = [(page, code) for page in PAGES for language, code in _blocks(page) if language == "python"]


@pytest.fixture(scope="module")
def places(two_tag_run, two_tag_corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("examples")
    onnx = str(folder / "demo.onnx")
    subprocess.run([sys.executable, "-m", "soundtrack_cnn", "export", two_tag_run, onnx],
                   check=True, capture_output=True)
    return {"runs/demo": two_tag_run, "demo.onnx": onnx,
            "film.flac": os.path.join(os.path.dirname(two_tag_corpus), "track30.wav"),
            "path/to/manifest.csv": two_tag_corpus}, folder


@pytest.mark.parametrize("page, code", EXAMPLES,
                         ids=["{}-{}".format(os.path.relpath(p, ROOT), i) for i, (p, _) in enumerate(EXAMPLES)])
def test_every_python_example_runs(page, code, places, monkeypatch):
    substitutes, folder = places
    monkeypatch.chdir(folder)
    for name, path in substitutes.items():
        code = code.replace('"{}"'.format(name), repr(path))
    namespace = {}
    if "run_experiment(" in code:
        from soundtrack_cnn.experiment.profiles import Profile, get_profile
        calls = []

        def run_experiment(run_dir, profile="demo", manifest=None, **options):
            calls.append(get_profile(profile))
            assert os.path.exists(manifest)
        code = re.sub(r"^from soundtrack_cnn(\.experiment\.pipeline)? import run_experiment\n", "", code, flags=re.M)
        namespace["run_experiment"] = run_experiment
        exec(compile(code, page, "exec"), namespace)
        assert calls and all(isinstance(profile, Profile) for profile in calls)
        calls[-1].feature_settings()
        return
    exec(compile(code, page, "exec"), namespace)
