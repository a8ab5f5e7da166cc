"""``train.channels_last``: the same training in the NHWC layout, and resuming across layouts."""

from __future__ import annotations

import pytest
import torch

from gankit.training.state import match_state_layout
from tests.training.test_trainer_options import DCGAN_TINY, _run, _trainer

CL = torch.channels_last


def _conv_weights(module):
    # Parameters, not ``m.weight``: reading a spectrally normalised weight runs a power iteration.
    return [p for p in module.parameters() if p.ndim == 4]


def _assert_close_state(a, b, atol=1e-4):
    for x, y in ((a.generator, b.generator), (a.discriminator, b.discriminator)):
        for (name, p), q in zip(x.state_dict().items(), y.state_dict().values()):
            assert torch.allclose(p.float(), q.float(), atol=atol, rtol=1e-4), name


@pytest.mark.parametrize("model", ["dcgan", "resnet"])
def test_channels_last_trains_like_the_default_layout(tmp_path, model):
    default = _trainer(tmp_path / "a", model=model)
    nhwc = _trainer(tmp_path / "b", model=model, train={"channels_last": True})
    # The option really changes the layout: conv weights and real batches are NHWC, not NCHW.
    for w in _conv_weights(nhwc.generator) + _conv_weights(nhwc.discriminator):
        if w.shape[1] > 1 and w.shape[2] > 1:
            assert w.is_contiguous(memory_format=CL) and not w.is_contiguous()
    assert nhwc.next_batch()[0].is_contiguous(memory_format=CL)
    default.next_batch()  # keep the two trainers' random streams in step
    # A layout is not a different computation: one step leaves the same gradients up to float rounding,
    # and later steps the same losses (Adam's sign-like update would amplify rounding in the weights).
    _run(default, 1)
    _run(nhwc, 1)
    for x, y in ((default.generator, nhwc.generator), (default.discriminator, nhwc.discriminator)):
        for (name, p), q in zip(x.named_parameters(), y.parameters()):
            assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-6), name
    for a, b in zip(_run(default, 3, with_stats=True), _run(nhwc, 3, with_stats=True)):
        assert a["d_loss"] == pytest.approx(b["d_loss"], rel=1e-4) and a["g_loss"] == pytest.approx(b["g_loss"], rel=1e-4)


def test_match_state_layout_keeps_fused_adam_exact():
    # A channels-last weight whose Adam moments come from a contiguous checkpoint: after matching the
    # layouts, the fused update equals the reference (per-tensor, contiguous) Adam.
    gen = torch.Generator().manual_seed(0)
    w0, g1, g2 = (torch.randn(4, 3, 5, 5, generator=gen) for _ in range(3))

    def two_steps(param, fused, cast_state=None):
        opt = torch.optim.Adam([param], lr=0.1, fused=fused, foreach=False if not fused else None)
        param.grad = g1.to(memory_format=_format(param))
        opt.step()
        if cast_state is not None:
            for key in ("exp_avg", "exp_avg_sq"):
                opt.state[param][key] = opt.state[param][key].contiguous(memory_format=cast_state)
            match_state_layout(opt)
        param.grad = g2.to(memory_format=_format(param))
        opt.step()
        return param.detach().contiguous()

    reference = two_steps(torch.nn.Parameter(w0.clone()), fused=False)
    nhwc = torch.nn.Parameter(w0.clone().contiguous(memory_format=CL))
    assert torch.allclose(two_steps(nhwc, fused=True, cast_state=torch.contiguous_format), reference, atol=1e-6)


def _format(t):
    return CL if (t.is_contiguous(memory_format=CL) and not t.is_contiguous()) else torch.contiguous_format


def test_resume_across_memory_layouts(tmp_path):
    straight = _trainer(tmp_path / "a", train={"max_steps": 6, "checkpoint_every": 3})
    straight.train(progress=False)
    first = _trainer(tmp_path / "b", train={"max_steps": 3, "checkpoint_every": 3})
    first.train(progress=False)
    resumed = _trainer(tmp_path / "b", train={"max_steps": 6, "checkpoint_every": 3, "channels_last": True})
    assert resumed.resume() is not None and resumed.step == 3
    resumed.train(progress=False)
    assert resumed.step == 6
    for opt in (resumed.opt_g, resumed.opt_d):  # moments follow their weights into the new layout
        for param, state in opt.state.items():
            assert state["exp_avg"].stride() == param.stride()
    _assert_close_state(straight, resumed)


def test_channels_last_export_round_trip(tmp_path):
    from gankit.models import load_generator

    trainer = _trainer(tmp_path, options=dict(DCGAN_TINY), train={"channels_last": True, "max_steps": 2})
    trainer.train(progress=False)
    generator, _ = load_generator(trainer.run_dir / "export")
    z = torch.randn(3, 8)
    with torch.no_grad():
        assert torch.allclose(generator.eval()(z), trainer.sampling_generator.eval()(z.clone()), atol=1e-5)
