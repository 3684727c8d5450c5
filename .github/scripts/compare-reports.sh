#!/usr/bin/env bash
# Compare every rerun report with the base branch's committed one, as ONE pull-request comment.
#
#   .github/scripts/compare-reports.sh OLD_ROOT NEW_ROOT COMMENT
#
# OLD_ROOT: the base branch's reports/ folder; NEW_ROOT: a folder of rerun report folders (the
# same names). COMMENT gets the comment: the verdict on its first line, one `harness compare
# --markdown` per report (several are folded, failures open), and a hidden marker on its last line
# by which the workflow finds the comment to update. Always under GitHub's 65,536 characters.
# Exits 0 when nothing fails, 1 on a correctness break or a regression, 2 when a comparison could
# not be made (the comment says which).
set -uo pipefail
old="$1"
new="$2"
comment="$3"
python="${PYTHON:-python3}"
marker='<!-- harness-pull-request-comment -->'
limit=65536
parts="$(mktemp -d)"
trap 'rm -rf "$parts"' EXIT

folders=()
for folder in "$new"/*/; do
  [ -d "$folder" ] && folders+=("${folder%/}")
done
count=${#folders[@]}
if [ "$count" -eq 0 ]; then
  printf '### ✅ PASS: this pull request changes no file that can alter a committed report'"'"'s results\n\n%s\n' \
    "$marker" > "$comment"
  exit 0
fi

budget=$(( (limit - 1000 - 200 * count) / count ))
worst=0
failing=()
for folder in "${folders[@]}"; do
  name="$(basename "$folder")"
  part="$parts/$name.md"
  status=0
  if [ ! -f "$folder/results.json" ]; then
    status=2
    { printf '### ❌ FAIL: %s was rerun but wrote no results\n\n```\n' "$name"
      [ -f "$folder/run.log" ] && tail -c 2000 "$folder/run.log"
      printf '\n```\n'; } > "$part"
  elif [ ! -f "$old/$name/results.json" ]; then
    printf '### ➖ no committed %s on the base branch to compare with\n' "$name" > "$part"
  else
    "$python" -m harness compare --markdown --max-chars "$budget" "$old/$name" "$folder" > "$part" 2> "$parts/$name.err" \
      || status=$?
    if [ "$status" -ge 2 ]; then
      { printf '### ❌ FAIL: %s could not be compared (exit %s)\n\n```\n' "$name" "$status"
        head -c 2000 "$parts/$name.err"
        printf '\n```\n'; } > "$part"
    fi
  fi
  if [ "$status" -ne 0 ]; then
    failing+=("$name")
    [ "$status" -gt "$worst" ] && worst=$status
  fi
done

{
  if [ "$count" -eq 1 ]; then
    cat "$parts/$(basename "${folders[0]}").md"
  else
    if [ "${#failing[@]}" -gt 0 ]; then
      printf '### ❌ FAIL: %s of %s reports (%s)\n\n' "${#failing[@]}" "$count" "${failing[*]}"
    else
      printf '### ✅ PASS: %s reports, no new correctness break and no significant regression\n\n' "$count"
    fi
    for folder in "${folders[@]}"; do
      name="$(basename "$folder")"
      part="$parts/$name.md"
      open=""
      [[ " ${failing[*]} " == *" $name "* ]] && open=" open"
      printf '<details%s><summary>%s: %s</summary>\n\n' "$open" "$name" "$(head -n 1 "$part" | sed 's/^### //')"
      tail -n +2 "$part"
      printf '\n</details>\n\n'
    done
  fi
  printf '\n%s\n' "$marker"
} > "$comment"

length="$(wc -c < "$comment")"  # UTF-8 bytes: never fewer than the characters GitHub counts
if [ "$length" -ge "$limit" ]; then
  echo "the comment has $length bytes, at or past GitHub's limit of $limit characters" >&2
  exit 2
fi
exit "$worst"
