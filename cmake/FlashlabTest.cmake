# flashlab_add_test(NAME LABEL SOURCES... LIBS ...): one doctest executable registered with CTest
# under LABEL, so `ctest -L LABEL` runs one part's suite.
function(flashlab_add_test name label)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE flashlab::test_support ${ARG_LIBS} flashlab::build_flags)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS ${label})
endfunction()
