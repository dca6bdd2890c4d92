"""Base layer: the library's exceptions, argument checks, dtypes, generators and BLAS threads.

NumPy only; every other layer may import it, it imports none of them.
"""
