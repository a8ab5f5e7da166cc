"""``gankit data fetch emoji``: a tiny fake npm tarball built here, hostile members included, and the pinned integrity."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit.data import emoji as emoji_module
from gankit.data import load_dataset
from gankit.data.emoji import NPM_EMOJI, NPM_EMOJI_INTEGRITY, category_folder, emoji_categories, extract_emoji, fetch_emoji
from gankit.errors import DataError

CATALOGUE = [
    {"image": "1f600.png", "category": "Smileys & Emotion", "has_img_google": True},
    {"image": "1f44b.png", "category": "People & Body", "has_img_google": True,
     "skin_variations": {"1F3FB": {"image": "1f44b-1f3fb.png", "has_img_google": True},
                         "1F3FF": {"image": "1f44b-1f3ff.png", "has_img_google": False}}},
    {"image": "1f1e6-1f1e8.png", "category": "Flags", "has_img_google": True},
    {"image": "1f602.png", "category": "Smileys & Emotion"},  # its only member in the tarball is a symlink
    {"image": "../../escape.png", "category": "Flags"},  # a hostile catalogue entry: never a valid name
]
COLOURS = {"1f600.png": (250, 200, 0), "1f44b.png": (240, 180, 120), "1f44b-1f3fb.png": (250, 220, 200), "1f1e6-1f1e8.png": (0, 0, 200)}


def _png(colour) -> bytes:
    buffer = io.BytesIO()
    array = np.zeros((64, 64, 4), np.uint8)
    array[16:48, 16:48] = (*colour, 255)  # an opaque square on a transparent background
    Image.fromarray(array, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes, **fields) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data))


def fake_package(extra_members: bool = True) -> bytes:
    """A gzipped tarball shaped like emoji-datasource-google: package/emoji.json and package/img/google/64/*.png."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        _add(tar, "package/package.json", b'{"name": "emoji-datasource-google"}')
        for name, colour in COLOURS.items():
            _add(tar, f"package/img/google/64/{name}", _png(colour))
        _add(tar, "package/img/google/32/1f600.png", _png((1, 2, 3)))  # another size: ignored
        if extra_members:
            _add(tar, "package/img/google/64/1f44b-1f3ff.png", _png((9, 9, 9)))  # has_img_google false: ignored
            _add(tar, "package/img/google/64/unlisted.png", _png((9, 9, 9)))  # not in the catalogue
            _add(tar, "package/img/google/64/../../../escape.png", _png((9, 9, 9)))
            _add(tar, "/tmp/absolute.png", _png((9, 9, 9)))
            link = tarfile.TarInfo("package/img/google/64/1f602.png")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(link)
        _add(tar, "package/emoji.json", json.dumps(CATALOGUE).encode())
    return buffer.getvalue()


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_category_folders():
    assert category_folder("Smileys & Emotion") == "smileys-emotion"
    assert category_folder("Travel & Places") == "travel-places"
    assert category_folder("Flags") == "flags"


def test_catalogue_lists_emoji_and_skin_variants_with_google_images():
    assert emoji_categories(CATALOGUE) == {
        "1f600.png": "smileys-emotion", "1f44b.png": "people-body", "1f44b-1f3fb.png": "people-body", "1f1e6-1f1e8.png": "flags",
        "1f602.png": "smileys-emotion",
    }
    with pytest.raises(DataError, match="not a list"):
        emoji_categories({"image": "1f600.png"})


def test_extract_builds_its_own_paths_and_ignores_hostile_members(tmp_path):
    target = tmp_path / "out"
    counts = extract_emoji(fake_package(), target)
    assert counts == {"smileys-emotion": 1, "people-body": 2, "flags": 1}
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["out/flags/1f1e6-1f1e8.png", "out/people-body/1f44b-1f3fb.png", "out/people-body/1f44b.png",
                       "out/smileys-emotion/1f600.png"]
    assert not any(p.is_symlink() for p in target.rglob("*"))
    with Image.open(target / "flags" / "1f1e6-1f1e8.png") as image:
        assert image.getpixel((32, 32)) == (0, 0, 200, 255)


def test_extract_refuses_a_package_without_catalogue_or_images(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        _add(tar, "package/README.md", b"hi")
    with pytest.raises(DataError, match="emoji.json is missing"):
        extract_emoji(buffer.getvalue(), tmp_path / "a")
    with pytest.raises(DataError, match="cannot read the package"):
        extract_emoji(b"not a tarball", tmp_path / "b")


def _fake_npm(monkeypatch, data: bytes) -> list:
    calls = []

    def npm_pack(spec: str, destination: Path) -> Path:
        calls.append(spec)
        path = destination / "emoji-datasource-google-16.0.0.tgz"
        path.write_bytes(data)
        return path

    monkeypatch.setattr(emoji_module, "_npm_pack", npm_pack)
    return calls


def test_fetch_verifies_the_integrity_before_writing(tmp_path, monkeypatch):
    data = fake_package()
    _fake_npm(monkeypatch, data)
    monkeypatch.setattr(emoji_module, "NPM_EMOJI_INTEGRITY", integrity_of(b"some other tarball"))
    with pytest.raises(DataError, match="integrity check failed"):
        fetch_emoji(tmp_path / "emoji")
    assert list(tmp_path.iterdir()) == []  # nothing written, no staging left behind

    monkeypatch.setattr(emoji_module, "NPM_EMOJI_INTEGRITY", integrity_of(data))
    assert fetch_emoji(tmp_path / "emoji") == {"smileys-emotion": 1, "people-body": 2, "flags": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emoji"]


def test_the_emoji_dataset_fetches_once_then_loads_an_rgb_folder(tmp_path, monkeypatch):
    data = fake_package(extra_members=False)
    calls = _fake_npm(monkeypatch, data)
    monkeypatch.setattr(emoji_module, "NPM_EMOJI_INTEGRITY", integrity_of(data))
    dataset = load_dataset("emoji", "train", tmp_path / "root")
    test = load_dataset("emoji", "test", tmp_path / "root")
    assert calls == [NPM_EMOJI]  # the second split used the folder already there
    assert len(dataset) + len(test) == 4
    assert dataset.img_shape == (3, 64, 64) and dataset.class_names == ("flags", "people-body", "smileys-emotion")
    # The transparent border is composited on the default white background.
    assert (dataset.images[:, :, :8, :8] == 255).all()


def test_fetch_cli_names_emoji(monkeypatch, tmp_path, capsys):
    from gankit.cli import main

    data = fake_package(extra_members=False)
    _fake_npm(monkeypatch, data)
    monkeypatch.setattr(emoji_module, "NPM_EMOJI_INTEGRITY", integrity_of(data))
    assert main(["data", "fetch", "emoji", "--data-dir", str(tmp_path)]) == 0
    assert (tmp_path / emoji_module.EMOJI_DIR / "flags" / "1f1e6-1f1e8.png").is_file()


def test_the_pinned_integrity_is_the_registry_s():
    """One real check against the npm registry (a metadata query, not the 74 MB download)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    try:
        result = subprocess.run([npm, "view", NPM_EMOJI, "dist.integrity"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.skip("the npm registry did not answer in 30 s")
    if result.returncode != 0 or not result.stdout.strip():
        pytest.skip(f"the npm registry is not reachable: {result.stderr.strip()[-200:]}")
    assert result.stdout.strip() == NPM_EMOJI_INTEGRITY
