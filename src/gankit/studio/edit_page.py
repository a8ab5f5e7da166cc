"""The Edit page: invert an image (uploaded, or a test image of the run's dataset) and move it toward a class.

The same steps as ``gankit edit RUN --input FILE --toward K [--strength S] [--from J] --steps N``
(:mod:`gankit.cli.edit`): :func:`gankit.edit.project` from the nearest of 1,000 random codes, then
:func:`gankit.edit.change_class` for a conditional run, or the class direction of
:func:`gankit.edit.fit_directions` (the domain evaluator's labels of 10,000 samples, fitted once per
generator and kept) for an unconditional one. The inversion runs in the studio's worker thread
(:mod:`gankit.studio.jobs`); the page polls for its result.
"""

from __future__ import annotations

import asyncio
import math
import threading
from typing import Any

import torch
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gankit.errors import ConfigError
from gankit.studio.capabilities import runs_for
from gankit.studio.interpolate_page import DEFAULT_STEPS, MAX_STEPS, generator_run
from gankit.studio.pages import Page, register_page
from gankit.studio.uploads import MAX_UPLOAD_BYTES, read_upload
from gankit.studio.web import guarded, json_body, png_data_url

DEFAULT_STRENGTH = 4.0
"""``gankit edit``'s default strength for class directions."""
MAX_STRENGTH = 20.0
EDIT_REQUEST_BYTES = MAX_UPLOAD_BYTES * 4 // 3 + 4096


class Directions:
    """The class boundaries of each unconditional generator, fitted once per generator version and kept."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[Any, Any] = {}

    def get(self, gen_run, classify):
        from gankit.edit import fit_directions
        from gankit.edit.operations import DIRECTION_SAMPLES
        from gankit.run import RunDir
        from gankit.studio.runs import GeneratorCache

        key = (gen_run.path, GeneratorCache._version(RunDir(gen_run.path)))
        with self.lock:
            if key not in self.entries:
                self.entries = {k: v for k, v in self.entries.items() if k[0] != gen_run.path}
                self.entries[key] = fit_directions(gen_run, classify, num=DIRECTION_SAMPLES)
            return self.entries[key]


DIRECTIONS = Directions()


def number(body: dict[str, Any], key: str, kind, default, low, high):
    raw = body.get(key)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: {raw!r} is not a {'whole ' if kind is int else ''}number") from None
    if not (low <= value <= high) or (kind is float and not math.isfinite(value)):
        raise ConfigError(f"{key}: {raw} is outside {low}..{high}")
    return value


def parse_edit(body: dict[str, Any], gen_run) -> dict[str, Any]:
    """toward, strength, from, steps of an edit request, checked as ``gankit edit`` checks its flags."""
    if body.get("toward") in (None, ""):
        raise ConfigError("toward: choose the class to move toward")
    wanted = {"toward": gen_run.check_class(str(body["toward"]), "toward"), "steps": number(body, "steps", int, DEFAULT_STEPS, 1, MAX_STEPS),
              "source": None, "strength": None}
    if gen_run.num_classes:
        if body.get("strength") not in (None, ""):
            raise ConfigError("strength: a conditional run changes the class directly; leave it empty")
        if body.get("from") not in (None, ""):
            wanted["source"] = gen_run.check_class(str(body["from"]), "from")
    else:
        if body.get("from") not in (None, ""):
            raise ConfigError("from: an unconditional run reads no class; leave it empty")
        wanted["strength"] = number(body, "strength", float, DEFAULT_STRENGTH, -MAX_STRENGTH, MAX_STRENGTH)
    return wanted


def edit_image(gen_run, image: torch.Tensor, wanted: dict[str, Any], directions: Directions = DIRECTIONS) -> dict[str, Any]:
    """``gankit edit``'s steps on one uint8 image (C, H, W): the reconstruction, the edited image, the readings."""
    from gankit.edit import change_class, project
    from gankit.edit import runs as edit_runs
    from gankit.edit.invert import ProjectorConfig
    from gankit.metrics.restoration import psnr

    image = image[None]  # (1, C, H, W)
    evaluator = edit_runs.domain_evaluator(gen_run)

    def classify(x: torch.Tensor) -> torch.Tensor:
        return edit_runs.classify(evaluator, x)

    labels = None
    source = int(classify(image).argmax())
    if gen_run.num_classes:
        labels = torch.tensor([wanted["source"] if wanted["source"] is not None else source])
    inverted = project(gen_run, image, ProjectorConfig(steps=wanted["steps"]), labels=labels, search=1000)
    if gen_run.num_classes:
        edited = change_class(gen_run, inverted.z, wanted["toward"])
    else:
        boundaries = directions.get(gen_run, classify)
        edited = gen_run.generate(boundaries.edit(inverted.z, wanted["toward"], wanted["strength"]))
    value = float(psnr(inverted.images, image)[0])
    return {"image": image[0], "reconstruction": inverted.images[0], "edited": edited[0], "z": inverted.z[0],
            "input_class": source, "edited_class": int(classify(edited).argmax()),
            "psnr_db": value if math.isfinite(value) else None}


def example_image(gen_run, index: int) -> torch.Tensor:
    """Test image ``index`` of the run's dataset, uint8 (C, H, W)."""
    from gankit.data import load_dataset

    data = load_dataset(gen_run.dataset(), "test")
    if not 0 <= index < len(data.images):
        raise ConfigError(f"index: {index} is outside 0..{len(data.images) - 1} (the test images of {gen_run.dataset()})")
    image = data.images[index]
    if image.shape != gen_run.img_shape:
        raise ConfigError(f"the test images of {gen_run.dataset()} are {tuple(image.shape)}, the run draws {gen_run.img_shape}")
    return image


def edit_routes(studio) -> list[Route]:
    async def info(request: Request) -> Response:
        runs = await asyncio.to_thread(runs_for, studio.root, "edit")
        out: dict[str, Any] = {"runs": [run.as_json() for run in runs]}
        name = request.query_params.get("run")
        if name:
            gen_run = await asyncio.to_thread(generator_run, studio, name)
            classes = gen_run.num_classes or await asyncio.to_thread(gen_run.dataset_classes)
            out["spec"] = {"num_classes": gen_run.num_classes, "classes": classes, "img_shape": list(gen_run.img_shape),
                           "dataset": gen_run.dataset()}
        return JSONResponse(out)

    async def example(request: Request) -> Response:
        from gankit.edit.media import png_bytes

        gen_run = await asyncio.to_thread(generator_run, studio, request.query_params.get("run", ""))
        index = number(dict(request.query_params), "index", int, 0, 0, 10**7)
        image = await asyncio.to_thread(example_image, gen_run, index)
        return Response(png_bytes(image), media_type="image/png", headers={"Cache-Control": "no-store"})

    async def run(request: Request) -> Response:
        body = await json_body(request, EDIT_REQUEST_BYTES)
        gen_run = await asyncio.to_thread(generator_run, studio, str(body.get("run", "")))
        wanted = await asyncio.to_thread(parse_edit, body, gen_run)
        name, image = await asyncio.to_thread(read_upload, body.get("image"), gen_run.img_shape)

        def work() -> dict[str, Any]:
            from gankit.edit import load_generator_run
            from gankit.edit.media import strip

            own = load_generator_run(gen_run.path)  # its own copy: the optimisation never shares G with a request
            found = edit_image(own, image, wanted)
            pictures = torch.stack([found["image"], found["reconstruction"], found["edited"]])
            return {"name": name, **{k: found[k] for k in ("input_class", "edited_class", "psnr_db")},
                    "toward": wanted["toward"], "strength": wanted["strength"], "steps": wanted["steps"],
                    "image": png_data_url(found["image"]), "reconstruction": png_data_url(found["reconstruction"]),
                    "edited": png_data_url(found["edited"]), "strip": png_data_url(strip(pictures))}

        return JSONResponse(studio.jobs.submit("edit", work))

    return [
        Route("/api/edit/info", guarded(info)), Route("/api/edit/example", guarded(example)),
        Route("/api/edit/run", guarded(run), methods=["POST"]),
    ]


register_page(Page("edit", "Edit", "edit.html", 50, edit_routes))
