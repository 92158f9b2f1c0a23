"""FetchDecoder: the fetch and image stages in one actor, decoding each download as it ends."""

from __future__ import annotations

import dataclasses
import io
import time

import numpy as np
import pytest
from PIL import Image

from operators.base import rows_to_batch
from operators.fetch.http import HttpFetcher
from operators.fetch.streaming import FetchDecoder
from operators.images import ImageConfig, ImageDecoder
from tests.fetch.conftest import FAST
from tests.fetch.server import FaultServer


def photo(side: tuple[int, int], fmt: str = "JPEG", seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0 : side[1], 0 : side[0]]
    base = np.stack([(xs * 255 // side[0]), (ys * 255 // side[1]), (xs + ys) % 256], axis=-1)
    noisy = np.clip(base + rng.integers(-40, 40, base.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


KEEPERS = [photo((320, 240), seed=1), photo((260, 400), seed=2), photo((640, 480), seed=3), photo((300, 300), "PNG", 4)]
TINY = photo((120, 90), seed=5)  # image_too_small
TRUNCATED = KEEPERS[2][: len(KEEPERS[2]) // 2]  # image_truncated
IMAGES = [*KEEPERS, TINY, TRUNCATED]


class Thumbs:
    """A thumbnailer that also records when it ran (the decode of a kept image)."""

    shape = (8, 8, 3)

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, img: Image.Image) -> np.ndarray:
        self.times.append(time.monotonic())
        return np.asarray(img.resize((8, 8)), dtype=np.uint8)


@pytest.fixture
def image_server():
    with FaultServer(images=IMAGES) as server:
        yield server


def mixed_rows(server: FaultServer) -> list[dict]:
    blank = {"fetch_status": None, "image_bytes": None, "drop_stage": None, "drop_reason": None}
    rows = [{**blank, "url": server.url(f"/ok.jpg?v={v}")} for v in range(len(IMAGES))]
    rows += [
        {**blank, "url": server.url("/ok.jpg?v=0")},  # the same URL twice: one request
        {**blank, "url": server.url("/status/404")},
        {**blank, "url": server.url("/html.jpg")},
        {**blank, "url": server.url("/ok.jpg?v=1&from=warc"), "fetch_status": "warc", "image_bytes": KEEPERS[1]},
        {**blank, "url": server.url("/ok.jpg?v=2&from=warc-bad"), "fetch_status": "warc", "image_bytes": b"<html>" * 2000},
        {**blank, "url": server.url("/ok.jpg?v=3&dropped"), "drop_stage": "text", "drop_reason": "too_few_words"},
        {**blank, "url": "not a url"},
    ]
    return rows


def test_same_rows_as_fetch_then_decode(image_server):
    fused = FetchDecoder(FAST, ImageConfig(), {"t": Thumbs()})
    fetcher, decoder = HttpFetcher(FAST), ImageDecoder(ImageConfig(), thumbnailers={"t": Thumbs()})
    try:
        got = fused(rows_to_batch(mixed_rows(image_server)))
        want = decoder(fetcher(rows_to_batch(mixed_rows(image_server))))
    finally:
        fused.close()
        fetcher.close()
    assert sorted(got) == sorted(want)
    for name in want:
        assert list(got[name]) == list(want[name]), name
    reasons = [(s, r) for s, r in zip(got["drop_stage"], got["drop_reason"])]
    assert reasons == [(None, None)] * 4 + [("image", "image_too_small"), ("image", "image_truncated"), (None, None),
                                            ("fetch", "http_404"), ("fetch", "not_image"), (None, None),
                                            ("image", "image_not_image"), ("text", "too_few_words"),
                                            ("fetch", "invalid_url")]
    assert all(len(got["image_phash"][i]) == 16 and got["thumb_t"][i] is not None for i in (0, 1, 2, 3, 6, 9))
    assert all(b is None for b in got["image_bytes"])  # no --store-images: bytes never leave the stage
    # one request per distinct URL per run (two runs here), none for WARC rows or dropped rows
    assert image_server.count("/ok.jpg") == 2 * len(IMAGES)


def test_decodes_while_the_slowest_download_is_still_running(image_server):
    """The last URL answers only once four images are decoded (the thumbnailer opens its gate):
    fetching the whole batch before decoding would leave it waiting into a read timeout."""
    class GateOpener(Thumbs):
        def __call__(self, img: Image.Image) -> np.ndarray:
            out = super().__call__(img)
            if len(self.times) == 4:
                image_server.open_gate("last")
            return out

    fused = FetchDecoder(FAST, ImageConfig(), {"t": GateOpener()})
    rows = [{"url": image_server.url(f"/ok.jpg?v={v}")} for v in range(4)]
    rows.append({"url": image_server.url("/gate?key=last&v=0")})
    try:
        out = fused(rows_to_batch(rows))
    finally:
        fused.close()
    assert list(out["fetch_status"]) == ["ok"] * 5
    assert list(out["drop_reason"]) == [None] * 5
    assert out["image_phash"][4] == out["image_phash"][0]


def test_fetch_disabled_decodes_warc_rows_only(image_server):
    cfg = dataclasses.replace(FAST, enabled=False)
    fused = FetchDecoder(cfg, ImageConfig())
    rows = [{"url": image_server.url("/ok.jpg"), "fetch_status": None, "image_bytes": None},
            {"url": image_server.url("/ok.png"), "fetch_status": "warc", "image_bytes": KEEPERS[0]}]
    out = fused.run_rows(rows)
    assert [(r["fetch_status"], r["drop_reason"]) for r in out] == [("fetch_disabled", "fetch_disabled"), ("warc", None)]
    assert out[1]["width"] == 320 and len(out[1]["image_phash"]) == 16
    assert image_server.count() == 0
