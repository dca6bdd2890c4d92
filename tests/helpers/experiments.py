"""Small experiment files for the CLI and report tests: moons with a test split, written out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from nnscratch.cli import app


def moons_file(
    path: Path,
    *,
    name: str,
    seed: int,
    data_seed: int,
    n_samples: int,
    hidden: int,
    reduction: str,
    optimizer: str,
    training: str,
    extra: str = "",
) -> Path:
    """Write a moons experiment (noise 0.1, test_size 0.25) with the given tables' bodies."""
    path.write_text(
        f"[experiment]\nname = {name!r}\nseed = {seed}\n\n"
        f'[data]\ndataset = "moons"\ntest_size = 0.25\n'
        f"params = {{ n_samples = {n_samples}, noise = 0.1, seed = {data_seed} }}\n\n"
        f"[model]\nhidden = [{hidden}]\n\n[loss]\nreduction = {reduction!r}\n\n"
        f"[optimizer]\n{optimizer}\n\n[training]\n{training}\n{extra}"
    )
    return path


def cli_run(*args: object) -> None:
    """Run ``nnscratch ARGS`` in-process; it must succeed."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output


def config_and_model(tmp_path: Path, text: str) -> tuple[Any, Any]:
    """The validated config of the experiment file ``text`` and the model it builds (seed 0)."""
    import numpy as np

    from nnscratch.experiments import builder
    from nnscratch.experiments.config import load_config

    path = tmp_path / "exp.toml"
    path.write_text(text, encoding="utf-8")
    cfg = load_config(path)
    data, _ = builder.load_data(cfg)
    loss = builder.loss_name(cfg, data.task)
    outputs = builder.n_outputs(cfg, loss, data)
    return cfg, builder.build_model(cfg, data.n_features, outputs, loss, np.random.default_rng(0))


def small_moons_run(tmp_path: Path, *, model: str, optimizer: str) -> tuple[Any, Any]:
    """``config_and_model`` of a 40-point moons experiment (2 epochs) with the given ``[model]``
    and ``[optimizer]`` bodies: the optimizer-option tests vary only those."""
    text = (
        '[data]\ndataset = "moons"\nparams = { n_samples = 40, noise = 0.2 }\n\n'
        f"[model]\n{model}\n\n[optimizer]\n{optimizer}\n\n[training]\nepochs = 2\n"
    )
    return config_and_model(tmp_path, text)


def moons_lr_sweep(name: str, *, n_samples: int, epochs: int, batch_size: int, cv: int) -> str:
    """The TOML of a cross-validated moons sweep over two learning rates (4 or 6 tasks), sized by
    the caller: small to finish fast, long to be interrupted."""
    return (
        f'[experiment]\nname = "{name}"\nseed = 3\n'
        f'[data]\ndataset = "moons"\nparams = {{ n_samples = {n_samples}, noise = 0.2 }}\n'
        f"[training]\nepochs = {epochs}\nbatch_size = {batch_size}\n"
        f"[evaluation]\ncv = {cv}\n"
        '[sweep]\n"optimizer.lr" = [0.05, 0.5]\n'
    )
