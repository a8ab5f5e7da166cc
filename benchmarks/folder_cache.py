"""Image-folder loading: the first load (decode every file into the cache) vs a cached load (memory map).

Uses the emoji folder (``gankit data fetch emoji`` first) or any folder given, in a
temporary cache so that the first load really decodes.

    python benchmarks/folder_cache.py [--folder PATH] [--sizes 64,128]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from gankit.data import data_root
from gankit.data.emoji import EMOJI_DIR
from gankit.data.folder import ImageOptions, load_image_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", default=str(data_root() / EMOJI_DIR))
    parser.add_argument("--sizes", default="64,128")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            options = ImageOptions(size=size)
            start = time.perf_counter()
            dataset = load_image_folder(args.folder, options, cache_root=tmp)
            first = time.perf_counter() - start
            start = time.perf_counter()
            load_image_folder(args.folder, options, cache_root=tmp)
            cached = time.perf_counter() - start
            print(f"{len(dataset)} images at {size}x{size}: first load {first:.2f} s, cached load {cached:.3f} s ({first / cached:.0f}x)")


if __name__ == "__main__":
    main()
