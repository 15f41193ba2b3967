// Lab 4's allocation probe, force-included (-include) in every file of the lab's graders before
// anything else: Eigen then reports the size of every dynamic matrix it allocates (its
// EIGEN_DENSE_STORAGE_CTOR_PLUGIN hook), and the grader replaces operator new to see
// std::vector and friends. While armed, the probe keeps the largest allocation, counted in
// 4-byte elements (floats; Eigen reports elements, operator new bytes / 4).
#pragma once

#include <cstddef>

namespace flashlab::labs::lab4 {
void note_elements(std::size_t elements);
}  // namespace flashlab::labs::lab4

// A full statement: Eigen also expands it where only `size` (elements) is in scope.
#define EIGEN_DENSE_STORAGE_CTOR_PLUGIN \
  ::flashlab::labs::lab4::note_elements(static_cast<std::size_t>(size));
