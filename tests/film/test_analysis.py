"""analyse_film end to end on inputs built from the corpus, with the fixture's trained nets."""
import csv
import json
import os

import numpy as np
import pytest
import soundfile
from film_audio import SR, corpus_track, noise

from soundtrack_cnn.errors import InputError
from soundtrack_cnn.film import analyse_film
from soundtrack_cnn.film.verdict import ABSTAIN
from soundtrack_cnn.inference.model import load_model


@pytest.mark.slow
def test_two_tracks_around_silence_and_noise_give_two_cues(two_tag_run, joined_film, tmp_path):
    path, truth = joined_film
    before = {name: os.stat(os.path.join(two_tag_run, name)).st_mtime_ns
              for name in os.listdir(two_tag_run)}
    analysis = analyse_film(two_tag_run, path, out=str(tmp_path), min_cue=5)
    # Reading a run never writes into it.
    assert {name: os.stat(os.path.join(two_tag_run, name)).st_mtime_ns
            for name in os.listdir(two_tag_run)} == before
    tile = analysis.source.tile_seconds
    cues = [s for s in analysis.segments if s.kind == "cue"]
    assert len(cues) == 2, [s.to_dict(analysis.genres) for s in analysis.segments]
    for cue, name in zip(cues, ("Low", "High")):
        start, end = truth[name]
        assert abs(cue.start - start) <= tile and abs(cue.end - end) <= tile
        assert analysis.genres[int(np.argmax(cue.scores))] == name
    # The gap: every tile centred in the silence or the noise is out of distribution.
    centres = analysis.source.starts + tile / 2
    gap = (centres > truth["silence"][0]) & (centres < truth["noise"][1])
    assert gap.any() and not analysis.in_distribution[gap].any()
    assert any(a <= truth["silence"][0] + 1 and b >= truth["silence"][1] - 1
               for a, b in analysis.gaps)
    # What was written says the same.
    with open(str(tmp_path / "cues.csv")) as stream:
        rows = list(csv.DictReader(stream))
    assert [r["genre_1"] for r in rows if r["kind"] == "cue"] == ["Low", "High"]
    # Strict JSON (no Infinity for the silent tiles' distance).
    record = json.loads((tmp_path / "verdict.json").read_text(), parse_constant=pytest.fail)
    assert record["version"] and record["run"] == os.path.abspath(two_tag_run)
    assert not record["verdict"]["abstained"]
    assert os.path.getsize(str(tmp_path / "film.html")) > 1000


@pytest.mark.slow
def test_verdict_of_one_track_is_its_predict_ranking(two_tag_run, two_tag_corpus):
    model = load_model(two_tag_run, engine="numpy")  # the film's default engine
    for number in (30, 31):
        track = os.path.join(os.path.dirname(two_tag_corpus), "track{:02d}.wav".format(number))
        # predict ranks the uncalibrated mean; a compare test may already have
        # written a calibration into the shared run, which film would use.
        analysis = analyse_film(two_tag_run, track, min_cue=10, n_boot=100, calibrated="none")
        expected = model.predict_tracks([track], k=2)[0]
        ranked = analysis.verdict["genres"]
        assert [g["genre"] for g in ranked] == [g for g, _ in expected.top]
        if analysis.in_distribution.all():
            np.testing.assert_allclose([g["share"] for g in ranked], [s for _, s in expected.top],
                                       rtol=1e-6)


@pytest.mark.slow
def test_noise_only_abstains(two_tag_run, tmp_path):
    path = str(tmp_path / "noise.wav")
    soundfile.write(path, noise(60, seed=4), SR)
    analysis = analyse_film(two_tag_run, path, out=str(tmp_path / "out"))
    assert analysis.verdict["abstained"] and analysis.verdict["reason"].startswith(ABSTAIN)
    assert analysis.verdict["genres"] == [] and not analysis.in_distribution.any()
    assert '"abstained": true' in (tmp_path / "out" / "film.html").read_text()


@pytest.mark.slow
def test_an_album_in_a_folder_is_taken_in_name_order(two_tag_run, two_tag_corpus, tmp_path):
    album = tmp_path / "album"
    album.mkdir()
    soundfile.write(str(album / "02 high.wav"), corpus_track(two_tag_corpus, 33), SR)
    soundfile.write(str(album / "01 low.wav"), corpus_track(two_tag_corpus, 32), SR)
    soundfile.write(str(album / "03 sting.wav"), corpus_track(two_tag_corpus, 34)[:3 * SR], SR)
    analysis = analyse_film(two_tag_run, str(album), min_cue=10, n_boot=50)
    files = analysis.source.files
    assert [os.path.basename(f.path) for f in files] == ["01 low.wav", "02 high.wav", "03 sting.wav"]
    assert files[1].offset == pytest.approx(files[0].duration)
    assert files[2].skipped.startswith("too short")
    cues = [s for s in analysis.segments if s.kind == "cue"]
    # A file boundary ends a cue: one cue per file, each with its own genre.
    assert [s.file for s in cues] == [0, 1]
    assert [analysis.genres[int(np.argmax(s.scores))] for s in cues] == ["Low", "High"]


@pytest.mark.parametrize("options, message", [
    ({"min_cue": 0}, "min_cue must be a positive number of seconds"),
    ({"min_silence": float("nan")}, "min_silence must be a positive number of seconds"),
    ({"min_share": 1.5}, "min_share must be a share between 0 and 1"),
    ({"quantile": 1}, "quantile must be a share between 0 and 1"),
    ({"n_boot": -5}, "n_boot must be a whole number >= 0"),
    ({"top": 0}, "top must be a whole number >= 1"),
    ({"silence_db": float("inf")}, "silence_db must be a finite level in dB"),
    ({"calibrated": "sigmoid"}, "calibrated must be one of auto, none, platt, isotonic"),
    ({"calibrated": "platt", "pooling": "max"}, "a calibration maps mean-pooled scores"),
])
def test_every_option_is_checked_before_anything_is_read(options, message, tmp_path):
    # The checks the command line used to make live here: a notebook gets them too.
    with pytest.raises(InputError, match=message):
        analyse_film(str(tmp_path / "no-run"), str(tmp_path / "no.wav"), **options)


@pytest.mark.slow
@pytest.mark.parametrize("suffix, engine", [(".onnx", "onnx"), (".npz", "numpy")])
def test_an_exported_model_gives_the_same_cues_and_verdict_as_its_run(
        two_tag_run, joined_film, tmp_path, suffix, engine):
    from soundtrack_cnn.experiment.export import export_model
    if engine == "onnx":
        pytest.importorskip("onnxruntime")
    path, _ = joined_film
    model = export_model(two_tag_run, str(tmp_path / ("model" + suffix)))
    # The run may hold a calibration (compare wrote one); a model file holds none.
    analyse_film(two_tag_run, path, out=str(tmp_path / "run"), calibrated="none", n_boot=200,
                 engine=engine)
    # The run folder is not needed: the model file alone, elsewhere.
    alone = tmp_path / "alone"
    alone.mkdir()
    os.rename(model, str(alone / os.path.basename(model)))
    analyse_film(str(alone / os.path.basename(model)), path, out=str(tmp_path / "file"),
                 n_boot=200)
    for name in ("cues.csv",):
        assert (tmp_path / "run" / name).read_bytes() == (tmp_path / "file" / name).read_bytes()
    verdicts = [json.loads((tmp_path / folder / "verdict.json").read_text())
                for folder in ("run", "file")]
    for verdict in verdicts:
        assert verdict.pop("seconds") >= 0 and verdict.pop("run")
    assert verdicts[0] == verdicts[1]
    assert verdicts[0]["novelty"]["training_silence_db"] == -70.0


def test_a_model_file_without_a_reference_is_refused_in_one_line(tmp_path):
    from soundtrack_cnn.training.modelfiles import write_weights
    rng = np.random.RandomState(0)
    shapes = {"conv1": (4, 1, 5, 5), "conv2": (4, 4, 4, 4), "conv3": (4, 4, 2, 2),
              "conv4": (4, 4, 2, 2), "hidden5": (16, 4), "hidden6": (4, 4), "output": (4, 1)}
    params = {genre: {name: [rng.randn(*shape).astype(np.float32),
                             np.zeros(shape[0] if name.startswith("conv") else shape[1],
                                      np.float32)] for name, shape in shapes.items()}
              for genre in ("Low", "High")}
    from soundtrack_cnn.audio.features import FeatureSettings
    metadata = {"kind": "ensemble", "genres": ["Low", "High"],
                "feature_settings": FeatureSettings().to_dict(),
                "normalizer": {"mean": [0.0] * 40, "std": [1.0] * 40},
                "hyperparameters": dict(c1=4, c2=4, c3=4, c4=4, h5=4, h6=4), "summaries": {}}
    model = str(tmp_path / "old.npz")
    write_weights(model, metadata, params)
    audio = str(tmp_path / "a.wav")
    soundfile.write(audio, 0.1 * np.sin(np.arange(22050 * 8) * 0.05), 22050)
    with pytest.raises(InputError, match="old.npz: the model carries no in-distribution "
                                         "reference .*export it again"):
        analyse_film(model, audio)
    with pytest.raises(InputError, match="a model file carries no calibration"):
        analyse_film(model, audio, calibrated="platt")
