# RelapseTesting.cmake — helpers to register GoogleTest programs with CTest,
# either as a plain process or under `mpiexec -n N`.
#
#   relapse_add_test(NAME name SOURCES a.cpp ... [LIBS ...] [LABELS ...])
#   relapse_add_mpi_test(NAME name TARGET exe NP n [ARGS ...] [LABELS ...] [WILL_FAIL])
#
# Under root, OpenMPI refuses to start without --allow-run-as-root; with more
# ranks than cores it needs --oversubscribe. Both are added here so every MPI
# test runs on a 2-core CI machine.
include(CMakeParseArguments)

set(RELAPSE_MPIEXEC_EXTRA_FLAGS "")
execute_process(COMMAND id -u OUTPUT_VARIABLE _relapse_uid OUTPUT_STRIP_TRAILING_WHITESPACE)
if(_relapse_uid STREQUAL "0")
  list(APPEND RELAPSE_MPIEXEC_EXTRA_FLAGS --allow-run-as-root)
endif()
list(APPEND RELAPSE_MPIEXEC_EXTRA_FLAGS --oversubscribe)

# Every test runs one intra-op thread per rank (OMP_NUM_THREADS for libtorch's
# default, RELAPSE_NUM_THREADS for relapse's Runtime, which otherwise gives
# each rank its share of the node's cores): ctest -j runs tests side by side,
# and two 2-thread torch processes on 2 cores slow each other many times over.
set(RELAPSE_TEST_ENV "OMP_NUM_THREADS=1;RELAPSE_NUM_THREADS=1;RELAPSE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")

function(relapse_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest relapse_test_main)
  relapse_target_defaults(${T_NAME})
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}"
                       ENVIRONMENT "${RELAPSE_TEST_ENV}")
endfunction()

function(relapse_add_mpi_test)
  cmake_parse_arguments(T "WILL_FAIL" "NAME;TARGET;NP;TIMEOUT" "ARGS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${T_NAME}
           COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${T_NP} ${RELAPSE_MPIEXEC_EXTRA_FLAGS}
                   ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${T_TARGET}> ${MPIEXEC_POSTFLAGS} ${T_ARGS}
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "mpi;${T_LABELS}" PROCESSORS ${T_NP}
                       ENVIRONMENT "${RELAPSE_TEST_ENV}")
  if(T_WILL_FAIL)
    set_tests_properties(${T_NAME} PROPERTIES WILL_FAIL TRUE)
  endif()
endfunction()
