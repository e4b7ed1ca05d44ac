// tests/model/test_llama_linears.cpp — the table of a decoder layer's linears
// (model/llama_linears.h) against the model it describes: every entry is a
// module of the layer at <block>.<kind>, column- or row-parallel as the
// table says, with the table's whole shape at TP 1 (GQA: k/v narrower), its
// Hugging Face weight name is a parameter of the model, and RTN's TP split
// dimension follows the table.
#include <gtest/gtest.h>

#include "relapse/model/llama.h"
#include "relapse/model/llama_linears.h"
#include "relapse/quant/quantize_model.h"

namespace relapse::model {
namespace {

TEST(LlamaLinears, TableDescribesTheModel) {
  LlamaConfig c;
  c.vocab_size = 50;
  c.hidden_size = 48;
  c.intermediate_size = 80;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 6;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 32;
  LlamaForCausalLM m(c);
  const auto params = m->named_parameters();
  const auto lins = llama_linears(c);
  ASSERT_EQ(lins.size(), 7u);
  EXPECT_EQ(llama_linear_kinds().size(), 7u);
  auto layer = m->model->layers->ptr<LlamaDecoderLayerImpl>(1);
  const auto mods = layer->named_modules("", false);
  for (const auto& l : lins) {
    const auto* mod = mods.find(l.block + "." + l.kind);
    ASSERT_NE(mod, nullptr) << l.kind;
    const bool column = (*mod)->template as<ColumnParallelLinearImpl>() != nullptr;
    const bool row = (*mod)->template as<RowParallelLinearImpl>() != nullptr;
    EXPECT_EQ(column, l.split == LinearSplit::kColumn) << l.kind;
    EXPECT_EQ(row, l.split == LinearSplit::kRow) << l.kind;
    const std::string name = llama_linear_weight_name(1, l);
    const torch::Tensor* w = params.find(name);
    ASSERT_NE(w, nullptr) << name;
    EXPECT_EQ(w->sizes(), (std::vector<int64_t>{l.out, l.in})) << name;
    EXPECT_EQ(llama_linear_of_name(name), llama_linear_find(l.kind)) << name;
    EXPECT_EQ(quant::rtn_split_dim(name), l.split == LinearSplit::kRow ? 1 : 0) << name;
    // The shared input has the same input width.
    const LlamaLinear* src = llama_linear_find(l.shares_input_with);
    ASSERT_NE(src, nullptr) << l.kind;
    EXPECT_EQ(llama_linears(c)[static_cast<size_t>(src - &llama_linear_table()[0])].in, l.in);
  }
  EXPECT_EQ(llama_linear_of_name("model.embed_tokens.weight"), nullptr);
  EXPECT_EQ(quant::rtn_split_dim("lm_head.weight"), 0);
}

}  // namespace
}  // namespace relapse::model
