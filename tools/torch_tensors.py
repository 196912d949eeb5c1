"""Rebuilding torch tensors as numpy arrays while unpickling, without torch (shared by the
converters in tools/). Only these functions are ever mapped from torch's names."""
import pickle

import numpy as np

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


def rebuild_tensor(storage, offset, size, stride, *_rest):
    """`torch._utils._rebuild_tensor_v2`: a strided view of the storage, made contiguous."""
    size, stride = tuple(size), tuple(stride)
    if not size:
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
