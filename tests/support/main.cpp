// doctest main for every flashlab suite: prints the base seed so any failure can be replayed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <flashlab/test/random.hpp>

int main(int argc, char** argv) {
  std::printf("flashlab tests: FLASHLAB_TEST_SEED=%llu (set it to replay with other inputs)\n",
              static_cast<unsigned long long>(flashlab::test::base_seed()));
  doctest::Context context(argc, argv);
  return context.run();
}
