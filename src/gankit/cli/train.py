"""``gankit train``: start a run from a YAML preset, or resume one."""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from gankit.errors import CheckpointError, ConfigError, GankitError

log = logging.getLogger("gankit")

EXAMPLES = """examples:
  gankit train configs/mnist_mlp.yaml                       # run dir runs/mnist_mlp
  gankit train configs/mnist_mlp.yaml --max-minutes 3 --run-dir runs/demo
  gankit train configs/mnist_mlp.yaml --set loss.name=saturating --seed 1
  gankit train --resume runs/demo --max-steps 20000
  gankit train configs/emoji_resnet64.yaml --device cuda    # one GPU
  torchrun --nproc-per-node 4 -m gankit train configs/emoji_resnet64.yaml   # 4 GPUs (or CPU processes), global batch unchanged
  gankit train --objective encoder --generator runs/mnist_dcgan --run-dir runs/mnist_dcgan_encoder   # image -> z (docs/edit.md)
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a GAN", description="Train a GAN from a YAML preset, or resume a run.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", nargs="?", help="YAML preset, e.g. configs/mnist_mlp.yaml")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its newest valid checkpoint")
    p.add_argument("--run-dir", help="where to write the run (default: runs/<preset name>)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a config value, e.g. optim.lr_g=1e-4")
    p.add_argument("--max-steps", type=int, help="stop after this many steps in total (sets train.max_steps)")
    p.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this many minutes of this invocation")
    p.add_argument("--seed", type=int, help="random seed (sets train.seed)")
    p.add_argument("--data-dir", help="data root (sets data.dir; default $GANKIT_DATA or ~/.cache/gankit/data)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="where to train (sets train.device; default auto: cuda, else mps, else cpu)")
    p.add_argument("--perceptual-weights", metavar="FILE",
                   help="restoration runs: a safetensors file of VGG-16's features[:16] for the perceptual loss (sets "
                        "restore.perceptual_weights; weight restore.perceptual_weight)")
    p.add_argument("--objective", help="the training objective (sets train.objective; e.g. encoder)")
    p.add_argument("--generator", metavar="RUN", help="--objective encoder: the run whose generator the encoder inverts (the config is built from it)")
    p.set_defaults(func=run)


def _prepare_run_dir(run_dir: Path, overwrite: bool) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--run-dir {run_dir}: exists and is not a directory")
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if not overwrite:
            raise ConfigError(f"run directory {run_dir} already exists; use --resume {run_dir} to continue it or --overwrite to replace it")
        if not (run_dir / "config.yaml").is_file():
            raise ConfigError(f"--overwrite: {run_dir} does not look like a gankit run (no config.yaml); refusing to delete it")
        shutil.rmtree(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--run-dir {run_dir}: cannot create it ({exc.strerror})") from None
    probe = run_dir / ".write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--run-dir {run_dir}: not writable ({exc.strerror})") from None


def _untrusted_data_dir(saved: str | None, given: str | None) -> None:
    """Refuse a data root named only by the checkpoint: paths inside a checkpoint are never trusted.

    Datasets write below their root (downloads, decoded-image caches), so resuming with
    the ``data.dir`` stored in a checkpoint would let the checkpoint choose where files
    are written. The user confirms it with ``--data-dir``; a stored value equal to the
    default root ($GANKIT_DATA or ~/.cache/gankit/data) needs no confirmation.
    """
    from gankit.data import data_root

    if given is not None or saved is None:
        return
    if Path(saved).expanduser().resolve() != data_root(None).resolve():
        raise ConfigError(
            f"the checkpoint names data.dir={saved!r}; paths inside a checkpoint are not trusted, "
            f"so pass the data root again to resume: --data-dir {saved}"
        )


def _write_failure(exc: OSError, run_dir: Path) -> GankitError:
    """One line for a failed write during training (full disk, read-only folder), naming what is safe."""
    from gankit.run import RunDir

    newest = RunDir(run_dir).checkpoints()
    kept = f"the newest complete checkpoint is {newest[-1][1]}" if newest else "no checkpoint was written yet"
    what = exc.filename or run_dir
    return GankitError(f"cannot write {what} ({exc.strerror or exc}); {kept}; fix it, then: gankit train --resume {run_dir}")


def _check_positive(name: str, value) -> None:
    if value is not None and value <= 0:
        raise ConfigError(f"{name}: {value} must be a positive number")


def _quiet_other_ranks(ctx) -> None:
    """Only rank 0 of a distributed run reports progress; the others report errors only."""
    if ctx is not None and not ctx.is_main:
        logging.getLogger("gankit").setLevel(logging.ERROR)


def _resume(args: argparse.Namespace):
    """The trainer of the run in ``--resume``, with the flags a resume may change; (trainer, run dir, process context)."""
    from gankit.evaluation.fid_callback import FIDCallback
    from gankit.run import RunDir
    from gankit.training.distributed import DistributedStrategy, init_distributed
    from gankit.training.state import trainer_from_checkpoint

    if args.config:
        raise ConfigError("give either a CONFIG to start a run or --resume RUN_DIR, not both")
    if args.overrides or args.seed is not None or args.objective or args.generator:
        raise ConfigError("--resume continues a run with its own config; only --max-steps, --max-minutes, --data-dir and --device may change")
    run = RunDir(args.resume)
    run_dir = run.path
    if not run.config_path.is_file():
        raise ConfigError(f"--resume {run_dir}: not a gankit run directory (no config.yaml)")
    found = run.latest_checkpoint()
    if found is None:
        raise CheckpointError(f"--resume {run_dir}: no valid checkpoint in {run.checkpoint_dir}")
    path, checkpoint = found
    saved = checkpoint.training_config(origin=str(path))  # the stored config as it was written
    changes: dict = {}
    if args.max_steps is not None:
        changes["train"] = {"max_steps": args.max_steps}
    if args.data_dir is not None:
        changes["data"] = {"dir": args.data_dir}
    _untrusted_data_dir(saved.data.dir, args.data_dir)
    # The per-process batch is worked out again: a run may resume on another number of processes.
    changes.setdefault("train", {})["batch_per_process"] = None
    if args.device is not None:
        changes["train"]["device"] = args.device
    ctx = init_distributed(args.device or saved.train.device)
    _quiet_other_ranks(ctx)
    strategy = DistributedStrategy(ctx) if ctx else None
    trainer = trainer_from_checkpoint(checkpoint, run_dir, str(path), changes, strategy=strategy, callbacks=(FIDCallback(),))
    log.info("resuming %s from step %d (%s)", run_dir, trainer.step, path.name)
    return trainer, run_dir, ctx


def _start(args: argparse.Namespace, overrides: list[str]):
    """A new run's trainer from the preset and its overrides; (trainer, run dir, process context)."""
    from gankit.evaluation.fid_callback import FIDCallback
    from gankit.training.config import load_config
    from gankit.training.distributed import DistributedStrategy, init_distributed, run_on_main
    from gankit.training.strategy import resolve_batch
    from gankit.training.trainer import Trainer

    if args.generator:
        from gankit.training.objectives.encoder import encoder_config

        if args.config or (args.objective or "encoder") != "encoder":
            raise ConfigError("--generator builds an encoder run's config from the generator's run: give --objective encoder and no CONFIG")
        cfg = encoder_config(args.generator, overrides)
        run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / f"{Path(args.generator).name}_encoder"
    elif not args.config:
        raise ConfigError("give a CONFIG (e.g. configs/mnist_mlp.yaml) or --resume RUN_DIR")
    else:
        cfg = load_config(args.config, overrides + ([f"train.objective={args.objective}"] if args.objective else []))
        run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / Path(args.config).stem
    ctx = init_distributed(cfg.train.device)
    _quiet_other_ranks(ctx)
    resolve_batch(cfg.train, ctx.world_size if ctx else 1)  # a batch that does not split fails before --overwrite deletes
    run_on_main(ctx, lambda: _prepare_run_dir(run_dir, args.overwrite))
    trainer = Trainer(cfg, run_dir, strategy=DistributedStrategy(ctx) if ctx else None, callbacks=(FIDCallback(),))
    return trainer, run_dir, ctx


def run(args: argparse.Namespace) -> int:
    from gankit.training.distributed import shutdown_distributed

    _check_positive("--max-steps", args.max_steps)
    _check_positive("--max-minutes", args.max_minutes)
    overrides = list(args.overrides)
    if args.max_steps is not None:
        overrides.append(f"train.max_steps={args.max_steps}")
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    if args.data_dir is not None:
        overrides.append(f"data.dir={args.data_dir}")
    if args.device is not None:
        overrides.append(f"train.device={args.device}")
    if args.perceptual_weights:
        overrides.append(f"restore.perceptual_weights={args.perceptual_weights}")

    if args.resume:
        trainer, run_dir, ctx = _resume(args)
    else:
        trainer, run_dir, ctx = _start(args, overrides)
    log.info("data: %s (%d images)", trainer.dataset.source, len(trainer.dataset))
    processes = f"{ctx.world_size} processes ({ctx.backend})" if ctx else "1 process"
    log.info(
        "model %s, %d steps of global batch %d (%d per process x %s) on %s; writing to %s",
        trainer.cfg.model.name, trainer.total_steps, trainer.cfg.train.batch_size, trainer.cfg.train.batch_per_process,
        processes, trainer.device, run_dir,
    )
    if trainer.step >= trainer.total_steps:
        log.info("the run is already at step %d of %d; raise --max-steps to train further", trainer.step, trainer.total_steps)
        if ctx is None and trainer.run.export_step() != trainer.step:  # killed while writing its final outputs
            log.info("writing the final samples and export that the last invocation did not finish")
            trainer.save_samples("final")
            trainer.export()
        if ctx is not None:
            shutdown_distributed()
        return 0
    try:
        result = trainer.train(max_minutes=args.max_minutes, progress=not args.no_progress and trainer.strategy.is_main)
    except OSError as exc:
        raise _write_failure(exc, run_dir) from None
    finally:
        if ctx is not None:
            shutdown_distributed()
    if result.status == "interrupted":
        log.info("stopped at step %d with a checkpoint; continue with: gankit train --resume %s", result.step, run_dir)
        return 130
    if result.status == "time_limit":
        log.info("time limit reached at step %d; continue with: gankit train --resume %s", result.step, run_dir)
    log.info("samples: %s; generator: %s", run_dir / "samples" / "final.png", run_dir / "export")
    return 0


__all__ = ["add_parser", "run", "GankitError"]
