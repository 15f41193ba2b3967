// Build facts passed by cli/CMakeLists.txt as compile definitions.
#include <flashlab/cli/build_info.hpp>

namespace flashlab::cli {

const char* flashlab_version() {
  return FLASHLAB_VERSION;
}
const char* build_type() {
  return FLASHLAB_BUILD_TYPE[0] != '\0' ? FLASHLAB_BUILD_TYPE : "(none)";
}
bool built_with_cuda() {
  return FLASHLAB_HAVE_CUDA != 0;
}

}  // namespace flashlab::cli
