"""The voice model: speech corpora, cached features, the classifier, training, cross-validation and its report."""
