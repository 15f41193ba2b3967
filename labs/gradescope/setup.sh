#!/usr/bin/env bash
# Gradescope's setup.sh for a flashlab lab (docs/labs.md, "Grading at scale"): runs once when
# the autograder image is built. The autograder zip holds this file, run_autograder and
# flashlab-student.tar.gz (scripts/make-student-release.sh OUT --tar). Set LAB (1-6) in both.
set -euo pipefail
LAB=${LAB:-1}
root=${AUTOGRADER_ROOT:-/autograder}
cd "$root/source"
tar xzf flashlab-student.tar.gz
flashlab-student/scripts/install-deps.sh
cmake -S flashlab-student -B flashlab-student/build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFLASHLAB_BUILD_VISUALIZER=OFF
# Builds the libraries, the skeleton's grader and the submission tool once; a submission's
# grader is then one compile of the student's file and a link (flashlab-grade --submission).
cmake --build flashlab-student/build --target "grade_$(printf %02d "$LAB")_student" \
  flashlab_lab_submit
