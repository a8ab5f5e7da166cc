"""The in-training FID, a callback the trainer is handed (``gankit train`` and ``gankit bench`` hand it over).

The trainer imports no metrics: it calls each callback after every step, and this one measures a
cheap FID on the domain evaluator's features every ``train.fid_every`` steps.
"""

from __future__ import annotations


class FIDCallback:
    """The in-training FID every ``train.fid_every`` steps (rank 0): into metrics.jsonl and TensorBoard, and a new best
    state kept as ``checkpoints/best.ckpt`` (see :class:`gankit.evaluation.monitor.FIDMonitor`)."""

    def __init__(self) -> None:
        self.monitor = None  # built on the first measurement

    def __call__(self, trainer) -> None:
        cfg = trainer.cfg
        if not cfg.train.fid_every or trainer.step % cfg.train.fid_every or not trainer.strategy.is_main:
            return
        from gankit.evaluation.monitor import FIDMonitor

        if self.monitor is None:
            self.monitor = FIDMonitor(cfg.data.name, cfg.data.dir, cfg.train.fid_samples, trainer.run_dir)
        value = self.monitor.measure(trainer.sampling_generator, trainer.sample_spec())
        if value is None:
            return
        trainer.log_metrics({"step": trainer.step, "epoch": trainer.step / trainer.sampler.steps_per_epoch, "fid": value})
        if self.monitor.is_best(value, trainer.step, "checkpoints/best.ckpt"):
            trainer.run.save_checkpoint(trainer.checkpoint(), name="best.ckpt")
