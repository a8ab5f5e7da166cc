"""Lesson 3 at tiny size: the GIF holds one frame per snapshot, and the unhealthy run shows D winning.

pytest run: PYTHONPATH=src python -m pytest tests/lessons/test_mnist.py
"""

from __future__ import annotations

from PIL import Image


def test_gif_has_a_frame_per_snapshot(tiny_lesson):
    out, record = tiny_lesson("mnist")
    numbers = record["numbers"]
    with Image.open(out / "mnist-training.gif") as gif:
        assert gif.n_frames == numbers["steps"] // numbers["frame_every"] + 1 == numbers["gif_frames"]


def test_unhealthy_run_is_the_one_where_d_wins(tiny_lesson):
    runs = tiny_lesson("mnist")[1]["numbers"]["runs"]
    healthy, unhealthy = runs["healthy (the preset)"]["last_fifth"], runs["unhealthy (lr_d x10, lr_g /10)"]["last_fifth"]
    assert unhealthy["d_real"] > 0.99 and unhealthy["d_fake"] < 0.05  # D sorts real from fake almost perfectly
    assert unhealthy["d_loss"] < healthy["d_loss"] and unhealthy["g_loss"] > healthy["g_loss"]
