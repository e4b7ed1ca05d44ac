# tests/dist/check_exit.cmake — script mode (cmake -P): runs a command and checks
# how it ended. Used by tests/mpi_tests.cmake for the abort and Slurm-trap tests,
# which a plain WILL_FAIL could not check (a crash or hang would also "pass").
#
#   -DCMD=a|b|c               the command, '|'-separated
#   -DEXPECT_CODE=N           exact exit status (or -DEXPECT_NONZERO=1)
#   -DMAX_SECONDS=S           fail when the command takes S seconds or more
#   -DEXPECT_STDERR=s1|s2     substrings that must appear in stderr
#   -DFORBID_STDERR=s1|s2     substrings that must not appear in stderr
#   -DENV=K=V|K2=V2           environment for the command (Slurm variables
#                             are otherwise removed, so tests behave the same
#                             inside and outside an allocation)
foreach(v SLURM_NTASKS SLURM_NPROCS SLURM_JOB_ID SLURM_JOBID)
  unset(ENV{${v}})
endforeach()
if(ENV)
  string(REPLACE "|" ";" _env "${ENV}")
  foreach(kv ${_env})
    string(FIND "${kv}" "=" _eq)
    string(SUBSTRING "${kv}" 0 ${_eq} _k)
    math(EXPR _eq "${_eq} + 1")
    string(SUBSTRING "${kv}" ${_eq} -1 _v)
    set(ENV{${_k}} "${_v}")
  endforeach()
endif()
if(NOT MAX_SECONDS)
  set(MAX_SECONDS 30)
endif()
string(REPLACE "|" ";" _cmd "${CMD}")
math(EXPR _kill_after "${MAX_SECONDS} * 2")

string(TIMESTAMP _t0 "%s" UTC)
execute_process(COMMAND ${_cmd} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err
                TIMEOUT ${_kill_after})
string(TIMESTAMP _t1 "%s" UTC)
math(EXPR _secs "${_t1} - ${_t0}")
message("command: ${_cmd}\nexit: ${_rc} after ${_secs} s\n--- stdout ---\n${_out}--- stderr ---\n${_err}--------------")

set(_fail "")
if(DEFINED EXPECT_CODE AND NOT "${_rc}" STREQUAL "${EXPECT_CODE}")
  string(APPEND _fail "exit status ${_rc}, expected ${EXPECT_CODE}\n")
endif()
if(EXPECT_NONZERO AND ("${_rc}" STREQUAL "0" OR NOT "${_rc}" MATCHES "^[0-9]+$"))
  string(APPEND _fail "exit status '${_rc}', expected a non-zero exit status\n")
endif()
if(_secs GREATER_EQUAL MAX_SECONDS)
  string(APPEND _fail "took ${_secs} s, limit ${MAX_SECONDS} s (a rank was left hanging?)\n")
endif()
if(EXPECT_STDERR)
  string(REPLACE "|" ";" _want "${EXPECT_STDERR}")
  foreach(s ${_want})
    string(FIND "${_err}" "${s}" _pos)
    if(_pos EQUAL -1)
      string(APPEND _fail "stderr lacks '${s}'\n")
    endif()
  endforeach()
endif()
if(FORBID_STDERR)
  string(REPLACE "|" ";" _bad "${FORBID_STDERR}")
  foreach(s ${_bad})
    string(FIND "${_err}" "${s}" _pos)
    if(NOT _pos EQUAL -1)
      string(APPEND _fail "stderr contains '${s}'\n")
    endif()
  endforeach()
endif()
if(_fail)
  message(FATAL_ERROR "check failed:\n${_fail}")
endif()
