"""Self-conditioning (Liu et al. 2020): k-means on D's features, matched relabelling, and the trainer's use of both."""

from __future__ import annotations

import pytest
import torch

from gankit.data import ImageDataset
from gankit.errors import ConfigError
from gankit.training.config import config_from_dict
from gankit.training.selfcond import assign, cluster_labels, kmeans, match_labels, squared_distances
from gankit.training.trainer import Trainer


def _blobs(seed=0):
    """Three tight blobs of 50, 30 and 20 points around (0, 0), (10, 0) and (0, 10)."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    sizes = [50, 30, 20]
    points = torch.cat([c + 0.1 * torch.randn(n, 2, generator=gen) for c, n in zip(centres, sizes)])
    truth = torch.cat([torch.full((n,), i) for i, n in enumerate(sizes)])
    return points, truth, centres


def test_squared_distances_match_torch_cdist():
    gen = torch.Generator().manual_seed(0)
    x, c = torch.randn(40, 7, generator=gen), torch.randn(5, 7, generator=gen)
    torch.testing.assert_close(squared_distances(x, c), torch.cdist(x.double(), c.double()).float() ** 2, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_finds_three_separated_blobs(seed):
    points, truth, centres = _blobs(seed)
    centroids = kmeans(points, 3, torch.Generator().manual_seed(seed))
    # each true centre has a centroid within the blobs' noise (0.1 per coordinate, so the mean is off by ~0.02)
    nearest = squared_distances(centres, centroids).sqrt().min(dim=1).values
    assert bool((nearest < 0.1).all()), nearest
    labels = assign(points, centroids)
    assert torch.equal(match_labels(labels, truth, 3), truth)


def test_kmeans_refuses_more_clusters_than_points():
    with pytest.raises(ValueError, match="k=5"):
        kmeans(torch.zeros(4, 2), 5, torch.Generator().manual_seed(0))


def test_match_labels_renames_clusters_to_keep_the_most_points_in_place():
    old = torch.tensor([0, 0, 1, 1, 2, 2])
    assert match_labels(torch.tensor([2, 2, 0, 0, 1, 1]), old, 3).tolist() == [0, 0, 1, 1, 2, 2]
    # one point moved: new cluster 2 holds old 0's two points, new 0 holds one of old 1's and old 2's first one
    new = torch.tensor([2, 2, 0, 1, 0, 1])
    # overlaps: new 2 -> old 0 (2 points); new 0 -> old 1 (1) or old 2 (1); new 1 -> old 1 (1) or old 2 (1).
    # Either way 4 of the 6 points keep their cluster, the most any one-to-one renaming allows.
    matched = match_labels(new, old, 3)
    assert int((matched == old).sum()) == 4 and matched[:2].tolist() == [0, 0]


def test_cluster_labels_project_wide_features_and_still_split_the_blobs():
    points, truth, _ = _blobs()
    wide = torch.cat([points, torch.zeros(len(points), 300)], dim=1)  # 302 features: projected on 128 random directions
    labels = cluster_labels(wide, 3, torch.Generator().manual_seed(0), previous=truth)
    assert torch.equal(labels, truth)


def _groups(num=96):
    """Unlabelled 28 px images in three obvious groups: blank, a bright top half, a bright left half."""
    images = torch.zeros(num, 1, 28, 28, dtype=torch.uint8)
    images[num // 3: 2 * num // 3, 0, :14, :] = 255
    images[2 * num // 3:, 0, :, :14] = 255
    return ImageDataset("groups", images, None, num_classes=0)


def _selfcond_trainer(tmp_path, dataset=None, **data):
    raw = {
        "data": {"name": "squares", "clusters": 3, "recluster_every": 2, **data},
        "model": {"name": "hybrid_cond", "latent_dim": 8, "options": {"g_width": 4, "d_hidden": [16], "d_width": 4}},
        "train": {"batch_size": 16, "num_samples": 4, "log_every": 1, "checkpoint_every": 1000, "max_steps": 5},
    }
    return Trainer(config_from_dict(raw), tmp_path, dataset=dataset if dataset is not None else _groups())


def test_unlabelled_data_gets_d_feature_clusters_and_g_is_asked_for_them_in_their_shares(tmp_path):
    trainer = _selfcond_trainer(tmp_path)
    assert trainer.num_classes == 3 and trainer.real_labels.shape == (96,)
    shares = torch.bincount(trainer.real_labels, minlength=3).double() / 96
    assert trainer.class_prior == pytest.approx(shares.tolist())
    _, labels = trainer.sample_noise(30_000)
    asked = torch.bincount(labels, minlength=3).double() / 30_000
    assert torch.allclose(asked, shares, atol=0.015)  # multinomial std <= 0.003
    _, batch_labels = trainer.next_batch()
    idx = trainer.sampler.indices(0)
    assert torch.equal(batch_labels, trainer.real_labels[idx])


def test_the_trainer_reclusters_every_k_steps_and_a_resumed_run_keeps_the_labels(tmp_path, monkeypatch):
    trainer = _selfcond_trainer(tmp_path / "run")
    calls = []
    original = Trainer.recluster
    monkeypatch.setattr(Trainer, "recluster", lambda self: (calls.append(self.step), original(self)))
    trainer.train(progress=False)
    assert calls == [2, 4]  # recluster_every 2, not after the last step (5)
    resumed = _selfcond_trainer(tmp_path / "run")
    from gankit.run import latest_checkpoint_file

    _, state = latest_checkpoint_file(resumed.run.checkpoint_dir)
    assert torch.equal(state["cluster_labels"], trainer.real_labels)
    state["cluster_labels"] = torch.arange(96) % 3 * (torch.arange(96) < 60)  # labels no clustering here would give
    resumed.load_state_dict(state)
    assert torch.equal(resumed.real_labels, state["cluster_labels"])
    assert resumed.class_prior == pytest.approx([56 / 96, 20 / 96, 20 / 96])  # 0..59 cycle 0, 1, 2; 60..95 are 0


def test_a_checkpoint_with_bad_cluster_labels_is_refused(tmp_path):
    from gankit.errors import CheckpointError

    trainer = _selfcond_trainer(tmp_path)
    state = trainer.state_dict()
    state["cluster_labels"] = torch.full((96,), 7)  # only 3 clusters
    with pytest.raises(CheckpointError, match="cluster_labels"):
        trainer.load_state_dict(state)


@pytest.mark.parametrize("data, model, match", [
    ({"conditional": True}, "hybrid_cond", "data.conditional"),
    ({"clusters": 500}, "hybrid_cond", "more than the 96"),
    ({}, "resnet_cond", "no discriminator features"),
])
def test_bad_self_conditioning_settings_are_config_errors(tmp_path, data, model, match):
    raw = {
        "data": {"name": "squares", "clusters": 3, **data},
        "model": {"name": model, "latent_dim": 8, "options": {"g_width": 4, "d_width": 4}},
        "train": {"batch_size": 16, "num_samples": 4},
    }
    dataset = _groups()
    if data.get("conditional"):
        dataset = ImageDataset("groups", dataset.images, torch.zeros(96, dtype=torch.long), num_classes=1)
    with pytest.raises(ConfigError, match=match):
        Trainer(config_from_dict(raw), tmp_path, dataset=dataset)
