"""The "Parameter update" section: one step of the optimizer, written out.

SGD (with weight decay, momentum and Nesterov) and Adam have their update formulas shown with
the numbers in; other optimizers show the engine's result with their rule named. The values are
always the engine's (``optimizer.step()`` ran on the copy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.engine.optim.optimizers import SGD, Adam, AdamW, Optimizer

from .mathfmt import Line, Mat, T, Tex, fmt_num, latex_num
from .notation import Notation
from .steps import Note, Section, Step, line
from .trace import Trace


def describe_optimizer(opt: Optimizer) -> tuple[str, str]:
    """(Markdown, text) one-line description, e.g. ``SGD, η = 0.1``."""
    hp = opt.hyperparameters()
    extras = [f"{k}={v}" for k, v in hp.items() if k != "lr" and v not in (0, 0.0, False)]
    if len(opt.param_groups) > 1:  # the first group's values; each parameter's step shows its own
        extras.append(f"{len(opt.param_groups)} parameter groups")
    tail = f" ({', '.join(extras)})" if extras else ""
    lr = fmt_num(opt.lr, 10)
    return (
        f"{type(opt).__name__}, $\\eta = {latex_num(opt.lr, 10)}$" + tail,
        f"{type(opt).__name__}, η = {lr}" + tail,
    )


def _c(v: float) -> Tex:
    return Tex(latex_num(v, 10), fmt_num(v, 10))


def _param_steps(
    opt: Optimizer,
    nt: Notation,
    key: str,
    title: str,
    sym: Tex,
    grad_sym: Tex,
    value: np.ndarray,
    grad: np.ndarray,
    new: np.ndarray,
    state: dict,
    before: dict,
    t: int,
    hp: dict,
) -> list[Step]:
    """Steps updating one parameter (all arrays already in display orientation) with ``hp``, the
    hyperparameters of its parameter group."""
    P, G = Mat(value), Mat(grad)
    eta = _c(hp["lr"])
    steps: list[Step] = []
    if isinstance(opt, SGD):
        wd, l1 = hp["weight_decay"], hp["l1"]
        g_sym: Line = (grad_sym,)
        g_val: Line = (G,)
        if l1:  # the L1 subgradient l1·sign(θ), added first as the optimizer does
            sign = Tex(r"\operatorname{sign}(" + sym.latex + ")", "sign(" + sym.text + ")")
            g_sym = line(g_sym, T(" + "), _c(l1), T(" "), sign)
            g_val = line(g_val, T(" + "), _c(l1), T(" "), Mat(np.sign(value)))
        if wd:
            g_sym = line(g_sym, T(" + "), _c(wd), T(" "), sym)
            g_val = line(g_val, T(" + "), _c(wd), T(" "), P)
        if wd or l1:
            g_sym = line(T(r"\left(", "("), g_sym, T(r"\right)", ")"))
            g_val = line(T(r"\left(", "("), g_val, T(r"\right)", ")"))
        if hp["momentum"]:
            buf = Tex("v_{" + sym.latex + "}", "v[" + sym.text + "]")
            b_new = state["momentum_buffer"]
            b_new = nt.W(b_new) if b_new.ndim == 2 else nt.col(b_new)
            if before.get("momentum_buffer") is None:
                bs, bv, bnote = g_sym, g_val, "First step: the momentum buffer starts as the gradient."
            else:
                prev = before["momentum_buffer"]
                prev = nt.W(prev) if prev.ndim == 2 else nt.col(prev)
                damp = 1.0 - hp["dampening"]
                bs = line(_c(hp["momentum"]), T(" "), buf, T(" + "), _c(damp) if damp != 1 else T(""), g_sym)
                bv = line(
                    _c(hp["momentum"]), T(" "), Mat(prev), T(" + "), _c(damp) if damp != 1 else T(""), g_val
                )
                bnote = "The buffer keeps a running sum of past gradients."
            steps.append(
                Step(None, f"Momentum buffer for {sym.text}", buf, b_new, bs, bv, notes=[Note(bnote, bnote)])
            )
            if hp["nesterov"]:
                g_sym = line(g_sym, T(" + "), _c(hp["momentum"]), T(" "), buf)
                g_val = line(g_val, T(" + "), _c(hp["momentum"]), T(" "), Mat(b_new))
            else:
                g_sym, g_val = (buf,), (Mat(b_new),)
        symbolic = line(sym, T(" - ", " − "), nt.eta, T(" "), g_sym)
        substituted = line(P, T(" - ", " − "), eta, T(r" \cdot ", "·"), g_val)
        steps.append(Step(key, title, nt.new(sym), new, symbolic, substituted))
        return steps
    plain_adam = isinstance(opt, Adam) and not isinstance(opt, AdamW)
    if plain_adam and not hp["amsgrad"] and not hp["weight_decay"] and not hp["l1"]:
        b1, b2 = hp["betas"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m = nt.W(m) if m.ndim == 2 else nt.col(m)
        v = nt.W(v) if v.ndim == 2 else nt.col(v)
        m_prev = before.get("exp_avg")
        v_prev = before.get("exp_avg_sq")
        m_prev = (
            np.zeros_like(m) if m_prev is None else (nt.W(m_prev) if m_prev.ndim == 2 else nt.col(m_prev))
        )
        v_prev = (
            np.zeros_like(v) if v_prev is None else (nt.W(v_prev) if v_prev.ndim == 2 else nt.col(v_prev))
        )
        ms = Tex("m_{" + sym.latex + "}", "m[" + sym.text + "]")
        vs = Tex("v_{" + sym.latex + "}", "v[" + sym.text + "]")
        steps.append(
            Step(
                None,
                f"Adam first moment for {sym.text}",
                ms,
                m,
                line(_c(b1), T(" "), ms, T(" + "), _c(1 - b1), T(" "), grad_sym),
                line(_c(b1), T(" "), Mat(m_prev), T(" + "), _c(1 - b1), T(" "), G),
            )
        )
        steps.append(
            Step(
                None,
                f"Adam second moment for {sym.text}",
                vs,
                v,
                line(_c(b2), T(" "), vs, T(" + "), _c(1 - b2), T(" "), grad_sym, T(r"^{\odot 2}", "²")),
                line(_c(b2), T(" "), Mat(v_prev), T(" + "), _c(1 - b2), T(" "), G, T(r"^{\odot 2}", "²")),
            )
        )
        c1, c2 = 1 - b1**t, 1 - b2**t
        symbolic = line(
            sym,
            T(
                r" - \eta \, \frac{"
                + ms.latex
                + f"/(1 - \\beta_1^{{{t}}})"
                + "}{\\sqrt{"
                + vs.latex
                + f"/(1 - \\beta_2^{{{t}}})"
                + "} + \\epsilon}",
                f" − η·({ms.text}/(1 − β1^{t})) ⊘ (√({vs.text}/(1 − β2^{t})) + ε)",
            ),
        )
        substituted = line(
            P,
            T(" - ", " − "),
            eta,
            T(r" \cdot \left(", "·(("),
            Mat(m),
            T(" / ", " / "),
            _c(c1),
            T(r"\right) \oslash \left(\sqrt{", ") ⊘ (√("),
            Mat(v),
            T(" / "),
            _c(c2),
            T(r"} + ", ") + "),
            _c(hp["eps"]),
            T(r"\right)", ")"),
        )
        note = (
            "Adam: bias-corrected running means of the gradient and of its square; "
            "⊘ and √ act entry by entry."
        )
        steps.append(
            Step(
                key,
                title,
                nt.new(sym),
                new,
                symbolic,
                substituted,
                notes=[Note(note.replace("⊘", "$\\oslash$").replace("√", "$\\sqrt{\\cdot}$"), note)],
            )
        )
        return steps
    rule = (type(opt).__doc__ or "").strip().splitlines()[0]
    steps.append(
        Step(
            key,
            title,
            nt.new(sym),
            new,
            (
                Tex(
                    r"\operatorname{step}\left(" + sym.latex + ", " + grad_sym.latex + r"\right)",
                    f"step({sym.text}, {grad_sym.text})",
                ),
            ),
            (),
            notes=[
                Note(
                    f"{rule} (see its docstring for the update formula).",
                    f"{rule} (see its docstring for the update formula).",
                )
            ],
        )
    )
    return steps


def _update_fields(lt: Any, name: str) -> tuple[Any, ...]:
    """A parameter's update record in the trace: new value, trained?, optimizer state after and
    before, hyperparameters (``W_new``, ``W_trained``, ... for ``name="W"``)."""
    return tuple(
        getattr(lt, f"{name}_{field}") for field in ("new", "trained", "state", "state_before", "hyper")
    )


def update_section(trace: Trace, nt: Notation) -> Section:
    opt = trace.optimizer
    sec = Section("Parameter update")
    t = trace.step_count_before + 1
    for lt in trace.layers:
        l = lt.index
        # (name, symbol, gradient symbol, value, gradient, new value, trained?, state, state before, hyper)
        items = [("W", nt.Wsym(l), nt.dW(l), nt.W(lt.W), nt.W(lt.dW), *_update_fields(lt, "W"))]
        if lt.b is not None:
            items.append(("b", nt.b(l), nt.db(l), nt.col(lt.b), nt.col(lt.db), *_update_fields(lt, "b")))
        for name, sym, gsym, value, grad, new, trained, state, before, hp in items:
            new_disp = nt.W(new) if name == "W" else nt.col(new)
            what = "weights" if name == "W" else "bias"
            title = f"Updated {what} of {nt.layer_name(l)}"
            if not trained:
                sec.add(
                    Step(
                        f"{name}{l}_new",
                        title,
                        nt.new(sym),
                        new_disp,
                        (sym,),
                        (),
                        notes=[Note("Not in the optimizer: unchanged.", "Not in the optimizer: unchanged.")],
                    )
                )
                continue
            for step in _param_steps(
                opt, nt, f"{name}{l}_new", title, sym, gsym, value, grad, new_disp, state, before, t, hp
            ):
                sec.add(step)
    return sec


__all__ = ["describe_optimizer", "update_section"]
