// src/data/muse_import.cpp — `relapse data import`: the Hub's parquet layout of
// MUSE into the JSON layout (relapse/data/muse_import.h). The names are the
// dataset card's configs (muse-bench/MUSE-News, checked against the files
// MUSE's authors upload with data/upload_to_hf.py): raw, verbmem, knowmem,
// privleak, and News' scal/sust; Hub revisions before July 2024 name the
// retain QA and privleak splits retain2_qa, retain2_qa_icl, retain2.
#include "relapse/data/muse_import.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "relapse/core/error.h"
#include "relapse/core/fs.h"
#include "relapse/data/muse.h"

namespace fs = std::filesystem;

namespace relapse::data {

namespace {

struct Fields {
  const char* config;
  std::vector<std::string> columns;  // text, or the record's fields in MUSE's order
};
const Fields kFields[] = {{"raw", {"text"}},
                          {"verbmem", {"prompt", "gt"}},
                          {"knowmem", {"question", "answer"}},
                          {"privleak", {"text"}},
                          {"scal", {"text"}},
                          {"sust", {"text"}}};

const std::vector<std::string>& columns_of(const std::string& config) {
  for (const Fields& f : kFields)
    if (config == f.config) return f.columns;
  RELAPSE_THROW(ExitCode::kInternal, "muse_import: no fields for config ", config);
}

std::string hub_path(const std::string& config, const std::string& split) {
  return config + "/" + split + "-00000-of-00001.parquet";
}

// The JSON text of one imported file: a list of strings, or of records.
std::string json_of(const std::vector<std::string>& cols,
                    const std::vector<std::vector<std::string>>& v) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (size_t r = 0; r < v[0].size(); ++r) {
    if (cols.size() == 1) {
      j.push_back(v[0][r]);
      continue;
    }
    nlohmann::ordered_json rec = nlohmann::ordered_json::object();
    for (size_t c = 0; c < cols.size(); ++c) rec[cols[c]] = v[c][r];
    j.push_back(rec);
  }
  return j.dump(1) + "\n";
}

}  // namespace

const std::vector<MuseHubFile>& muse_hub_files() {
  static const std::vector<MuseHubFile> files = {
      {"raw", "forget", "", "raw/forget.json"},
      {"raw", "retain1", "", "raw/retain1.json"},
      {"raw", "retain2", "", "raw/retain2.json"},
      {"raw", "holdout", "", "raw/holdout.json"},
      {"verbmem", "forget", "", "verbmem/forget.json"},
      {"knowmem", "forget_qa", "", "knowmem/forget_qa.json"},
      {"knowmem", "retain_qa", "retain2_qa", "knowmem/retain_qa.json"},
      {"knowmem", "forget_qa_icl", "", "knowmem/forget_qa_icl.json"},
      {"knowmem", "retain_qa_icl", "retain2_qa_icl", "knowmem/retain_qa_icl.json"},
      {"privleak", "forget", "", "privleak/forget.json"},
      {"privleak", "retain", "retain2", "privleak/retain.json"},
      {"privleak", "holdout", "", "privleak/holdout.json"},
      {"scal", "forget_1", "", "scal/forget_1.json"},
      {"scal", "forget_2", "", "scal/forget_2.json"},
      {"scal", "forget_3", "", "scal/forget_3.json"},
      {"scal", "forget_4", "", "scal/forget_4.json"},
      {"sust", "forget_1", "", "sust/forget_1.json"},
      {"sust", "forget_2", "", "sust/forget_2.json"},
      {"sust", "forget_3", "", "sust/forget_3.json"},
      {"sust", "forget_4", "", "sust/forget_4.json"},
  };
  return files;
}

MuseImportReport muse_import(const std::string& hub_dir, const std::string& out_dir) {
  std::error_code ec;
  RELAPSE_CHECK_INPUT(fs::is_directory(hub_dir, ec), "MUSE import: ", hub_dir,
                      " is not a directory (the Hub's layout: <config>/<split>-00000-of-00001."
                      "parquet)");
  MuseImportReport rep;
  std::vector<std::pair<std::string, std::string>> outputs;  // (relative path, bytes)
  for (const MuseHubFile& f : muse_hub_files()) {
    std::string rel = hub_path(f.config, f.split);
    if (!fs::exists(fs::path(hub_dir) / rel, ec) && *f.legacy) rel = hub_path(f.config, f.legacy);
    if (!fs::exists(fs::path(hub_dir) / rel, ec)) {
      RELAPSE_CHECK_INPUT(std::string(f.out) != "raw/forget.json", "MUSE import: ", hub_dir,
                          " has no ", hub_path(f.config, f.split),
                          ": not the Hub's MUSE layout (muse-bench/MUSE-News or MUSE-Books)");
      rep.absent.push_back(hub_path(f.config, f.split));
      continue;
    }
    const std::vector<std::string>& cols = columns_of(f.config);
    const auto v = parquet_read_strings((fs::path(hub_dir) / rel).string(), cols);
    outputs.emplace_back(f.out, json_of(cols, v));
    if (cols.size() == 1 && std::string(f.config) != "privleak") {  // the training text
      std::string txt = f.out;
      txt.replace(txt.size() - 5, 5, ".txt");
      outputs.emplace_back(txt, muse_join_docs(v[0]));
    }
  }
  for (const auto& [rel, bytes] : outputs) {
    const fs::path p = fs::path(out_dir) / rel;
    fs::create_directories(p.parent_path(), ec);
    RELAPSE_CHECK_INPUT(!ec, p.parent_path().string(), ": cannot create directory: ", ec.message());
    fs_write_file_atomic(p.string(), bytes);
    rep.written.push_back(rel);
  }
  return rep;
}

}  // namespace relapse::data
