// tests/pipeline/test_forget_requests.cpp — data.forget_requests, MUSE's
// scalability and sustainability protocols: removal requests unlearned one
// after another, each from the previous request's model, the requests before
// the last cached under their own keys. On the reduced quickstart (nano model,
// 2 unlearning updates per request) with a copy of the synthetic corpus whose
// raw/forget documents are split into two folds, sust/forget_1.txt and
// sust/forget_2.json (both file forms MUSE's load_data.py writes). Under
// mpirun -np 2 (tests/mpi_tests.cmake) the same checks run data-parallel.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "relapse/data/muse.h"
#include "relapse/dist/runtime.h"
#include "relapse/model/hf_checkpoint.h"
#include "relapse/pipeline/config.h"
#include "relapse/pipeline/run.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace relapse;
using namespace relapse::pipeline;

namespace {

const std::string& root() {
  static const std::string d = test::scratch_dir_shared("forget_requests");
  return d;
}

RelapseConfig requests_config(const std::string& out, std::vector<std::string> requests) {
  RelapseConfig cfg =
      config_load(test::source_dir() + "/configs/tour.yaml",
                  {"run.out_dir=" + root() + "/" + out, "run.cache_dir=" + root() + "/cache",
                   "model.preset=nano", "pretrain.epochs=1", "train.epochs=1", "unlearn.epochs=1",
                   "unlearn.max_steps=2", "unlearn.methods=[npo_gdr]", "unlearn.lrs=[1e-4]",
                   "unlearn.large_lrs=[]", "unlearn.sure.lrs=[]", "data.max_len=64"});
  cfg.data.corpus = root() + "/corpus";
  cfg.data.forget_requests = std::move(requests);
  return cfg;
}

// The one entry of `dir` whose name starts with `prefix`.
std::string run_dir(const std::string& dir, const std::string& prefix);

// The synthetic corpus (made by a data-only run), copied with its forget
// documents split into two folds (once per process).
void make_corpus() {
  static bool made = false;
  if (made) return;
  made = true;
  Runtime& rt = *Runtime::instance();
  RelapseConfig synth = requests_config("synth", {});
  synth.data.corpus.clear();
  pipeline_run(synth, rt, Stage::kData, "test synth");
  if (rt.rank() == 0) {
    const std::string made = run_dir(synth.run.cache_dir, "data-");
    fs::copy(made, root() + "/corpus", fs::copy_options::recursive);  // tokenizer included
    const data::MuseCorpus c = data::muse_load(made);
    const std::vector<std::string>& docs = c.forget.docs;
    ASSERT_GE(docs.size(), 4u);
    const size_t half = docs.size() / 2;
    fs::create_directories(root() + "/corpus/sust");
    test::write_file(root() + "/corpus/sust/forget_1.txt",
                     data::muse_join_docs({docs.begin(), docs.begin() + half}));
    test::write_file(
        root() + "/corpus/sust/forget_2.json",
        nlohmann::json(std::vector<std::string>(docs.begin() + half, docs.end())).dump());
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

std::string run_dir(const std::string& dir, const std::string& prefix) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) return e.path().string();
  ADD_FAILURE() << "no " << prefix << "* in " << dir;
  return "";
}

// Whether two saved models have bit-identical parameters.
bool same_weights(const std::string& a, const std::string& b) {
  auto ma = model::hf_load(a), mb = model::hf_load(b);
  auto pa = ma->named_parameters(), pb = mb->named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& p : pa)
    if (!torch::equal(p.value(), pb[p.key()])) return false;
  return true;
}

int64_t stamped_steps(const std::string& dir) {
  auto j = nlohmann::json::parse(test::read_file(dir + "/relapse_stage.json"));
  return j["steps"].get<int64_t>();
}

}  // namespace

TEST(ForgetRequests, SequentialRequestsEqualTheirParts) {
  Runtime& rt = *Runtime::instance();
  make_corpus();
  const std::vector<std::string> both = {"sust/forget_1", "sust/forget_2"};

  // Two requests in one run: request 1 is cached under its own key.
  RelapseConfig a = requests_config("a", both);
  pipeline_run(a, rt, Stage::kUnlearn, "test requests a");
  const std::string final_a = run_dir(a.run.out_dir + "/models", "npo_gdr");
  const std::string first_a = run_dir(a.run.cache_dir, "unlearn-npo_gdr");
  EXPECT_EQ(stamped_steps(first_a), 2);
  EXPECT_EQ(stamped_steps(final_a), 4);  // the curve, steps and epochs add up

  // Request 1 alone, trained afresh into its own directory: the same model.
  RelapseConfig b = requests_config("b", {both[0]});
  pipeline_run(b, rt, Stage::kUnlearn, "test requests b");
  const std::string final_b = run_dir(b.run.out_dir + "/models", "npo_gdr");
  EXPECT_TRUE(same_weights(first_a, final_b));
  // Request 2 changed it.
  EXPECT_FALSE(same_weights(final_a, final_b));

  // Both requests again: request 1 from the cache, then request 2 as in run a.
  RelapseConfig c = requests_config("c", both);
  pipeline_run(c, rt, Stage::kUnlearn, "test requests c");
  const std::string final_c = run_dir(c.run.out_dir + "/models", "npo_gdr");
  EXPECT_TRUE(same_weights(final_a, final_c));
  EXPECT_EQ(stamped_steps(final_c), 4);
}

TEST(ForgetRequests, BadRequestsAreNamed) {
  Runtime& rt = *Runtime::instance();
  make_corpus();
  RelapseConfig missing = requests_config("missing", {"sust/forget_9"});
  test::expect_input_error([&] { pipeline_run(missing, rt, Stage::kData, "test"); },
                           std::vector<std::string>{"sust/forget_9.txt", "sust/forget_9.json"});
  const std::string quickstart = test::source_dir() + "/configs/tour.yaml";
  for (const std::string bad : {"[/etc/forget]", "[scal/forget_1.txt]", "[../outside]", "['']"})
    test::expect_error([&] { config_load(quickstart, {"data.forget_requests=" + bad}); },
                       ExitCode::kConfig, {"data.forget_requests"});
}
