# tests/mpi_tests.cmake — tests that run under mpiexec (included at the end of
# tests/CMakeLists.txt): GoogleTest programs at np > 1, and whole-job checks of
# the abort path and the Slurm trap through tests/dist/check_exit.cmake.

# test_runtime (also a plain test by the glob) under two ranks.
relapse_add_mpi_test(NAME test_runtime_np2 TARGET test_runtime NP 2 LABELS dist TIMEOUT 120)

add_executable(fail_one_rank ${CMAKE_CURRENT_SOURCE_DIR}/dist/fail_one_rank.cpp)
target_link_libraries(fail_one_rank PRIVATE relapse_dist relapse_core)
relapse_target_defaults(fail_one_rank)
# --stall-nccl (run by launch/device-smoke.sh on a GPU) needs the CUDA runtime.
if(RELAPSE_WITH_NCCL)
  target_compile_definitions(fail_one_rank PRIVATE RELAPSE_FAIL_ONE_RANK_CUDA=1)
  target_link_libraries(fail_one_rank PRIVATE CUDA::cudart)
endif()

# relapse_add_exit_check(NAME n TARGET exe [NP n] [ARGS ...] [ENV K=V ...]
#                        [EXPECT_CODE c | EXPECT_NONZERO] [EXPECT_STDERR s ...] [FORBID_STDERR s ...])
# Runs exe (under mpiexec -n NP, or directly as a singleton when NP is 0) via
# check_exit.cmake, which fails the test on a wrong exit status, a run of
# 30 s or more, or stderr missing / containing the given strings.
function(relapse_add_exit_check)
  cmake_parse_arguments(C "EXPECT_NONZERO" "NAME;TARGET;NP;EXPECT_CODE"
                        "ARGS;ENV;EXPECT_STDERR;FORBID_STDERR" ${ARGN})
  if(C_NP)
    set(_cmd ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${C_NP} ${RELAPSE_MPIEXEC_EXTRA_FLAGS}
             ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${C_TARGET}> ${MPIEXEC_POSTFLAGS} ${C_ARGS})
    set(_procs ${C_NP})
  else()
    set(_cmd $<TARGET_FILE:${C_TARGET}> ${C_ARGS})
    set(_procs 1)
  endif()
  string(REPLACE ";" "|" _cmd "${_cmd}")
  set(_defs -DCMD=${_cmd} -DMAX_SECONDS=30)
  if(DEFINED C_EXPECT_CODE)
    list(APPEND _defs -DEXPECT_CODE=${C_EXPECT_CODE})
  endif()
  if(C_EXPECT_NONZERO)
    list(APPEND _defs -DEXPECT_NONZERO=1)
  endif()
  foreach(v ENV EXPECT_STDERR FORBID_STDERR)
    if(C_${v})
      string(REPLACE ";" "|" _s "${C_${v}}")
      list(APPEND _defs "-D${v}=${_s}")
    endif()
  endforeach()
  add_test(NAME ${C_NAME} COMMAND ${CMAKE_COMMAND} ${_defs} -P ${CMAKE_CURRENT_SOURCE_DIR}/dist/check_exit.cmake
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${C_NAME} PROPERTIES TIMEOUT 90 LABELS "mpi;dist" PROCESSORS ${_procs}
                       ENVIRONMENT "OMP_NUM_THREADS=1;RELAPSE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# Sanity: without a failing rank the program passes its barrier and exits 0,
# so the failures below fail for the right reason.
relapse_add_exit_check(NAME fail_one_rank_none_np2 TARGET fail_one_rank NP 2 EXPECT_CODE 0
                       FORBID_STDERR "error on rank")

# One failing rank ends the whole job: the error's exit code (kInput = 4, passed
# through MPI_Abort and mpiexec), well under 30 s although the other ranks sit
# in MPI_Barrier, and the failing rank (only) reports.
relapse_add_exit_check(NAME fail_one_rank_np2 TARGET fail_one_rank NP 2 ARGS 1 EXPECT_CODE 4
                       EXPECT_STDERR "relapse: error on rank 1 of 2: deliberate failure on rank 1"
                       FORBID_STDERR "error on rank 0")
relapse_add_exit_check(NAME fail_one_rank_np4 TARGET fail_one_rank NP 4 ARGS 2 EXPECT_CODE 4
                       EXPECT_STDERR "relapse: error on rank 2 of 4: deliberate failure on rank 2"
                       FORBID_STDERR "error on rank 0" "error on rank 1 " "error on rank 3")

# The Slurm trap: `srun` without --mpi=pmix starts N singletons that each see
# world size 1 while SLURM_NTASKS=N. Runtime must stop with kEnvironment (6).
relapse_add_exit_check(NAME runtime_slurm_trap_singleton TARGET fail_one_rank ENV SLURM_NTASKS=3 EXPECT_CODE 6
                       EXPECT_STDERR "SLURM_NTASKS=3 but the MPI world size is 1" "srun --mpi=pmix"
                       FORBID_STDERR "calling finalize")
relapse_add_exit_check(NAME runtime_slurm_trap_np1 TARGET fail_one_rank NP 1 ENV SLURM_NTASKS=3 EXPECT_CODE 6
                       EXPECT_STDERR "SLURM_NTASKS=3 but the MPI world size is 1" "srun --mpi=pmix"
                       FORBID_STDERR "calling finalize")
# ... and a matching SLURM_NTASKS is accepted.
relapse_add_exit_check(NAME runtime_slurm_match_np2 TARGET fail_one_rank NP 2 ENV SLURM_NTASKS=2 EXPECT_CODE 0)

# ---- the relapse command line, end to end ----------------------------------
set(_fx ${PROJECT_SOURCE_DIR}/tests/golden/fixtures)
set(_out ${PROJECT_BINARY_DIR}/tests/cli_out)
file(MAKE_DIRECTORY ${_out})
relapse_add_exit_check(NAME cli_version TARGET relapse ARGS --version EXPECT_CODE 0)
relapse_add_exit_check(NAME cli_unknown_subcommand TARGET relapse ARGS frobnicate EXPECT_CODE 2)
relapse_add_exit_check(NAME cli_score_h5 TARGET relapse
                       ARGS score --model ${_fx}/llama_mha_fp32 --text-file ${_fx}/texts.json --out ${_out}/scores.h5
                       EXPECT_CODE 0 FORBID_STDERR "error")
relapse_add_exit_check(NAME cli_score_json_np2 TARGET relapse NP 2
                       ARGS score --model ${_fx}/llama_gqa_bf16 --text-file ${_fx}/texts.json --out ${_out}/scores.json
                       EXPECT_CODE 0 FORBID_STDERR "error")
relapse_add_exit_check(NAME cli_generate TARGET relapse
                       ARGS generate --model ${_fx}/llama_gqa_tied_bias_fp32 --prompt "Hello" --prompt "A longer prompt"
                            --max-new-tokens 5 --json EXPECT_CODE 0)
# A bad model directory fails on every rank with the file named, and ends the
# job (exit 4 = kInput) instead of leaving a rank waiting.
relapse_add_exit_check(NAME cli_missing_model_np2 TARGET relapse NP 2
                       ARGS score --model ${_out}/no-such-model --text-file ${_fx}/texts.json --out ${_out}/x.json
                       EXPECT_CODE 4 EXPECT_STDERR "no-such-model")
# Issue 23: TOFU's forget quality and model utility from TOFU's own logs, as the
# CSV row of its aggregate_eval_stat.py (the values: test_tofu); a missing log
# fails on every rank with the file named.
add_test(NAME cli_tofu_stats
         COMMAND ${CMAKE_COMMAND}
                 "-DCMD=sh|-c|$<TARGET_FILE:relapse> tofu-stats ${_fx}/eval/tofu/llama2-7b_full_wd0.01.json ${_fx}/eval/tofu/llama2-7b_retain90_wd0.01.json --method full 1>&2"
                 -DMAX_SECONDS=30 -DEXPECT_CODE=0
                 "-DEXPECT_STDERR=ROUGE Real Authors,Prob. Real Authors|Model Utility,Forget Quality,KS Test Forget,Method|,0.6226773637|,1.834066|e-21,0.396666|,full"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/dist/check_exit.cmake)
relapse_add_exit_check(NAME cli_tofu_stats_missing_np2 TARGET relapse NP 2
                       ARGS tofu-stats ${_out}/no-such-log.json ${_fx}/eval/tofu/llama2-7b_retain90_wd0.01.json
                       EXPECT_CODE 4 EXPECT_STDERR "no-such-log.json")
# Issue 22: a binary file given as text is bad input (4) naming the file, not a
# crash when the texts are written out; a generation past the model's context
# is refused before it runs (3), saying how much fits.
relapse_add_exit_check(NAME cli_score_binary_text_file TARGET relapse
                       ARGS score --model ${_fx}/llama_mha_fp32 --text-file ${_fx}/llama_mha_fp32/model.safetensors
                            --out ${_out}/binary.json
                       EXPECT_CODE 4 EXPECT_STDERR "model.safetensors" "binary file")
relapse_add_exit_check(NAME cli_generate_past_context TARGET relapse
                       ARGS generate --model ${_fx}/llama_mha_fp32 --prompt "Hello" --max-new-tokens 1000000000
                       EXPECT_CODE 3 EXPECT_STDERR "max_position_embeddings" "at most")
# One run per output directory: while another process holds its lock (here
# flock(1), as a running relapse would), `relapse train` is refused at once
# (exit 5) saying the directory is in use (issue 22).
add_test(NAME cli_run_output_dir_locked
         COMMAND ${CMAKE_COMMAND}
                 "-DCMD=sh|-c|mkdir -p ${_out}/locked && flock ${_out}/locked/.relapse.lock $<TARGET_FILE:relapse> train configs/quickstart.yaml --set run.out_dir=${_out}/locked 1>&2"
                 -DMAX_SECONDS=60 -DEXPECT_CODE=5
                 "-DEXPECT_STDERR=is in use by another relapse run|${_out}/locked/.relapse.lock"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/dist/check_exit.cmake
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(cli_run_output_dir_locked PROPERTIES TIMEOUT 90 LABELS "pipeline")
# The main job's shipped target and retrain models (configs/quickstart/) were
# trained on the corpus configs/quickstart.yaml synthesizes: `relapse train`
# loads them (their stamps name that corpus) — this fails when the embedded
# corpus or tokenizer changes and they must be remade
# (launch/make-quickstart-models.sh); on another corpus (run.seed 7) every
# rank refuses them (4), naming the stamp and the script (the first rank's
# message ends the job, so which rank prints is not checked).
relapse_add_exit_check(NAME cli_quickstart_models_match_corpus TARGET relapse
                       ARGS train configs/quickstart.yaml --set run.out_dir=${_out}/qs_models
                       EXPECT_CODE 0 EXPECT_STDERR "target given in configs/quickstart/target"
                       FORBID_STDERR "another pretrain / train config")
relapse_add_exit_check(NAME cli_quickstart_models_other_corpus TARGET relapse NP 2
                       ARGS train configs/quickstart.yaml --set run.out_dir=${_out}/qs_models_seed7
                            --set run.seed=7
                       EXPECT_CODE 4 EXPECT_STDERR "error on rank" "configs/quickstart/target/relapse_stage.json"
                       "make-quickstart-models.sh")
# ... and a config asking for another shape (a sweep over model.preset on the
# main job's config) is refused (3), naming the key.
relapse_add_exit_check(NAME cli_quickstart_models_other_preset TARGET relapse
                       ARGS train configs/quickstart.yaml --set run.out_dir=${_out}/qs_models_nano
                            --set model.preset=nano
                       EXPECT_CODE 3 EXPECT_STDERR "tiny" "model.preset is" "nano" "to train that preset")
# relapse report: a missing archive is an input error (4) naming the file.
relapse_add_exit_check(NAME cli_report_missing_archive TARGET relapse
                       ARGS report ${_out}/no-such-archive.h5 --out ${_out}/report
                       EXPECT_CODE 4 EXPECT_STDERR "no-such-archive.h5")
# ... and the committed small archive (tests/golden/make_report_archive.sh)
# renders: report.md and its figures (checked in test_report_figures).
relapse_add_exit_check(NAME cli_report_small_run TARGET relapse
                       ARGS report ${PROJECT_SOURCE_DIR}/tests/golden/fixtures/pipeline/small_run.h5
                            --out ${_out}/small_run_report
                       EXPECT_CODE 0)
relapse_add_exit_check(NAME cli_config_unknown_key TARGET relapse ARGS config --set model.dtyp=bfloat16
                       EXPECT_CODE 3 EXPECT_STDERR "model.dtyp" "did you mean 'model.dtype'")
relapse_add_exit_check(NAME cli_config_dump TARGET relapse ARGS config ${PROJECT_SOURCE_DIR}/configs/example.yaml
                       --set generate.max_new_tokens=7 EXPECT_CODE 0)
# relapse quantize: GPTQ on 2 ranks (calibration shared) exported in the GPTQ
# layout, calibrated on a text file; the bitsandbytes emulations; GPTQ without
# calibration text is a config error (3) saying what to pass.
relapse_add_exit_check(NAME cli_quantize_gptq_export_np2 TARGET relapse NP 2
                       ARGS quantize --model ${_fx}/llama_mha_fp32 --out ${_out}/gptq --method gptq
                            --group-size 32 --calib-text ${PROJECT_SOURCE_DIR}/README.md --n-samples 4
                            --seq-len 32 --export gptq
                       EXPECT_CODE 0 EXPECT_STDERR "GPTQ layout" FORBID_STDERR "error")
relapse_add_exit_check(NAME cli_quantize_awq TARGET relapse
                       ARGS quantize --model ${_fx}/llama_gqa_bf16 --out ${_out}/awq --method awq
                            --group-size 32 --calib-text ${PROJECT_SOURCE_DIR}/README.md --n-samples 4
                            --seq-len 32
                       EXPECT_CODE 0 FORBID_STDERR "error")
relapse_add_exit_check(NAME cli_quantize_nf4 TARGET relapse
                       ARGS quantize --model ${_fx}/llama_mha_fp32 --out ${_out}/nf4 --method nf4
                       EXPECT_CODE 0 FORBID_STDERR "error")
relapse_add_exit_check(NAME cli_quantize_gptq_needs_calibration TARGET relapse
                       ARGS quantize --model ${_fx}/llama_mha_fp32 --out ${_out}/x --method gptq
                       EXPECT_CODE 3 EXPECT_STDERR "needs calibration text" "--calib-text")

# The communicator against its naive reference at 2 and 4 ranks (np 1 is the plain test).
relapse_add_mpi_test(NAME test_communicator_np2 TARGET test_communicator NP 2 LABELS dist TIMEOUT 120)
relapse_add_mpi_test(NAME test_communicator_np4 TARGET test_communicator NP 4 LABELS dist TIMEOUT 120)

# Tensor-parallel model at TP = 2 and 4 against the unsplit model.
relapse_add_mpi_test(NAME test_tensor_parallel_np2 TARGET test_tensor_parallel NP 2 LABELS model TIMEOUT 300)
relapse_add_mpi_test(NAME test_tensor_parallel_np4 TARGET test_tensor_parallel NP 4 LABELS model TIMEOUT 300)

# DP gathers at 2 and 3 ranks (uneven shards, ranks with no samples); np 1 is the plain test.
relapse_add_mpi_test(NAME test_gather_np2 TARGET test_gather NP 2 LABELS dist TIMEOUT 120)
relapse_add_mpi_test(NAME test_gather_np3 TARGET test_gather NP 3 LABELS dist TIMEOUT 120)
# MUSE evaluation sharded over 2 DP ranks: the same numbers as the HF reference
# and as the single-rank run (tests/eval/test_muse_eval.cpp).
relapse_add_mpi_test(NAME test_muse_eval_np2 TARGET test_muse_eval NP 2 LABELS eval TIMEOUT 300)
relapse_add_mpi_test(NAME test_muse_eval_excerpt_np2 TARGET test_muse_eval_excerpt NP 2 LABELS eval TIMEOUT 600)

# Data-parallel train/unlearn loops equal the single-rank update.
relapse_add_mpi_test(NAME test_loops_np2 TARGET test_loops NP 2 LABELS unlearn TIMEOUT 300)
# The reduced quickstart, data-parallel over two ranks.
relapse_add_mpi_test(NAME test_pipeline_run_np2 TARGET test_pipeline_run NP 2 LABELS pipeline TIMEOUT 900)
# The reduced dose-response curve (issue 21), data-parallel, its rows checked against one rank.
relapse_add_mpi_test(NAME test_dose_curve_np2 TARGET test_dose_curve NP 2 LABELS pipeline TIMEOUT 900)
# Removal requests in sequence (MUSE scal/sust), data-parallel over two ranks.
relapse_add_mpi_test(NAME test_forget_requests_np2 TARGET test_forget_requests NP 2 LABELS pipeline TIMEOUT 600)
# A diverged unlearning run recorded while the others go on, data-parallel.
relapse_add_mpi_test(NAME test_diverged_run_np2 TARGET test_diverged_run NP 2 LABELS pipeline TIMEOUT 600)

# ---- issue 4: NCCL backend, bench comm, a rank failing inside a collective ----
# The NCCL test reads RELAPSE_WITH_NCCL to know which build it checks.
if(RELAPSE_WITH_NCCL AND TARGET test_comm_nccl)
  target_compile_definitions(test_comm_nccl PRIVATE RELAPSE_WITH_NCCL=1)
endif()
# bench comm's rows against nccl-tests' definitions at 2 ranks (np 1 is the plain test).
relapse_add_mpi_test(NAME test_bench_comm_np2 TARGET test_bench_comm NP 2 LABELS dist TIMEOUT 120)
# `relapse bench comm` end to end at np 2: exit 0, the table's column headers.
# check_exit.cmake only reads stderr, so the run goes through `sh -c ... 1>&2`.
string(REPLACE ";" " " _bench_mpi "${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 ${RELAPSE_MPIEXEC_EXTRA_FLAGS} ${MPIEXEC_PREFLAGS}")
add_test(NAME cli_bench_comm_np2
         COMMAND ${CMAKE_COMMAND}
                 "-DCMD=sh|-c|${_bench_mpi} $<TARGET_FILE:relapse> bench comm --max-bytes 65536 --iters 3 1>&2"
                 -DMAX_SECONDS=30 -DEXPECT_CODE=0
                 "-DEXPECT_STDERR=size(B)|algbw|busbw|raw_time(us)|ratio|all_reduce|all_gather|65536"
                 "-DFORBID_STDERR=relapse: error" -P ${CMAKE_CURRENT_SOURCE_DIR}/dist/check_exit.cmake
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(cli_bench_comm_np2 PROPERTIES TIMEOUT 90 LABELS "mpi;dist" PROCESSORS 2
                     ENVIRONMENT "OMP_NUM_THREADS=1;RELAPSE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
# `relapse bench dp` end to end at np 2: both modes timed, every bucket of the
# overlapped step started during the backward.
add_test(NAME cli_bench_dp_np2
         COMMAND ${CMAKE_COMMAND}
                 "-DCMD=sh|-c|${_bench_mpi} $<TARGET_FILE:relapse> bench dp --batch 1 --seq 16 --bucket-mib 2 --iters 1 --warmup 0 1>&2"
                 -DMAX_SECONDS=30 -DEXPECT_CODE=0
                 "-DEXPECT_STDERR=# relapse bench dp: backend mpi, 2 DP ranks|blocking |overlapped |speedup| (all)"
                 "-DFORBID_STDERR=relapse: error" -P ${CMAKE_CURRENT_SOURCE_DIR}/dist/check_exit.cmake
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(cli_bench_dp_np2 PROPERTIES TIMEOUT 90 LABELS "mpi;unlearn" PROCESSORS 2
                     ENVIRONMENT "OMP_NUM_THREADS=1;RELAPSE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
# A rank that throws in the middle of a sequence of communicator all_reduces,
# while the others block in the next one, ends the job with its exit code
# (kInput = 4) well within 30 s.
relapse_add_exit_check(NAME fail_one_rank_in_collective_np2 TARGET fail_one_rank NP 2
                       ARGS --in-collective 1 EXPECT_CODE 4
                       EXPECT_STDERR "relapse: error on rank 1 of 2: deliberate failure on rank 1 inside collective step 5"
                       FORBID_STDERR "error on rank 0")
relapse_add_exit_check(NAME fail_one_rank_in_collective_np4 TARGET fail_one_rank NP 4
                       ARGS --in-collective 2 EXPECT_CODE 4
                       EXPECT_STDERR "relapse: error on rank 2 of 4: deliberate failure on rank 2 inside collective step 5"
                       FORBID_STDERR "error on rank 0" "error on rank 1 " "error on rank 3")
# Sanity: without a failing rank the sequence completes and the job exits 0.
relapse_add_exit_check(NAME fail_one_rank_in_collective_none_np4 TARGET fail_one_rank NP 4
                       ARGS --in-collective -1 EXPECT_CODE 0 FORBID_STDERR "error on rank")

# Vocab-parallel cross-entropy / KL at TP = 2 and 4 against the unsplit log_softmax (np 1 is the plain test).
relapse_add_mpi_test(NAME test_tp_cross_entropy_np2 TARGET test_tp_cross_entropy NP 2 LABELS model TIMEOUT 300)
relapse_add_mpi_test(NAME test_tp_cross_entropy_np4 TARGET test_tp_cross_entropy NP 4 LABELS model TIMEOUT 300)
# One training step of every objective at DP 2 / TP 2 (np 2) and DP 4 / DP 2 × TP 2 / TP 4 (np 4)
# equals the single-rank step (np 1 is the plain test).
relapse_add_mpi_test(NAME test_parallel_step_np2 TARGET test_parallel_step NP 2 LABELS unlearn TIMEOUT 600)
relapse_add_mpi_test(NAME test_parallel_step_np4 TARGET test_parallel_step NP 4 LABELS unlearn TIMEOUT 600)
# Overlapped DP reduction = blocking; master weights under ZeRO-1 and resume (np 1: plain test).
relapse_add_mpi_test(NAME test_parallel_optimizer_np2 TARGET test_parallel_optimizer NP 2 LABELS unlearn TIMEOUT 600)
relapse_add_mpi_test(NAME test_parallel_optimizer_np4 TARGET test_parallel_optimizer NP 4 LABELS unlearn TIMEOUT 600)

# --- memory planner (issue 7)
# `relapse plan` of the quickstart fits this machine (exit 0); the 70B fragment
# on an 8 GiB budget is refused with the config exit code (3), naming the
# total, the budget and where it came from, and the largest items.
relapse_add_exit_check(NAME cli_plan_quickstart TARGET relapse ARGS plan configs/quickstart.yaml
                       EXPECT_CODE 0 FORBID_STDERR "error")
relapse_add_exit_check(NAME cli_plan_70b_refused TARGET relapse
                       ARGS plan configs/models/llama2-70b.yaml --set parallel.memory_gib=8
                       EXPECT_CODE 3
                       EXPECT_STDERR "memory plan: preset 70b: stage training needs"
                                     "stage unlearning needs 51.32 GiB per rank"
                                     "largest: activations 21.53 GiB"
                                     "but has 8.00 GiB (parallel.memory_gib) at DP 1 x TP 32")
# Issue 18: a plan per stage. MUSE-News at 7B on one 8 x 80 GiB node fits in
# every stage (GPTQ, AWQ and NF4 included); the evaluation of given
# checkpoints (no unlearning methods) is not refused for unlearning's needs
# on a budget the unlearning step does not fit (16 GiB < its 21.11 GiB).
relapse_add_exit_check(NAME cli_plan_muse_news_7b TARGET relapse ARGS plan configs/muse_news_7b.yaml
                       EXPECT_CODE 0 FORBID_STDERR "error")
relapse_add_exit_check(NAME cli_plan_eval_only_not_refused TARGET relapse
                       ARGS plan configs/models/llama2-7b.yaml --set parallel.memory_gib=16
                            --set train.target=t --set train.retrain=r --set "unlearn.methods=[]"
                       EXPECT_CODE 0 FORBID_STDERR "error")
relapse_add_exit_check(NAME cli_plan_7b_unlearning_refused TARGET relapse
                       ARGS plan configs/models/llama2-7b.yaml --set parallel.memory_gib=16
                            --set train.target=t --set train.retrain=r
                       EXPECT_CODE 3 EXPECT_STDERR "stage unlearning needs 21.11 GiB per rank"
                       FORBID_STDERR "stage evaluation")
# The planner against the measured peak on each rank of a TP-2 model.
relapse_add_mpi_test(NAME test_memory_plan_np2 TARGET test_memory_plan NP 2 LABELS pipeline TIMEOUT 300)

# --- sweeps (issue 7): an unknown --cells id is a usage error on every rank
# (exit 2, naming the id) before anything runs; an unknown axis key is a config
# error naming the sweep file and the nearest key.
relapse_add_exit_check(NAME cli_sweep_unknown_cell_np2 TARGET relapse NP 2
                       ARGS sweep run configs/sweeps/paper_grid.yaml --cells 000000000000
                       EXPECT_CODE 2 EXPECT_STDERR "no cell has the id '000000000000'")
relapse_add_exit_check(NAME cli_sweep_unknown_axis TARGET relapse
                       ARGS sweep plan ${CMAKE_CURRENT_SOURCE_DIR}/study/fixtures/bad_axis_sweep.yaml
                       EXPECT_CODE 3 EXPECT_STDERR "bad_axis_sweep.yaml" "unknown axis key 'unlearn.method'"
                                                   "did you mean 'unlearn.methods'")

# --- issue 17: `relapse bench score` end to end against the transformers
# reference (launch/bench/hf_reference.py in setup.sh's venv): exit 0, both
# rows and the ratio; a wrong --device value is a usage error.
add_test(NAME cli_bench_score_vs_hf
         COMMAND ${CMAKE_COMMAND}
                 "-DCMD=sh|-c|$<TARGET_FILE:relapse> bench score --shape 30m --batch 2 --seq 64 --iters 1 --warmup 0 --threads 1 1>&2"
                 -DMAX_SECONDS=120 -DEXPECT_CODE=0
                 "-DEXPECT_STDERR=# relapse bench score: shape 30m|relapse |hf |transformers 5.17.0|ratio relapse/hf = "
                 "-DFORBID_STDERR=relapse: error" -P ${CMAKE_CURRENT_SOURCE_DIR}/dist/check_exit.cmake
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(cli_bench_score_vs_hf PROPERTIES TIMEOUT 180 LABELS "unlearn"
                     ENVIRONMENT "OMP_NUM_THREADS=1;RELAPSE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
# `relapse bench gemm` runs both CPU bf16 paths and prints a row per op with the speedup.
add_test(NAME cli_bench_gemm
         COMMAND ${CMAKE_COMMAND}
                 "-DCMD=sh|-c|$<TARGET_FILE:relapse> bench gemm --preset nano --batch 2 --seq-len 16 --iters 1 1>&2"
                 -DMAX_SECONDS=60 -DEXPECT_CODE=0
                 "-DEXPECT_STDERR=# relapse bench gemm: preset nano|speedup|linear 64x176|attention (causal)|model step (fwd+bwd)"
                 "-DFORBID_STDERR=relapse: error" -P ${CMAKE_CURRENT_SOURCE_DIR}/dist/check_exit.cmake
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(cli_bench_gemm PROPERTIES TIMEOUT 120 LABELS "model")
relapse_add_exit_check(NAME cli_bench_bad_device TARGET relapse ARGS bench train --device tpu
                       EXPECT_CODE 2 EXPECT_STDERR "--device")
# The 7B MUSE-News config on 8 ranks (TP 8) without its data and checkpoints:
# every stage's plan fits (GPTQ and AWQ at TP 8 included), so the run gets
# past planning and stops at the first missing input, naming it (exit 4).
# Here on the CPU (run.device auto; the config says cuda), planned with the
# bf16 kernels a GPU has (model.cpu_bf16_gemm native).
relapse_add_exit_check(NAME cli_run_muse_news_7b_past_plan TARGET relapse NP 8
                       ARGS run ${PROJECT_SOURCE_DIR}/configs/muse_news_7b.yaml
                            --set run.device=auto --set model.cpu_bf16_gemm=native
                       EXPECT_CODE 4 EXPECT_STDERR "data/muse/news" FORBID_STDERR "memory plan")
# The cross-section config rules refuse on every rank before anything trains.
relapse_add_mpi_test(NAME test_config_check_np2 TARGET test_config_check NP 2 LABELS pipeline TIMEOUT 300)
