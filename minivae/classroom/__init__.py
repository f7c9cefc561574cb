"""The classroom: what lesson scripts share, and the graded exercises.

    lesson.py       a lesson's flags, figures, and MNIST or a one-line exit
    materials.py    where the lessons and exercise stubs are (package data)
    exercises.py    the eight exercises' graders (EXERCISES)
    parts.py        how one part of an exercise is graded, with hints
    submission.py   grading a student's file: `python -m minivae check`
"""
