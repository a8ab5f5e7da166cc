"""Inception-V3 from a local file: one clear error without it, safe loading, real features with it."""

import pickle
from unittest import mock

import pytest
import torch

from gankit.metrics import inception
from gankit.metrics.inception import InceptionExtractor, InceptionWeightsError, find_weights, load_state_dict_safely


@pytest.fixture
def no_weights_anywhere(tmp_path, monkeypatch):
    monkeypatch.delenv(inception.ENV_VAR, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))


def test_without_weights_one_error_says_how_to_provide_them_and_nothing_is_downloaded(no_weights_anywhere):
    with mock.patch("torch.hub.load_state_dict_from_url", side_effect=AssertionError("no downloads")), \
            mock.patch("urllib.request.urlopen", side_effect=AssertionError("no network")):
        with pytest.raises(InceptionWeightsError) as info:
            InceptionExtractor.from_weights(None)
    message = str(info.value)
    assert "--inception-weights PATH" in message and inception.ENV_VAR in message and inception.WEIGHTS_FILE in message
    assert "\n" not in message


def test_a_named_file_that_does_not_exist(no_weights_anywhere, tmp_path):
    with pytest.raises(InceptionWeightsError, match="file not found"):
        find_weights(tmp_path / "missing.pth")


def test_the_hub_cache_is_found(no_weights_anywhere, tmp_path):
    target = tmp_path / "hub" / "checkpoints" / inception.WEIGHTS_FILE
    target.parent.mkdir(parents=True)
    target.write_bytes(b"")
    assert find_weights(None) == target


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"weight": Payload()}, f)
    with pytest.raises(InceptionWeightsError, match="not a plain state dict"):
        load_state_dict_safely(path)


def random_inception_state() -> dict:
    """A randomly initialised state dict of torch-fidelity's FID Inception-V3 (the real file cannot be fetched here)."""
    from torch_fidelity import feature_extractor_inceptionv3 as fe

    with mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: {}), \
            mock.patch.object(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None):
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    return net.state_dict()


def test_a_weights_file_gives_2048_features_and_1008_class_probabilities(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    path = tmp_path / "inception.pth"
    torch.save(random_inception_state(), path)
    with mock.patch("torch.hub.load_state_dict_from_url", side_effect=AssertionError("no downloads")):
        extractor = InceptionExtractor.from_weights(path)
    images = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)  # grey images are repeated to RGB
    out = extractor(images)
    assert out.features.shape == (2, 2048) and out.probs.shape == (2, 1008)
    torch.testing.assert_close(out.probs.sum(dim=1), torch.ones(2, dtype=torch.float64))
    assert extractor.id.startswith("inception-")


def test_weights_of_another_network_are_one_clear_error(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(InceptionWeightsError, match="do not fit"):
        InceptionExtractor.from_weights(path)
