#!/usr/bin/env python3
"""Convert your own FADM diffusion weights (diffusion.pth) into safetensors for neuralhead.

    python3 tools/convert_fadm.py diffusion.pth --out weights/fadm.safetensors

The official weights are research-only: download them yourself, convert them here, never
commit them. Needs only Python 3 and numpy (no torch). diffusion.pth is a plain state_dict
of the reference's DiffusionGenerator saved by torch in its zip format (data.pkl plus one raw
file per storage); data.pkl is read with a restricted unpickler that maps only torch's
tensor-rebuilding functions, so nothing from the file is executed.

Output: every tensor under its official state_dict name (`diffusion.denoise_fn.*` and the
schedule buffers `diffusion.*`) in float32, and metadata (JSON strings): `format`,
`version`, `source_sha256`, and `config` = {"unet": {"norm_groups", "image_size"}} — what the
state dict cannot tell (the reference's values, 32 and 256, unless given).
"""
import argparse
import collections
import hashlib
import json
import os
import pickle
import sys
import zipfile

import numpy as np

import converter_errors
from safetensors_io import write_safetensors
from torch_tensors import BoundedUnpickler, StorageRef, rebuild_from_type, rebuild_parameter, rebuild_tensor, storage_dtype

FORMAT, VERSION = "neuralhead-fadm", "1"
PREFIX = "diffusion.denoise_fn."
# FADM's largest tensor is a few MB and its state_dict pickle a few hundred KB: anything far
# beyond is refused before it is inflated (a zip entry can claim to expand to any size).
MAX_STORAGE_BYTES = 1 << 30
MAX_PICKLE_BYTES = 64 << 20
REQUIRED = ["downs.0.weight", "final_conv.block.3.weight", "time_mlp.1.weight", "condition_conv.resnet.6.weight"]


class StateDictUnpickler(BoundedUnpickler):
    """data.pkl of a zip checkpoint; storages are read from the archive on demand."""

    def __init__(self, file, archive, root):
        super().__init__(file)
        self.archive, self.root = archive, root

    def find_class(self, module, name):
        allowed = {
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): rebuild_parameter,
            ("torch._utils", "_rebuild_from_type_v2"): rebuild_from_type,
        }
        if (module, name) in allowed:
            return allowed[(module, name)]
        if module == "torch" and name.endswith("Storage"):
            return storage_dtype(name)
        raise pickle.UnpicklingError(f"the file refers to {module}.{name}, which a plain state_dict does not need")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError("unexpected persistent id (not a tensor storage)")
        _, dtype, key, _location, numel = pid[:5]
        ref = StorageRef(np.dtype(dtype), str(key), int(numel))
        name = f"{self.root}/data/{ref.key}"
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise pickle.UnpicklingError(f"storage {ref.key} is missing from the archive") from None
        nbytes = ref.numel * ref.dtype.itemsize
        if ref.numel < 0 or nbytes > MAX_STORAGE_BYTES:
            raise pickle.UnpicklingError(f"storage {ref.key} claims {nbytes} bytes (at most {MAX_STORAGE_BYTES})")
        if info.file_size < nbytes:
            raise pickle.UnpicklingError(f"storage {ref.key} is truncated")
        # Only what the storage needs is inflated, whatever the entry claims to expand to.
        with self.archive.open(info) as f:
            raw = f.read(nbytes)
        if len(raw) < nbytes:
            raise pickle.UnpicklingError(f"storage {ref.key} is truncated")
        return np.frombuffer(raw, dtype=ref.dtype.newbyteorder("<"), count=ref.numel)


def load_state_dict(path):
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise SystemExit(
            f"error: {path} is not a torch zip checkpoint ({err}). diffusion.pth from the FADM release "
            "is one; re-download it if it is damaged.")
    with archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise SystemExit(f"error: {path} has {len(pickles)} data.pkl entries; it is not a torch checkpoint")
        root = pickles[0][: -len("/data.pkl")]
        order = f"{root}/byteorder"
        if order in archive.namelist() and archive.read(order).strip() != b"little":
            raise SystemExit(f"error: {path} was saved on a big-endian machine, which is not supported")
        if archive.getinfo(pickles[0]).file_size > MAX_PICKLE_BYTES:
            raise SystemExit(f"error: {path}'s data.pkl expands past {MAX_PICKLE_BYTES >> 20} MB; it is not FADM's state_dict")
        try:
            with archive.open(pickles[0]) as f:
                return StateDictUnpickler(f, archive, root).load()
        except Exception as err:  # noqa: BLE001 - whatever a malformed pickle raises, say so
            raise SystemExit(f"error: {path} cannot be read as a FADM state_dict: {err!r:.300}")


def convert(args):
    state = load_state_dict(args.checkpoint)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise SystemExit(f"error: {args.checkpoint} holds a {type(state).__name__}, not a state_dict")
    missing = [PREFIX + k for k in REQUIRED if PREFIX + k not in state]
    if missing:
        raise SystemExit(
            f"error: {args.checkpoint} is not FADM's DiffusionGenerator state_dict: it lacks {', '.join(missing)}")
    tensors = {}
    for key, array in state.items():
        if not isinstance(array, np.ndarray):
            continue
        if array.dtype.kind == "f":
            array = array.astype(np.float32)
            if not np.isfinite(array).all():
                raise SystemExit(f"error: {key} holds NaN or infinite values; the checkpoint is corrupt")
        tensors[key] = array
    with open(args.checkpoint, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "source_sha256": digest,
        "config": json.dumps({"unet": {"norm_groups": args.norm_groups, "image_size": args.image_size}}),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, dict(sorted(tensors.items())), metadata)
    count = sum(a.size for k, a in tensors.items() if k.startswith(PREFIX) and not k.endswith("inv_freq"))
    print(f"wrote {args.out}: {len(tensors)} tensors, {count:,} network parameters")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="the official diffusion.pth")
    parser.add_argument("--out", required=True, help="the safetensors file to write")
    parser.add_argument("--norm-groups", type=int, default=32, help="GroupNorm groups of the U-Net (reference: 32)")
    parser.add_argument("--image-size", type=int, default=256, help="the resolution it was trained at (reference: 256)")
    args = parser.parse_args()
    converter_errors.run(convert, args, args.checkpoint)


if __name__ == "__main__":
    sys.exit(main())
