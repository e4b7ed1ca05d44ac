// src/dist/dist_config.cpp — the field lists of the dist layer's config
// sections (relapse/dist/dist_config.h): keys, help text, allowed values (from
// this layer's name tables), derived defaults and range checks.
#include "relapse/dist/dist_config.h"

namespace relapse {

void config_fields(ConfigBinder& b, ParallelSection& s) {
  b.field("tp", s.tp, "tensor-parallel ranks per model replica; data parallel = world size / tp");
  b.field("ranks", s.ranks,
          "ranks (DP x TP) the run is planned for: a sweep cell's size, `relapse plan`'s world; "
          "0 = the world it is launched with");
  b.field("memory_gib", s.memory_gib,
          "memory per rank in GiB the memory plan must fit in before launch; 0 = detect (the "
          "GPU's memory, or this node's RAM / ranks on the node)");
  b.field("activation_checkpointing", s.activation_checkpointing,
          "keep only each decoder layer's input during training and recompute the layer in the "
          "backward pass (less activation memory, one more forward)");
  b.field("shard_optimizer", s.shard_optimizer,
          "ZeRO-1: each data-parallel rank keeps the AdamW moments of its share of the "
          "parameters and updates only those, then broadcasts them (same result as replicated "
          "AdamW, 1/DP of its memory)");
  b.field("overlap_grad_reduce", s.overlap_grad_reduce,
          "start each data-parallel gradient bucket's all-reduce as soon as the backward has "
          "produced it (DDP's overlap; the same buckets and sums, so the same results)");
  b.check("tp", s.tp >= 1, "must be >= 1, got ", s.tp);
  b.check("ranks", s.ranks >= 0 && (s.ranks == 0 || s.ranks % s.tp == 0),
          "must be 0 or a multiple of parallel.tp = ", s.tp, ", got ", s.ranks);
  b.check("memory_gib", s.memory_gib >= 0, "must be >= 0, got ", s.memory_gib);
}

}  // namespace relapse
