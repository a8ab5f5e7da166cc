"""The GAN training loop in seven steps: the whole of what one step of gankit's trainer does for the reference GAN.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Algorithm 1 with k = 1, with the non-saturating
generator loss of their Section 3. gankit's trainer (``gankit.training.trainer``, the ``adversarial`` objective)
does the same arithmetic in the same order for ``configs/mnist_mlp.yaml``, so the losses are bit for bit the same
given the same starting weights, batches, noise and random state (``tests/lessons/test_the_loop.py`` checks it).
Lesson 2 (``docs/lessons/02-the-loop.md``) walks through it line by line.

Run: PYTHONPATH=src python docs/lessons/loop.py   (200 steps of the reference GAN on MNIST, losses printed)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def make_optimizers(generator: torch.nn.Module, discriminator: torch.nn.Module, lr: float = 2e-4,
                    betas: tuple[float, float] = (0.5, 0.999)) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for each network, the fused one-kernel update gankit uses on a CPU (same algorithm, fewer passes)."""
    return (torch.optim.Adam(generator.parameters(), lr=lr, betas=betas, fused=True),
            torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas, fused=True))


def train_step(generator, discriminator, opt_g, opt_d, real: torch.Tensor, z: torch.Tensor,
               z_for_g: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One step on real images (B, 1, 28, 28) in [-1, 1] and noise z (B, 100); returns (D's loss, G's loss).

    ``z_for_g``: a second noise batch for G's update, as Algorithm 1 draws; None reuses the first fake batch.
    """
    # 1. G turns the noise into a fake batch, (B, 100) -> (B, 1, 28, 28); its graph is kept for step 5.
    fake = generator(z)
    # 2. D scores real and fake in one call on (2B, 1, 28, 28); detach() stops D's update from reaching G.
    real_logits, fake_logits = discriminator(torch.cat([real, fake.detach()])).logits.chunk(2)
    # 3. D's loss -(log D(x) + log(1 - D(G(z)))) / 2 on logits: log D = -softplus(-logit), log(1 - D) = -softplus(logit).
    d_loss = 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())
    # 4. One Adam step for D.
    opt_d.zero_grad(set_to_none=True), d_loss.backward(), opt_d.step()
    # 5. The updated D scores the same fakes again, now through G's graph; D's weights are frozen for this pass.
    discriminator.requires_grad_(False)
    fake_logits = discriminator(fake if z_for_g is None else generator(z_for_g)).logits
    # 6. G's non-saturating loss -log D(G(z)): large gradients while D still rejects the fakes (lesson 4).
    g_loss = F.softplus(-fake_logits).mean()
    # 7. One Adam step for G, then D may learn again.
    opt_g.zero_grad(set_to_none=True), g_loss.backward(), opt_g.step()
    discriminator.requires_grad_(True)
    return d_loss.detach(), g_loss.detach()


if __name__ == "__main__":
    from gankit.data import load_dataset
    from gankit.models import create_model

    torch.manual_seed(0)
    mnist = load_dataset("mnist", "train")
    pair = create_model("mlp", (1, 28, 28), 100, 0)  # G 100-256-512-1024-784, D 784-1024-512-256-1 with dropout
    opt_g, opt_d = make_optimizers(pair.generator, pair.discriminator)
    for step in range(200):
        real = mnist.batch(torch.randint(len(mnist), (64,)))  # (64, 1, 28, 28) in [-1, 1]
        d_loss, g_loss = train_step(pair.generator, pair.discriminator, opt_g, opt_d, real, torch.randn(64, 100))
        if step % 20 == 0:
            print(f"step {step:4d}  D loss {d_loss:.3f}  G loss {g_loss:.3f}")
