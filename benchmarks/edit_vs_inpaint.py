"""Masked inversion of a GAN's generator against the restoration models' inpainting, on the same masks and metrics.

Every method fills the same hole in the same test digits: the test split degraded as ``gankit eval`` degrades a
restoration run's evaluation set (:meth:`gankit.restore.PairedData.evaluation_set`: ``mask_centre``, the centre
quarter, seed 0, the evaluation stream). The rows are

* the classical baselines ``mean_fill`` and ``neighbour_fill`` (:mod:`gankit.evaluation.restore_baselines`);
* ``L1`` and ``GAN``: the pix2pix U-Nets of two restoration runs (``mnist_inpaint``, ``restore.adv_weight`` 0 and 1);
* ``inversion (RUN)``: masked inversion of a GAN's generator (Yeh et al., CVPR 2017; :func:`gankit.edit.project`):
  the code z is optimised to fit the known pixels only, with the discriminator's prior term for an unconditional
  run, and G(z) is pasted into the hole; the settings are ``gankit project --mask``'s (300 steps, prior weight
  0.01, the start the nearest of 1,000 random codes over the known pixels). A class-conditional generator is not
  told the digit's class: each of its classes is searched (the nearest of the random codes drawn with that class,
  over the known pixels) and the class of the nearest code overall is inverted. ``--candidates K`` inverts the K
  best-fitting classes and keeps the one whose inversion fits the known pixels best; that does worse, because the
  optimisation bends G's image of a wrong class onto the known pixels too (``docs/edit.md`` gives the figures).

The figures are :func:`gankit.evaluation.restore_eval.score_restorations`' (PSNR, masked PSNR, SSIM, domain FID,
class match, with the restoration run's domain evaluator) and the floor row :func:`restore_floors`' (as many real
training digits against the same test digits), the table ``gankit eval RUN`` prints for the restoration run.

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/edit_vs_inpaint.py \\
        --restore-l1 runs/mnist_inpaint_s0_l1 --restore-gan runs/mnist_inpaint_s0_gan \\
        --generator runs/mnist_dcgan --generator runs/mnist_cond [--num 2000] [--json OUT.json]

The runs are only read. A generator run still training is used at its newest checkpoint, whose step the table names.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from gankit.data import DatasetSpec, ImageDataset, load_data, to_uint8
from gankit.edit import GeneratorRun, ProjectorConfig, blend, invert, project
from gankit.edit.operations import search_codes
from gankit.errors import ConfigError, GankitError, first_line
from gankit.evaluation.restore_eval import describe_extractor, format_restore_table, restore_extractor, restore_floors, score_restorations
from gankit.metrics.extractors import FeatureExtractor
from gankit.restore import PairedData
from gankit.restore.evaluate import baseline_outputs
from gankit.restore.paired import restore_batches

DEGRADATION = "mask_centre"
MASKED_SETTINGS = ProjectorConfig(steps=300, prior_weight=0.01)
"""``gankit project --mask``'s settings: 300 steps, the projector's schedule, prior weight 0.01, codes anywhere in z."""
SEARCH = 1000
"""Random codes searched for the start, as ``gankit project``'s ``--search`` default."""
CANDIDATES = 1
"""Classes a conditional generator inverts each image with: the best-fitting of a search over all its classes."""


@dataclass
class Inverter:
    """A generator to fill holes by masked inversion.

    Attributes:
        run: its run (G in eval mode, its spec).
        discriminator: D for the prior term (unconditional runs), or None: no prior.
        step: the training step of the checkpoint G and D come from (None: unknown, e.g. an export).
        candidates: a conditional G's classes inverted per image.
    """

    run: GeneratorRun
    discriminator: nn.Module | None = None
    step: int | None = None
    candidates: int = CANDIDATES


@dataclass
class Comparison:
    """What :func:`compare` measured."""

    scores: dict[str, dict[str, float]]
    floors: dict[str, float]
    table: str
    images: dict[str, torch.Tensor]  # method -> uint8 (N, C, H, W); "input" and "clean" too
    cpu_s: dict[str, float] = field(default_factory=dict)  # method -> CPU-seconds of its restorations
    chosen_classes: dict[str, torch.Tensor] = field(default_factory=dict)  # conditional inversion -> (N,) class kept
    evaluator: str | None = None


def known_fit(images: torch.Tensor, targets: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """(N,) mean squared error of uint8 ``images`` against ``targets`` over the ``known`` pixels (bool (N, 1, H, W))."""
    weight = known.expand_as(images).double()
    return ((images.double() - targets.double()).square() * weight).flatten(1).sum(1) / weight.flatten(1).sum(1)


def conditional_inversion(inverter: Inverter, degraded: torch.Tensor, missing: torch.Tensor, cfg: ProjectorConfig,
                          search: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fill the holes with a class-conditional G that is not told the class.

    Every class k is searched (the nearest of ``search`` random codes drawn with class k, over the known pixels); the
    ``inverter.candidates`` classes whose nearest code fits best are each inverted from that code; per image, the
    class whose inversion fits the known pixels best (its final loss) is kept.

    Returns:
        uint8 (N, C, H, W) completions (the known pixels the input's) and (N,) the classes kept.
    """
    run, known = inverter.run, ~missing
    n, classes = len(degraded), run.num_classes
    codes = torch.zeros(classes, n, run.latent_dim)
    fits = torch.zeros(n, classes, dtype=torch.float64)
    for k in range(classes):
        labels = torch.full((n,), k, dtype=torch.long)
        codes[k] = search_codes(run, degraded, search, labels, known, seed)
        fits[:, k] = known_fit(run.generate(codes[k], labels), degraded, known)
    ranked = fits.argsort(dim=1, stable=True)[:, :max(1, min(inverter.candidates, classes))]  # (N, candidates)
    rows = torch.arange(n)
    best_loss = torch.full((n,), float("inf"))
    best_images = torch.zeros_like(degraded)
    chosen = ranked[:, 0].clone()
    for rank in range(ranked.shape[1]):
        labels = ranked[:, rank]
        result = invert(run.generator, degraded, cfg=cfg, labels=labels, init=codes[labels, rows], known=known,
                        seed=seed, latent_dim=run.latent_dim)
        better = result.final_loss < best_loss
        best_loss[better], best_images[better], chosen[better] = result.final_loss[better], result.images[better], labels[better]
    return blend(best_images, degraded, known), chosen


def masked_inversion(inverter: Inverter, degraded: torch.Tensor, missing: torch.Tensor, cfg: ProjectorConfig = MASKED_SETTINGS,
                     search: int = SEARCH, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``inverter``'s completions of uint8 ``degraded`` (N, C, H, W) where ``missing`` (N, 1, H, W) is True, and the
    classes a conditional G kept (else None)."""
    if inverter.run.num_classes:
        return conditional_inversion(inverter, degraded, missing, replace(cfg, prior_weight=0.0), search, seed)
    cfg = cfg if inverter.discriminator is not None else replace(cfg, prior_weight=0.0)
    result = project(inverter.run, degraded, cfg, missing=missing, discriminator=inverter.discriminator, seed=seed, search=search)
    return result.images, None


def compare(test: ImageDataset, restorers: dict[str, nn.Module], inverters: dict[str, Inverter], *, num: int | None = None,
            cfg: ProjectorConfig = MASKED_SETTINGS, search: int = SEARCH, seed: int = 0, dataset: DatasetSpec | None = None,
            extractor: FeatureExtractor | None = None, feature_metric: str = "auto", classes: bool = True, floor: bool = True,
            log: Callable[[str], None] = lambda _: None) -> Comparison:
    """Fill the centre quarter of the first ``num`` images of ``test`` by every method and score them side by side.

    Args:
        test: the test split (the restoration runs' ``data``).
        restorers: row name -> a restoration generator (model input (N, C + 1, H, W) -> images).
        inverters: row name -> a generator to invert.
        cfg, search, seed: the masked inversion's settings, its start's search, its noise seed.
        dataset: the dataset whose domain evaluator scores the features and whose training split gives the floor;
            None with no ``extractor``: PSNR, masked PSNR and SSIM only.
        extractor: the feature extractor (default: ``dataset``'s domain evaluator).
        feature_metric: ``auto``, ``fid``, ``kid`` or ``none`` (:func:`score_restorations`).
        classes: with labels, the share read as the original's class.
        floor: also score real training images against the clean test images (needs ``dataset``).
    """
    pairs = PairedData(test, DEGRADATION, 0).evaluation_set(num)
    n = len(pairs.clean)
    clean, degraded = to_uint8(pairs.clean), to_uint8(pairs.degraded.images)  # (N, C, H, W) uint8
    missing = pairs.mask > 0.5  # (N, 1, H, W), True = missing
    outputs: dict[str, torch.Tensor] = {}
    cpu_s: dict[str, float] = {}
    chosen: dict[str, torch.Tensor] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        start = time.process_time()
        value = fn()
        cpu_s[name] = time.process_time() - start
        log(f"  {name}: {cpu_s[name]:.1f} CPU-s")
        return value

    for name, images in timed("baselines", lambda: baseline_outputs("inpaint", degraded, missing, 1)).items():
        outputs[name] = images
    for name, generator in restorers.items():
        outputs[name] = timed(name, lambda: restore_batches(generator, pairs.inputs))
    for name, inverter in inverters.items():
        outputs[name], kept = timed(name, lambda: masked_inversion(inverter, degraded, missing, cfg, search, seed))
        if kept is not None:
            chosen[name] = kept
    labels = test.labels[:n] if test.labels is not None and classes and (dataset is not None or extractor is not None) else None
    if extractor is None and dataset is not None and (feature_metric != "none" or labels is not None):
        extractor = restore_extractor(dataset)
    scores = score_restorations(clean, outputs, mask=missing, labels=labels, feature_metric=feature_metric, extractor=extractor)
    floors = restore_floors(clean, dataset=dataset, labels=labels, feature_metric=feature_metric, extractor=extractor) \
        if floor and dataset is not None and extractor is not None else {}
    evaluator = describe_extractor(extractor) if extractor is not None else None
    table = format_restore_table("inpaint", scores, floors, evaluator=evaluator, num=n)
    return Comparison(scores, floors, table, {"input": degraded, **outputs, "clean": clean}, cpu_s, chosen, evaluator)


def comparison_figure(images: dict[str, torch.Tensor], columns: list[str], out: Path, rows: int = 8, zoom: int = 3) -> Path:
    """A PNG with one row per test image (``rows`` spread evenly over them) and one column per name in ``columns``
    (keys of :attr:`Comparison.images`; the input shows its hole mid-gray), written atomically."""
    import io

    from PIL import Image
    from torchvision.utils import make_grid

    from gankit.run.files import atomic_write

    total = len(images["clean"])
    picked = torch.linspace(0, total - 1, min(rows, total)).round().long()  # spread over the split (often sorted by class)
    tiles = torch.stack([images[c][picked] for c in columns], dim=1).flatten(0, 1)  # (rows * cols, C, H, W)
    grid = make_grid(tiles, nrow=len(columns), padding=2, pad_value=255).permute(1, 2, 0).numpy()  # (H', W', C)
    image = Image.fromarray(grid[:, :, 0] if tiles.shape[1] == 1 else grid)  # make_grid repeats a gray channel 3 times
    image = image.resize((image.width * zoom, image.height * zoom), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return atomic_write(out, buffer.getvalue())


# ------------------------------------------------------------------------------------------------ loading the runs
def restoration_generator(path: Path) -> tuple[nn.Module, Any, int]:
    """A restoration run's generator at its newest valid checkpoint (as ``gankit eval``), its config, that step."""
    from gankit.models import is_paired
    from gankit.run import RunDir

    run = RunDir(path)
    cfg = run.read_config()
    if not is_paired(cfg.model.name) or cfg.restore.degradation != DEGRADATION:
        raise ConfigError(f"{path}: not a {DEGRADATION} restoration run (model {cfg.model.name!r}, "
                          f"restore.degradation {cfg.restore.degradation!r})")
    found = run.latest_checkpoint()
    if found is None:
        generator, spec = run.load_generator()
        return generator, cfg, spec.get("step")
    generator, _ = found[1].build_generator(str(found[0]))
    return generator, cfg, found[1].step


def generator_inverter(path: Path, candidates: int) -> tuple[Inverter, dict[str, Any]]:
    """A GAN run's G (its sampling copy) and, for an unconditional run, D, both from one checkpoint (the newest
    valid one: a run still training is read at that step); what the table says of the run."""
    from gankit.run import RunDir

    run = RunDir(path)
    if not path.is_dir():
        raise ConfigError(f"--generator {path}: run directory not found")
    cfg = run.read_config()
    found = run.latest_checkpoint()
    if found is None:
        raise ConfigError(f"--generator {path}: no valid checkpoint (masked inversion needs the run's G, and D for its prior)")
    origin, checkpoint = found
    generator, spec = checkpoint.build_generator(str(origin))
    if len(spec["img_shape"]) != 3:
        raise ConfigError(f"--generator {path}: a generator of points, not images")
    gen_run = GeneratorRun(path, generator.eval(), spec)
    discriminator = None if gen_run.num_classes else checkpoint.build_discriminator(str(origin)).eval()
    done = (path / "DONE").is_file() or checkpoint.step >= cfg.train.max_steps
    about = {"path": str(path), "step": checkpoint.step, "max_steps": cfg.train.max_steps, "finished": done,
             "checkpoint": origin.name, "conditional": bool(gen_run.num_classes), "prior": discriminator is not None,
             "data": cfg.data.name}
    return Inverter(gen_run, discriminator, checkpoint.step, candidates), about


def check_same_data(name: str, data_name: str, img_shape: tuple[int, ...], test: ImageDataset, expected: str) -> None:
    if data_name != expected or tuple(img_shape) != tuple(test.images.shape[1:]):
        raise ConfigError(f"{name}: trained on {data_name!r} {tuple(img_shape)}, the restoration runs on {expected!r} "
                          f"{tuple(test.images.shape[1:])}; compare runs of one dataset")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--restore-l1", required=True, type=Path, help="the L1-only restoration run (mnist_inpaint, adv_weight 0)")
    parser.add_argument("--restore-gan", required=True, type=Path, help="the adversarial restoration run (mnist_inpaint, adv_weight 1)")
    parser.add_argument("--generator", action="append", type=Path, default=[], help="a GAN run to invert (repeatable)")
    parser.add_argument("--num", type=int, help="test images (default: the whole test split)")
    parser.add_argument("--steps", type=int, default=MASKED_SETTINGS.steps, help="inversion steps (default 300)")
    parser.add_argument("--prior-weight", type=float, default=MASKED_SETTINGS.prior_weight, help="D's prior (default 0.01)")
    parser.add_argument("--search", type=int, default=SEARCH, help="random codes searched for the start (default 1000)")
    parser.add_argument("--candidates", type=int, default=CANDIDATES, help="classes a conditional G inverts per image (default 1)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--figure", type=Path, help="write a PNG: input | neighbour fill | L1 | GAN | each inversion | ground truth")
    args = parser.parse_args(argv)
    try:
        if args.num is not None and args.num < 1:
            raise ConfigError(f"--num: {args.num} is below the minimum 1")
        if not 1 <= args.steps <= 100_000 or not 0 <= args.search <= 1_000_000 or args.candidates < 1:
            raise ConfigError("--steps must be in 1..100000, --search in 0..1000000, --candidates at least 1")
        cfg = ProjectorConfig(steps=args.steps, prior_weight=args.prior_weight)
        return run(args, cfg)
    except GankitError as exc:
        print(f"error: {first_line(exc)}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace, cfg: ProjectorConfig) -> int:
    torch.manual_seed(0)
    l1, l1_cfg, l1_step = restoration_generator(args.restore_l1)
    gan, gan_cfg, gan_step = restoration_generator(args.restore_gan)
    if l1_cfg.restore.adv_weight != 0 or gan_cfg.restore.adv_weight == 0:
        raise ConfigError(f"--restore-l1 needs restore.adv_weight 0 (has {l1_cfg.restore.adv_weight}), "
                          f"--restore-gan above 0 (has {gan_cfg.restore.adv_weight})")
    if l1_cfg.data.name != gan_cfg.data.name:
        raise ConfigError(f"--restore-l1 trained on {l1_cfg.data.name!r}, --restore-gan on {gan_cfg.data.name!r}")
    test = load_data(gan_cfg.data, "test")
    spec = DatasetSpec.from_config(gan_cfg.data)
    inverters: dict[str, Inverter] = {}
    runs: dict[str, Any] = {"L1": {"path": str(args.restore_l1), "step": l1_step}, "GAN": {"path": str(args.restore_gan), "step": gan_step}}
    for path in args.generator:
        inverter, about = generator_inverter(path, args.candidates)
        check_same_data(f"--generator {path}", about["data"], inverter.run.img_shape, test, gan_cfg.data.name)
        name = f"inversion ({path.name})"
        inverters[name], runs[name] = inverter, about
        state = "finished" if about["finished"] else f"still training: its newest checkpoint, {about['step']:,} of {about['max_steps']:,} steps"
        print(f"{name}: {path}, step {about['step']:,} ({state}); "
              f"{'conditional, class not given' if about['conditional'] else 'unconditional, D prior ' + str(cfg.prior_weight)}")
    print(f"filling the centre quarter of {args.num or len(test):,} {gan_cfg.data.name} test digits")
    started = time.perf_counter()
    result = compare(test, {"L1": l1, "GAN": gan}, inverters, num=args.num, cfg=cfg, search=args.search, dataset=spec, log=print)
    print()
    print(result.table)
    n = len(result.images["clean"])
    labels = test.labels[:n] if test.labels is not None else None
    choice = {name: float((kept == labels).double().mean()) for name, kept in result.chosen_classes.items()} if labels is not None else {}
    for name, share in choice.items():
        print(f"{name}: the class kept is the digit's label for {share:.1%}")
    print("CPU-s per method: " + ", ".join(f"{k} {v:.1f}" for k, v in result.cpu_s.items()) + f"; {time.perf_counter() - started:.0f} s wall")
    if args.figure:
        columns = ["input", "neighbour_fill", "L1", "GAN", *inverters, "clean"]
        print(f"wrote {comparison_figure(result.images, columns, args.figure)} (columns: {' | '.join(columns)})")
    if args.json:
        record = {
            "dataset": gan_cfg.data.name, "degradation": DEGRADATION, "num": n, "evaluator": result.evaluator,
            "runs": runs, "settings": {"steps": cfg.steps, "lr": cfg.lr, "prior_weight": cfg.prior_weight, "search": args.search,
                                       "candidates": args.candidates, "sphere": cfg.sphere},
            "scores": result.scores, "floors": result.floors, "cpu_s": {k: round(v, 1) for k, v in result.cpu_s.items()},
            "class_kept_is_label": choice,
            "command": "OMP_NUM_THREADS=1 nice -n 19 python benchmarks/edit_vs_inpaint.py " + " ".join(sys.argv[1:]),
        }
        args.json.write_text(json.dumps(record, indent=1, allow_nan=False) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
