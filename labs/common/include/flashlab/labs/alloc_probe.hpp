// The allocation probe of the graders that bound a student's memory (lab 1: one pass keeps no
// copy of the keys; lab 4: no N x N matrix): while an AllocationProbe lives, the largest single
// allocation is kept. Linking flashlab::labs_alloc_probe replaces operator new and delete, so
// std::vector, new[] and friends report; lab 4 also routes Eigen's allocations here
// (labs/04-backward/grader/alloc_probe.hpp).
#pragma once

#include <cstddef>

namespace flashlab::labs {

// Called for every allocation (operator new, and whatever else reports); counts while armed.
void note_allocation(std::size_t bytes);

class AllocationProbe {
 public:
  AllocationProbe();  // arms the probe (one at a time)
  ~AllocationProbe();
  AllocationProbe(const AllocationProbe&) = delete;
  AllocationProbe& operator=(const AllocationProbe&) = delete;
  std::size_t largest_bytes() const;
};

}  // namespace flashlab::labs
