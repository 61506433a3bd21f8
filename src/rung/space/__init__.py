"""Search spaces: parameter types, conditions, the shared unit encoding, grids and JSON."""

from rung.space.fidelity import Fidelity
from rung.space.params import Categorical, Fixed, Float, Int, Param, param_from_json
from rung.space.search_space import SearchSpace, product_size

__all__ = [
    "Categorical",
    "Fidelity",
    "Fixed",
    "Float",
    "Int",
    "Param",
    "SearchSpace",
    "param_from_json",
    "product_size",
]
