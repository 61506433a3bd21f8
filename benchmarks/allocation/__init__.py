"""The pieces of ``benchmarks/bench_allocation.py`` (see its docstring)."""
