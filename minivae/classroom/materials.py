"""Where the lessons and the exercise stubs are: package data, in the wheel and in a clone.

In the repository they are the top-level lessons/ folder; setup.cfg maps it to
the package `minivae.lessons` (package_dir), so an installed minivae carries
them, and importlib.resources finds them either way.
"""
from importlib import resources
from pathlib import Path


def lessons_dir():
    """The folder of the lesson scripts (lessons/0N_topic.py)."""
    return Path(str(resources.files("minivae.lessons")))


def lesson_scripts():
    """Every lesson script, in order: lessons/01_….py … 09_….py."""
    return sorted(lessons_dir().glob("0*.py"))


def stubs_dir():
    """The folder of the exercise stubs (lessons/exercises/exNN_….py)."""
    return Path(str(resources.files("minivae.lessons.exercises")))
