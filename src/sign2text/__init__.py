"""Sign2Text: sign language on video to text.

The package reads like the pipeline: ``io`` -> ``landmarks`` -> ``data`` -> ``features``
-> ``models`` -> ``train`` -> ``export`` -> ``runtime`` -> ``serve``, with ``cli`` on top.
Importing the package itself is cheap: heavy libraries (MediaPipe, torch, ONNX Runtime)
are imported by the modules that need them.
"""

__version__ = "0.1.0"
