"""`nnscratch keys` and docs/experiment-keys.md: every experiment-file key, read off the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnscratch.cli import app
from nnscratch.experiments.config import ExperimentConfig, load_config
from nnscratch.experiments.keys import experiment_keys, keys_markdown, keys_text

ROOT = Path(__file__).resolve().parents[2]
ALL_KEYS = [key for table in experiment_keys() for key in table.keys]


def test_the_docs_page_is_the_generated_one() -> None:
    page = (ROOT / "docs" / "experiment-keys.md").read_text(encoding="utf-8")
    assert page == keys_markdown(), "regenerate it: nnscratch keys --markdown > docs/experiment-keys.md"


@pytest.mark.parametrize("key", ALL_KEYS, ids=[k.key for k in ALL_KEYS])
def test_every_key_has_a_meaning_a_type_and_a_default(key) -> None:
    assert len(key.meaning) > 10 and key.meaning[0].isupper(), key
    assert key.type and key.default, key


def test_every_table_of_the_schema_is_listed_with_a_summary() -> None:
    tables = {t.name: t for t in experiment_keys()}
    assert set(ExperimentConfig.model_fields) <= set(tables)
    assert {"optimizer.scheduler", "training.early_stopping"} <= set(tables)
    assert all(t.summary and "``" not in t.summary for t in tables.values())


def test_types_ranges_and_defaults_come_from_the_schema() -> None:
    by_key = {k.key: k for k in ALL_KEYS}
    assert by_key["training.epochs"].type == "integer ≥ 1"
    training = ExperimentConfig.model_fields["training"].default_factory()
    assert by_key["training.epochs"].default == str(training.epochs)
    assert by_key["optimizer.lr"].type == "number > 0"
    assert by_key["data.split"].type == '"random" or "ordered"'
    assert by_key["data.dataset"].default == "unset"


def test_a_listed_default_is_what_a_file_that_omits_the_key_gets() -> None:
    cfg = load_config({"data": {"dataset": "xor"}})
    by_key = {k.key: k for k in ALL_KEYS}
    assert by_key["optimizer.name"].default == f'"{cfg.optimizer.name}"'
    assert by_key["evaluation.threshold"].default == str(cfg.evaluation.threshold)
    assert by_key["model.bias"].default == str(cfg.model.bias).lower()


def test_the_cli_prints_the_text_and_the_markdown() -> None:
    runner = CliRunner()
    text = runner.invoke(app, ["keys"])
    assert text.exit_code == 0 and text.output == keys_text()
    page = runner.invoke(app, ["keys", "--markdown"])
    assert page.exit_code == 0 and page.output == keys_markdown()
