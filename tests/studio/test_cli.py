"""``gankit studio``: serves on 127.0.0.1 by default, refuses a bad port in one line (pytest tests/studio/test_cli.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gankit.cli import main
from tests.studio.browser import free_port

pytest.importorskip("uvicorn", reason="the studio extra is not installed (pip install -e '.[dev]')")

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_gankit_studio_serves_the_lab_on_localhost(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen([sys.executable, "-m", "gankit", "studio", str(tmp_path / "runs"), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    assert response.url.endswith("/lab") and b"GAN Lab" in response.read()
                break
            except OSError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "gankit studio did not answer"
                time.sleep(0.3)
        assert (tmp_path / "runs").is_dir()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"gankit studio on http://127.0.0.1:{port}/" in output


def test_a_bad_port_is_one_line(capsys):
    assert main(["studio", "runs", "--port", "70000"]) == 2
    assert capsys.readouterr().err.strip() == "gankit: error: --port: 70000 is outside 1..65535"
