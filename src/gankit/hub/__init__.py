"""A trained model as one Python object: ``gankit.load(path)``, Hugging Face layout, ONNX.

:func:`load` reads a run directory, an export directory (``export/``), a directory in the
Hugging Face layout (``config.json`` + ``model.safetensors``, see :mod:`gankit.hub.pretrained`)
or a checkpoint file, through :class:`gankit.run.RunDir` and the run's formats, and returns the
pipeline that the run's kind asks for::

    import gankit

    g = gankit.load("runs/mnist_dcgan")        # a GeneratorPipeline
    images = g.sample(16, seed=0)              # uint8 (16, 1, 28, 28)
    g.save_pretrained("hf/mnist_dcgan")        # config.json, model.safetensors, README.md, samples.png

Kinds are a registry, like models and objectives: a pipeline class registers itself for the
model families it serves and :func:`load` builds it for a run of those families; every other
family gets :class:`GeneratorPipeline`; pix2pix and SRResNet runs get :class:`RestorationPipeline`
(``restore(images, mask=None)``); encoder runs (``train.objective: encoder``) get :class:`EncoderPipeline`
(``encode(images)``, ``decode(z)``, ``reconstruct(images)``). A new kind is one module::

    @register_pipeline("segmenter", families=("my_segmenter",))
    class SegmenterPipeline(Pipeline):
        def segment(self, images): ...
"""

from __future__ import annotations

from gankit.hub.pipeline import (
    PIPELINES, GeneratorPipeline, Pipeline, load, pipeline_for_model, read_source, register_pipeline,
)
from gankit.hub.encoder import EncoderPipeline
from gankit.hub.restoration import RestorationPipeline

__all__ = ["PIPELINES", "EncoderPipeline", "GeneratorPipeline", "Pipeline", "RestorationPipeline", "load", "pipeline_for_model",
           "read_source", "register_pipeline"]
