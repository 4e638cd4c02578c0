"""Event samples with known answers, made by mlgen, to develop and test post-processing on."""
