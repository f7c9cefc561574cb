"""minivae: the variational autoencoder of Doersch's tutorial, autograd-free.

Every gradient is derived by hand (see each module's docstring) and checked
against central finite differences (`python -m minivae gradcheck`).
"""
# First, before anything imports a library: `python -m minivae` must not find one in the
# working folder (environment.leave_working_folder).
from . import environment  # isort: skip
environment.leave_working_folder()
from . import kernels  # noqa: F401,E402  isort: skip
from .model import VAE, ELBOTerms
from .cvae import CVAE
from .regressor import Regressor

__version__ = "0.1.0"
__all__ = ["VAE", "ELBOTerms", "CVAE", "Regressor", "__version__"]
