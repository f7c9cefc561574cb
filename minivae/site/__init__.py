"""The course site: the lessons executed, the maths modules beside their formulas, and the
equation index that links each of the paper's numbered equations and figures to its code.

`equations.py` is the index (data, read by `python -m minivae where` too); `source.py`
finds its functions in the source; the rest builds the site with Sphinx and MyST-NB
(`python -m minivae site`, the site extra).
"""
