"""Inception-V3 features for standard FID/KID/IS, comparable with published numbers.

Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR
2016; the FID variant of the network (pool3 2048-d features, 1008 logits) ported
from TensorFlow by torch-fidelity (Obukhov et al.), which torchmetrics also uses.

gankit never downloads the weights: it reads a local file, given by
``--inception-weights PATH``, ``$GANKIT_INCEPTION_WEIGHTS``, or found in the usual
torch hub cache (``~/.cache/torch/hub/checkpoints/weights-inception-2015-12-05-6726825d.pth``).
The file is read with ``torch.load(weights_only=True)`` (or safetensors), never
unpickled, and handed to torch-fidelity's network in place of its downloader.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from unittest import mock

import torch
from torch.nn import functional as F

from gankit.errors import GankitError, first_line
from gankit.metrics import Features

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
ENV_VAR = "GANKIT_INCEPTION_WEIGHTS"


class InceptionWeightsError(GankitError):
    """The Inception-V3 weights file is missing or unusable."""


def hub_weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def find_weights(path: str | os.PathLike | None = None) -> Path:
    """The weights file to use: ``path``, else ``$GANKIT_INCEPTION_WEIGHTS``, else the torch hub cache.

    Raises:
        InceptionWeightsError: no such file; says how to provide one.
    """
    candidate = path or os.environ.get(ENV_VAR)
    if candidate:
        candidate = Path(candidate).expanduser()
        if not candidate.is_file():
            raise InceptionWeightsError(f"--inception-weights {candidate}: file not found")
        return candidate
    if hub_weights_path().is_file():
        return hub_weights_path()
    raise InceptionWeightsError(
        f"Inception-V3 features need the FID Inception weights ({WEIGHTS_FILE}, published with torch-fidelity 0.2.0), "
        f"and gankit does not download them: pass --inception-weights PATH, set {ENV_VAR}=PATH, "
        f"or copy the file to {hub_weights_path()}; or use the domain evaluator (--extractor domain)"
    )


def load_state_dict_safely(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors from ``.safetensors`` or a PyTorch state dict read with ``weights_only=True``."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling refusals and corrupt files come in many types
        first = first_line(exc)
        raise InceptionWeightsError(f"{path}: not a plain state dict of tensors ({first[:200]})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InceptionWeightsError(f"{path}: not a state dict of tensors")
    return state


def file_digest(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class InceptionExtractor:
    """torch-fidelity's FID Inception-V3: pool3 features (N, 2048) and softmax of the 1008 logits."""

    def __init__(self, state_dict: dict[str, torch.Tensor], weights_id: str) -> None:
        try:
            from torch_fidelity import feature_extractor_inceptionv3 as fe
        except ImportError:
            raise InceptionWeightsError("Inception-V3 features need torch-fidelity: pip install 'gankit[inception]'") from None
        # Hand the already loaded tensors to the network instead of letting it download or unpickle.
        with mock.patch.object(fe, "load_state_dict_from_url", lambda *args, **kwargs: state_dict):
            try:
                self.net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])
            except RuntimeError as exc:
                first = str(exc).strip().splitlines()[0]
                raise InceptionWeightsError(f"the weights do not fit torch-fidelity's Inception-V3 ({first[:200]})") from None
        self.net.eval()
        self.id = f"inception-{weights_id[:16]}"

    @classmethod
    def from_weights(cls, path: str | os.PathLike | None = None) -> "InceptionExtractor":
        found = find_weights(path)
        return cls(load_state_dict_safely(found), file_digest(found))

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, batch_size: int = 64) -> Features:
        """uint8 (N, 1 or 3, H, W) images (resized to 299x299 inside) -> (N, 2048) features, (N, 1008) probs."""
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
            raise GankitError(f"Inception-V3 takes uint8 (N, 1 or 3, H, W) images, got {images.dtype} {tuple(images.shape)}")
        feats, probs = [], []
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size]
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)  # grey -> RGB
            pool, logits = self.net(x.contiguous())
            feats.append(pool.double())
            probs.append(F.softmax(logits.double(), dim=1))
        return Features(torch.cat(feats), torch.cat(probs))
