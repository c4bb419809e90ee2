#!/usr/bin/env bash
# The shipped `edge` model's recipe on one GPU (docs/training.md: "GPU recipe"): a large capture of the
# default mix (generated content only) rendered on every core, then `edge` (the shipped model),
# `unet-gan` at base width 16 (the paper's "sharper patches" finding) and an ablation `edge`
# trained on a set with the non-held-out photos mixed in (what the photos add), all three
# fitted at once: each is far too small to fill a GPU alone. Then the test sets: the capture's
# own test split, a sample of its train split (what the models saw), the held-out photos, and
# crops of the six non-held-out photos (four of them in the ablation's train split).
# Usage: bash train/gpu_recipe.sh [OUT]   (OUT must not hold an earlier run)
# Sizes through the environment: SCENES (4000: the whole set stays in each trainer's 2 GiB
# cache), ITERS (5000), BATCH (64), CROP (96), WORKERS (all cores), PY (.venv/bin/python),
# EVAL (1; 0 stops after the fits, e.g. to evaluate on another machine).
set -euo pipefail
OUT=${1:-runs/gpu-recipe}
PY=${PY:-.venv/bin/python}
SCENES=${SCENES:-4000}
ITERS=${ITERS:-5000}
WORKERS=${WORKERS:-$(nproc)}
FIT=(--crop "${CROP:-96}" --batch "${BATCH:-64}" --lr 1e-3 --iters "$ITERS"
     --val-every $(( ITERS / 5 > 0 ? ITERS / 5 : 1 )) --seed 0)
CAPTURE=(--rig sim --size 128 --leds 718,777,807)
mkdir -p "$OUT"
pids=()
wait_all() {   # every background job started since the last call; fails if any failed
    for pid in "${pids[@]}"; do wait "$pid"; done
    pids=()
}

# Two sets at once, half the cores each; the second gives the photos one part in 21. Same seed:
# where both draw the same kind at the same index it is the same picture. The split is a cut of
# the sources ranked by hash, so check before scoring one set's model on the other's test split
# (at 4000 scenes none of the first set's 400 test scenes is a train scene of the second).
"$PY" -m device capture "${CAPTURE[@]}" --count "$SCENES" --seed 1 \
    --workers $(( (WORKERS + 1) / 2 )) --out "$OUT/data" & pids+=($!)
"$PY" -m device capture "${CAPTURE[@]}" --count "$SCENES" --seed 1 \
    --mix deadleaves=4,faces=2,charts=1,smooth=1,foliage=1,sky=1,photos=0.5 \
    --workers $(( (WORKERS + 1) / 2 )) --out "$OUT/data-with-photos" & pids+=($!)
wait_all
"$PY" -m device capture "${CAPTURE[@]}" --held-out --count 12 --seed 7 --out "$OUT/held-out"
"$PY" -m device capture "${CAPTURE[@]}" --mix photos=1 --test-only --count 12 --seed 7 \
    --out "$OUT/other-photos"

"$PY" -m train fit --data "$OUT/data" --model edge "${FIT[@]}" --out "$OUT/edge" & pids+=($!)
"$PY" -m train fit --data "$OUT/data" --model unet-gan --base 16 "${FIT[@]}" \
    --out "$OUT/unet-gan" & pids+=($!)
"$PY" -m train fit --data "$OUT/data-with-photos" --model edge "${FIT[@]}" \
    --out "$OUT/edge-with-photos" & pids+=($!)
wait_all
[ "${EVAL:-1}" = 1 ] || exit 0

MODELS=("$OUT/edge/best.pt" "$OUT/unet-gan/best.pt" "$OUT/edge-with-photos/best.pt")
"$PY" -m train eval --data "$OUT/data" --out "$OUT/eval" --ckpt "${MODELS[@]}"
"$PY" -m train eval --data "$OUT/data" --split train --scenes 400 --out "$OUT/eval-seen" \
    --ckpt "${MODELS[@]}"
"$PY" -m train eval --data "$OUT/held-out" --out "$OUT/eval-held-out" --ckpt "${MODELS[@]}"
"$PY" -m train eval --data "$OUT/other-photos" --out "$OUT/eval-other-photos" --ckpt "${MODELS[@]}"
