// relapse/data/muse_import.h — MUSE as the Hugging Face Hub publishes it
// (muse-bench/MUSE-News, MUSE-Books: parquet files
// <config>/<split>-00000-of-00001.parquet) imported into the JSON layout that
// relapse reads (relapse/data/muse.h, MUSE's load_data.py output), by
// `relapse data import`. Parquet is read with Apache Arrow's C++ library
// (the one pyarrow ships), not a hand-written reader: the format's encodings,
// compressions and page layouts are many and Arrow is the reference
// implementation; CMake finds it in .deps/venv's pyarrow (RELAPSE_WITH_PARQUET,
// default "found"); without it the import says how to get it.
#pragma once
#include <string>
#include <vector>

namespace relapse::data {

// True when relapse was built with the parquet reader.
bool parquet_available();

// The string columns `columns` of a parquet file, each as one vector (all of
// the same length). A missing or non-string column, a null value or a file
// that is not parquet throws relapse::Error(kInput) naming the file and the
// column (and the columns it has).
std::vector<std::vector<std::string>> parquet_read_strings(const std::string& file,
                                                           const std::vector<std::string>& columns);

// One Hub file and where it goes: <config>/<split>-00000-of-00001.parquet
// (or the older split name `legacy`) -> `out` in the JSON layout.
struct MuseHubFile {
  const char* config;
  const char* split;
  const char* legacy;  // "" when the name never changed
  const char* out;     // e.g. "knowmem/retain_qa.json"
};
// Every file of the Hub's MUSE layout relapse imports (written once; the
// import, its report and the tests read it).
const std::vector<MuseHubFile>& muse_hub_files();

struct MuseImportReport {
  std::vector<std::string> written;  // JSON-layout files written (relative to out_dir)
  std::vector<std::string> absent;   // Hub files not found (relative to hub_dir)
};
// Reads every Hub file present under `hub_dir` (raw/forget is required) and
// writes its JSON-layout file(s) under `out_dir` (raw, scal and sust splits
// also as '\n\n'-joined .txt, as load_data.py writes them). Everything is read
// before anything is written; each file is written atomically.
MuseImportReport muse_import(const std::string& hub_dir, const std::string& out_dir);

}  // namespace relapse::data
