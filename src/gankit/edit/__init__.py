"""Editing with a trained generator: inversion, masked inversion, interpolation and class directions.

* :mod:`.invert`: optimise z to reconstruct images (Zhu et al. 2016; Abdal et al. 2019; stylegan2-ada's projector
  schedule), batched; masked inversion with a discriminator prior (Yeh et al. 2017).
* :mod:`.features`: feature nets for the perceptual term (the domain evaluator's features, or the user's VGG-16).
* :mod:`.latent`: linear and spherical interpolation, the codes of seeds.
* :mod:`.directions`: class boundaries in z from the domain evaluator's labels (InterFaceGAN, Shen et al. 2020).
* :mod:`.runs`: loading a run's generator, discriminator and an encoder run (``train.objective: encoder``).
* :mod:`.operations`: the operations the CLI calls; :mod:`.media`: PNG strips and GIF animations.

The commands are ``gankit project``, ``gankit interpolate`` and ``gankit edit``; see ``docs/edit.md``.
"""

from gankit.edit.directions import ClassBoundaries, class_boundaries, fit_boundary
from gankit.edit.invert import Inversion, ProjectorConfig, blend, image_loss, invert, learning_rate, noise_scale
from gankit.edit.latent import interpolate, lerp, seed_codes, slerp
from gankit.edit.operations import change_class, fit_directions, interpolation_frames, project
from gankit.edit.runs import GeneratorRun, encode, load_discriminator, load_encoder, load_generator_run

__all__ = [
    "ClassBoundaries", "GeneratorRun", "Inversion", "ProjectorConfig", "blend", "change_class", "class_boundaries",
    "encode", "fit_boundary", "fit_directions", "image_loss", "interpolate", "interpolation_frames", "invert",
    "learning_rate", "lerp", "load_discriminator", "load_encoder", "load_generator_run", "noise_scale", "project",
    "seed_codes", "slerp",
]
