"""Rendering report blocks as Markdown (``report.md``) and self-contained HTML (``report.html``)."""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .text import Block, fmt


def _cell_md(cell: Any) -> str:
    if isinstance(cell, tuple) and cell and cell[0] == "link":
        href, text = cell[1]
        return f"[{text}]({href.replace('report.html', 'report.md')})"
    return fmt(cell).replace("|", "\\|")


def _cell_html(cell: Any) -> str:
    if isinstance(cell, tuple) and cell and cell[0] == "link":
        href, text = cell[1]
        return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'
    return html.escape(fmt(cell))


def to_markdown(blocks: list[Block], folder: Path) -> str:
    out = []
    for kind, payload in blocks:
        if kind == "h1":
            out.append(f"# {payload}\n")
        elif kind == "h2":
            out.append(f"## {payload}\n")
        elif kind == "p":
            out.append(f"{payload}\n")
        elif kind == "warning":
            out.append(f"> **Warning:** {payload}\n")
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in payload) + "\n")
        elif kind == "code":
            out.append(f"```\n{payload.rstrip()}\n```\n")
        elif kind == "table":
            head, rows = payload
            out.append("| " + " | ".join(_cell_md(h) for h in head) + " |")
            out.append("|" + "---|" * len(head))
            out += ["| " + " | ".join(_cell_md(c) for c in row) + " |" for row in rows]
            out.append("")
        elif kind == "image":
            path, title, *caption = payload
            out.append(f"![{title}]({os.path.relpath(path, folder)})\n")
            if caption:
                out.append(f"*{caption[0]}*\n")
        elif kind == "files":
            out.append(
                "\n".join(
                    f"- [{href}]({quote(href)})" + (f": {note}" if note else "") for href, note in payload
                )
            )
            out.append("")
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
th{background:#f3f3f3}pre{background:#f6f8fa;padding:.6rem;overflow-x:auto}figure{margin:1rem 0}
img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:.9rem}
.warning{background:#fff4e5;border-left:4px solid #e67700;padding:.5rem .8rem}"""


def _embed(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def to_html(blocks: list[Block]) -> str:
    title = next((p for k, p in blocks if k == "h1"), "nnscratch report")
    out = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
    ]
    for kind, payload in blocks:
        if kind in ("h1", "h2", "p"):
            out.append(f"<{kind}>{html.escape(str(payload))}</{kind}>")
        elif kind == "warning":
            out.append(f"<p class='warning'><strong>Warning:</strong> {html.escape(str(payload))}</p>")
        elif kind == "list":
            out.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in payload) + "</ul>")
        elif kind == "code":
            out.append(f"<pre>{html.escape(payload)}</pre>")
        elif kind == "table":
            head, rows = payload
            out.append("<table><tr>" + "".join(f"<th>{_cell_html(h)}</th>" for h in head) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{_cell_html(c)}</td>" for c in row) + "</tr>" for row in rows]
            out.append("</table>")
        elif kind == "image":
            path, title, *caption = payload
            text = html.escape(title)
            if caption:  # a figure of the report's own folder: explained, and its file linked
                name = Path(path).name
                link = f'<a href="{html.escape(quote(name))}">{html.escape(name)}</a>'
                text = f"<b>{text}.</b> {html.escape(caption[0])} ({link})"
            out.append(
                f"<figure><img src='{_embed(path)}' alt='{html.escape(title)}'>"
                f"<figcaption>{text}</figcaption></figure>"
            )
        elif kind == "files":
            items = [
                f'<li><a href="{html.escape(quote(href))}">{html.escape(href)}</a>'
                + (f": {html.escape(note)}" if note else "")
                + "</li>"
                for href, note in payload
            ]
            out.append("<ul class='files'>" + "".join(items) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out)


__all__ = ["to_html", "to_markdown"]
