#!/usr/bin/env python3
"""Writes an int8 copy of a CLIP model folder (Immich layout) that CloudVault loads unchanged.

    python3 scripts/quantize-model.py SRC_DIR [DEST_DIR]      default DEST_DIR: SRC_DIR-int8

Both encoders go through ONNX Runtime's dynamic quantization (weights stored as int8, activations
quantized on the fly; no calibration pictures needed). On a small CPU that is ~3x the pictures per
second of the float32 model with embeddings at cosine ~0.99+ to the float32 ones (bench/clip.sh
measures both on this machine). The other files are copied. Then point CloudVault at the copy:

    [ml]
    model_dir = "/var/lib/cloudvault/models/ViT-B-32__openai-int8"

The copy gets its own model id, so its embeddings are never mixed with the float32 model's: the
pictures are embedded again after the switch.

Needs the `onnxruntime` and `onnx` Python packages (pip install onnxruntime onnx, in a venv).
Options: --ops MatMul,Gemm (which operators to quantize; default MatMul and Gemm, the ~all of the
compute; adding Conv or Gather saves a little memory and costs accuracy or speed), --per-channel.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

OTHER_FILES = ["config.json", "visual/preprocess_cfg.json", "textual/tokenizer.json", "textual/tokenizer_config.json"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dest", nargs="?")
    ap.add_argument("--ops", default="MatMul,Gemm", help="operator types to quantize (comma separated)")
    ap.add_argument("--per-channel", action="store_true", help="one scale per output channel")
    a = ap.parse_args()
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        sys.exit("needs the onnxruntime Python package: python3 -m venv v && v/bin/pip install onnxruntime onnx")

    src = os.path.abspath(a.src.rstrip("/"))
    dest = os.path.abspath(a.dest or src + "-int8")
    if dest == src:
        sys.exit("the destination must differ from the source")
    for rel in OTHER_FILES + ["visual/model.onnx", "textual/model.onnx"]:
        if not os.path.isfile(os.path.join(src, rel)):
            sys.exit(f"{os.path.join(src, rel)} is missing: is {src} a CLIP model folder?")

    # Build next to the destination, then rename: a failed run leaves no half-written model.
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".quantize-", dir=parent)
    try:
        for rel in OTHER_FILES:
            os.makedirs(os.path.dirname(os.path.join(work, rel)), exist_ok=True)
            shutil.copyfile(os.path.join(src, rel), os.path.join(work, rel))
        for enc in ("visual", "textual"):
            t = time.time()
            out = os.path.join(work, enc, "model.onnx")
            quantize_dynamic(os.path.join(src, enc, "model.onnx"), out, weight_type=QuantType.QInt8,
                             op_types_to_quantize=[o.strip() for o in a.ops.split(",") if o.strip()],
                             per_channel=a.per_channel)
            before = os.path.getsize(os.path.join(src, enc, "model.onnx"))
            print(f"{enc}: {before / 1e6:.0f} MB -> {os.path.getsize(out) / 1e6:.0f} MB in {time.time() - t:.1f}s")
        if os.path.exists(dest):
            shutil.rmtree(dest)
        os.rename(work, dest)
    finally:
        if os.path.exists(work):
            shutil.rmtree(work, ignore_errors=True)
    print(f"int8 model written to {dest}")


if __name__ == "__main__":
    main()
