"""The `train`, `sample` and `evaluate` commands (see minivae.cli): one module each."""
