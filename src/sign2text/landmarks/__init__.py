"""Landmarks: the named skeleton, MediaPipe Holistic extraction, overlays."""
