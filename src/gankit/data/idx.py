"""Read and write the IDX format used by MNIST and Fashion-MNIST (plain or gzip)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from gankit.errors import DataError
from gankit.run.files import atomic_path

_DTYPES = {0x08: np.uint8}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` is decompressed on the fly) into a uint8 array.

    The payload is read straight into the result, so the peak memory is the array
    itself (47 MB for Fashion-MNIST's training images), not several copies of it.

    Raises:
        DataError: the file is missing, truncated or not uint8 IDX.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _DTYPES:
                raise DataError(f"{path}: not a uint8 IDX file (bad magic number)")
            ndim = magic[3]
            dims = f.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise DataError(f"{path}: truncated IDX header")
            shape = tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big") for i in range(ndim))
            array = np.empty(shape, dtype=np.uint8)
            got = f.readinto(memoryview(array.reshape(-1)))
            extra = f.read(1)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None
    if got != array.size or extra:
        raise DataError(f"{path}: IDX size mismatch: header says {shape} ({array.size} bytes of data), the file has {'more' if extra else got}")
    return array


def write_idx(array: np.ndarray, path: str | Path) -> None:
    """Write a uint8 array as an uncompressed IDX file, atomically."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(header)
        f.write(array.tobytes())
