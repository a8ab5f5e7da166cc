"""What sits above the metrics: scoring a run, training the domain evaluator, the mode benchmark, the report.

:mod:`gankit.metrics` holds the metrics, the feature extractors and their caches, and imports
nothing from training; the modules here read run directories, build trainers and draw plots.

* :mod:`~gankit.evaluation.run_eval`: ``gankit eval RUN`` and its ``RUN/eval.json``;
* :mod:`~gankit.evaluation.evaluator_training`: training the domain evaluator, also on first use;
* :mod:`~gankit.evaluation.bench` and :mod:`~gankit.evaluation.anchors`: ``gankit bench modes``;
* :mod:`~gankit.evaluation.report`: ``gankit report``;
* :mod:`~gankit.evaluation.fid_callback` and :mod:`~gankit.evaluation.monitor`: the in-training FID (``train.fid_every``), handed to the trainer.
"""
