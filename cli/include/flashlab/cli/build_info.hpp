// What this binary is: version (the CMake project version), build type and whether CUDA is in.
#pragma once

namespace flashlab::cli {

const char* flashlab_version();
const char* build_type();
bool built_with_cuda();

}  // namespace flashlab::cli
