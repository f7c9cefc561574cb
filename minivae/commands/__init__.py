"""The command-line commands (see minivae.cli): one module each, `add_arguments(parser)` and `run(args)`."""
