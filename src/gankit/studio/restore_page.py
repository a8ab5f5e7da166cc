"""The Restore page: restore an uploaded image with a restoration run; for inpainting, with the mask the user paints.

The same steps as ``gankit restore RUN --input FILE --out DIR [--mask MASK.png]`` (:mod:`gankit.cli.restore`):
the input must be the run's degraded size and colours (:func:`gankit.inputs.read_image`), the mask the output's
size, white where pixels are missing (:func:`gankit.inputs.read_mask`), and the run's generator restores it
(:func:`gankit.restore.restore_batches`, as :class:`gankit.hub.RestorationPipeline` does).
"""

from __future__ import annotations

import asyncio
from typing import Any

import torch
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gankit.errors import ConfigError
from gankit.studio.capabilities import runs_for
from gankit.studio.edit_page import number
from gankit.studio.pages import Page, register_page
from gankit.studio.uploads import MAX_UPLOAD_BYTES, read_upload, read_upload_mask
from gankit.studio.web import guarded, json_body, png_data_url

RESTORE_REQUEST_BYTES = 2 * (MAX_UPLOAD_BYTES * 4 // 3 + 4096)


def restoration_run(studio, name: str) -> dict[str, Any]:
    """The run's generator, spec and degradation (task, scale), checked to be a restoration run."""
    from gankit.models import is_paired
    from gankit.restore import create_degradation
    from gankit.run import RunDir

    path = studio.run_path(name)
    cfg = RunDir(path).read_config()
    if not is_paired(cfg.model.name):
        raise ConfigError(f"run {name!r}: model {cfg.model.name!r} draws images from noise; restoring needs a restoration "
                          "run (pix2pix, srresnet)")
    degradation = create_degradation(cfg.restore.degradation)
    generator, spec = studio.generators.get(path)
    channels, height, width = spec["img_shape"]
    return {"path": path, "generator": generator, "spec": spec, "degradation": degradation, "dataset": cfg.data.name,
            "sigma": cfg.restore.sigma, "amount": cfg.restore.amount,
            "output_shape": (channels, height, width),
            "input_shape": (channels, height // degradation.scale, width // degradation.scale)}


def restore_image(run: dict[str, Any], image: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """One uint8 image (C, h, w) [and bool mask (1, H, W)] restored: uint8 (C, H, W)."""
    from gankit.restore import model_input_from_uint8, restore_batches

    return restore_batches(run["generator"], model_input_from_uint8(image[None], None if mask is None else mask[None]))[0]


def example_input(run: dict[str, Any], index: int) -> torch.Tensor:
    """Test image ``index`` of the run's dataset as the run takes it: degraded (downscaled, noisy), or clean for
    inpainting (the user paints the mask); uint8 (C, h, w)."""
    from gankit.data import load_dataset, to_uint8
    from gankit.data.base import to_unit_range
    from gankit.restore import EVAL_STREAM

    data = load_dataset(run["dataset"], "test")
    if not 0 <= index < len(data.images):
        raise ConfigError(f"index: {index} is outside 0..{len(data.images) - 1} (the test images of {run['dataset']})")
    clean = data.images[index:index + 1]
    if tuple(clean.shape[1:]) != run["output_shape"]:
        raise ConfigError(f"the test images of {run['dataset']} are {tuple(clean.shape[1:])}, the run restores {run['output_shape']}")
    if run["degradation"].task == "inpaint":
        return clean[0]
    return to_uint8(run["degradation"](to_unit_range(clean), seed=0, step=index, stream=EVAL_STREAM, sigma=run["sigma"],
                                      amount=run["amount"]).images)[0]


def restore_routes(studio) -> list[Route]:
    async def info(request: Request) -> Response:
        runs = await asyncio.to_thread(runs_for, studio.root, "restore")
        out: dict[str, Any] = {"runs": [run.as_json() for run in runs]}
        name = request.query_params.get("run")
        if name:
            run = await asyncio.to_thread(restoration_run, studio, name)
            out["spec"] = {"task": run["degradation"].task, "degradation": run["degradation"].name, "scale": run["degradation"].scale,
                           "input_shape": list(run["input_shape"]), "output_shape": list(run["output_shape"]),
                           "mask": run["degradation"].task == "inpaint", "dataset": run["dataset"]}
        return JSONResponse(out)

    async def example(request: Request) -> Response:
        from gankit.edit.media import png_bytes

        run = await asyncio.to_thread(restoration_run, studio, request.query_params.get("run", ""))
        index = number(dict(request.query_params), "index", int, 0, 0, 10**7)
        image = await asyncio.to_thread(example_input, run, index)
        return Response(png_bytes(image), media_type="image/png", headers={"Cache-Control": "no-store"})

    async def restore(request: Request) -> Response:
        body = await json_body(request, RESTORE_REQUEST_BYTES)
        name = str(body.get("run", ""))
        run = await asyncio.to_thread(restoration_run, studio, name)
        inpaints = run["degradation"].task == "inpaint"
        if inpaints and not body.get("mask"):
            raise ConfigError(f"run {name!r} inpaints: paint the missing pixels (the mask) over the image")
        if not inpaints and body.get("mask"):
            raise ConfigError(f"mask: run {name!r} is a {run['degradation'].task.replace('_', '-')} run and takes no mask")
        file_name, image = await asyncio.to_thread(read_upload, body.get("image"), run["input_shape"])
        mask = await asyncio.to_thread(read_upload_mask, body["mask"], run["output_shape"][1:]) if inpaints else None
        if mask is not None and not mask.any():
            raise ConfigError("mask: no pixel is painted; paint the missing pixels over the image")
        restored = await asyncio.to_thread(restore_image, run, image, mask)
        shown = image if mask is None else image.masked_fill(mask, 128)  # the hole in mid-gray, as the model sees it
        return JSONResponse({"name": file_name, "task": run["degradation"].task, "input": png_data_url(shown),
                             "restored": png_data_url(restored), "masked_pixels": None if mask is None else int(mask.sum())})

    return [
        Route("/api/restore/info", guarded(info)), Route("/api/restore/example", guarded(example)),
        Route("/api/restore/run", guarded(restore), methods=["POST"]),
    ]


register_page(Page("restore", "Restore", "restore.html", 60, restore_routes))
