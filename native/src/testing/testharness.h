// A minimal unit-test harness in the spirit of LevelDB's util/testharness:
//
//   TEST(AllocatorTest, CoalescesNeighbours) {
//     ASSERT_EQ(alloc.used(), 0u);
//     ASSERT_OK(store->Seal(id));
//   }
//
// A failed ASSERT_* prints the file, line and values and ends the current
// test (by throwing; the runner catches it) while the other tests still run.
// RunAllTests prints one line per test and closes with "N passed, N failed".
//
// Thread-safety: assertions must run on the thread running the test.

#ifndef EMBER_TESTING_TESTHARNESS_H_
#define EMBER_TESTING_TESTHARNESS_H_

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "ember/status.h"
#include "ember/statusor.h"

namespace ember {
namespace test {

// Registers a test; called by the TEST macro at static-initialization time.
bool RegisterTest(const char* suite, const char* name, void (*func)());

// Runs every test whose "Suite.Name" contains `filter` (all when empty).
// Returns the number of failed tests.
int RunAllTests(const std::string& filter);

// A fresh empty directory for a test; the caller removes it.
std::string NewTempDir();

// Thrown by a failed assertion to end the test.
struct AssertionFailure {
  std::string message;
};

[[noreturn]] void Fail(const char* file, int line, const std::string& message);

template <typename T, typename = void>
struct IsPrintable : std::false_type {};
template <typename T>
struct IsPrintable<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<T>())>>
    : std::true_type {};

template <typename T>
std::string Show(const T& value) {
  if constexpr (IsPrintable<T>::value) {
    std::ostringstream out;
    out << value;
    return out.str();
  } else {
    return "<value>";
  }
}

inline const Status& ToStatus(const Status& s) { return s; }
template <typename T>
const Status& ToStatus(const StatusOr<T>& s) {
  return s.status();
}

template <typename A, typename B, typename Op>
void CheckBinary(const char* file, int line, const char* expr, const A& a, const B& b, Op op) {
  if (!op(a, b)) {
    Fail(file, line, std::string(expr) + "\n    left:  " + Show(a) + "\n    right: " + Show(b));
  }
}

}  // namespace test
}  // namespace ember

#define EMBER_TEST_CONCAT2(a, b) a##b
#define EMBER_TEST_CONCAT(a, b) EMBER_TEST_CONCAT2(a, b)

#define TEST(suite, name)                                                                    \
  static void EMBER_TEST_CONCAT(Test_##suite##_, name)();                                    \
  static const bool EMBER_TEST_CONCAT(registered_##suite##_, name) =                         \
      ::ember::test::RegisterTest(#suite, #name, &EMBER_TEST_CONCAT(Test_##suite##_, name)); \
  static void EMBER_TEST_CONCAT(Test_##suite##_, name)()

#define ASSERT_TRUE(c)                                                        \
  do {                                                                        \
    if (!(c)) ::ember::test::Fail(__FILE__, __LINE__, "ASSERT_TRUE(" #c ")"); \
  } while (0)
#define ASSERT_FALSE(c)                                                     \
  do {                                                                      \
    if (c) ::ember::test::Fail(__FILE__, __LINE__, "ASSERT_FALSE(" #c ")"); \
  } while (0)

#define EMBER_TEST_BINARY(op, a, b)                                           \
  ::ember::test::CheckBinary(__FILE__, __LINE__, #a " " #op " " #b, (a), (b), \
                             [](const auto& x, const auto& y) { return x op y; })
#define ASSERT_EQ(a, b) EMBER_TEST_BINARY(==, a, b)
#define ASSERT_NE(a, b) EMBER_TEST_BINARY(!=, a, b)
#define ASSERT_LT(a, b) EMBER_TEST_BINARY(<, a, b)
#define ASSERT_LE(a, b) EMBER_TEST_BINARY(<=, a, b)
#define ASSERT_GT(a, b) EMBER_TEST_BINARY(>, a, b)
#define ASSERT_GE(a, b) EMBER_TEST_BINARY(>=, a, b)

// Works on a Status or a StatusOr<T>.
#define ASSERT_OK(expr)                                                                  \
  do {                                                                                   \
    ::ember::Status _s = ::ember::test::ToStatus(expr);                                  \
    if (!_s.ok()) {                                                                      \
      ::ember::test::Fail(__FILE__, __LINE__, "ASSERT_OK(" #expr "): " + _s.ToString()); \
    }                                                                                    \
  } while (0)

#endif  // EMBER_TESTING_TESTHARNESS_H_
