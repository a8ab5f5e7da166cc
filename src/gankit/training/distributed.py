"""Training on several processes or GPUs with torch.distributed (launched by ``torchrun``).

One process per GPU (or per CPU slot), each holding a full copy of G and D, each
wrapped in its own :class:`~torch.nn.parallel.DistributedDataParallel` with
``broadcast_buffers=False`` (BatchNorm and spectral-norm buffers stay per process).
Backends: NCCL on CUDA, gloo on the CPU.

A distributed step is the single-process step on the same global batch, cut in
``world_size`` equal parts:

* every process draws the same global index list (the :class:`EpochSampler` of the
  global batch, a function of seed and step) and keeps its own slice, so the data
  order is the same for the same seed on any number of processes;
* every process draws the whole global noise batch from the shared noise
  generator and keeps its slice (DiffAugment likewise), so all random streams stay
  in step across processes and match a single process;
* each process's loss is the mean over its slice, and DDP averages gradients over
  processes, which is the mean over the global batch.

Hence the checkpoint (written by rank 0 only, like logs, samples and exports)
holds no per-process state, and a run started on N processes resumes on any
number. What differs from one process: float summation order, per-process
BatchNorm statistics, dropout masks, and the interpolation noise of the gradient
penalty (drawn per process).

Launch::

    torchrun --nproc-per-node 2 -m gankit train configs/emoji_resnet64.yaml
"""

from __future__ import annotations

import inspect
import logging
import os
from dataclasses import dataclass
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from gankit.errors import ConfigError, GankitError
from gankit.training.config import Config, TrainConfig
from gankit.training.trainer import NonFiniteLossError, Trainer, resolve_device

log = logging.getLogger("gankit")

_STOP_CODES = {None: 0, "time_limit": 1, "interrupted": 2}


class PeerFailedError(GankitError):
    """Another process of the run failed (it reports the reason itself)."""


@dataclass(frozen=True)
class DistContext:
    """This process's place in a distributed run."""

    rank: int
    world_size: int
    local_rank: int
    backend: str
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_world_size() -> int:
    """The number of processes torchrun started (1 when not launched by torchrun)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise ConfigError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not a number") from None


def init_distributed(device_name: str, timeout_minutes: float = 30.0) -> DistContext | None:
    """Join the process group that torchrun set up; None when this is a single process.

    ``device_name`` is ``train.device``: CUDA gives each process the GPU of its local
    rank and the NCCL backend; the CPU uses gloo.
    """
    world = launched_world_size()
    if world <= 1:
        return None
    if not dist.is_available():
        raise ConfigError("this PyTorch build has no torch.distributed; run a single process")
    try:
        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    except (KeyError, ValueError):
        raise ConfigError("WORLD_SIZE is set but RANK is not: start several processes with torchrun") from None
    device = resolve_device(device_name)
    if device.type == "mps":
        raise ConfigError("train.device: 'mps' cannot be shared by several processes; use --device cpu, or one process")
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if local_rank >= count:
            raise ConfigError(f"--nproc-per-node: process {local_rank} on this node has no GPU (it has {count}); start at most {count}")
        torch.cuda.set_device(local_rank)
        device, backend = torch.device("cuda", local_rank), "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=timedelta(minutes=timeout_minutes))
    return DistContext(dist.get_rank(), dist.get_world_size(), local_rank, backend, device)


def shutdown_distributed() -> None:
    """Wait for every process, then leave the process group."""
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def current_context() -> DistContext:
    """The context of an initialised process group (for code that did not set it up)."""
    if not (dist.is_available() and dist.is_initialized()):
        raise ConfigError("torch.distributed is not initialised: launch with torchrun")
    backend = dist.get_backend()
    device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), backend, device)


def resolve_batch(train: TrainConfig, world_size: int) -> int:
    """Set and return ``train.batch_per_process`` = global batch / processes.

    Raises:
        ConfigError: the global batch does not split evenly, or a given per-process batch disagrees.
    """
    if train.batch_size % world_size:
        raise ConfigError(
            f"train.batch_size: the global batch {train.batch_size} does not split evenly over {world_size} processes; "
            f"use a multiple of {world_size}"
        )
    per_process = train.batch_size // world_size
    if train.batch_per_process is not None and train.batch_per_process != per_process:
        raise ConfigError(
            f"train.batch_per_process: {train.batch_per_process} x {world_size} processes is not the global batch "
            f"train.batch_size={train.batch_size}; set one of them so that they agree (or leave batch_per_process empty)"
        )
    train.batch_per_process = per_process
    return per_process


def _flag_tensor(ctx: DistContext, value: float) -> torch.Tensor:
    return torch.tensor([value], dtype=torch.float64 if ctx.backend == "gloo" else torch.float32, device=ctx.device)


@contextmanager
def local_leader_first(ctx: DistContext | None) -> Iterator[None]:
    """Run the body on local rank 0 of each node first (e.g. fetching and decoding data into a shared cache)."""
    if ctx is None:
        yield
        return
    if ctx.local_rank != 0:
        dist.barrier()
    try:
        yield
    finally:
        if ctx.local_rank == 0:
            dist.barrier()


def run_on_main(ctx: DistContext | None, action: Callable[[], Any]) -> None:
    """Run ``action`` on rank 0 only; every process raises if it failed there (no process is left waiting)."""
    if ctx is None:
        action()
        return
    error: GankitError | None = None
    if ctx.is_main:
        try:
            action()
        except GankitError as exc:
            error = exc
    flag = _flag_tensor(ctx, 1.0 if error is not None else 0.0)
    dist.broadcast(flag, src=0)
    if error is not None:
        raise error
    if flag.item():
        raise PeerFailedError("rank 0 failed (see its message)")


def wrap_ddp(module: nn.Module, ctx: DistContext) -> DistributedDataParallel:
    """DDP over ``module`` that averages gradients and never broadcasts buffers in forward.

    BatchNorm running statistics and spectral-norm vectors stay per process (rank 0's are checkpointed).
    """
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters:
        return DistributedDataParallel(module, device_ids=device_ids, forward_sync_buffers=False)
    return DistributedDataParallel(module, device_ids=device_ids, broadcast_buffers=False)


class DistributedTrainer(Trainer):
    """A :class:`Trainer` that is one process of a torch.distributed run.

    It must be built on every process of an initialised process group, with the
    same config. ``train.batch_size`` is the global batch.
    """

    def __init__(self, cfg: Config, run_dir: str | Path, dataset=None) -> None:
        from gankit.data import load_data

        self.ctx = current_context()
        resolve_batch(cfg.train, self.ctx.world_size)
        self.is_main_process = self.ctx.is_main
        if dataset is None:
            with local_leader_first(self.ctx):  # one process per node fetches and decodes; the others map its cache
                dataset = load_data(cfg.data, "train")
        super().__init__(cfg, run_dir, dataset)
        if self.ctx.device.type == "cuda" and self.device.index != self.ctx.device.index:
            self.device = self.ctx.device
        if getattr(self, "_objective_step", None) is not None and self._objective_step.__name__ != "_adversarial_step":
            raise ConfigError(f"model {cfg.model.name!r}: distributed training supports adversarial models only; run it on one process")
        self.ddp_generator = wrap_ddp(self.generator, self.ctx)
        self.ddp_discriminator = wrap_ddp(self.discriminator, self.ctx)
        self.batch_per_process = cfg.train.batch_per_process

    # ---------------------------------------------------- slices of the global batch
    def _my_slice(self) -> slice:
        b = self.batch_per_process
        return slice(self.ctx.rank * b, (self.ctx.rank + 1) * b)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = self.sampler.indices(self.step)[self._my_slice()]  # this process's part of the global batch
        real = self._to_device(self.dataset.batch(idx))
        labels = self.real_labels[idx].to(self.device) if self.num_classes else None
        return real, labels

    def recluster(self) -> None:
        """Self-conditioning: every process clusters the same features; rank 0's labels are then broadcast, so that
        no difference in float summation order can leave two processes with different labels."""
        super().recluster()
        labels = self.real_labels.to(self.ctx.device)
        torch.distributed.broadcast(labels, src=0)
        self.real_labels = labels.cpu()
        self._set_label_shares()

    def sample_noise(self, batch: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        z, labels = super().sample_noise(batch * self.ctx.world_size)  # the global draw keeps every process in step
        part = self._my_slice()
        return z[part], (labels[part] if labels is not None else None)

    def _augment(self, images: torch.Tensor) -> torch.Tensor:
        if not getattr(self, "augment_policy", None):
            return super()._augment(images)
        b, world, rank = images.shape[0], self.ctx.world_size, self.ctx.rank
        before = images.new_zeros((rank * b, *images.shape[1:]))
        after = images.new_zeros(((world - rank - 1) * b, *images.shape[1:]))
        full = torch.cat([before, images, after])  # (world * b, C, H, W): the augmentation draws for the global batch
        return super()._augment(full)[rank * b:(rank + 1) * b]

    # ---------------------------------------------------- forwards through DDP
    @contextmanager
    def _through_ddp(self, name: str) -> Iterator[None]:
        module = getattr(self, name)
        setattr(self, name, getattr(self, f"ddp_{name}"))
        try:
            yield
        finally:
            setattr(self, name, module)

    def _generate(self, z: torch.Tensor, labels: torch.Tensor | None, *args, **kwargs) -> torch.Tensor:
        if not torch.is_grad_enabled():  # no backward through G this step: no gradient sync to set up
            return super()._generate(z, labels, *args, **kwargs)
        with self._through_ddp("generator"):
            return super()._generate(z, labels, *args, **kwargs)

    def _d_outputs(self, images: torch.Tensor, labels: torch.Tensor | None, *args, **kwargs):
        # D's gradients are averaged only when D is being trained; the generator step runs D directly.
        if not (torch.is_grad_enabled() and next(self.discriminator.parameters()).requires_grad):
            return super()._d_outputs(images, labels, *args, **kwargs)
        with self._through_ddp("discriminator"):
            return super()._d_outputs(images, labels, *args, **kwargs)

    # ---------------------------------------------------- agreement between processes
    def _check_finite(self, name: str, value: torch.Tensor) -> None:
        finite = _flag_tensor(self.ctx, 1.0 if bool(torch.isfinite(value)) else 0.0)
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)  # all processes skip the update together
        if not finite.item():
            raise NonFiniteLossError(
                f"{name} became non-finite at step {self.step} on some process (here {float(value)}); no process applied the update"
            )

    def train_step(self, real: torch.Tensor, real_labels: torch.Tensor | None, with_stats: bool = False) -> dict[str, float]:
        stats = super().train_step(real, real_labels, with_stats)
        if stats:  # means over processes = means over the global batch
            keys = sorted(stats)
            values = torch.tensor([float(stats[k]) for k in keys], dtype=torch.float64, device=self.ctx.device if self.ctx.backend == "nccl" else "cpu")
            dist.all_reduce(values)
            stats = {k: float(v) / self.ctx.world_size for k, v in zip(keys, values.tolist())}
        return stats

    def _stop_reason(self, deadline: float | None) -> str | None:
        code = _flag_tensor(self.ctx, float(_STOP_CODES[super()._stop_reason(deadline)]))
        dist.all_reduce(code, op=dist.ReduceOp.MAX)  # a signal or time limit on any process stops all at the same step
        return {value: key for key, value in _STOP_CODES.items()}[int(code.item())]

    # ---------------------------------------------------- only rank 0 writes
    def save_checkpoint(self) -> Path:
        if self.is_main_process:
            return super().save_checkpoint()
        from gankit.training import checkpoint as ckpt

        return self.checkpoint_dir / ckpt.checkpoint_name(self.step)

    def save_samples(self, name: str) -> Path:
        if self.is_main_process:
            return super().save_samples(name)
        return self.run_dir / "samples" / f"{name}.png"

    def export(self) -> Path:
        if self.is_main_process:
            return super().export()
        return self.run_dir / "export"

    def _log_metrics(self, record: dict[str, Any]) -> None:
        if self.is_main_process:
            super()._log_metrics(record)

    def _open_tensorboard(self) -> None:
        if self.is_main_process:
            super()._open_tensorboard()

    def _plot_losses(self) -> None:
        if self.is_main_process:
            super()._plot_losses()


def unwrap(module: nn.Module) -> nn.Module:
    """The network inside a DDP wrapper (or the module itself)."""
    return module.module if isinstance(module, DistributedDataParallel) else module
