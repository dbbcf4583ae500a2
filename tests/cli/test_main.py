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
    (["train", "s", "--out", "r", "--max-epochs", "0"],
     "--max-epochs: must be a whole number of epochs, at least 1; got 0"),
    (["train", "s", "--out", "r", "--max-epochs", "-3"], "--max-epochs: must be a whole number"),
    (["train", "s", "--out", "r", "--seed", "-5"],
     "--seed: must be a seed, a whole number from 0 to 4294967295; got -5"),
    (["train", "s", "--out", "r", "--genres", "Drama", "Drama"], "--genres: Drama is given twice"),
    (["run", "--seed", "x"], "--seed: must be a seed, a whole number from 0 to 4294967295; got x"),
    (["run", "--jobs", "0"], "--jobs: must be a number of processes from 1 to "),
    (["run", "--jobs", "100000"], "or -1 for every core (-2 all but one, down to -"),
    (["compare", "r", "--bootstrap", "0"],
     "--bootstrap: must be a whole number of resamples, from 1 to 100000; got 0"),
    (["features", "m.csv", "--out", "s", "--jobs", "0"], "--jobs: must be a number of processes"),
    (["features", "m.csv", "--out", "s", "--stall-timeout", "0"],
     "--stall-timeout: must be a number of seconds, above 0"),
    (["features", "m.csv", "--out", "s", "--stall-timeout", "inf"], "seconds, above 0 and at most"),
    (["corpus", "c", "--seed", "-1"], "--seed: must be a seed"),
    (["collection", "m.csv", "--min-tracks", "0"],
     "--min-tracks: must be a whole number of tracks, at least 1; got 0"),
    (["predict", "r", "a.flac", "--top", "nan"], "--top: must be a whole number of tags"),
    (["label", "d", "--imdb", "b.tsv.gz", "--out", "m.csv", "--genres", "Drama", "Drama"],
     "--genres: Drama is given twice"),
    # film's numbers (issue 32 N13: inf overflowed, -5 and 99999999999 failed in numpy,
    # nan and 10 dB were taken, 0 resamples left the intervals empty).
    (["film", "r", "a.flac", "--out", "o", "--min-cue", "inf"],
     "--min-cue: must be a number of seconds, above 0 and at most 86400; got inf"),
    (["film", "r", "a.flac", "--out", "o", "--min-cue", "0"], "--min-cue: must be a number of "),
    (["film", "r", "a.flac", "--out", "o", "--min-silence", "inf"], "--min-silence: must be a "
                                                                     "number of seconds"),
    (["film", "r", "a.flac", "--out", "o", "--seed", "-5"], "--seed: must be a seed"),
    (["film", "r", "a.flac", "--out", "o", "--seed", "99999999999"], "--seed: must be a seed"),
    (["film", "r", "a.flac", "--out", "o", "--silence-db", "nan"],
     "--silence-db: must be a level in dB relative to full-scale white noise"),
    (["film", "r", "a.flac", "--out", "o", "--silence-db", "10"], "from -200 to below 0; got 10"),
    (["film", "r", "a.flac", "--out", "o", "--bootstrap", "0"],
     "--bootstrap: must be a whole number of resamples, from 1 to 100000; got 0"),
    (["film", "r", "a.flac", "--out", "o", "--fps", "23.976"],
     "--fps: must be a whole number of frames per second, from 1 to 1000; got 23.976"),
    (["film", "r", "a.flac", "--out", "o", "--min-share", "1.5"],
     "--min-share: must be a share of the tiles, from 0 to 1; got 1.5"),
    (["film", "r", "a.flac", "--out", "o", "--quantile", "1"], "--quantile: must be a share"),
    (["film", "r", "a.flac", "--out", "o", "--top", "0"], "--top: must be a whole number of genres"),
])
def test_numeric_and_list_arguments_are_checked_before_anything_runs(argv, message, capsys,
                                                                     monkeypatch,
                                                                     tmp_path):
    monkeypatch.chdir(str(tmp_path))  # nothing may be created, whatever the command
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1  # one line, no usage block
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


#: A child that runs ``main`` and sends itself SIGINT while the command's modules
#: are imported (the first ~0.3 s of every command, where Ctrl-C used to print a
#: traceback: the parser was built outside main's handlers).
_CTRL_C_DURING_IMPORTS = """
import importlib, os, signal, sys
from soundtrack_cnn import cli
real = importlib.import_module
def import_module(name, package=None):
    os.kill(os.getpid(), signal.SIGINT)
    return real(name, package)
cli.importlib.import_module = import_module
cli.main(["predict", "run", "a.flac"])
"""

#: A child whose command gets SIGTERM inside code that swallows the KeyboardInterrupt
#: and raises its own, as nolearn and the ensemble's training do (train gave 130).
_SIGTERM_REWRAPPED = """
import os, signal, time
from soundtrack_cnn import cli
from soundtrack_cnn.cli import training
def train(args):
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    except KeyboardInterrupt:
        pass  # nolearn returns a half-trained net...
    raise KeyboardInterrupt("training of Drama was interrupted")  # ...which is not saved
training._train = train
cli.main(["train", "store", "--out", "run"])
"""


#: The command's launcher, with SIGINT (or SIGTERM) arriving while it imports the package.
_SIGNAL_WHILE_THE_PACKAGE_IMPORTS = """
import os, signal, sys, time
import soundtrack_cnn_command
class Trap(object):
    def find_spec(self, name, path=None, target=None):
        if name == "soundtrack_cnn":
            os.kill(os.getpid(), signal.{})
            time.sleep(5)
sys.meta_path.insert(0, Trap())
sys.argv = ["soundtrack-cnn", "predict", "run", "a.flac"]
soundtrack_cnn_command.main()
"""


@pytest.mark.parametrize("code, status, line", [
    (_CTRL_C_DURING_IMPORTS, 130, "soundtrack-cnn: interrupted; finished work is saved"),
    (_SIGNAL_WHILE_THE_PACKAGE_IMPORTS.format("SIGINT"), 130,
     "soundtrack-cnn: interrupted; finished work is saved"),
    (_SIGNAL_WHILE_THE_PACKAGE_IMPORTS.format("SIGTERM"), 143,
     "soundtrack-cnn: terminated (SIGTERM); finished work is saved"),
    (_SIGTERM_REWRAPPED, 143, "soundtrack-cnn: terminated (SIGTERM); finished work is saved"),
])
def test_a_signal_at_any_moment_is_one_line_and_its_own_status(code, status, line, tmp_path):
    from processes import sigint_default
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=str(tmp_path), preexec_fn=sigint_default, timeout=120)
    assert result.returncode == status and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [line + ", rerun the same command to resume."]


def test_a_file_name_cannot_act_on_the_terminal(tmp_path):
    # An escape sequence in a name retitled or cleared the user's terminal.
    name = str(tmp_path / "x\x1b]0;owned\x07\x1b[2J.flac")
    result = _cli("reconstruct", name, str(tmp_path / "out.wav"))
    assert result.returncode == 2 and "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "x\\x1b]0;owned\\x07\\x1b[2J.flac: no such file" in result.stderr


def test_a_remedy_is_named_as_the_command_that_does_it():
    from soundtrack_cnn.cli import describe_error
    from soundtrack_cnn.errors import InputError
    from soundtrack_cnn.training.checkpoint import upgrade_remedy
    for kind in ("ensemble", "multilabel"):  # upgrade upgrades both kinds: no option for it
        fix = upgrade_remedy("runs/x", kind)
        message = describe_error(InputError("{} writes it".format(fix), remedy=fix))
        assert message == "`soundtrack-cnn upgrade runs/x --trust-pickles` writes it", kind
