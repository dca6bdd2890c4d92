"""explain_command: called directly, and as `explain` in a tiny typer app (how the CLI mounts it)."""

from pathlib import Path

import pytest

typer = pytest.importorskip("typer")
from typer.testing import CliRunner  # noqa: E402

from nnscratch.worked.cli import explain_command  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "explain"
SEED002 = EXAMPLES / "seed002_q1.toml"


def _app():
    app = typer.Typer()
    app.command("explain")(explain_command)

    @app.command("noop")
    def noop() -> None:  # a second command, so typer keeps "explain" as a subcommand
        """Does nothing."""

    return app


def test_direct_call_prints_markdown(capsys):
    explain_command(SEED002)
    out = capsys.readouterr().out
    assert out.startswith("# Seed 002, Q1") and "0.8221" in out and "\\begin{bmatrix}" in out


@pytest.mark.parametrize(
    ("fmt", "start"), [("latex", "\\documentclass"), ("text", "Seed 002"), ("md", "# Seed")]
)
def test_direct_call_writes_each_format(tmp_path, fmt, start):
    out = tmp_path / "sub" / f"q1.{fmt}"
    explain_command(SEED002, format=fmt, out=out)
    assert out.read_text(encoding="utf-8").startswith(start)


def test_through_typer_app(tmp_path):
    runner = CliRunner()
    result = runner.invoke(_app(), ["explain", str(EXAMPLES / "seed003_relu_sin.toml"), "--format", "text"])
    assert result.exit_code == 0, result.output
    assert "0.2182" in result.stdout and "relu(z⁽¹⁾) + sin(z⁽¹⁾)" in result.stdout
    target = tmp_path / "p1.tex"
    result = runner.invoke(_app(), ["explain", str(SEED002), "-f", "latex", "-o", str(target)])
    assert result.exit_code == 0 and target.read_text().startswith("\\documentclass")
    assert "wrote" in result.output
    help_text = runner.invoke(_app(), ["explain", "--help"]).output
    assert "--format" in help_text and "--out" in help_text


def test_errors_exit_nonzero_with_a_clear_message(tmp_path):
    runner = CliRunner()
    result = runner.invoke(_app(), ["explain", str(SEED002), "--format", "html"])
    assert result.exit_code == 2 and "format must be one of md, latex, text" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text(SEED002.read_text().replace('activation = "sigmoid"', 'activation = "sigmod"', 1))
    result = runner.invoke(_app(), ["explain", str(bad)])
    assert result.exit_code == 1
    assert "layers[0].activation: unknown activation 'sigmod'" in result.output
    result = runner.invoke(_app(), ["explain", str(tmp_path / "missing.toml")])
    assert result.exit_code == 1 and "not found" in result.output
    with pytest.raises(typer.Exit):
        explain_command(bad)
