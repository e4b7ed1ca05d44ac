// src/eval/eval_config.cpp — the field lists of the eval layer's config
// sections (relapse/eval/eval_config.h): keys, help text, allowed values (from
// this layer's name tables), derived defaults and range checks.
#include "relapse/eval/eval_config.h"

namespace relapse {

void config_fields(ConfigBinder& b, BootstrapSection& s) {
  b.field("resamples", s.resamples,
          "bootstrap resamples of the evaluation samples for every interval (0 = none)");
  b.field("level", s.level, "confidence level of the intervals");
  b.check("resamples", s.resamples >= 0, "must be >= 0, got ", s.resamples);
  b.check("level", s.level > 0 && s.level < 1, "must be in (0, 1), got ", s.level);
}

void config_fields(ConfigBinder& b, EvalSection& s) {
  b.field("batch_size", s.batch_size, "prompts / texts per forward batch on each rank");
  b.field("verbmem_max_new_tokens", s.verbmem_max_new_tokens, "VerbMem greedy tokens (MUSE 128)");
  b.field("knowmem_max_new_tokens", s.knowmem_max_new_tokens, "KnowMem greedy tokens (MUSE 32)");
  b.field("min_k", s.min_k, "PrivLeak Min-K% fraction (MUSE 0.4)");
  b.field("rouge", s.rouge, "per-sample ROUGE-L number", {"f1", "recall"});
  b.field("clean_up_tokenization", s.clean_up_tokenization,
          "apply transformers 4's clean_up_tokenization to decoded text (MUSE's setting)");
  b.field("max_samples", s.max_samples, "use the first N samples of every set (0 = all)");
  b.field("privleak_auc_retrain", s.privleak_auc_retrain,
          "> 0: normalise PrivLeak with this retrain AUC (MUSE News 0.4772, Books 0.5393) "
          "instead of the retrain model's, computed in the same run");
  b.section("bootstrap", s.bootstrap, "confidence intervals over the evaluation samples");
  b.check("batch_size", s.batch_size >= 1, "must be >= 1, got ", s.batch_size);
  b.check("verbmem_max_new_tokens", s.verbmem_max_new_tokens >= 1, "must be >= 1, got ",
          s.verbmem_max_new_tokens);
  b.check("knowmem_max_new_tokens", s.knowmem_max_new_tokens >= 1, "must be >= 1, got ",
          s.knowmem_max_new_tokens);
  b.check("min_k", s.min_k > 0 && s.min_k <= 1, "must be in (0, 1], got ", s.min_k);
  b.check("max_samples", s.max_samples >= 0, "must be >= 0, got ", s.max_samples);
}

}  // namespace relapse
