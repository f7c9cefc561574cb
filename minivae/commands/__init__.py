"""The command line: cli.py parses `python -m minivae COMMAND`; one module per command.

Each command module holds only its flags, `add_arguments(parser)`, and what it
prints, `run(args) -> exit code`; the work itself is done by the package.
"""
