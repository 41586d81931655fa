#!/usr/bin/env bash
# Checks that src/kiln/ folders only include folders below them (docs/architecture.md, "Layers").
# usage: tests/layering_test.sh src/kiln
set -uo pipefail
root=${1:?usage: layering_test.sh SRC_KILN_DIR}
# rank of each folder; a folder may include folders of a lower rank and itself.
declare -A rank=(
  [common]=0
  [template]=1 [store]=1
  [project]=2 [config]=2 [data]=2
  [connectors]=3 [python]=3
  [blocks]=4
  [run]=5
  [orchestration]=6
  [server]=7 [cli]=8
)
status=0
for dir in "$root"/*/; do
  mod=$(basename "$dir")
  if [[ -z "${rank[$mod]+x}" ]]; then
    echo "layering: src/kiln/$mod is not in the layer table of tests/layering_test.sh"; status=1; continue
  fi
  while IFS= read -r line; do
    file=${line%%:*}
    dep=$(sed -E 's/.*#include "kiln\/([a-z_]+)\/.*/\1/' <<<"$line")
    [[ "$dep" == "$mod" ]] && continue
    if [[ -z "${rank[$dep]+x}" ]]; then
      echo "layering: $file includes unknown module $dep"; status=1
    elif (( rank[$dep] >= rank[$mod] )); then
      echo "layering: $file ($mod, layer ${rank[$mod]}) includes $dep (layer ${rank[$dep]})"; status=1
    fi
  done < <(grep -rn '#include "kiln/' "$dir" | sed -E 's/^([^:]+):[0-9]+:/\1:/')
done
[[ $status -eq 0 ]] && echo "layering: ok"
exit $status
