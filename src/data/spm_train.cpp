// src/data/spm_train.cpp — runs Debian's spm_train as a subprocess
// (posix_spawn of /bin/sh that execs it) in a private temporary directory; see
// relapse/data/spm_train.h.
#include "relapse/data/spm_train.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"

namespace fs = std::filesystem;

extern char** environ;

namespace relapse::data {

namespace {

// The file's bytes, "" when spm_train wrote none.
std::string file_read(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) ? fs_read_file(p.string(), "spm_train output") : "";
}

std::string log_tail(const std::string& log, size_t n = 1500) {
  return log.size() <= n ? log : "..." + log.substr(log.size() - n);
}

// A fresh private directory, removed when this goes out of scope.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "relapse-spm-XXXXXX").string();
    RELAPSE_CHECK_INPUT(::mkdtemp(tmpl.data()) != nullptr, "spm_train: cannot create ", tmpl, ": ",
                        std::strerror(errno));
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Runs args in directory `cwd` with stdout+stderr to `log_path`; returns the
// exit status, 127 when the program could not be started. posix_spawn (no
// fork of an MPI process) of `/bin/sh -c 'cd "$0" && exec "$@"' cwd args...`:
// the arguments travel as separate argv entries, never through shell parsing.
int process_run(const std::vector<std::string>& cmd, const fs::path& cwd,
                const fs::path& log_path) {
  std::vector<std::string> args = {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", cwd.string()};
  args.insert(args.end(), cmd.begin(), cmd.end());
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = 0;
  const int err = ::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&fa);
  if (err != 0) {
    std::ofstream(log_path, std::ios::app)
        << "cannot execute " << args[0] << ": " << std::strerror(err) << "\n";
    return 127;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    RELAPSE_CHECK_INPUT(errno == EINTR, "spm_train: waitpid failed: ", std::strerror(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

std::string spm_train_bytes(const std::vector<std::string>& texts, const SpmTrainOptions& opts) {
  RELAPSE_CHECK_CONFIG(opts.vocab_size >= 260, "spm_train: vocab_size ", opts.vocab_size,
                       " is below 260 (3 special + 256 byte pieces + 1)");
  TempDir tmp;
  const fs::path input = tmp.path / "input.txt";
  size_t lines = 0;
  {
    std::ofstream f(input, std::ios::binary);
    for (const auto& t : texts) {
      std::istringstream in(t);
      std::string line;
      while (std::getline(in, line)) {
        if (line.empty()) continue;
        f << line << '\n';
        ++lines;
      }
    }
    RELAPSE_CHECK_INPUT(f.good(), "spm_train: cannot write ", input.string());
  }
  RELAPSE_CHECK_INPUT(lines > 0, "spm_train: no training text (all lines empty)");

  // Relative names, run inside tmp: spm_train records --input and
  // --model_prefix in the model's trainer_spec, so absolute temporary paths
  // would make every model's bytes differ.
  std::vector<std::string> args = {
      opts.executable,
      "--input=input.txt",
      "--model_prefix=m",
      "--model_type=bpe",
      "--vocab_size=" + std::to_string(opts.vocab_size),
      "--character_coverage=0.99995",
      "--byte_fallback=true",
      "--split_digits=true",
      "--split_by_unicode_script=true",
      "--split_by_number=true",
      "--split_by_whitespace=true",
      "--add_dummy_prefix=true",
      "--normalization_rule_name=identity",
      "--remove_extra_whitespaces=false",
      "--allow_whitespace_only_pieces=true",
      "--max_sentencepiece_length=16",
      "--max_sentence_length=4192",
      "--unk_id=0",
      "--bos_id=1",
      "--eos_id=2",
      "--pad_id=-1",
      "--hard_vocab_limit=true",
      "--input_sentence_size=0",
      "--shuffle_input_sentence=false",
      "--num_threads=1",
      "--random_seed=" + std::to_string(opts.random_seed),
  };
  if (!opts.user_defined_symbols.empty()) {
    std::string list;
    for (const auto& u : opts.user_defined_symbols) list += (list.empty() ? "" : ",") + u;
    args.push_back("--user_defined_symbols=" + list);
  }
  const fs::path log_path = tmp.path / "spm_train.log";
  const int rc = process_run(args, tmp.path, log_path);
  const std::string log = file_read(log_path);
  RELAPSE_CHECK_INPUT(rc != 127, "spm_train: cannot run '", opts.executable,
                      "' (install the Debian package sentencepiece): ", log_tail(log));
  RELAPSE_CHECK_INPUT(rc == 0, "spm_train failed (exit ", rc, ", vocab_size ", opts.vocab_size,
                      "): ", log_tail(log));
  const fs::path model = tmp.path / "m.model";
  std::error_code ec;
  RELAPSE_CHECK_INPUT(fs::is_regular_file(model, ec), "spm_train wrote no ", model.string(), ": ",
                      log_tail(log));
  std::string bytes = file_read(model);
  RELAPSE_CHECK_INPUT(!bytes.empty(), "spm_train wrote an empty ", model.string());
  return bytes;
}

void spm_train_model(const std::vector<std::string>& texts, const std::string& model_path,
                     const SpmTrainOptions& opts) {
  const std::string bytes = spm_train_bytes(texts, opts);
  fs_write_file_atomic(model_path, bytes);
}

}  // namespace relapse::data
