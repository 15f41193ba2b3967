#!/usr/bin/env bash
# Makes the student copy of flashlab: the whole project without the lab solutions and the
# mistake fixtures (labs/solutions, labs/mistakes). In the copy, CMake builds every lab grader
# against the student skeletons only. docs/labs.md explains the release.
#
#   scripts/make-student-release.sh OUT_DIR [--tar]
#
# OUT_DIR must not exist or be empty. --tar also writes OUT_DIR.tar.gz. The copy holds the files
# git tracks plus untracked files git does not ignore (no build folders). The script fails if any
# copied file carries the instructor-only marker that every solution file starts with.
set -euo pipefail

usage() { echo "usage: $0 OUT_DIR [--tar]" >&2; exit 2; }
[ $# -ge 1 ] || usage
out=$1
tar_it=0
[ "${2:-}" = "--tar" ] && tar_it=1
[ $# -le 2 ] || usage

root=$(cd "$(dirname "$0")/.." && pwd)
if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  echo "$0: $out exists and is not empty" >&2
  exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

# The file list: git's view when this is a git checkout, else every file outside build folders.
list=$(mktemp)
trap 'rm -f "$list"' EXIT
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$root" ls-files -z --cached --others --exclude-standard > "$list"
else
  (cd "$root" && find . -type f -not -path './build*' -not -path './.git/*' -print0 |
     sed -z 's|^\./||') > "$list"
fi

# Leave out the instructor's material and anything that no longer exists in the work tree.
count=0
while IFS= read -r -d '' f; do
  case "$f" in
    labs/solutions/*|labs/mistakes/*) continue ;;
  esac
  [ -f "$root/$f" ] || continue
  mkdir -p "$out/$(dirname "$f")"
  cp -p "$root/$f" "$out/$f"
  count=$((count + 1))
done < "$list"

# The marker is spelled in two halves so that this script does not carry it.
marker="FLASHLAB-INSTRUCTOR""-ONLY"
if leaked=$(grep -rl -- "$marker" "$out" 2>/dev/null); then
  echo "$0: instructor-only files would be released:" >&2
  echo "$leaked" >&2
  rm -rf "$out"
  exit 1
fi

echo "student release: $count files in $out (labs/solutions and labs/mistakes left out)"
if [ "$tar_it" = 1 ]; then
  tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
  echo "wrote $out.tar.gz"
fi
