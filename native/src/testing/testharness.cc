#include "testing/testharness.h"

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <vector>

namespace ember {
namespace test {
namespace {

struct TestCase {
  const char* suite;
  const char* name;
  void (*func)();
};

// A function-local static, so registration from other translation units'
// static initializers never sees an unconstructed vector.
std::vector<TestCase>& Registry() {
  static auto* tests = new std::vector<TestCase>;
  return *tests;
}

// Runs one test; returns the failure message, or "" if it passed.
std::string RunOne(const TestCase& test) {
  try {
    test.func();
    return "";
  } catch (const AssertionFailure& failure) {
    return failure.message;
  } catch (const std::exception& e) {
    return std::string("uncaught exception: ") + e.what();
  }
}

}  // namespace

bool RegisterTest(const char* suite, const char* name, void (*func)()) {
  Registry().push_back(TestCase{suite, name, func});
  return true;
}

void Fail(const char* file, int line, const std::string& message) {
  std::ostringstream out;
  out << file << ":" << line << ": " << message;
  throw AssertionFailure{out.str()};
}

int RunAllTests(const std::string& filter) {
  int passed = 0;
  int failed = 0;
  for (const TestCase& test : Registry()) {
    std::string full = std::string(test.suite) + "." + test.name;
    if (!filter.empty() && full.find(filter) == std::string::npos) continue;
    auto start = std::chrono::steady_clock::now();
    std::string error = RunOne(test);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    if (error.empty()) {
      ++passed;
      std::printf("[ OK ] %s (%lld ms)\n", full.c_str(), static_cast<long long>(ms));
    } else {
      ++failed;
      std::printf("[FAIL] %s\n  %s\n", full.c_str(), error.c_str());
    }
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed;
}

std::string NewTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ember-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) Fail(__FILE__, __LINE__, "mkdtemp failed");
  return pattern;
}

}  // namespace test
}  // namespace ember

int main(int argc, char** argv) {
  std::string filter = argc > 1 ? argv[1] : "";
  return ember::test::RunAllTests(filter) == 0 ? 0 : 1;
}
