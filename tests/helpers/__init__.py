"""Helpers shared by several test files, imported as ``helpers.<module>``.

(tests/ is on pytest's pythonpath, see pyproject.toml.)
"""
