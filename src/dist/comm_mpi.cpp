// src/dist/comm_mpi.cpp — the MPI backend of relapse::Communicator (CPU tensors).
#include <vector>

#include "relapse/dist/communicator.h"

namespace relapse {

void mpi_check(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  detail::error_throw(ExitCode::kRuntime, file, line, std::string(call) + " failed: " + msg);
}

namespace {

MPI_Datatype mpi_type(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32:
      return MPI_FLOAT;
    case torch::kFloat64:
      return MPI_DOUBLE;
    case torch::kInt32:
      return MPI_INT32_T;
    case torch::kInt64:
      return MPI_INT64_T;
    case torch::kUInt8:
      return MPI_UINT8_T;
    default:
      break;
  }
  RELAPSE_THROW(ExitCode::kInternal, "MPI communicator: unsupported dtype ", c10::toString(t));
}

bool is_half(torch::ScalarType t) {
  return t == torch::kBFloat16 || t == torch::kFloat16;
}

MPI_Op mpi_op(ReduceOp op) {
  return op == ReduceOp::kMax ? MPI_MAX : MPI_SUM;
}

void require_cpu_contiguous(const torch::Tensor& t, const char* op) {
  RELAPSE_CHECK(t.defined() && t.device().is_cpu(), op, ": the MPI backend takes CPU tensors");
  RELAPSE_CHECK(t.is_contiguous(), op, ": tensor must be contiguous");
}

// One MPI_Iallreduce in flight. 16-bit floats travel as an fp32 copy (as in
// all_reduce) written back at wait(); kAvg divides at wait(). MPI is
// initialised MPI_THREAD_FUNNELED, so only the main thread may start or
// progress it (on the CPU, autograd's hooks run on the thread that called
// backward; checked).
class MpiAllReduceRequest : public CommRequest {
 public:
  MpiAllReduceRequest(torch::Tensor t, ReduceOp op, int size, MPI_Comm comm)
      : t_(std::move(t)), op_(op), size_(size) {
    require_main_thread("all_reduce_async");
    buf_ = is_half(t_.scalar_type()) ? t_.to(torch::kFloat32) : t_;
    RELAPSE_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, buf_.data_ptr(), static_cast<int>(buf_.numel()),
                                     mpi_type(buf_.scalar_type()), mpi_op(op_), comm, &req_));
  }
  ~MpiAllReduceRequest() override {
    // Dropped unfinished only when the job is failing (an exception between
    // start and wait, the runtime then aborts the job). MPI forbids freeing a
    // collective's request, and may still write into the buffer: keep the
    // buffer alive (leaked on purpose) so that write lands in owned memory.
    if (req_ != MPI_REQUEST_NULL && !done_) new torch::Tensor(buf_);
  }
  bool test() override {
    if (done_) return true;
    require_main_thread("all_reduce_async test");
    int flag = 0;
    RELAPSE_MPI_CHECK(MPI_Test(&req_, &flag, MPI_STATUS_IGNORE));
    if (flag) finish();
    return done_;
  }
  void wait() override {
    if (done_) return;
    require_main_thread("all_reduce_async wait");
    RELAPSE_MPI_CHECK(MPI_Wait(&req_, MPI_STATUS_IGNORE));
    finish();
  }

 private:
  static void require_main_thread(const char* what) {
    int main = 0;
    MPI_Is_thread_main(&main);
    RELAPSE_CHECK(main, "MPI communicator ", what,
                  ": called off the main thread (MPI runs MPI_THREAD_FUNNELED)");
  }
  void finish() {
    done_ = true;
    if (op_ == ReduceOp::kAvg) comm_finish_avg(buf_, size_);
    if (buf_.data_ptr() != t_.data_ptr()) t_.copy_(buf_);
  }
  torch::Tensor t_, buf_;
  ReduceOp op_;
  int size_;
  MPI_Request req_ = MPI_REQUEST_NULL;
  bool done_ = false;
};

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm) {
    RELAPSE_MPI_CHECK(MPI_Comm_dup(comm, &comm_));
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void all_reduce(torch::Tensor& t, ReduceOp op) override {
    require_cpu_contiguous(t, "all_reduce");
    if (is_half(t.scalar_type())) {
      torch::Tensor f = t.to(torch::kFloat32);
      all_reduce(f, op);
      t.copy_(f);
      return;
    }
    RELAPSE_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()),
                                    mpi_type(t.scalar_type()), mpi_op(op), comm_));
    if (op == ReduceOp::kAvg) comm_finish_avg(t, size_);
  }

  std::unique_ptr<CommRequest> all_reduce_async(torch::Tensor& t, ReduceOp op) override {
    require_cpu_contiguous(t, "all_reduce_async");
    return std::make_unique<MpiAllReduceRequest>(t, op, size_, comm_);
  }

  torch::Tensor all_gather(const torch::Tensor& t) override {
    require_cpu_contiguous(t, "all_gather");
    std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
    if (shape.empty()) shape.push_back(1);
    shape[0] *= size_;
    torch::Tensor out = torch::empty(shape, t.options());
    all_gather_into(t, out);
    return out;
  }

  void all_gather_into(const torch::Tensor& t, torch::Tensor& out) override {
    require_cpu_contiguous(t, "all_gather");
    require_cpu_contiguous(out, "all_gather (output)");
    RELAPSE_CHECK(out.scalar_type() == t.scalar_type() && out.numel() == t.numel() * size_,
                  "all_gather_into: output ", out.sizes(), " ", c10::toString(out.scalar_type()),
                  " does not hold ", size_, " x ", t.sizes(), " ", c10::toString(t.scalar_type()));
    if (is_half(t.scalar_type())) {  // 2-byte payload moved as raw bytes
      RELAPSE_MPI_CHECK(MPI_Allgather(t.data_ptr(), static_cast<int>(t.numel() * 2), MPI_BYTE,
                                      out.data_ptr(), static_cast<int>(t.numel() * 2), MPI_BYTE,
                                      comm_));
    } else {
      MPI_Datatype ty = mpi_type(t.scalar_type());
      RELAPSE_MPI_CHECK(MPI_Allgather(t.data_ptr(), static_cast<int>(t.numel()), ty, out.data_ptr(),
                                      static_cast<int>(t.numel()), ty, comm_));
    }
  }

  torch::Tensor reduce_scatter(const torch::Tensor& t, ReduceOp op) override {
    require_cpu_contiguous(t, "reduce_scatter");
    RELAPSE_CHECK(t.dim() >= 1 && t.size(0) % size_ == 0, "reduce_scatter: dim 0 (",
                  t.dim() ? t.size(0) : 0, ") not divisible by the group size ", size_);
    if (is_half(t.scalar_type())) {
      return reduce_scatter(t.to(torch::kFloat32), op).to(t.scalar_type());
    }
    std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
    shape[0] /= size_;
    torch::Tensor out = torch::empty(shape, t.options());
    RELAPSE_MPI_CHECK(MPI_Reduce_scatter_block(t.data_ptr(), out.data_ptr(),
                                               static_cast<int>(out.numel()),
                                               mpi_type(t.scalar_type()), mpi_op(op), comm_));
    if (op == ReduceOp::kAvg) comm_finish_avg(out, size_);
    return out;
  }

  void broadcast(torch::Tensor& t, int root) override {
    require_cpu_contiguous(t, "broadcast");
    RELAPSE_CHECK(root >= 0 && root < size_, "broadcast: root ", root, " outside the group of ",
                  size_);
    if (is_half(t.scalar_type())) {
      RELAPSE_MPI_CHECK(
          MPI_Bcast(t.data_ptr(), static_cast<int>(t.numel() * 2), MPI_BYTE, root, comm_));
    } else {
      RELAPSE_MPI_CHECK(MPI_Bcast(t.data_ptr(), static_cast<int>(t.numel()),
                                  mpi_type(t.scalar_type()), root, comm_));
    }
  }

  void barrier() override { RELAPSE_MPI_CHECK(MPI_Barrier(comm_)); }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> comm_mpi_create(MPI_Comm comm) {
  return std::make_unique<MpiCommunicator>(comm);
}

}  // namespace relapse
