#include "testing/testharness.h"

#include <string>

namespace ember {
namespace test {

TEST(TestHarnessTest, PassingAssertionsDoNotThrow) {
  ASSERT_TRUE(1 + 1 == 2);
  ASSERT_FALSE(1 + 1 == 3);
  ASSERT_EQ(std::string("a"), "a");
  ASSERT_NE(1, 2);
  ASSERT_LT(1, 2);
  ASSERT_LE(2, 2);
  ASSERT_GT(3, 2);
  ASSERT_GE(3, 3);
  ASSERT_OK(Status::OK());
  ASSERT_OK(StatusOr<int>(5));
}

TEST(TestHarnessTest, FailedAssertionThrowsWithValues) {
  try {
    ASSERT_EQ(1, 2);
  } catch (const AssertionFailure& failure) {
    ASSERT_TRUE(failure.message.find("left:  1") != std::string::npos);
    ASSERT_TRUE(failure.message.find("right: 2") != std::string::npos);
    return;
  }
  Fail(__FILE__, __LINE__, "ASSERT_EQ(1, 2) did not fail");
}

TEST(TestHarnessTest, AssertOkReportsTheStatus) {
  try {
    ASSERT_OK(Status::NotFound("thing"));
  } catch (const AssertionFailure& failure) {
    ASSERT_TRUE(failure.message.find("NotFound: thing") != std::string::npos);
    return;
  }
  Fail(__FILE__, __LINE__, "ASSERT_OK did not fail");
}

}  // namespace test
}  // namespace ember
