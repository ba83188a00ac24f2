#!/usr/bin/env python3
"""Builds CloudVault's tiny test "CLIP": a visual + textual ONNX pair in the Immich model-folder
layout whose embeddings mean something checkable, so tests can go through the real ONNX Runtime,
the real tokenizer and the real preprocessing and still assert results.

    python3 scripts/make-test-model.py OUT_DIR [--tokenizer tests/fixtures/clip-tokenizer.json]

Needs numpy and the `onnx` package only. Deterministic (same bytes every run), ~60 KB in all.

What it computes (embedding dim 32; dims 0..10 are colour directions, 11..31 "everything else"):
  visual  image [N,3,S,S] (normalised with preprocess_cfg's mean/std)
          -> average colour of the picture, un-normalised back to RGB in [0,1]
          -> similarity to 11 colour prototypes, exp(-|rgb - prototype|^2 / 0.06)
          -> placed on the colour dims, x3 (outputs are deliberately not unit length)
  textual text [N,77] int32 CLIP token ids (Immich's exports take int32)
          -> each colour word's real CLIP token ("red" = 736, "grey" and "gray" both to gray, ...)
             adds 3 x its colour direction
          -> every other word adds a small pseudo-random vector on dims 11..31 (hashed id mod 257),
             so non-colour prompts are distinct but orthogonal to every picture
          -> sum over the sequence (padding, start and end tokens add nothing)
So a red picture is closest to "red" and to "a photo of something red", and has cosine 0 with "dog".
The graph inputs/outputs are named like Immich's exports: image -> embedding, text -> embedding,
with a dynamic batch dimension.
"""
import argparse
import json
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EMBED_DIM = 32
IMAGE_SIZE = 224
CONTEXT = 77
MEAN = [0.48145466, 0.4578275, 0.40821073]   # OpenAI CLIP's, as in Immich's preprocess_cfg.json
STD = [0.26862954, 0.26130258, 0.27577711]
SIGMA2 = 0.06
STRENGTH = 3.0
HASH_ROWS = 257

# colour -> (RGB prototype in [0,1], words). Keep in step with the colour labels in config/labels.txt.
COLOURS = [
    ("red", (1.0, 0.0, 0.0), ["red"]),
    ("orange", (1.0, 0.5, 0.0), ["orange"]),
    ("yellow", (1.0, 1.0, 0.0), ["yellow"]),
    ("green", (0.0, 1.0, 0.0), ["green"]),
    ("blue", (0.0, 0.0, 1.0), ["blue"]),
    ("purple", (0.5, 0.0, 0.5), ["purple", "violet"]),
    ("pink", (1.0, 0.75, 0.8), ["pink"]),
    ("brown", (0.6, 0.3, 0.1), ["brown"]),
    ("black", (0.0, 0.0, 0.0), ["black"]),
    ("white", (1.0, 1.0, 1.0), ["white"]),
    ("gray", (0.5, 0.5, 0.5), ["gray", "grey"]),
]
K = len(COLOURS)
SOT, EOT = 49406, 49407


def c(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def save(nodes, inits, inp, out, name, path):
    graph = helper.make_graph(nodes, name, [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="cloudvault-make-test-model", producer_version="1")
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def visual(path):
    protos = np.array([rgb for _, rgb, _ in COLOURS], np.float32)               # [K,3]
    place = np.zeros((K, EMBED_DIM), np.float32)
    place[np.arange(K), np.arange(K)] = STRENGTH
    inits = [
        c("std", np.array(STD, np.float32)),
        c("mean", np.array(MEAN, np.float32)),
        c("axis1", np.array([1], np.int64)),
        c("axis2", np.array([2], np.int64)),
        c("protos", protos),
        c("neg_inv_sigma2", np.array(-1.0 / SIGMA2, np.float32)),
        c("place", place),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["avg"], axes=[2, 3], keepdims=0),   # [N,3] normalised
        helper.make_node("Mul", ["avg", "std"], ["avg_s"]),
        helper.make_node("Add", ["avg_s", "mean"], ["rgb"]),                         # [N,3] in [0,1]
        helper.make_node("Unsqueeze", ["rgb", "axis1"], ["rgb3"]),                   # [N,1,3]
        helper.make_node("Sub", ["rgb3", "protos"], ["diff"]),                       # [N,K,3]
        helper.make_node("Mul", ["diff", "diff"], ["sq"]),
        helper.make_node("ReduceSum", ["sq", "axis2"], ["d2"], keepdims=0),          # [N,K]
        helper.make_node("Mul", ["d2", "neg_inv_sigma2"], ["logit"]),
        helper.make_node("Exp", ["logit"], ["sim"]),
        helper.make_node("MatMul", ["sim", "place"], ["embedding"]),                 # [N,D]
    ]
    save(nodes, inits,
         helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, IMAGE_SIZE, IMAGE_SIZE]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", EMBED_DIM]),
         "cloudvault_test_clip_visual", path)


def textual(path, vocab):
    ids, rows = [], []
    for k, (_, _, words) in enumerate(COLOURS):
        for w in words:
            tok = vocab.get(w + "</w>")
            if tok is None:
                raise SystemExit(f"colour word {w!r} is not a single token in the tokenizer")
            ids.append(tok)
            row = np.zeros(EMBED_DIM, np.float32)
            row[k] = STRENGTH
            rows.append(row)
    rng = np.random.default_rng(20261128)
    table = np.zeros((HASH_ROWS, EMBED_DIM), np.float32)
    table[:, K:] = rng.standard_normal((HASH_ROWS, EMBED_DIM - K)).astype(np.float32)
    table[:, K:] *= 0.3 / np.linalg.norm(table[:, K:], axis=1, keepdims=True)
    inits = [
        c("colour_ids", np.array(ids, np.int64)),                                    # [M]
        c("colour_rows", np.stack(rows)),                                            # [M,D]
        c("minus1", np.array([-1], np.int64)),
        c("axis1", np.array([1], np.int64)),
        c("zero", np.array(0, np.int64)),
        c("sot", np.array(SOT, np.int64)),
        c("hash_rows", np.array(HASH_ROWS, np.int64)),
        c("table", table),
    ]
    nodes = [
        helper.make_node("Cast", ["text"], ["ids"], to=TensorProto.INT64),           # [N,L]
        # colour words: count each colour token, map counts onto the colour dims
        helper.make_node("Unsqueeze", ["ids", "minus1"], ["ids3"]),                  # [N,L,1]
        helper.make_node("Equal", ["ids3", "colour_ids"], ["hit"]),                  # [N,L,M]
        helper.make_node("Cast", ["hit"], ["hitf"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["hitf", "axis1"], ["counts"], keepdims=0),    # [N,M]
        helper.make_node("MatMul", ["counts", "colour_rows"], ["colour_part"]),      # [N,D]
        # every real word (not padding 0, not start/end tokens): a small hashed vector
        helper.make_node("Greater", ["ids", "zero"], ["not_pad"]),
        helper.make_node("Less", ["ids", "sot"], ["not_special"]),
        helper.make_node("And", ["not_pad", "not_special"], ["is_word"]),
        helper.make_node("Cast", ["is_word"], ["wordf"], to=TensorProto.FLOAT),      # [N,L]
        helper.make_node("Unsqueeze", ["wordf", "minus1"], ["wordf3"]),              # [N,L,1]
        helper.make_node("Mod", ["ids", "hash_rows"], ["hashed"]),
        helper.make_node("Gather", ["table", "hashed"], ["vecs"], axis=0),           # [N,L,D]
        helper.make_node("Mul", ["vecs", "wordf3"], ["word_vecs"]),
        helper.make_node("ReduceSum", ["word_vecs", "axis1"], ["word_part"], keepdims=0),
        helper.make_node("Add", ["colour_part", "word_part"], ["embedding"]),
    ]
    save(nodes, inits,
         helper.make_tensor_value_info("text", TensorProto.INT32, ["batch", CONTEXT]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", EMBED_DIM]),
         "cloudvault_test_clip_textual", path)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--tokenizer", default=os.path.join(here, "..", "tests", "fixtures", "clip-tokenizer.json"),
                    help="CLIP tokenizer.json to ship as textual/tokenizer.json")
    a = ap.parse_args()
    with open(a.tokenizer) as f:
        vocab = json.load(f)["model"]["vocab"]
    out = a.out_dir
    os.makedirs(out, exist_ok=True)
    visual(os.path.join(out, "visual", "model.onnx"))
    write_json(os.path.join(out, "visual", "preprocess_cfg.json"), {
        "size": [IMAGE_SIZE, IMAGE_SIZE], "mode": "RGB", "mean": MEAN, "std": STD,
        "interpolation": "bicubic", "resize_mode": "shortest", "fill_color": 0})
    textual(os.path.join(out, "textual", "model.onnx"), vocab)
    shutil.copyfile(a.tokenizer, os.path.join(out, "textual", "tokenizer.json"))
    write_json(os.path.join(out, "textual", "tokenizer_config.json"), {
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "!",
        "unk_token": "<|endoftext|>", "model_max_length": CONTEXT, "do_lower_case": True,
        "tokenizer_class": "CLIPTokenizer"})
    write_json(os.path.join(out, "config.json"), {
        "embed_dim": EMBED_DIM,
        "vision_cfg": {"image_size": IMAGE_SIZE, "layers": 0, "width": 3, "patch_size": IMAGE_SIZE},
        "text_cfg": {"context_length": CONTEXT, "vocab_size": 49408, "width": EMBED_DIM, "heads": 1, "layers": 0},
        "cloudvault_test_model": {"colours": [name for name, _, _ in COLOURS]}})
    sizes = {p: os.path.getsize(os.path.join(out, p)) for p in ("visual/model.onnx", "textual/model.onnx")}
    print(f"test model written to {out}: " + ", ".join(f"{p} {n:,} bytes" for p, n in sizes.items()))


if __name__ == "__main__":
    main()
