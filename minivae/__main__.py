"""`python -m minivae COMMAND`: the command line of commands/cli.py."""
import sys

import minivae


def shadowing_folder(package):
    """The folder that hides the installed package, or None.

    `python -m` looks in the current folder first.  From the folder that holds a
    clone named `minivae`, Python takes the clone itself (it has no __init__.py)
    for a namespace package named minivae, and an editable install's own
    package is then reached only for the names the clone lacks: `minivae.data`,
    for one, is the clone's data/ folder.
    """
    if getattr(package, "__file__", None) is not None:
        return None
    return next(iter(getattr(package, "__path__", [])), "?")


if __name__ == "__main__":
    folder = shadowing_folder(minivae)
    if folder is not None:
        print(f"minivae: error: the folder {folder} hides the installed minivae package, since "
              f"python -m looks in the current folder first; run the command from inside that "
              f"folder (cd {folder}) or from any other folder", file=sys.stderr)
        sys.exit(2)
    from minivae.commands.cli import main
    sys.exit(main())
