"""Benchmarks of the task service against the seed it replaces and against its peers.

`python -m bench` runs every group and prints one table; see BENCHMARKS.md.
"""
