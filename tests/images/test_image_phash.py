"""pHash identity: `phash_hex(img) == str(imagehash.phash(img))` bit for bit, on photos in every
mode and format, on generated images of many sizes, at median ties, and on both product paths."""

import io
import os
import subprocess
import sys
import warnings
from pathlib import Path

import imagehash
import numpy as np
import pytest
from PIL import Image

from operators.images import phash
from operators.images.phash import phash_hex, resize_lanczos_32

PHOTOS = ("astronaut", "coffee", "chelsea", "camera", "rocket", "hubble_deep_field", "immunohistochemistry",
          "retina", "stereo_motorcycle", "moon", "brick", "grass", "gravel", "coins", "cell", "clock", "page",
          "text", "colorwheel", "logo", "checkerboard", "binary_blobs", "horse", "microaneurysms")


@pytest.fixture(scope="module")
def skimage_photos() -> dict[str, Image.Image]:
    skdata = pytest.importorskip("skimage.data")
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in PHOTOS:
            arr = getattr(skdata, name)()
            if name == "stereo_motorcycle":
                arr = arr[0]
            if arr.dtype == bool:
                arr = arr.astype(np.uint8) * 255
            out[name] = Image.fromarray(arr)
    return out


def reencoded(img: Image.Image, fmt: str) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, fmt, **({"quality": 85} if fmt == "JPEG" else {"quality": 80, "method": 0} if fmt == "WEBP" else {}))
    out = Image.open(io.BytesIO(buf.getvalue()))
    out.load()
    return out


def variants(img: Image.Image):
    yield "as_is", img
    img = img.copy()
    img.thumbnail((400, 400))  # the re-encodings at a smaller size keep the test fast
    rgb = img.convert("RGB")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgb.size))
    yield "RGB", rgb
    yield "L", img.convert("L")
    yield "RGBA", rgba
    yield "P", rgb.quantize(64)
    yield "LA", rgba.convert("LA")
    yield "CMYK", rgb.convert("CMYK")
    yield "JPEG", reencoded(rgb, "JPEG")
    yield "JPEG_L", reencoded(img.convert("L"), "JPEG")
    yield "PNG", reencoded(rgba, "PNG")
    yield "WEBP", reencoded(rgb, "WEBP")


def test_identical_on_skimage_photos_in_every_mode_and_format(skimage_photos):
    checked = 0
    for name, img in skimage_photos.items():
        for variant, im in variants(img):
            assert phash_hex(im) == str(imagehash.phash(im)), (name, variant, im.mode, im.size)
            checked += 1
    assert checked == len(PHOTOS) * 11


def test_identical_on_generated_images_of_many_sizes():
    rng = np.random.default_rng(7)
    distinct = set()
    for i in range(300):
        width, height = (int(v) for v in rng.integers(1, 900, 2))
        if i % 6 == 0:
            width = int(rng.integers(1, 70))  # upscaling and the vertical-first order
        kind = i % 4
        if kind == 0:
            arr = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        elif kind == 1:  # smooth, like a photo
            colours = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8))
            arr = np.asarray(colours.resize((width, height), Image.Resampling.BICUBIC))
        elif kind == 2:  # hard black/white edges: extreme values on both sides of the rounding
            arr = (rng.integers(0, 2, (height, width)) * 255).astype(np.uint8)
        else:
            arr = np.full((height, width), int(rng.integers(0, 256)), np.uint8)
        img = Image.fromarray(arr)
        ours = phash_hex(img)
        assert ours == str(imagehash.phash(img)), (width, height, kind)
        assert len(ours) == 16
        distinct.add(ours)
    assert len(distinct) > 150  # the images really differ, so the hashes are not trivially equal


@pytest.mark.parametrize("size", [(32, 32), (32, 500), (500, 32), (1, 1), (31, 33), (33, 31)])
def test_identical_at_side_32_and_tiny(size):
    arr = np.random.default_rng(size[0] * 1000 + size[1]).integers(0, 256, size[::-1], dtype=np.uint8)
    img = Image.fromarray(arr)
    assert phash_hex(img) == str(imagehash.phash(img))
    assert np.array_equal(resize_lanczos_32(arr), np.asarray(img.resize((32, 32), Image.Resampling.LANCZOS)))


def test_pass_order_boundary_matches_pillow():
    """Pillow runs the vertical pass first iff height - 32 > 2 * (width - 32); each rounds."""
    rng = np.random.default_rng(3)
    for width in (40, 64, 100, 333, 700):
        for height in (2 * width - 33, 2 * width - 32, 2 * width - 31, 2 * width - 30):
            arr = rng.integers(0, 256, (height, width), dtype=np.uint8)
            expected = np.asarray(Image.fromarray(arr).resize((32, 32), Image.Resampling.LANCZOS))
            assert np.array_equal(resize_lanczos_32(arr), expected), (width, height)


def test_median_ties_follow_imagehash_strict_greater():
    """Uniform and symmetric images put many DCT values exactly on the median."""
    images = [Image.new("L", (300, 200), value) for value in (0, 17, 128, 255)]
    images += [Image.new("RGB", (257, 257), (200, 10, 10))]
    checker = (np.indices((32, 32)).sum(axis=0) % 2 * 255).astype(np.uint8)
    images += [Image.fromarray(checker), Image.fromarray(np.tile(checker, (8, 8)))]
    stripes = np.zeros((256, 256), np.uint8)
    stripes[:, ::2] = 255
    images += [Image.fromarray(stripes), Image.fromarray(stripes.T.copy())]
    for img in images:
        expected = str(imagehash.phash(img))
        assert phash_hex(img) == expected
    assert phash_hex(Image.new("L", (300, 200), 17)) == "8000000000000000"


def test_int8_and_float64_products_agree_with_pillow(monkeypatch):
    rng = np.random.default_rng(11)
    shapes = [(900, 1203), (1400, 300), (97, 2050), (45, 45)]
    arrays = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in shapes]
    expected = [np.asarray(Image.fromarray(a).resize((32, 32), Image.Resampling.LANCZOS)) for a in arrays]
    assert phash._int8_usable(1000), "the int8 path must pass its self-check on this machine"
    for arr, want in zip(arrays, expected):
        assert np.array_equal(resize_lanczos_32(arr), want)
    monkeypatch.setitem(phash._int8_state, "ok", False)  # force the float64 fallback
    for arr, want in zip(arrays, expected):
        assert np.array_equal(resize_lanczos_32(arr), want)


def test_numpy_weights_equal_libm_weights_and_risky_sizes_fall_back(monkeypatch):
    phash.clear_coefficient_cache()
    for size in list(range(1, 200)) + [640, 800, 1024, 1255]:
        assert np.array_equal(phash._fixed_weights(size), phash._fixed_weights_libm(size)), size
    # 714 has a weight within 1e-6 of a rounding edge: recomputed with math.sin, still identical
    calls = []
    libm = phash._fixed_weights_libm
    monkeypatch.setattr(phash, "_fixed_weights_libm", lambda n: calls.append(n) or libm(n))
    phash.clear_coefficient_cache()
    phash._fixed_weights(715)
    phash._fixed_weights(714)
    assert calls == [714]
    arr = np.random.default_rng(0).integers(0, 256, (300, 714), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(arr).resize((32, 32), Image.Resampling.LANCZOS))
    assert np.array_equal(resize_lanczos_32(arr), expected)


def test_multi_block_images_take_the_copying_path():
    big = Image.new("L", (6000, 6000), 9)  # spans several Pillow memory blocks
    pixels = phash._pixels(big)
    assert pixels.shape == (6000, 6000) and int(pixels[5999, 5999]) == 9


@pytest.mark.slow
@pytest.mark.parametrize("isa", ["AVX2", "SSE41"])
def test_int8_path_exact_on_pre_vnni_kernels(isa):
    """oneDNN's pre-VNNI int8 kernels saturate pairs of products at int16 (7-bit weight digits
    give wrong sums there); the 6-bit digits must stay exact. Runs in a subprocess pinned to `isa`."""
    script = (
        "import numpy as np; from PIL import Image; from operators.images import phash\n"
        "assert phash._int8_usable(1000)\n"
        "rng = np.random.default_rng(5)\n"
        "for shape in [(700, 900), (1300, 400), (64, 3000)]:\n"
        "    a = rng.integers(0, 256, shape, dtype=np.uint8); a[: shape[0] // 2] = 255\n"
        "    want = np.asarray(Image.fromarray(a).resize((32, 32), Image.Resampling.LANCZOS))\n"
        "    for axis in (0, 1):\n"
        "        assert np.array_equal(phash._int8_product(a, axis), phash._float_product(a, axis)), (shape, axis)\n"
        "    assert np.array_equal(phash.resize_lanczos_32(a), want), shape\n"
        "print('ok')\n"
    )
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": isa, "OMP_NUM_THREADS": "1"}
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
