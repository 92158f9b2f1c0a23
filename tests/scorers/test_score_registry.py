"""The model registry: what would load from where, s3 staging once per node, downloads only on
request, and --require-scores failing up front with the missing files named."""

from __future__ import annotations

import http.server
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from operators.config import from_dict
from operators.scorers import registry
from operators.scorers.config import ScoreConfig
from operators.scorers.registry import (MissingModelsError, WeightsUnavailable, check_models, fetch_models,
                                        source_kind, unavailable_scorers, weights_path)


def _by_name(statuses):
    return {s.name: s for s in statuses}


@pytest.mark.parametrize("weights,kind", [
    ("", "none"), ("s3://models/clip.pt", "s3"), ("https://x.org/a.pth", "url"), ("/models/a.pt", "path"),
    ("~/a.safetensors", "path"), ("file:///tmp/a.pt", "path"), ("weights.bin", "path"), ("openai", "tag"),
])
def test_source_kind(weights, kind):
    assert source_kind(weights) == kind


def test_defaults_offline_are_unavailable_with_fetch_hint(tmp_path):
    statuses = _by_name(check_models(ScoreConfig(cache_dir=str(tmp_path))))
    assert list(statuses) == ["clip_b32", "clip_l14", "aesthetic", "nsfw", "watermark", "faces", "tokens"]
    assert not any(s.available for name, s in statuses.items() if name != "tokens")
    assert statuses["tokens"].available                    # vocabularies ship in PyPI packages
    assert str(tmp_path / "open_clip" / "ViT-L-14-quickgelu" / "openai") in statuses["clip_l14"].reason
    assert str(tmp_path / "watermark_model_v1.pt") in statuses["watermark"].reason
    assert "ccpairs models fetch --to DIR" in statuses["faces"].reason
    assert "sac+logos+ava1-l14-linearMSE.pth" in statuses["aesthetic"].reason     # its own file first
    with_download = _by_name(check_models(ScoreConfig(cache_dir=str(tmp_path), download=True)))
    assert with_download["faces"].available and with_download["faces"].action == "download"


def test_cache_entries_are_found(tmp_path):
    (tmp_path / "open_clip" / "ViT-B-32-quickgelu" / "openai").mkdir(parents=True)
    (tmp_path / "open_clip" / "ViT-B-32-quickgelu" / "openai" / "open_clip_model.safetensors").write_bytes(b"x")
    (tmp_path / "retinaface.pth").write_bytes(b"x")
    statuses = _by_name(check_models(ScoreConfig(cache_dir=str(tmp_path))))
    assert statuses["clip_b32"].available and statuses["clip_b32"].path.endswith("open_clip_model.safetensors")
    assert statuses["faces"].available and statuses["faces"].action == "load"
    assert not statuses["clip_l14"].available


def test_unknown_tag_and_disabled_models(tmp_path):
    cfg = from_dict(ScoreConfig, {"cache_dir": str(tmp_path), "clip_b32": {"weights": "no_such_tag"},
                                  "faces": {"enabled": False}})
    statuses = _by_name(check_models(cfg))
    assert "faces" not in statuses
    assert "neither a file nor an open_clip pretrained tag" in statuses["clip_b32"].reason


def test_require_scores_fails_naming_missing_files(tiny_cfg, tmp_path):
    missing = tmp_path / "gone" / "watermark.pt"
    cfg = replace(tiny_cfg, require_scores=True, watermark=replace(tiny_cfg.watermark, weights=str(missing)))
    with pytest.raises(MissingModelsError) as err:
        check_models(cfg)
    message = str(err.value)
    assert "1 scorer(s)" in message and "watermark" in message and str(missing) in message
    assert "faces" not in message
    assert unavailable_scorers(cfg) == {"watermark": f"weights file not found: {missing}"}
    assert check_models(replace(cfg, watermark=tiny_cfg.watermark))       # all present: no error
    no_l14 = replace(tiny_cfg, clip_l14=replace(tiny_cfg.clip_l14, enabled=False))
    assert unavailable_scorers(no_l14) == {name: "needs the clip_l14 image embedding, which is disabled"
                                           for name in ("aesthetic", "nsfw")}
    assert unavailable_scorers(replace(cfg, enabled=False)) == {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_root(tmp_path):
    """A loopback HTTP server over a folder; yields (folder, base URL, list of requested paths)."""
    root = tmp_path / "www"
    root.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", _free_port()), partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()


def test_download_only_when_allowed_then_cached(tiny_cfg, http_root, tmp_path):
    root, base, requests = http_root
    (root / "aesthetic.pt").write_bytes(Path(tiny_cfg.aesthetic.weights).read_bytes())
    cfg = replace(tiny_cfg, cache_dir=str(tmp_path / "cache"),
                  aesthetic=replace(tiny_cfg.aesthetic, weights=f"{base}/aesthetic.pt"))
    with pytest.raises(WeightsUnavailable, match="not in cache"):
        weights_path("aesthetic", cfg)
    assert requests == []
    path = weights_path("aesthetic", replace(cfg, download=True))
    assert path == tmp_path / "cache" / "aesthetic.pt" and path.read_bytes() == (root / "aesthetic.pt").read_bytes()
    assert weights_path("aesthetic", cfg) == path                       # now cached, offline is fine
    assert len(requests) == 1


def test_fetch_models_fills_a_folder_that_works_as_cache(tiny_cfg, http_root, tmp_path):
    root, base, _ = http_root
    for name in ("watermark", "faces"):
        (root / f"{name}.pt").write_bytes(Path(getattr(tiny_cfg, name).weights).read_bytes())
    cfg = replace(tiny_cfg, watermark=replace(tiny_cfg.watermark, weights=f"{base}/watermark.pt"),
                  faces=replace(tiny_cfg.faces, weights=f"{base}/faces.pt"),
                  nsfw=replace(tiny_cfg.nsfw, weights=f"{base}/missing.pt"))
    messages = []
    statuses = _by_name(fetch_models(cfg, str(tmp_path / "fetched"), progress=messages.append))
    assert statuses["watermark"].available and statuses["faces"].available and not statuses["nsfw"].available
    assert any("nsfw: FAILED" in m and "404" in m for m in messages)
    offline = _by_name(check_models(replace(cfg, cache_dir=str(tmp_path / "fetched"))))
    assert offline["watermark"].path == str(tmp_path / "fetched" / "watermark.pt")
    assert not any(".part-" in p.name for p in (tmp_path / "fetched").iterdir())


@pytest.fixture
def s3_bucket(monkeypatch):
    moto_server = pytest.importorskip("moto.server")
    import s3fs

    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in dict(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                           AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint).items():
        monkeypatch.setenv(key, value)
    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint})
    fs.mkdir("models")
    yield fs
    s3fs.S3FileSystem.clear_instance_cache()
    server.stop()


def test_s3_weights_are_staged_once_per_node(tiny_cfg, s3_bucket, tmp_path, monkeypatch):
    s3_bucket.put(tiny_cfg.nsfw.weights, "models/heads/nsfw.pt")
    cfg = replace(tiny_cfg, cache_dir=str(tmp_path / "cache"),
                  nsfw=replace(tiny_cfg.nsfw, weights="s3://models/heads/nsfw.pt"))
    status = _by_name(check_models(cfg))["nsfw"]
    assert status.available and status.action == "stage from s3"
    assert not Path(status.path).exists()                               # the check stages nothing

    stagings = []
    real = registry._atomic_fetch
    monkeypatch.setattr(registry, "_atomic_fetch", lambda dest, write: stagings.append(dest) or real(dest, write))
    with ThreadPoolExecutor(4) as pool:                                  # four actors starting at once
        paths = list(pool.map(lambda _: weights_path("nsfw", cfg), range(4)))
    assert set(paths) == {tmp_path / "cache" / "s3" / "models" / "heads" / "nsfw.pt"}
    assert len(stagings) == 1
    assert paths[0].read_bytes() == Path(tiny_cfg.nsfw.weights).read_bytes()
    assert _by_name(check_models(cfg))["nsfw"].action == "load"

    missing = replace(cfg, nsfw=replace(cfg.nsfw, weights="s3://models/none.pt"))
    assert "does not exist" in _by_name(check_models(missing))["nsfw"].reason
