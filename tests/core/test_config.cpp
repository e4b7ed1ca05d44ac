// tests/core/test_config.cpp — the typed YAML config: defaults, every field
// type, nested sections, --set overrides, strict type errors, unknown keys with
// the nearest valid key, choices, range checks, syntax errors naming the file,
// dump -> load -> dump round trips, and configs/example.yaml staying complete.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <functional>
#include <limits>
#include <set>

#include "relapse/core/config.h"
#include "relapse/pipeline/config.h"
#include "test_util.h"

namespace relapse {
namespace cfgtest {

// A config exercising every field type, choices and three levels of nesting.
struct Leaves {
  bool flag = false;
  int count = 3;
  int64_t big = int64_t{1} << 40;
  double ratio = 0.5;
  std::string mode = "fast";
  std::vector<int> ids = {1, 2};
  std::vector<double> weights = {0.25};
  std::vector<std::string> names = {"x", "y"};
};
struct Inner {
  int depth = 2;
};
struct Mid {
  double lr = 1e-3;
  Inner inner;
};
struct Outer {
  std::string title = "t";  // a leaf at the top level
  Leaves leaves;
  Mid mid;
};

void config_fields(ConfigBinder& b, Leaves& s) {
  b.field("flag", s.flag, "a bool");
  b.field("count", s.count, "an int");
  b.field("big", s.big, "an int64");
  b.field("ratio", s.ratio, "a double");
  b.field("mode", s.mode, "a string with choices", {"fast", "slow"});
  b.field("ids", s.ids, "ints");
  b.field("weights", s.weights, "doubles");
  b.field("names", s.names, "strings");
}
void config_fields(ConfigBinder& b, Inner& s) {
  b.field("depth", s.depth, "depth");
  b.check("depth", s.depth >= 0, "must be >= 0, got ", s.depth);
}
void config_fields(ConfigBinder& b, Mid& s) {
  b.field("lr", s.lr, "learning rate");
  b.section("inner", s.inner, "inner section");
}
void config_fields(ConfigBinder& b, Outer& s) {
  b.field("title", s.title, "title");
  b.section("leaves", s.leaves, "all the types");
  b.section("mid", s.mid, "nesting");
}

}  // namespace cfgtest

namespace {

using cfgtest::Outer;

// Runs f, expects a kConfig relapse::Error and returns its message.
std::string config_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kConfig) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a config error";
  return "";
}

#define EXPECT_CONTAINS(haystack, needle)                                                 \
  do {                                                                                    \
    const std::string h_ = (haystack);                                                    \
    EXPECT_NE(h_.find(needle), std::string::npos) << "'" << needle << "' not in: " << h_; \
  } while (0)

Outer parse(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  return config_parse_as<Outer>(yaml, "test.yaml", sets);
}

std::string write_cfg(const std::string& name, const std::string& text) {
  const std::string path = test::scratch_dir("config") + "/" + name;
  test::write_file(path, text);
  return path;
}

TEST(Config, EditDistance) {
  EXPECT_EQ(config_edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(config_edit_distance("", "abc"), 3u);
  EXPECT_EQ(config_edit_distance("dtyp", "dtype"), 1u);
  EXPECT_EQ(config_edit_distance("same", "same"), 0u);
  EXPECT_EQ(config_edit_distance("tokenzier", "tokenizer"), 2u);
}

TEST(Config, DefaultsWithoutFile) {
  RelapseConfig c = config_load("", {});
  EXPECT_EQ(c.run.name, "relapse");
  EXPECT_EQ(c.run.seed, 1234);
  EXPECT_EQ(c.run.out_dir, "runs/default");
  EXPECT_EQ(c.run.log_level, "info");
  EXPECT_EQ(c.model.path, "");
  EXPECT_EQ(c.model.dtype, "float32");
  EXPECT_EQ(c.model.tokenizer, "");
  EXPECT_EQ(c.parallel.tp, 1);
  EXPECT_EQ(c.generate.max_new_tokens, 32);
  EXPECT_EQ(c.generate.batch_size, 8);
  // An empty or comment-only file and empty sections are defaults too.
  EXPECT_EQ(config_dump(config_load(write_cfg("empty.yaml", "# nothing\n"))), config_dump(c));
  EXPECT_EQ(config_dump(config_load(write_cfg("null.yaml", "run:\nmodel:\n"))), config_dump(c));
}

// The dump format is what goes into every archive: pinned exactly.
TEST(Config, DumpIsCompleteAndOrdered) {
  RelapseConfig c;
  c.model.path = "/models/tiny";
  EXPECT_EQ(config_dump(c),
            "run:\n"
            "  name: \"relapse\"\n"
            "  seed: 1234\n"
            "  out_dir: \"runs/default\"\n"
            "  cache_dir: \"\"\n"
            "  log_level: \"info\"\n"
            "  device: \"auto\"\n"
            "  checkpoint_every: 1\n"
            "model:\n"
            "  path: \"/models/tiny\"\n"
            "  dtype: \"float32\"\n"
            "  tokenizer: \"\"\n"
            "  preset: \"tiny\"\n"
            "  init_std: 0.02\n"
            "  cpu_bf16_gemm: \"auto\"\n"
            "parallel:\n"
            "  tp: 1\n"
            "  ranks: 0\n"
            "  memory_gib: 0.0\n"
            "  activation_checkpointing: false\n"
            "  shard_optimizer: false\n"
            "  overlap_grad_reduce: true\n"
            "generate:\n"
            "  max_new_tokens: 32\n"
            "  batch_size: 8\n"
            "data:\n"
            "  corpus: \"\"\n"
            "  synth_size: \"small\"\n"
            "  synth_vocab_size: 0\n"
            "  max_len: 128\n"
            "  forget_requests: []\n"
            "pretrain:\n"
            "  epochs: 1\n"
            "  lr: 0.001\n"
            "  batch_size: 16\n"
            "  micro_batches: 1\n"
            "  schedule: \"cosine\"\n"
            "  warmup_ratio: 0.05\n"
            "  weight_decay: 0.0\n"
            "  beta1: 0.9\n"
            "  beta2: 0.999\n"
            "  eps: 1e-08\n"
            "  max_grad_norm: 1.0\n"
            "  precision: \"float32\"\n"
            "  master_weights: false\n"
            "train:\n"
            "  epochs: 1\n"
            "  lr: 0.001\n"
            "  batch_size: 16\n"
            "  micro_batches: 1\n"
            "  schedule: \"cosine\"\n"
            "  warmup_ratio: 0.05\n"
            "  weight_decay: 0.0\n"
            "  beta1: 0.9\n"
            "  beta2: 0.999\n"
            "  eps: 1e-08\n"
            "  max_grad_norm: 1.0\n"
            "  precision: \"float32\"\n"
            "  master_weights: false\n"
            "  target: \"\"\n"
            "  retrain: \"\"\n"
            "unlearn:\n"
            "  methods: [\"ga_gdr\", \"npo_gdr\"]\n"
            "  lrs: [1e-05]\n"
            "  large_lrs: []\n"
            "  large_lr_methods: []\n"
            "  variant: \"published\"\n"
            "  alpha: 1.0\n"
            "  beta: 0.1\n"
            "  forget_weight: 1.0\n"
            "  simnpo_beta: 4.5\n"
            "  simnpo_delta: 0.0\n"
            "  wga_beta: 1.0\n"
            "  satimp_beta1: 5.0\n"
            "  satimp_beta2: 1.0\n"
            "  undial_beta: 10.0\n"
            "  rmu_layer: 7\n"
            "  rmu_steering: 2.0\n"
            "  epochs: 5\n"
            "  batch_size: 8\n"
            "  micro_batches: 1\n"
            "  max_steps: 0\n"
            "  schedule: \"constant\"\n"
            "  warmup_ratio: 0.0\n"
            "  weight_decay: 0.0\n"
            "  max_grad_norm: 1.0\n"
            "  precision: \"bfloat16\"\n"
            "  master_weights: false\n"
            "  stop_rule: false\n"
            "  seeds: []\n"
            "  sure:\n"
            "    lrs: []\n"
            "    methods: []\n"
            "    mode: \"module\"\n"
            "    percentile: 90.0\n"
            "    gamma: -1.0\n"
            "    modules: []\n"
            "relearn:\n"
            "  steps: 0\n"
            "  lr: 1e-05\n"
            "  batch_size: 8\n"
            "  source: \"forget\"\n"
            "  fraction: 0.5\n"
            "  from: \"full\"\n"
            "quantize:\n"
            "  scheme: \"rtn_sym\"\n"
            "  bits: [8, 4]\n"
            "  group_size: -1\n"
            "  modules: [\"q_proj\", \"k_proj\", \"v_proj\", \"o_proj\", \"gate_proj\", "
            "\"up_proj\", \"down_proj\"]\n"
            "  diagnostics: true\n"
            "  gptq:\n"
            "    bits: []\n"
            "    group_size: 128\n"
            "    sym: true\n"
            "    desc_act: false\n"
            "    damp_percent: 0.01\n"
            "    block_size: 128\n"
            "    true_sequential: true\n"
            "  awq:\n"
            "    bits: []\n"
            "    group_size: 128\n"
            "    zero_point: true\n"
            "    n_grid: 20\n"
            "    duo_scaling: true\n"
            "    clip: true\n"
            "    max_shrink: 0.5\n"
            "    n_sample_token: 512\n"
            "  bnb:\n"
            "    formats: []\n"
            "    blocksize: 64\n"
            "    double_quant: false\n"
            "    llm_int8_threshold: 6.0\n"
            "  calibration:\n"
            "    source: \"retain\"\n"
            "    file: \"\"\n"
            "    n_samples: 128\n"
            "    seq_len: 512\n"
            "    seed: -1\n"
            "eval:\n"
            "  batch_size: 16\n"
            "  verbmem_max_new_tokens: 128\n"
            "  knowmem_max_new_tokens: 32\n"
            "  min_k: 0.4\n"
            "  rouge: \"f1\"\n"
            "  clean_up_tokenization: false\n"
            "  max_samples: 0\n"
            "  privleak_auc_retrain: 0.0\n"
            "  bootstrap:\n"
            "    resamples: 1000\n"
            "    level: 0.95\n");
  EXPECT_EQ(config_dump_as(Outer{}),
            "title: \"t\"\n"
            "leaves:\n"
            "  flag: false\n"
            "  count: 3\n"
            "  big: 1099511627776\n"
            "  ratio: 0.5\n"
            "  mode: \"fast\"\n"
            "  ids: [1, 2]\n"
            "  weights: [0.25]\n"
            "  names: [\"x\", \"y\"]\n"
            "mid:\n"
            "  lr: 0.001\n"
            "  inner:\n"
            "    depth: 2\n");
}

TEST(Config, EveryFieldTypeFromFile) {
  const std::string path = write_cfg("all.yaml",
                                     "title: hello world\n"
                                     "leaves:\n"
                                     "  flag: true\n"
                                     "  count: -7\n"
                                     "  big: 9007199254740993\n"
                                     "  ratio: 2.5e-3\n"
                                     "  mode: slow\n"
                                     "  ids:\n"
                                     "    - 4\n"
                                     "    - 5\n"
                                     "    - 6\n"
                                     "  weights: [1, .5, -2.5e-3]\n"
                                     "  names: [a, 'b c', \"d\"]\n"
                                     "mid:\n"
                                     "  lr: 1\n"
                                     "  inner: {depth: 9}\n");
  Outer o = config_load_as<Outer>(path);
  EXPECT_EQ(o.title, "hello world");
  EXPECT_TRUE(o.leaves.flag);
  EXPECT_EQ(o.leaves.count, -7);
  EXPECT_EQ(o.leaves.big, 9007199254740993LL);  // not representable as a double
  EXPECT_EQ(o.leaves.ratio, 2.5e-3);
  EXPECT_EQ(o.leaves.mode, "slow");
  EXPECT_EQ(o.leaves.ids, (std::vector<int>{4, 5, 6}));
  ASSERT_EQ(o.leaves.weights.size(), 3u);
  EXPECT_EQ(o.leaves.weights[0], 1.0);
  EXPECT_EQ(o.leaves.weights[1], 0.5);
  EXPECT_EQ(o.leaves.weights[2], -2.5e-3);
  EXPECT_EQ(o.leaves.names, (std::vector<std::string>{"a", "b c", "d"}));
  EXPECT_EQ(o.mid.lr, 1.0);
  EXPECT_EQ(o.mid.inner.depth, 9);
}

TEST(Config, PartialFileKeepsOtherDefaults) {
  Outer o = parse("mid:\n  inner:\n    depth: 4\n");
  EXPECT_EQ(o.mid.inner.depth, 4);
  EXPECT_EQ(o.mid.lr, 1e-3);
  EXPECT_EQ(o.leaves.ids, (std::vector<int>{1, 2}));
  EXPECT_EQ(o.title, "t");
}

TEST(Config, RoundTripDumpLoadDump) {
  Outer o;
  o.title = "null";  // strings that would read back as other types unquoted
  o.leaves.flag = true;
  o.leaves.count = std::numeric_limits<int>::min();
  o.leaves.big = std::numeric_limits<int64_t>::max();
  o.leaves.ratio = 0.1;
  o.leaves.mode = "slow";
  o.leaves.ids = {};
  // Finite values only: every number of a config must be finite (the loader's
  // rule, NonFiniteAndOutOfRangeRefusedAtLoad).
  o.leaves.weights = {1e-300,        -0.0,     1.0 / 3.0,
                      6.02214076e23, 4.9e-324, std::numeric_limits<double>::max()};
  o.leaves.names = {"",
                    "123",
                    "true",
                    "~",
                    "a: b",
                    "x # y",
                    "quote\"back\\slash",
                    "tab\tnl\n",
                    "caf\xc3\xa9",
                    std::string(300, 'z'),
                    "[1, 2]"};
  o.mid.lr = 123456789.0;
  const std::string d1 = config_dump_as(o);
  Outer back = config_parse_as<Outer>(d1, "dump");
  const std::string d2 = config_dump_as(back);
  EXPECT_EQ(d1, d2);
  EXPECT_EQ(back.title, "null");
  EXPECT_EQ(back.leaves.count, o.leaves.count);
  EXPECT_EQ(back.leaves.big, o.leaves.big);
  EXPECT_EQ(back.leaves.ratio, 0.1);  // shortest round-trip repr is exact
  EXPECT_TRUE(back.leaves.ids.empty());
  ASSERT_EQ(back.leaves.weights.size(), o.leaves.weights.size());
  for (size_t i = 0; i < o.leaves.weights.size(); ++i) {
    EXPECT_EQ(back.leaves.weights[i], o.leaves.weights[i]) << i;  // bit-exact, no tolerance
  }
  EXPECT_TRUE(std::signbit(back.leaves.weights[1]));
  EXPECT_EQ(back.leaves.names, o.leaves.names);
  EXPECT_EQ(back.mid.lr, o.mid.lr);

  // The relapse config too, including a derived value and help comments.
  RelapseConfig c = config_load("", {"model.path=/m", "run.seed=0", "generate.batch_size=3"});
  const std::string r1 = config_dump(c);
  const std::string path = write_cfg("resolved.yaml", r1);
  EXPECT_EQ(config_dump(config_load(path)), r1);
  EXPECT_EQ(config_dump(config_load(write_cfg("helped.yaml", config_dump(c, true)))), r1);
}

TEST(Config, SetOverrides) {
  const std::string path = write_cfg("base.yaml", "run:\n  name: base\nmodel:\n  path: /a\n");
  RelapseConfig c = config_load(path, {"run.name=over", "parallel.tp=4", "model.dtype=bfloat16",
                                       "generate.max_new_tokens=0"});
  EXPECT_EQ(c.run.name, "over");
  EXPECT_EQ(c.model.path, "/a");  // untouched by the overrides
  EXPECT_EQ(c.model.dtype, "bfloat16");
  EXPECT_EQ(c.parallel.tp, 4);  // section absent from the file: created by --set
  EXPECT_EQ(c.generate.max_new_tokens, 0);

  // Vectors, nested sections, empty values, strings that look like numbers.
  Outer o = parse("leaves:\n  ids: [9]\n",
                  {"leaves.ids=[3, 4, 5]", "leaves.weights=[]", "leaves.names=[p, 'q r']",
                   "mid.inner.depth=7", "title=", "leaves.mode=slow", "leaves.flag=true",
                   "leaves.big=-5", "mid.lr=2e-5", "leaves.names=[1, 2]"});
  EXPECT_EQ(o.leaves.ids, (std::vector<int>{3, 4, 5}));
  EXPECT_TRUE(o.leaves.weights.empty());
  EXPECT_EQ(o.leaves.names, (std::vector<std::string>{"1", "2"}));  // the later --set wins
  EXPECT_EQ(o.mid.inner.depth, 7);
  EXPECT_EQ(o.title, "");
  EXPECT_EQ(o.leaves.mode, "slow");
  EXPECT_TRUE(o.leaves.flag);
  EXPECT_EQ(o.leaves.big, -5);
  EXPECT_EQ(o.mid.lr, 2e-5);

  // Duplicate --set: the later one wins; a whole section can be given as a flow map.
  RelapseConfig d = config_load("", {"parallel.tp=2", "parallel.tp=3"});
  EXPECT_EQ(d.parallel.tp, 3);
  RelapseConfig m = config_load("", {"model={path: /x, dtype: bfloat16}"});
  EXPECT_EQ(m.model.path, "/x");
  EXPECT_EQ(m.model.dtype, "bfloat16");
  // A value containing '=' keeps everything after the first '='.
  EXPECT_EQ(config_load("", {"run.name=a=b"}).run.name, "a=b");
}

TEST(Config, SetErrors) {
  std::string e = config_error([] { config_load("", {"parallel.tp"}); });
  EXPECT_CONTAINS(e, "--set parallel.tp");
  EXPECT_CONTAINS(e, "expected --set section.key=value");
  e = config_error([] { config_load("", {"parallel..tp=1"}); });
  EXPECT_CONTAINS(e, "parallel..tp");
  e = config_error([] { config_load("", {"=1"}); });
  EXPECT_CONTAINS(e, "--set =1");
  e = config_error([] { config_load("", {"parallel.tp=abc"}); });
  EXPECT_CONTAINS(
      e, "config key 'parallel.tp' in --set parallel.tp=abc: expected an integer, got 'abc'");
  e = config_error([] { parse("", {"leaves.ids=[1, x, 3]"}); });
  EXPECT_CONTAINS(e,
                  "config key 'leaves.ids[1]' in --set leaves.ids=[1, x, 3]: expected an integer");
  e = config_error([] { parse("", {"leaves.ids=5"}); });
  EXPECT_CONTAINS(e, "'leaves.ids'");
  EXPECT_CONTAINS(e, "expected a list of integers");
  e = config_error([] { parse("", {"leaves.names=[a, [b]]"}); });
  EXPECT_CONTAINS(e, "'leaves.names[1]'");
  EXPECT_CONTAINS(e, "expected a string, got a list");
  e = config_error([] { config_load("", {"run.seed.x=1"}); });
  EXPECT_CONTAINS(
      e, "config key 'run.seed' in --set run.seed.x=1: expected an integer, got a mapping");
  e = config_error(
      [] { config_load(write_cfg("seed.yaml", "run:\n  seed: 5\n"), {"run.seed.x=1"}); });
  EXPECT_CONTAINS(e, "'run.seed' is a value (");
  e = config_error([] { config_load("", {"run.name=[unclosed"}); });
  EXPECT_CONTAINS(e, "--set run.name=[unclosed");
  EXPECT_CONTAINS(e, "not valid YAML");
  // An unknown --set key gets the same error as an unknown file key.
  e = config_error([] { config_load("", {"model.dtyp=bfloat16"}); });
  EXPECT_CONTAINS(
      e, "unknown key 'model.dtyp' in --set model.dtyp=bfloat16; did you mean 'model.dtype'?");
  e = config_error([] { config_load("", {"modle.path=/x"}); });
  EXPECT_CONTAINS(e, "unknown key 'modle' in --set modle.path=/x; did you mean 'model'?");
}

TEST(Config, TypeErrorsNameKeyAndExpectedType) {
  std::string e = config_error([] { parse("leaves:\n  count: 1.5\n"); });
  EXPECT_CONTAINS(e, "config key 'leaves.count' in test.yaml:2: expected an integer, got '1.5'");
  e = config_error([] { parse("leaves:\n  count: 3000000000\n"); });
  EXPECT_CONTAINS(e, "expected an integer in [-2147483648, 2147483647]");
  e = config_error([] { parse("leaves:\n  big: 99999999999999999999\n"); });
  EXPECT_CONTAINS(e, "'leaves.big'");
  e = config_error([] { parse("leaves:\n  count: \"12\"\n"); });  // quoted: a string, not an int
  EXPECT_CONTAINS(e, "got the quoted string '12'");
  e = config_error([] { parse("leaves:\n  flag: yes\n"); });  // YAML 1.1 spelling rejected
  EXPECT_CONTAINS(e, "config key 'leaves.flag' in test.yaml:2: expected a boolean (true or false)");
  e = config_error([] { parse("leaves:\n  ratio: fast\n"); });
  EXPECT_CONTAINS(e, "'leaves.ratio'");
  EXPECT_CONTAINS(e, "expected a number");
  e = config_error([] { parse("leaves:\n  ratio: 0x10\n"); });
  EXPECT_CONTAINS(e, "expected a number");
  e = config_error([] { parse("leaves:\n  count:\n"); });
  EXPECT_CONTAINS(e, "got an empty value");
  e = config_error([] { parse("title: {a: 1}\n"); });
  EXPECT_CONTAINS(e, "config key 'title' in test.yaml:1: expected a string, got a mapping");
  e = config_error([] { parse("mid:\n  inner: 3\n"); });
  EXPECT_CONTAINS(e, "config key 'mid.inner' in test.yaml:2: expected a section");
  e = config_error([] { parse("- a\n- b\n"); });
  EXPECT_CONTAINS(e, "the top level of test.yaml");
  e = config_error([] { parse("leaves:\n  weights: [1, two]\n"); });
  EXPECT_CONTAINS(e, "config key 'leaves.weights[1]' in test.yaml:2: expected a number, got 'two'");
}

TEST(Config, UnknownKeysSuggestNearest) {
  const std::string path = write_cfg("typo.yaml", "model:\n  path: /m\n  dtyp: bfloat16\n");
  std::string e = config_error([&] { config_load(path); });
  EXPECT_CONTAINS(e, "unknown key 'model.dtyp' in " + path + ":3; did you mean 'model.dtype'?");
  e = config_error(
      [] { config_load_as<RelapseConfig>(write_cfg("top.yaml", "rnu:\n  seed: 1\n")); });
  EXPECT_CONTAINS(e, "unknown key 'rnu'");
  EXPECT_CONTAINS(e, "did you mean 'run'?");
  e = config_error([] { parse("mid:\n  inner:\n    dept: 3\n"); });
  EXPECT_CONTAINS(e,
                  "unknown key 'mid.inner.dept' in test.yaml:3; did you mean 'mid.inner.depth'?");
  e = config_error([] { parse("leaves:\n  cuont: 3\n"); });
  EXPECT_CONTAINS(e, "did you mean 'leaves.count'?");
  // Nothing close: the valid keys are listed instead of a wild guess.
  e = config_error([] { parse("mid:\n  zzzzzzzz: 1\n"); });
  EXPECT_CONTAINS(e, "unknown key 'mid.zzzzzzzz' in test.yaml:2; valid keys in 'mid': lr, inner");
  e = config_error([] { config_load("", {"generate.batch=3"}); });  // truncated key
  EXPECT_CONTAINS(e, "did you mean 'generate.batch_size'?");
  e = config_error([] { config_load("", {"xyzzy=1"}); });
  EXPECT_CONTAINS(e, "valid keys at the top level: run, model, parallel, generate");
  // A key given twice in one file is an error, not "last one wins".
  e = config_error([] { parse("leaves:\n  count: 1\n  count: 2\n"); });
  EXPECT_CONTAINS(e, "duplicate key 'leaves.count' in test.yaml:3 (first at test.yaml:2)");
}

TEST(Config, ChoicesAndChecks) {
  std::string e = config_error([] { config_load("", {"model.dtype=float16"}); });
  EXPECT_CONTAINS(e,
                  "config key 'model.dtype' in --set model.dtype=float16: 'float16' is not one of "
                  "float32, bfloat16; did you mean 'bfloat16'?");
  e = config_error([] { parse("leaves:\n  mode: medium\n"); });
  EXPECT_CONTAINS(e, "config key 'leaves.mode' in test.yaml:2: 'medium' is not one of fast, slow");
  e = config_error([] { config_load("", {"parallel.tp=0"}); });
  EXPECT_CONTAINS(
      e, "invalid config value for 'parallel.tp' in --set parallel.tp=0: must be >= 1, got 0");
  e = config_error([] { config_load("", {"generate.max_new_tokens=-1"}); });
  EXPECT_CONTAINS(e, "'generate.max_new_tokens'");
  e = config_error([] { config_load("", {"generate.batch_size=0"}); });
  EXPECT_CONTAINS(e, "'generate.batch_size'");
  e = config_error([] { parse("mid:\n  inner:\n    depth: -1\n"); });
  EXPECT_CONTAINS(
      e, "invalid config value for 'mid.inner.depth' in test.yaml:3: must be >= 0, got -1");
  e = config_error([] { config_load("", {"run.log_level=verbose"}); });
  EXPECT_CONTAINS(e, "not one of error, warn, info, debug");
}

// Issue 22: every number of every section is refused at load when not finite,
// and the training ranges are checked there too (not when the stage starts,
// after earlier stages trained); each refusal names the key and where it came from.
TEST(Config, NonFiniteAndOutOfRangeRefusedAtLoad) {
  std::string e = config_error([] { config_load("", {"unlearn.lrs=[.inf]"}); });
  EXPECT_CONTAINS(e,
                  "invalid config value for 'unlearn.lrs' in --set unlearn.lrs=[.inf]: "
                  "must be a finite number, got inf");
  e = config_error([] { config_load(write_cfg("nan.yaml", "pretrain:\n  lr: .nan\n")); });
  EXPECT_CONTAINS(e, "'pretrain.lr' in ");
  EXPECT_CONTAINS(e, "nan.yaml:2: must be a finite number");
  e = config_error([] { config_load("", {"unlearn.lrs=[-1e-5]"}); });
  EXPECT_CONTAINS(e, "'unlearn.lrs'");
  e = config_error([] { config_load("", {"unlearn.warmup_ratio=1.5"}); });
  EXPECT_CONTAINS(e, "'unlearn.warmup_ratio'");
  e = config_error([] { config_load("", {"train.beta2=1.0"}); });
  EXPECT_CONTAINS(e, "'train.beta2'");
  e = config_error([] { config_load("", {"pretrain.eps=0"}); });
  EXPECT_CONTAINS(e, "'pretrain.eps'");
  e = config_error([] { config_load("", {"eval.verbmem_max_new_tokens=-3"}); });
  EXPECT_CONTAINS(e, "'eval.verbmem_max_new_tokens'");
  e = config_error([] { config_load("", {"unlearn.simnpo_beta=0"}); });
  EXPECT_CONTAINS(e, "'unlearn.simnpo_beta'");
  e = config_error([] { config_load("", {"parallel.memory_gib=-.inf"}); });
  EXPECT_CONTAINS(e, "must be a finite number");
}

TEST(Config, TokenizerDefaultsToModelPath) {
  EXPECT_EQ(config_load("", {"model.path=/m"}).model.tokenizer, "/m");
  EXPECT_EQ(config_load("", {"model.path=/m", "model.tokenizer=/t"}).model.tokenizer, "/t");
}

TEST(Config, FileErrorsNameTheFile) {
  const std::string dir = test::scratch_dir("config-files");
  const std::string bad = dir + "/bad.yaml";
  test::write_file(bad, "run:\n  name: x\nmodel: [unclosed\n  path: y\n");
  std::string e = config_error([&] { config_load(bad); });
  EXPECT_CONTAINS(e, bad + ":");
  EXPECT_CONTAINS(e, "YAML syntax error");
  // yaml-cpp reports the flow sequence at the point it gave up; the line must
  // be within the file (1-based), past the two valid lines.
  const size_t colon = e.find(bad + ":") + bad.size() + 1;
  const int line = std::stoi(e.substr(colon));
  EXPECT_GE(line, 3);
  EXPECT_LE(line, 5);
  e = config_error([&] { config_load(dir + "/missing.yaml"); });
  EXPECT_CONTAINS(e, "config file '" + dir + "/missing.yaml' does not exist");
  e = config_error([&] { config_load(dir); });
  EXPECT_CONTAINS(e, "is a directory");
  // A type error in a file names it with the line.
  test::write_file(dir + "/type.yaml", "\n\nparallel:\n  tp: two\n");
  e = config_error([&] { config_load(dir + "/type.yaml"); });
  EXPECT_CONTAINS(e, "config key 'parallel.tp' in " + dir + "/type.yaml:4: expected an integer");
}

TEST(Config, DescribeListsEveryLeaf) {
  auto keys = config_describe_as<Outer>();
  std::vector<std::string> names, types;
  for (const auto& k : keys) names.push_back(k.key), types.push_back(k.type);
  EXPECT_EQ(names,
            (std::vector<std::string>{"title", "leaves.flag", "leaves.count", "leaves.big",
                                      "leaves.ratio", "leaves.mode", "leaves.ids", "leaves.weights",
                                      "leaves.names", "mid.lr", "mid.inner.depth"}));
  EXPECT_EQ(types, (std::vector<std::string>{"string", "bool", "int", "int64", "double", "string",
                                             "list<int>", "list<double>", "list<string>", "double",
                                             "int"}));
  EXPECT_EQ(keys[5].choices, (std::vector<std::string>{"fast", "slow"}));
  EXPECT_EQ(keys[6].value, "[1, 2]");
}

// Collects the full paths of the leaves of a YAML mapping.
void yaml_leaves(const YAML::Node& n, const std::string& prefix, std::set<std::string>* out) {
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = (prefix.empty() ? "" : prefix + ".") + it->first.Scalar();
    if (it->second.IsMap()) {
      yaml_leaves(it->second, key, out);
    } else {
      out->insert(key);
    }
  }
}

// configs/example.yaml must load and show every current key (so adding a key
// without documenting it there fails here).
TEST(Config, ExampleYamlIsCompleteAndLoads) {
  const std::string path = test::source_dir() + "/configs/example.yaml";
  RelapseConfig c = config_load(path);
  EXPECT_EQ(c.parallel.tp, 1);
  std::set<std::string> in_file, in_schema;
  yaml_leaves(YAML::LoadFile(path), "", &in_file);
  for (const auto& k : config_describe_as<RelapseConfig>()) in_schema.insert(k.key);
  EXPECT_EQ(in_file, in_schema);
}

}  // namespace
}  // namespace relapse
