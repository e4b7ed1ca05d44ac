// src/core/config.cpp — the binders behind relapse/core/config.h. Loading is
// three passes over the same config_fields() list: (1) collect the schema (the
// valid keys at every level), (2) check the YAML tree — file plus --set
// overrides — against it (unknown keys, duplicates, sections that are not
// mappings), (3) bind values into the struct with strict types, choices and
// the per-section checks. Dump and describe are one more pass each.
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "config_internal.h"
#include "relapse/core/fs.h"

namespace relapse {

using config_detail::Origin;

std::string ConfigBinder::path_of(const std::string& key) const {
  std::string p;
  for (const auto& s : path_) p += s + ".";
  return p + key;
}

void ConfigBinder::check_failed(const char* key, const std::string& why) {
  RELAPSE_THROW(ExitCode::kConfig, "invalid config value for '", path_of(key), "': ", why);
}

namespace {

// ---- pass 1: the schema --------------------------------------------------
struct Level {
  std::vector<std::string> keys;  // leaves and sections, declaration order
  std::map<std::string, std::unique_ptr<Level>> sections;
};

bool valid_key(const char* key) {
  if (!key || !*key) return false;
  for (const char* c = key; *c; ++c) {
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) return false;
  }
  return true;
}

class SchemaBinder : public ConfigBinder {
 public:
  Level root;

 protected:
  void leaf(const char* key, ConfigValueRef, const char*,
            const std::vector<std::string>*) override {
    add(key);
  }
  void section_begin(const char* key, const char*) override {
    add(key);
    auto& sub = stack_.back()->sections[key];
    sub = std::make_unique<Level>();
    stack_.push_back(sub.get());
  }
  void section_end(const char*) override { stack_.pop_back(); }

 private:
  void add(const char* key) {
    RELAPSE_CHECK(valid_key(key), "config key '", path_of(key ? key : ""),
                  "' must be a lower-case identifier");
    auto& keys = stack_.back()->keys;
    for (const auto& k : keys)
      RELAPSE_CHECK(k != key, "config key '", path_of(key), "' listed twice");
    keys.emplace_back(key);
  }
  std::vector<Level*> stack_{&root};
};

// ---- pass 2: keys of the YAML tree -----------------------------------------
std::string join_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

std::string describe_kind(const YAML::Node& n) {
  if (n.IsSequence()) return "a list";
  if (n.IsScalar()) return "the value '" + n.Scalar() + "'";
  return "something else";
}

void check_keys(const YAML::Node& node, const Level& level, const std::string& prefix,
                const Origin& origin) {
  if (!node.IsDefined() || node.IsNull()) return;  // "section:" with nothing = defaults
  if (!node.IsMap()) {
    const std::string where = origin.where(prefix, node);
    if (prefix.empty()) {
      RELAPSE_THROW(ExitCode::kConfig, "the top level of ", where,
                    " must be a mapping of sections (run:, model:, ...), got ",
                    describe_kind(node));
    }
    RELAPSE_THROW(ExitCode::kConfig, "config key '", prefix, "' in ", where,
                  ": expected a section (a mapping with keys ",
                  config_detail::join(level.keys, ", "), "), got ", describe_kind(node));
  }
  std::map<std::string, YAML::Node> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key_node = it->first;
    if (!key_node.IsScalar()) {
      RELAPSE_THROW(ExitCode::kConfig, "a key in section '",
                    prefix.empty() ? "(top level)" : prefix, "' in ",
                    origin.where(prefix, key_node), " is not a plain name");
    }
    const std::string& key = key_node.Scalar();
    const std::string full = join_path(prefix, key);
    auto [prev, fresh] = seen.emplace(key, key_node);
    if (!fresh) {
      RELAPSE_THROW(ExitCode::kConfig, "duplicate key '", full, "' in ",
                    origin.where(full, key_node), " (first at ", origin.where(full, prev->second),
                    ")");
    }
    bool known = false;
    for (const auto& k : level.keys) known = known || k == key;
    if (!known) {
      const std::string near = config_detail::nearest(key, level.keys);
      if (!near.empty()) {
        RELAPSE_THROW(ExitCode::kConfig, "unknown key '", full, "' in ",
                      origin.where(full, key_node), "; did you mean '", join_path(prefix, near),
                      "'?");
      }
      RELAPSE_THROW(ExitCode::kConfig, "unknown key '", full, "' in ", origin.where(full, key_node),
                    "; valid keys ", prefix.empty() ? "at the top level" : "in '" + prefix + "'",
                    ": ", config_detail::join(level.keys, ", "));
    }
    auto sub = level.sections.find(key);
    if (sub != level.sections.end()) check_keys(it->second, *sub->second, full, origin);
  }
}

// ---- pass 3: values --------------------------------------------------------
class LoadBinder : public ConfigBinder {
 public:
  LoadBinder(const Origin& origin, const YAML::Node& root) : origin_(origin) {
    nodes_.push_back(root);
  }
  bool loading() const override { return true; }

 protected:
  void leaf(const char* key, ConfigValueRef v, const char*,
            const std::vector<std::string>* choices) override {
    const std::string path = path_of(key);
    YAML::Node node;
    std::string where = "the defaults";
    if (find(key, &node)) {
      where = origin_.where(path, node);
      config_detail::decode(node, v, path, where);
    }
    where_[path] = where;
    check_finite(v, path, where);
    if (!choices || choices->empty()) return;
    // A string, or every entry of a list of strings, must be one of the choices.
    std::vector<std::string> values;
    if (auto* s = std::get_if<std::string*>(&v)) values.push_back(**s);
    if (auto* l = std::get_if<std::vector<std::string>*>(&v)) values = **l;
    for (const std::string& s : values) {
      bool ok = false;
      for (const auto& c : *choices) ok = ok || c == s;
      if (ok) continue;
      const std::string near = config_detail::nearest(s, *choices);
      RELAPSE_THROW(ExitCode::kConfig, "config key '", path, "' in ", where, ": '", s,
                    "' is not one of ", config_detail::join(*choices, ", "),
                    near.empty() ? "" : "; did you mean '" + near + "'?");
    }
  }
  // One rule for every number of every section: no key takes NaN or ±inf
  // (YAML's .nan / .inf), so no section has to remember to refuse them.
  static void check_finite(ConfigValueRef v, const std::string& path, const std::string& where) {
    std::vector<double> values;
    if (auto* d = std::get_if<double*>(&v)) values.push_back(**d);
    if (auto* l = std::get_if<std::vector<double>*>(&v)) values = **l;
    for (double x : values)
      RELAPSE_CHECK_CONFIG(std::isfinite(x), "invalid config value for '", path, "' in ", where,
                           ": must be a finite number, got ", x);
  }
  void section_begin(const char* key, const char*) override {
    YAML::Node node;
    nodes_.push_back(find(key, &node) ? node : YAML::Node());  // checked: a map or null
  }
  void section_end(const char*) override { nodes_.pop_back(); }
  void check_failed(const char* key, const std::string& why) override {
    config_refuse(where_, path_of(key), why);
  }

 public:
  const ConfigOrigins& origins() const { return where_; }

 private:
  // The value of `key` in the current section's mapping, if present.
  bool find(const char* key, YAML::Node* out) const {
    const YAML::Node& m = nodes_.back();
    if (!m.IsMap()) return false;
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) {
        *out = it->second;
        return true;
      }
    }
    return false;
  }
  const Origin& origin_;
  std::vector<YAML::Node> nodes_;
  ConfigOrigins where_;  // leaf path -> where its value came from
};

// ---- dump and describe -----------------------------------------------------
class DumpBinder : public ConfigBinder {
 public:
  explicit DumpBinder(bool with_help) : with_help_(with_help) {}
  std::string text() const {
    std::string s;
    for (const auto& l : lines_) s += l + "\n";
    return s;
  }

 protected:
  void leaf(const char* key, ConfigValueRef v, const char* help,
            const std::vector<std::string>* choices) override {
    comment(help, choices);
    lines_.push_back(indent() + key + ": " + config_detail::encode(v));
  }
  void section_begin(const char* key, const char* help) override {
    if (with_help_ && path().empty() && !lines_.empty()) lines_.emplace_back();
    comment(help, nullptr);
    open_.push_back(lines_.size());
    lines_.push_back(indent() + key + ":");
  }
  void section_end(const char*) override {
    const size_t header = open_.back();
    open_.pop_back();
    if (lines_.size() == header + 1) lines_[header] += " {}";  // a section without fields
  }

 private:
  std::string indent() const { return std::string(2 * path().size(), ' '); }
  void comment(const char* help, const std::vector<std::string>* choices) {
    if (!with_help_) return;
    std::string h = help ? help : "";
    if (choices && !choices->empty()) {
      h += std::string(h.empty() ? "" : " ") + "(one of: " + config_detail::join(*choices, ", ") +
           ")";
    }
    std::istringstream in(h);
    for (std::string line; std::getline(in, line);) lines_.push_back(indent() + "# " + line);
  }
  bool with_help_;
  std::vector<std::string> lines_;
  std::vector<size_t> open_;
};

class DescribeBinder : public ConfigBinder {
 public:
  std::vector<ConfigKeyInfo> keys;

 protected:
  void leaf(const char* key, ConfigValueRef v, const char* help,
            const std::vector<std::string>* choices) override {
    keys.push_back({path_of(key), config_detail::type_name(v), help ? help : "",
                    choices ? *choices : std::vector<std::string>{}, config_detail::encode(v)});
  }
  void section_begin(const char*, const char*) override {}
  void section_end(const char*) override {}
};

// ---- --set -----------------------------------------------------------------
struct Override {
  std::vector<std::string> keys;  // "a.b.c" split
  std::string path;               // "a.b.c"
  std::string text;               // "--set a.b.c=value"
  YAML::Node value;
};

Override override_parse(const std::string& arg) {
  Override o;
  o.text = "--set " + arg;
  const size_t eq = arg.find('=');
  RELAPSE_CHECK_CONFIG(eq != std::string::npos, "bad override '", o.text,
                       "': expected --set section.key=value");
  o.path = arg.substr(0, eq);
  std::string part;
  std::istringstream in(o.path + ".");
  while (std::getline(in, part, '.')) o.keys.push_back(part);
  bool ok = !o.path.empty() && o.path.back() != '.';
  for (const auto& k : o.keys) ok = ok && valid_key(k.c_str());
  RELAPSE_CHECK_CONFIG(ok, "bad override '", o.text, "': the key '", o.path,
                       "' must be dot-separated lower-case names, like model.dtype");
  try {
    o.value = YAML::Load(arg.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    RELAPSE_THROW(ExitCode::kConfig, "bad override '", o.text, "': the value is not valid YAML (",
                  e.msg, ")");
  }
  return o;
}

// Writes the override into the tree, creating sections on the way; a value
// already sitting where a section is needed is an error.
void override_apply(YAML::Node& root, const Override& o, const Origin& origin) {
  if (!root.IsMap()) {
    RELAPSE_CHECK_CONFIG(root.IsNull(), "cannot apply '", o.text, "': the top level of ",
                         origin.source, " is not a mapping");
    root.reset(YAML::Node(YAML::NodeType::Map));
  }
  YAML::Node cur;
  cur.reset(root);
  std::string prefix;
  for (size_t i = 0; i + 1 < o.keys.size(); ++i) {
    prefix = join_path(prefix, o.keys[i]);
    YAML::Node next = cur[o.keys[i]];
    if (!next.IsMap()) {
      RELAPSE_CHECK_CONFIG(!next.IsDefined() || next.IsNull(), "cannot apply '", o.text, "': '",
                           prefix, "' is a value (", origin.where(prefix, next),
                           "), not a section");
      cur[o.keys[i]] = YAML::Node(YAML::NodeType::Map);
      next.reset(cur[o.keys[i]]);
    }
    cur.reset(next);
  }
  cur[o.keys.back()] = o.value;
}

}  // namespace

void config_refuse(const ConfigOrigins& origins, const std::string& key, const std::string& why) {
  auto it = origins.find(key);
  RELAPSE_THROW(ExitCode::kConfig, "invalid config value for '", key, "' in ",
                it == origins.end() ? std::string("the defaults") : it->second, ": ", why);
}

ConfigOrigins config_bind_text(const ConfigFieldsFn& fields, const std::string& text,
                               const std::string& source, const std::vector<std::string>& sets) {
  Origin origin;
  origin.source = source;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    RELAPSE_THROW(ExitCode::kConfig, source, ":", e.mark.line + 1, ":", e.mark.column + 1,
                  ": YAML syntax error: ", e.msg);
  } catch (const YAML::Exception& e) {
    RELAPSE_THROW(ExitCode::kConfig, source, ": cannot parse YAML: ", e.msg);
  }
  for (const auto& s : sets) {
    Override o = override_parse(s);
    override_apply(root, o, origin);
    origin.sets.emplace_back(o.path, o.text);
  }
  SchemaBinder schema;
  fields(schema);
  check_keys(root, schema.root, "", origin);
  LoadBinder loader(origin, root);
  fields(loader);
  return loader.origins();
}

ConfigOrigins config_bind_file(const ConfigFieldsFn& fields, const std::string& path,
                               const std::vector<std::string>& sets) {
  if (path.empty()) return config_bind_text(fields, "", "", sets);
  std::error_code ec;
  RELAPSE_CHECK_CONFIG(std::filesystem::exists(path, ec), "config file '", path,
                       "' does not exist");
  RELAPSE_CHECK_CONFIG(!std::filesystem::is_directory(path, ec), "config file '", path,
                       "' is a directory");
  std::string text;
  try {
    text = fs_read_file(path, "config file");
  } catch (const Error& e) {  // a config that cannot be read is a config error (exit 3)
    throw Error(ExitCode::kConfig, e.what(), e.where());
  }
  return config_bind_text(fields, text, path, sets);
}

std::string config_dump_fields(const ConfigFieldsFn& fields, bool with_help) {
  DumpBinder dump(with_help);
  fields(dump);
  return dump.text();
}

std::vector<ConfigKeyInfo> config_describe_fields(const ConfigFieldsFn& fields) {
  DescribeBinder d;
  fields(d);
  return d.keys;
}

}  // namespace relapse
