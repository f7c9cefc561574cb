"""The lesson scripts, one per part of the tutorial (run each as a script; see README.md).

Installed with minivae as the package data `minivae.lessons`, so
`python -m minivae notebooks` finds them in a wheel as in a clone.
"""
