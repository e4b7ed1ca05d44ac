// src/model/tokenizer_json.cpp — JsonTokenizer::load: reads a Hugging Face
// tokenizer.json (and the tokenizer_config.json beside it) into the parts
// relapse runs (tokenizer_json_internal.h). Every unsupported kind is refused
// here, naming the file and the JSON field, so a tokenizer that loads is one
// relapse tokenizes exactly as the `tokenizers` library does
// (tests/model/test_tokenizer_json.cpp).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "relapse/core/fs.h"
#include "tokenizer_json_internal.h"

namespace relapse::model {

namespace {

using Json = nlohmann::json;

std::string type_of(const Json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>()
                                                                      : std::string("?");
}

// A field of `j` with the expected JSON type, or a kInput error naming it.
const Json& field(const Json& j, const char* key, Json::value_t type, const std::string& file,
                  const std::string& where) {
  RELAPSE_CHECK_INPUT(j.is_object() && j.contains(key), "tokenizer ", file, ": ", where,
                      " has no field '", key, "'");
  const Json& v = j[key];
  const bool ok = v.type() == type || (type == Json::value_t::number_integer && v.is_number()) ||
                  (type == Json::value_t::number_unsigned && v.is_number_integer());
  RELAPSE_CHECK_INPUT(ok, "tokenizer ", file, ": ", where, ".", key, " has the wrong JSON type (",
                      v.type_name(), ")");
  return v;
}

bool flag(const Json& j, const char* key, bool dflt) {
  return j.is_object() && j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : dflt;
}

std::string str_or(const Json& j, const char* key, const std::string& dflt) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : dflt;
}

// Replace's and Split's pattern: {"String": s} (or {"Regex": r} when allowed).
std::string string_pattern(const Json& j, const std::string& file, const std::string& where) {
  const Json& p = field(j, "pattern", Json::value_t::object, file, where);
  RELAPSE_CHECK_INPUT(p.contains("String") && p["String"].is_string(), "tokenizer ", file, ": ",
                      where, ".pattern ", p.dump(),
                      " is not supported (relapse reads plain-string Replace patterns)");
  return p["String"].get<std::string>();
}

void unsupported(const std::string& file, const std::string& where, const std::string& type,
                 const char* supported) {
  RELAPSE_THROW(ExitCode::kInput, "tokenizer ", file, ": ", where, " of type '", type,
                "' is not supported (relapse reads ", supported, ")");
}

}  // namespace

namespace {

void load_model(JsonTokenizer& t, const Json& m, const std::string& file) {
  const std::string type = type_of(m);
  if (type != "BPE")
    unsupported(file, "model", type, "BPE tokenizers: Llama, Mistral, Qwen, GPT-2");
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
    RELAPSE_CHECK_INPUT(!m.contains(k) || m[k].is_null() || m[k] == "", "tokenizer ", file,
                        ": model.", k, " is set; relapse reads BPE without word affixes");
  RELAPSE_CHECK_INPUT(!m.contains("dropout") || m["dropout"].is_null() || m["dropout"] == 0,
                      "tokenizer ", file, ": model.dropout is set (BPE dropout is for training)");
  t.byte_fallback = flag(m, "byte_fallback", false);
  t.fuse_unk = flag(m, "fuse_unk", false);
  t.ignore_merges = flag(m, "ignore_merges", false);
  const Json& vocab = field(m, "vocab", Json::value_t::object, file, "model");
  t.vocab.reserve(vocab.size());
  for (const auto& [piece, id] : vocab.items()) {
    RELAPSE_CHECK_INPUT(id.is_number_integer() && id.get<int64_t>() >= 0, "tokenizer ", file,
                        ": model.vocab['", piece, "'] is not a non-negative integer id");
    t.vocab.emplace(piece, id.get<int64_t>());
  }
  const std::string unk = str_or(m, "unk_token", "");
  if (!unk.empty()) {
    t.unk = t.id_of(unk);
    RELAPSE_CHECK_INPUT(t.unk >= 0, "tokenizer ", file, ": model.unk_token '", unk,
                        "' is not in model.vocab");
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    t.byte_ids[b] = t.id_of(name);
  }
}

void load_merges(JsonTokenizer& t, const Json& m, const std::string& file) {
  const Json& merges = field(m, "merges", Json::value_t::array, file, "model");
  t.merges.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const Json& e = merges[r];
    std::string a, b;
    if (e.is_string()) {  // "a b" (the format before tokenizers 0.20)
      const std::string s = e.get<std::string>();
      const size_t sp = s.find(' ');
      RELAPSE_CHECK_INPUT(sp != std::string::npos && s.find(' ', sp + 1) == std::string::npos,
                          "tokenizer ", file, ": model.merges[", r, "] '", s,
                          "' is not two tokens separated by one space");
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else {
      RELAPSE_CHECK_INPUT(e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string(),
                          "tokenizer ", file, ": model.merges[", r, "] is not a pair of tokens");
      a = e[0].get<std::string>();
      b = e[1].get<std::string>();
    }
    const int64_t ia = t.id_of(a), ib = t.id_of(b), im = t.id_of(a + b);
    RELAPSE_CHECK_INPUT(ia >= 0 && ib >= 0 && im >= 0, "tokenizer ", file, ": model.merges[", r,
                        "] ('", a, "', '", b, "') uses a token missing from model.vocab");
    const uint64_t key = (static_cast<uint64_t>(ia) << 32) | static_cast<uint64_t>(ib);
    t.merges.emplace(key, std::make_pair(static_cast<int32_t>(r), static_cast<int32_t>(im)));
  }
}

void load_added(JsonTokenizer& t, const Json& j, const std::string& file) {
  int64_t n = 0;
  for (const auto& [piece, id] : t.vocab) n = std::max(n, id + 1);
  std::vector<JsonTokenizer::Added> added;
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    const Json& arr = field(j, "added_tokens", Json::value_t::array, file, "tokenizer.json");
    for (size_t i = 0; i < arr.size(); ++i) {
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      JsonTokenizer::Added a;
      a.id = field(arr[i], "id", Json::value_t::number_unsigned, file, where).get<int64_t>();
      a.content = field(arr[i], "content", Json::value_t::string, file, where).get<std::string>();
      RELAPSE_CHECK_INPUT(!a.content.empty(), "tokenizer ", file, ": ", where, " is empty");
      a.special = flag(arr[i], "special", false);
      a.lstrip = flag(arr[i], "lstrip", false);
      a.rstrip = flag(arr[i], "rstrip", false);
      a.normalized = flag(arr[i], "normalized", !a.special);
      a.single_word = flag(arr[i], "single_word", false);
      n = std::max(n, a.id + 1);
      added.push_back(a);
    }
  }
  t.pieces.assign(static_cast<size_t>(n), std::string());
  t.is_special.assign(static_cast<size_t>(n), false);
  t.is_added.assign(static_cast<size_t>(n), false);
  for (const auto& [piece, id] : t.vocab) t.pieces[id] = piece;
  for (const auto& a : added) {
    t.pieces[a.id] = a.content;
    t.is_special[a.id] = a.special;
    t.is_added[a.id] = true;
  }
  // Longest first: the matcher takes the leftmost, then longest, token.
  std::stable_sort(added.begin(), added.end(), [](const auto& x, const auto& y) {
    return x.content.size() > y.content.size();
  });
  t.added = std::move(added);
}

}  // namespace

namespace {

void load_normalizer(JsonTokenizer& t, const Json& n, const std::string& file,
                     const std::string& where) {
  if (n.is_null()) return;
  const std::string type = type_of(n);
  if (type == "Sequence") {
    const Json& list = field(n, "normalizers", Json::value_t::array, file, where);
    for (size_t i = 0; i < list.size(); ++i)
      load_normalizer(t, list[i], file, where + ".normalizers[" + std::to_string(i) + "]");
  } else if (type == "NFC") {
    t.normalizer.push_back({JsonTokenizer::NormStep::kNfc, "", ""});
  } else if (type == "Prepend") {
    t.normalizer.push_back(
        {JsonTokenizer::NormStep::kPrepend,
         field(n, "prepend", Json::value_t::string, file, where).get<std::string>(), ""});
  } else if (type == "Replace") {
    t.normalizer.push_back(
        {JsonTokenizer::NormStep::kReplace, string_pattern(n, file, where),
         field(n, "content", Json::value_t::string, file, where).get<std::string>()});
  } else {
    unsupported(file, where, type, "NFC, Prepend, Replace and Sequence normalizers");
  }
}

void load_pre_tokenizer(JsonTokenizer& t, const Json& p, const std::string& file,
                        const std::string& where) {
  if (p.is_null()) return;
  const std::string type = type_of(p);
  JsonTokenizer::Pre s;
  if (type == "Sequence") {
    const Json& list = field(p, "pretokenizers", Json::value_t::array, file, where);
    for (size_t i = 0; i < list.size(); ++i)
      load_pre_tokenizer(t, list[i], file, where + ".pretokenizers[" + std::to_string(i) + "]");
    return;
  } else if (type == "ByteLevel") {
    s.kind = JsonTokenizer::PreStep::kByteLevel;
    s.use_regex = flag(p, "use_regex", true);
    s.add_prefix_space = flag(p, "add_prefix_space", true);
    t.byte_level = true;
  } else if (type == "Metaspace") {
    s.kind = JsonTokenizer::PreStep::kMetaspace;
    s.replacement = field(p, "replacement", Json::value_t::string, file, where).get<std::string>();
    // Files before tokenizers 0.19 carry add_prefix_space instead of the scheme.
    s.prepend_scheme =
        str_or(p, "prepend_scheme", flag(p, "add_prefix_space", true) ? "always" : "never");
    RELAPSE_CHECK_INPUT(
        s.prepend_scheme == "always" || s.prepend_scheme == "first" || s.prepend_scheme == "never",
        "tokenizer ", file, ": ", where, ".prepend_scheme '", s.prepend_scheme,
        "' is not always, first or never");
    s.split = flag(p, "split", true);
  } else if (type == "Split") {
    s.kind = JsonTokenizer::PreStep::kSplit;
    const Json& pat = field(p, "pattern", Json::value_t::object, file, where);
    const std::string re = str_or(pat, "Regex", "");
    bool known = false;
    for (SplitRegex r : {SplitRegex::kGpt2, SplitRegex::kLlama3, SplitRegex::kQwen2}) {
      if (re == split_regex_pattern(r)) {
        s.regex = r;
        known = true;
      }
    }
    RELAPSE_CHECK_INPUT(known, "tokenizer ", file, ": ", where, ".pattern ", pat.dump(),
                        " is not one of the pre-tokenizer regexes relapse matches (GPT-2's, "
                        "Llama-3's, Qwen2's)");
    RELAPSE_CHECK_INPUT(str_or(p, "behavior", "") == "Isolated" && !flag(p, "invert", false),
                        "tokenizer ", file, ": ", where,
                        " must have behavior Isolated and invert false");
  } else {
    unsupported(file, where, type, "ByteLevel, Metaspace, Split and Sequence pre-tokenizers");
  }
  t.pre_tokenizer.push_back(s);
}

void load_post_processor(JsonTokenizer& t, const Json& p, const std::string& file,
                         const std::string& where) {
  if (p.is_null()) return;
  const std::string type = type_of(p);
  if (type == "Sequence") {
    const Json& list = field(p, "processors", Json::value_t::array, file, where);
    for (size_t i = 0; i < list.size(); ++i)
      load_post_processor(t, list[i], file, where + ".processors[" + std::to_string(i) + "]");
  } else if (type == "TemplateProcessing") {
    const Json& single = field(p, "single", Json::value_t::array, file, where);
    const Json& specials = field(p, "special_tokens", Json::value_t::object, file, where);
    bool after = false;
    for (const Json& item : single) {
      if (item.contains("Sequence")) {
        after = true;
        continue;
      }
      const std::string name = item.value("SpecialToken", Json::object()).value("id", "");
      RELAPSE_CHECK_INPUT(specials.contains(name) && specials[name].contains("ids"), "tokenizer ",
                          file, ": ", where, ".single names special token '", name,
                          "' missing from special_tokens");
      for (const Json& id : specials[name]["ids"])
        (after ? t.suffix_ids : t.prefix_ids).push_back(id.get<int64_t>());
    }
  } else if (type != "ByteLevel") {  // ByteLevel only trims offsets: no ids
    unsupported(file, where, type, "TemplateProcessing, ByteLevel and Sequence post-processors");
  }
}

void load_decoder(JsonTokenizer& t, const Json& d, const std::string& file,
                  const std::string& where) {
  if (d.is_null()) return;
  const std::string type = type_of(d);
  using K = JsonTokenizer::DecStep;
  JsonTokenizer::Dec s{K::kByteLevel, "", "", 0, 0, true};
  if (type == "Sequence") {
    const Json& list = field(d, "decoders", Json::value_t::array, file, where);
    for (size_t i = 0; i < list.size(); ++i)
      load_decoder(t, list[i], file, where + ".decoders[" + std::to_string(i) + "]");
    return;
  } else if (type == "ByteLevel") {
    s.kind = K::kByteLevel;
  } else if (type == "Metaspace") {
    s.kind = K::kMetaspace;
    s.a = field(d, "replacement", Json::value_t::string, file, where).get<std::string>();
    s.prepend = str_or(d, "prepend_scheme",
                       flag(d, "add_prefix_space", true) ? "always" : "never") != "never";
  } else if (type == "Replace") {
    s.kind = K::kReplace;
    s.a = string_pattern(d, file, where);
    s.b = field(d, "content", Json::value_t::string, file, where).get<std::string>();
  } else if (type == "ByteFallback" || type == "Fuse") {
    s.kind = type == "Fuse" ? K::kFuse : K::kByteFallback;
  } else if (type == "Strip") {
    s.kind = K::kStrip;
    s.a = field(d, "content", Json::value_t::string, file, where).get<std::string>();
    s.start = field(d, "start", Json::value_t::number_unsigned, file, where).get<int>();
    s.stop = field(d, "stop", Json::value_t::number_unsigned, file, where).get<int>();
  } else {
    unsupported(file, where, type,
                "ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip and Sequence decoders");
  }
  t.decoder.push_back(s);
}

// tokenizer_config.json's bos/eos/pad token: a string, {"content": ...} or null.
int64_t config_token(const JsonTokenizer& t, const Json& cfg, const char* key,
                     const std::string& file) {
  if (!cfg.contains(key) || cfg[key].is_null()) return -1;
  const Json& v = cfg[key];
  const std::string s = v.is_string() ? v.get<std::string>() : v.value("content", "");
  for (const auto& a : t.added)
    if (a.content == s) return a.id;
  const int64_t id = t.id_of(s);
  RELAPSE_CHECK_INPUT(id >= 0, "tokenizer ", file, ": ", key, " '", s,
                      "' is neither an added token nor in the vocabulary of ", t.path);
  return id;
}

void load_config(JsonTokenizer& t) {
  namespace fs = std::filesystem;
  const fs::path cfg_file = fs::path(t.path).parent_path() / "tokenizer_config.json";
  std::error_code ec;
  if (!fs::is_regular_file(cfg_file, ec)) {
    if (!t.prefix_ids.empty()) t.bos = t.prefix_ids.front();
    return;
  }
  t.config_path = cfg_file.string();
  Json cfg;
  try {
    cfg = Json::parse(fs_read_file(t.config_path, "tokenizer config"));
  } catch (const Json::exception& e) {
    RELAPSE_THROW(ExitCode::kInput, "tokenizer config ", t.config_path,
                  " is not valid JSON: ", e.what());
  }
  t.bos = config_token(t, cfg, "bos_token", t.config_path);
  t.eos = config_token(t, cfg, "eos_token", t.config_path);
  t.pad = config_token(t, cfg, "pad_token", t.config_path);
  t.clean_up_spaces = flag(cfg, "clean_up_tokenization_spaces", false);
}

}  // namespace

void JsonTokenizer::load(const std::string& file) {
  path = file;
  json_bytes = fs_read_file(file, "tokenizer");
  Json j;
  try {
    j = Json::parse(json_bytes);
  } catch (const Json::exception& e) {
    RELAPSE_THROW(ExitCode::kInput, "tokenizer ", file, " is not valid JSON: ", e.what());
  }
  RELAPSE_CHECK_INPUT(j.is_object(), "tokenizer ", file, " is not a JSON object");
  const Json& m = field(j, "model", Json::value_t::object, file, "tokenizer.json");
  load_model(*this, m, file);
  load_merges(*this, m, file);
  load_added(*this, j, file);
  load_normalizer(*this, j.value("normalizer", Json()), file, "normalizer");
  for (const Added& a : added) {
    added_norm.push_back(normalize(a.content));
    const std::string& c = a.normalized ? added_norm.back() : a.content;
    if (!c.empty()) added_first[a.normalized][static_cast<uint8_t>(c[0])] = true;
  }
  load_pre_tokenizer(*this, j.value("pre_tokenizer", Json()), file, "pre_tokenizer");
  load_post_processor(*this, j.value("post_processor", Json()), file, "post_processor");
  load_decoder(*this, j.value("decoder", Json()), file, "decoder");
  for (int64_t id : prefix_ids) id_check(id);
  for (int64_t id : suffix_ids) id_check(id);
  load_config(*this);
}

}  // namespace relapse::model
