"""From the command line: an unlabelled store, pretrain, train --init, evaluate with the probe."""
import json
import os
import shutil

import pytest

from soundtrack_cnn.cli import main


def _fails(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    err = capsys.readouterr().err
    assert exit.value.code == 2 and err.count("\n") == 1, err
    return err


@pytest.mark.slow
def test_unlabelled_folder_store_pretrain_then_fine_tune_and_probe(two_tag_corpus, two_tag_store,
                                                                   tmp_path, capsys):
    folder = tmp_path / "unlabelled"
    folder.mkdir()
    for i in range(3):
        shutil.copy(os.path.join(os.path.dirname(two_tag_corpus), "track{:02d}.wav".format(i)),
                    str(folder))
    store = str(tmp_path / "unlabelled-store")
    main(["features", str(folder), "--out", store, "--jobs", "1"])
    capsys.readouterr()
    assert "without tags" in _fails(["train", store, "--out", str(tmp_path / "refused")], capsys)

    trunk = str(tmp_path / "trunks" / "two-tags.npz")
    main(["pretrain", two_tag_store, "--out", trunk, "--epochs", "1", "--batch", "8"])
    out = capsys.readouterr().out
    assert " tiles of 30 tracks" in out and "epoch 1/1: loss" in out and "sha256" in out
    provenance = json.load(open(trunk[:-4] + ".json"))
    assert provenance["command"] == ("soundtrack-cnn pretrain {} --out {} --objective contrastive "
                                     "--tag-weight 1.0 --epochs 1 --batch 8 "
                                     "--temperature 0.5 --rate 0.01 --seed 0 --jobs 1".format(
                                         two_tag_store, trunk))
    assert provenance["n_params"] == 251739 - 51
    assert provenance["parameters"]["threads"] == 1  # --jobs 1: the weights of one thread

    unlabelled_trunk = str(tmp_path / "trunks" / "from-tags.npz")
    assert "no tile has training tags" in _fails(
        ["pretrain", store, "--out", unlabelled_trunk, "--objective", "tags", "--batch", "2"],
        capsys)
    assert not os.path.exists(unlabelled_trunk)

    assert "--freeze-conv needs --init" in _fails(
        ["train", two_tag_store, "--out", str(tmp_path / "x"), "--freeze-conv"], capsys)
    run = str(tmp_path / "run")
    main(["train", two_tag_store, "--out", run, "--profile", "small", "--max-epochs", "2",
          "--genres", "Low", "High", "--init", trunk])
    assert "starts from the trunk" in capsys.readouterr().out
    assert json.load(open(os.path.join(run, "ensemble.json")))["init"]["trunk"] == trunk
    main(["evaluate", run])
    evaluation = capsys.readouterr().out
    assert "fine-tuned from the trunk" in evaluation
    assert "linear probe of trunk two-tags.npz" in evaluation
