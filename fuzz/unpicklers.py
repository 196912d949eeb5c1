#!/usr/bin/env python3
"""Fuzzes the Python converters' restricted unpicklers with atheris (coverage-guided, libFuzzer).

Each target feeds one converter, in this process, a checkpoint made of the fuzzer's bytes:

    py_next3d   tools/convert_next3d.py   a Next3D training snapshot (.pkl)
    py_fadm     tools/convert_fadm.py     a torch zip checkpoint (.pth)
    py_flame    tools/convert_flame.py    FLAME's generic_model.pkl (the other inputs valid)

Every seed in fuzz/corpus/py_* is synthetic — random numbers in the official layouts, made by
tests/fixtures/make_next3d_pickle.py, make_fadm_pth.py and make_synthetic_flame.py — never a
licensed FLAME, Next3D or FADM file.

A clean refusal is `SystemExit("error: ...")`. Anything else is a finding: another exception
(a traceback instead of a message), a file written outside the output folder, code from the
pickle run. libFuzzer's own limits catch hangs (-timeout) and huge allocations (-rss_limit_mb).

    pip install atheris numpy
    python3 fuzz/unpicklers.py py_next3d -max_total_time=900 /tmp/corpus-py_next3d fuzz/corpus/py_next3d
    python3 fuzz/unpicklers.py --replay      # the committed corpus and kept crashers (CI)
"""
import argparse
import contextlib
import importlib
import io
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOOLS = os.path.join(ROOT, "tools")
TARGETS = ("py_next3d", "py_fadm", "py_flame")
WORK = tempfile.mkdtemp(prefix="neuralhead-unpicklers-")


def converter(name):
    if TOOLS not in sys.path:
        sys.path.insert(0, TOOLS)
    return importlib.import_module(name)


def flame_inputs():
    """The synthetic FLAME's template, landmarks and mask, made once (numpy only)."""
    folder = os.path.join(WORK, "flame")
    if not os.path.isdir(folder):
        script = os.path.join(ROOT, "tests", "fixtures", "make_synthetic_flame.py")
        subprocess.run([sys.executable, script, folder], check=True, capture_output=True)
    return folder


def args_for(target, checkpoint, out):
    if target == "py_next3d":
        return argparse.Namespace(checkpoint=checkpoint, out=out, network="G_ema", sources=None)
    if target == "py_fadm":
        return argparse.Namespace(checkpoint=checkpoint, out=out, norm_groups=32, image_size=256)
    flame = flame_inputs()
    return argparse.Namespace(
        model=checkpoint,
        template=os.path.join(flame, "head_template.obj"),
        landmarks=os.path.join(flame, "landmark_embedding.npy"),
        mask=os.path.join(flame, "uv_face_eye_mask.png"),
        n_shape=10,
        n_expr=10,
        out=out,
    )


MODULES = {"py_next3d": "convert_next3d", "py_fadm": "convert_fadm", "py_flame": "convert_flame"}


def run_one(target, data):
    """Converts `data` as `target`'s checkpoint; raises on a finding."""
    case = tempfile.mkdtemp(dir=WORK)
    try:
        checkpoint = os.path.join(case, "in.bin")
        with open(checkpoint, "wb") as f:
            f.write(data)
        out = os.path.join(case, "out", "model.safetensors")
        module = converter(MODULES[target])
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                # As `main` runs it: the converter behind its last-line error message.
                converter("converter_errors").run(module.convert, args_for(target, checkpoint, out), checkpoint)
        except SystemExit as refusal:
            if not str(refusal.code).startswith("error: "):
                raise AssertionError(f"a refusal without a message: {refusal.code!r}") from refusal
        # Whatever happened, nothing lands outside the case's folder.
        for entry in os.listdir(WORK):
            if entry not in ("flame",) and not os.path.isdir(os.path.join(WORK, entry)):
                raise AssertionError(f"a file appeared outside the output: {entry}")
    finally:
        shutil.rmtree(case, ignore_errors=True)


def inputs(kind, target):
    folder = os.path.join(HERE, kind, target)
    if not os.path.isdir(folder):
        return []
    return [os.path.join(folder, name) for name in sorted(os.listdir(folder))]


def replay():
    count = 0
    for target in TARGETS:
        seeds = inputs("corpus", target)
        if not seeds:
            raise SystemExit(f"fuzz/corpus/{target} has no seeds")
        for path in seeds + inputs("regressions", target):
            with open(path, "rb") as f:
                run_one(target, f.read())
            count += 1
    print(f"replayed {count} inputs through {len(TARGETS)} converters")


def fuzz(target, libfuzzer_args):
    import atheris

    with atheris.instrument_imports():
        converter(MODULES[target])
    if target == "py_flame":
        flame_inputs()

    def one_input(data):
        run_one(target, data)

    atheris.Setup([sys.argv[0], *libfuzzer_args], one_input)
    atheris.Fuzz()


def main():
    try:
        if sys.argv[1:2] == ["--replay"]:
            replay()
        elif len(sys.argv) >= 2 and sys.argv[1] in TARGETS:
            fuzz(sys.argv[1], sys.argv[2:])
        else:
            raise SystemExit(__doc__)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
