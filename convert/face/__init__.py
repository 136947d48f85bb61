"""The face-expression model: FER2013 and its FER+ votes, alignment, architectures, training, calibration, validation."""
