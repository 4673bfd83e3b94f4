"""Evaluation: metrics from labels and probabilities (:mod:`.metrics`, NumPy only), reports with plots
(:mod:`.report`, matplotlib imported lazily), temperature calibration (:mod:`.calibration`)."""
