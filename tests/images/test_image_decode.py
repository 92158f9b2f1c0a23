"""The image stage on a corpus of good and bad images: header rules before decoding, one reason
per failure while the others go on, mode conversions, thumbnails, dead rows left alone."""

import io
import pickle
import struct
import zlib

import imagehash
import numpy as np
import pytest
from PIL import Image

from operators.base import rows_to_batch
from operators.config import ConfigError, from_dict
from operators.images import REASONS, ImageConfig, ImageDecoder, check_header, decode_image, phash_hex, to_rgb

CFG = ImageConfig()


def noisy(width: int, height: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    """Grainy smooth colour: compresses like a photo, so files stay well over 5 KB."""
    rng = np.random.default_rng(seed)
    colours = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8))
    base = colours.resize((width, height), Image.Resampling.BICUBIC)
    arr = np.clip(np.asarray(base) + rng.normal(0, 20, (height, width, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(arr).convert(mode)


def encode(img: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size; its body is padding (never read if we are right)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", b"\x00" * 8000) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def corrupt_png() -> bytes:
    data = bytearray(encode(noisy(400, 300, 5), "PNG"))
    start = data.index(b"IDAT") + 4
    data[start + 100 : start + 3000] = bytes(2900)  # zeroed deflate stream, file length intact
    return bytes(data)


JPEG_OK = encode(noisy(640, 480), quality=90)
# (bytes, expected reason) -- every REASON at least once, plus good images around them
CORPUS = [
    (JPEG_OK, None),
    (b"", "image_empty"),
    (None, "image_empty"),
    (encode(Image.new("RGB", (400, 300), (20, 40, 60)), quality=30), "image_too_small_bytes"),
    (b"<!DOCTYPE html><html><body>" + b"<p>Sorry, not found</p>" * 400 + b"</body></html>", "image_not_image"),
    (b'{"error": "forbidden", "detail": "' + b"x" * 6000 + b'"}', "image_not_image"),
    (b"\xff\xd8\xff\xe0" + bytes(6000), "image_undecodable"),  # JPEG signature, no image
    (encode(noisy(150, 400, 1), quality=95), "image_too_small"),
    (encode(noisy(1000, 300, 2), quality=95), "image_aspect_ratio"),
    (png_claiming(30_000, 30_000), "image_decompression_bomb"),  # refused by Pillow at open
    (png_claiming(10_000, 9_000), "image_decompression_bomb"),  # over cfg.max_pixels
    (encode(noisy(640, 480, 3), quality=90)[:20_000], "image_truncated"),
    (encode(noisy(400, 300, 4), "PNG")[:-3000], "image_truncated"),
    (encode(noisy(500, 400, 6), "WEBP", quality=90)[:9000], "image_truncated"),
    (corrupt_png(), "image_undecodable"),
    (encode(noisy(300, 900, 7), "PNG"), None),  # aspect exactly 3: kept
    (encode(noisy(200, 200, 8), "WEBP", quality=90), None),  # min side exactly 200: kept
]


pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's, at open


def test_corpus_lands_in_its_reasons_and_the_rest_is_processed():
    decoder = ImageDecoder(CFG)
    rows = decoder.run_rows([{"image_bytes": data, "url": f"u{i}"} for i, (data, _) in enumerate(CORPUS)])
    assert [row["drop_reason"] for row in rows] == [reason for _, reason in CORPUS]
    assert {reason for _, reason in CORPUS} - {None} == set(REASONS)
    for row, (data, reason) in zip(rows, CORPUS):
        assert row["url"] is not None and row["image_bytes"] is None
        if reason is None:
            assert row["drop_stage"] is None
            assert row["image_phash"] == str(imagehash.phash(Image.open(io.BytesIO(data))))
            assert (row["width"], row["height"]) == Image.open(io.BytesIO(data)).size
        else:
            assert row["drop_stage"] == "image"
            assert row["width"] is None and row["height"] is None and row["image_phash"] is None
    funnel = decoder.counts.to_dict()["image"]
    assert funnel["in"] == len(CORPUS) and funnel["kept"] == 3
    assert funnel["in"] == funnel["kept"] + sum(funnel["dropped"].values())


def test_header_rules_come_before_any_decode():
    # truncated AND too small: the header rule answers, the broken body is never read
    assert check_header(encode(noisy(150, 400, 1), quality=95)[:6000], CFG)[0] == "image_too_small"
    # a 90-megapixel claim is rejected from the header without allocating anything
    reason, info = check_header(png_claiming(10_000, 9_000), CFG)
    assert reason == "image_decompression_bomb" and (info.width, info.height) == (10_000, 9_000)
    reason, info = check_header(JPEG_OK, CFG)
    assert reason is None and (info.format, info.width, info.height, info.mode) == ("JPEG", 640, 480, "RGB")
    assert check_header(JPEG_OK, ImageConfig(min_side=500))[0] == "image_too_small"
    assert check_header(JPEG_OK, ImageConfig(max_pixels=640 * 480 - 1))[0] == "image_decompression_bomb"
    assert check_header(JPEG_OK, ImageConfig(min_bytes=len(JPEG_OK) + 1))[0] == "image_too_small_bytes"
    assert check_header(JPEG_OK, ImageConfig(max_aspect_ratio=1.2))[0] == "image_aspect_ratio"


class GridThumb:
    """A dummy thumbnailer: 8 x 6 nearest-neighbour samples of the RGB it is given."""

    shape = (6, 8, 3)

    def __call__(self, img: Image.Image) -> np.ndarray:
        assert img.mode == "RGB"
        return np.asarray(img.resize((8, 6), Image.Resampling.NEAREST))


class FullThumb:
    """Returns the whole decoded RGB, to compare pixels with a plain Pillow decode."""

    def __init__(self, width: int, height: int) -> None:
        self.shape = (height, width, 3)

    def __call__(self, img: Image.Image) -> np.ndarray:
        return np.asarray(img)


class MeanThumb:
    """A 1 x 2 thumbnail: the mean colour, twice."""

    shape = (1, 2, 3)

    def __call__(self, img: Image.Image) -> np.ndarray:
        mean = np.asarray(img).reshape(-1, 3).mean(axis=0).astype(np.uint8)
        return np.stack([mean, mean])[None]


def thumb(data: bytes, cfg: ImageConfig = CFG) -> np.ndarray:
    result = decode_image(data, cfg, {"grid": GridThumb()})
    assert not isinstance(result, str), result
    return np.frombuffer(result.thumbs["grid"], dtype=np.uint8).reshape(GridThumb.shape)


def test_cmyk_jpeg_of_pure_red_decodes_to_red():
    data = encode(Image.new("CMYK", (300, 300), (0, 255, 255, 0)), quality=95)
    data += b"\x00" * max(0, CFG.min_bytes - len(data))  # padding after EOI is ignored by decoders
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    pixels = thumb(data).reshape(-1, 3).astype(int)
    assert np.abs(pixels - [255, 0, 0]).max() <= 3


def test_alpha_is_composited_onto_white_for_models_and_ignored_by_the_hash():
    rgba = noisy(400, 300, 9).convert("RGBA")
    alpha = np.full((300, 400), 255, np.uint8)
    alpha[:, :200] = 0  # left half fully transparent
    alpha[:, 200:300] = 128  # then half transparent
    rgba.putalpha(Image.fromarray(alpha))
    data = encode(rgba, "PNG")
    grid = thumb(data).astype(int)
    assert (grid[:, :4] == 255).all()  # transparent -> white
    src = np.asarray(rgba.resize((8, 6), Image.Resampling.NEAREST)).astype(int)
    half = np.round((src[:, 4:6, :3] * 128 + 255 * 127) / 255)
    assert np.abs(grid[:, 4:6] - half).max() <= 1  # blended with white by alpha
    assert np.array_equal(grid[:, 6:], src[:, 6:, :3])  # opaque unchanged
    result = decode_image(data, CFG)
    assert result.phash == str(imagehash.phash(Image.open(io.BytesIO(data))))
    assert result.phash == str(imagehash.phash(Image.open(io.BytesIO(data)).convert("RGB")))


def test_palette_with_transparency_la_and_grey_convert_right():
    palette = noisy(300, 300, 10).quantize(16)
    palette.info["transparency"] = 0
    data = encode(palette, "PNG", transparency=0)
    opened = Image.open(io.BytesIO(data))
    assert opened.mode == "P" and "transparency" in opened.info
    expected = np.asarray(opened.convert("RGBA").resize((8, 6), Image.Resampling.NEAREST)).astype(int)
    got = thumb(data).astype(int)
    clear = expected[..., 3] == 0
    assert np.array_equal(got[~clear], expected[~clear][:, :3]) and (got[clear] == 255).all()

    la = noisy(300, 300, 11, "LA")
    la.putalpha(0)
    assert (thumb(encode(la, "PNG")) == 255).all()  # fully transparent grey -> white

    grey = noisy(300, 300, 12, "L")
    got = thumb(encode(grey, "PNG"))
    assert np.array_equal(got[..., 0], got[..., 1]) and np.array_equal(
        got[..., 0], np.asarray(grey.resize((8, 6), Image.Resampling.NEAREST))
    )


def test_16_bit_png_is_scaled_not_clipped():
    levels = np.array([0, 255, 256, 0x8000, 0xFFFF], dtype=np.uint16)
    arr = np.tile(np.repeat(levels, 60)[None, :], (300, 1))  # 300 x 300, five vertical bands
    arr = arr + np.random.default_rng(0).integers(0, 200, arr.shape).astype(np.uint16) * (arr > 0x100)
    data = encode(Image.fromarray(arr), "PNG")
    opened = Image.open(io.BytesIO(data))
    assert opened.mode == "I;16"
    rgb = np.asarray(to_rgb(opened))
    assert rgb.dtype == np.uint8 and np.array_equal(rgb[..., 0], (arr >> 8).astype(np.uint8))
    assert rgb[0, 60 * 3, 0] == 128  # Pillow's own convert would say 255 here
    assert decode_image(data, CFG).phash == phash_hex(Image.fromarray((arr >> 8).astype(np.uint8)))


def test_first_frame_of_an_animated_gif():
    frames = [noisy(300, 300, 20 + i).quantize(64) for i in range(2)]
    frames[0].paste(0, (0, 0, 300, 300))
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    data = buf.getvalue()
    first = Image.open(io.BytesIO(data)).convert("RGB")
    assert (thumb(data) == np.asarray(first)[0, 0]).all()  # the flat first frame, not the second
    assert decode_image(data, CFG).phash == str(imagehash.phash(Image.open(io.BytesIO(data))))


@pytest.mark.parametrize("fmt,options", [("JPEG", {"quality": 90}), ("JPEG", {"quality": 90, "progressive": True}),
                                         ("PNG", {}), ("WEBP", {"quality": 90}), ("BMP", {}), ("TIFF", {})])
def test_one_decode_gives_pillows_pixels_in_every_format(fmt, options):
    img = noisy(360, 240, 30)
    data = encode(img, fmt, **options)
    result = decode_image(data, CFG, {"full": FullThumb(360, 240)})
    plain = Image.open(io.BytesIO(data)).convert("RGB")
    assert np.frombuffer(result.thumbs["full"], np.uint8).tobytes() == plain.tobytes()
    assert result.phash == str(imagehash.phash(plain))


def test_thumbnail_columns_dead_rows_and_kept_bytes():
    garbage = b"\xff\xd8\xff" + b"not a jpeg at all" * 500
    rows = [
        {"image_bytes": JPEG_OK},
        {"image_bytes": garbage, "drop_stage": "text", "drop_reason": "nsfw_text"},  # dead: not decoded
        {"image_bytes": b"<html>" * 1000},
        {"image_bytes": encode(noisy(300, 300, 40), "PNG")},
    ]
    decoder = ImageDecoder(ImageConfig(keep_bytes=True), thumbnailers={"grid": GridThumb(), "mean": MeanThumb()})
    assert decoder.writes == ("width", "height", "image_phash", "thumb_grid", "thumb_mean")
    batch = decoder(rows_to_batch(rows))
    assert list(batch["drop_reason"]) == [None, "nsfw_text", "image_not_image", None]
    assert list(batch["drop_stage"]) == [None, "text", "image", None]
    assert [len(b) if b is not None else None for b in batch["thumb_grid"]] == [144, None, None, 144]
    mean = np.asarray(Image.open(io.BytesIO(JPEG_OK)).convert("RGB")).reshape(-1, 3).mean(axis=0)
    assert np.frombuffer(batch["thumb_mean"][0], np.uint8).tolist() == [int(v) for v in mean] * 2
    assert batch["image_bytes"][0] == JPEG_OK and batch["image_bytes"][3] is not None  # kept rows keep bytes
    assert batch["image_bytes"][1] is None and batch["image_bytes"][2] is None  # dropped rows never do
    assert decoder.counts.to_dict()["image"] == {"in": 3, "kept": 2, "dropped": {"image_not_image": 1}}
    assert batch["width"][1] is None and batch["image_phash"][1] is None


def test_a_thumbnailer_returning_the_wrong_shape_is_a_programming_error():
    class Wrong:
        shape = (4, 4, 3)

        def __call__(self, img):
            return np.zeros((5, 4, 3), np.uint8)

    with pytest.raises(TypeError, match="thumbnailer 'wrong'"):
        ImageDecoder(CFG, {"wrong": Wrong()})(rows_to_batch([{"image_bytes": JPEG_OK}]))


def test_operator_pickles_for_ray_tasks():
    decoder = pickle.loads(pickle.dumps(ImageDecoder(CFG, {"grid": GridThumb()})))
    out = decoder.run_rows([{"image_bytes": JPEG_OK}])
    assert len(out[0]["thumb_grid"]) == 144 and out[0]["image_bytes"] is None


def test_config_from_yaml_dict_and_bad_values():
    cfg = from_dict(ImageConfig, {"min_side": "256", "keep_bytes": "true", "max_aspect_ratio": 2.5})
    assert (cfg.min_side, cfg.keep_bytes, cfg.max_aspect_ratio, cfg.min_bytes) == (256, True, 2.5, 5 * 1024)
    with pytest.raises(ConfigError):
        from_dict(ImageConfig, {"max_aspect_ratio": 0.5})
    with pytest.raises(ConfigError):
        from_dict(ImageConfig, {"min_sides": 1})
