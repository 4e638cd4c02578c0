"""Generative post-processing of event samples (amplification, subtraction, positive weights), metrics."""
