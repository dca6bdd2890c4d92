"""History: the per-epoch record of a training run, exportable to CSV and JSON.

It lives in the engine (not beside the ``fit`` loop) so that model files can store one without
importing the training layer.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from nnscratch.base.errors import DataError
from nnscratch.base.files import atomic_open, atomic_write


class History:
    """Per-epoch records of a training run: ``history["loss"]``, ``history["val_accuracy"]``...

    ``epoch`` lists the epoch numbers (1-based); every other key maps to a list of the same length.
    """

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def append(self, epoch: int, **values: float) -> None:
        self.epoch.append(epoch)
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epoch)

    def last(self, key: str) -> float:
        return self.history[key][-1]

    def to_dict(self) -> dict[str, list[float]]:
        return {"epoch": list(self.epoch), **{k: list(v) for k, v in self.history.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> History:
        h = cls()
        h.epoch = [int(e) for e in data.get("epoch", [])]
        h.history = {k: [float(x) for x in v] for k, v in data.items() if k != "epoch"}
        return h

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            atomic_write(path, text, encoding=None)
        return text

    def to_csv(self, path: str | Path) -> None:
        keys = list(self.history)
        with atomic_open(path, "w", encoding=None, newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["epoch", *keys])
            for i, epoch in enumerate(self.epoch):
                writer.writerow([epoch, *(repr(self.history[k][i]) for k in keys)])

    @classmethod
    def from_json(cls, source: str | Path) -> History:
        """Read what :meth:`to_json` wrote: a path to a JSON file, or the JSON text itself."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            text = Path(source).read_text()
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_csv(cls, path: str | Path) -> History:
        """Read what :meth:`to_csv` wrote."""
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        if not rows or rows[0][:1] != ["epoch"]:
            raise DataError(f"{path}: not a History CSV (its first column must be 'epoch').")
        keys = rows[0]
        columns: dict[str, list[float]] = {k: [] for k in keys}
        for row in rows[1:]:
            for k, v in zip(keys, row, strict=True):
                columns[k].append(float(v))
        return cls.from_dict(columns)

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History(epochs={len(self.epoch)}, {last})"
