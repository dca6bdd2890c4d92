"""Reports of run folders: ``report.html`` (self-contained, images embedded) and ``report.md``.

``write_report(folder)`` describes one train, cv or sweep run from the files the runner wrote
(``run.json``, ``metrics.json``, ``config.toml``, the PNGs); ``write_index(folder, runs)`` writes a
page linking several runs. Both documents are built from the same blocks, so they say the same.
"""

from .index import index_rows, write_index
from .render import to_html, to_markdown
from .run import report_blocks, write_report

__all__ = ["index_rows", "report_blocks", "to_html", "to_markdown", "write_index", "write_report"]
