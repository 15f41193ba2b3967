# Warnings and sanitizers, applied to every flashlab target through flashlab_target_defaults().
add_library(flashlab_build_flags INTERFACE)
add_library(flashlab::build_flags ALIAS flashlab_build_flags)
target_compile_options(flashlab_build_flags INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion>)
if(FLASHLAB_SANITIZE)
  target_compile_options(flashlab_build_flags INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all>)
  # -O1, as the AddressSanitizer documentation recommends: the Debug build's -O0 made the
  # Eigen-heavy CPU tests under the sanitizers take 19 minutes on 2 cores (6.6 at -O1). The last
  # -O wins, so this overrides the Debug preset's -O0; asserts stay on (no NDEBUG). GCC 12 then
  # warns maybe-uninitialized inside libstdc++'s <regex> (std::function in its NFA), a false
  # positive that GCC's manual says the sanitizers' instrumentation can cause; the default and
  # release builds keep the warning.
  target_compile_options(flashlab_build_flags INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-O1 -Wno-maybe-uninitialized>)
  target_link_options(flashlab_build_flags INTERFACE -fsanitize=address,undefined)
endif()
