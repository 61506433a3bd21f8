"""The values ``fuzz_specs.py``'s strategies draw from: odd strings and numbers first.

``scalars`` (None, booleans, huge integers, any float, short text, strings that look like
keys, expressions or YAML), ``numbers`` (mostly plausible, sometimes odd or non-finite),
``yaml_oddities`` (what YAML's safe loader can also produce: dates, bytes, sets), ``values``
(nested lists and dicts of those), ``anything`` and ``maybe_number`` (a number, usually).
Hypothesis strategies only: nothing here checks a case.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

_ODD_STRINGS = [
    "", " ", "\n", "a\nb", "\0", "\t", "é", "études", "日本", "💥", "a" * 300, "../..", "/",
    ".", "-", "_", "a/b", "a b", ":memory:", "sqlite:///", "null", "~", "true", "1e400",
    "nan", "inf", "-1", "0x10", "{", "[", "'", '"', "<<", "&a", "*a", "!!python/object",
    "x <= 1", "x >= y", "x < 1", "spec.name", "lr.low", "${HOME}",
]
_ODD_NUMBERS: list[Any] = [
    0, 1, -1, 2, 3, 27, 10**6, 10**6 + 1, 10**26, 2**63, -(2**63) - 1, 0.0, -0.0, 0.5, 1.5,
    1e-300, 1e300, math.inf, -math.inf, math.nan, True, False,
]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(),
    st.text(max_size=6), st.sampled_from(_ODD_STRINGS), st.sampled_from(_ODD_NUMBERS),
)
numbers = st.one_of(
    st.integers(-5, 100), st.floats(-3, 30), st.sampled_from(_ODD_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
)
# what YAML's safe loader can also produce: dates, bytes, sets
yaml_oddities = st.one_of(
    st.dates(), st.datetimes(), st.binary(max_size=4),
    st.frozensets(st.integers(0, 3), max_size=3).map(set),
)
values = st.recursive(
    st.one_of(scalars, yaml_oddities),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
anything = st.one_of(scalars, numbers, values)
maybe_number = st.one_of(numbers, numbers, anything)


__all__ = ["anything", "maybe_number", "numbers", "scalars", "values", "yaml_oddities"]
