"""Classification, one classifier per modality over an int8 model: `face`, `voice`, `text`.

`model` is what they share (a backend and the model's sidecar, checked against each other); `face_preprocess`
is the face crops and alignment; signal processing for voice and text sits beneath in `edge/audio/` and
`edge/text/`.
"""

from __future__ import annotations
