"""The latent explorer (beyond the paper: Kingma & Welling 2014, Fig. 4, made live).

A VAE with a 2-D latent decodes the z under the pointer: in a browser page
(`export.py` writes the page, `explorer.html`, and the decoder's weights) and
in a matplotlib figure, in a notebook or a window (`live.py`).
"""
