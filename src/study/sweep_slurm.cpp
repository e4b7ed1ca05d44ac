// src/study/sweep_slurm.cpp — the Slurm job arrays of a sweep
// (relapse/study/sweep_slurm.h): sizing, filling the embedded template
// launch/slurm/sweep_array.sbatch.in, writing and submitting the scripts.
#include "relapse/study/sweep_slurm.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/sweep_array_sbatch.h"  // kSweepArraySbatchTemplate (cmake/EmbedSlurmTemplate.cmake)

namespace fs = std::filesystem;

namespace relapse::study {

namespace {

bool shell_safe_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::strchr("_./:=@%+,-", c) != nullptr;
}

// A value on an #SBATCH line. sbatch splits those lines at whitespace but
// honours double quotes, and has no escape for a quote itself.
std::string sbatch_value(const SweepSpec& spec, const std::string& key, const std::string& v) {
  RELAPSE_CHECK_CONFIG(
      !v.empty() && v.find_first_of("\"\\\n\r") == std::string::npos, "sweep '", spec.path,
      "': ", key, " '", v,
      "' cannot be written on an #SBATCH line (empty, or a quote, backslash or newline)");
  return v.find_first_of(" \t'#") == std::string::npos ? v : "\"" + v + "\"";
}

// One line of text for a comment (a YAML value may hold newlines).
std::string comment_text(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// Slurm's --time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
bool slurm_time_valid(const std::string& t) {
  static const std::regex re(R"(\d+(:\d+(:\d+)?)?|\d+-\d+(:\d+(:\d+)?)?)");
  return std::regex_match(t, re);
}

// Fills the template: "#@" lines are dropped, @KEY@ replaced by vars[KEY] (values
// are not rescanned), and a line that is only a placeholder with an empty value
// is dropped. An unknown placeholder is a bug in the template.
std::string template_fill(const std::string& tpl, const std::map<std::string, std::string>& vars) {
  static const std::regex ph("@([A-Z_]+)@");
  std::ostringstream out;
  std::istringstream in(tpl);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#@", 0) == 0) continue;
    std::smatch m;
    if (std::regex_match(line, m, ph)) {
      auto it = vars.find(m[1].str());
      RELAPSE_CHECK(it != vars.end(), "unknown placeholder ", line, " in sweep_array.sbatch.in");
      if (!it->second.empty()) out << it->second << '\n';
      continue;
    }
    std::string::const_iterator pos = line.cbegin();
    while (std::regex_search(pos, line.cend(), m, ph)) {
      auto it = vars.find(m[1].str());
      RELAPSE_CHECK(it != vars.end(), "unknown placeholder @", m[1].str(),
                    "@ in sweep_array.sbatch.in");
      out << std::string(pos, m[0].first) << it->second;
      pos = m[0].second;
    }
    out << std::string(pos, line.cend()) << '\n';
  }
  return out.str();
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

void check_spec(const SweepSpec& spec) {
  const SweepSlurm& s = spec.slurm;
  RELAPSE_CHECK_CONFIG(s.gpus_per_node >= 1, "sweep '", spec.path,
                       "': slurm.gpus_per_node must be >= 1, got ", s.gpus_per_node);
  RELAPSE_CHECK_CONFIG(s.cpus_per_task >= 1, "sweep '", spec.path,
                       "': slurm.cpus_per_task must be >= 1, got ", s.cpus_per_task);
  RELAPSE_CHECK_CONFIG(s.max_parallel >= 0, "sweep '", spec.path,
                       "': slurm.max_parallel must be >= 0, got ", s.max_parallel);
  RELAPSE_CHECK_CONFIG(slurm_time_valid(s.time), "sweep '", spec.path, "': slurm.time '", s.time,
                       "' is not a Slurm time (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)");
  for (const auto& l : s.setup)
    RELAPSE_CHECK_CONFIG(l.find_first_of("\n\r") == std::string::npos, "sweep '", spec.path,
                         "': slurm.setup lines must be single lines: '", comment_text(l), "'");
}

// Nodes, tasks per node and the cells of each array task: a cell of at least
// a node's GPUs takes whole nodes; smaller cells share a node, per_task of
// them per array task. Returns per_task.
int script_layout(const SweepSpec& spec, const std::vector<const SweepCell*>& group, int ranks,
                  SlurmScript& s) {
  const int gpn = spec.slurm.gpus_per_node;
  const int n = static_cast<int>(group.size());
  int per_task = 1;
  if (ranks >= gpn) {
    for (const SweepCell* c : group)
      RELAPSE_CHECK_CONFIG(ranks % gpn == 0, "sweep '", spec.path, "': cell ", c->id, " needs ",
                           ranks, " ranks, not a multiple of slurm.gpus_per_node = ", gpn,
                           " (a cell larger than a node takes whole nodes)");
    s.nodes = ranks / gpn;
    s.ntasks_per_node = gpn;
  } else {
    per_task = gpn / ranks;
    s.nodes = 1;
    s.ntasks_per_node = std::min(per_task, n) * ranks;
  }
  for (int i = 0; i < n; i += per_task) {
    std::vector<std::string> ids;
    for (int j = i; j < std::min(n, i + per_task); ++j) ids.push_back(group[j]->id);
    s.tasks.push_back(std::move(ids));
  }
  return per_task;
}

// The optional #SBATCH lines: partition, account, qos, mem.
std::string sbatch_extra_lines(const SweepSpec& spec) {
  const SweepSlurm& sl = spec.slurm;
  std::ostringstream extra;
  if (!sl.partition.empty())
    extra << "#SBATCH --partition=" << sbatch_value(spec, "slurm.partition", sl.partition) << '\n';
  if (!sl.account.empty())
    extra << "#SBATCH --account=" << sbatch_value(spec, "slurm.account", sl.account) << '\n';
  if (!sl.qos.empty()) extra << "#SBATCH --qos=" << sbatch_value(spec, "slurm.qos", sl.qos) << '\n';
  if (!sl.mem.empty()) extra << "#SBATCH --mem=" << sbatch_value(spec, "slurm.mem", sl.mem) << '\n';
  return extra.str();
}

// One job array: `group` = the cells of `ranks` ranks each, in order.
SlurmScript script_make(const SweepSpec& spec, const std::vector<const SweepCell*>& group,
                        int ranks, const std::string& sweep_arg,
                        const std::vector<std::string>& cli_sets) {
  const SweepSlurm& sl = spec.slurm;
  const int n = static_cast<int>(group.size());
  SlurmScript s;
  s.ranks_per_cell = ranks;
  s.gpus_per_task = 1;
  s.cpus_per_task = sl.cpus_per_task;
  s.time = sl.time;
  const int per_task = script_layout(spec, group, ranks, s);
  const int n_tasks = static_cast<int>(s.tasks.size());

  const std::string job = spec.name + "_r" + std::to_string(ranks);
  const fs::path slurm_dir = fs::path(spec.out_dir) / "slurm";
  s.path = (slurm_dir / (job + ".sbatch")).string();
  // In --output, % starts a Slurm pattern (%x job name, %A array job, %a task).
  std::string out_dir_pat;
  for (char c : slurm_dir.string()) out_dir_pat += c == '%' ? std::string("%%") : std::string(1, c);

  std::ostringstream cell_list, cases, extra, sets;
  for (const SweepCell* c : group) {
    cell_list << "#   " << c->id << ":";
    for (const auto& [k, v] : c->axis_values) cell_list << ' ' << k << '=' << comment_text(v);
    cell_list << '\n';
  }
  for (int t = 0; t < n_tasks; ++t) {
    for (const auto& id : s.tasks[t])
      RELAPSE_CHECK(
          !id.empty() && id.find_first_not_of("0123456789abcdefABCDEF_-") == std::string::npos,
          "cell id '", id, "' is not a plain token");
    cases << "  " << t << ") CELLS=" << join(s.tasks[t], ",")
          << "; NTASKS=" << static_cast<int>(s.tasks[t].size()) * ranks << " ;;\n";
  }
  extra << sbatch_extra_lines(spec);
  for (const auto& kv : cli_sets) sets << " --set " << sweep_slurm_shell_quote(kv);

  const std::string range = "0-" + std::to_string(n_tasks - 1);
  auto strip_nl = [](std::string t) {
    if (!t.empty() && t.back() == '\n') t.pop_back();
    return t;
  };
  std::map<std::string, std::string> vars = {
      {"JOB_NAME", job},
      {"SWEEP_NAME", comment_text(spec.name)},
      {"SCRIPT_PATH", comment_text(s.path)},
      {"OUT_DIR", comment_text(spec.out_dir)},
      {"N_CELLS", std::to_string(n)},
      {"RANKS", std::to_string(ranks)},
      {"CELLS_PER_TASK", std::to_string(per_task)},
      {"CELL_LIST", strip_nl(cell_list.str())},
      {"NODES", std::to_string(s.nodes)},
      {"NTASKS_PER_NODE", std::to_string(s.ntasks_per_node)},
      {"CPUS_PER_TASK", std::to_string(s.cpus_per_task)},
      {"TIME", s.time},
      {"ARRAY", range + (sl.max_parallel > 0 ? "%" + std::to_string(sl.max_parallel) : "")},
      {"ARRAY_RANGE", range},
      {"OUTPUT", sbatch_value(spec, "out_dir", out_dir_pat + "/%x-%A_%a.out")},
      {"SBATCH_EXTRA", strip_nl(extra.str())},
      {"CASES", strip_nl(cases.str())},
      {"SETUP", join(sl.setup, "\n")},
      {"RELAPSE_BIN",
       sweep_slurm_shell_quote(sl.relapse_bin.empty() ? "build/src/cli/relapse" : sl.relapse_bin)},
      {"SWEEP_ARG", sweep_slurm_shell_quote(sweep_arg)},
      {"SETS", sets.str()},
  };
  // The job name is also the file name and appears unquoted in the script.
  RELAPSE_CHECK_CONFIG(
      !spec.name.empty() && std::all_of(job.begin(), job.end(), shell_safe_char) &&
          job.find_first_of("/%@") == std::string::npos,
      "sweep '", spec.path, "': name '", spec.name,
      "' must be a plain name (letters, digits, _ . : = + , -) to name a Slurm job");
  s.text = template_fill(kSweepArraySbatchTemplate, vars);
  return s;
}

// sbatch: $RELAPSE_SBATCH when set, else the first executable `sbatch` on PATH; "" if none.
std::string sbatch_find() {
  const char* env = std::getenv("RELAPSE_SBATCH");
  std::string name = env && *env ? env : "sbatch";
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  std::string d;
  while (std::getline(dirs, d, ':')) {
    std::string p = (d.empty() ? std::string(".") : d) + "/" + name;
    std::error_code ec;
    if (fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// Runs `exe arg` (no shell) and returns its exit status (-1 when it did not
// exit normally) with stdout and stderr together in `output`.
int command_run(const std::string& exe, const std::string& arg, std::string& output) {
  // Everything the child needs is made before fork (no allocation after it).
  std::vector<char*> argv = {const_cast<char*>(exe.c_str()), const_cast<char*>(arg.c_str()),
                             nullptr};
  const std::string exec_failed = "cannot execute '" + exe + "'\n";
  int fd[2];
  RELAPSE_CHECK(::pipe(fd) == 0, "pipe: ", std::strerror(errno));
  pid_t pid = ::fork();
  RELAPSE_CHECK(pid >= 0, "fork: ", std::strerror(errno));
  if (pid == 0) {
    ::dup2(fd[1], 1);
    ::dup2(fd[1], 2);
    ::close(fd[0]);
    ::close(fd[1]);
    ::execv(exe.c_str(), argv.data());
    ssize_t ignored = ::write(2, exec_failed.data(), exec_failed.size());
    (void)ignored;
    ::_exit(127);
  }
  ::close(fd[1]);
  output.clear();
  char buf[4096];
  for (;;) {
    ssize_t k = ::read(fd[0], buf, sizeof buf);
    if (k > 0)
      output.append(buf, static_cast<size_t>(k));
    else if (k == 0 || errno != EINTR)
      break;
  }
  ::close(fd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

std::string sweep_slurm_shell_quote(const std::string& s) {
  if (!s.empty() && std::all_of(s.begin(), s.end(), shell_safe_char)) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::vector<SlurmScript> sweep_slurm_scripts(const SweepSpec& spec,
                                             const std::vector<SweepCell>& cells,
                                             const std::string& sweep_arg,
                                             const std::vector<std::string>& cli_sets) {
  check_spec(spec);
  std::map<int, std::vector<const SweepCell*>> by_ranks;  // ordered: increasing ranks
  for (const SweepCell& c : cells) {
    RELAPSE_CHECK_CONFIG(c.ranks >= 1, "sweep '", spec.path, "': cell ", c.id, " has ", c.ranks,
                         " ranks");
    by_ranks[c.ranks].push_back(&c);
  }
  std::vector<SlurmScript> out;
  for (const auto& [ranks, group] : by_ranks)
    out.push_back(script_make(spec, group, ranks, sweep_arg, cli_sets));
  return out;
}

void sweep_slurm_write(const std::vector<SlurmScript>& scripts) {
  for (const SlurmScript& s : scripts) {
    std::error_code ec;
    const fs::path dir = fs::path(s.path).parent_path();
    if (!dir.empty()) fs::create_directories(dir, ec);
    RELAPSE_CHECK_INPUT(!ec, "cannot create directory '", dir.string(), "': ", ec.message());
    fs_write_file_atomic(s.path, s.text, 0755);  // rwxr-xr-x: sbatch scripts run
  }
}

std::vector<std::string> sweep_slurm_submit(const std::vector<SlurmScript>& scripts) {
  std::vector<std::string> ids;
  if (scripts.empty()) return ids;
  const std::string sbatch = sbatch_find();
  const char* env = std::getenv("RELAPSE_SBATCH");
  RELAPSE_CHECK_CODE(ExitCode::kEnvironment, !sbatch.empty(), "cannot submit: ",
                     env && *env
                         ? "RELAPSE_SBATCH='" + std::string(env) + "' is not an executable"
                         : std::string("sbatch not found on PATH (not on a Slurm login node?)"),
                     "; submit the scripts by hand with sbatch, e.g. sbatch ", scripts[0].path);
  auto submitted = [&ids]() {
    return ids.empty() ? std::string() : " (already submitted: job " + join(ids, ", job ") + ")";
  };
  static const std::regex re(R"(Submitted batch job (\d+))");
  for (const SlurmScript& s : scripts) {
    std::string output;
    const int rc = command_run(sbatch, s.path, output);
    RELAPSE_CHECK_INPUT(rc == 0, "sbatch ", s.path, " failed (exit ", rc, "): ", output,
                        submitted());
    std::smatch m;
    RELAPSE_CHECK_CODE(ExitCode::kInternal, std::regex_search(output, m, re), "sbatch ", s.path,
                       " printed no 'Submitted batch job N': ", output, submitted());
    ids.push_back(m[1].str());
  }
  return ids;
}

}  // namespace relapse::study
