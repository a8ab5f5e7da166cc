"""Image restoration: degradations, paired data, and restoring a user's images with a trained model.

See docs/restore.md. The models are the ``pix2pix`` and ``srresnet`` families (:mod:`gankit.models.pix2pix`),
trained by the ``paired`` objective (:mod:`gankit.training.objectives.paired`).
"""

from gankit.restore.degrade import (
    DEGRADATIONS, EVAL_STREAM, PREVIEW_STREAM, TASKS, TRAIN_STREAM, Degradation, Degraded, centre_mask,
    create_degradation, degradation_generator, downscale, register_degradation, upscale,
)
from gankit.restore.paired import PairedBatch, PairedData, model_input_from_uint8, restore_batches

__all__ = [
    "DEGRADATIONS", "EVAL_STREAM", "PREVIEW_STREAM", "TASKS", "TRAIN_STREAM", "Degradation", "Degraded", "PairedBatch",
    "PairedData", "centre_mask", "create_degradation", "degradation_generator", "downscale", "model_input_from_uint8",
    "register_degradation", "restore_batches", "upscale",
]
