"""Training checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint is the same container as a model file (``.npz`` arrays plus a JSON header, never a
pickle) holding the model, the optimizer's state (momentum buffers, Adam moments, step count,
hyperparameters), the learning-rate scheduler, the shuffling generator's ``bit_generator`` state
(and those of layers holding their own generator, e.g. dropout), the epoch and the history.
Resuming from it continues bit for bit as if the run had never stopped::

    ns.fit(model, X, y, loss=..., optimizer=opt, epochs=100, seed=0, checkpoint="run.ckpt")
    # ... killed at epoch 37; later, with the same model/optimizer construction:
    ns.fit(model, X, y, loss=..., optimizer=opt, epochs=100, seed=0, resume="run.ckpt")
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from nnscratch._version import __version__
from nnscratch.base.errors import DTypeError, HyperparameterError, ModelFileError
from nnscratch.engine.history import History
from nnscratch.engine.module import Module
from nnscratch.engine.optim.optimizers import Optimizer
from nnscratch.engine.optim.schedulers import LRScheduler
from nnscratch.io.architecture import to_config
from nnscratch.io.container import open_container, write_container
from nnscratch.io.model import build_model, check_format, describe_model, history_from_json, history_to_json

from .callbacks import Callback, FitState
from .run_state import (
    MAX_EPOCH,
    check_scheduler_state,
    generator_state,
    module_generators,
    read_optimizer,
    restore_generator,
    restore_optimizer,
    restore_scheduler,
)

FORMAT = "nnscratch-checkpoint"
_KEYS = {
    "format", "format_version", "library_version", "model", "optimizer", "scheduler", "rng",
    "module_rngs", "epoch", "history", "meta",
}  # fmt: skip


@dataclass
class Checkpoint:
    """A loaded checkpoint; :meth:`restore` puts it back into a training run."""

    model: Module
    epoch: int
    history: History
    optimizer_state: dict[str, Any] | None = None
    scheduler_state: dict[str, Any] | None = None
    rng_state: dict[str, Any] | None = None
    module_rng_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = "checkpoint"

    def restore(self, state: FitState) -> None:
        """Load weights, optimizer, scheduler, generators, history and epoch into ``state``.

        ``state.model`` must have the checkpoint's architecture and ``state.optimizer`` its
        optimizer type; both keep their identity (updated in place). All or nothing: if any
        part is refused (ModelFileError), the run is left exactly as it was.
        """
        scheduler = _scheduler_of(state)
        generators = dict(module_generators(state.model))
        if isinstance(state.rng, np.random.Generator):
            generators[""] = state.rng
        backup = (
            state.model.state_dict(),
            None if state.optimizer is None else state.optimizer.state_dict(),
            None if scheduler is None else scheduler.state_dict(),
            {k: g.bit_generator.state for k, g in generators.items()},
            state.history.to_dict(),
            state.epoch,
        )
        try:
            self._apply(state, scheduler, generators)
        except BaseException:
            model_sd, opt_sd, sched_sd, gen_states, history, epoch = backup
            state.model.load_state_dict(model_sd)
            if opt_sd is not None:
                state.optimizer.load_state_dict(opt_sd)
            if sched_sd is not None:
                scheduler.load_state_dict(sched_sd)
            for key, gen_state in gen_states.items():
                generators[key].bit_generator.state = gen_state
            _set_history(state.history, History.from_dict(history))
            state.epoch = epoch
            raise

    def _apply(self, state: FitState, scheduler: LRScheduler | None, generators: dict[str, Any]) -> None:
        src, model = self.source, state.model
        if to_config(model) != to_config(self.model):
            raise ModelFileError(
                f"{src} was saved from a different architecture than the model being trained."
            )
        model.load_state_dict(self.model.state_dict())
        if self.optimizer_state is not None and state.optimizer is not None:
            restore_optimizer(state.optimizer, model, self.optimizer_state, src)
        if self.scheduler_state is not None and scheduler is not None:
            restore_scheduler(scheduler, self.scheduler_state, src)
        if self.rng_state is not None and "" in generators:
            restore_generator(generators[""], self.rng_state, src, "the shuffling generator")
        for key, saved in self.module_rng_states.items():
            if not key or key not in generators:
                raise ModelFileError(f"{src}: the model has no random generator {key!r} to restore.")
            restore_generator(generators[key], saved, src, key)
        _set_history(state.history, self.history)
        state.epoch = self.epoch


def _set_history(target: History, source: History) -> None:
    """Make ``target`` hold ``source``'s records, in place (callers may hold ``target``)."""
    target.epoch[:] = source.epoch
    target.history.clear()
    target.history.update({k: list(v) for k, v in source.history.items()})


# -- saving ----------------------------------------------------------------------------------------
def save_checkpoint(
    path: str | os.PathLike[str] | IO[bytes],
    state: FitState | Mapping[str, Any],
    *,
    scheduler: LRScheduler | None = None,
    meta: dict[str, Any] | None = None,
    compress: bool = False,
) -> Path | None:
    """Write a checkpoint of a training run, atomically.

    Parameters
    ----------
    path : str, PathLike or binary file object
    state : FitState or mapping
        A callback's ``FitState``, or a dict with ``model`` and optionally ``optimizer``,
        ``scheduler``, ``rng`` (the shuffling ``numpy.random.Generator``), ``epoch`` (the last
        completed epoch) and ``history``.
    scheduler : LRScheduler, optional
        Overrides the state's scheduler.
    meta : dict, optional
        Free-form JSON metadata.
    """
    get = state.get if isinstance(state, Mapping) else lambda k, d=None: getattr(state, k, d)
    model = get("model")
    if not isinstance(model, Module):
        raise DTypeError(f"save_checkpoint needs state.model to be a Module. Received: {model!r:.80}")
    model_header, arrays = describe_model(model, prefix="model/")
    optimizer, rng = get("optimizer"), get("rng")
    scheduler = scheduler if scheduler is not None else _scheduler_of(state)
    epoch = get("epoch", 0) or 0
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
        raise DTypeError(f"state.epoch must be an integer >= 0. Received: {epoch!r}")
    header: dict[str, Any] = {
        "format": FORMAT,
        "format_version": 1,
        "library_version": __version__,
        "model": model_header,
        "optimizer": None,
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "rng": None if rng is None else generator_state(rng),
        "module_rngs": {k: generator_state(g) for k, g in module_generators(model)},
        "epoch": int(epoch),
        "history": history_to_json(get("history")),
        "meta": dict(meta or {}),
    }
    if optimizer is not None:
        header["optimizer"], opt_arrays = _optimizer_header(optimizer, model)
        arrays.update(opt_arrays)
    return write_container(path, header, arrays, compress=compress)


def _optimizer_header(opt: Optimizer, model: Module) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if not isinstance(opt, Optimizer):
        raise DTypeError(f"state.optimizer must be an nnscratch Optimizer. Received: {opt!r:.80}")
    names = {id(p): name for name, p in model.named_parameters()}
    sd = opt.state_dict()
    param_names, keys, arrays = [], {}, {}
    for p, entry in zip(opt.params, sd["state"], strict=True):
        if id(p) not in names:
            raise ModelFileError(
                "the optimizer holds a parameter that is not in the model; cannot checkpoint it."
            )
        name = names[id(p)]
        param_names.append(name)
        keys[name] = sorted(entry)
        arrays.update({f"optimizer/{name}/{k}": np.asarray(v) for k, v in entry.items()})
    header = {
        "type": sd["type"],
        "hyperparameters": sd["hyperparameters"],
        "step_count": sd["step_count"],
        "params": param_names,
        "state_keys": keys,
        "param_groups": [
            {**{k: v for k, v in g.items() if k != "params"}, "params": [param_names[i] for i in g["params"]]}
            for g in sd["param_groups"]
        ],
    }
    return header, arrays


def _scheduler_of(state: Any) -> LRScheduler | None:
    if isinstance(state, Mapping):
        return state.get("scheduler")
    sched = getattr(state, "scheduler", None)
    if sched is None and isinstance(getattr(state, "extra", None), dict):
        sched = state.extra.get("scheduler")
    return sched


# -- loading ---------------------------------------------------------------------------------------
def load_checkpoint(path: str | os.PathLike[str] | IO[bytes]) -> Checkpoint:
    """Read and validate a checkpoint (same guarantees as :func:`nnscratch.load`)."""
    with open_container(path) as c:
        h, src = c.header, c.source
        check_format(h, src, FORMAT)
        unknown = sorted(set(h) - _KEYS)
        if unknown:
            raise ModelFileError(f"{src}: the header has unknown fields {unknown}.")
        if not isinstance(h.get("model"), dict):
            raise ModelFileError(f"{src}: the header's 'model' must be an object.")
        model_specs = {k: s for k, s in c.specs.items() if k.startswith("model/")}
        opt_specs = {k: s for k, s in c.specs.items() if k.startswith("optimizer/")}
        stray = sorted(set(c.specs) - set(model_specs) - set(opt_specs))
        if stray:
            raise ModelFileError(f"{src}: unexpected arrays {stray}.")
        model = build_model(c, h["model"], prefix="model/")
        optimizer = read_optimizer(c, opt_specs, h.get("optimizer"), model, src)
        epoch = h.get("epoch")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch <= MAX_EPOCH:
            raise ModelFileError(
                f"{src}: epoch must be an integer in [0, {MAX_EPOCH}]. Received: {epoch!r:.40}"
            )
        history = history_from_json(h.get("history"), src) or History()
        check_scheduler_state(h.get("scheduler"), src)
        if h.get("rng") is not None and not isinstance(h["rng"], dict):
            raise ModelFileError(f"{src}: 'rng' must be an object or null.")
        module_rngs, meta = h.get("module_rngs", {}), h.get("meta", {})
        if not isinstance(module_rngs, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in module_rngs.items()
        ):
            raise ModelFileError(f"{src}: 'module_rngs' must map layer paths to generator states.")
        if not isinstance(meta, dict):
            raise ModelFileError(f"{src}: 'meta' must be an object.")
        ckpt = Checkpoint(
            model, epoch, history, optimizer, h.get("scheduler"), h.get("rng"), module_rngs, meta, src
        )
    # Check the generator states now, on throwaway generators, so a bad file fails at load time.
    for key, saved in [("rng", ckpt.rng_state), *module_rngs.items()]:
        if saved is not None:
            restore_generator(None, saved, src, key)
    return ckpt


def resume_from(path: str | os.PathLike[str], state: FitState) -> None:
    """Load the checkpoint at ``path`` into a run's state (weights, optimizer, generators...)."""
    load_checkpoint(path).restore(state)


def attach_checkpointing(
    state: FitState,
    callbacks: list[Callback],
    *,
    resume: str | os.PathLike[str] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    every: int = 1,
) -> None:
    """What ``fit(resume=..., checkpoint=..., checkpoint_every=...)`` does, once its callbacks are set.

    A learning-rate scheduler stepped by a callback (one with a ``scheduler`` attribute) is
    recorded in ``state.extra["scheduler"]`` so that checkpoints hold it. Checkpoint callbacks
    (the user's and the one ``checkpoint=`` adds) are moved after all others, so each saves the
    epoch's final state — after the scheduler's step. ``resume`` restores the run before the
    first epoch (the loop then starts after the saved epoch).
    """
    if "scheduler" not in state.extra:
        for cb in callbacks:
            if isinstance(getattr(cb, "scheduler", None), LRScheduler):
                state.extra["scheduler"] = cb.scheduler
    if checkpoint is not None:
        callbacks.append(ModelCheckpoint(checkpoint, every=every))
    savers = [cb for cb in callbacks if isinstance(cb, ModelCheckpoint)]
    callbacks[:] = [cb for cb in callbacks if not isinstance(cb, ModelCheckpoint)] + savers
    if resume is not None:
        resume_from(resume, state)


# -- the callback ----------------------------------------------------------------------------------
class ModelCheckpoint(Callback):
    """Save a checkpoint every ``every`` epochs (and at the end), for ``fit(..., resume=path)``.

    Parameters
    ----------
    path : str or PathLike
        Where to write; may contain ``{epoch}`` (e.g. ``"run-{epoch:04d}.ckpt"``) to keep one
        file per epoch instead of replacing a single file. Missing folders are created.
    every : int
        Save after every ``every``-th epoch.
    save_last : bool
        Also save after the final epoch (or early stop), whatever ``every`` says.
    monitor, mode : str
        With ``save_best_only``: save only when ``logs[monitor]`` improves (``mode="min"`` for
        losses, ``"max"`` for accuracies, ``"auto"`` guesses from the name).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        every: int = 1,
        *,
        save_last: bool = True,
        save_best_only: bool = False,
        monitor: str = "loss",
        mode: str = "auto",
        compress: bool = False,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise HyperparameterError(f"every must be an integer >= 1. Received: every={every!r}")
        if mode not in ("auto", "min", "max"):
            raise HyperparameterError(f"mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
        self.path, self.every, self.save_last, self.compress = path, every, save_last, compress
        self.save_best_only, self.monitor = save_best_only, monitor
        self.mode = mode if mode != "auto" else ("max" if "acc" in monitor or "score" in monitor else "min")
        self.best: float | None = None
        self.last_saved_epoch: int | None = None
        self.saved: list[Path] = []

    def _target(self, epoch: int) -> Path:
        return Path(str(self.path).format(epoch=epoch))

    def _save(self, state: FitState) -> None:
        target = self._target(state.epoch)
        # a folder in the pattern ("ckpt/run-{epoch}.ckpt") is the callback's to make, as in Keras
        target.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(target, state, compress=self.compress)
        self.last_saved_epoch = state.epoch
        self.saved.append(target)

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        if self.save_best_only:
            if self.monitor not in logs:
                raise HyperparameterError(
                    f"ModelCheckpoint monitors {self.monitor!r}, which this run does not record. "
                    f"Available: {sorted(logs)}"
                )
            value = logs[self.monitor]
            better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
            if better:
                self.best = value
                self._save(state)
        elif state.epoch % self.every == 0:
            self._save(state)

    def on_train_end(self, state: FitState) -> None:
        if self.save_last and not self.save_best_only and self.last_saved_epoch != state.epoch:
            self._save(state)


__all__ = [
    "Checkpoint",
    "ModelCheckpoint",
    "attach_checkpointing",
    "load_checkpoint",
    "resume_from",
    "save_checkpoint",
]
