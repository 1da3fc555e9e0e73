"""symact: activation functions defined once in SymPy, turned into derivations and verified code.

>>> import symact
>>> s = symact.get("sigmoid")
>>> s.output_form
y*(1 - y)
"""

from .activation import Activation, all_activations, get, names
from .errors import SymactError
from .user import define

__version__ = "0.1.0"

__all__ = ["Activation", "SymactError", "__version__", "all_activations", "define", "get",
           "names"]
