"""Problem files for one attention head and a LayerNorm (``[attention]``, ``[layernorm]``): the
numbers equal PyTorch's, ``nnscratch explain`` renders them, every mistake names its place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnscratch.base.errors import ConfigError
from nnscratch.cli import app
from nnscratch.worked import explain_problem
from nnscratch.worked.problem import parse_problem

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "explain"


@pytest.mark.torch
def test_the_attention_head_matches_torch():
    torch = pytest.importorskip("torch")
    ex = explain_problem(EXAMPLES / "attention_head.toml")
    layer = torch.nn.MultiheadAttention(2, 1, batch_first=True).double()
    layer.in_proj_weight.data = torch.tensor(np.vstack([ex["W_Q"], ex["W_K"], ex["W_V"]]))
    layer.in_proj_bias.data = torch.tensor(np.concatenate([ex["b_Q"], ex["b_K"], ex["b_V"]]).reshape(-1))
    layer.out_proj.weight.data = torch.tensor(ex["W_out"])
    layer.out_proj.bias.data = torch.tensor(ex["b_out"]).reshape(-1)
    x = torch.tensor(ex["x"][None], requires_grad=True)
    causal = torch.triu(torch.ones(3, 3, dtype=torch.bool), 1)
    y, A = layer(x, x, x, attn_mask=causal, need_weights=True)
    torch.nn.functional.mse_loss(y, torch.tensor(ex["y"][None])).backward()
    np.testing.assert_allclose(ex["A"], A[0].detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ex["yhat"], y[0].detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ex["dx"], x.grad[0].numpy(), rtol=0, atol=1e-12)
    dW = layer.in_proj_weight.grad.numpy()
    np.testing.assert_allclose(np.vstack([ex["dW_Q"], ex["dW_K"], ex["dW_V"]]), dW, rtol=0, atol=1e-12)
    assert np.all(np.triu(ex["A"], 1) == 0)  # the causal mask: no later key gets weight


@pytest.mark.torch
def test_the_layernorm_matches_torch():
    torch = pytest.importorskip("torch")
    ex = explain_problem(EXAMPLES / "layernorm.toml")
    x = torch.tensor(ex["x"], requires_grad=True)
    g = torch.tensor(ex["gamma"].reshape(-1), requires_grad=True)
    b = torch.tensor(ex["beta"].reshape(-1), requires_grad=True)
    y = torch.nn.functional.layer_norm(x, (3,), g, b, eps=1e-5)
    torch.nn.functional.mse_loss(y, torch.tensor(ex["y"])).backward()
    np.testing.assert_allclose(ex["yhat"], y.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ex["dx"], x.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ex["dgamma"].reshape(-1), g.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ex["dbeta"].reshape(-1), b.grad.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["attention_head", "layernorm"])
def test_the_cli_renders_them(name, tmp_path):
    out = tmp_path / f"{name}.md"
    result = CliRunner().invoke(app, ["explain", str(EXAMPLES / f"{name}.toml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == (EXAMPLES / f"{name}.md").read_text(encoding="utf-8")
    text = CliRunner().invoke(app, ["explain", str(EXAMPLES / f"{name}.toml"), "--format", "text"])
    assert text.exit_code == 0 and ("softmax" in text.output.lower() or "x̂" in text.output)


ATTENTION = """
x = [[1.0, 0.0], [0.0, 1.0]]
y = [[1.0, 0.0], [0.0, 1.0]]
[attention]
in_proj_weight = [[1, 0], [0, 1], [1, 0], [0, 1], [1, 0], [0, 1]]
out_proj_weight = [[1, 0], [0, 1]]
"""


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("[[1, 0], [0, 1]]\n", "[[1, 0]]\n"), "attention.out_proj_weight: expected shape (2, 2)"),
        (("[attention]\n", "[attention]\nnum_heads = 3\n"), "attention.num_heads: must divide E = 2"),
        (("[attention]\n", "[attention]\nhead = 1\n"), "attention.head: 0 … 0"),
        (("[attention]\n", "[attention]\nin_proj_bias = [0, 0, 0, 0, 0, 0]\n"), "give both in_proj_bias"),
        (("[attention]\n", "[attention]\nscale = 2\n"), "attention: unknown key 'scale'"),
        (("[attention]\n", "[layernorm]\n[attention]\n"), "not both"),
        (("y = [[1.0, 0.0], [0.0, 1.0]]", "y = [[1.0, 0.0]]"), "x / y / loss / masks do not fit together"),
    ],
)
def test_mistakes_name_their_place(edit, expected):
    text = ATTENTION.replace(*edit)
    with pytest.raises(ConfigError, match=None) as info:
        parse_problem(text, "p.toml").explain()
    assert expected in str(info.value) and str(info.value).startswith("p.toml")
