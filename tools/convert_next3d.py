#!/usr/bin/env python3
"""Convert your own Next3D checkpoint (next3d_ffhq_512.pkl) into safetensors for neuralhead.

    python3 tools/convert_next3d.py next3d_ffhq_512.pkl --out weights/next3d_ffhq_512.safetensors

The official weights are licence-restricted: download them yourself, convert them here, never
commit them. Needs only Python 3 and numpy (no torch). The pickle is read with a restricted
unpickler: persistent classes (which carry their own source code) become inert records,
torch tensors are rebuilt from their storages by parsing torch's legacy serialisation, and
nothing from the file is executed. The embedded class sources are written to a folder beside
the output (`<out>.sources/`) so that you can audit what the checkpoint really runs (see
spec: the released code is not the code that produced the checkpoint); do not commit them.

Output: every parameter and buffer of the network (G_ema by default) under its official
state_dict name, plus the plain tensor attributes (`renderer.plane_axes`, `uv_face_mask`,
`orth_scale`, `orth_shift`); metadata (JSON strings): `rendering_kwargs`, `init_kwargs` of
every persistent module by path, `class_names`, `neural_rendering_resolution`, `plain`
(the other plain attributes).
"""
import argparse
import collections
import hashlib
import io
import json
import os
import pickle
import sys

import numpy as np

import converter_errors
from safetensors_io import write_safetensors
from torch_tensors import BoundedUnpickler, StorageRef, rebuild_from_type, rebuild_parameter, rebuild_tensor, storage_dtype

FORMAT, VERSION = "neuralhead-next3d", "1"

class Record:
    """An inert stand-in for any class the checkpoint names: it keeps the pickled state.
    (Protocol-2 pickles create it without calling __init__, hence the class defaults.)"""

    state = None

    def __init__(self, *args, **kwargs):
        self.state = {}

    def __setstate__(self, state):
        self.state = state

    @property
    def class_name(self):
        return type(self).__name__


class PersistentRecord(Record):
    """A `@persistent_class` object: its class name, embedded source and state."""

    def __init__(self, meta):
        super().__init__()
        if not isinstance(meta, dict) or meta.get("type") != "class":
            raise pickle.UnpicklingError("unexpected persistent object record")
        self.persistent_name = str(meta.get("class_name", "?"))
        self.module_src = str(meta.get("module_src", ""))
        self.state = meta.get("state") or {}

    @property
    def class_name(self):
        return self.persistent_name


class EasyDict(dict):
    pass


def _record_class(module, name):
    return type(name, (Record,), {"__module__": module})


class StorageUnpickler(BoundedUnpickler):
    """The inner pickles of torch's legacy `torch.save` (one per storage)."""

    def find_class(self, module, name):
        if module == "torch" and name.endswith("Storage"):
            return storage_dtype(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"storage record refers to {module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError("unexpected persistent id in a storage record")
        _, dtype, key, _location, numel = pid[:5]
        return StorageRef(np.dtype(dtype), key, numel)


def load_storage(data):
    """`torch.storage._load_from_bytes`: magic, protocol, system info, the storage record,
    the storage keys, then per key its element count (int64) and raw little-endian bytes."""
    f = io.BytesIO(data)
    header = [StorageUnpickler(f).load() for _ in range(3)]
    if header[0] != 0x1950A86A20F9469CFC6C or not isinstance(header[2], dict):
        raise pickle.UnpicklingError("a tensor storage is not in torch's serialisation format")
    if not header[2].get("little_endian", True):
        raise pickle.UnpicklingError("big-endian checkpoints are not supported")
    ref = StorageUnpickler(f).load()
    keys = StorageUnpickler(f).load()
    arrays = {}
    for key in keys:
        count = int(np.frombuffer(f.read(8), dtype="<i8")[0])
        nbytes = count * ref.dtype.itemsize
        raw = f.read(nbytes)
        if len(raw) != nbytes:
            raise pickle.UnpicklingError("a tensor storage is truncated")
        arrays[key] = np.frombuffer(raw, dtype=ref.dtype.newbyteorder("<"))
    return arrays[ref.key]


class CheckpointUnpickler(BoundedUnpickler):
    def find_class(self, module, name):
        allowed = {
            ("torch_utils.persistence", "_reconstruct_persistent_obj"): PersistentRecord,
            ("torch.storage", "_load_from_bytes"): load_storage,
            ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
            ("torch._utils", "_rebuild_parameter_with_state"): rebuild_parameter,
            ("torch._utils", "_rebuild_from_type_v2"): rebuild_from_type,
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("dnnlib.util", "EasyDict"): EasyDict,
            ("builtins", "set"): set,
            ("builtins", "frozenset"): frozenset,
            ("builtins", "slice"): slice,
            ("torch", "device"): str,
            ("torch", "Size"): tuple,
        }
        if (module, name) in allowed:
            return allowed[(module, name)]
        if module == "numpy" and name == "dtype":
            return np.dtype
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "scalar":
            core = getattr(np, "_core", None) or np.core
            return core.multiarray.scalar
        if module.split(".")[0] in ("training", "training_avatar_texture", "torch") and "." in module:
            # Modules referenced by path (torch.nn containers, ImportanceRenderer, OSGDecoder…):
            # only their pickled state is kept. Functions and anything else are refused.
            if name[:1].isupper():
                return _record_class(module, name)
        raise pickle.UnpicklingError(f"the checkpoint refers to {module}.{name}, which this converter does not load")


def module_state(obj):
    if not isinstance(obj, Record):
        return None
    return obj.state if isinstance(obj.state, dict) else {}


def walk(obj, path, out):
    """Collects parameters, persistent buffers and plain tensor attributes of a module tree
    (`out`: tensors, init kwargs, class names, sources, plain attributes)."""
    state = module_state(obj)
    if state is None:
        return
    name = path.rstrip(".")
    out["classes"][name] = obj.class_name
    if isinstance(obj, PersistentRecord):
        out["sources"][obj.class_name] = obj.module_src
        out["init_kwargs"][name] = jsonable(state.get("_init_kwargs", {}))
    skip = set(state.get("_non_persistent_buffers_set") or ())
    for key, value in (state.get("_parameters") or {}).items():
        if value is not None:
            out["tensors"][path + key] = value
    for key, value in (state.get("_buffers") or {}).items():
        if value is not None and key not in skip:
            out["tensors"][path + key] = value
    for key, value in state.items():
        if key.startswith("_") or key == "training":
            continue
        if isinstance(value, np.ndarray):
            out["tensors"][path + key] = value
        elif isinstance(value, Record):
            walk(value, f"{path}{key}.", out)
        elif isinstance(value, (bool, int, float, str, dict, list, tuple)) and value is not None:
            out["plain"][path + key] = jsonable(value)
    for key, value in (state.get("_modules") or {}).items():
        walk(value, f"{path}{key}.", out)


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return repr(value)


def source_file_name(class_name, taken):
    """A file name for a class's embedded source that cannot leave its folder: the class name
    comes from the checkpoint, so `../../x`, absolute paths, separators and NUL are reduced to
    plain characters, and a clash with a name already written gets a number."""
    stem = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in class_name)
    stem = stem.strip("_")[:100] or "unnamed"
    name, n = f"{stem}.py", 1
    while name in taken:
        n += 1
        name = f"{stem}_{n}.py"
    return name


def convert(args):
    data = open(args.checkpoint, "rb").read()
    try:
        snapshot = CheckpointUnpickler(io.BytesIO(data)).load()
    except Exception as err:  # noqa: BLE001 - whatever a malformed pickle raises, say so
        raise SystemExit(f"error: {args.checkpoint} is not a Next3D checkpoint this converter can read: {err!r:.300}")
    if not isinstance(snapshot, dict) or args.network not in snapshot:
        keys = ", ".join(map(str, snapshot)) if isinstance(snapshot, dict) else type(snapshot).__name__
        raise SystemExit(f"error: {args.checkpoint} has no `{args.network}` (found: {keys}); is it a Next3D training snapshot?")
    network = snapshot[args.network]
    if not isinstance(network, PersistentRecord):
        raise SystemExit(f"error: `{args.network}` is not a persistent generator object")
    out = {"tensors": {}, "init_kwargs": {}, "classes": {}, "sources": {}, "plain": {}}
    walk(network, "", out)
    tensors = {}
    for key, array in out["tensors"].items():
        if array.dtype == np.float64 or array.dtype == np.float16:
            array = array.astype(np.float32)
        elif array.dtype == np.int32:
            array = array.astype(np.int64)
        tensors[key] = array
    state = network.state
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "source_sha256": hashlib.sha256(data).hexdigest(),
        "generator_class": network.class_name,
        "rendering_kwargs": json.dumps(jsonable(state.get("rendering_kwargs", {}))),
        "neural_rendering_resolution": json.dumps(jsonable(state.get("neural_rendering_resolution"))),
        "init_kwargs": json.dumps(out["init_kwargs"]),
        "class_names": json.dumps(out["classes"]),
        "plain": json.dumps(out["plain"]),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, dict(sorted(tensors.items())), metadata)
    sources = args.sources or f"{args.out}.sources"
    os.makedirs(sources, exist_ok=True)
    written = set()
    for class_name, text in sorted(out["sources"].items()):
        name = source_file_name(class_name, written)
        written.add(name)
        with open(os.path.join(sources, name), "w") as f:
            f.write(text)
    print(f"wrote {args.out}: {len(tensors)} tensors; embedded sources of {len(out['sources'])} classes in {sources}/ (for auditing; do not commit)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="the official training snapshot, e.g. next3d_ffhq_512.pkl")
    parser.add_argument("--out", required=True, help="the safetensors file to write")
    parser.add_argument("--network", default="G_ema", help="which network of the snapshot (default G_ema)")
    parser.add_argument("--sources", help="folder for the embedded class sources (default <out>.sources)")
    args = parser.parse_args()
    converter_errors.run(convert, args, args.checkpoint)


if __name__ == "__main__":
    sys.exit(main())
