"""The exercise stubs (`python -m minivae exercise N` hands one out; README.md here).

Installed with minivae as the package data `minivae.lessons.exercises`.
"""
