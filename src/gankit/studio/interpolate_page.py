"""The Interpolate page: G's images along a path through the codes of seeds, or of uploaded images inverted first.

The same operations as ``gankit interpolate`` (:mod:`gankit.cli.interpolate`): :func:`gankit.edit.seed_codes` (the z
of ``gankit sample --seed S --num 1``), :func:`gankit.edit.project` for images, and
:func:`gankit.edit.interpolation_frames`; the PNG strip and the GIF are :mod:`gankit.edit.media`'s bytes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import torch
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gankit.errors import ConfigError
from gankit.studio.capabilities import runs_for
from gankit.studio.pages import Page, register_page
from gankit.studio.uploads import MAX_UPLOAD_BYTES, read_upload
from gankit.studio.web import data_url, guarded, json_body

MAX_CODES = 16
MAX_FRAMES = 64
MAX_TOTAL_FRAMES = 512
MAX_IMAGES = 4
MAX_STEPS = 1000
DEFAULT_STEPS = 300
UPLOAD_REQUEST_BYTES = MAX_IMAGES * (MAX_UPLOAD_BYTES * 4 // 3 + 4096)


def _int(params: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    raw = params.get(key)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise ConfigError(f"{key}: {raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{key}: {value} is outside {low}..{high}")
    return value


def _ints(text: Any, key: str) -> list[int]:
    from gankit.cli.interpolate import parse_ints

    return parse_ints(str(text or ""), key)


def parse_walk(params: dict[str, Any], count: int | None = None) -> dict[str, Any]:
    """frames, method, frame_ms, scale, and the seeds (when ``count`` is None) of a request; one line for a bad value."""
    from gankit.edit.latent import INTERPOLATIONS

    walk = {
        "frames": _int(params, "frames", 8, 1, MAX_FRAMES),
        "method": str(params.get("method") or "spherical"),
        "frame_ms": _int(params, "frame_ms", 80, 10, 10_000),
        "scale": _int(params, "scale", 1, 1, 16),
        "classes": str(params.get("classes") or ""),
    }
    if walk["method"] not in INTERPOLATIONS:
        raise ConfigError(f"method {walk['method']!r}: choose one of: {', '.join(INTERPOLATIONS)}")
    if count is None:
        seeds = _ints(params.get("seeds"), "seeds")
        if not 2 <= len(seeds) <= MAX_CODES:
            raise ConfigError(f"seeds {params.get('seeds', '')!r}: give 2 to {MAX_CODES} seeds, comma-separated, e.g. 1,2,3")
        if any(not 0 <= s <= 2**31 - 1 for s in seeds):
            raise ConfigError("seeds: each seed is a whole number in 0..2147483647")
        walk["seeds"] = seeds
        count = len(seeds)
    if walk["frames"] * (count - 1) + 1 > MAX_TOTAL_FRAMES:
        raise ConfigError(f"frames: {walk['frames']} frames x {count - 1} legs is more than {MAX_TOTAL_FRAMES} frames")
    walk["count"] = count
    return walk


def path_labels(gen_run, walk: dict[str, Any]) -> torch.Tensor | None:
    """One class per code, as ``gankit interpolate --classes`` takes them (default 0, 1, 2, ...)."""
    count = walk["count"]
    if not gen_run.num_classes:
        if walk["classes"]:
            raise ConfigError("classes: this run is unconditional; leave them empty")
        return None
    classes = _ints(walk["classes"], "classes") if walk["classes"] else [k % gen_run.num_classes for k in range(count)]
    if len(classes) == 1:
        classes = classes * count
    if len(classes) != count:
        raise ConfigError(f"classes {walk['classes']}: give one class per code ({count}) or one for all")
    return torch.tensor([gen_run.check_class(k, "classes") for k in classes])


def walk_frames(gen_run, codes: torch.Tensor, walk: dict[str, Any], labels: torch.Tensor | None) -> torch.Tensor:
    from gankit.edit import interpolation_frames

    return interpolation_frames(gen_run, codes, walk["frames"], walk["method"], labels)


def picture(frames: torch.Tensor, fmt: str, walk: dict[str, Any]) -> bytes:
    """The frames as ``gankit interpolate --out X.png`` (one strip) or ``X.gif`` (an animation) writes them."""
    from gankit.edit.media import gif_bytes, png_bytes, strip

    if fmt == "gif":
        return gif_bytes(frames, walk["scale"], walk["frame_ms"])
    return png_bytes(strip(frames), walk["scale"])


def generator_run(studio, name: str):
    """The run's generator as :func:`gankit.edit.load_generator_run` gives it, from the studio's cache."""
    from gankit.edit import GeneratorRun

    path = studio.run_path(name)
    generator, spec = studio.generators.get(path)
    if len(spec.get("img_shape", [])) != 3:
        raise ConfigError(f"run {name!r}: a generator of 2D points; interpolation works on images")
    from gankit.models import is_paired

    if is_paired(spec["model"]):
        raise ConfigError(f"run {name!r}: a restoration run; it draws no images from noise (use the Restore page)")
    return GeneratorRun(path, generator.eval(), spec)


def interpolate_routes(studio) -> list[Route]:
    async def info(request: Request) -> Response:
        runs = await asyncio.to_thread(runs_for, studio.root, "interpolate")
        return JSONResponse({"runs": [run.as_json() for run in runs]})

    async def draw(request: Request) -> Response:
        from gankit.edit import seed_codes

        params = dict(request.query_params)
        fmt = params.get("format", "png")
        if fmt not in ("png", "gif"):
            raise ConfigError(f"format {fmt!r}: choose png or gif")
        walk = parse_walk(params)
        name = params.get("run", "")
        gen_run = await asyncio.to_thread(generator_run, studio, name)
        labels = path_labels(gen_run, walk)

        def work() -> bytes:
            frames = walk_frames(gen_run, seed_codes(walk["seeds"], gen_run.latent_dim), walk, labels)
            return picture(frames, fmt, walk)

        data = await asyncio.to_thread(work)
        headers = {"Cache-Control": "no-store"}
        if params.get("download"):
            stem = f"{Path(name).name}-seeds{'_'.join(map(str, walk['seeds']))}-{walk['method']}"
            headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
        return Response(data, media_type=f"image/{fmt}", headers=headers)

    async def images(request: Request) -> Response:
        body = await json_body(request, UPLOAD_REQUEST_BYTES)
        uploads = body.get("images")
        if not isinstance(uploads, list) or not 2 <= len(uploads) <= MAX_IMAGES:
            raise ConfigError(f"images: upload 2 to {MAX_IMAGES} images to walk between")
        walk = parse_walk(body, count=len(uploads))
        steps = _int(body, "steps", DEFAULT_STEPS, 1, MAX_STEPS)
        gen_run = await asyncio.to_thread(generator_run, studio, str(body.get("run", "")))
        labels = path_labels(gen_run, walk)
        read = [await asyncio.to_thread(read_upload, item, gen_run.img_shape) for item in uploads]
        names = [name for name, _ in read]
        targets = torch.stack([image for _, image in read])  # (K, C, H, W)

        def work() -> dict[str, Any]:
            from gankit.edit import load_generator_run, project
            from gankit.edit.invert import ProjectorConfig

            own = load_generator_run(gen_run.path)  # its own copy: the optimisation never shares G with a request
            codes = project(own, targets, ProjectorConfig(steps=steps), labels=labels, search=1000).z
            frames = walk_frames(own, codes, walk, labels)
            return {"names": names, "frames": len(frames), "png": data_url(picture(frames, "png", walk), "image/png"),
                    "gif": data_url(picture(frames, "gif", walk), "image/gif")}

        return JSONResponse(studio.jobs.submit("interpolate", work))

    return [
        Route("/api/interpolate/info", guarded(info)), Route("/api/interpolate/draw", guarded(draw)),
        Route("/api/interpolate/images", guarded(images), methods=["POST"]),
    ]


register_page(Page("interpolate", "Interpolate", "interpolate.html", 40, interpolate_routes))
