"""``python -m nnscratch.cli``: the ``nnscratch`` command without its console script."""

from nnscratch.cli import main

main()
