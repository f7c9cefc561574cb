"""minivae: the variational autoencoder of Doersch's tutorial, autograd-free.

Every gradient is derived by hand (see each module's docstring) and checked
against central finite differences (`python -m minivae gradcheck`).
"""
# First, before anything imports NumPy: OpenBLAS reads a setting of minivae.kernels
# when NumPy loads it (see minivae/kernels/blas_threads.py).
from . import kernels  # noqa: F401  isort: skip
from .model import VAE, ELBOTerms
from .cvae import CVAE
from .regressor import Regressor

__version__ = "0.1.0"
__all__ = ["VAE", "ELBOTerms", "CVAE", "Regressor", "__version__"]
