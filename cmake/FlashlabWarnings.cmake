# Warnings and sanitizers, applied to every flashlab target through flashlab_target_defaults().
add_library(flashlab_build_flags INTERFACE)
add_library(flashlab::build_flags ALIAS flashlab_build_flags)
target_compile_options(flashlab_build_flags INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion>)
if(FLASHLAB_SANITIZE)
  target_compile_options(flashlab_build_flags INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all>)
  target_link_options(flashlab_build_flags INTERFACE -fsanitize=address,undefined)
endif()
