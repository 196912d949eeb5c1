#!/usr/bin/env python3
"""Convert your own FLAME 2020 model into a neuralhead rig file (safetensors).

    python3 tools/convert_flame.py generic_model.pkl \
        --template head_template.obj --landmarks landmark_embedding.npy \
        [--mask uv_face_eye_mask.png] --out weights/flame2020.safetensors

FLAME (flame.is.tue.mpg.de) and DECA's files are licence-restricted: download them yourself,
convert them here, never commit them. Needs only Python 3 and numpy. The pickles are read
with a restricted unpickler that builds nothing but numpy arrays, plain containers and inert
stand-ins for chumpy/scipy objects (whose pickled state is all we need); it executes no code
from the file.
"""
import argparse
import ast
import codecs
import hashlib
import io
import json
import os
import pickle
import struct
import sys
import zlib

import numpy as np

import converter_errors
from safetensors_io import write_safetensors
from torch_tensors import BoundedUnpickler

FORMAT, VERSION = "neuralhead-rig", "1"
NUM_JOINTS = 5


class Inert:
    """Stands in for chumpy.Ch and scipy sparse matrices: keeps the pickled state only."""

    def __init__(self, *args, **kwargs):
        self.state = None

    def __setstate__(self, state):
        self.state = state


def _numpy_reconstruct():
    core = getattr(np, "_core", None) or np.core
    return core.multiarray._reconstruct, core.multiarray.scalar


def _inert_reconstructor(cls, base, state):
    if cls is not Inert:
        raise pickle.UnpicklingError(f"refusing to construct {cls!r}")
    return Inert()


class RestrictedUnpickler(BoundedUnpickler):
    def find_class(self, module, name):
        # Python 2 names, as the default find_class would map them.
        module = {"__builtin__": "builtins", "copy_reg": "copyreg"}.get(module, module)
        reconstruct, scalar = _numpy_reconstruct()
        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): reconstruct,
            ("numpy.core.multiarray", "scalar"): scalar,
            ("numpy._core.multiarray", "scalar"): scalar,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("copyreg", "_reconstructor"): _inert_reconstructor,
            ("builtins", "object"): object,
            ("builtins", "set"): set,
            ("builtins", "frozenset"): frozenset,
            # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, "latin1").
            ("_codecs", "encode"): codecs.encode,
        }
        if (module, name) in allowed:
            return allowed[(module, name)]
        if module.startswith("chumpy") or module.startswith("scipy.sparse"):
            return Inert
        raise pickle.UnpicklingError(f"the file refers to {module}.{name}, which this converter does not load")


def load_pickle(data):
    return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()


def to_array(obj, what):
    """A dense numpy array from an array, a chumpy object or a scipy sparse matrix."""
    if isinstance(obj, np.ndarray):
        return obj
    if isinstance(obj, Inert) and isinstance(obj.state, dict):
        state = obj.state
        if "x" in state:  # chumpy.Ch
            return to_array(state["x"], what)
        if {"data", "indices", "indptr"} <= state.keys():  # scipy csc/csr
            shape = tuple(state.get("_shape") or state.get("shape"))
            data, indices, indptr = (np.asarray(state[k]) for k in ("data", "indices", "indptr"))
            dense = np.zeros(shape, dtype=np.float64)
            columns = state.get("format", "csc") != "csr"
            for outer in range(len(indptr) - 1):
                for k in range(indptr[outer], indptr[outer + 1]):
                    if columns:
                        dense[indices[k], outer] += data[k]
                    else:
                        dense[outer, indices[k]] += data[k]
            return dense
    raise SystemExit(f"error: cannot read `{what}` from the model (unexpected {type(obj).__name__})")


def read_npy(data):
    """A .npy file; object arrays are unpickled with the restricted unpickler."""
    if data[:6] != b"\x93NUMPY":
        raise SystemExit("error: the landmark file is not a .npy file")
    major = data[6]
    if major == 1:
        (length,), start = struct.unpack("<H", data[8:10]), 10
    else:
        (length,), start = struct.unpack("<I", data[8:12]), 12
    header = ast.literal_eval(data[start:start + length].decode("latin1"))
    body = data[start + length:]
    if header["descr"] in ("|O", "O"):
        return load_pickle(body)
    array = np.frombuffer(body, dtype=np.dtype(header["descr"]))
    return array.reshape(header["shape"], order="F" if header["fortran_order"] else "C")


def read_obj(text):
    vertices, uvs, faces, uv_faces = [], [], [], []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            vertices.append([float(x) for x in parts[1:4]])
        elif parts[0] == "vt":
            uvs.append([float(x) for x in parts[1:3]])
        elif parts[0] == "f":
            corners = [p.split("/") for p in parts[1:4]]
            faces.append([int(c[0]) - 1 for c in corners])
            if len(corners[0]) < 2 or not corners[0][1]:
                raise SystemExit("error: the template OBJ has faces without texture coordinates")
            uv_faces.append([int(c[1]) - 1 for c in corners])
    return np.array(vertices), np.array(uvs), np.array(faces), np.array(uv_faces)


def read_png_gray(data):
    """The first channel of an 8-bit, non-interlaced PNG (DECA's mask), with zlib only."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("error: the mask is not a PNG file")
    pos, idat, width = 8, b"", None
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            if depth != 8 or interlace:
                raise SystemExit("error: the mask must be an 8-bit, non-interlaced PNG")
            channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
            if channels is None:
                raise SystemExit("error: palette PNG masks are not supported")
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    image = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for row in range(height):
        line = raw[row * (stride + 1):(row + 1) * (stride + 1)]
        kind, cur = line[0], np.frombuffer(line[1:], dtype=np.uint8).astype(np.int32)
        out = np.zeros(stride, dtype=np.int32)
        for i in range(stride):
            left = out[i - channels] if i >= channels else 0
            up, up_left = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = left
            elif kind == 2:
                pred = up
            elif kind == 3:
                pred = (left + up) // 2
            else:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
            out[i] = (cur[i] + pred) & 0xFF
        image[row], previous = out, out
    return image.reshape(height, width, channels)[:, :, 0].astype(np.uint8)


def resize_nearest(image, size):
    rows = (np.arange(size) * image.shape[0] // size)
    cols = (np.arange(size) * image.shape[1] // size)
    return image[rows][:, cols]


def convert(args):
    model_bytes = open(args.model, "rb").read()
    try:
        model = load_pickle(model_bytes)
    except Exception as err:  # noqa: BLE001 - whatever a malformed pickle raises, say so
        raise SystemExit(f"error: {args.model} is not a FLAME model pickle: {err!r:.300}")
    if not isinstance(model, dict) or "v_template" not in model:
        raise SystemExit(f"error: {args.model} does not look like FLAME's generic_model.pkl (no v_template)")
    get = lambda key: to_array(model[key], key)
    template = get("v_template").astype(np.float64)
    v = template.shape[0]
    shapedirs = get("shapedirs")
    if shapedirs.shape[:2] != (v, 3) or shapedirs.shape[2] < 300 + args.n_expr:
        raise SystemExit(f"error: shapedirs has shape {shapedirs.shape}; FLAME 2020 has ({v}, 3, 400)")
    posedirs = get("posedirs")
    regressor = get("J_regressor")
    weights = get("weights")
    parents = get("kintree_table")[0].astype(np.int64)
    parents[parents > NUM_JOINTS] = -1
    faces = get("f").astype(np.int64)
    if regressor.shape != (NUM_JOINTS, v) or weights.shape != (v, NUM_JOINTS):
        raise SystemExit("error: the model does not have FLAME's five joints")

    # Our joints are named; FLAME's two eyes are told apart by side (+x is the subject's left).
    joints = regressor @ template
    order = [0, 1, 2, 3, 4] if joints[3, 0] >= joints[4, 0] else [0, 1, 2, 4, 3]
    regressor, weights = regressor[order], weights[:, order]
    blocks = posedirs.reshape(v, 3, NUM_JOINTS - 1, 9)[:, :, [o - 1 for o in order[1:]], :]
    posedirs = blocks.reshape(v, 3, -1)
    parents = parents[order]

    obj_vertices, uvs, obj_faces, uv_faces = read_obj(open(args.template).read())
    if obj_vertices.shape[0] != v or not np.array_equal(np.sort(obj_faces, axis=1), np.sort(faces, axis=1)):
        raise SystemExit(f"error: {args.template} does not have the model's topology ({v} vertices, {len(faces)} faces)")
    embedding = read_npy(open(args.landmarks, "rb").read())
    if isinstance(embedding, np.ndarray) and embedding.dtype == object:
        embedding = embedding.item()
    if not isinstance(embedding, dict) or "full_lmk_faces_idx" not in embedding:
        raise SystemExit(f"error: {args.landmarks} is not DECA's landmark_embedding.npy (no full_lmk_faces_idx)")
    lmk_faces = np.asarray(embedding["full_lmk_faces_idx"]).reshape(-1)
    lmk_bary = np.asarray(embedding["full_lmk_bary_coords"]).reshape(-1, 3)
    if len(lmk_faces) != 68:
        raise SystemExit(f"error: the landmark embedding has {len(lmk_faces)} points, expected 68")

    tensors = {
        "v_template": template.astype(np.float32),
        "shapedirs": shapedirs[:, :, :args.n_shape].astype(np.float32),
        "exprdirs": shapedirs[:, :, 300:300 + args.n_expr].astype(np.float32),
        "posedirs": posedirs.astype(np.float32),
        "J_regressor": regressor.astype(np.float32),
        "weights": weights.astype(np.float32),
        "parents": parents.astype(np.int32),
        "f": obj_faces.astype(np.int32),
        "uv_faces": uv_faces.astype(np.int32),
        "uvs": uvs.astype(np.float32),
        "lmk_faces_idx": lmk_faces.astype(np.int32),
        "lmk_bary_coords": lmk_bary.astype(np.float32),
    }
    if args.mask:
        mask = resize_nearest(read_png_gray(open(args.mask, "rb").read()), 256)
        tensors["uv_face_eye_mask"] = mask.reshape(256, 256, 1)
    digest = hashlib.sha256(model_bytes).hexdigest()
    metadata = {
        "format": FORMAT,
        "version": VERSION,
        "kind": "flame2020",
        "source": f"FLAME 2020 {args.model.split('/')[-1]} (sha256 {digest}), converted by tools/convert_flame.py",
        "expression_names": json.dumps([str(i) for i in range(args.n_expr)]),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, tensors, metadata)
    print(f"wrote {args.out}: {v} vertices, {len(obj_faces)} faces, {args.n_shape} shape and {args.n_expr} expression components")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="FLAME 2020 generic_model.pkl")
    parser.add_argument("--template", required=True, help="DECA's head_template.obj (FLAME topology with UVs)")
    parser.add_argument("--landmarks", required=True, help="DECA's landmark_embedding.npy")
    parser.add_argument("--mask", help="DECA's uv_face_eye_mask.png (optional)")
    parser.add_argument("--n-shape", type=int, default=300)
    parser.add_argument("--n-expr", type=int, default=100)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    converter_errors.run(convert, args, args.model)


if __name__ == "__main__":
    sys.exit(main())
