"""How big a run is: the named profiles (``study``, ``demo``, ``small``) and default paths.

``study`` is the study's exact hyperparameters; ``demo`` is what ``make
train`` runs on two cores, on the bundled corpus and on real collections;
``small`` is for tests and the notebook.  Every profile keeps the study's
architecture, loss, optimiser and callbacks and differs only in the numbers
listed here.  Options beyond the study (training-time augmentation,
per-track normalisation) are on in none of them: they go on a profile of
your own, ``dataclasses.replace(get_profile("demo"), ...)``.
"""
import dataclasses
import os

from ..errors import InputError
from ..audio.features import FeatureSettings

__all__ = ["Profile", "PROFILES", "get_profile", "default_run_dir", "default_data_dir"]


@dataclasses.dataclass(frozen=True)
class Profile(object):
    """Corpus size, network overrides and feature settings of a run.

    Parameters
    ----------
    name : str
    corpus : str
        Size of the bundled corpus generated when no manifest is given.
    net_params : dict
        Overrides of the study's hyperparameters (see ``network.build_net``).
    settings : dict
        Overrides of ``FeatureSettings`` defaults.
    equal_updates : bool
        Also train the single multi-label net with as many weight updates as
        all specialists together (the fair comparison; costs as much again).
    init : str, optional
        A pretrained trunk every net starts from (an ``.npz`` path, or
        ``'pretrained'``, the one shipped with the package); None (every
        named profile): the study's random initial weights.
    freeze_conv : bool
        With ``init``: keep the trunk's convolutional blocks fixed.

    Examples
    --------
    >>> get_profile("small").net_params["epochs"]
    3
    """

    name: str
    corpus: str
    net_params: dict
    settings: dict = dataclasses.field(default_factory=dict)
    equal_updates: bool = False
    init: str = None
    freeze_conv: bool = False

    def feature_settings(self):
        return FeatureSettings(**self.settings)


PROFILES = {
    # The study's exact hyperparameters: up to 1000 epochs, patience 30, batch 1200.
    "study": Profile("study", corpus="demo", net_params={}),
    # `make train` on 2 cores in about 15 minutes.  The demo corpus has ~100x
    # fewer tiles than the study's, so batches of 32 (28 updates per epoch, not
    # one) and a 3x higher starting learning rate, still annealed to .0001 by
    # AdjustVariable; each specialist's batches are drawn class-balanced every
    # epoch, and the epoch with the best validation-track AUC is kept.  Chosen
    # on the validation tracks' learning curves only (studies/tune_demo.py;
    # docs/results/demo.md, "How the demo profile was chosen"): mean best validation AUC over the
    # ten genres was .963 with batch 64 in store order, .971 with batch 32 in
    # store order, .985 with batch 32 shuffled every epoch (Romance .92,
    # Horror .93, the rest 1.00) and .990 with batch 32 class-balanced
    # (Romance .96, Horror .94, the rest 1.00, reached in fewer epochs); the
    # lowest validation loss often falls on an early, prior-like epoch.
    # Everything else is the study's.
    #
    # It is also the profile for real collections: on the validation tracks of
    # the real-music development set (../shared/realmusic; studies/tune_real.py,
    # all five tags, three seeds, 20 epochs) its kept nets reached a macro
    # ROC-AUC of .934 (per seed .920-.954); no option beyond the study did
    # better (2.5 s training hop .928, time + coefficient masks .923, mixup
    # .926, 6 dB gain .934; per-track normalisation hurt: mean .878, mean +
    # variance .856).  Patience 8 vs the whole curve: .933 vs .934
    # (studies/replay_patience.py).  An ensemble of three seeds gained .004 for
    # three times the training.  Twenty epochs is what a 20-hour collection
    # affords in about an hour on two cores (training/budget.plan_training).
    "demo": Profile("demo", corpus="demo",
                    net_params={"epochs": 20, "batch": 32, "patience": 8, "rate": .03,
                                "shuffle": "balanced", "monitor": "valid_auc"}),
    # Tests and the notebook: seconds, not minutes.
    "small": Profile("small", corpus="small",
                     net_params={"epochs": 3, "batch": 64, "patience": 2}),
}


def get_profile(profile):
    """A :class:`Profile` from its name (or the profile itself)."""
    if isinstance(profile, Profile):
        return profile
    if profile not in PROFILES:
        raise InputError("unknown profile {!r}; choose one of {}".format(profile, sorted(PROFILES)))
    return PROFILES[profile]


def default_run_dir(profile):
    """Where a run of ``profile`` on the bundled corpus goes: ``runs/<profile>``.

    Examples
    --------
    >>> default_run_dir("demo")
    'runs/demo'
    """
    return os.path.join("runs", get_profile(profile).name)


def default_data_dir(profile):
    """Where the bundled corpus of ``profile`` is generated: ``data/<corpus size>``.

    Examples
    --------
    >>> default_data_dir("study")
    'data/demo'
    """
    return os.path.join("data", get_profile(profile).corpus)
