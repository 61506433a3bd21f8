"""Adapters between rung and other tools, one module per tool, each an optional extra.

Nothing is imported here: ``import rung.integrations.lightgbm`` (for example) imports LightGBM,
and raises an ``ImportError`` naming the extra to install when it is missing.
"""
