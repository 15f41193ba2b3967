#!/usr/bin/env bash
# FLASHLAB-INSTRUCTOR-ONLY: makes a class of N submissions of lab 3 to time
# `flashlab-grade 3 --submissions` (docs/labs.md, "Grading a folder of submissions"): one folder
# per student, holding the solution or one of the planted mistakes (labs/mistakes/03-io-aware,
# applied as the build applies them) in turn, with or without the filled-in answers.txt, and a few
# that do not compile, crash or hang (tests/labs/submissions/03-io-aware). Every source gets a
# constant of its own, so no two preprocess alike and ccache cannot reuse one student's compile
# for another, as with real submissions; --copies leaves them identical (ccache's best case).
# Usage: make_class.sh OUT_DIR [N] [--copies]
set -euo pipefail
out=${1:?usage: make_class.sh OUT_DIR [N] [--copies]}
n=${2:-200}
copies=${3:-}
labs=$(cd "$(dirname "$0")/.." && pwd)
solution=$labs/solutions/03-io-aware/io_aware.cpp
answers=$labs/solutions/03-io-aware/answers.txt
bad=$labs/../tests/labs/submissions/03-io-aware
[ ! -e "$out" ] || { echo "make_class.sh: $out exists; give a new folder" >&2; exit 2; }
mkdir -p "$out"
variants=("$solution")
for p in "$labs"/mistakes/03-io-aware/*.patch; do
  v=$out/.variants/$(basename "$p" .patch).cpp
  mkdir -p "$out/.variants"
  patch --quiet --fuzz=0 -o "$v" "$solution" "$p"
  variants+=("$v")
done
broken=(does_not_compile crashes crashes_at_start hangs hangs_at_start)
for ((k = 1; k <= n; k++)); do
  s=$(printf '%s/student%03d' "$out" "$k")
  mkdir -p "$s"
  if ((k % 29 == 0)) && ((k / 29 <= ${#broken[@]})); then  # 5 of 200 broken, spread out
    cp "$bad/${broken[k / 29 - 1]}/io_aware.cpp" "$s/"
  elif ((k % 3 == 0)); then  # a third: a planted mistake, in turn
    cp "${variants[1 + (k / 3) % (${#variants[@]} - 1)]}" "$s/io_aware.cpp"
  else
    cp "$solution" "$s/io_aware.cpp"
  fi
  ((k % 10 == 7)) || cp "$answers" "$s/"  # a tenth hand in no answers
  [ "$copies" = --copies ] ||
    printf '\nnamespace {\n[[maybe_unused]] constexpr int kStudent = %d;\n}\n' "$k" >> "$s/io_aware.cpp"
done
rm -rf "$out/.variants"
echo "made $n submissions of lab 3 in $out"
