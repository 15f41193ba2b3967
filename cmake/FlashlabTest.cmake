# flashlab_add_test(NAME LABEL SOURCES ... [LIBS ...] [OWN_MAIN]): one doctest executable
# registered with CTest under LABEL, so `ctest -L LABEL` runs one part's suite. OWN_MAIN: the
# sources bring their own main (else the shared one, which prints the seed, is linked).
# Exit code 77 means "skipped" (used by suites that need hardware this machine lacks).
function(flashlab_add_test name label)
  cmake_parse_arguments(ARG "OWN_MAIN" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  if(NOT ARG_OWN_MAIN)
    target_sources(${name} PRIVATE $<TARGET_OBJECTS:flashlab_test_main>)
  endif()
  target_link_libraries(${name} PRIVATE flashlab::test_support ${ARG_LIBS} flashlab::build_flags)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS ${label} SKIP_RETURN_CODE 77)
endfunction()
