"""Aesthetic / NSFW heads: published state-dict layouts, and the Keras .h5 → PyTorch converter."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from operators.scorers.convert_nsfw_keras import convert, main
from operators.scorers.heads import AestheticMLP, NsfwHead, load_head


def test_aesthetic_state_dict_matches_laion_layout():
    keys = sorted(AestheticMLP(768).state_dict())
    assert keys == sorted(f"layers.{i}.{p}" for i in (0, 2, 4, 6, 7) for p in ("weight", "bias"))
    shapes = [tuple(AestheticMLP(768).state_dict()[f"layers.{i}.weight"].shape) for i in (0, 2, 4, 6, 7)]
    assert shapes == [(1024, 768), (128, 1024), (64, 128), (16, 64), (1, 16)]


def test_nsfw_state_dict_matches_laion_pytorch_port():
    state = NsfwHead(768).state_dict()
    assert sorted(state) == sorted(["norm.mean", "norm.variance"] +
                                   [f"linear_{i}.{p}" for i in range(1, 5) for p in ("weight", "bias")])
    shapes = [tuple(state[f"linear_{i}.weight"].shape) for i in range(1, 5)]
    assert shapes == [(64, 768), (512, 64), (256, 512), (1, 256)]


def test_aesthetic_is_linear_without_activations():
    """LAION's v2 MLP has no nonlinearity: f(a x + b y) = a f(x) + b f(y) - (a + b - 1) f(0)."""
    head = AestheticMLP(16).eval()
    x, y, zero = torch.randn(16), torch.randn(16), torch.zeros(16)
    with torch.no_grad():
        assert torch.allclose(head(2 * x + 3 * y), 2 * head(x) + 3 * head(y) - 4 * head(zero), atol=1e-4)


def _keras_h5(path, dims, rng, model_file=True):
    """A Keras 2 HDF5 file like LAION's model: input, cast, normalization, dense/re_lu…, sigmoid."""
    weights = {"normalization": {"mean:0": rng.normal(0, 0.1, (1, dims[0])),
                                 "variance:0": rng.uniform(0.5, 2, (1, dims[0])), "count:0": np.array(1000)}}
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        name = "dense" if i == 0 else f"dense_{i}"
        weights[name] = {"kernel:0": rng.normal(0, 0.3, (a, b)), "bias:0": rng.normal(0, 0.1, b)}
    layer_names = ["input_1", "cast_to_float32", "normalization", "dense", "re_lu", "dense_1", "re_lu_1",
                   "dense_2", "re_lu_2", "dense_3", "classification_head_1"]
    with h5py.File(path, "w") as f:
        root = f.create_group("model_weights") if model_file else f
        root.attrs["layer_names"] = np.array([n.encode() for n in layer_names])
        for layer in layer_names:
            group = root.create_group(layer)
            names = [f"{layer}/{w}" for w in weights.get(layer, {})]
            group.attrs["weight_names"] = np.array([n.encode() for n in names])
            for w, value in weights.get(layer, {}).items():
                group.create_dataset(f"{layer}/{w}", data=np.asarray(value, dtype=np.float32))
    return weights


def _keras_forward(weights, x):
    """What the Keras model computes (LAION's port: (x - mean) / (sqrt(var) + 1e-10))."""
    norm = weights["normalization"]
    h = (x - norm["mean:0"]) / (np.sqrt(norm["variance:0"]) + 1e-10)
    for i, name in enumerate(["dense", "dense_1", "dense_2", "dense_3"]):
        h = h @ weights[name]["kernel:0"] + weights[name]["bias:0"]
        h = np.maximum(h, 0) if i < 3 else 1 / (1 + np.exp(-h))
    return h[:, 0]


@pytest.mark.parametrize("model_file", [True, False])
def test_convert_keras_h5_reproduces_the_keras_computation(tmp_path, model_file):
    rng = np.random.default_rng(3)
    weights = _keras_h5(tmp_path / "nsfw.h5", [8, 64, 512, 256, 1], rng, model_file)
    state = convert(tmp_path / "nsfw.h5", tmp_path / "nsfw.pth")
    assert state["linear_1.weight"].shape == (64, 8) and state["norm.mean"].shape == (8,)
    head = load_head("laion_nsfw_l14", tmp_path / "nsfw.pth", 8)      # the production loader
    x = rng.normal(0, 1, (5, 8)).astype(np.float32)
    with torch.no_grad():
        ours = head(torch.from_numpy(x)).numpy()
    assert np.allclose(ours, _keras_forward(weights, x), atol=1e-5)
    assert len(set(np.round(ours, 5))) == 5


def test_convert_rejects_a_different_model(tmp_path, capsys):
    rng = np.random.default_rng(0)
    _keras_h5(tmp_path / "other.h5", [8, 32, 1], rng)     # B/32-like: too few Dense layers
    with pytest.raises(ValueError, match="expected 1 Normalization"):
        convert(tmp_path / "other.h5", tmp_path / "x.pth")
    assert main([]) == 2 and "Usage" in capsys.readouterr().err
