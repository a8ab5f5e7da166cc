"""``gankit data``: fetch and inspect datasets."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("gankit")


def add_parser(subparsers) -> None:
    from gankit.data import DATASETS

    p = subparsers.add_parser("data", help="fetch and inspect datasets", description="Fetch and inspect datasets.")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    fetch = sub.add_parser("fetch", help="download or convert a dataset into the data directory")
    fetch.add_argument("name", choices=DATASETS.names(), help="dataset name")
    fetch.add_argument("--data-dir", help="data root (default $GANKIT_DATA or ~/.cache/gankit/data)")
    fetch.set_defaults(func=run_fetch)


def run_fetch(args: argparse.Namespace) -> int:
    from gankit.data import load_dataset

    for split in ("train", "test"):
        dataset = load_dataset(args.name, split, args.data_dir)
        log.info("%s %s: %d images of shape %s; %s", args.name, split, len(dataset), dataset.img_shape, dataset.source)
    return 0
