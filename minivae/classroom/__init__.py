"""The classroom: what lesson scripts share, the graded exercises and fill-in lessons, a course.

    lesson.py           a lesson's flags, figures, and MNIST or a one-line exit
    materials.py        where the lessons and exercise stubs are (package data)
    exercises.py        the graders of exercises 1–5, and EXERCISES
    model_exercises.py  the graders of exercises 6–8 (a small model each)
    parts.py, hints.py  how one part of an exercise is graded; the mistakes it names
    reading.py          a submission's code: a .py file, or a notebook's code cells
    sandbox.py          the student's code in a child process (child.py), under a time limit;
    wire.py             what passes between them
    guard.py            what the child refuses (minivae's answers, new processes) and its limits
    given.py            what exercises 6–8 are handed: a model's layers, not the model
    untrusted.py        the child's answers checked, and student text escaped, before use
    submission.py       grading a file or a folder: `python -m minivae check`
    report.py           what grading a file gives, and its tables
    regions.py          the lessons' solution regions, and the student's fill-in copy
    fill_in.py          a filled-in lesson graded, a part per region
    rubric.py           a teacher's weights and hidden parts
    gradebook.py        a class: a folder per student, a total each, the CSV
    gradescope.py       the grades as Gradescope's results.json
    handout.py          a stub as a notebook that checks itself
"""
