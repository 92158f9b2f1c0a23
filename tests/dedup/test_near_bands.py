"""pHash band splitting and Hamming maths on hand-made hashes (pure numpy, no Ray), and the
dedup config's validation."""

import numpy as np
import pytest

from operators.config import ConfigError, from_dict
from operators.dedup.config import DedupConfig
from operators.dedup.near import band_keys, band_values, band_widths, hamming, parse_phashes


def test_band_widths_cover_64_bits_as_evenly_as_possible():
    assert band_widths(0) == (64,)
    assert band_widths(1) == (32, 32)
    assert band_widths(2) == (22, 21, 21)
    assert band_widths(4) == (13, 13, 13, 13, 12)
    for k in range(0, 17):
        widths = band_widths(k)
        assert len(widths) == k + 1 and sum(widths) == 64 and max(widths) - min(widths) <= 1


def test_band_values_split_from_the_most_significant_bit():
    hashes = np.array([0x0123456789ABCDEF, 0xFFFF000000000001], dtype=np.uint64)
    assert band_values(hashes, 3).tolist() == [[0x0123, 0x4567, 0x89AB, 0xCDEF], [0xFFFF, 0, 0, 1]]
    # k=4: 13,13,13,13,12 bits; all-ones hash gives all-ones bands of those widths
    ones = np.array([0xFFFFFFFFFFFFFFFF], dtype=np.uint64)
    assert band_values(ones, 4).tolist() == [[8191, 8191, 8191, 8191, 4095]]


def test_band_keys_differ_per_band_even_for_equal_values():
    keys = band_keys(np.array([0], dtype=np.uint64), 3)
    assert keys.dtype == np.int64
    assert keys.tolist() == [[0, 1 << 32, 2 << 32, 3 << 32]]
    with pytest.raises(ValueError):
        band_keys(np.array([0], dtype=np.uint64), 0)


def test_any_k_bit_flips_leave_a_band_equal_and_one_flip_per_band_leaves_none():
    rng = np.random.default_rng(7)
    for k in (1, 2, 4, 8):
        for _ in range(200):
            h = int(rng.integers(0, 2**63)) * 2 + int(rng.integers(0, 2))
            flipped = h
            for bit in rng.choice(64, size=k, replace=False):
                flipped ^= 1 << int(bit)
            a, b = band_keys(np.array([h, flipped], dtype=np.uint64), k)
            assert (a == b).any()
        # one flipped bit inside each of the k+1 bands: distance k+1, no band equal
        h, starts = int(rng.integers(0, 2**62)), np.cumsum((0,) + band_widths(k)[:-1])
        far = h
        for start in starts:
            far ^= 1 << (63 - int(start))
        a, b = band_keys(np.array([h, far], dtype=np.uint64), k)
        assert not (a == b).any()
        assert hamming(np.array([h], dtype=np.uint64), np.array([far], dtype=np.uint64)).tolist() == [k + 1]


def test_hamming_on_uint64_and_on_int64_bits():
    a = np.array([0, 0xFFFFFFFFFFFFFFFF, 0x8000000000000001], dtype=np.uint64)
    b = np.array([0, 0, 0x0000000000000001], dtype=np.uint64)
    assert hamming(a, b).tolist() == [0, 64, 1]
    assert hamming(a.view(np.int64), b.view(np.int64)).tolist() == [0, 64, 1]


def test_parse_phashes_accepts_only_16_hex_digits():
    values = ["0123456789abcdef", "FFFFFFFFFFFFFFFF", None, "0x23456789abcdef", "0123456789abcde",
              "0123_56789abcdef", 7]
    hashes, valid = parse_phashes(values)
    assert valid.tolist() == [True, True, False, False, False, False, False]
    assert hashes[:2].tolist() == [0x0123456789ABCDEF, 0xFFFFFFFFFFFFFFFF]
    assert hashes[2:].tolist() == [0] * 5


def test_dedup_config_from_yaml_dict_and_validation():
    cfg = from_dict(DedupConfig, {"reference_tables": "s3://refs/imagenet,/data/coco", "max_hamming": 4})
    assert cfg.reference_tables == ("s3://refs/imagenet", "/data/coco")
    assert (cfg.max_hamming, cfg.pair_dedup, cfg.num_partitions) == (4, True, 8)
    assert DedupConfig() == DedupConfig(reference_tables=(), max_hamming=0, pair_dedup=True, num_partitions=8)
    with pytest.raises(ConfigError):
        from_dict(DedupConfig, {"max_hamming": 40})
    with pytest.raises(ConfigError):
        from_dict(DedupConfig, {"num_partitions": 0})
    with pytest.raises(ConfigError):
        from_dict(DedupConfig, {"bands": 3})
