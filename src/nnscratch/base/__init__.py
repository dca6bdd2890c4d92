"""Base layer: the library's exceptions, argument checks, the name-table machinery (``naming``; the
tables themselves are in ``nnscratch.engine.names``), dtypes, generators and BLAS threads.

NumPy and the standard library only; every other layer may import it, it imports none of them.
Every file the package writes goes through :mod:`.files` (atomic writes).
"""
