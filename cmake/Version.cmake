# Version.cmake — bakes the relapse version and the git SHA into a generated
# header at *build* time (not configure time), rewriting it only when it changes.
set(RELAPSE_GENERATED_DIR ${PROJECT_BINARY_DIR}/generated)
file(MAKE_DIRECTORY ${RELAPSE_GENERATED_DIR}/relapse)
add_custom_target(relapse_git_version
  COMMAND ${CMAKE_COMMAND} -DSRC=${PROJECT_SOURCE_DIR} -DOUT=${RELAPSE_GENERATED_DIR}/relapse/git_version.h
          -DVERSION=${PROJECT_VERSION} -P ${PROJECT_SOURCE_DIR}/cmake/WriteGitVersion.cmake
  BYPRODUCTS ${RELAPSE_GENERATED_DIR}/relapse/git_version.h
  COMMENT "Recording git SHA")
