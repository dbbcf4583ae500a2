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


@pytest.mark.parametrize("argv, message", [
    (["train", "s", "--out", "r", "--max-epochs", "0"], "--max-epochs: must be a positive integer, got 0"),
    (["train", "s", "--out", "r", "--max-epochs", "-3"], "--max-epochs: must be a positive integer"),
    (["train", "s", "--out", "r", "--seed", "-5"], "--seed: a seed must be between 0 and 4294967295"),
    (["train", "s", "--out", "r", "--genres", "Drama", "Drama"], "--genres: Drama is given twice"),
    (["run", "--seed", "x"], "--seed: 'x' is not an integer"),
    (["run", "--jobs", "0"], "--jobs: must be a number of processes, or -1"),
    (["compare", "r", "--bootstrap", "0"], "--bootstrap: must be a positive integer, got 0"),
    (["features", "m.csv", "--out", "s", "--jobs", "0"], "--jobs: must be a number of processes"),
    (["features", "m.csv", "--out", "s", "--stall-timeout", "0"], "--stall-timeout: must be a positive"),
    (["corpus", "c", "--seed", "-1"], "--seed: a seed must be between"),
    (["collection", "m.csv", "--min-tracks", "0"], "--min-tracks: must be a positive integer"),
    (["label", "d", "--imdb", "b.tsv.gz", "--out", "m.csv", "--genres", "Drama", "Drama"],
     "--genres: Drama is given twice"),
])
def test_numeric_and_list_arguments_are_checked_before_anything_runs(argv, message, capsys,
                                                                     monkeypatch,
                                                                     tmp_path):
    monkeypatch.chdir(str(tmp_path))  # nothing may be created, whatever the command
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and "Traceback" not in err, err
    assert os.listdir(str(tmp_path)) == []


def test_the_command_table_names_what_each_module_registers():
    import argparse
    import importlib
    from soundtrack_cnn.cli import COMMANDS
    registered = {}
    for name in set(COMMANDS.values()):
        commands = argparse.ArgumentParser().add_subparsers()
        importlib.import_module("soundtrack_cnn.cli." + name).register(commands)
        registered.update(dict.fromkeys(commands.choices, name))
    assert registered == COMMANDS


def test_a_command_builds_only_its_own_parser_and_help_lists_every_command():
    # A fresh process: predict's and film's parsers must not import the corpus, the
    # training code, scikit-learn or the film analysis (they read light constants).
    for command in ("predict", "film"):
        script = ("import sys; from soundtrack_cnn.cli import build_parser; "
                  "build_parser({!r}); "
                  "print(sorted(m for m in ('soundtrack_cnn.collection.corpus', "
                  "'soundtrack_cnn.experiment.profiles', 'soundtrack_cnn.cli.training', "
                  "'sklearn', 'soundtrack_cnn.film.analysis', 'matplotlib', 'theano') "
                  "if m in sys.modules))".format(command))
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        assert result.returncode == 0 and result.stdout.strip() == "[]", (command, result)
    from soundtrack_cnn.cli import COMMANDS
    listing = _cli("--help").stdout
    assert all(command in listing for command in COMMANDS)
