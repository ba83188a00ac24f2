#!/usr/bin/env python3
"""Builds a CLIP ViT-B/32 pair with RANDOM weights in Immich's model-folder layout, for the CLIP
throughput benchmark (bench/clip.sh). Same architecture and compute as OpenAI's ViT-B/32 (87.8M +
63.2M parameters: 12-layer ViT-B/32 at 224 px, 12-layer text transformer over 77 tokens), so speed
figures hold for the real model; the embeddings mean nothing. Never commit the output (~600 MB).

    python3 bench/make-clip-model.py OUT_DIR [--preset vit-b-32|smoke] [--seed 0]

Needs numpy and onnx only (no torch): ~7 s and ~2 GB of memory for vit-b-32. `smoke` is the same
graph at width 64 with 2 layers, for checking the benchmark script quickly. The graph follows
open_clip's (pre-LN blocks, QuickGELU, class token, causal text mask, features at the end-of-text
token); inputs/outputs are named like Immich's exports: image f32 [N,3,224,224] -> embedding
[N,512], text int32 [N,77] -> embedding [N,512], dynamic batch. Outputs are not normalised.
"""
import argparse
import json
import os
import shutil
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PRESETS = {
    "vit-b-32": dict(image=224, patch=32, v_width=768, v_layers=12, v_heads=12,
                     ctx=77, vocab=49408, t_width=512, t_layers=12, t_heads=8, embed=512),
    "smoke": dict(image=224, patch=32, v_width=64, v_layers=2, v_heads=2,
                  ctx=77, vocab=49408, t_width=64, t_layers=2, t_heads=2, embed=512),
}
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]


class Graph:
    def __init__(self, rng):
        self.nodes, self.inits, self.rng, self.n = [], [], rng, 0

    def name(self, prefix):
        self.n += 1
        return f"{prefix}_{self.n}"

    def const(self, arr, prefix="c"):
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def randn(self, shape, std, prefix="w"):
        return self.const((self.rng.standard_normal(shape) * std).astype(np.float32), prefix)

    def op(self, typ, ins, n_out=1, **attrs):
        outs = [self.name(typ.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(typ, ins, outs, **attrs))
        return outs[0] if n_out == 1 else outs

    def linear(self, x, d_in, d_out):
        y = self.op("MatMul", [x, self.randn((d_in, d_out), d_in ** -0.5)])
        return self.op("Add", [y, self.const(np.zeros(d_out, np.float32), "b")])

    def layer_norm(self, x, d):
        return self.op("LayerNormalization", [x, self.const(np.ones(d, np.float32), "g"),
                                              self.const(np.zeros(d, np.float32), "beta")], axis=-1, epsilon=1e-5)

    def attention(self, x, d, heads, mask=None):
        dh = d // heads
        qkv = self.linear(x, d, 3 * d)
        q, k, v = self.op("Split", [qkv, self.const(np.array([d, d, d], np.int64))], n_out=3, axis=-1)
        shape = self.const(np.array([0, 0, heads, dh], np.int64))
        q = self.op("Transpose", [self.op("Reshape", [q, shape])], perm=[0, 2, 1, 3])
        k = self.op("Transpose", [self.op("Reshape", [k, shape])], perm=[0, 2, 3, 1])
        v = self.op("Transpose", [self.op("Reshape", [v, shape])], perm=[0, 2, 1, 3])
        s = self.op("Mul", [self.op("MatMul", [q, k]), self.const(np.array(dh ** -0.5, np.float32))])
        if mask is not None:
            s = self.op("Add", [s, mask])
        o = self.op("MatMul", [self.op("Softmax", [s], axis=-1), v])
        o = self.op("Reshape", [self.op("Transpose", [o], perm=[0, 2, 1, 3]), self.const(np.array([0, 0, d], np.int64))])
        return self.linear(o, d, d)

    def block(self, x, d, heads, mask=None):
        x = self.op("Add", [x, self.attention(self.layer_norm(x, d), d, heads, mask)])
        h = self.linear(self.layer_norm(x, d), d, 4 * d)
        gate = self.op("Sigmoid", [self.op("Mul", [h, self.const(np.array(1.702, np.float32))])])   # QuickGELU
        return self.op("Add", [x, self.linear(self.op("Mul", [h, gate]), 4 * d, d)])


def save(g, inp, out, name, path):
    graph = helper.make_graph(g.nodes, name, [inp], [out], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="cloudvault-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def visual(cfg, rng, path):
    g, w = Graph(rng), cfg["v_width"]
    tokens = (cfg["image"] // cfg["patch"]) ** 2
    x = g.op("Conv", ["image", g.randn((w, 3, cfg["patch"], cfg["patch"]), (3 * cfg["patch"] ** 2) ** -0.5)],
             kernel_shape=[cfg["patch"]] * 2, strides=[cfg["patch"]] * 2)                        # [N,W,7,7]
    x = g.op("Transpose", [g.op("Reshape", [x, g.const(np.array([0, w, -1], np.int64))])], perm=[0, 2, 1])
    batch = g.op("Slice", [g.op("Shape", ["image"]), g.const(np.array([0], np.int64)), g.const(np.array([1], np.int64))])
    cls = g.op("Expand", [g.randn((1, 1, w), w ** -0.5), g.op("Concat", [batch, g.const(np.array([1, w], np.int64))], axis=0)])
    x = g.op("Concat", [cls, x], axis=1)
    x = g.layer_norm(g.op("Add", [x, g.randn((tokens + 1, w), 0.01)]), w)                       # ln_pre
    for _ in range(cfg["v_layers"]):
        x = g.block(x, w, cfg["v_heads"])
    x = g.layer_norm(g.op("Gather", [x, g.const(np.array(0, np.int64))], axis=1), w)            # class token, ln_post
    g.op("MatMul", [x, g.randn((w, cfg["embed"]), w ** -0.5)])
    g.nodes[-1].output[0] = "embedding"
    save(g, helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, cfg["image"], cfg["image"]]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", cfg["embed"]]), "clip_visual", path)


def textual(cfg, rng, path):
    g, w, ctx = Graph(rng), cfg["t_width"], cfg["ctx"]
    ids = g.op("Cast", ["text"], to=TensorProto.INT64)                                           # Immich feeds int32
    x = g.op("Gather", [g.randn((cfg["vocab"], w), 0.02), ids], axis=0)                          # [N,77,W]
    x = g.op("Add", [x, g.randn((ctx, w), 0.01)])
    mask = g.const(np.triu(np.full((ctx, ctx), -np.inf, np.float32), 1))                        # causal
    for _ in range(cfg["t_layers"]):
        x = g.block(x, w, cfg["t_heads"], mask)
    x = g.layer_norm(x, w)                                                                       # ln_final
    eot = g.op("ArgMax", [ids], axis=1, keepdims=1)                                              # end-of-text position
    x = g.op("GatherND", [x, eot], batch_dims=1)                                                 # [N,W]
    g.op("MatMul", [x, g.randn((w, cfg["embed"]), w ** -0.5)])
    g.nodes[-1].output[0] = "embedding"
    save(g, helper.make_tensor_value_info("text", TensorProto.INT32, ["batch", ctx]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", cfg["embed"]]), "clip_textual", path)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--preset", choices=PRESETS, default="vit-b-32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tokenizer", default=os.path.join(here, "..", "tests", "fixtures", "clip-tokenizer.json"))
    a = ap.parse_args()
    cfg, rng = PRESETS[a.preset], np.random.default_rng(a.seed)
    out = a.out_dir
    for sub, fn in (("visual", visual), ("textual", textual)):
        t = time.time()
        fn(cfg, rng, os.path.join(out, sub, "model.onnx"))
        print(f"{sub}/model.onnx: {os.path.getsize(os.path.join(out, sub, 'model.onnx')):,} bytes in {time.time() - t:.1f}s")
    write_json(os.path.join(out, "visual", "preprocess_cfg.json"), {
        "size": [cfg["image"], cfg["image"]], "mode": "RGB", "mean": MEAN, "std": STD,
        "interpolation": "bicubic", "resize_mode": "shortest", "fill_color": 0})
    shutil.copyfile(a.tokenizer, os.path.join(out, "textual", "tokenizer.json"))
    write_json(os.path.join(out, "textual", "tokenizer_config.json"), {
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>", "model_max_length": cfg["ctx"], "tokenizer_class": "CLIPTokenizer"})
    write_json(os.path.join(out, "config.json"), {
        "embed_dim": cfg["embed"],
        "vision_cfg": {"image_size": cfg["image"], "layers": cfg["v_layers"], "width": cfg["v_width"], "patch_size": cfg["patch"]},
        "text_cfg": {"context_length": cfg["ctx"], "vocab_size": cfg["vocab"], "width": cfg["t_width"],
                     "heads": cfg["t_heads"], "layers": cfg["t_layers"]},
        "random_weights": True, "preset": a.preset, "seed": a.seed})


if __name__ == "__main__":
    main()
