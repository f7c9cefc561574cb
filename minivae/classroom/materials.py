"""Where the lessons and the exercise stubs are: package data, in the wheel and in a clone.

In the repository they are the top-level lessons/ folder; setup.cfg maps it to
the package `minivae.lessons` (package_dir), so an installed minivae carries
them, and importlib.resources finds them either way.
"""
import re
from importlib import resources
from pathlib import Path


def lessons_dir():
    """The folder of the lesson scripts (lessons/0N_topic.py)."""
    return Path(str(resources.files("minivae.lessons")))


def lesson_scripts():
    """Every lesson script, in order: lessons/01_….py … 09_….py, 07b_….py after 07_….py."""
    return sorted(lessons_dir().glob("0*.py"))


def lesson_number(script):
    """The number a lesson is called by: "07" for 07_vae_mnist.py, "07b" for 07b_latent_2d.py."""
    return Path(script).name.split("_", 1)[0]


def as_lesson_number(text):
    """A number as typed ("7", "07", "7b", "07B") in lesson_number's form ("07", "07b"),
    or the text unchanged when it is no lesson number."""
    m = re.fullmatch(r"(\d+)([a-z]?)", text.strip().lower())
    return f"{int(m.group(1)):02d}{m.group(2)}" if m else text


def stubs_dir():
    """The folder of the exercise stubs (lessons/exercises/exNN_….py)."""
    return Path(str(resources.files("minivae.lessons.exercises")))
