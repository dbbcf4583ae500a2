"""The names of the choices beyond the study, importable without scikit-learn.

The command line's parser offers them (``predict --calibrated``), and the
modules that fit and apply them check against them; this module imports
nothing, so building a parser does not load scikit-learn.
"""

__all__ = ["CALIBRATIONS"]

#: Calibration methods (:class:`soundtrack_cnn.beyond.calibration.Calibration`).
CALIBRATIONS = ("platt", "isotonic")
