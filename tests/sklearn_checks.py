"""The scikit-learn estimator checks that apply to this package's estimators.

The others feed 2-D tables of numbers to ``fit(X, y)`` (check_fit2d_*,
check_estimators_dtypes, check_fit_score_takes_y, check_n_features_in,
check_dict_unchanged, check_dont_overwrite_parameters, check_fit_idempotent,
check_methods_subset_invariance, ...).  These estimators take 4-D tiles, or
whole tracks as (tile scores, ranges) pairs, by construction, so those cannot
apply; what does apply is the contract of the parameters: ``__init__`` only
stores them, defaults are plain values, ``get_params`` / ``set_params`` /
``clone`` work, and an unfitted model says so.
"""
from sklearn.utils import estimator_checks

#: Every estimator of the package passes these.
PARAMETER_CHECKS = ["check_parameters_default_constructible", "check_no_attributes_set_in_init",
                    "check_get_params_invariance", "check_set_params"]

#: For estimators whose ``predict`` / ``predict_proba`` take one array.
UNFITTED_CHECK = "check_estimators_unfitted"


def run_check(check, estimator):
    """Run scikit-learn's ``check`` on ``estimator`` (an AssertionError if it fails)."""
    getattr(estimator_checks, check)(type(estimator).__name__, estimator)
