"""pHash bit-identical to `str(imagehash.phash(img))`, 2-3x faster on web-size images.

Users join our `image_phash` against published COYO values, so nothing here may change a bit.
imagehash does convert("L") -> resize((32, 32), LANCZOS) -> 2-D DCT -> top-left 8x8 > median.
Resizing the full image to 32x32 is most of its cost (a scalar C loop in Pillow).
`resize_lanczos_32` reproduces Pillow's fixed-point arithmetic exactly (same integer weights,
same rounding after each pass, same pass order) but computes each pass as an integer matrix
product: the weights are split into 6-bit digits so an int8 x int8 -> int32 product
(`torch._int_mm`: oneDNN's VNNI, AVX2 or SSE4.1 kernels) can neither overflow nor saturate,
then recombined in int64. Where that is unavailable, or fails a one-time self-check against the float64 path,
the float64 product is used: every term and partial sum is an integer below 2**53, so BLAS
adds them exactly in any order. The DCT, median and hex formatting are imagehash/scipy's own.
"""

from __future__ import annotations

import math
from functools import lru_cache

import imagehash
import numpy as np
import pyarrow as pa
import scipy.fftpack
from PIL import Image

HASH_SIZE = 8
SIDE = HASH_SIZE * 4  # imagehash's img_size = hash_size * highfreq_factor

# Pillow's Resample.c: 8-bit images use weights in fixed point with 22 fraction bits,
# accumulate from 1 << 21 (round half up), then `sum >> 22` clipped to 0..255.
_PRECISION_BITS = 22
_ONE = float(1 << _PRECISION_BITS)
_LANCZOS_SUPPORT = 3.0
# Int8 path: weights (|w| <= 2**22) as four base-64 digits, the top one signed (|top| <= 16).
# A pixel (at most 255 once a pre-VNNI kernel shifts it to uint8) times a digit (at most 63),
# summed in pairs, stays below 2**15 (no int16 saturation), and a sum of 2**17 such terms
# below 2**31 (no int32 overflow).
_DIGITS = 4
_DIGIT_BITS = 6
_MAX_INT8_SIDE = 1 << 17
# Float64 fallback: rows per block, so the float64 copy of a block stays in cache.
_BLOCK_PIXELS = 1 << 16


def phash_hex(img: Image.Image) -> str:
    """16 hex chars, equal to `str(imagehash.phash(img))` for every image."""
    small = resize_lanczos_32(_pixels(img.convert("L")))
    dct = scipy.fftpack.dct(scipy.fftpack.dct(small, axis=0), axis=1)
    low = dct[:HASH_SIZE, :HASH_SIZE]
    return str(imagehash.ImageHash(low > np.median(low)))


def resize_lanczos_32(gray: np.ndarray) -> np.ndarray:
    """`Image.fromarray(gray).resize((32, 32), LANCZOS)` as a uint8 array, bit for bit.

    `gray` is a 2-D uint8 array (height, width). Pillow 13 runs the vertical pass first when
    height > 32 and (height - 32) > 2 * (width - 32), else the horizontal pass first (found by
    testing every size up to 130 x 200 and the boundary of 160 larger ones); a pass is
    skipped when that side is already 32. The order matters: each pass rounds to uint8.
    """
    height, width = gray.shape
    need_h, need_v = width != SIDE, height != SIDE
    if need_h and need_v and height > SIDE and height - SIDE > 2 * (width - SIDE):
        return _resample(_resample(gray, axis=0), axis=1)
    out = _resample(gray, axis=1) if need_h else gray
    out = _resample(out, axis=0) if need_v else out
    return out if out is not gray else gray.copy()


def clear_coefficient_cache() -> None:
    """Forget the cached LANCZOS weights (the benchmark measures the cold cost with it)."""
    _fixed_weights.cache_clear()
    _digit_weights.cache_clear()


def _pixels(gray: Image.Image) -> np.ndarray:
    """The L image's pixels as a (height, width) uint8 array, without copying where possible.

    Pillow (>= 11.2) exports single-block images through the Arrow C data interface; the
    array keeps the image memory alive. Multi-block (very large) images take the copying path.
    """
    width, height = gray.size
    try:
        return pa.array(gray).to_numpy(zero_copy_only=True).reshape(height, width)
    except (ValueError, TypeError, pa.ArrowException):
        return np.asarray(gray)


def _resample(pixels: np.ndarray, axis: int) -> np.ndarray:
    """One Pillow pass to 32 along `axis` (1: width, 0: height) of a 2-D uint8 array."""
    in_size, lines = pixels.shape[axis], pixels.shape[1 - axis]
    # the int8 path pays off on the big first pass; the second pass has only 32 lines
    big = lines > SIDE and _int8_usable(in_size)
    acc = _int8_product(pixels, axis) if big else _float_product(pixels, axis)
    acc += 1 << (_PRECISION_BITS - 1)
    acc >>= _PRECISION_BITS  # arithmetic shift: floor, like Pillow's clip8 lookup
    return np.clip(acc, 0, 255).astype(np.uint8)


def _float_product(pixels: np.ndarray, axis: int) -> np.ndarray:
    """Weighted sums as exact integers (int64) via float64 BLAS, a block of rows at a time."""
    weights = _fixed_weights(pixels.shape[axis]).astype(np.float64)
    height, width = pixels.shape
    step = max(1, _BLOCK_PIXELS // width)
    if axis == 1:
        out = np.empty((height, SIDE))
        for top in range(0, height, step):
            np.matmul(pixels[top : top + step].astype(np.float64), weights, out=out[top : top + step])
    else:
        out = np.zeros((SIDE, width))
        for top in range(0, height, step):
            out += weights[top : top + step].T @ pixels[top : top + step].astype(np.float64)
    return out.astype(np.int64)


def _int8_product(pixels: np.ndarray, axis: int) -> np.ndarray:
    """Weighted sums as exact integers (int64) via int8 x int8 -> int32 products.

    The pixels are always the left operand and the weight digits the right one: pre-VNNI
    kernels shift the left operand to uint8 and sum pairs of products in int16, which only
    stays exact while the right operand is within +-63 (tested pinned to AVX2 and SSE4.1).
    """
    import torch

    centred = torch.from_numpy(np.bitwise_xor(pixels, 0x80).view(np.int8))  # pixel - 128
    digits = torch.from_numpy(_digit_weights(pixels.shape[axis]))
    left = centred if axis == 1 else centred.t()  # a transposed view, not a copy
    parts = torch._int_mm(left, digits).numpy().reshape(-1, _DIGITS, SIDE)  # (lines, 4, 32)
    acc = parts[:, 0].astype(np.int64)
    for place in range(1, _DIGITS):
        acc += parts[:, place].astype(np.int64) << (_DIGIT_BITS * place)
    acc += 128 * _fixed_weights(pixels.shape[axis]).sum(axis=0)  # sum w * (p - 128) + 128 * sum w
    return acc if axis == 1 else acc.T


_int8_state: dict[str, bool] = {}


def _int8_usable(in_size: int) -> bool:
    if in_size > _MAX_INT8_SIDE:
        return False
    if "ok" not in _int8_state:
        _int8_state["ok"] = _int8_self_check()
    return _int8_state["ok"]


def _int8_self_check() -> bool:
    """Once per process: the int8 path must agree with the float64 path on both axes."""
    try:
        import torch

        if not hasattr(torch, "_int_mm"):
            return False
        sample = np.random.default_rng(0).integers(0, 256, (97, 301), dtype=np.uint8)
        sample[:40, :150], sample[40:80, 150:] = 255, 0  # extremes: where int16 saturation would show
        return all(
            np.array_equal(_int8_product(arr, axis), _float_product(arr, axis))
            for arr in (sample, np.ascontiguousarray(sample.T))
            for axis in (0, 1)
        )
    except Exception:  # noqa: BLE001 - no torch, an old torch, a kernel missing on this CPU
        return False


@lru_cache(maxsize=2048)
def _digit_weights(in_size: int) -> np.ndarray:
    """Fixed-point weights as base-64 digits, digit-major: int8 (in_size, 4 * 32)."""
    rest = _fixed_weights(in_size)
    digits = np.empty((in_size, _DIGITS, SIDE), dtype=np.int8)
    for place in range(_DIGITS):
        digits[:, place] = rest if place == _DIGITS - 1 else rest & ((1 << _DIGIT_BITS) - 1)  # top one signed
        rest = rest >> _DIGIT_BITS
    return digits.reshape(in_size, _DIGITS * SIDE)


@lru_cache(maxsize=2048)
def _fixed_weights(in_size: int) -> np.ndarray:
    """Dense (in_size, 32) int64 matrix of Pillow's fixed-point LANCZOS weights.

    Vectorised with numpy; numpy's sin may differ from libm's in the last bit, which could
    only matter where a weight * 2**22 lies within a hair of .5. Such sizes (about 1 in 200)
    are recomputed with math.sin, the same libm call Pillow makes.
    """
    first, count, center, inv_scale = _geometry(in_size)
    taps = np.arange(int(count.max()))
    valid = taps[None, :] < count[:, None]
    x = ((taps[None, :] + first[:, None]) - center[:, None] + 0.5) * inv_scale  # C's operation order
    with np.errstate(invalid="ignore", divide="ignore"):
        xp = x * math.pi
        w = np.sin(xp) / xp  # sinc(x)
        third = x / 3
        tp = third * math.pi
        w *= np.sin(tp) / tp  # * sinc(x / 3)
    w[x == 0.0] = 1.0
    w[~(valid & (x >= -3.0) & (x < 3.0))] = 0.0
    total = np.cumsum(w, axis=1)[:, -1:]  # sequential, like the C loop (np.sum is pairwise)
    np.divide(w, total, out=w, where=total != 0.0)
    scaled = w * _ONE
    magnitude = np.abs(scaled)
    if np.any(valid & (np.abs(magnitude - np.floor(magnitude) - 0.5) < 1e-6)):
        return _fixed_weights_libm(in_size)
    dense = np.zeros((in_size, SIDE), dtype=np.int64)
    rows = taps[None, :] + first[:, None]
    cols = np.broadcast_to(np.arange(SIDE)[:, None], rows.shape)
    dense[rows[valid], cols[valid]] = np.trunc(scaled + np.where(w < 0, -0.5, 0.5))[valid]
    dense.flags.writeable = False
    return dense


def _geometry(in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Pillow's precompute_coeffs for out size 32: each output's first input, tap count, centre."""
    scale = float(in_size) / SIDE
    filterscale = max(scale, 1.0)
    support = _LANCZOS_SUPPORT * filterscale
    center = (np.arange(SIDE) + 0.5) * scale
    first = np.maximum((center - support + 0.5).astype(np.int64), 0)  # C's (int) truncates toward 0
    last = np.minimum((center + support + 0.5).astype(np.int64), in_size)
    return first, last - first, center, 1.0 / filterscale


def _fixed_weights_libm(in_size: int) -> np.ndarray:
    """The same matrix, one weight at a time with math.sin (libm, as Pillow): slow, exact."""
    first, count, center, inv_scale = _geometry(in_size)
    dense = np.zeros((in_size, SIDE), dtype=np.int64)
    for out_index in range(SIDE):
        xmin, n, c = int(first[out_index]), int(count[out_index]), float(center[out_index])
        w = [_lanczos((x + xmin - c + 0.5) * inv_scale) for x in range(n)]
        total = 0.0
        for value in w:
            total += value
        if total != 0.0:
            w = [value / total for value in w]
        dense[xmin : xmin + n, out_index] = [_fixed(value) for value in w]
    dense.flags.writeable = False
    return dense


def _lanczos(x: float) -> float:
    if -3.0 <= x < 3.0:
        return _sinc_scalar(x) * _sinc_scalar(x / 3)
    return 0.0


def _sinc_scalar(x: float) -> float:
    if x == 0.0:
        return 1.0
    x = x * math.pi
    return math.sin(x) / x


def _fixed(value: float) -> int:
    return int(-0.5 + value * _ONE) if value < 0 else int(0.5 + value * _ONE)
