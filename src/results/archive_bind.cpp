// src/results/archive_bind.cpp — the run archive's binders (archive_bind.h):
// every field of ModelInfo, PrecisionEval (with its MUSE metrics, intervals
// and code-change diagnostics), the run header and the /summary row, named
// once. Fields that archives written before them lack are bound with attr_or
// / col_or (their defaults); values derived from others (fractions, means)
// are written for h5py / pandas readers and recomputed, not read, on the way
// back.
#include "archive_bind.h"

namespace relapse::results {

namespace {

// An attribute that is NaN in the file when its metric was not computed, and
// read back only when it was.
template <class Io, class T>
void attr_when(Io& g, const std::string& k, T& v, bool has) {
  if constexpr (Io::kReading) {
    if (has)
      g.attr(k, v);
    else
      g.derived(k, v);
  } else {
    g.attr(k, nan_unless(has, v));
  }
}

template <class Row>
constexpr bool reading_row = std::decay_t<Row>::kReading;

template <class Io>
void bind_curve(Io& g, Bound<Io, ModelInfo>& info) {
  g.table_if(
      "curve", info.curve,
      [](auto& s, auto& c) {
        c.col("step", s.step);
        c.col("tokens", s.tokens);
        c.col("lr", s.lr);
        c.col("loss", s.loss);
        c.col("forget_term", s.forget_term);
        c.col("retain_term", s.retain_term);
        c.col("grad_norm", s.grad_norm);
      },
      !info.curve.empty());
}

// The SURE mask as one ragged array (names / offsets / selected_steps): one
// object per field instead of one per parameter keeps a 70B model's mask to
// three datasets and any parameter name legal.
template <class Io>
void bind_mask(Io& g, Bound<Io, SaliencyMaskInfo>& mask, const std::string& model) {
  const std::string& file = g.group().file_path();
  std::vector<int64_t> offsets = {0};
  std::vector<int32_t> counts;
  if constexpr (!Io::kReading) {
    RELAPSE_CHECK_INPUT(mask.names.size() == mask.selected_steps.size(), "archive '", file,
                        "': saliency mask of model '", model, "' has ", mask.names.size(),
                        " names but ", mask.selected_steps.size(), " count vectors");
    for (const auto& v : mask.selected_steps) {
      counts.insert(counts.end(), v.begin(), v.end());
      offsets.push_back(static_cast<int64_t>(counts.size()));
    }
  }
  g.attr("steps", mask.steps);
  g.data("names", mask.names);
  g.data("offsets", offsets);
  g.data("selected_steps", counts);
  if constexpr (Io::kReading) {
    const std::string& at = g.group().path();
    RELAPSE_CHECK_INPUT(offsets.size() == mask.names.size() + 1 && offsets.front() == 0 &&
                            offsets.back() == static_cast<int64_t>(counts.size()),
                        "archive '", file, "': ", at,
                        "/offsets does not match names and selected_steps");
    for (size_t i = 0; i < mask.names.size(); ++i) {
      RELAPSE_CHECK_INPUT(offsets[i] <= offsets[i + 1], "archive '", file, "': ", at,
                          "/offsets decreases at ", i);
      mask.selected_steps.emplace_back(counts.begin() + offsets[i],
                                       counts.begin() + offsets[i + 1]);
    }
  }
}

template <class Io>
void bind_knowmem(Io g, Bound<Io, eval::KnowmemResult>& k) {
  g.data("question", k.questions);
  g.data("answer", k.answers);
  g.data("generation", k.generations);
  g.data("rouge", k.scores);
  g.attr("mean", k.mean);
}

// The per-layer rows of the code-change diagnostics: one column per histogram
// bin of |w_unl − w_target| / Δ (hist_0 counts [bin_edges[0], bin_edges[1]),
// the last one [edges.back(), inf]), then what the merged stats are made of,
// so a reader can rebuild every field.
template <class Io>
void bind_code_change_layers(Io& g, Bound<Io, PrecisionEval>& e) {
  const std::vector<double>& edges = e.code_change.bin_edges;
  const size_t nb = edges.size();
  std::pair<std::string, quant::CodeChangeStats> proto;
  proto.second.bin_edges = edges;
  proto.second.hist.assign(nb, 0);
  auto fields = [nb](auto& row, auto& c) {
    auto& s = row.second;
    RELAPSE_CHECK(s.hist.size() == nb, "code-change layer '", row.first, "' has ", s.hist.size(),
                  " histogram bins, expected ", nb);
    c.col("name", row.first);
    c.col("n_weights", s.n_weights);
    c.col("n_codes_changed", s.n_codes_changed);
    c.derived("frac_codes_changed", s.frac_codes_changed());
    c.col("n_moved", s.n_moved);
    c.derived("mean_ratio", s.mean_ratio());
    c.col("max_ratio", s.max_ratio);
    for (size_t b = 0; b < nb; ++b) c.col("hist_" + std::to_string(b), s.hist[b]);
    if (c.has("n_finite")) {
      c.col("n_groups", s.n_groups);
      c.col("n_groups_params_changed", s.n_groups_params_changed);
      c.col("n_zero_delta_moved", s.n_zero_delta_moved);
      c.col("n_finite", s.n_finite);
      c.col("sum_ratio", s.sum_ratio);
    } else if constexpr (reading_row<decltype(c)>) {
      // Older archives: every weight counted finite, the sum from the mean.
      double mean_ratio = 0;
      c.col("mean_ratio", mean_ratio);
      s.n_finite = s.n_weights;
      s.sum_ratio = mean_ratio * static_cast<double>(s.n_weights);
    }
  };
  g.table("layers", e.code_change_layers, fields, proto);
}

template <class Io>
void bind_code_change(Io g, Bound<Io, PrecisionEval>& e) {
  auto& c = e.code_change;
  g.attr("n_weights", c.n_weights);
  g.attr("n_codes_changed", c.n_codes_changed);
  g.derived("frac_codes_changed", c.frac_codes_changed());
  g.attr("n_moved", c.n_moved);
  g.derived("frac_moved", c.frac_moved());
  g.derived("mean_ratio", c.mean_ratio());
  g.attr("max_ratio", c.max_ratio);
  g.attr("n_groups", c.n_groups);
  g.attr("n_groups_params_changed", c.n_groups_params_changed);
  g.attr("n_zero_delta_moved", c.n_zero_delta_moved);
  // Older archives lack n_finite / sum_ratio: rebuilt from the mean (every
  // weight but the Δ = 0 movers has a finite ratio).
  g.attr_or("n_finite", c.n_finite, c.n_weights - c.n_zero_delta_moved);
  if (!g.attr_if("sum_ratio", c.sum_ratio, true)) {
    if constexpr (Io::kReading) {
      double mean_ratio = 0;
      g.attr("mean_ratio", mean_ratio);
      c.sum_ratio = mean_ratio * static_cast<double>(c.n_finite);
    }
  }
  g.data("hist", c.hist);
  g.data("bin_edges", c.bin_edges);
  RELAPSE_CHECK_INPUT(c.hist.size() == c.bin_edges.size(), "archive '", g.group().file_path(),
                      "': ", g.group().path(), " has ", c.hist.size(), " histogram bins but ",
                      c.bin_edges.size(), " bin edges");
  bind_code_change_layers(g, e);
}

template <class B>
auto& band_field(B& b, int j) {
  switch (j) {
    case 0:
      return b.lo;
    case 1:
      return b.hi;
    case 2:
      return b.d;
    case 3:
      return b.d_lo;
    default:
      return b.d_hi;
  }
}
// Column j of metric k's band: m_lo, m_hi, d_m, d_m_lo, d_m_hi.
std::string band_column(int k, int j) {
  const std::string m = kSummaryCiMetrics[k];
  static const char* const kFmt[5] = {"_lo", "_hi", "", "_lo", "_hi"};
  return (j >= 2 ? "d_" + m : m) + kFmt[j];
}

}  // namespace

template <class Io>
void bind_model_info(Io& g, Bound<Io, ModelInfo>& info) {
  g.attr("kind", info.kind);
  g.attr("method", info.method);
  g.attr("variant", info.variant);
  g.attr("lr", info.lr);
  g.attr("alpha", info.alpha);
  g.attr("beta", info.beta);
  g.attr("epochs", info.epochs);
  g.attr("steps", info.steps);
  g.attr("lr_regime", info.lr_regime);
  g.attr("checkpoint", info.checkpoint);
  g.attr_or("group", info.group, info.name);
  g.attr_or("seed", info.seed, int64_t{-1});
  g.attr_or("saliency", info.saliency, std::string());
  g.attr_or("saliency_threshold", info.saliency_threshold, std::string());
  // Only when set: archives of runs that did not diverge keep their attributes.
  g.attr_sparse("diverged_step", info.diverged_step, int64_t{0});
  bind_curve(g, info);
  bool has_mask = !info.mask.names.empty();
  if (g.present("saliency_mask", has_mask)) {
    auto m = g.child("saliency_mask");
    bind_mask(m, info.mask, info.name);
  }
}

// privleak/mia/<attack>/{forget,retain,holdout} and its attribute auc, one
// group per attack of eval::kMiaAttacks (absent in archives before them).
template <class Io, class V>
void bind_mia(Io mia, V& attacks) {
  if constexpr (Io::kReading) {
    attacks.clear();
    for (const auto& name : mia.group().children()) attacks.push_back({name, {}, {}, {}, 0.0});
  }
  for (auto& a : attacks) {
    auto g = mia.child(a.attack);
    g.data("forget", a.forget);
    g.data("retain", a.retain);
    g.data("holdout", a.holdout);
    g.attr("auc", a.auc);
  }
}

template <class Io>
void bind_precision(Io& g, Bound<Io, PrecisionEval>& e) {
  auto& m = e.metrics;
  g.present("verbmem", m.has_verbmem);
  g.present("knowmem_forget", m.has_knowmem);
  g.present("privleak", m.has_privleak);
  g.present("code_change", e.has_code_change);
  g.attr("scheme", e.scheme);
  g.attr("bits", e.bits);
  g.attr("group_size", e.group_size);
  // The summary numbers as attributes (NaN when not computed).
  attr_when(g, "verbmem_f", m.verbmem_forget, m.has_verbmem);
  g.derived("knowmem_f", nan_unless(m.has_knowmem, m.knowmem_forget.mean));
  g.derived("knowmem_r", nan_unless(m.has_knowmem, m.knowmem_retain.mean));
  g.attr("privleak", e.privleak);
  attr_when(g, "privleak_auc", m.privleak_auc, m.has_privleak);
  g.attr("wall_s", e.wall_s);
  std::vector<std::string> ci_metrics;
  for (const auto& kv : e.ci) ci_metrics.push_back(kv.first);
  if (g.attr_if("ci_metrics", ci_metrics, !e.ci.empty())) {
    if constexpr (Io::kReading)
      for (const auto& metric : ci_metrics) e.ci.emplace_back(metric, MetricCI{});
    for (auto& [metric, ci] : e.ci) {
      g.attr(metric + "_lo", ci.lo);
      g.attr(metric + "_hi", ci.hi);
      g.attr(metric + "_ci_value", ci.value);
    }
  }
  g.table_if(
      "vs_full", e.vs_full,
      [](auto& d, auto& c) {
        c.col("metric", d.metric);
        c.col("mean", d.mean);
        c.col("lo", d.lo);
        c.col("hi", d.hi);
        c.col("n", d.n);
      },
      !e.vs_full.empty());
  if (m.has_verbmem) {
    auto v = g.child("verbmem");
    v.data("prompt", m.verbmem_prompts);
    v.data("reference", m.verbmem_references);
    v.data("generation", m.verbmem_generations);
    v.data("rouge", m.verbmem_scores);
    if (v.present("extraction_strength", m.has_memorization)) {
      v.data("exact_memorization", m.verbmem_em);
      v.data("extraction_strength", m.verbmem_es);
      v.attr("exact_memorization_mean", m.exact_memorization);
      v.attr("extraction_strength_mean", m.extraction_strength);
    }
  }
  if (m.has_knowmem) {
    bind_knowmem(g.child("knowmem_forget"), m.knowmem_forget);
    bind_knowmem(g.child("knowmem_retain"), m.knowmem_retain);
  }
  if (m.has_privleak) {
    auto p = g.child("privleak");
    p.data("forget", m.mink_forget);
    p.data("retain", m.mink_retain);
    p.data("holdout", m.mink_holdout);
    bool has_mia = !m.mia.empty();
    if (p.present("mia", has_mia)) bind_mia(p.child("mia"), m.mia);
  }
  if (e.has_code_change) bind_code_change(g.child("code_change"), e);
}

template <class Io>
void bind_run_header(Io& root, Io& prov, Bound<Io, RunResult>& r) {
  prov.attr("config_yaml", r.config_yaml);
  prov.attr("run_name", r.name);
  prov.attr("total_wall_s", r.total_wall_s);
  if (prov.attr_if("bootstrap_resamples", r.bootstrap.resamples, true)) {
    prov.attr("bootstrap_level", r.bootstrap.level);
    prov.u64_text("bootstrap_seed", r.bootstrap.seed);
  }
  if (prov.attr_if("relearn_steps", r.relearn.steps, true)) {
    prov.attr("relearn_lr", r.relearn.lr);
    prov.attr("relearn_source", r.relearn.source);
    prov.attr("relearn_rows", r.relearn.rows);
    prov.attr_or("relearn_from", r.relearn.from, std::string("full"));
  }
  // What GPTQ/AWQ were calibrated on: enough to redraw the same windows.
  if (root.present("calibration", r.calibration.used)) {
    auto c = root.child("calibration");
    c.attr("source", r.calibration.source);
    c.attr("file", r.calibration.file);
    c.attr("n_samples", r.calibration.n_samples);
    c.attr("seq_len", r.calibration.seq_len);
    c.u64_text("seed", r.calibration.seed);
    c.attr("text_tokens", r.calibration.text_tokens);
  }
  root.table("stages", r.stages, [](auto& s, auto& c) {
    c.col("stage", s.stage);
    c.col("wall_s", s.wall_s);
  });
}

template <class Io>
void bind_summary(Io& root, Bound<Io, std::vector<SummaryRow>>& rows) {
  root.table("summary", rows, [](auto& s, auto& c) {
    c.col("model", s.model);
    c.col("kind", s.kind);
    c.col("method", s.method);
    c.col("variant", s.variant);
    c.col("lr_regime", s.lr_regime);
    c.col("precision", s.precision);
    c.col("scheme", s.scheme);
    c.col("lr", s.lr);
    c.col("alpha", s.alpha);
    c.col("beta", s.beta);
    c.col("bits", s.bits);
    c.col("group_size", s.group_size);
    c.col("steps", s.steps);
    c.col("verbmem_f", s.verbmem_f);
    c.col("knowmem_f", s.knowmem_f);
    c.col("knowmem_r", s.knowmem_r);
    c.col("privleak", s.privleak);
    c.col("privleak_auc", s.privleak_auc);
    c.col("codes_changed_frac", s.codes_changed_frac);
    c.col("mean_dw_over_delta", s.mean_dw_over_delta);
    c.col("wall_s", s.wall_s);
    // Added after the first archives: absent → every row keeps its default.
    c.col_or("group", s.group);
    c.col_or("seed", s.seed);
    c.col_or("saliency", s.saliency);
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 5; ++j) c.col_or(band_column(k, j), band_field(s.band[k], j));
  });
}

template void bind_model_info<ArchiveOut>(ArchiveOut&, const ModelInfo&);
template void bind_model_info<ArchiveIn>(ArchiveIn&, ModelInfo&);
template void bind_precision<ArchiveOut>(ArchiveOut&, const PrecisionEval&);
template void bind_precision<ArchiveIn>(ArchiveIn&, PrecisionEval&);
template void bind_run_header<ArchiveOut>(ArchiveOut&, ArchiveOut&, const RunResult&);
template void bind_run_header<ArchiveIn>(ArchiveIn&, ArchiveIn&, RunResult&);
template void bind_summary<ArchiveOut>(ArchiveOut&, const std::vector<SummaryRow>&);
template void bind_summary<ArchiveIn>(ArchiveIn&, std::vector<SummaryRow>&);

}  // namespace relapse::results
