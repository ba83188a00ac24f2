# Sourced by bench/clip.sh and bench/ingest.sh: the full-size CLIP model with random weights
# (bench/make-clip-model.py) and its int8 copy (scripts/quantize-model.py), each rebuilt when its
# script changes. Needs PY (a python with onnx, onnxruntime, numpy), BENCH_DIR, PRESET and say();
# sets MODEL and INT8.
clip_models() {
  local stamp_model stamp_int8
  stamp_model=$(sha256sum bench/make-clip-model.py | cut -c1-12)
  stamp_int8=$(sha256sum scripts/quantize-model.py | cut -c1-12)
  MODEL="$BENCH_DIR/models/ViT-B-32__$PRESET-$stamp_model"
  if [ ! -f "$MODEL/config.json" ]; then
    say "building the $PRESET CLIP model in $MODEL"
    rm -rf "$MODEL.tmp"
    "$PY" bench/make-clip-model.py --preset "$PRESET" "$MODEL.tmp" >&2
    mv "$MODEL.tmp" "$MODEL"
  fi
  INT8="$MODEL-int8-$stamp_int8"
  if [ ! -f "$INT8/config.json" ]; then
    say "quantizing to $INT8"
    "$PY" scripts/quantize-model.py "$MODEL" "$INT8" 2>&1 | grep -v "pre-processing" >&2
  fi
}
