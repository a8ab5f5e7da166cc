import gzip

import numpy as np
import pytest

from gankit.data.idx import read_idx, write_idx
from gankit.errors import DataError


def test_reads_a_hand_built_file(tmp_path):
    # magic 0x00000803 (uint8, 3 dims), dims 2x2x3, then 12 bytes
    raw = bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(12))
    (tmp_path / "a").write_bytes(raw)
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    for name in ("a", "a.gz"):
        array = read_idx(tmp_path / name)
        assert array.shape == (2, 2, 3)
        assert array.ravel().tolist() == list(range(12))


def test_write_then_read(tmp_path):
    array = np.arange(60, dtype=np.uint8).reshape(5, 3, 4)
    write_idx(array, tmp_path / "x")
    assert (tmp_path / "x").read_bytes()[:8] == bytes([0, 0, 8, 3, 0, 0, 0, 5])
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), array)


@pytest.mark.parametrize("cut", [3, 10, 20])
def test_truncated_file_is_a_clear_error(tmp_path, cut):
    write_idx(np.zeros((2, 2, 3), np.uint8), tmp_path / "x")
    data = (tmp_path / "x").read_bytes()
    (tmp_path / "x").write_bytes(data[:cut])
    with pytest.raises(DataError, match="x"):
        read_idx(tmp_path / "x")


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "nope")
