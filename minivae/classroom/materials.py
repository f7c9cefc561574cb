"""Where the lessons and the exercise stubs are: package data, in a wheel, in an installed
clone, and in a clone that was never installed.

In the repository they are the top-level lessons/ folder; setup.cfg maps it to
the package `minivae.lessons` (package_dir), so an installed minivae (a wheel,
or `pip install -e .`) carries them and importlib.resources finds them.  In a
source tree run without installing (`python -m minivae …` from a clone's
root), `minivae.lessons` cannot be imported: there the lessons are the
lessons/ folder beside the imported minivae package, recognised by its
__init__.py and its exercises/__init__.py.
"""
import re
from importlib import resources
from pathlib import Path

from ..errors import ArgumentError


def lessons_dir():
    """The folder of the lesson scripts (lessons/0N_topic.py)."""
    try:
        return Path(str(resources.files("minivae.lessons")))
    except ModuleNotFoundError:                 # a source tree that was never installed
        beside = Path(str(resources.files("minivae"))).parent / "lessons"
        if (beside / "__init__.py").is_file() and (beside / "exercises" / "__init__.py").is_file():
            return beside
        raise ArgumentError("this minivae has no lessons: it was installed without them, and no "
                            f"lessons/ folder of minivae's lies beside it ({beside})") from None


def lesson_scripts():
    """Every lesson script, in order: lessons/01_….py … 09_….py, 07b_….py after 07_….py."""
    return sorted(lessons_dir().glob("0*.py"))


def chosen_lessons(selected=()):
    """The lesson scripts whose numbers are in `selected` ("03", "7b", …), in that order; all
    of them when it is empty.  An unknown number is an ArgumentError naming the lessons."""
    scripts = lesson_scripts()
    if not scripts:
        raise ArgumentError(f"no lessons in {lessons_dir()}: this minivae was installed without them")
    if not selected:
        return scripts
    by_number = {lesson_number(s): s for s in scripts}
    unknown = [n for n in selected if as_lesson_number(n) not in by_number]
    if unknown:
        raise ArgumentError(f"no lesson {', '.join(unknown)}; the lessons are {', '.join(by_number)}")
    return [by_number[as_lesson_number(n)] for n in selected]


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
    return lessons_dir() / "exercises"
