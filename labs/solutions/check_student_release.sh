#!/usr/bin/env bash
# CI check of scripts/make-student-release.sh: the copy has no solutions or mistake fixtures,
# configures without them, and its lab 1 grader builds against the skeleton and fails with
# "TODO" messages. Usage: check_student_release.sh SOURCE_DIR WORK_DIR CMAKE GENERATOR
set -euo pipefail
src=$1 work=$2 cmake=$3 generator=$4
copy=$work/flashlab-student
rm -rf "$work"
mkdir -p "$work"
"$src/scripts/make-student-release.sh" "$copy"
for gone in labs/solutions labs/mistakes; do
  if [ -e "$copy/$gone" ]; then echo "FAILED: $gone is in the student copy" >&2; exit 1; fi
done
"$cmake" -S "$copy" -B "$copy/build" -G "$generator" -DCMAKE_BUILD_TYPE=Debug \
  -DFLASHLAB_CUDA=OFF -DFLASHLAB_BUILD_VISUALIZER=OFF > "$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
"$cmake" --build "$copy/build" --target grade_01_student > "$work/build.log" ||
  { cat "$work/build.log"; exit 1; }
set +e
"$copy/build/flashlab-grade" 1 > "$work/grade.log" 2>&1
rc=$?
set -e
cat "$work/grade.log"
if [ "$rc" != 1 ] || ! grep -q "Score: 0/100" "$work/grade.log" ||
   ! grep -q "TODO not done yet" "$work/grade.log"; then
  echo "FAILED: the released skeleton of lab 1 should score 0/100 with TODO messages (rc=$rc)" >&2
  exit 1
fi
echo "OK: the student copy builds and grades lab 1 against the skeleton"
