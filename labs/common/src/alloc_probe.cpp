// The allocation probe (alloc_probe.hpp) and the operator new and delete that report to it.
// Every non-aligned operator new and delete is replaced, so that every pair matches, also under
// ASan. A static library: this object, and so the replacement, is linked only into graders that
// use AllocationProbe.
#include <flashlab/labs/alloc_probe.hpp>

#include <cassert>
#include <cstdlib>
#include <new>

namespace flashlab::labs {
namespace {
bool g_armed = false;
std::size_t g_largest = 0;
}  // namespace

void note_allocation(std::size_t bytes) {
  if (g_armed && bytes > g_largest) g_largest = bytes;
}

AllocationProbe::AllocationProbe() {
  assert(!g_armed);
  g_armed = true;
  g_largest = 0;
}

AllocationProbe::~AllocationProbe() {
  g_armed = false;
}

std::size_t AllocationProbe::largest_bytes() const {
  return g_largest;
}

}  // namespace flashlab::labs

void* operator new(std::size_t bytes) {
  flashlab::labs::note_allocation(bytes);
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t bytes, const std::nothrow_t&) noexcept {
  flashlab::labs::note_allocation(bytes);
  return std::malloc(bytes == 0 ? 1 : bytes);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void* operator new[](std::size_t bytes) {
  return operator new(bytes);
}
void* operator new[](std::size_t bytes, const std::nothrow_t& t) noexcept {
  return operator new(bytes, t);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
