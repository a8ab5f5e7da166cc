"""The [edit] targets (issue #31) on an unconditional and a conditional MNIST run; prints each figure.

    python benchmarks/edit_targets.py --dcgan runs/mnist_dcgan --cond runs/mnist_cond --encoder runs/mnist_dcgan_encoder \
        --json docs/results/edit.json                # merges the figures under each run's name and training seed
    python benchmarks/edit_targets.py --dcgan runs/mnist_dcgan_s1 --cond runs/mnist_cond_s1 --seed 1 --json docs/results/edit.json
    python benchmarks/edit_targets.py --dcgan runs/mnist_dcgan --cond runs/mnist_cond --num 100 --search 2000   # smaller

``--seed`` names the training seed of the runs measured (default: their ``train.seed``); ``--json OUT`` merges each
figure into OUT as ``results[run name][seed][figure]`` with the command and the settings that produced it, so that
``docs/tools/gen_edit.py`` writes ``docs/edit.md``'s tables from it.

Every inversion uses the pixel loss alone (no feature term), so the scores come from the run's own domain evaluator
(MNIST ``764aad31``, test accuracy 98.7%, the floor of "read as the original"). Figures:

Each inversion starts as ``gankit project`` does, from the nearest of 1,000 random codes (the search is part of the
timed work). 1. known-z samples: ``--num`` samples of each run inverted for ``--steps`` steps; mean PSNR (target >= 30 dB).
2. real test digits: ``--num`` of the test split (in a fixed random order, seed 0) inverted the same way (conditional runs with the true
   class); the share the evaluator reads as the original's digit (target >= 95%) and the mean PSNR against the mean
   of each digit's best PSNR among ``--search`` random samples of the same generator (target: 3 dB above it).
3. encoder start (``--encoder``): the fewest steps from the encoder's codes whose final loss reaches the default
   start's loss after ``--steps`` steps, on 100 of those test digits; speed-up = steps / that (target >= 3x). With
   the default settings, then with each ``--encoder-starts`` peak rate and noise: Adam moves every coordinate by
   about the rate in its first steps, which a start near the answer may not need.
4. speed: 100 of those test digits x ``--steps`` steps, wall seconds with ``--threads`` threads (target < 30 s on 2 cores).
5. class change on the conditional run: the test digits inverted on the sphere (``ProjectorConfig(sphere=True)``, as
   ``gankit edit`` does) and each redrawn with the same z and another class (label + 1 + a random 0..8, mod 10); the
   share read as the new class (target >= 95%); the same for the codes inverted off the sphere (figure 2's).
6. directions on the unconditional run: class boundaries from 10,000 samples (seed 0); 1,000 other samples (seed 1)
   edited toward a random other class at each ``--strengths``; the share read as the target (target >= 80% at the
   recommended strength) and the precision (k = 3, evaluator features, against 2,000 training digits) of the edited
   samples beside the unedited ones' (within 0.05).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import torch

from gankit.data import load_dataset
from gankit.edit import ProjectorConfig, fit_directions, load_encoder, load_generator_run, project
from gankit.edit.runs import encode
from gankit.metrics import Features
from gankit.metrics.evaluator import load_evaluator
from gankit.metrics.precision_recall import precision_recall
from gankit.metrics.restoration import mean_psnr, psnr

SEARCH_START = 1000
"""The default start of ``gankit project``: the nearest of 1,000 random codes."""

RECORD: dict = {}
"""The figures measured in this invocation: {run name: {figure: {...}}}; written by ``--json``."""


def record(name: str, figure: str, **values) -> None:
    RECORD.setdefault(name, {})[figure] = {**values, "load_average": round(os.getloadavg()[0], 1)}


def merge_json(path: str, seeds: dict[str, int], settings: dict) -> None:
    """Merge RECORD into the results file ``path`` (created if missing): results[name][seed][figure]."""
    out = Path(path)
    data = json.loads(out.read_text()) if out.is_file() else {}
    command = "python benchmarks/edit_targets.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    for name, figures in RECORD.items():
        slot = data.setdefault("results", {}).setdefault(name, {}).setdefault(str(seeds[name]), {})
        for figure, values in figures.items():
            slot[figure] = {**settings, **values, "command": command}
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(out)
    print(f"\nmerged {sum(len(f) for f in RECORD.values())} figure(s) into {out}", flush=True)


def best_search_psnr(run, targets: torch.Tensor, num: int, labels: torch.Tensor | None = None, seed: int = 7) -> torch.Tensor:
    """Each target's best PSNR (dB) among ``num`` random samples of ``run`` (conditional: of the target's class)."""
    flat = targets.flatten(1).double()  # (N, D)
    best = torch.full((len(targets),), float("inf"), dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    for start in range(0, num, 1000):
        z = torch.randn(min(1000, num - start), run.latent_dim, generator=gen)
        if labels is None:
            samples = run.generate(z).flatten(1).double()  # (B, D)
            d = (flat ** 2).sum(1, keepdim=True) + (samples ** 2).sum(1)[None] - 2 * flat @ samples.T  # (N, B)
            best = torch.minimum(best, d.min(dim=1).values / flat.shape[1])
        else:
            for k in labels.unique().tolist():
                rows = labels == k
                samples = run.generate(z, torch.full((len(z),), k)).flatten(1).double()
                d = (flat[rows] ** 2).sum(1, keepdim=True) + (samples ** 2).sum(1)[None] - 2 * flat[rows] @ samples.T
                best[rows] = torch.minimum(best[rows], d.min(dim=1).values / flat.shape[1])
    return 10 * torch.log10(255.0 ** 2 / best.clamp_min(1e-12))


class Subset:
    """Test digits in a fixed random order (seed 0): the test split is stored sorted by class."""

    def __init__(self, data) -> None:
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
        self.images, self.labels = data.images[order], data.labels[order]


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


def known_z(run, name: str, num: int, steps: int) -> None:
    z = torch.randn(num, run.latent_dim, generator=torch.Generator().manual_seed(123))
    labels = torch.arange(num) % run.num_classes if run.num_classes else None
    images = run.generate(z, labels)
    start = time.perf_counter()
    result = project(run, images, ProjectorConfig(steps=steps), labels=labels, search=SEARCH_START)
    values = psnr(result.images, images)
    seconds = time.perf_counter() - start
    print(f"{name}: known-z samples, {num} x {steps} steps: mean PSNR {mean_psnr(values):.2f} dB (target >= 30), "
          f"median {float(values.median()):.2f}, below 20 dB: {int((values < 20).sum())}; {seconds:.0f} s", flush=True)
    record(name, "known_z", num=num, steps=steps, mean_psnr=round(mean_psnr(values), 2),
           median_psnr=round(float(values.median()), 2), below_20db=int((values < 20).sum()), seconds=round(seconds, 1))


def real_digits(run, name: str, evaluator, test, num: int, steps: int, search: int, sphere: bool = False):
    images, labels = test.images[:num], test.labels[:num]
    cond = labels if run.num_classes else None
    start = time.perf_counter()
    result = project(run, images, ProjectorConfig(steps=steps, sphere=sphere), labels=cond, search=SEARCH_START)
    seconds = time.perf_counter() - start
    read = evaluator(result.images).probs.argmax(dim=1)
    share = float((read == labels).double().mean())
    mine = mean_psnr(psnr(result.images, images))
    where = " on the sphere" if sphere else ""
    if sphere:
        print(f"{name}: {num} real test digits x {steps} steps{where} ({seconds:.0f} s): read as the original {100 * share:.1f}%; "
              f"mean PSNR {mine:.2f} dB", flush=True)
        record(name, "real_sphere", num=num, steps=steps, read_as_original=round(share, 4), mean_psnr=round(mine, 2),
               seconds=round(seconds, 1))
        return result
    searched = mean_psnr(best_search_psnr(run, images, search, cond))
    print(f"{name}: {num} real test digits x {steps} steps ({seconds:.0f} s): read as the original {100 * share:.1f}% "
          f"(target >= 95%); mean PSNR {mine:.2f} dB against {searched:.2f} dB for the best of {search} random samples: "
          f"{mine - searched:+.2f} dB (target >= +3)", flush=True)
    record(name, "real", num=num, steps=steps, read_as_original=round(share, 4), mean_psnr=round(mine, 2),
           search_num=search, search_psnr=round(searched, 2), seconds=round(seconds, 1))
    return result


def real_features(run, name: str, test, num: int, steps: int, weight: float, scorer_seed: int) -> None:
    """Figure 2 with the feature term: real test digits inverted with pixel L2 + ``weight`` x the squared distance of the
    default evaluator's features, scored by the evaluator trained from ``scorer_seed`` (not the one inverted against)."""
    from gankit.edit.features import EvaluatorFeatures
    from gankit.evaluation.evaluator_training import evaluator_with_seed

    inverted_against = load_evaluator("mnist")
    scorer = evaluator_with_seed("mnist", scorer_seed)
    if scorer.id == inverted_against.id:
        raise SystemExit(f"--scorer-seed {scorer_seed} gives the evaluator the inversion uses; pick another seed")
    images, labels = test.images[:num], test.labels[:num]
    cond = labels if run.num_classes else None
    start = time.perf_counter()
    result = project(run, images, ProjectorConfig(steps=steps, feature_weight=weight), labels=cond, search=SEARCH_START,
                     features=EvaluatorFeatures(inverted_against.net))
    seconds = time.perf_counter() - start
    share = float((scorer(result.images).probs.argmax(dim=1) == labels).double().mean())
    self_share = float((inverted_against(result.images).probs.argmax(dim=1) == labels).double().mean())
    mine = mean_psnr(psnr(result.images, images))
    print(f"{name}: {num} real test digits x {steps} steps, pixel + {weight:g} x evaluator features ({seconds:.0f} s): "
          f"read as the original {100 * share:.1f}% by evaluator {scorer.id[10:18]} (seed {scorer_seed}, accuracy "
          f"{100 * scorer.accuracy:.1f}%; target >= 95%), {100 * self_share:.1f}% by the one inverted against; "
          f"mean PSNR {mine:.2f} dB", flush=True)
    record(name, "real_features", num=num, steps=steps, feature_weight=weight, read_as_original=round(share, 4),
           read_as_original_self=round(self_share, 4), mean_psnr=round(mine, 2), seconds=round(seconds, 1),
           evaluator=scorer.id.removeprefix("evaluator-")[:8], evaluator_accuracy=round(float(scorer.accuracy), 4),
           features_from=inverted_against.id.removeprefix("evaluator-")[:8])


def steps_to_reach(run, images, encoder, target: float, steps: int, cfg: dict, label: str) -> tuple[int | None, dict]:
    """The fewest of 10, 20, ..., ``steps`` steps from the encoder's codes, with projector settings ``cfg``, whose
    mean final loss is at most ``target``; and the loss after each count tried."""
    curve = {}
    for n in (10, 20, 30, 50, 75, 100, 150, 200, 300):
        if n > steps:
            break
        hybrid = project(run, images, ProjectorConfig(steps=n, **cfg), encoder=encoder)
        loss = float(hybrid.final_loss.mean())
        print(f"  encoder start ({label}), {n:3d} steps: loss {loss:.5f}, PSNR {mean_psnr(psnr(hybrid.images, images)):.2f} dB", flush=True)
        curve[str(n)] = round(loss, 6)
        if loss <= target:
            return n, curve
    return None, curve


def encoder_speedup(run, name: str, encoder_run: str, test, steps: int, starts: list[tuple[float, float]]) -> None:
    """Figure 3 with the default settings (peak rate 0.1, noise 0.05), then with each (rate, noise) of ``starts``."""
    encoder = load_encoder(encoder_run, run)
    images = test.images[:100]
    base = project(run, images, ProjectorConfig(steps=steps), search=SEARCH_START)
    target = float(base.final_loss.mean())
    one_shot_psnr = mean_psnr(psnr(run.generate(encode(encoder, images)), images))
    print(f"encoder: one-shot codes: mean PSNR {one_shot_psnr:.2f} dB; default start after {steps} steps: "
          f"loss {target:.5f}, PSNR {mean_psnr(psnr(base.images, images)):.2f} dB", flush=True)
    default = ProjectorConfig()
    variants = {}
    for lr, noise in [(default.lr, default.noise), *starts]:
        label = f"peak rate {lr:g}, noise {noise:g}"
        reached, curve = steps_to_reach(run, images, encoder, target, steps, {"lr": lr, "noise": noise}, label)
        factor = None if reached is None else round(steps / reached, 2)
        if reached is None:
            print(f"encoder ({label}): no step count up to {steps} reaches the default start's loss", flush=True)
        else:
            print(f"encoder ({label}): reaches the default start's {steps}-step loss in {reached} steps: {factor:.1f}x fewer "
                  "(target >= 3x)", flush=True)
        variants[label] = {"lr": lr, "noise": noise, "steps_to_reach": reached, "factor": factor, "curve": curve}
    first = variants.pop(f"peak rate {default.lr:g}, noise {default.noise:g}")
    record(name, "encoder", num=len(images), steps=steps, encoder_run=Path(encoder_run).name, default_loss=round(target, 6),
           default_psnr=round(mean_psnr(psnr(base.images, images)), 2), one_shot_psnr=round(one_shot_psnr, 2),
           steps_to_reach=first["steps_to_reach"], factor=first["factor"], curve=first["curve"], other_settings=variants)


def speed(run, name: str, test, steps: int, threads: int) -> None:
    images, labels = test.images[:100], (test.labels[:100] if run.num_classes else None)
    project(run, images[:10], ProjectorConfig(steps=5), labels=None if labels is None else labels[:10])  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    project(run, images, ProjectorConfig(steps=steps), labels=labels, search=SEARCH_START)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    load = os.getloadavg()[0]
    print(f"speed: 100 images x {steps} steps: {wall:.1f} s wall, {cpu:.1f} CPU-s, with {threads} threads "
          f"(target < 30 s on 2 cores; load average {load:.1f} on this shared machine while measured)", flush=True)
    record(name, "speed", num=100, steps=steps, threads=threads, wall_s=round(wall, 1), cpu_s=round(cpu, 1))


def class_change(run, name: str, evaluator, test, inverted, num: int, sphere: bool) -> None:
    labels = test.labels[:num]
    gen = torch.Generator().manual_seed(11)
    targets = (labels + 1 + torch.randint(9, (num,), generator=gen)) % 10
    changed = run.generate(inverted.z, targets)
    share = float((evaluator(changed).probs.argmax(dim=1) == targets).double().mean())
    kept = float((evaluator(run.generate(inverted.z, labels)).probs.argmax(dim=1) == labels).double().mean())
    where = "on the sphere" if sphere else "off the sphere"
    print(f"class change (conditional): {num} test digits inverted {where}, redrawn as another class: read as the new class "
          f"{100 * share:.1f}% (target >= 95%); with their own class {100 * kept:.1f}%", flush=True)
    record(name, "class_change" if sphere else "class_change_free", num=num, sphere=sphere, read_as_new=round(share, 4),
           read_as_own=round(kept, 4), mean_code_norm=round(float(inverted.z.norm(dim=1).mean()), 2))


def directions(run, name: str, evaluator, train, strengths: list[float], keep_norm: bool = False) -> None:
    start = time.perf_counter()
    bounds = fit_directions(run, lambda x: evaluator(x).probs, num=10_000, seed=0)
    z = torch.randn(1000, run.latent_dim, generator=torch.Generator().manual_seed(1))
    images = run.generate(z)
    features = evaluator(images)
    current = features.probs.argmax(dim=1)
    targets = (current + 1 + torch.randint(9, (len(z),), generator=torch.Generator().manual_seed(2))) % 10
    real = evaluator(train.images[:2000])
    base = precision_recall(real, features)["precision"]
    print(f"directions (unconditional): boundaries from 10,000 samples in {time.perf_counter() - start:.0f} s; "
          f"unedited samples' precision {base:.3f}; {'each code keeps its norm' if keep_norm else 'codes move along the normal'}", flush=True)
    rows = {}
    for s in strengths:
        edited = run.generate(bounds.edit(z, targets, s, keep_norm=keep_norm))
        got = evaluator(edited)
        success = float((got.probs.argmax(dim=1) == targets).double().mean())
        prec = precision_recall(real, Features(got.features, got.probs))["precision"]
        print(f"  strength {s:4.1f}: read as the target {100 * success:5.1f}% (target >= 80%); precision {prec:.3f} "
              f"({prec - base:+.3f}; target within -0.05); mean code norm {float(bounds.edit(z, targets, s, keep_norm=keep_norm).norm(dim=1).mean()):.2f}",
              flush=True)
        rows[f"{s:g}"] = {"read_as_target": round(success, 4), "precision": round(float(prec), 4),
                          "mean_code_norm": round(float(bounds.edit(z, targets, s, keep_norm=keep_norm).norm(dim=1).mean()), 2)}
    record(name, "directions_sphere" if keep_norm else "directions", keep_norm=keep_norm, fit_samples=10_000, edited=len(z), real=2000, k=3, base_precision=round(float(base), 4),
           strengths=rows)


def run_seed(path: str, given: int | None) -> int:
    """The training seed of run ``path``: ``given``, else its config's ``train.seed``."""
    if given is not None:
        return given
    import yaml

    config = Path(path) / "config.yaml"
    return int(yaml.safe_load(config.read_text()).get("train", {}).get("seed", 0)) if config.is_file() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dcgan", help="an unconditional MNIST run (mnist_dcgan)")
    parser.add_argument("--cond", help="a conditional MNIST run (mnist_cond)")
    parser.add_argument("--encoder", help="an encoder run trained against --dcgan")
    parser.add_argument("--seed", type=int, help="the training seed of the runs measured (default: each run's train.seed)")
    parser.add_argument("--json", metavar="OUT", help="merge the figures into this results file (docs/results/edit.json)")
    parser.add_argument("--num", type=int, default=500, help="images for the known-z, real-digit and class-change figures")
    parser.add_argument("--search", type=int, default=10_000, help="random samples searched for the baseline")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--encoder-starts", default="0.03:0,0.01:0",
                        help="encoder start: other (peak rate:noise) settings to try beside the default 0.1:0.05")
    parser.add_argument("--feature-weight", type=float, default=1.0, help="weight of the feature term of --only real_features")
    parser.add_argument("--scorer-seed", type=int, default=1, help="seed of the evaluator that scores --only real_features")
    parser.add_argument("--strengths", default="1,2,3,4,5", help="direction strengths to try")
    parser.add_argument("--only", action="append", default=[], help="known, real, encoder, speed, change, directions, directions_sphere (the edit keeps each code's norm), real_sphere, real_features (only when named)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    want = (lambda part: not args.only or part in args.only)
    evaluator = load_evaluator("mnist")
    test, train = Subset(load_dataset("mnist", "test")), load_dataset("mnist", "train")
    print(f"evaluator {evaluator.id} (test accuracy {100 * evaluator.accuracy:.1f}%); {args.threads} threads", flush=True)
    seeds = {}
    if args.dcgan:
        run, name = load_generator_run(args.dcgan), "mnist_dcgan"
        seeds[name] = run_seed(args.dcgan, args.seed)
        section(f"unconditional: {args.dcgan} (seed {seeds[name]})")
        if want("known"):
            known_z(run, name, args.num, args.steps)
        if want("real"):
            real_digits(run, name, evaluator, test, args.num, args.steps, args.search)
        if want("real_sphere"):
            real_digits(run, name, evaluator, test, args.num, args.steps, args.search, sphere=True)
        if "real_features" in args.only:
            real_features(run, name, test, args.num, args.steps, args.feature_weight, args.scorer_seed)
        if args.encoder and want("encoder"):
            starts = [tuple(float(v) for v in pair.split(":")) for pair in args.encoder_starts.split(",") if pair]
            encoder_speedup(run, name, args.encoder, test, args.steps, starts)
        if want("speed"):
            speed(run, name, test, args.steps, args.threads)
        if want("directions"):
            directions(run, name, evaluator, train, [float(s) for s in args.strengths.split(",")])
        if want("directions_sphere"):
            directions(run, name, evaluator, train, [float(s) for s in args.strengths.split(",")], keep_norm=True)
    if args.cond:
        run, name = load_generator_run(args.cond), "mnist_cond"
        seeds[name] = run_seed(args.cond, args.seed)
        section(f"conditional: {args.cond} (seed {seeds[name]})")
        if want("known"):
            known_z(run, name, args.num, args.steps)
        if want("real") or want("change"):
            free = real_digits(run, name, evaluator, test, args.num, args.steps, args.search)
            class_change(run, name, evaluator, test, free, args.num, sphere=False)
            on_sphere = real_digits(run, name, evaluator, test, args.num, args.steps, args.search, sphere=True)
            class_change(run, name, evaluator, test, on_sphere, args.num, sphere=True)
        if want("speed"):
            speed(run, name, test, args.steps, args.threads)
    if args.json:
        merge_json(args.json, seeds, {"evaluator": evaluator.id.removeprefix("evaluator-")[:8],
                                      "evaluator_accuracy": round(float(evaluator.accuracy), 4)})


if __name__ == "__main__":
    main()
