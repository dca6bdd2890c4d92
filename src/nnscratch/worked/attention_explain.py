"""``explain(MultiheadAttention(...), x, y, loss=...)``: one attention head worked step by step."""

from __future__ import annotations

from typing import Any

from nnscratch.engine.layers.attention import MultiheadAttention

from .attention_backward import backward_section
from .attention_steps import Symbols, forward_section, given_section, header
from .attention_trace import run_attention
from .row_steps import answers, loss_steps
from .worked import WorkedExample

ANSWER_KEYS = (
    "yhat",
    "loss",
    "dW_Q",
    "dW_K",
    "dW_V",
    "db_Q",
    "db_K",
    "db_V",
    "dW_out",
    "db_out",
    "dx",
)


def explain_attention(
    layer: MultiheadAttention,
    x: Any,
    y: Any,
    *,
    loss: Any,
    decimals: int,
    title: str | None = None,
    head: int | None = None,
    attn_mask: Any = None,
    key_padding_mask: Any = None,
    is_causal: bool = False,
) -> WorkedExample:
    """The worked example of one self-attention layer on one sequence (see :func:`nnscratch.explain`)."""
    tr = run_attention(
        layer,
        x,
        y,
        loss=loss,
        head=head,
        attn_mask=attn_mask,
        key_padding_mask=key_padding_mask,
        is_causal=is_causal,
    )
    sy = Symbols(tr)
    sections = [
        given_section(tr, sy),
        forward_section(tr, sy, decimals),
        loss_steps(tr.loss_fn, tr.y, tr.target, tr.loss, tr.dL_dy),
        backward_section(tr, sy),
    ]
    sections.append(answers(sections, ANSWER_KEYS))
    which = f", head {tr.head} of {tr.num_heads}" if tr.num_heads > 1 else ""
    default = f"Worked example: self-attention, T = {tr.x.shape[0]}, E = {tr.E}{which}"
    aliases = {"output": "yhat", "X": "x", "dL_dx": "dx", "dL_dy": "dL_dyhat", "target": "y"}
    return WorkedExample(
        title or default,
        header(tr, decimals),
        sections,
        decimals=decimals,
        layout="out_in",
        aliases=aliases,
        topics=["attention", "chain"],
        trace=tr,
    )


__all__ = ["explain_attention"]
