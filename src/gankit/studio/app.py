"""The studio's web app: Starlette routes over the page registry, the Lab session and the runs under RUNS_DIR.

Every page is plain HTML, CSS and JavaScript from ``gankit/studio/static/``; nothing is fetched
from outside the server (the Content-Security-Policy forbids it). The Lab streams its frames as
Server-Sent Events. Bad input from the browser is one line of JSON (``{"error": ...}``, status
400), never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gankit.errors import ConfigError
from gankit.run import RunDir
from gankit.studio.capabilities import DEMO_NAME, runs_for
from gankit.studio.jobs import Jobs
from gankit.studio.pages import Page, ordered_pages, register_page
from gankit.studio.paths import list_runs, resolve_run
from gankit.studio.runs import GeneratorCache, draw, newest_grid, parse_sample_request, summary
from gankit.studio.session import LabSession
from gankit.studio.web import guarded, json_body

log = logging.getLogger("gankit")
STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
DEMO_MINUTES = 1.0


class DemoRun:
    """``python -m gankit train mnist_mlp`` for a minute into RUNS_DIR/demo, in a subprocess, once at a time.

    The studio itself never writes a run directory: the training subprocess does, as ``gankit train``
    always does, and the Runs page reads it while it trains.
    """

    def __init__(self, root: Path, command: list[str] | None = None) -> None:
        self.root = root
        self.command = command or [
            sys.executable, "-m", "gankit", "train", "mnist_mlp", "--run-dir", str(root / DEMO_NAME),
            "--max-minutes", str(DEMO_MINUTES), "--no-progress",
        ]
        self.process: subprocess.Popen | None = None
        self.log_file = None
        self.lock = threading.Lock()

    def start(self) -> dict[str, Any]:
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                raise ConfigError("the demo run is already training")
            if (self.root / DEMO_NAME).exists():
                raise ConfigError(f"{self.root / DEMO_NAME} exists already; it is listed on this page")
            self.log_file = tempfile.TemporaryFile(mode="w+")
            self.process = subprocess.Popen(self.command, stdout=self.log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self.status()

    def status(self) -> dict[str, Any]:
        if self.process is None:
            return {"state": "none", "command": self.display_command()}
        code = self.process.poll()
        tail = ""
        if self.log_file is not None:
            self.log_file.seek(0)
            tail = "\n".join(self.log_file.read().splitlines()[-5:])
        state = "training" if code is None else ("finished" if code == 0 else f"failed (exit {code})")
        return {"state": state, "command": self.display_command(), "log": tail}

    def display_command(self) -> str:
        return " ".join(["gankit", *self.command[3:]]) if self.command[1:3] == ["-m", "gankit"] else " ".join(self.command)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Studio:
    """The state behind the app: RUNS_DIR, the Lab session, the generator cache, the demo run.

    Args:
        runs_dir: the directory whose runs the Runs and Sample pages show (created when missing).
        demo_command: the demo run's command (tests give a shorter one).
    """

    def __init__(self, runs_dir: str | Path, demo_command: list[str] | None = None) -> None:
        self.root = Path(runs_dir).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._lab: LabSession | None = None
        self._lab_lock = threading.Lock()
        self.generators = GeneratorCache()
        self.demo = DemoRun(self.root, demo_command)
        self.jobs = Jobs()
        threading.Thread(target=_warm_imports, name="gankit-studio-imports", daemon=True).start()

    @property
    def lab(self) -> LabSession:
        with self._lab_lock:
            if self._lab is None:
                self._lab = LabSession()
            return self._lab

    def run_path(self, name: str) -> Path:
        return resolve_run(self.root, name)

    def close(self) -> None:
        if self._lab is not None:
            self._lab.close()
        self.demo.stop()
        self.jobs.close()


# ------------------------------------------------------------------ helpers
def _warm_imports() -> None:
    """Import what the first sample grid needs (torchvision takes seconds) before anyone asks for it."""
    import gankit.sampling  # noqa: F401
    import torchvision.utils  # noqa: F401


# --------------------------------------------------------------------- Lab
def lab_routes(studio: Studio) -> list[Route]:
    async def state(request: Request) -> Response:
        return JSONResponse(studio.lab.state())

    async def real(request: Request) -> Response:
        return Response(studio.lab.real_text, media_type="application/json")

    async def control(request: Request) -> Response:
        body = await json_body(request)
        return JSONResponse(studio.lab.control(str(body.get("action"))))

    async def settings(request: Request) -> Response:
        body = await json_body(request)
        changes = body.get("settings") or {}
        if not isinstance(changes, dict):
            raise ConfigError("settings must be a mapping of setting names to values")
        return JSONResponse(studio.lab.configure(changes, body.get("preset"), body.get("points")))

    async def stream(request: Request) -> Response:
        session = studio.lab

        async def frames():
            last = 0
            while not await request.is_disconnected():
                frame_id, text = await asyncio.to_thread(session.wait_frame, last, 1.0)
                if frame_id > last:
                    last = frame_id
                    yield f"event: frame\ndata: {text}\n\n"
                else:
                    yield ": keep-alive\n\n"

        return StreamingResponse(frames(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    return [
        Route("/api/lab/state", guarded(state)), Route("/api/lab/real", guarded(real)),
        Route("/api/lab/control", guarded(control), methods=["POST"]),
        Route("/api/lab/settings", guarded(settings), methods=["POST"]),
        Route("/api/lab/stream", stream),
    ]


# -------------------------------------------------------------------- Runs
def runs_routes(studio: Studio) -> list[Route]:
    async def runs(request: Request) -> Response:
        names = await asyncio.to_thread(list_runs, studio.root)
        rows = [await asyncio.to_thread(summary, studio.run_path(name), name) for name in names]
        return JSONResponse({"root": str(studio.root), "runs": rows, "demo": studio.demo.status()})

    async def grid(request: Request) -> Response:
        path = newest_grid(RunDir(studio.run_path(request.query_params.get("run", ""))))
        if path is None:
            raise ConfigError("this run has no sample grid yet")
        return Response(path.read_bytes(), media_type="image/png", headers={"Cache-Control": "no-store"})

    async def demo(request: Request) -> Response:
        await json_body(request)
        return JSONResponse(studio.demo.start())

    return [
        Route("/api/runs", guarded(runs)), Route("/api/runs/grid", guarded(grid)),
        Route("/api/runs/demo", guarded(demo), methods=["POST"]),
    ]


# ------------------------------------------------------------------ Sample
def sample_routes(studio: Studio) -> list[Route]:
    async def info(request: Request) -> Response:
        runs = await asyncio.to_thread(runs_for, studio.root, "sample")
        name = request.query_params.get("run")
        out: dict[str, Any] = {"runs": [run.as_json() for run in runs]}
        if name:
            generator, spec = await asyncio.to_thread(studio.generators.get, studio.run_path(name))
            out["spec"] = {"num_classes": int(spec.get("num_classes", 0)), "img_shape": list(spec.get("img_shape", [])),
                           "latent_dim": spec.get("latent_dim"), "model": spec.get("model")}
        return JSONResponse(out)

    async def sample(request: Request) -> Response:
        name = request.query_params.get("run", "")
        path = studio.run_path(name)
        generator, spec = await asyncio.to_thread(studio.generators.get, path)
        params = dict(request.query_params)
        wanted = parse_sample_request(params, spec)
        reference = None
        if len(spec.get("img_shape", [])) == 1 and wanted["format"] == "png":
            from gankit.sampling import data_reference

            reference = await asyncio.to_thread(data_reference, path)
        data = await asyncio.to_thread(draw, generator, spec, wanted, reference)
        fmt = wanted["format"]
        headers = {"Cache-Control": "no-store"}
        if params.get("download"):
            stem = f"{Path(name).name}-seed{wanted['seed']}-n{wanted['num']}"
            headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
        return Response(data, media_type="image/png" if fmt == "png" else "application/octet-stream", headers=headers)

    return [Route("/api/sample/info", guarded(info)), Route("/api/sample/draw", guarded(sample))]


register_page(Page("lab", "Lab", "lab.html", 10, lab_routes))
register_page(Page("runs", "Runs", "runs.html", 20, runs_routes))
register_page(Page("sample", "Sample", "sample.html", 30, sample_routes))

from gankit.studio import edit_page, interpolate_page, restore_page  # noqa: E402,F401 - they register their pages


# --------------------------------------------------------------------- app
class SecurityHeaders:
    """ASGI middleware adding the Content-Security-Policy (only this server's own files) to every response."""

    HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"no-referrer")]

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + self.HEADERS}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def page_html(page: Page) -> str:
    """The page's HTML with the navigation bar of every registered page."""
    links = "".join(
        f'<a href="/{p.name}"{" class=current" if p.name == page.name else ""}>{p.title}</a>' for p in ordered_pages()
    )
    return (STATIC / page.html).read_text().replace("{{nav}}", f'<nav><span class="brand">gankit studio</span>{links}</nav>')


def create_app(runs_dir: str | Path = "runs", host: str = "127.0.0.1", demo_command: list[str] | None = None) -> Starlette:
    """The studio as an ASGI app over ``runs_dir``; ``app.state.studio`` is its :class:`Studio`."""
    studio = Studio(runs_dir, demo_command)
    async def job(request: Request) -> Response:
        return JSONResponse(studio.jobs.status(request.query_params.get("id", "")))

    routes: list = [Route("/", lambda request: RedirectResponse("/lab")), Route("/api/jobs", guarded(job))]
    for page in ordered_pages():
        html = page_html(page)
        routes.append(Route(f"/{page.name}", (lambda text: lambda request: HTMLResponse(text))(html)))
        routes.extend(page.routes(studio))
    routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    allowed = ["127.0.0.1", "localhost", "[::1]"] + ([host] if host not in ("0.0.0.0", "::") else ["*"])

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        studio.close()

    app = Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed),
                                               Middleware(SecurityHeaders)],
                    lifespan=lifespan)
    app.state.studio = studio
    return app
