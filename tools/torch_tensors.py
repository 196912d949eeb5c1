"""Rebuilding torch tensors as numpy arrays while unpickling, without torch, and the
unpickler every converter in tools/ builds on. Only these functions are ever mapped from
torch's names."""
import pickle

import numpy as np

class BoundedUnpickler(pickle._Unpickler):
    """Python's own unpickler rather than the C one, for every converter: the C unpickler
    allocates whatever size a BINBYTES8 or FRAME opcode claims before it reads, so twenty
    bytes of a damaged file can ask for terabytes; this one reads what is there and stops,
    truncated, at the end of the data. BYTEARRAY8 (protocol 5 buffers, which no checkpoint
    uses) would still allocate first, so it is refused."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def _refuse_bytearray8(self):
        raise pickle.UnpicklingError("the file uses BYTEARRAY8 (pickle protocol 5), which no checkpoint does")

    dispatch[pickle.BYTEARRAY8[0]] = _refuse_bytearray8


STORAGE_DTYPES = {
    "FloatStorage": np.float32, "HalfStorage": np.float16, "DoubleStorage": np.float64,
    "BFloat16Storage": None, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_, "UntypedStorage": np.uint8,
}


def storage_dtype(name):
    """The numpy dtype of `torch.<name>` (a storage class), or a clear refusal."""
    if name not in STORAGE_DTYPES or STORAGE_DTYPES[name] is None:
        raise pickle.UnpicklingError(f"unsupported tensor storage torch.{name}")
    return STORAGE_DTYPES[name]


class StorageRef:
    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel = dtype, key, numel


def _counts(values, what):
    if not isinstance(values, (tuple, list)) or not all(isinstance(v, int) and v >= 0 for v in values):
        raise pickle.UnpicklingError(f"a tensor's {what} is not a list of counts: {values!r:.80}")
    return tuple(values)


def rebuild_tensor(storage, offset, size, stride, *_rest):
    """`torch._utils._rebuild_tensor_v2`: a strided view of the storage, made contiguous.
    Everything is checked first: the view must lie inside the storage (numpy's as_strided
    would read past it) and the copy may not be larger than the storage (a stride of 0
    could claim terabytes from a few bytes)."""
    if not isinstance(storage, np.ndarray) or storage.ndim != 1:
        raise pickle.UnpicklingError("a tensor's storage is not a storage")
    if not isinstance(offset, int) or offset < 0:
        raise pickle.UnpicklingError(f"a tensor's storage offset {offset!r:.40} is not a count")
    size, stride = _counts(size, "size"), _counts(stride, "stride")
    if len(size) != len(stride):
        raise pickle.UnpicklingError("a tensor's size and stride differ in length")
    elements = int(np.prod(size, dtype=object)) if size else 1
    if elements == 0:
        return np.zeros(size, dtype=storage.dtype)
    if elements > max(storage.size, 1):
        raise pickle.UnpicklingError(f"a tensor of {elements} elements claims more than its storage of {storage.size}")
    if not size:
        if offset >= storage.size:
            raise pickle.UnpicklingError("a tensor reaches past its storage")
        return storage[offset:offset + 1].reshape(()).copy()
    needed = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if needed > storage.size:
        raise pickle.UnpicklingError("a tensor reaches past its storage")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], size, [s * item for s in stride])
    return np.ascontiguousarray(view)


def rebuild_parameter(data, *_rest):
    return data


def rebuild_from_type(func, _type, args, _state):
    return func(*args)
