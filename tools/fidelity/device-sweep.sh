#!/usr/bin/env bash
# Runs grid points of a corpus-v1 `cbtm sweep` in parallel on a many-core machine (the 16-core
# device machine this project is sometimes lent), all branching from one seed run made
# earlier on this machine, and packs what the runs wrote (sweep-results.json, eval results,
# train results and states; not the model weights) into $OUT/results.tgz every 20 s, so a run
# cut short still returns the points it finished.
#
# It needs, under .devpack/ (ignored by git): node.xz (a Node 20 binary), devpack.tar.xz
# (node_modules and the packages' dist, as built here), seed.tar.xz (the seed run,
# runs/<sweep>/seed, with its manifest) and corpus/{train,valid}.jsonl.gz (corpus-v1).
#
#   POINTS="2:1000000 8:1000000" SEED_DIR=runs/sweep-corpus-v1-seed3000000/seed \
#     SEED_TOKENS=3000000 bash tools/fidelity/device-sweep.sh
# Each point is k:tokens and gets its own sweep folder runs/dev/k<k>-t<tokens>/ with a copy of
# the seed run, trained with `train.workers` = k.
set -u
root=$PWD
out=${OUT:-$root/.devout}
mkdir -p "$out"
started=$(date +%s)
# Unpacks an .xz file or .tar.xz archive with xz, or with Python where xz is missing.
unxz_to() { if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi; }
untar_xz() { if command -v xz >/dev/null; then tar xJf "$1" -C "$root"; else python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$root"; fi; }
echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo)"
if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  mkdir -p /tmp/nodebin && unxz_to .devpack/node.xz /tmp/nodebin/node && chmod +x /tmp/nodebin/node
  export PATH=/tmp/nodebin:$PATH
fi
echo "node $(node --version)"
[ -d node_modules/@tensorflow ] || untar_xz .devpack/devpack.tar.xz
[ -d "$SEED_DIR" ] || untar_xz .devpack/seed.tar.xz
echo "unpacked in $(($(date +%s) - started)) s"

pack() {
  (cd "$root" && tar czf "$out/results.tgz.tmp" --ignore-failed-read \
    runs/dev/*/sweep-results.json runs/dev/*/log.txt \
    runs/dev/*/k*/eval runs/dev/*/k*/train-results.json runs/dev/*/k*/manifest.json \
    runs/dev/*/k*/clusters/metrics.json runs/dev/*/k*/experts/*/train-state.json \
    runs/dev/*/k*/dense/train-state.json 2>/dev/null; mv "$out/results.tgz.tmp" "$out/results.tgz")
}

pids=()
for point in $POINTS; do
  k=${point%%:*}
  tokens=${point##*:}
  dir=runs/dev/k$k-t$tokens
  mkdir -p "$dir"
  [ -d "$dir/seed" ] || cp -r "$SEED_DIR" "$dir/seed"
  cat >"$dir/sweep.json" <<EOF
{
  "out": "$root/$dir",
  "seed": 1,
  "train": { "seedTokens": $SEED_TOKENS, "workers": ${WORKERS:-$k} },
  "eval": { "topK": [1, 2, "all"], "temperature": 0.1, "maxTokensPerDoc": ${EVAL_MAX_TOKENS:-256} },
  "report": { "enabled": false },
  "sweep": { "k": [$k], "tokens": [$tokens], "topK": [1, 2, "all"], "plot": "all" }
}
EOF
  node packages/pipeline/dist/bin.js sweep --config "$dir/sweep.json" \
    --corpus .devpack/corpus/train.jsonl.gz --valid .devpack/corpus/valid.jsonl.gz \
    >"$dir/log.txt" 2>&1 &
  pids+=($!)
done
alive() {
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done
  return 1
}
while alive; do
  sleep 20
  pack
  echo "$(($(date +%s) - started)) s: $(ls runs/dev/*/sweep-results.json 2>/dev/null | wc -l) of ${#pids[@]} points done"
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
pack
for point in $POINTS; do
  k=${point%%:*}
  tokens=${point##*:}
  echo "== k$k-t$tokens"
  tail -n 3 "runs/dev/k$k-t$tokens/log.txt"
done
echo "finished in $(($(date +%s) - started)) s, status $status"
exit $status
