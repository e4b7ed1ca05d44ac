// src/cli/cmd_report.cpp — `relapse report ARCHIVE --out DIR`: reads a run
// archive back (results::archive_read_run) and writes DIR/report.md with its
// SVG figures (report::report_write), the same report `relapse run` writes
// beside its archive. Serial: rank 0 does the work; every rank checks the
// archive exists, so a bad path fails on every rank with the file named. A
// sweep's study archive (study.h5) gets the study report (sweep_report_write).
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "relapse/archive/h5.h"
#include "relapse/core/error.h"
#include "relapse/report/report.h"
#include "relapse/results/archive.h"
#include "relapse/study/sweep.h"

namespace relapse::cli {

namespace {
struct ReportArgs {
  std::string archive;
  std::string out;
};

// A study archive (relapse/study/sweep.h) has /cells_table; a run's has not.
bool archive_is_study(const std::string& path) {
  archive::H5File f = archive::H5File::open_read(path);
  return f.root().has("cells_table");
}
}  // namespace

void cmd_report_register(CLI::App& app, CommandRun& run) {
  auto a = std::make_shared<ReportArgs>();
  CLI::App* c = app.add_subcommand("report",
                                   "Write report.md and its figures (SVG) from a run archive "
                                   "(relapse.h5) or a study archive (study.h5)");
  c->add_option("archive", a->archive, "HDF5 archive written by `relapse run`")->required();
  c->add_option("--out", a->out, "Output directory (created); default: the archive's directory");
  c->callback([a, &run] {
    run = [a](Runtime& rt) {
      namespace fs = std::filesystem;
      std::error_code ec;
      RELAPSE_CHECK_INPUT(fs::is_regular_file(a->archive, ec), "archive '", a->archive,
                          "' does not exist or is not a file");
      if (rt.rank() != 0) return 0;
      fs::path dir = a->out.empty() ? fs::path(a->archive).parent_path() : fs::path(a->out);
      if (dir.empty()) dir = ".";
      if (archive_is_study(a->archive)) {  // a sweep's study.h5: the study report
        study::sweep_report_write(a->archive, dir.string());
        std::cout << "relapse report: wrote " << (dir / "report.md").string() << " (study) from "
                  << a->archive << "\n";
        return 0;
      }
      results::RunResult r = results::archive_read_run(a->archive);
      // How report.md refers to the archive: relative to the report when possible.
      fs::path rel = fs::absolute(a->archive, ec).lexically_relative(fs::absolute(dir, ec));
      std::string name = rel.empty() ? fs::absolute(a->archive, ec).string() : rel.string();
      report::report_write(r, dir.string(), name);
      std::cout << "relapse report: wrote " << (dir / "report.md").string() << " and "
                << report::report_figures(r).size() << " figure(s) from " << a->archive << "\n";
      return 0;
    };
  });
}

RELAPSE_REGISTER_COMMAND(60, cmd_report_register);

}  // namespace relapse::cli
