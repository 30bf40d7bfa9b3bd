#!/usr/bin/env bash
# Packs what tools/fidelity/device-sweep.sh needs on a machine with no network and no Node into
# .devpack/ (ignored by git), small enough for a 64 MiB transfer:
#   node.xz         this machine's Node binary, stripped;
#   devpack.tar.xz  the runtime node_modules of @cbtm/pipeline (without the transformers.js and
#                   ONNX runtime packages a tf-idf run never loads) and every package's dist;
#   seed.tar.xz     a seed run folder (runs/<sweep>/seed) made by `cbtm sweep` here;
#   corpus/         the training and validation corpus files.
#
#   bash tools/fidelity/make-devpack.sh runs/sweep-corpus-v1-seed3000000/seed \
#     ../shared/data/corpus-v1/train.jsonl.gz ../shared/data/corpus-v1/valid.jsonl.gz
# Build first (npm run build).
set -euo pipefail
seed=$1
train=$2
valid=$3
root=$PWD
pack=$root/.devpack
grep -qx '/.devpack/' .git/info/exclude 2>/dev/null || {
  mkdir -p .git/info
  echo '/.devpack/' >>.git/info/exclude
}
rm -rf "$pack" && mkdir -p "$pack/corpus"
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

strip -o "$staging/node" "$(command -v node)"
xz -T0 -6 -c "$staging/node" >"$pack/node.xz"

# Runtime dependencies of the pipeline, minus what a tf-idf run never imports.
npm ls --omit=dev --all --parseable -w @cbtm/pipeline 2>/dev/null |
  grep node_modules | sed 's|.*/node_modules/||' | sort -u |
  grep -Ev '^(@cbtm/|@huggingface|@img|onnxruntime-|sharp|@types|@protobufjs|protobufjs|@webgpu|echarts|zrender)' |
  sed 's|^|node_modules/|' | while read -r d; do [ -e "$d" ] && echo "$d"; done >"$staging/deps.txt"
mkdir -p "$staging/tree"
tar cf - --exclude='*.map' --exclude='*.d.ts' --exclude='*.ts' --exclude='*.md' -T "$staging/deps.txt" |
  (cd "$staging/tree" && tar xf -)
find "$staging/tree/node_modules/@tensorflow" -name '*_test.js' -delete
for d in "$staging"/tree/node_modules/@tensorflow/*/dist; do
  rm -f "$d"/*.min.js "$d"/*.fesm.js "$d"/*.es2017.js "$d"/tf-core.js "$d"/tf-backend-cpu.js "$d"/tf-backend-wasm.js
done
mkdir -p "$staging/tree/node_modules/@cbtm"
for p in cluster core embed ensemble pipeline route train; do
  ln -s "../../packages/$p" "$staging/tree/node_modules/@cbtm/$p"
  mkdir -p "$staging/tree/packages/$p"
  cp -r "packages/$p/dist" "$staging/tree/packages/$p/"
done
find "$staging/tree/packages" \( -name '*.map' -o -name '*.d.ts' -o -name '*.test.js' \) -delete
(cd "$staging/tree" && tar cf - .) | xz -T0 -9 >"$pack/devpack.tar.xz"

tar cf - "$seed" | xz -T0 -6 >"$pack/seed.tar.xz"
cp "$train" "$pack/corpus/train.jsonl.gz"
cp "$valid" "$pack/corpus/valid.jsonl.gz"
du -cb "$pack"/*.xz "$pack"/corpus/* | tail -1
