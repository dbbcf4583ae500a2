"""Splits by film: a manifest's ``film`` column keeps every film's tracks in one split."""
import json
import os

import numpy as np
import pytest
import soundfile

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.experiment import prepare_run
from soundtrack_cnn.manifest import Track, read_manifest, write_manifest
from soundtrack_cnn.splits import assign_splits
from soundtrack_cnn.store import FeatureStore, extract


def _films(n_films=40, seed=0):
    """{track_id: film} for films of 1 to 12 tracks."""
    rng = np.random.RandomState(seed)
    return {"f{:02d}-t{:02d}".format(f, t): "film{:02d}".format(f)
            for f in range(n_films) for t in range(rng.randint(1, 13))}


def test_no_film_is_in_two_splits_and_shares_stay_near_the_fractions():
    groups = _films()
    for seed in range(5):
        splits = assign_splits(list(groups), seed=seed, groups=groups)
        by_film = {}
        for tid, film in groups.items():
            by_film.setdefault(film, set()).add(splits[tid])
        assert all(len(names) == 1 for names in by_film.values())
        share = {name: list(splits.values()).count(name) / len(splits)
                 for name in ("train", "valid", "test")}
        assert abs(share["train"] - 0.7) < 0.1 and min(share.values()) > 0.05, share


def test_without_groups_the_draw_is_the_per_track_draw():
    ids = ["track{:03d}".format(i) for i in range(50)]
    singles = {tid: tid for tid in ids}          # every track its own film
    assert assign_splits(ids, seed=2) == assign_splits(ids, seed=2, groups={})
    assert sorted(assign_splits(ids, seed=2, groups=singles).values()) == \
        sorted(assign_splits(ids, seed=2).values())


def test_a_given_split_takes_the_whole_film_and_conflicts_are_errors():
    groups = {"a1": "A", "a2": "A", "a3": "A", "b1": "B"}
    splits = assign_splits(list(groups), given={"a2": "valid"}, groups=groups)
    assert [splits[t] for t in ("a1", "a2", "a3")] == ["valid"] * 3
    with pytest.raises(InputError, match="film 'A'"):
        assign_splits(list(groups), given={"a1": "test", "a2": "train"}, groups=groups)


def test_film_goes_from_manifest_through_the_store_to_the_run_splits(tmp_path):
    rng = np.random.RandomState(0)
    tracks = []
    for tid, film in sorted(_films(n_films=12, seed=1).items()):
        path = str(tmp_path / "audio" / (tid + ".wav"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        soundfile.write(path, (0.1 * rng.randn(8000 * 6)).astype(np.float32), 8000)
        tracks.append(Track(path, ("Drama", "Action") if rng.rand() < .5 else ("Comedy",),
                            tid, None, film))
    manifest = str(tmp_path / "manifest.csv")
    write_manifest(manifest, tracks)
    assert open(manifest).readline().strip() == "path,tags,track_id,split,film"
    assert [t.film for t in read_manifest(manifest)] == [t.film for t in tracks]
    store = str(tmp_path / "store")
    extract(manifest, store, jobs=1, progress=False)
    assert {t.track_id: t.film for t in FeatureStore(store).tracks} == \
        {t.track_id: t.film for t in tracks}
    record = prepare_run(str(tmp_path / "run"), store, "small", seed=0)
    by_film = {}
    for track in tracks:
        by_film.setdefault(track.film, set()).add(record["splits"][track.track_id])
    assert all(len(names) == 1 for names in by_film.values())
    assert len(set.union(*by_film.values())) == 3
    # A corrected film column re-tags the store without extracting again.
    write_manifest(manifest, [Track(t.path, t.tags, t.track_id, None, "one") for t in tracks])
    summary = extract(manifest, store, jobs=1, progress=False)
    assert summary.already_done == len(tracks) and summary.ok == 0
    assert {t.film for t in FeatureStore(store).tracks} == {"one"}
    with open(os.path.join(str(tmp_path / "run"), "experiment.json")) as stream:
        assert json.load(stream)["splits"] == record["splits"]
