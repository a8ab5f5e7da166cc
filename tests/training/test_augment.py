"""DiffAugment: what each operation may do to an image, checked by brute force, and gradients flowing through."""

import pytest
import torch
import torch.nn.functional as F

from gankit.errors import ConfigError
from gankit.training.augment import brightness, contrast, cutout, diff_augment, parse_policy, translation


def _images(batch=6, size=8):
    gen = torch.Generator().manual_seed(0)
    return torch.rand(batch, 2, size, size, generator=gen) * 2 - 1


def _shifted(x, dy, dx):
    """x moved by (dy, dx) pixels, zeros coming in: an independent reference."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    for i in range(h):
        for j in range(w):
            si, sj = i + dy, j + dx
            if 0 <= si < h and 0 <= sj < w:
                out[..., i, j] = x[..., si, sj]
    return out


def test_translation_is_a_zero_filled_shift_within_an_eighth():
    x = _images()
    out = translation(x, torch.Generator().manual_seed(3))
    for image, result in zip(x, out):
        matches = [(dy, dx) for dy in range(-1, 2) for dx in range(-1, 2) if torch.equal(_shifted(image, dy, dx), result)]
        assert matches, "not a shift of at most 1 px (1/8 of 8)"


def test_cutout_zeroes_one_square_of_half_the_size_at_most():
    x = torch.ones(20, 1, 8, 8)
    out = cutout(x, torch.Generator().manual_seed(1))
    for image in out[:, 0]:
        zero = (image == 0).nonzero()
        assert 0 < len(zero) <= 16
        rows, cols = zero[:, 0], zero[:, 1]
        assert len(zero) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1), "zeros form a rectangle"
        assert int(rows.max() - rows.min()) < 4 and int(cols.max() - cols.min()) < 4


def test_colour_ranges():
    x = torch.zeros(50, 3, 4, 4)
    shifted = brightness(x, torch.Generator().manual_seed(0))
    per_image = shifted.flatten(1)
    assert (per_image.max(1).values == per_image.min(1).values).all()  # one offset per image
    assert per_image.abs().max() <= 0.5
    y = _images()
    scaled = contrast(y, torch.Generator().manual_seed(0))
    ratio = (scaled - y.mean((1, 2, 3), keepdim=True)) / (y - y.mean((1, 2, 3), keepdim=True))
    assert ((ratio > 0.5 - 1e-4) & (ratio < 1.5 + 1e-4)).all()


def test_same_seed_same_result_and_gradients_flow():
    x = _images().requires_grad_(True)
    policy = parse_policy("color,translation,cutout")
    a = diff_augment(x, policy, torch.Generator().manual_seed(5))
    b = diff_augment(x, policy, torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
    a.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert F.mse_loss(a, x) > 0


def test_unknown_policy_is_one_clear_error():
    with pytest.raises(ConfigError, match="augment.policy: unknown augmentation.*rotate.*color"):
        parse_policy("color,rotate")


def test_none_and_empty_policies_apply_nothing():
    assert parse_policy("") == ()
    assert parse_policy("none") == ()


def _authors_translation(x, gen, ratio=0.125):
    """DiffAugment_pytorch.py's rand_translation: shifts drawn as there, read through three index grids."""
    batch, _, height, width = x.shape
    max_dy, max_dx = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = torch.randint(-max_dy, max_dy + 1, (batch, 1, 1), generator=gen)
    dx = torch.randint(-max_dx, max_dx + 1, (batch, 1, 1), generator=gen)
    b, i, j = torch.meshgrid(torch.arange(batch), torch.arange(height), torch.arange(width), indexing="ij")
    i = torch.clamp(i + dy + 1, 0, height + 1)
    j = torch.clamp(j + dx + 1, 0, width + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    return padded.permute(0, 2, 3, 1)[b, i, j].permute(0, 3, 1, 2)


@pytest.mark.parametrize("shape", [(16, 3, 28, 28), (5, 1, 17, 40), (4, 2, 64, 64)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_translation_matches_the_authors_code_value_for_value_and_in_its_gradient(shape, dtype):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(7)).to(dtype)
    ours_in, theirs_in = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours = translation(ours_in, torch.Generator().manual_seed(11))
    theirs = _authors_translation(theirs_in, torch.Generator().manual_seed(11))
    assert torch.equal(ours, theirs)
    weights = torch.randn(*shape, generator=torch.Generator().manual_seed(8)).to(dtype)
    (ours * weights).sum().backward()
    (theirs * weights).sum().backward()
    assert torch.equal(ours_in.grad, theirs_in.grad)
