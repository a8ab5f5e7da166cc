"""Your own images: any folder tree of PNG, JPEG, WebP, BMP or TIFF files.

Every image is brought to one square size and one channel count:

1. the first frame is read (EXIF orientation applied); 16-bit images are scaled
   to 8 bits (65535 -> 255), not clipped;
2. transparency (RGBA, LA, palette or colour-key) is composited onto a background
   colour: ``out = alpha * pixel + (1 - alpha) * background``;
3. gray (``channels=1``, ITU-R 601 luma) or RGB (``channels=3``, gray replicated);
4. ``fit="crop"``: resize so the shorter side is ``size`` (Lanczos), then cut the
   centre square; ``fit="pad"``: resize so the longer side is ``size``, then centre
   it on a square of the background colour. An image already ``size`` x ``size``
   is not resampled.

The folder is decoded once into a uint8 array on disk (``images.u8``, read back
memory-mapped) beside a ``manifest.json`` that lists every image file's relative
path, size and modification time: a later load with the same folder and options
maps the array without decoding, and any added, removed or changed file makes
the next load decode the folder again. Files that cannot be decoded are skipped
with one warning that counts them and names the first few; a folder with no
usable image is an error. Labels, when every image lies in a sub-folder, are the
sorted names of the top-level sub-folders.

Splits: one image in ten (chosen by a hash of its relative path, so adding files
never moves the others) is held out as the ``test`` split, the rest is ``train``;
``all`` is both. The cache stores train then test, so each split is a slice of
one memory map.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from PIL import Image, ImageColor, ImageOps, UnidentifiedImageError

from gankit.data.base import ImageDataset
from gankit.data.registry import register_dataset
from gankit.errors import ConfigError, DataError
from gankit.run.files import atomic_path, atomic_write

log = logging.getLogger("gankit")

IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
FIT_MODES = ("crop", "pad")
CHANNEL_CHOICES = (1, 3)
MIN_SIZE, MAX_SIZE = 32, 256
MAX_PIXELS = 8192 * 8192
"""Decompression-bomb guard: larger images (by their header) are skipped before decoding."""
CACHE_FORMAT = 1
NAMED_SKIPS = 5
"""How many skipped files the warning names."""
HOLDOUT_EVERY = 10
"""One image in this many goes to the test split."""
FOLDER_SPLITS = ("train", "test", "all")
_ALPHA_MODES = ("RGBA", "LA", "PA", "La", "RGBa")
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


@dataclass(frozen=True)
class ImageOptions:
    """How every image of a folder is brought to one shape.

    Attributes:
        size: side of the square output in pixels, 32..256.
        channels: 1 (gray) or 3 (RGB).
        background: RGB colour behind transparent pixels and in the padding.
        fit: ``"crop"`` (fill the square, cut the overhang) or ``"pad"`` (fit inside, fill the rest).
    """

    size: int = 64
    channels: int = 3
    background: tuple[int, int, int] = (255, 255, 255)
    fit: str = "crop"

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not MIN_SIZE <= self.size <= MAX_SIZE:
            raise ConfigError(f"data.image_size: {self.size!r} is outside {MIN_SIZE}..{MAX_SIZE}")
        if self.channels not in CHANNEL_CHOICES:
            raise ConfigError(f"data.channels: {self.channels!r} is not allowed; choose one of: 1, 3")
        if self.fit not in FIT_MODES:
            raise ConfigError(f"data.fit: {self.fit!r} is not allowed; choose one of: {', '.join(FIT_MODES)}")
        background = tuple(self.background)
        if len(background) != 3 or not all(isinstance(v, int) and 0 <= v <= 255 for v in background):
            raise ConfigError(f"data.background: {self.background!r} is not an RGB colour of three values in 0..255")
        object.__setattr__(self, "background", background)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.size, self.size)  # (C, H, W)


def parse_color(text: str | Iterable[int]) -> tuple[int, int, int]:
    """A colour name (``white``), ``#rrggbb`` / ``#rgb``, or three 0..255 values -> (R, G, B)."""
    if isinstance(text, str):
        try:
            value = ImageColor.getrgb(text.strip())
        except ValueError:
            raise ConfigError(f"data.background: {text!r} is not a colour; use a name such as white or black, or #rrggbb") from None
        return tuple(value[:3])
    values = tuple(text)
    if len(values) != 3 or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values):
        raise ConfigError(f"data.background: {values!r} is not three values in 0..255")
    return values


# ---------------------------------------------------------------- one image
class ImageRejected(Exception):
    """An image file was read but is not acceptable (too large, empty)."""


def to_8bit(img: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Any Pillow mode -> "L" or "RGB" with transparency composited onto ``background``."""
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES:
        values = np.clip(np.asarray(img), 0, 65535).astype(np.uint32)  # (H, W), 0..65535
        return Image.fromarray(((values + 128) // 257).astype(np.uint8), "L")  # round(v / 257): 65535 -> 255
    if mode == "F":
        values = np.asarray(img, dtype=np.float64)
        scale = 255.0 if np.nanmax(values, initial=0.0) <= 1.0 else 1.0
        return Image.fromarray(np.rint(np.clip(np.nan_to_num(values) * scale, 0, 255)).astype(np.uint8), "L")
    has_alpha = mode in _ALPHA_MODES or "transparency" in img.info
    if has_alpha:  # out = alpha * pixel + (1 - alpha) * background, in 8-bit arithmetic
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (*background, 255)), rgba).convert("RGB")
    if mode in ("1", "L"):
        return img.convert("L")
    return img.convert("RGB")


def _background_fill(mode: str, background: tuple[int, int, int]) -> int | tuple[int, int, int]:
    if mode == "L":
        return Image.new("RGB", (1, 1), background).convert("L").getpixel((0, 0))
    return background


def fit_square(img: Image.Image, size: int, fit: str, background: tuple[int, int, int]) -> Image.Image:
    """Resize and centre-crop (``crop``) or centre-pad (``pad``) an "L"/"RGB" image to ``size`` x ``size``."""
    width, height = img.size
    if fit == "crop":
        scale = size / min(width, height)
        new = (max(size, round(width * scale)), max(size, round(height * scale)))
    else:
        scale = size / max(width, height)
        new = (max(1, min(size, round(width * scale))), max(1, min(size, round(height * scale))))
    if new != (width, height):
        img = img.resize(new, Image.Resampling.LANCZOS)
    if fit == "crop":
        left, top = (new[0] - size) // 2, (new[1] - size) // 2
        return img.crop((left, top, left + size, top + size))
    canvas = Image.new(img.mode, (size, size), _background_fill(img.mode, background))
    canvas.paste(img, ((size - new[0]) // 2, (size - new[1]) // 2))
    return canvas


def decode_image(path: str | os.PathLike, options: ImageOptions) -> np.ndarray:
    """Read one image file into a (C, size, size) uint8 array.

    Raises:
        ImageRejected: the header announces more than :data:`MAX_PIXELS` pixels, or no pixels.
        OSError, ValueError, ...: whatever Pillow raises for a broken file.
    """
    with Image.open(path) as img:
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise ImageRejected(f"{width}x{height} pixels is over the limit of {MAX_PIXELS} (decompression-bomb guard)")
        if width < 1 or height < 1:
            raise ImageRejected(f"{width}x{height} has no pixels")
        if img.format == "JPEG":  # let libjpeg scale down by 1/2, 1/4 or 1/8 while decoding
            ratio = options.size / (min(width, height) if options.fit == "crop" else max(width, height))
            img.draft("L" if options.channels == 1 else "RGB", (int(width * ratio) + 1, int(height * ratio) + 1))
        img.load()
        try:
            img = ImageOps.exif_transpose(img)
        except Exception:  # a malformed EXIF block: keep the pixels as stored
            pass
        img = to_8bit(img, options.background)
    img = img.convert("L") if options.channels == 1 else img.convert("RGB")
    img = fit_square(img, options.size, options.fit, options.background)
    array = np.asarray(img, dtype=np.uint8)
    if array.ndim == 2:
        array = array[None]  # (1, S, S)
    else:
        array = array.transpose(2, 0, 1)  # (S, S, 3) -> (3, S, S)
    return np.ascontiguousarray(array)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnidentifiedImageError):
        return "not a readable image"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = _printable(text[:120])
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def _try_decode(path: Path, options: ImageOptions) -> np.ndarray | str:
    """The decoded image, or the reason it could not be decoded."""
    try:
        return decode_image(path, options)
    except Exception as exc:  # Pillow's decoders raise many types (OSError, ValueError, SyntaxError, struct.error, ...)
        return _reason(exc)


# --------------------------------------------------------------- the folder
@dataclass(frozen=True)
class FileRecord:
    path: str
    """Relative POSIX path inside the folder."""
    size: int
    mtime_ns: int


def scan_image_folder(folder: str | os.PathLike) -> list[FileRecord]:
    """Every image file under ``folder`` (by suffix, hidden names skipped), sorted by relative path."""
    folder = Path(folder)
    records = []
    for directory, subdirs, files in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in files:
            if name.startswith(".") or not name.lower().endswith(IMAGE_SUFFIXES):
                continue
            path = Path(directory) / name
            try:
                stat = path.stat()
            except OSError:
                continue  # vanished or a dangling link
            if not path.is_file():
                continue
            records.append(FileRecord(path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns))
    return sorted(records, key=lambda r: r.path)


def is_held_out(path: str) -> bool:
    """Whether the image at relative ``path`` belongs to the test split (a stable hash of the path)."""
    return int.from_bytes(hashlib.sha256(path.encode("utf-8", "surrogateescape")).digest()[:4], "big") % HOLDOUT_EVERY == 0


def class_labels(paths: list[str]) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """Labels from the top-level sub-folder of each path; ``(None, ())`` when any file lies at the top."""
    tops = [p.split("/", 1)[0] if "/" in p else None for p in paths]
    if not tops or any(t is None for t in tops):
        return None, ()
    names = tuple(sorted(set(tops)))
    index = {name: i for i, name in enumerate(names)}
    return np.asarray([index[t] for t in tops], dtype=np.int64), names


@dataclass
class FolderDataset(ImageDataset):
    """An :class:`ImageDataset` decoded from an image folder.

    Attributes:
        split: ``train``, ``test`` or ``all``.
        files: relative paths of the images, in dataset order.
        skipped: ``(relative path, reason)`` of every file that could not be decoded.
        cache_dir: where the decoded array and its manifest live.
    """

    split: str = "all"
    files: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    cache_dir: Path | None = None
    folder: Path | None = None
    options: ImageOptions = field(default_factory=ImageOptions)


def cache_key(folder: Path, options: ImageOptions) -> str:
    """A short hash of the folder's absolute path and the options (one cache entry each)."""
    text = json.dumps({"format": CACHE_FORMAT, "folder": str(folder), "options": asdict(options)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _manifest_identity(folder: Path, options: ImageOptions, records: list[FileRecord]) -> dict:
    """What a manifest was decoded from: the cache format, the folder, the options and each file's size and time."""
    return {
        "format": CACHE_FORMAT,
        "folder": str(folder),
        "options": json.loads(json.dumps(asdict(options))),
        "files": [[r.path, r.size, r.mtime_ns] for r in records],
    }


def _read_manifest(cache_dir: Path, folder: Path, options: ImageOptions, records: list[FileRecord]) -> dict | None:
    """The cached manifest when it describes exactly this folder state and options, else None."""
    try:
        manifest = json.loads((cache_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    expected = _manifest_identity(folder, options, records)
    if any(manifest.get(key) != value for key, value in expected.items()):
        return None
    try:
        count = int(manifest["num_images"])
        if (cache_dir / "images.u8").stat().st_size != count * int(np.prod(options.shape)):
            return None
    except (KeyError, TypeError, ValueError, OSError):
        return None
    return manifest


def _decode_into_cache(folder: Path, records: list[FileRecord], options: ImageOptions, cache_dir: Path, workers: int) -> dict:
    """Decode every file, stream the kept images to ``images.u8`` and write the manifest last."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        (cache_dir / "manifest.json").unlink()  # invalid from here until the new one is written
    except FileNotFoundError:
        pass
    log.info("decoding %d image files of %s to %dx%dx%d (once; cached in %s)", len(records), folder, *options.shape, cache_dir)
    started = time.perf_counter()
    kept: dict[str, list[str]] = {"train": [], "test": []}
    skipped: list[list[str]] = []
    held_out = cache_dir / f".images-test.u8.tmp-{os.getpid()}"  # the test split, appended after the train split
    try:
        with atomic_path(cache_dir / "images.u8") as images:
            with open(images, "wb") as train_out, open(held_out, "wb") as test_out, \
                    ThreadPoolExecutor(max_workers=workers) as pool:
                chunk = 256
                for start in range(0, len(records), chunk):
                    part = records[start:start + chunk]
                    for record, result in zip(part, pool.map(lambda r: _try_decode(folder / r.path, options), part)):
                        if isinstance(result, str):
                            skipped.append([record.path, result])
                            continue
                        split = "test" if is_held_out(record.path) else "train"
                        (test_out if split == "test" else train_out).write(result.tobytes())
                        kept[split].append(record.path)
            with open(images, "ab") as train_out, open(held_out, "rb") as test_in:
                shutil.copyfileobj(test_in, train_out)  # train images first, then test
    finally:
        if held_out.exists():
            held_out.unlink()
    files = kept["train"] + kept["test"]
    labels, class_names = class_labels(files)
    manifest = {
        **_manifest_identity(folder, options, records),
        "num_images": len(files),
        "num_train": len(kept["train"]),
        "kept": files,
        "skipped": skipped,
        "labels": None if labels is None else labels.tolist(),
        "class_names": list(class_names),
    }
    if files:
        atomic_write(cache_dir / "manifest.json", json.dumps(manifest).encode())
        log.info("decoded %d images in %.1f s", len(files), time.perf_counter() - started)
    return manifest


def _printable(path: str) -> str:
    """A file name safe to print (undecodable bytes and control characters escaped)."""
    text = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _warn_skipped(folder: Path, skipped: list, total: int) -> None:
    if not skipped:
        return
    named = ", ".join(f"{_printable(path)} ({reason})" for path, reason in skipped[:NAMED_SKIPS])
    more = f" and {len(skipped) - NAMED_SKIPS} more" if len(skipped) > NAMED_SKIPS else ""
    log.warning("%s: skipped %d of %d image files that could not be decoded: %s%s", folder, len(skipped), total, named, more)


def load_image_folder(
    folder: str | os.PathLike,
    options: ImageOptions = ImageOptions(),
    cache_root: str | os.PathLike | None = None,
    name: str = "folder",
    split: str = "all",
    workers: int | None = None,
) -> FolderDataset:
    """Load an image folder as uint8 (N, C, size, size), decoding only when the folder changed.

    Args:
        folder: the root of the image tree.
        options: target size, channels, background and fit.
        split: ``all`` images, the ``train`` nine tenths or the held-out ``test`` tenth.
        cache_root: where cache entries go (default ``<data root>/cache/folders``).
        name: the dataset's name in logs.
        workers: decoding threads (default: up to 8, one per CPU).

    Raises:
        DataError: the folder is missing, holds no image files, or none of them can be decoded.
    """
    if split not in FOLDER_SPLITS:
        raise ConfigError(f"split {split!r} is not allowed; choose one of: {', '.join(FOLDER_SPLITS)}")
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise DataError(f"{folder}: image folder not found")
    records = scan_image_folder(folder)
    if not records:
        raise DataError(f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder or its sub-folders")
    if cache_root is None:
        from gankit.data import data_root

        cache_root = data_root() / "cache" / "folders"
    cache_dir = Path(cache_root).expanduser() / cache_key(folder, options)
    manifest = _read_manifest(cache_dir, folder, options, records)
    if manifest is None:
        workers = workers or min(8, os.cpu_count() or 1)
        manifest = _decode_into_cache(folder, records, options, cache_dir, workers)
    skipped = [tuple(item) for item in manifest["skipped"]]
    _warn_skipped(folder, skipped, len(records))
    count = int(manifest["num_images"])
    if count == 0:
        first = "; ".join(f"{_printable(path)} ({reason})" for path, reason in skipped[:NAMED_SKIPS])
        raise DataError(f"{folder}: none of the {len(records)} image files could be decoded (first: {first})")
    num_train = int(manifest["num_train"])
    part = {"all": slice(0, count), "train": slice(0, num_train), "test": slice(num_train, count)}[split]
    if part.stop <= part.start:
        raise DataError(f"{folder}: the {split} split is empty ({count} usable images; the test split holds about one in {HOLDOUT_EVERY})")
    images = np.memmap(cache_dir / "images.u8", dtype=np.uint8, mode="c", shape=(count, *options.shape))[part]
    labels = manifest["labels"]
    class_names = tuple(manifest["class_names"])
    return FolderDataset(
        name=name,
        images=torch.from_numpy(images),  # (N, C, S, S) uint8, memory-mapped copy-on-write
        labels=None if labels is None else torch.tensor(labels[part], dtype=torch.int64),
        num_classes=len(class_names),
        source=f"{name} {split} split: {part.stop - part.start} of {count} images of {folder} "
        f"at {options.size}x{options.size}x{options.channels} ({options.fit})" + (f", {len(skipped)} files skipped" if skipped else ""),
        class_names=class_names,
        split=split,
        files=tuple(manifest["kept"][part]),
        skipped=tuple(skipped),
        cache_dir=cache_dir,
        folder=folder,
        options=options,
    )


@register_dataset("folder")
def image_folder(split: str, root: Path, *, folder: str | None = None, image: ImageOptions = ImageOptions()) -> FolderDataset:
    """Your own image folder (``data.folder``): nine tenths train, one tenth test."""
    if not folder:
        raise ConfigError("data.folder: dataset 'folder' needs the path of an image folder, e.g. --set data.folder=~/pictures")
    return load_image_folder(folder, image, cache_root=root / "cache" / "folders", name="folder", split=split)
