// src/data/parquet/parquet_arrow.cpp — parquet_read_strings with Apache Arrow's
// C++ parquet reader (the libarrow/libparquet that pyarrow ships; see
// relapse/data/muse_import.h for why a library). Compiled as C++20 (Arrow 26's
// headers need std::span), alone: nothing else in relapse sees Arrow.
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>

#include "relapse/core/error.h"
#include "relapse/data/muse_import.h"

namespace relapse::data {

namespace {

std::shared_ptr<arrow::Table> table_read(const std::string& file) {
  auto in = arrow::io::ReadableFile::Open(file);
  RELAPSE_CHECK_INPUT(in.ok(), "parquet file ", file,
                      " cannot be opened: ", in.status().ToString());
  try {
    auto reader = parquet::arrow::OpenFile(*in, arrow::default_memory_pool());
    RELAPSE_CHECK_INPUT(reader.ok(), "parquet file ", file,
                        " is not a parquet file: ", reader.status().ToString());
    auto t = (*reader)->ReadTable();
    RELAPSE_CHECK_INPUT(t.ok(), "parquet file ", file, " cannot be read: ", t.status().ToString());
    return *t;
  } catch (const parquet::ParquetException& e) {
    RELAPSE_THROW(ExitCode::kInput, "parquet file ", file, " is not a parquet file: ", e.what());
  }
}

template <class Array>
void strings_append(const arrow::Array& chunk, const std::string& file, const std::string& col,
                    std::vector<std::string>& out) {
  const auto& a = static_cast<const Array&>(chunk);
  for (int64_t i = 0; i < a.length(); ++i) {
    RELAPSE_CHECK_INPUT(!a.IsNull(i), "parquet file ", file, ": column '", col, "' row ",
                        out.size(), " is null");
    out.emplace_back(a.GetView(i));
  }
}

}  // namespace

bool parquet_available() {
  return true;
}

std::vector<std::vector<std::string>> parquet_read_strings(
    const std::string& file, const std::vector<std::string>& columns) {
  const std::shared_ptr<arrow::Table> t = table_read(file);
  std::vector<std::vector<std::string>> out;
  for (const std::string& col : columns) {
    const int idx = t->schema()->GetFieldIndex(col);
    std::string have;
    for (const auto& f : t->schema()->fields()) have += (have.empty() ? "" : ", ") + f->name();
    RELAPSE_CHECK_INPUT(idx >= 0, "parquet file ", file, " has no column '", col,
                        "' (its columns: ", have, ")");
    const auto& type = t->schema()->field(idx)->type();
    const bool large = type->id() == arrow::Type::LARGE_STRING;
    RELAPSE_CHECK_INPUT(type->id() == arrow::Type::STRING || large, "parquet file ", file,
                        ": column '", col, "' is ", type->ToString(), ", not a string column");
    std::vector<std::string> v;
    v.reserve(static_cast<size_t>(t->num_rows()));
    for (const auto& chunk : t->column(idx)->chunks()) {
      if (large) {
        strings_append<arrow::LargeStringArray>(*chunk, file, col, v);
      } else {
        strings_append<arrow::StringArray>(*chunk, file, col, v);
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace relapse::data
