// tests/results/test_archive.cpp — the run archive (relapse/results/archive.h):
// a hand-built RunResult (target, retrain, ga_gdr and npo_gdr at full / int8 /
// int4, training curves, code-change stats, unicode and empty strings, absent
// sections) is written and read back object by object with the HDF5 reader;
// /summary round-trips through archive_read_summary; a write that fails half
// way leaves neither PATH nor PATH.tmp (and an older archive at PATH intact).
// tests/results/check_archive.py checks the same file from h5py + pandas (run
// by hand; CI has no Python).
#include <cmath>
#include <filesystem>

#include "h5_compare.h"
#include "relapse/archive/h5.h"
#include "relapse/results/archive.h"
#include "test_util.h"

namespace fs = std::filesystem;
using relapse::archive::Column;
using relapse::archive::H5File;
using relapse::archive::H5Group;
using namespace relapse::results;

namespace {

relapse::eval::KnowmemResult make_knowmem(double base, int n) {
  relapse::eval::KnowmemResult k;
  for (int i = 0; i < n; ++i) {
    k.questions.push_back("Where was Ælfrida Qüst born? #" + std::to_string(i));
    k.answers.push_back(i == 1 ? "" : "Zürich–Nord " + std::to_string(i));
    k.generations.push_back(i == 0 ? "" : "Zürich 北 " + std::to_string(base));
    k.scores.push_back(0.1 * i + base / 1000.0);
  }
  k.mean = base;
  return k;
}

PrecisionEval make_eval(const std::string& precision, int bits, double base, bool code_change) {
  PrecisionEval e;
  e.precision = precision;
  e.scheme = bits ? "rtn_sym" : "";
  e.bits = bits;
  e.group_size = bits ? 128 : 0;
  auto& m = e.metrics;
  m.has_verbmem = m.has_knowmem = m.has_privleak = true;
  m.verbmem_prompts = {"Once upon a time in Ünterwald", "", "line1\nline2 \"quoted\""};
  m.verbmem_references = {"the reference ✓", "empty prompt ref", ""};
  m.verbmem_generations = {"gen " + std::to_string(base), "", "ω"};
  m.verbmem_scores = {base / 100.0, 0.0, 1.0};
  m.verbmem_forget = base + 1.5;
  m.knowmem_forget = make_knowmem(base + 2.25, 3);
  m.knowmem_retain = make_knowmem(base + 3.125, 2);
  m.mink_forget = {-1.5, -2.25 - base / 100.0};
  m.mink_retain = {-3.0};
  m.mink_holdout = {-4.0, -4.5, -5.0};
  m.privleak_auc = 0.625;
  m.mia = {{"ppl", {2.5, 2.75 + base / 100.0}, {3.0}, {1.5, 1.25, 1.0}, 0.25},
           {"ppl_lower", {1.01, 0.99}, {1.0}, {0.98, 0.97, 1.02}, 0.5},
           {"ppl_zlib", {0.002, 0.0025}, {0.003}, {0.001, 0.0015, 0.002}, 0.75}};
  e.privleak = base - 50.0;
  e.wall_s = 1.25 + base / 10.0;
  if (code_change) {
    e.has_code_change = true;
    relapse::quant::CodeChangeStats a, b;
    a.n_weights = 1000;
    a.n_codes_changed = 3;
    a.n_groups = 8;
    a.n_groups_params_changed = 1;
    a.n_moved = 40;
    a.hist = {960, 10, 10, 5, 5, 4, 3, 2, 1};
    a.sum_ratio = 12.5;
    a.n_finite = 1000;
    a.max_ratio = 2.5;
    b = a;
    b.n_weights = 2000;
    b.n_codes_changed = bits == 4 ? 1 : 7;
    b.n_moved = 0;
    b.sum_ratio = 0;
    b.max_ratio = 0;
    b.hist = {2000, 0, 0, 0, 0, 0, 0, 0, 0};
    e.code_change_layers = {{"model.layers.0.self_attn.q_proj.weight", a},
                            {"model.layers.0.mlp.down_proj.weight", b}};
    e.code_change = a;
    relapse::quant::code_change_merge(e.code_change, b);
  }
  return e;
}

ModelResult make_model(const std::string& name, const std::string& kind, const std::string& method,
                       double lr, double base) {
  ModelResult m;
  m.info.name = name;
  m.info.kind = kind;
  m.info.method = method;
  m.info.variant = method.empty() ? "" : "published";
  m.info.lr = lr;
  m.info.alpha = method.empty() ? 0.0 : 1.0;
  m.info.beta = method.rfind("npo", 0) == 0 ? 0.1 : 0.0;
  m.info.epochs = 5;
  m.info.steps = 40 + static_cast<int64_t>(base);
  m.info.lr_regime = lr > 5e-5 ? "large" : (method.empty() ? "" : "small");
  m.info.checkpoint = kind == "retrain" ? "" : "runs/x/" + name;
  for (int i = 1; i <= 3; ++i) {
    relapse::unlearn::StepStats s;
    s.step = i;
    s.lr = lr * i;
    s.loss = 3.0 / i + base;
    s.forget_term = method.empty() ? 0.0 : -0.5 * i;
    s.retain_term = 0.25 * i;
    s.grad_norm = 1.0 + i;
    s.tokens = 512 * i;
    m.info.curve.push_back(s);
  }
  bool unl = kind == "unlearned";
  m.evals.push_back(make_eval("full", 0, base, false));
  m.evals.push_back(make_eval("int8", 8, base + 0.5, unl));
  m.evals.push_back(make_eval("int4", 4, base + 10.0, unl));
  return m;
}

RunResult make_run() {
  RunResult r;
  r.name = "quickstart ✓";
  r.config_yaml = "run:\n  name: quickstart\n  note: \"ünïcødé – ok\"\n";
  r.provenance.fields = {{"relapse_version", "0.1.0"},
                         {"git_sha", "0123abcd"},
                         {"command_line", "relapse run configs/quickstart.yaml"},
                         {"hostnames", "nöde-1"},
                         {"nccl_version", ""}};
  r.models.push_back(make_model("target", "target", "", 3e-4, 80.0));
  r.models.push_back(make_model("retrain", "retrain", "", 3e-4, 20.0));
  r.models.back().info.curve.clear();  // a model without a curve: no curve table
  r.models.push_back(make_model("ga_gdr", "unlearned", "ga_gdr", 1e-5, 30.0));
  r.models.push_back(make_model("npo_gdr", "unlearned", "npo_gdr", 1e-4, 15.0));
  // Absent sections: retrain at int8 has no PrivLeak, at int4 no VerbMem.
  r.models[1].evals[1].metrics.has_privleak = false;
  r.models[1].evals[2].metrics.has_verbmem = false;
  r.stages = {{"data", 1.5}, {"train_target", 20.25}, {"eval/target/int4", 3.0}};
  r.total_wall_s = 24.75;
  return r;
}

// Equal, with NaN equal to NaN (an absent metric must stay NaN).
void expect_same(double a, double b, const std::string& what) {
  if (std::isnan(a) || std::isnan(b)) {
    EXPECT_TRUE(std::isnan(a) && std::isnan(b)) << what << ": " << a << " vs " << b;
  } else {
    EXPECT_EQ(a, b) << what;  // stored as float64: bit-exact
  }
}

void expect_rows_equal(const std::vector<SummaryRow>& a, const std::vector<SummaryRow>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    std::string w = "row " + std::to_string(i) + " ";
    EXPECT_EQ(a[i].model, b[i].model) << w;
    EXPECT_EQ(a[i].kind, b[i].kind) << w;
    EXPECT_EQ(a[i].method, b[i].method) << w;
    EXPECT_EQ(a[i].variant, b[i].variant) << w;
    EXPECT_EQ(a[i].lr_regime, b[i].lr_regime) << w;
    EXPECT_EQ(a[i].precision, b[i].precision) << w;
    EXPECT_EQ(a[i].scheme, b[i].scheme) << w;
    EXPECT_EQ(a[i].bits, b[i].bits) << w;
    EXPECT_EQ(a[i].group_size, b[i].group_size) << w;
    EXPECT_EQ(a[i].steps, b[i].steps) << w;
    expect_same(a[i].lr, b[i].lr, w + "lr");
    expect_same(a[i].alpha, b[i].alpha, w + "alpha");
    expect_same(a[i].beta, b[i].beta, w + "beta");
    expect_same(a[i].verbmem_f, b[i].verbmem_f, w + "verbmem_f");
    expect_same(a[i].knowmem_f, b[i].knowmem_f, w + "knowmem_f");
    expect_same(a[i].knowmem_r, b[i].knowmem_r, w + "knowmem_r");
    expect_same(a[i].privleak, b[i].privleak, w + "privleak");
    expect_same(a[i].privleak_auc, b[i].privleak_auc, w + "privleak_auc");
    expect_same(a[i].codes_changed_frac, b[i].codes_changed_frac, w + "codes_changed_frac");
    expect_same(a[i].mean_dw_over_delta, b[i].mean_dw_over_delta, w + "mean_dw_over_delta");
    expect_same(a[i].wall_s, b[i].wall_s, w + "wall_s");
  }
}

template <typename T>
const std::vector<T>& col(const std::vector<Column>& cols, const std::string& name) {
  for (const auto& c : cols)
    if (c.name == name) return std::get<std::vector<T>>(c.values);
  ADD_FAILURE() << "no column " << name;
  static const std::vector<T> empty;
  return empty;
}

}  // namespace

TEST(Archive, SummaryRowsFromResult) {
  RunResult r = make_run();
  auto rows = summary_rows(r);
  ASSERT_EQ(rows.size(), 12u);  // 4 models × 3 precisions, models × evals order
  EXPECT_EQ(rows[0].model, "target");
  EXPECT_EQ(rows[0].precision, "full");
  EXPECT_EQ(rows[11].model, "npo_gdr");
  EXPECT_EQ(rows[11].precision, "int4");
  // ga_gdr int4 (base 40): verbmem = base + 1.5, knowmem_f = base + 2.25 ...
  const SummaryRow& g4 = rows[8];
  EXPECT_EQ(g4.model, "ga_gdr");
  EXPECT_EQ(g4.precision, "int4");
  EXPECT_EQ(g4.bits, 4);
  EXPECT_DOUBLE_EQ(g4.verbmem_f, 41.5);
  EXPECT_DOUBLE_EQ(g4.knowmem_f, 42.25);
  EXPECT_DOUBLE_EQ(g4.knowmem_r, 43.125);
  EXPECT_DOUBLE_EQ(g4.privleak, -10.0);
  EXPECT_DOUBLE_EQ(g4.privleak_auc, 0.625);
  // merged code change: (3 + 1) codes of (1000 + 2000) weights; mean ratio
  // (12.5 + 0) / (1000 + 1000) finite ratios.
  EXPECT_DOUBLE_EQ(g4.codes_changed_frac, 4.0 / 3000.0);
  EXPECT_DOUBLE_EQ(g4.mean_dw_over_delta, 12.5 / 2000.0);
  // No code-change stats at full precision and for the target: NaN.
  EXPECT_TRUE(std::isnan(rows[6].codes_changed_frac));
  EXPECT_TRUE(std::isnan(rows[2].mean_dw_over_delta));
  // Absent sections give NaN metrics.
  EXPECT_TRUE(std::isnan(rows[4].privleak_auc));  // retrain int8
  EXPECT_TRUE(std::isnan(rows[5].verbmem_f));     // retrain int4
  EXPECT_FALSE(std::isnan(rows[5].knowmem_f));
}

TEST(Archive, SummaryRoundTrip) {
  RunResult r = make_run();
  std::string path = relapse::test::scratch_dir("archive") + "/runs/quick/relapse.h5";
  archive_write(r, path);  // parent directories are created
  EXPECT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  expect_rows_equal(archive_read_summary(path), summary_rows(r));
}

TEST(Archive, EveryObjectRoundTrips) {
  RunResult r = make_run();
  std::string path = relapse::test::scratch_dir("archive") + "/relapse.h5";
  archive_write(r, path);
  H5File f = H5File::open_read(path);
  H5Group root = f.root();
  EXPECT_EQ(root.children(),
            (std::vector<std::string>{"models", "provenance", "stages", "summary"}));

  H5Group prov = root.open_group("provenance");
  for (const auto& [k, v] : r.provenance.fields) EXPECT_EQ(prov.attr_string(k), v) << k;
  EXPECT_EQ(prov.attr_string("config_yaml"), r.config_yaml);
  EXPECT_EQ(prov.attr_string("run_name"), r.name);
  EXPECT_EQ(prov.attr_double("total_wall_s"), 24.75);

  auto stages = root.read_table("stages");
  EXPECT_EQ(col<std::string>(stages, "stage"),
            (std::vector<std::string>{"data", "train_target", "eval/target/int4"}));
  EXPECT_EQ(col<double>(stages, "wall_s"), (std::vector<double>{1.5, 20.25, 3.0}));

  H5Group models = root.open_group("models");
  EXPECT_EQ(models.children(),
            (std::vector<std::string>{"ga_gdr", "npo_gdr", "retrain", "target"}));  // sorted
  for (const auto& m : r.models) {
    SCOPED_TRACE(m.info.name);
    H5Group g = models.open_group(m.info.name);
    EXPECT_EQ(g.attr_string("kind"), m.info.kind);
    EXPECT_EQ(g.attr_string("method"), m.info.method);
    EXPECT_EQ(g.attr_string("variant"), m.info.variant);
    EXPECT_EQ(g.attr_double("lr"), m.info.lr);
    EXPECT_EQ(g.attr_double("alpha"), m.info.alpha);
    EXPECT_EQ(g.attr_double("beta"), m.info.beta);
    EXPECT_EQ(g.attr_int("epochs"), m.info.epochs);
    EXPECT_EQ(g.attr_int("steps"), m.info.steps);
    EXPECT_EQ(g.attr_string("lr_regime"), m.info.lr_regime);
    EXPECT_EQ(g.attr_string("checkpoint"), m.info.checkpoint);
    if (m.info.curve.empty()) {
      EXPECT_FALSE(g.has("curve"));
    } else {
      auto c = g.read_table("curve");
      ASSERT_EQ(col<int64_t>(c, "step").size(), m.info.curve.size());
      for (size_t i = 0; i < m.info.curve.size(); ++i) {
        const auto& s = m.info.curve[i];
        EXPECT_EQ(col<int64_t>(c, "step")[i], s.step);
        EXPECT_EQ(col<int64_t>(c, "tokens")[i], s.tokens);
        EXPECT_EQ(col<double>(c, "lr")[i], s.lr);
        EXPECT_EQ(col<double>(c, "loss")[i], s.loss);
        EXPECT_EQ(col<double>(c, "forget_term")[i], s.forget_term);
        EXPECT_EQ(col<double>(c, "retain_term")[i], s.retain_term);
        EXPECT_EQ(col<double>(c, "grad_norm")[i], s.grad_norm);
      }
    }
    for (const auto& e : m.evals) {
      SCOPED_TRACE(e.precision);
      H5Group p = g.open_group(e.precision);
      const auto& mt = e.metrics;
      EXPECT_EQ(p.attr_string("scheme"), e.scheme);
      EXPECT_EQ(p.attr_int("bits"), e.bits);
      EXPECT_EQ(p.attr_int("group_size"), e.group_size);
      expect_same(p.attr_double("verbmem_f"), mt.has_verbmem ? mt.verbmem_forget : NAN, "vm");
      expect_same(p.attr_double("knowmem_f"), mt.knowmem_forget.mean, "kf");
      expect_same(p.attr_double("knowmem_r"), mt.knowmem_retain.mean, "kr");
      expect_same(p.attr_double("privleak"), e.privleak, "pl");
      expect_same(p.attr_double("privleak_auc"), mt.has_privleak ? mt.privleak_auc : NAN, "auc");
      expect_same(p.attr_double("wall_s"), e.wall_s, "wall");
      ASSERT_EQ(p.has("verbmem"), mt.has_verbmem);
      if (mt.has_verbmem) {
        EXPECT_EQ(p.read_strings("verbmem/prompt"), mt.verbmem_prompts);
        EXPECT_EQ(p.read_strings("verbmem/reference"), mt.verbmem_references);
        EXPECT_EQ(p.read_strings("verbmem/generation"), mt.verbmem_generations);
        EXPECT_EQ(p.read_doubles("verbmem/rouge"), mt.verbmem_scores);
      }
      for (const auto& [name, k] : {std::pair{"knowmem_forget", &mt.knowmem_forget},
                                    std::pair{"knowmem_retain", &mt.knowmem_retain}}) {
        std::string n = name;
        EXPECT_EQ(p.read_strings(n + "/question"), k->questions);
        EXPECT_EQ(p.read_strings(n + "/answer"), k->answers);
        EXPECT_EQ(p.read_strings(n + "/generation"), k->generations);
        EXPECT_EQ(p.read_doubles(n + "/rouge"), k->scores);
      }
      ASSERT_EQ(p.has("privleak"), mt.has_privleak);
      if (mt.has_privleak) {
        EXPECT_EQ(p.read_doubles("privleak/forget"), mt.mink_forget);
        EXPECT_EQ(p.read_doubles("privleak/retain"), mt.mink_retain);
        EXPECT_EQ(p.read_doubles("privleak/holdout"), mt.mink_holdout);
        for (const auto& a : mt.mia) {
          const std::string g = "privleak/mia/" + a.attack;
          EXPECT_EQ(p.read_doubles(g + "/forget"), a.forget);
          EXPECT_EQ(p.read_doubles(g + "/retain"), a.retain);
          EXPECT_EQ(p.read_doubles(g + "/holdout"), a.holdout);
          EXPECT_EQ(p.open_group(g).attr_double("auc"), a.auc);
        }
      }
      ASSERT_EQ(p.has("code_change"), e.has_code_change);
      if (e.has_code_change) {
        H5Group cc = p.open_group("code_change");
        const auto& s = e.code_change;
        EXPECT_EQ(cc.attr_int("n_weights"), 3000);
        EXPECT_EQ(cc.attr_int("n_codes_changed"), s.n_codes_changed);
        EXPECT_EQ(cc.attr_double("frac_codes_changed"), s.frac_codes_changed());
        EXPECT_EQ(cc.attr_int("n_moved"), 40);
        EXPECT_EQ(cc.attr_double("frac_moved"), 40.0 / 3000.0);
        EXPECT_EQ(cc.attr_double("mean_ratio"), s.mean_ratio());
        EXPECT_EQ(cc.attr_double("max_ratio"), 2.5);
        EXPECT_EQ(cc.read_int64s("hist"), s.hist);
        EXPECT_EQ(cc.read_doubles("bin_edges"), relapse::quant::code_change_bin_edges());
        auto layers = cc.read_table("layers");
        EXPECT_EQ(col<std::string>(layers, "name"),
                  (std::vector<std::string>{"model.layers.0.self_attn.q_proj.weight",
                                            "model.layers.0.mlp.down_proj.weight"}));
        EXPECT_EQ(col<int64_t>(layers, "n_weights"), (std::vector<int64_t>{1000, 2000}));
        EXPECT_EQ(col<int64_t>(layers, "n_codes_changed"),
                  (std::vector<int64_t>{3, e.bits == 4 ? 1 : 7}));
        EXPECT_EQ(col<int64_t>(layers, "n_moved"), (std::vector<int64_t>{40, 0}));
        EXPECT_EQ(col<double>(layers, "frac_codes_changed")[0], 0.003);
        EXPECT_EQ(col<double>(layers, "mean_ratio"), (std::vector<double>{0.0125, 0.0}));
        EXPECT_EQ(col<double>(layers, "max_ratio"), (std::vector<double>{2.5, 0.0}));
      }
    }
  }
}

TEST(Archive, EmptyRunWritesEmptyTables) {
  RunResult r;
  r.name = "";
  std::string path = relapse::test::scratch_dir("archive") + "/empty.h5";
  archive_write(r, path);
  EXPECT_TRUE(archive_read_summary(path).empty());
  H5File f = H5File::open_read(path);
  EXPECT_EQ(f.root().open_group("provenance").attr_string("run_name"), "");
  EXPECT_TRUE(f.root().open_group("models").children().empty());
}

TEST(Archive, FailedWriteLeavesNoArchive) {
  std::string dir = relapse::test::scratch_dir("archive");
  // Fresh path: the bad name comes after target and retrain were written.
  {
    RunResult r = make_run();
    r.models[2].info.name = "ga/gdr";
    std::string path = dir + "/fresh.h5";
    relapse::test::expect_input_error([&] { archive_write(r, path); }, {"ga/gdr", path});
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::exists(path + ".tmp"));
  }
  // An older archive at PATH survives a failed rewrite untouched.
  std::string path = dir + "/relapse.h5";
  RunResult old = make_run();
  old.name = "old run";
  archive_write(old, path);
  std::string before = relapse::test::read_file(path);
  auto expect_untouched = [&] {
    EXPECT_EQ(relapse::test::read_file(path), before);
    EXPECT_FALSE(fs::exists(path + ".tmp"));
    H5File f = H5File::open_read(path);
    EXPECT_EQ(f.root().open_group("provenance").attr_string("run_name"), "old run");
  };
  {
    RunResult r = make_run();
    r.models[3].evals[2].precision = "";  // empty precision, last model
    relapse::test::expect_input_error([&] { archive_write(r, path); }, {"npo_gdr", "empty"});
    expect_untouched();
  }
  {
    RunResult r = make_run();
    r.models[1].evals[1].precision = "curve";  // would collide with the curve table
    relapse::test::expect_input_error([&] { archive_write(r, path); }, {"curve", "reserved"});
    expect_untouched();
  }
  {
    RunResult r = make_run();
    r.models[3].info.name = "ga_gdr";
    relapse::test::expect_input_error([&] { archive_write(r, path); }, {"ga_gdr", "twice"});
    expect_untouched();
  }
  {
    RunResult r = make_run();
    r.models[0].evals[1].precision = "full";
    relapse::test::expect_input_error([&] { archive_write(r, path); }, {"full", "twice"});
    expect_untouched();
  }
  {
    RunResult r = make_run();
    r.models[0].info.name = "";
    relapse::test::expect_input_error([&] { archive_write(r, path); }, {"model name is empty"});
    expect_untouched();
  }
}

TEST(Archive, ReadSummaryErrorsNameTheFile) {
  std::string dir = relapse::test::scratch_dir("archive");
  relapse::test::expect_input_error([&] { archive_read_summary(dir + "/missing.h5"); },
                                    {dir + "/missing.h5"});
  std::string path = dir + "/nosummary.h5";
  {
    H5File f = H5File::create(path);
    f.root().group("provenance").set_attr("run_name", "x");
    f.commit();
  }
  relapse::test::expect_input_error([&] { archive_read_summary(path); }, {path, "summary"});
  std::string bad = dir + "/badcols.h5";
  {
    H5File f = H5File::create(bad);
    f.root().write_table("summary", {{"model", std::vector<std::string>{"target"}}});
    f.commit();
  }
  relapse::test::expect_input_error([&] { archive_read_summary(bad); }, {bad, "kind"});
}

// The binders (src/results/archive_bind.cpp) read what they write: an
// archive read back and written again is the same file, value for value —
// every optional part present (SURE mask, intervals, paired differences,
// calibration, bootstrap, relearning, a diverged run).
TEST(Archive, ReadBackAndWrittenAgainIsTheSame) {
  RunResult r = make_run();
  ModelInfo& ga = r.models[2].info;
  ga.group = "ga_gdr";
  ga.seed = 2;
  ga.saliency = "module";
  ga.saliency_threshold = "p90";
  ga.mask.steps = 3;
  ga.mask.names = {"model.layers.0.mlp.up_proj.weight", "lm_head.weight"};
  ga.mask.selected_steps = {{3, 3, 0}, {}};
  r.models[3].info.diverged_step = 7;
  PrecisionEval& e = r.models[2].evals[2];
  e.ci = {{"verbmem_f", {41.5, 40.0, 43.0}}, {"knowmem_f", {42.25, 30.0, 55.5}}};
  e.vs_full = {{"knowmem_f", 1.5, -2.0, 5.0, 3}, {"privleak", -0.5, -1.0, 0.25, 5}};
  r.calibration = {true, "retain", "", 64, 128, 18446744073709551557ull, 4096};
  r.bootstrap = {1000, 0.95, 42};
  r.relearn = {10, 3e-4, "forget", 8};
  const std::string dir = relapse::test::scratch_dir("archive_bind");
  archive_write(r, dir + "/a.h5");
  RunResult back = archive_read_run(dir + "/a.h5");
  EXPECT_EQ(back.models[2].info.mask.selected_steps, ga.mask.selected_steps);
  EXPECT_EQ(back.models[3].info.diverged_step, 7);
  const auto& mia = back.models[2].evals[2].metrics.mia;
  ASSERT_EQ(mia.size(), 3u);
  EXPECT_EQ(mia[1].attack, "ppl_lower");
  EXPECT_EQ(mia[1].holdout, r.models[2].evals[2].metrics.mia[1].holdout);
  EXPECT_EQ(mia[2].auc, 0.75);
  EXPECT_EQ(back.calibration.seed, 18446744073709551557ull);
  EXPECT_EQ(back.provenance.fields, r.provenance.fields);
  archive_write(back, dir + "/b.h5");
  H5File a = H5File::open_read(dir + "/a.h5"), b = H5File::open_read(dir + "/b.h5");
  const auto diffs = relapse::test::h5_differences(a.root(), b.root());
  EXPECT_TRUE(diffs.empty()) << diffs.size() << " difference(s), first: " << diffs.front();
}
