"""The search start (pytest run): each image's code is the nearest random code's, by brute force over the known pixels."""

from __future__ import annotations

import torch

from gankit.data import to_uint8
from gankit.edit.operations import search_codes
from gankit.edit.runs import GeneratorRun
from tests.edit.test_invert import LATENT, SIDE, LinearGenerator


def _run() -> GeneratorRun:
    return GeneratorRun(path=None, generator=LinearGenerator().eval(), spec={"img_shape": [1, SIDE, SIDE], "latent_dim": LATENT, "num_classes": 0})


def test_search_picks_the_nearest_of_the_drawn_codes():
    run = _run()
    targets = to_uint8(torch.rand(4, 1, SIDE, SIDE) * 2 - 1)
    codes = search_codes(run, targets, num=300, seed=3, chunk=128)
    z = torch.randn(128, LATENT, generator=torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)
    drawn = torch.cat([torch.randn(n, LATENT, generator=gen) for n in (128, 128, 44)])  # the chunks, drawn in turn
    assert torch.equal(drawn[:128], z)
    images = run.generate(drawn).double()
    for i in range(4):
        d = ((images - targets[i].double()) ** 2).flatten(1).sum(1)
        assert torch.equal(codes[i], drawn[int(d.argmin())])


def test_search_over_the_known_pixels_only():
    run = _run()
    targets = to_uint8(torch.rand(2, 1, SIDE, SIDE) * 2 - 1)
    known = torch.zeros(1, 1, SIDE, SIDE, dtype=torch.bool)
    known[..., :3, :] = True
    codes = search_codes(run, targets, num=200, known=known, seed=1)
    drawn = torch.randn(200, LATENT, generator=torch.Generator().manual_seed(1))
    images = run.generate(drawn).double()
    for i in range(2):
        d = ((images - targets[i].double()) ** 2)[..., :3, :].flatten(1).sum(1)
        assert torch.equal(codes[i], drawn[int(d.argmin())])
