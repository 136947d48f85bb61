"""The text model: GoEmotions and MELD, the vectoriser, training and validation."""
