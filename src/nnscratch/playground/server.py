"""The playground's web server (Flask): JSON endpoints over :class:`Session` plus the page.

Each browser tab makes up a session id and sends it with every request, so tabs never share a
network. The page drives training: it asks for a few epochs, draws the answer, and asks again.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict
from importlib import resources
from typing import Any

from nnscratch.base.errors import MissingDependencyError, NNScratchError
from nnscratch.playground.explain_view import explain_parameter
from nnscratch.playground.export import data_csv, experiment_toml, model_file

from .datasets import MAX_UPLOAD_BYTES, parse_upload
from .session import PlaygroundConfig, Session

try:
    from flask import Flask, Response, jsonify, request, send_file
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("the playground needs Flask: pip install 'nnscratch[playground]'") from exc

MAX_SESSIONS = 64
log = logging.getLogger("nnscratch.playground")


class SessionStore:
    """At most MAX_SESSIONS sessions, the least recently used dropped first."""

    def __init__(self) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sid: str) -> Session:
        if not sid or len(sid) > 64 or not sid.replace("-", "").isalnum():
            raise NNScratchError("missing or malformed session id: reload the page")
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                session = self._sessions[sid] = Session()
                while len(self._sessions) > MAX_SESSIONS:
                    self._sessions.popitem(last=False)
            self._sessions.move_to_end(sid)
            return session

    def __len__(self) -> int:
        return len(self._sessions)


def create_app() -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES + 64_000
    store = SessionStore()
    app.extensions["nnscratch_sessions"] = store
    static = resources.files("nnscratch.playground") / "static"

    def session() -> Session:
        return store.get(request.headers.get("X-Session", ""))

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise NNScratchError("the request body must be a JSON object")
        return data

    @app.errorhandler(NNScratchError)
    def library_error(exc: NNScratchError):
        return jsonify(error=str(exc)), 400

    @app.errorhandler(413)
    def too_large(_exc):
        return jsonify(error=f"the upload is too large: the limit is {MAX_UPLOAD_BYTES // 1000} kB"), 413

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if hasattr(exc, "code") and hasattr(exc, "description"):  # an HTTP error such as 404
            return jsonify(error=str(exc.description)), exc.code
        log.exception("playground request failed")
        return jsonify(error=f"internal error ({type(exc).__name__}): {exc}"), 500

    @app.get("/")
    def index() -> Response:
        return Response((static / "index.html").read_bytes(), mimetype="text/html")

    @app.get("/static/<name>")
    def static_file(name: str) -> Response:
        types = {"js": "text/javascript", "css": "text/css"}
        ext = name.rsplit(".", 1)[-1]
        target = static / name
        if ext not in types or "/" in name or not target.is_file():
            return jsonify(error=f"no such file: {name}"), 404
        return Response(target.read_bytes(), mimetype=types[ext])

    @app.get("/api/state")
    def state():
        s = session()
        with s.lock:
            return jsonify(s.snapshot(with_points=True))

    @app.post("/api/config")
    def configure():
        s = session()
        config = PlaygroundConfig.from_dict(body())
        with s.lock:
            s.configure(config)
            return jsonify(s.snapshot(with_points=True))

    @app.post("/api/step")
    def step():
        s = session()
        epochs = body().get("epochs", 1)
        if not isinstance(epochs, int) or epochs < 1:
            raise NNScratchError(f"epochs must be a positive integer. Received: {epochs!r}")
        with s.lock:
            s.step(epochs)
            return jsonify(s.snapshot())

    @app.post("/api/reset")
    def reset():
        s = session()
        with s.lock:
            s.reset()
            return jsonify(s.snapshot(with_points=True))

    @app.post("/api/upload")
    def upload():
        s = session()
        if (request.content_length or 0) > MAX_UPLOAD_BYTES + 64_000:
            return too_large(None)  # refuse before parsing anything
        file = request.files.get("file")
        if file is None:
            raise NNScratchError("no file in the upload (form field 'file')")
        data = parse_upload(file.read(MAX_UPLOAD_BYTES + 1), file.filename or "upload.csv")
        with s.lock:
            s.set_upload(data)
            config = PlaygroundConfig.from_dict({**s.config.to_dict(), "dataset": "upload"})
            s.configure(config)
            return jsonify(s.snapshot(with_points=True))

    @app.post("/api/explain")
    def explain():
        s = session()
        with s.lock:
            return jsonify(explain_parameter(s, body()))

    @app.get("/api/export/model")
    def export_model():
        s = session()
        with s.lock:
            data = model_file(s)
        return send_file(
            io.BytesIO(data),
            mimetype="application/octet-stream",
            as_attachment=True,
            download_name="playground_model.npz",
        )

    @app.get("/api/export/experiment")
    def export_experiment():
        s = session()
        with s.lock:
            text = experiment_toml(s)
        return Response(
            text,
            mimetype="application/toml",
            headers={"Content-Disposition": "attachment; filename=playground.toml"},
        )

    @app.get("/api/export/data")
    def export_data():
        s = session()
        with s.lock:
            text = data_csv(s)
        return Response(
            text,
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=playground_data.csv"},
        )

    return app


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False) -> None:
    """Run the playground until interrupted (Flask's threaded server, local use only)."""
    app = create_app()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not one log line per training step
    url = f"http://{host}:{port}/"
    print(f"nnscratch playground on {url}  (Ctrl+C to stop)")
    if open_browser:
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    app.run(host=host, port=port, threaded=True, debug=False, use_reloader=False)
