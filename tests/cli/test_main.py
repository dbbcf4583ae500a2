import json
import os
import subprocess
import sys

import pytest

from soundtrack_cnn.cli import main


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "soundtrack_cnn"] + list(args),
                          capture_output=True, text=True)


def test_predict_prints_ranked_tags_as_json_and_names_a_bad_file(two_tag_run, two_tag_corpus,
                                                                 tmp_path):
    good = os.path.join(os.path.dirname(two_tag_corpus), "track31.wav")
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not audio at all")
    result = _cli("predict", two_tag_run, good, str(bad), "--json", "--top", "2")
    assert result.returncode == 2
    predictions = json.loads(result.stdout)
    assert predictions[0]["top"][0][0] == "High" and predictions[0]["error"] is None
    assert "broken.wav" in predictions[1]["error"]


def test_compression_figures(capsys):
    main(["features", "--compression"])
    figures = json.loads(capsys.readouterr().out)
    assert figures and all(isinstance(value, (int, float, str)) for value in figures.values())


def test_bad_input_exits_2_with_one_line(tmp_path):
    result = _cli("evaluate", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("soundtrack-cnn: error:") and str(tmp_path) in result.stderr


def test_features_needs_a_manifest(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["features"])
    assert stop.value.code == 2 and "MANIFEST" in capsys.readouterr().err
