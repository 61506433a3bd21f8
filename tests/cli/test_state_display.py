"""How `rung show` and the progress line render a scheduler's ``state()``."""

from __future__ import annotations


def test_scheduler_state_numbers_are_shown_in_six_significant_digits() -> None:
    """A scheduler's fitted values (PB2's GP) are shown rounded, inside containers too; ints,
    strings and non-finite values as they are."""
    from rung.cli.report_state import state_sections

    scalars, tables = state_sections({
        "exploits": 12, "beta": 4.21707496691223, "name": "pb2",
        "pb2": {"eps": 0.00010000000000000009, "sd": 13.553199817790398, "at": 24,
                "path": [0.1 + 0.2, float("inf")]},
        "rungs": [{"step": 1, "spearman": 0.123456789}],
    })
    assert scalars == [
        "exploits=12", "beta=4.21707", "name=pb2",
        'pb2={"at": 24, "eps": 0.0001, "path": [0.3, Infinity], "sd": 13.5532}',
    ]
    assert [t for t, _ in tables] == ["rungs"]
    assert "0.123457" in tables[0][1]
