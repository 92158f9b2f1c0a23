"""The `image` stage: COYO's image rules from the header, then one decode per kept image that
yields its size, its pHash and every scorer's thumbnail, so no later stage decodes again.

Per live row: bytes checks -> `Image.open` (reads only the header: format, size, mode) ->
size / aspect / decompression-bomb checks -> one full decode -> RGB -> pHash + thumbnails.
A rejected image is never decoded. Bad data never raises; it becomes one of `REASONS`.

image_phash is `str(imagehash.phash(Image.open(io.BytesIO(image_bytes))))`, bit for bit: the
hash of the decoded image as Pillow opens it, so it joins with published COYO values. Its
convert("L") ignores alpha and gives the same grey as convert("RGB") then "L" for every mode a
crawl serves (RGB, RGBA, L, LA, P, PA, CMYK, 1). The one exception is 16-bit greyscale.

The RGB the thumbnailers get, decided once here:
- alpha (RGBA, LA, PA, P or L/RGB with a transparency entry): composited onto white, as
  img2dataset does (transparent logos read as drawn on a page; black would be wrong).
- 16-bit greyscale (I;16, I;16B, I;16L): scaled to 8 bits by `>> 8` before anything else,
  pHash included (Pillow's own convert clips everything above 255 to white).
- CMYK (including Adobe-inverted JPEG, which Pillow's JPEG decoder un-inverts), P, L, 1,
  YCbCr: Pillow's convert("RGB"). No ICC colour management; EXIF orientation is not applied
  (COYO's hashes are of the stored pixels).
- GIF / animated WebP: the first frame.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Mapping, Protocol

import numpy as np
from PIL import Image, UnidentifiedImageError

from operators.base import Batch, FunnelCounts, Operator, Resources, batch_len, mark_dropped, object_array
from operators.images.config import ImageConfig
from operators.images.phash import phash_hex

STAGE = "image"
REASONS: tuple[str, ...] = (
    "image_empty",  # no bytes at all
    "image_too_small_bytes",  # file < cfg.min_bytes
    "image_not_image",  # not a format Pillow knows (an HTML page served as image/jpeg, JSON, ...)
    "image_decompression_bomb",  # width * height > cfg.max_pixels (from the header)
    "image_too_small",  # min(width, height) < cfg.min_side
    "image_aspect_ratio",  # max(w, h) / min(w, h) > cfg.max_aspect_ratio
    "image_truncated",  # the file ends before the pixel data does
    "image_undecodable",  # an image signature, but the decoder or the conversion failed
)

# Leading bytes of the formats a crawl serves: a file that starts like one but does not open is
# a broken image (image_undecodable), anything else is not an image at all (image_not_image).
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"RIFF", b"BM", b"II*\x00", b"MM\x00*")
_SIXTEEN_BIT_GREY = ("I;16", "I;16B", "I;16L", "I;16N")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_WHITE = (255, 255, 255)


class Thumbnailer(Protocol):
    """Defined by the scorers; the image stage only calls them on the decoded RGB image."""

    shape: tuple[int, int, int]

    def __call__(self, img: Image.Image) -> np.ndarray: ...


@dataclass(frozen=True)
class HeaderInfo:
    """What `Image.open` reads without decoding pixels."""

    format: str | None
    width: int
    height: int
    mode: str


@dataclass(frozen=True)
class DecodedImage:
    """A kept image: its size, pHash and one thumbnail (uint8 array bytes) per thumbnailer."""

    width: int
    height: int
    phash: str
    thumbs: dict[str, bytes]


def check_header(data: bytes | None, cfg: ImageConfig) -> tuple[str | None, HeaderInfo | None]:
    """COYO's rules from the bytes and the header alone: (drop reason or None, header info)."""
    reason, info, _ = _open_checked(data, cfg)
    return reason, info


def decode_image(
    data: bytes | None, cfg: ImageConfig, thumbnailers: Mapping[str, Thumbnailer] | None = None
) -> str | DecodedImage:
    """One image through the whole stage: a drop reason, or its size, pHash and thumbnails."""
    reason, info, img = _open_checked(data, cfg)
    if reason is not None:
        return reason
    assert img is not None and info is not None and data is not None
    try:
        # One read call hands the decoder the whole file (default: 64 KB chunks; libjpeg suspends
        # and resumes at each): JPEG decode ~20 % faster here, same pixels (tested).
        img.decodermaxblock = max(len(data), img.decodermaxblock)
        img.load()
    except EOFError:
        return "image_truncated"
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a property of the data
        return "image_truncated" if "truncated" in str(exc) else "image_undecodable"
    try:
        img = _eight_bit(img)
        phash = phash_hex(img)
        rgb = to_rgb(img) if thumbnailers else None
    except Exception:  # noqa: BLE001 - a mode Pillow cannot convert (LAB, HSV, F, ...)
        return "image_undecodable"
    thumbs = {name: _thumbnail(name, thumb, rgb) for name, thumb in (thumbnailers or {}).items()}
    return DecodedImage(info.width, info.height, phash, thumbs)


def to_rgb(img: Image.Image) -> Image.Image:
    """The decoded image as 8-bit RGB for the models, alpha composited onto white."""
    img = _eight_bit(img)
    if img.mode not in _ALPHA_MODES and "transparency" not in img.info:
        return img if img.mode == "RGB" else img.convert("RGB")
    rgba = img if img.mode == "RGBA" else img.convert("RGBA")  # applies palette / colour-key transparency
    on_white = Image.new("RGB", rgba.size, _WHITE)
    on_white.paste(rgba, mask=rgba)  # blends by the alpha band
    return on_white


def _eight_bit(img: Image.Image) -> Image.Image:
    if img.mode not in _SIXTEEN_BIT_GREY:
        return img
    return Image.fromarray((np.asarray(img).astype(np.uint16) >> 8).astype(np.uint8), "L")


class ImageDecoder(Operator):
    """The image stage as an operator: reads `image_bytes`, writes width, height, image_phash and
    one `thumb_<name>` column per thumbnailer (uint8 array bytes, C order; None on dropped rows).

    `image_bytes` is cleared to None afterwards, except on kept rows when `cfg.keep_bytes`.
    """

    stage = STAGE
    reads = ("image_bytes",)
    writes = ("width", "height", "image_phash")

    def __init__(self, cfg: ImageConfig, thumbnailers: Mapping[str, Thumbnailer] | None = None) -> None:
        self.cfg = cfg
        self.thumbnailers = dict(thumbnailers or {})
        self.thumb_columns = {name: f"thumb_{name}" for name in self.thumbnailers}
        self.writes = ImageDecoder.writes + tuple(self.thumb_columns.values())
        self.counts = FunnelCounts()
        self.seconds = 0.0

    def resources(self) -> Resources:
        # ~5-50 ms per image on one core; 64 images of web size are ~10-20 MB of bytes in flight.
        return Resources(num_cpus=self.cfg.task_cpus, batch_size=64)

    def process(self, batch: Batch, live: np.ndarray) -> Batch:
        start = time.perf_counter()
        n = batch_len(batch)
        data = batch["image_bytes"]
        out = {name: object_array([None] * n) for name in self.writes}
        kept = np.zeros(n, dtype=bool)
        for i in np.flatnonzero(live):
            self.counts.add_in(self.stage)
            result = decode_image(data[i], self.cfg, self.thumbnailers)
            if isinstance(result, str):
                mark_dropped(batch, int(i), self.stage, result)
                self.counts.add_drop(self.stage, result)
                continue
            kept[i] = True
            out["width"][i], out["height"][i], out["image_phash"][i] = result.width, result.height, result.phash
            for name, column in self.thumb_columns.items():
                out[column][i] = result.thumbs[name]
        batch.update(out)
        batch["image_bytes"] = object_array(
            data[i] if kept[i] and self.cfg.keep_bytes else None for i in range(n)
        )
        self.seconds += time.perf_counter() - start
        return batch


def _open_checked(data: bytes | None, cfg: ImageConfig) -> tuple[str | None, HeaderInfo | None, Image.Image | None]:
    if data is None or len(data) == 0:
        return "image_empty", None, None
    if len(data) < cfg.min_bytes:
        return "image_too_small_bytes", None, None
    data = bytes(data)  # memoryview / bytearray / np.bytes_ from Arrow
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:  # over twice Pillow's global limit: refused at open
        return "image_decompression_bomb", None, None
    except UnidentifiedImageError:
        return ("image_undecodable" if data.startswith(_SIGNATURES) else "image_not_image"), None, None
    except Exception:  # noqa: BLE001 - a plugin that recognised the file and then failed on it
        return ("image_truncated" if _riff_truncated(data) else "image_undecodable"), None, None
    width, height = img.size
    info = HeaderInfo(img.format, width, height, img.mode)
    if width * height > cfg.max_pixels:
        return "image_decompression_bomb", info, None
    short, long = min(width, height), max(width, height)
    if short < cfg.min_side or short == 0:
        return "image_too_small", info, None
    if long / short > cfg.max_aspect_ratio:
        return "image_aspect_ratio", info, None
    return None, info, img


def _riff_truncated(data: bytes) -> bool:
    """A RIFF (WebP) file shorter than its own header says: Pillow's WebP open fails on it."""
    return data.startswith(b"RIFF") and len(data) >= 8 and int.from_bytes(data[4:8], "little") + 8 > len(data)


def _thumbnail(name: str, thumbnailer: Thumbnailer, rgb: Image.Image) -> bytes:
    arr = thumbnailer(rgb)
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.shape != tuple(thumbnailer.shape):
        raise TypeError(
            f"thumbnailer {name!r} must return uint8 {tuple(thumbnailer.shape)}, got "
            f"{getattr(arr, 'dtype', type(arr))} {getattr(arr, 'shape', '')}"
        )
    return arr.tobytes()
