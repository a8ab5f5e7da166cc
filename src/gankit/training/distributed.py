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

The trainer is the single-process one, given a :class:`DistributedStrategy` that
slices the global draws, wraps the networks in DDP, averages the logged statistics,
agrees on stopping and on non-finite losses, and lets only rank 0 write.

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
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from gankit.errors import ConfigError, GankitError
from gankit.training.guard import NonFiniteLossError
from gankit.training.setup import resolve_device
from gankit.training.strategy import SingleProcess

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
        int(os.environ["RANK"])  # checked here; the process group reads it
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
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


class DistributedStrategy(SingleProcess):
    """The trainer's strategy on one process of a torch.distributed run.

    Every process builds the same trainer with the same config and its own
    strategy; ``train.batch_size`` is the global batch.
    """

    def __init__(self, ctx: DistContext | None = None) -> None:
        self.ctx = ctx or current_context()
        self.rank, self.world_size, self.is_main = self.ctx.rank, self.ctx.world_size, self.ctx.is_main

    def setup(self, trainer: Any) -> None:
        """Refuse an objective other than ``adversarial``; give each process its own GPU."""
        if trainer.objective_name != "adversarial":
            raise ConfigError(f"model {trainer.cfg.model.name!r}: distributed training supports adversarial models only; run it on one process")
        if self.ctx.device.type == "cuda" and trainer.device.index != self.ctx.device.index:
            trainer.device = self.ctx.device

    def load_data(self, load: Callable[[], Any]) -> Any:
        with local_leader_first(self.ctx):  # one process per node fetches and decodes; the others map its cache
            return load()

    # ---------------------------------------------------- slices of the global batch
    def local(self, draw: torch.Tensor) -> torch.Tensor:
        b = draw.shape[0] // self.world_size
        return draw[self.rank * b:(self.rank + 1) * b]

    def global_batch(self, batch: int) -> int:
        return batch * self.world_size  # the global draw keeps every process in step

    def augment(self, augment: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor) -> torch.Tensor:
        b, world, rank = images.shape[0], self.world_size, self.rank
        before = images.new_zeros((rank * b, *images.shape[1:]))
        after = images.new_zeros(((world - rank - 1) * b, *images.shape[1:]))
        full = torch.cat([before, images, after])  # (world * b, C, H, W): the augmentation draws for the global batch
        return augment(full)[rank * b:(rank + 1) * b]

    def wrap(self, module: nn.Module) -> nn.Module:
        return wrap_ddp(module, self.ctx)

    # ---------------------------------------------------- agreement between processes
    def check_finite(self, name: str, value: torch.Tensor, step: int) -> None:
        finite = _flag_tensor(self.ctx, 1.0 if bool(torch.isfinite(value)) else 0.0)
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)  # all processes skip the update together
        if not finite.item():
            raise NonFiniteLossError(
                f"{name} became non-finite at step {step} on some process (here {float(value)}); no process applied the update"
            )

    def reduce_stats(self, stats: dict[str, float]) -> dict[str, float]:
        if not stats:
            return stats
        keys = sorted(stats)  # means over processes = means over the global batch
        values = torch.tensor([float(stats[k]) for k in keys], dtype=torch.float64, device=self.ctx.device if self.ctx.backend == "nccl" else "cpu")
        dist.all_reduce(values)
        return {k: float(v) / self.world_size for k, v in zip(keys, values.tolist())}

    def stop_reason(self, reason: str | None) -> str | None:
        code = _flag_tensor(self.ctx, float(_STOP_CODES[reason]))
        dist.all_reduce(code, op=dist.ReduceOp.MAX)  # a signal or time limit on any process stops all at the same step
        return {value: key for key, value in _STOP_CODES.items()}[int(code.item())]

    def share_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Rank 0's labels on every process, so that no difference in float summation order can leave two processes
        with different self-conditioning labels."""
        labels = labels.to(self.ctx.device)
        dist.broadcast(labels, src=0)
        return labels.cpu()
