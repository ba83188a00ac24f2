# Sourced by bench/clip.sh and bench/ingest.sh: the full-size CLIP model with random weights
# (bench/make-clip-model.py) and its int8 copy (made by `cloudvault model int8`, as
# `model fetch` makes it for users, then laid out as a plain model folder so the Python side of
# a bench loads the very same graph), each rebuilt when what makes it changes. Needs PY (a python
# with onnx, onnxruntime, numpy), ORT_LIB, BENCH_DIR, PRESET and say(); sets MODEL and INT8.
clip_models() {
  local stamp_model stamp_int8 cv
  stamp_model=$(sha256sum bench/make-clip-model.py | cut -c1-12)
  stamp_int8=$(cat src/ml/quantize.rs src/ml/weights.rs | sha256sum | cut -c1-12)
  MODEL="$BENCH_DIR/models/ViT-B-32__$PRESET-$stamp_model"
  if [ ! -f "$MODEL/config.json" ]; then
    say "building the $PRESET CLIP model in $MODEL"
    rm -rf "$MODEL.tmp"
    "$PY" bench/make-clip-model.py --preset "$PRESET" "$MODEL.tmp" >&2
    mv "$MODEL.tmp" "$MODEL"
  fi
  INT8="$MODEL-int8-$stamp_int8"
  if [ ! -f "$INT8/config.json" ]; then
    say "quantizing to $INT8 (cloudvault model int8)"
    cargo build --release --quiet --bin cloudvault
    cv="${CARGO_TARGET_DIR:-$PWD/target}/release/cloudvault"
    rm -rf "$INT8.tmp" && cp -r "$MODEL" "$INT8.tmp"
    CLOUDVAULT_ML_ONNXRUNTIME="$ORT_LIB" "$cv" --data "$BENCH_DIR/quantize-data" model int8 --dir "$INT8.tmp" --weights int8 >&2
    for enc in visual textual; do mv "$INT8.tmp/$enc/model.int8.onnx" "$INT8.tmp/$enc/model.onnx"; done
    rm -f "$INT8.tmp/weights.json"
    mv "$INT8.tmp" "$INT8"
  fi
}
