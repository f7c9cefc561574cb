"""minivae: the variational autoencoder of Doersch's tutorial, autograd-free.

Every gradient is derived by hand (see each module's docstring) and checked
against central finite differences (`python -m minivae gradcheck`).
"""
# First, before anything imports NumPy: OpenBLAS reads this module's setting when
# NumPy loads it (see minivae/blas_threads.py).
from . import blas_threads  # noqa: F401
from .model import VAE, ELBOTerms
from .cvae import CVAE
from .regressor import Regressor

__version__ = "0.1.0"
__all__ = ["VAE", "ELBOTerms", "CVAE", "Regressor", "__version__"]
