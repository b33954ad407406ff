"""Input/output: video decoding, frame sources, atomic file writes."""
