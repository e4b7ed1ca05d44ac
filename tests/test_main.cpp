// tests/test_main.cpp — GoogleTest main for every relapse test program. Brings up
// the MPI runtime first, so the same binary runs alone or under `mpiexec -n N`.
#include <gtest/gtest.h>

#include "relapse/dist/runtime.h"

int main(int argc, char** argv) {
  relapse::Runtime runtime(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  // Only rank 0 prints results; all ranks run every test.
  if (runtime.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int rc = RUN_ALL_TESTS();
  return rc;
}
