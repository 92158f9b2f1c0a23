"""`ccpairs models check|fetch` (jobs/models.py) on tiny weight files and a loopback server."""

from __future__ import annotations

import json

import pytest

from jobs.models import main


def _sets(cfg) -> list[str]:
    args = [f"score.cache_dir={cfg.cache_dir}"]
    for name in ("clip_b32", "clip_l14", "aesthetic", "nsfw", "watermark", "faces"):
        spec = getattr(cfg, name)
        args += [f"score.{name}.architecture={spec.architecture}", f"score.{name}.weights={spec.weights}"]
    return [a for s in args for a in ("--set", s)]


def test_check_reports_every_scorer_and_exit_code(tiny_cfg, capsys):
    assert main(["check", "--json", *_sets(tiny_cfg)]) == 0
    statuses = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in statuses] == ["clip_b32", "clip_l14", "aesthetic", "nsfw", "watermark", "faces",
                                             "tokens"]
    assert all(s["available"] and s["action"] == "load" for s in statuses)

    args = _sets(tiny_cfg) + ["--set", "score.faces.weights=/nowhere/retinaface.pth"]
    assert main(["check", *args]) == 1
    out = capsys.readouterr().out
    assert "faces" in out and "UNAVAILABLE: weights file not found: /nowhere/retinaface.pth" in out


@pytest.mark.slow
def test_check_load_proves_files_usable(tiny_cfg, tmp_path, capsys):
    bad = tmp_path / "watermark.pt"
    bad.write_bytes(b"garbage")
    args = _sets(tiny_cfg) + ["--set", f"score.watermark.weights={bad}", "--set", "score.face_size=64"]
    assert main(["check", "--load", *args]) == 1
    out = capsys.readouterr().out
    assert "watermark" in out and "could not load" in out and "faces " in out


def test_fetch_offline_names_failures_and_config_errors(tmp_path, capsys):
    assert main(["fetch", "--to", str(tmp_path / "models"), "--set", "score.clip_b32.enabled=false",
                 "--set", "score.clip_l14.enabled=false", "--set", "score.aesthetic.weights=http://127.0.0.1:9/a.pth",
                 "--set", "score.nsfw.enabled=false", "--set", "score.watermark.enabled=false",
                 "--set", "score.faces.enabled=false"]) == 1
    captured = capsys.readouterr()
    assert "aesthetic: FAILED could not fetch http://127.0.0.1:9/a.pth" in captured.err
    assert main(["check", "--set", "score.no_such_key=1"]) == 2
