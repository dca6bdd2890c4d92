"""Base layer: the library's exceptions, argument checks, the name-table machinery (``naming``; the
tables themselves are in ``nnscratch.engine.names``), dtypes, generators and BLAS threads.

NumPy only; every other layer may import it, it imports none of them.
"""
