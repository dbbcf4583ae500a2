"""The names of the choices beyond the study, importable without scikit-learn.

The command line's parser offers them (``predict --calibrated``, ``pretrain --objective``), and the
modules that fit and apply them check against them; this module imports
nothing, so building a parser does not load scikit-learn.
"""

__all__ = ["CALIBRATIONS", "OBJECTIVES"]

#: Calibration methods (:class:`soundtrack_cnn.beyond.calibration.Calibration`).
CALIBRATIONS = ("platt", "isotonic")

#: What a pretraining learns (:class:`soundtrack_cnn.beyond.pretraining.ContrastivePretrainer`):
#: two views of one track (no tags), the training tracks' tags, or both.
OBJECTIVES = ("contrastive", "tags", "contrastive+tags")
