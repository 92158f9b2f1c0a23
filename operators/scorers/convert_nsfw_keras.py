"""Convert LAION's Keras NSFW detector (.h5, Keras 2 HDF5 layout) to the PyTorch state dict of
`heads.NsfwHead`, reading the file with h5py only (no TensorFlow).

Usage: python -m operators.scorers.convert_nsfw_keras MODEL.h5 OUT.pth

The default weights (config.NSFW_URL) are LAION's own PyTorch port of the same model and need no
conversion; this is for a Keras file you already have. LAION's zip holds a TensorFlow SavedModel,
not HDF5: convert that once where TensorFlow exists (`load_model(dir).save("nsfw.h5")`).
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np
import torch

from operators.scorers.heads import NsfwHead

N_DENSE = 4


def _decode(names) -> list[str]:
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def read_keras_h5(path: str | Path) -> list[tuple[str, dict[str, np.ndarray]]]:
    """[(layer name, {weight short name: array})] in layer order, layers with weights only."""
    import h5py

    layers = []
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in root.attrs:
            raise ValueError(f"{path} is not a Keras 2 HDF5 model/weights file (no layer_names attribute)")
        for layer in _decode(root.attrs["layer_names"]):
            group = root[layer]
            names = _decode(group.attrs.get("weight_names", []))
            if names:
                # "dense_1/kernel:0" -> "kernel"
                layers.append((layer, {n.rsplit("/", 1)[-1].split(":")[0]: np.asarray(group[n]) for n in names}))
    return layers


def keras_to_state_dict(layers: list[tuple[str, dict[str, np.ndarray]]]) -> dict[str, torch.Tensor]:
    """Normalization (mean, variance) then 4 Dense layers (kernel, bias) → NsfwHead's keys."""
    norms = [w for _, w in layers if {"mean", "variance"} <= set(w)]
    denses = [w for _, w in layers if {"kernel", "bias"} <= set(w)]
    if len(norms) != 1 or len(denses) != N_DENSE:
        found = [(name, sorted(w)) for name, w in layers]
        raise ValueError(f"expected 1 Normalization + {N_DENSE} Dense layers (LAION's L/14 NSFW model), found {found}")
    state = {"norm.mean": torch.from_numpy(norms[0]["mean"].reshape(-1).astype(np.float32)),
             "norm.variance": torch.from_numpy(norms[0]["variance"].reshape(-1).astype(np.float32))}
    for i, dense in enumerate(denses, start=1):
        state[f"linear_{i}.weight"] = torch.from_numpy(dense["kernel"].T.astype(np.float32).copy())
        state[f"linear_{i}.bias"] = torch.from_numpy(dense["bias"].astype(np.float32))
    NsfwHead(state["norm.mean"].numel()).load_state_dict(state, strict=True)   # shapes check
    return state


def find_h5(path: Path) -> Path:
    """The .h5 itself, or the one inside a zip (extracted next to it)."""
    if path.suffix != ".zip":
        return path
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.namelist() if m.endswith((".h5", ".hdf5"))]
        if not members:
            if any(m.endswith("saved_model.pb") for m in archive.namelist()):
                raise ValueError(f"{path} holds a TensorFlow SavedModel, not HDF5: use the default PyTorch weights "
                                 "(score.nsfw.weights default) or save it as .h5 once with TensorFlow")
            raise ValueError(f"no .h5 file inside {path}")
        return Path(archive.extract(members[0], path.parent))


def convert(src: str | Path, dest: str | Path) -> dict[str, torch.Tensor]:
    state = keras_to_state_dict(read_keras_h5(find_h5(Path(src))))
    torch.save(state, str(dest))
    return state


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    state = convert(args[0], args[1])
    print(f"wrote {args[1]}: input dim {state['norm.mean'].numel()}, {len(state)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
