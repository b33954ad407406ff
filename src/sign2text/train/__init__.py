"""Training and evaluation.

- :mod:`~sign2text.train.config`: typed, frozen run config from TOML + ``--set`` overrides.
- :mod:`~sign2text.train.trainer`: :func:`~sign2text.train.trainer.train` (torch; CPU,
  CUDA, DDP under ``torchrun``).
- :mod:`~sign2text.train.evaluate`: :func:`~sign2text.train.evaluate.evaluate`, which
  needs torch only for a torch checkpoint; with a ``predict_logits`` callable (ONNX) it
  runs on NumPy alone, as do :mod:`~sign2text.train.metrics` and
  :mod:`~sign2text.train.plots`.

Nothing is imported here so that ``import sign2text.train.evaluate`` never pulls torch.
"""
