#!/usr/bin/env python3
"""The Python side of bench/clip.sh: onnxruntime (the PyPI wheel, same version and settings as
CloudVault's) on the same model, pictures, threads and batch size. Prints `RESULT key=value`.

Measured:
  f32_infer_ips   visual encoder on tensors prepared beforehand (the anchor: model speed alone)
  f32_e2e_ips     Immich-style: PIL decode + resize/crop/normalise + inference, batch by batch
  int8_infer_ips  int8 copy, tensors prepared beforehand
  *_text_ms       one text query (tokenized beforehand), median of 20
  agree_*         cosine between CloudVault's float32 embeddings and these (PIL preprocessing)
"""
import argparse
import os
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
SIZE = 224


def result(key, value):
    print(f"RESULT {key}={value}", flush=True)


def session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def preprocess(path):
    # open_clip's transform as Immich applies it: shortest side to 224 (bicubic), centre crop, normalise.
    im = Image.open(path).convert("RGB")
    w, h = im.size
    if w <= h:
        nw, nh = SIZE, int(SIZE * h / w)
    else:
        nw, nh = int(SIZE * w / h), SIZE
    im = im.resize((nw, nh), Image.BICUBIC)
    left, top = int(round((nw - SIZE) / 2.0)), int(round((nh - SIZE) / 2.0))
    im = im.crop((left, top, left + SIZE, top + SIZE))
    arr = (np.asarray(im, np.float32) / 255.0 - MEAN) / STD
    return arr.transpose(2, 0, 1)


def infer_rate(sess, tensors, batch, reps):
    name = sess.get_inputs()[0].name
    sess.run(None, {name: tensors[:batch]})
    rates, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        out = np.concatenate([sess.run(None, {name: tensors[i:i + batch]})[0] for i in range(0, len(tensors), batch)])
        rates.append(len(tensors) / (time.perf_counter() - t))
    return float(np.median(rates)), out


def text_ms(sess, ids, runs=20):
    name = sess.get_inputs()[0].name
    dtype = np.int64 if "int64" in sess.get_inputs()[0].type else np.int32
    x = np.array([ids], dtype)
    sess.run(None, {name: x})
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, {name: x})
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--int8")
    ap.add_argument("--images", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rust-emb", help="CloudVault's float32 embeddings (raw f32) to compare with")
    a = ap.parse_args()
    paths = sorted(os.path.join(a.images, f) for f in os.listdir(a.images) if f.endswith(".jpg"))
    print(f"python: onnxruntime {ort.__version__}, {len(paths)} pictures, {a.threads} threads, batch {a.batch}")

    t = time.perf_counter()
    tensors = np.stack([preprocess(p) for p in paths]).astype(np.float32)
    pil_ms = (time.perf_counter() - t) * 1e3 / len(paths)
    result("py_pil_preprocess_ms", f"{pil_ms:.2f}")

    vis = session(os.path.join(a.model, "visual", "model.onnx"), a.threads)
    rate, out = infer_rate(vis, tensors, a.batch, a.reps)
    print(f"python f32: {rate:.1f} pictures/s on prepared tensors; PIL decode + preprocess {pil_ms:.1f} ms/picture")
    result("py_f32_infer_ips", f"{rate:.2f}")

    # Immich-style end to end: decode and preprocess a batch, run it, next batch (one thread for PIL).
    name = vis.get_inputs()[0].name
    t = time.perf_counter()
    for i in range(0, len(paths), a.batch):
        vis.run(None, {name: np.stack([preprocess(p) for p in paths[i:i + a.batch]])})
    e2e = len(paths) / (time.perf_counter() - t)
    print(f"python f32: {e2e:.1f} pictures/s from JPEG files (PIL, Immich-style)")
    result("py_f32_e2e_ips", f"{e2e:.2f}")

    if a.rust_emb and os.path.exists(a.rust_emb):
        ours = np.fromfile(a.rust_emb, np.float32).reshape(len(paths), -1)
        ref = out / np.linalg.norm(out, axis=1, keepdims=True)
        cos = (ours * ref).sum(1)
        result("agree_mean", f"{cos.mean():.4f}")
        result("agree_min", f"{cos.min():.4f}")
        print(f"agreement of CloudVault's float32 embeddings with PIL-preprocessed ones: mean {cos.mean():.4f}, min {cos.min():.4f}")

    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(a.model, "textual", "tokenizer.json"))
    tok.enable_padding(length=77, pad_id=0)
    tok.enable_truncation(77)
    ids = tok.encode("a dog playing on the beach at sunset").ids
    txt = session(os.path.join(a.model, "textual", "model.onnx"), a.threads)
    ms = text_ms(txt, ids)
    print(f"python f32: text query {ms:.1f} ms")
    result("py_f32_text_ms", f"{ms:.2f}")
    del vis, txt

    if a.int8:
        vis = session(os.path.join(a.int8, "visual", "model.onnx"), a.threads)
        rate, q = infer_rate(vis, tensors, a.batch, a.reps)
        print(f"python int8: {rate:.1f} pictures/s on prepared tensors")
        result("py_int8_infer_ips", f"{rate:.2f}")
        txt = session(os.path.join(a.int8, "textual", "model.onnx"), a.threads)
        ms = text_ms(txt, ids)
        print(f"python int8: text query {ms:.1f} ms")
        result("py_int8_text_ms", f"{ms:.2f}")


if __name__ == "__main__":
    main()
