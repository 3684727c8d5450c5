#!/usr/bin/env bash
# Rerun, briefly, every committed report whose results a pull request can change.
#
#   .github/scripts/rerun-changed.sh BASE OUT
#
# BASE: the pull request's base commit. A report is rerun when a file that can alter its results
# (see `harness report --help`, --stale) differs between BASE and the checkout. Each rerun is the
# report's own recorded command (results.json's "command") writing to OUT/NAME, with
# HARNESS_PR_ARGS appended (default "--epochs 1": later options win); set HARNESS_PR_ARGS="" to
# rerun exactly as committed. HARNESS_PR_DRY_RUN=1 prints the commands instead of running them.
# A job that fails is recorded in its results and judged by the comparison, so this goes on; a run
# that cannot start leaves OUT/NAME with its run.log only, which the comparison reports as a failure.
set -euo pipefail
base="$1"
out="$2"
python="${PYTHON:-python3}"
brief="${HARNESS_PR_ARGS---epochs 1}"
mkdir -p "$out"

listed=0
"$python" -m harness report --stale --since "$base" reports/* > "$out/stale.txt" || listed=$?
if [ "$listed" -gt 1 ]; then
  exit "$listed"
fi
grep -v '; up to date$' "$out/stale.txt" > "$out/rerun.txt" || true
while IFS= read -r line; do
  folder="${line%%: *}"
  name="$(basename "$folder")"
  mapfile -d '' command < <("$python" - "$folder/results.json" "$out/$name" "$brief" <<'PY'
import json, shlex, sys
results, target, brief = sys.argv[1:]
words = shlex.split(json.load(open(results, encoding="utf-8"))["command"])
if words[:2] != ["harness", "run"]:
    sys.exit(f"{results}: the recorded command is not a `harness run`: {words[:2]}")
kept, skip = [], False
for word in words[2:]:
    if skip:
        skip = False
    elif word == "--out":
        skip = True
    elif not word.startswith("--out="):
        kept.append(word)
sys.stdout.write("\0".join(["run", *kept, *shlex.split(brief), "--out", target]) + "\0")
PY
  )
  if [ "${HARNESS_PR_DRY_RUN:-}" = 1 ]; then
    printf '%s\n' "harness ${command[*]}"
    continue
  fi
  echo "rerunning $name: harness ${command[*]}" >&2
  mkdir -p "$out/$name"  # even a run that cannot start leaves its folder, so the comparison names it
  "$python" -m harness "${command[@]}" 2> >(tee "$out/$name/run.log" >&2) \
    || echo "harness run for $name exited $? (its results or run.log say why)" >&2
done < "$out/rerun.txt"
