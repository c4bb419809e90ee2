#!/usr/bin/env bash
# What the viewer sees beyond ink (docs/materials.md): the shipped `edge` and two fine-tunes of
# it at the CPU recipe's scale (150 scenes of 128x128, 64x64 crops, batch 8; 600 iterations: a
# fine-tune from a trained model, on 2 shared cores), scored per material family on scenes none
# of them trained on (another seed: other pictures).
#   edge-materials: the default content plus faces of skin, foliage of leaves, clothes of cloth
#   edge-no-skin:   the same without the skin scenes (skin held out: what transfers to it)
# Usage: bash train/materials_recipe.sh [OUT]   (OUT must not hold an earlier run)
set -euo pipefail
OUT=${1:-runs/materials}
PY=${PY:-.venv/bin/python}
INK=deadleaves=4,faces=2,charts=1,smooth=1,foliage=1,sky=1
FIT=(--model edge --init device/assets/edge.pt --crop 64 --batch 8 --lr 3e-4 --iters 600
     --val-every 200)
mkdir -p "$OUT"

"$PY" -m device capture --rig sim --mix "$INK,face-skin=2,foliage-leaf=1,clothes-cloth=1" \
    --count 150 --size 128 --seed 21 --leds 718,777,807 --out "$OUT/with-materials"
"$PY" -m device capture --rig sim --mix "$INK,foliage-leaf=1,clothes-cloth=1" \
    --count 150 --size 128 --seed 21 --leds 718,777,807 --out "$OUT/without-skin"
# test sets: seed 77, so no picture is one a model trained on
"$PY" -m device capture --rig sim --mix face-skin=1,foliage-leaf=1,clothes-cloth=1 --test-only \
    --count 36 --size 128 --seed 77 --leds 718,777,807 --out "$OUT/test-materials"
"$PY" -m device capture --rig sim --mix "$INK" --test-only \
    --count 30 --size 128 --seed 77 --leds 718,777,807 --out "$OUT/test-ink"
"$PY" -m train fit --data "$OUT/with-materials" "${FIT[@]}" --out "$OUT/edge-materials"
"$PY" -m train fit --data "$OUT/without-skin" "${FIT[@]}" --out "$OUT/edge-no-skin"
MODELS=(device/assets/edge.pt "$OUT/edge-materials/best.pt" "$OUT/edge-no-skin/best.pt")
"$PY" -m train families --data "$OUT/test-materials" --ckpt "${MODELS[@]}" \
    --out "$OUT/families"
"$PY" -m train eval --data "$OUT/test-ink" --ckpt "${MODELS[@]}" --out "$OUT/eval-ink"
