"""Audio on the device: WAV reading, resampling, numpy features and the streaming voice classifier."""
