"""Experiments: experiment files, sweeps, and running their tasks in parallel or on Dask."""
