"""The server's sessions, under ids the server makes up (``secrets.token_urlsafe``).

A page asks for a session once (``POST /api/session``) and sends the id with every request; an
id the server does not know (never issued, evicted, or from before a restart) is answered with
:class:`SessionGone` (HTTP 410) so the page re-creates its session with its current settings.
When the store is full, the session idle longest goes, but never one used in the last
``LIVE_SECONDS``: then the new session is refused instead, and no open tab is swapped silently.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict

from nnscratch.base.errors import NNScratchError

from .session import Session

MAX_SESSIONS = 64
LIVE_SECONDS = 120.0


class SessionGone(NNScratchError):
    """The session id is unknown to the server (HTTP 410)."""


class StoreFull(NNScratchError):
    """Every session slot is held by a tab in use (HTTP 503)."""


class SessionStore:
    """At most ``max_sessions`` sessions; the least recently used idle one is dropped first."""

    def __init__(self, max_sessions: int = MAX_SESSIONS, live_seconds: float = LIVE_SECONDS) -> None:
        self._sessions: OrderedDict[str, tuple[Session, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_sessions, self.live_seconds = max_sessions, live_seconds

    def add(self, session: Session) -> str:
        """Keep ``session`` under a new random id and return the id."""
        sid = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            while len(self._sessions) >= self.max_sessions:
                oldest, (_, used) = next(iter(self._sessions.items()))
                if now - used < self.live_seconds:
                    raise StoreFull(
                        f"the playground already serves {len(self._sessions)} open tabs; "
                        "close one or try again in a few minutes"
                    )
                del self._sessions[oldest]
            self._sessions[sid] = (session, now)
        return sid

    def get(self, sid: str) -> Session:
        with self._lock:
            entry = self._sessions.get(sid) if isinstance(sid, str) else None
            if entry is None:
                raise SessionGone(
                    "the server does not know this tab's session (it was restarted, or the session "
                    "was dropped after a long pause)"
                )
            self._sessions[sid] = (entry[0], time.monotonic())
            self._sessions.move_to_end(sid)
            return entry[0]

    def __len__(self) -> int:
        return len(self._sessions)


__all__ = ["MAX_SESSIONS", "SessionGone", "SessionStore", "StoreFull"]
