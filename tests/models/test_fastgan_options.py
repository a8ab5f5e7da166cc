"""FastGAN's skip-layer excitation and self-supervised discriminator (Liu et al. 2021), as ``dcgan`` options,
checked against closed forms and hand-written resizing."""

import math

import pytest
import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import create_model
from gankit.models.layers import ReconstructionDecoder, SelfSupervisedReconstruction, SkipLayerExcitation


def test_skip_layer_excitation_gate_in_closed_form():
    """With an all-ones 4x4 kernel, pooling to 4x4 then the kernel sums 16 block means: 16 x the map's mean.
    So gate = sigmoid(w2 * silu(16 * mean(small))) on every pixel of the big map."""
    sle = SkipLayerExcitation(1, 1)
    with torch.no_grad():
        sle.gate[1].weight.fill_(1.0)
        sle.gate[3].weight.fill_(2.0)
    torch.manual_seed(0)
    small, big = torch.randn(3, 1, 8, 8) * 0.1, torch.randn(3, 1, 16, 16)
    out = sle(small, big)
    for i in range(3):
        a = 16 * float(small[i].mean())
        gate = 1 / (1 + math.exp(-2.0 * a / (1 + math.exp(-a))))
        torch.testing.assert_close(out[i], big[i] * gate, rtol=1e-5, atol=1e-6)


def _area(images: torch.Tensor, size: int) -> torch.Tensor:
    """Downscale by an integer factor with block means (area interpolation written out)."""
    b, c, s, _ = images.shape
    k = s // size
    return images.reshape(b, c, size, k, size, k).mean(dim=(3, 5))


def test_reconstruction_loss_by_hand():
    torch.manual_seed(1)
    rec = SelfSupervisedReconstruction(channels16=6, channels8=10, image_channels=3, width=8)
    feat16, feat8, images = torch.randn(4, 6, 16, 16), torch.randn(4, 10, 8, 8), torch.rand(4, 3, 64, 64) * 2 - 1
    quarters = set()
    for seed in range(12):
        torch.manual_seed(seed)
        loss = rec(feat16, feat8, images)
        torch.manual_seed(seed)
        row, col = divmod(int(torch.randint(4, (1,))), 2)  # the quarter the module drew from the same state
        quarters.add((row, col))
        whole = ((rec.whole(feat8) - _area(images, 32)) ** 2).mean()
        part_features = feat16[:, :, 8 * row:8 * row + 8, 8 * col:8 * col + 8]
        part = ((rec.part(part_features) - images[:, :, 32 * row:32 * row + 32, 32 * col:32 * col + 32]) ** 2).mean()
        torch.testing.assert_close(loss, whole + part)
    assert len(quarters) == 4


def test_reconstruction_decoder_shapes():
    decoder = ReconstructionDecoder(16, 3, width=8)
    assert decoder(torch.randn(2, 16, 8, 8)).shape == (2, 3, 32, 32)
    assert sum(isinstance(m, nn.GLU) for m in decoder.modules()) == 2


@pytest.mark.parametrize("size", [32, 64])
def test_discriminator_redraws_only_the_first_images(size):
    pair = create_model("dcgan", (3, size, size), 8, g_width=4, d_width=4, d_norm="none", spectral_norm=True, reconstruction=True)
    d = pair.discriminator.eval()  # no power iteration between the calls
    torch.manual_seed(0)
    images = torch.rand(6, 3, size, size) * 2 - 1
    torch.manual_seed(3)
    out = d(images, reconstruct=4)
    logits, recon = out.logits, out.reconstruction_loss
    torch.testing.assert_close(logits, d(images).logits)  # the judgement is the plain forward's
    changed = images.clone()
    changed[4:] = -changed[4:]
    torch.manual_seed(3)
    recon_changed = d(changed, reconstruct=4).reconstruction_loss
    torch.testing.assert_close(recon, recon_changed)  # the last two images play no part in the loss
    recon.backward()
    assert all(p.grad is not None for p in d.reconstruction.parameters())


def test_generator_excitation_pairs_and_size_limits():
    g = create_model("dcgan", (3, 64, 64), 8, g_width=4, d_width=4, skip_excitation=True).generator
    assert sorted(g.excite) == ["2", "3"]  # 4x4 -> 16x16 and 8x8 -> 32x32
    assert g(torch.randn(2, 8)).shape == (2, 3, 64, 64)
    with torch.no_grad():  # gates of 0.5 everywhere halve the gated maps: the output changes
        plain = create_model("dcgan", (3, 64, 64), 8, g_width=4, d_width=4).generator
        plain.load_state_dict({k: v for k, v in g.state_dict().items() if not k.startswith("excite")})
        for gate in g.excite.values():
            gate.gate[3].weight.zero_()
        z = torch.randn(4, 8)
        assert not torch.allclose(g.eval()(z), plain.eval()(z))
    with pytest.raises(ConfigError, match="skip_excitation"):
        create_model("dcgan", (1, 28, 28), 8, skip_excitation=True)
    with pytest.raises(ConfigError, match="reconstruction"):
        create_model("dcgan", (1, 28, 28), 8, reconstruction=True)
    with pytest.raises(ConfigError, match="pack=1"):
        create_model("dcgan", (3, 32, 32), 8, reconstruction=True, pack=2)
