"""The playground's web server (Flask app, served by waitress): JSON endpoints over
:class:`Session` plus the page.

A page asks the server for a session (``POST /api/session``) and sends the random id it gets
with every request (``X-Session``), so tabs never share a network and nobody can guess one.
The page drives training: it asks for a few epochs, draws the answer, and asks again. The rules
on who may call (Host, Origin, headers) are in :mod:`.security`; every field is checked by
:mod:`.fields`; training per request is bounded by :meth:`Session.step`.
"""

from __future__ import annotations

import logging
import threading
import webbrowser
from collections.abc import Callable
from importlib import resources
from typing import Any

from nnscratch.base.errors import HyperparameterError, MissingDependencyError, NNScratchError

from . import security
from .datasets import MAX_UPLOAD_BYTES, parse_upload
from .edit import edit_parameter
from .explain_view import explain_parameter
from .export import data_csv, experiment_toml, model_file
from .fields import MAX_JSON_BYTES, integer, parse_json_object
from .session import MAX_EPOCHS_PER_STEP, PlaygroundConfig, Session, Upload
from .store import SessionGone, SessionStore, StoreFull

try:
    from flask import Flask, Response, jsonify, request
    from waitress import create_server
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError(
        f"the playground needs {exc.name}: pip install 'nnscratch[playground]'"
    ) from exc

log = logging.getLogger("nnscratch.playground")
STATIC_TYPES = {"js": "text/javascript", "css": "text/css"}
STATUS = {SessionGone: 410, StoreFull: 503}


def create_app(host: str = "127.0.0.1", port: int = 8765) -> Flask:
    """The playground app, serving only Host values of ``host``/loopback at ``port``."""
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES + 64_000
    app.json.sort_keys = False
    store = SessionStore()
    app.extensions["nnscratch_sessions"] = store
    app.extensions["nnscratch_hosts"] = security.allowed_hosts(host, port)
    static = resources.files("nnscratch.playground") / "static"

    def refuse(status: int, message: str) -> tuple[Response, int]:
        return jsonify(error=message), status

    @app.before_request
    def gatekeeper():
        allowed = app.extensions["nnscratch_hosts"]
        if not security.host_allowed(request.host, allowed):
            return refuse(403, f"this server answers only to {', '.join(sorted(allowed))}")
        if request.method not in ("GET", "HEAD") and not security.same_origin(
            request.headers.get("Origin"), request.host
        ):
            return refuse(403, "cross-origin request refused: use the playground's own page")
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.update(security.HEADERS)
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def session() -> Session:
        return store.get(request.headers.get("X-Session", ""))

    def body() -> dict[str, Any]:
        if (request.content_length or 0) > MAX_JSON_BYTES:
            raise HyperparameterError(f"the request body is too large; the limit is {MAX_JSON_BYTES} bytes")
        return parse_json_object(request.get_data(cache=False))

    def client_gone() -> Callable[[], bool]:
        # waitress tells whether the connection was closed (with channel_request_lookahead > 0)
        return request.environ.get("waitress.client_disconnected") or (lambda: False)

    @app.errorhandler(NNScratchError)
    def library_error(exc: NNScratchError):
        status = STATUS.get(type(exc), 400)
        return jsonify(error=str(exc), gone=True) if status == 410 else jsonify(error=str(exc)), status

    @app.errorhandler(413)
    def too_large(_exc):
        return refuse(413, f"the upload is too large: the limit is {MAX_UPLOAD_BYTES // 1000} kB")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if hasattr(exc, "code") and hasattr(exc, "description"):  # an HTTP error such as 404
            return jsonify(error=str(exc.description)), exc.code
        log.exception("playground request failed")
        return refuse(500, "internal error: the server's log has the details")

    @app.get("/")
    def index() -> Response:
        return Response((static / "index.html").read_bytes(), mimetype="text/html")

    @app.get("/static/<name>")
    def static_file(name: str) -> Response:
        ext = name.rsplit(".", 1)[-1]
        target = static / name
        if ext not in STATIC_TYPES or "/" in name or name.startswith(".") or not target.is_file():
            return refuse(404, f"no such file: {name}")
        return Response(target.read_bytes(), mimetype=STATIC_TYPES[ext])

    @app.post("/api/session")
    def new_session():
        data = body()
        fresh = Session(PlaygroundConfig.from_dict(data.get("config", {})))
        sid = store.add(fresh)
        with fresh.lock:
            return jsonify(session=sid, **fresh.snapshot(with_points=True))

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
        data = body()
        epochs = integer("epochs", data.get("epochs", 1), 1, MAX_EPOCHS_PER_STEP)
        have = integer("have", data.get("have", 0), 0, 2**53)  # loss points the page already has
        with s.lock:
            done = s.step(epochs, stop=client_gone())
            return jsonify(epochs_done=done, **s.snapshot(since=have))

    @app.post("/api/reset")
    def reset():
        s = session()
        body()
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
            raise HyperparameterError("no file in the upload (form field 'file')")
        data = parse_upload(file.read(MAX_UPLOAD_BYTES + 1), file.filename or "upload.csv")
        with s.lock:
            config = PlaygroundConfig.from_dict({**s.config.to_dict(), "dataset": "upload"})
            s.configure(config, upload=Upload.of(data))  # all or nothing: data and network together
            return jsonify(s.snapshot(with_points=True))

    @app.post("/api/explain")
    def explain():
        s = session()
        data = body()
        with s.lock:
            return jsonify(explain_parameter(s, data))

    @app.post("/api/weight")
    def set_weight():
        s = session()
        data = body()
        with s.lock:
            edit_parameter(s, data)
            have = len(s.curves["train_loss"]) - 1  # the last loss point changed with the weight
            return jsonify(s.snapshot(since=have))

    def attachment(content: bytes | str, mimetype: str, name: str) -> Response:
        return Response(
            content, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}"}
        )

    @app.get("/api/export/model")
    def export_model():
        s = session()
        with s.lock:
            return attachment(model_file(s), "application/octet-stream", "playground_model.npz")

    @app.get("/api/export/experiment")
    def export_experiment():
        s = session()
        with s.lock:
            return attachment(experiment_toml(s), "application/toml", "playground.toml")

    @app.get("/api/export/data")
    def export_data():
        s = session()
        with s.lock:
            return attachment(data_csv(s), "text/csv", "playground_data.csv")

    return app


def make_server(host: str = "127.0.0.1", port: int = 8765, app: Flask | None = None) -> Any:
    """A waitress server for ``app`` (a new playground app by default), bound (``port=0``: any
    free port) but not yet serving; the app's Host allow-list names the port actually bound."""
    app = app or create_app(host, port)
    # lookahead > 0: waitress notices a closed connection while a request still trains
    server = create_server(app, host=host, port=port, channel_request_lookahead=4)
    app.extensions["nnscratch_hosts"] = security.allowed_hosts(host, server.effective_port)
    return server


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False) -> None:
    """Run the playground until interrupted (waitress; local use unless ``host`` says otherwise)."""
    server = make_server(host, port)
    shown = "127.0.0.1" if security.host_name(host) in security.WILDCARDS else security.host_name(host)
    url = f"http://{shown}:{server.effective_port}/"
    print(f"nnscratch playground on {url}  (Ctrl+C to stop)")
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
