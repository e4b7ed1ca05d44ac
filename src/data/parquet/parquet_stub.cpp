// src/data/parquet/parquet_stub.cpp — parquet_read_strings when relapse was
// built without Arrow's parquet reader (RELAPSE_WITH_PARQUET off or pyarrow
// not found): the import says what to install.
#include "relapse/core/error.h"
#include "relapse/data/muse_import.h"

namespace relapse::data {

bool parquet_available() {
  return false;
}

std::vector<std::vector<std::string>> parquet_read_strings(const std::string& file,
                                                           const std::vector<std::string>&) {
  RELAPSE_THROW(ExitCode::kConfig, "cannot read ", file,
                ": relapse was built without parquet support; install pyarrow into "
                ".deps/venv (launch/setup.sh does) and re-run cmake, or convert with MUSE's "
                "load_data.py and pass the JSON layout");
}

}  // namespace relapse::data
