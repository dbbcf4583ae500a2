"""A run's tile scores are computed once (evaluate) and only read afterwards."""
import hashlib
import json
import os
import shutil

import numpy as np
import pytest

from soundtrack_cnn.cli import main
from soundtrack_cnn.errors import InputError
from soundtrack_cnn.experiment.scores import read_scores, score_run
from soundtrack_cnn.inference.model import load_model


def _folder_hashes(folder):
    hashes = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as stream:
                hashes[os.path.relpath(path, folder)] = hashlib.sha256(stream.read()).hexdigest()
    return hashes


@pytest.fixture
def run_copy(two_tag_run, tmp_path):
    copy = str(tmp_path / "run")
    shutil.copytree(two_tag_run, copy)
    return copy


def test_scores_are_the_models_tile_scores_on_every_split(run_copy):
    from soundtrack_cnn.experiment.tracksets import track_sets
    from soundtrack_cnn.training.dataset import TileView
    scores, record = read_scores(run_copy)
    store, genres, sets = track_sets(run_copy)
    model = load_model(run_copy, "ensemble", settings=store.settings, engine=record["engine"])
    for split in ("train", "valid", "test"):
        expected = model.predict_tiles(TileView(store.tiles, sets[split].rows))
        assert np.array_equal(scores["specialists"][split], expected)
        assert scores["single net"][split].shape == (len(sets[split].rows), len(genres))
    assert record["models"]["specialists"]["mean_valid_loss"] == model.mean_valid_loss_


def test_reading_a_run_writes_nothing(run_copy, two_tag_corpus, capsys):
    # Every output exists once; then every command that reads the run runs again.
    main(["compare", run_copy, "--bootstrap", "5"])
    main(["report", run_copy])
    before = _folder_hashes(run_copy)
    audio = os.path.join(os.path.dirname(two_tag_corpus), "track00.wav")
    main(["predict", run_copy, audio])
    assert _folder_hashes(run_copy) == before
    main(["evaluate", run_copy])
    main(["report", run_copy])
    main(["compare", run_copy, "--bootstrap", "5"])
    after = _folder_hashes(run_copy)
    changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    assert changed == []


def test_stale_or_damaged_scores_are_refused(run_copy):
    path = os.path.join(run_copy, "scores.npz")
    with open(path, "ab") as stream:
        stream.write(b"x")
    with pytest.raises(InputError, match="does not match"):
        read_scores(run_copy)
    score_run(run_copy)
    record_path = os.path.join(run_copy, "multilabel.json")
    record = json.load(open(record_path))
    with open(record_path, "w") as stream:
        json.dump(dict(record, retrained=True), stream)
    with pytest.raises(InputError, match="single net changed after it was scored"):
        read_scores(run_copy)
