"""Who may talk to the playground: the Host allow-list, the same-origin rule and the response headers.

The server runs code for whoever reaches it, so by default only this machine's own page does:

* **Host** must name the bound address (127.0.0.1, localhost, [::1] or the ``--host`` given) with
  the port. This stops DNS rebinding: a page at ``evil.test`` that re-resolves to 127.0.0.1
  still sends ``Host: evil.test``.
* **Origin** must be this server's own origin on every POST; a POST without one is refused too
  (every browser sends Origin on a POST; only scripts outside a browser omit it, and they can
  send it).
* The headers forbid framing, inline scripts, MIME sniffing and leaking the URL in a Referer.
"""

from __future__ import annotations

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
WILDCARDS = ("0.0.0.0", "::", "[::]")

#: sent with every response
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def host_name(host: str) -> str:
    """``host`` as it appears in a Host header: an IPv6 address in brackets, lower case."""
    host = host.strip().lower()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def allowed_hosts(bind: str, port: int) -> frozenset[str]:
    """The Host header values served: the loopback names and the bound address, with the port
    (and without it on port 80, as browsers send it)."""
    names = {*LOOPBACK}
    if host_name(bind) not in WILDCARDS:
        names.add(host_name(bind))
    with_port = {f"{n}:{port}" for n in names}
    return frozenset(with_port | names if port == 80 else with_port)


def host_allowed(host: str | None, allowed: frozenset[str]) -> bool:
    return bool(host) and host.strip().lower() in allowed


def same_origin(origin: str | None, host: str) -> bool:
    """Whether the Origin header names this server (``http://`` + the Host already checked)."""
    return bool(origin) and origin.strip().lower() == f"http://{host.strip().lower()}"


__all__ = ["HEADERS", "allowed_hosts", "host_allowed", "host_name", "same_origin"]
