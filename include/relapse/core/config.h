// relapse/core/config.h — the typed YAML configuration mechanism. A config is a
// plain struct with defaults; a free function config_fields(ConfigBinder&, S&)
// lists its fields (and nested sections) once, and every binder walks that same
// list: loading from YAML (strict types, unknown keys are errors with the full
// key path and the nearest valid key), `--set a.b.c=value` overrides, dumping
// the complete resolved config as YAML, and describing the keys for help text.
//
//   struct ModelSection { std::string path; std::string dtype = "float32"; };
//   void config_fields(ConfigBinder& b, ModelSection& s) {
//     b.field("path", s.path, "HF model directory");
//     b.field("dtype", s.dtype, "weights dtype", {"float32", "bfloat16"});
//   }
//   struct Top { ModelSection model; };
//   void config_fields(ConfigBinder& b, Top& t) { b.section("model", t.model, "the model"); }
//   Top t = config_load_as<Top>("run.yaml", {"model.dtype=bfloat16"});
//   std::string yaml = config_dump_as(t);
//
// config_fields is found by argument-dependent lookup, so it lives in the
// namespace of its struct. All errors are relapse::Error with ExitCode::kConfig
// and name the key path and where the value came from ("FILE:LINE" or the
// --set argument). Each layer declares its own sections in
// relapse/<layer>/<layer>_config.h; relapse/pipeline/config.h composes them.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "relapse/core/error.h"

namespace relapse {

// A pointer to one leaf field of a config struct.
using ConfigValueRef = std::variant<bool*, int*, int64_t*, double*, std::string*, std::vector<int>*,
                                    std::vector<double>*, std::vector<std::string>*>;

// The visitor that config_fields() lists fields to. Keys are lower-case
// identifiers ([a-z0-9_]+), unique within their section.
class ConfigBinder {
 public:
  virtual ~ConfigBinder() = default;

  void field(const char* key, bool& v, const char* help) { leaf(key, &v, help, nullptr); }
  void field(const char* key, int& v, const char* help) { leaf(key, &v, help, nullptr); }
  void field(const char* key, int64_t& v, const char* help) { leaf(key, &v, help, nullptr); }
  void field(const char* key, double& v, const char* help) { leaf(key, &v, help, nullptr); }
  // choices: when non-empty, the value (or every entry of a list) must be one of them.
  void field(const char* key, std::string& v, const char* help,
             const std::vector<std::string>& choices = {}) {
    leaf(key, &v, help, &choices);
  }
  void field(const char* key, std::vector<int>& v, const char* help) {
    leaf(key, &v, help, nullptr);
  }
  void field(const char* key, std::vector<double>& v, const char* help) {
    leaf(key, &v, help, nullptr);
  }
  void field(const char* key, std::vector<std::string>& v, const char* help,
             const std::vector<std::string>& choices = {}) {
    leaf(key, &v, help, &choices);
  }

  // A nested section: its own struct with its own config_fields().
  template <typename S>
  void section(const char* key, S& s, const char* help = "") {
    section_begin(key, help);
    path_.emplace_back(key);
    config_fields(*this, s);
    path_.pop_back();
    section_end(key);
  }

  // True only in the binder that has just loaded the fields listed above it
  // (after file and --set). Derived defaults go under `if (b.loading())`, e.g.
  // "tokenizer defaults to the model path".
  virtual bool loading() const { return false; }

  // Range/consistency check of an already-listed field; acts only while
  // loading. Failing throws kConfig naming the full key and where its value
  // came from:  b.check("tp", s.tp >= 1, "must be >= 1, got ", s.tp);
  template <typename... Args>
  void check(const char* key, bool ok, Args&&... why) {
    if (!ok && loading()) check_failed(key, detail::error_concat(std::forward<Args>(why)...));
  }

  // "model.dtype" for key "dtype" inside section "model".
  std::string path_of(const std::string& key) const;

 protected:
  virtual void leaf(const char* key, ConfigValueRef v, const char* help,
                    const std::vector<std::string>* choices) = 0;
  virtual void section_begin(const char* key, const char* help) = 0;
  virtual void section_end(const char* key) = 0;
  virtual void check_failed(const char* key, const std::string& why);
  // Enclosing section keys, outermost first (excluding the key being bound).
  const std::vector<std::string>& path() const { return path_; }

 private:
  std::vector<std::string> path_;
};

// One leaf key of a config, for help text and tests.
struct ConfigKeyInfo {
  std::string key;   // full path, "model.dtype"
  std::string type;  // "bool", "int", "int64", "double", "string", "list<int>", ...
  std::string help;
  std::vector<std::string> choices;  // allowed values of a string, empty = any
  std::string value;                 // current value as YAML ("\"float32\"", "[1, 2]")
};

// ---- type-erased entry points (config.cpp); `fields` lists the root struct --
using ConfigFieldsFn = std::function<void(ConfigBinder&)>;

// Where each leaf's value came from, by full key path: "FILE:LINE", the
// "--set k=v" argument, or "the defaults". Kept beside a loaded config so a
// rule checked after loading (one that needs the launched world or the data)
// names the key and its origin exactly as the loader does.
using ConfigOrigins = std::map<std::string, std::string>;

// Throws kConfig in the loader's words: "invalid config value for 'KEY' in
// WHERE: WHY" (WHERE from `origins`, "the defaults" when absent).
[[noreturn]] void config_refuse(const ConfigOrigins& origins, const std::string& key,
                                const std::string& why);

// Loads YAML text (named `source` in errors; empty or all-comment text = no
// keys) with the --set overrides ("a.b.c=value", value parsed as YAML: scalar,
// [flow, list] or {flow: map}; applied in order, so a later one wins) into the
// struct behind `fields`. Keys absent from both keep the struct's defaults.
// Returns where every leaf's value came from.
ConfigOrigins config_bind_text(const ConfigFieldsFn& fields, const std::string& text,
                               const std::string& source, const std::vector<std::string>& sets);
// Same, reading the file at `path`; an empty path means no file (defaults + sets).
ConfigOrigins config_bind_file(const ConfigFieldsFn& fields, const std::string& path,
                               const std::vector<std::string>& sets);
// Every field in declaration order, as YAML that config_bind_text() reads back
// to the same values. with_help adds each field's help as a comment line.
std::string config_dump_fields(const ConfigFieldsFn& fields, bool with_help);
std::vector<ConfigKeyInfo> config_describe_fields(const ConfigFieldsFn& fields);

// Levenshtein edit distance (insert/delete/substitute, each cost 1).
size_t config_edit_distance(const std::string& a, const std::string& b);

// ---- typed wrappers ---------------------------------------------------------
template <typename T>
T config_load_as(const std::string& path, const std::vector<std::string>& sets = {}) {
  T cfg{};
  config_bind_file([&](ConfigBinder& b) { config_fields(b, cfg); }, path, sets);
  return cfg;
}

template <typename T>
T config_parse_as(const std::string& yaml_text, const std::string& source = "<string>",
                  const std::vector<std::string>& sets = {}) {
  T cfg{};
  config_bind_text([&](ConfigBinder& b) { config_fields(b, cfg); }, yaml_text, source, sets);
  return cfg;
}

template <typename T>
std::string config_dump_as(const T& cfg, bool with_help = false) {
  T copy = cfg;  // binders take S&; the dumper never writes
  return config_dump_fields([&](ConfigBinder& b) { config_fields(b, copy); }, with_help);
}

template <typename T>
std::vector<ConfigKeyInfo> config_describe_as(const T& cfg = T{}) {
  T copy = cfg;
  return config_describe_fields([&](ConfigBinder& b) { config_fields(b, copy); });
}

}  // namespace relapse
