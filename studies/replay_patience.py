"""Patience chosen on validation curves: replay ``studies/tune_real.py`` logs with early stopping.

``tune_real.py`` trains every epoch (patience = epochs) and prints each
net's validation-track curve as one JSON line.  This replays those curves
with the package's stopping rule (:class:`~soundtrack_cnn.training.callbacks.EarlyStopping`
with ``monitor='valid_auc'``: stop once ``patience`` epochs pass without a
higher AUC; the best epoch seen is kept) and prints, per candidate and
patience, the kept nets' mean validation-track AUC over genres and seeds and
the mean epoch at which training stopped.  No net is trained; test tracks are
never touched.

    .venv/bin/python studies/replay_patience.py runs/tune-logs/seeds-*.log --patience 4 8 12 16 20
"""
import argparse
import collections
import json

import numpy as np

import soundtrack_cnn  # noqa: F401  (compatibility shims first)
from soundtrack_cnn.training.callbacks import EarlyStopping


class _Unweighted(object):
    """Stands in for the net: a replay has curves, not weights to keep."""

    @staticmethod
    def get_all_params_values():
        return None


def replay(curve, patience):
    """``(kept AUC, stopping epoch)`` of one curve of ``[updates, auc, loss]`` rows.

    The package's own :class:`EarlyStopping` decides, on the curve as its history.
    """
    stopper = EarlyStopping(patience=patience, verbose=False, monitor="valid_auc")
    history = []
    for epoch, (_, auc, loss) in enumerate(curve, start=1):
        history.append({"epoch": epoch, "valid_auc": auc, "valid_loss": loss})
        try:
            stopper(_Unweighted, history)
        except StopIteration:
            return stopper.best_auc, epoch
    return stopper.best_auc, len(curve)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("logs", nargs="+", help="output of studies/tune_real.py")
    parser.add_argument("--patience", type=int, nargs="+", default=[4, 8, 12, 16, 20])
    args = parser.parse_args()
    curves = collections.defaultdict(list)
    for path in args.logs:
        with open(path) as stream:
            for line in stream:
                if line.startswith("{") and '"curve"' in line:
                    record = json.loads(line)
                    curves[record["candidate"]].append(record["curve"])
    print("| candidate | curves | " + " | ".join(f"patience {p}" for p in args.patience)
          + " |")
    print("|---|---|" + "---|" * len(args.patience))
    for name, rows in curves.items():
        cells = []
        for patience in args.patience:
            kept = np.array([replay(curve, patience) for curve in rows])
            cells.append(f"{kept[:, 0].mean():.3f} (epoch {kept[:, 1].mean():.1f})")
        print("| {} | {} | {} |".format(name, len(rows), " | ".join(cells)))


if __name__ == "__main__":
    main()
