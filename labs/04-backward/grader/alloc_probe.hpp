// Lab 4's hook into the allocation probe (flashlab/labs/alloc_probe.hpp), force-included
// (-include) in every file of the lab's graders before anything else: Eigen then reports the
// size of every dynamic matrix it allocates (its EIGEN_DENSE_STORAGE_CTOR_PLUGIN hook; Eigen's
// own aligned malloc bypasses operator new), counted as floats (the lab's scalar).
#pragma once

#include <flashlab/labs/alloc_probe.hpp>

// A full statement: Eigen also expands it where only `size` (elements) is in scope.
#define EIGEN_DENSE_STORAGE_CTOR_PLUGIN \
  ::flashlab::labs::note_allocation(static_cast<std::size_t>(size) * sizeof(float));
