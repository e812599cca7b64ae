#include "ember/status.h"

#include <memory>
#include <string>

#include "ember/statusor.h"
#include "testing/testharness.h"

namespace ember {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrorsCarryCodeAndMessage) {
  Status s = Status::StoreFull("need 10 bytes");
  ASSERT_FALSE(s.ok());
  ASSERT_TRUE(s.IsStoreFull());
  ASSERT_FALSE(s.IsNotFound());
  ASSERT_EQ(s.message(), "need 10 bytes");
  ASSERT_EQ(s.ToString(), "StoreFull: need 10 bytes");
  ASSERT_TRUE(Status::Infeasible("x").IsInfeasible());
  ASSERT_TRUE(Status::AlreadyExists("x").IsAlreadyExists());
  ASSERT_TRUE(Status::InvalidArgument("x").IsInvalidArgument());
  ASSERT_TRUE(Status::IOError("x").IsIOError());
  ASSERT_EQ(Status::IOError("disk").ToString(), "IOError: disk");
}

TEST(StatusOrTest, HoldsValueOrError) {
  StatusOr<std::string> good(std::string("value"));
  ASSERT_TRUE(good.ok());
  ASSERT_EQ(*good, "value");
  ASSERT_EQ(good->size(), 5u);

  StatusOr<std::string> bad(Status::NotFound("missing"));
  ASSERT_FALSE(bad.ok());
  ASSERT_TRUE(bad.status().IsNotFound());
}

TEST(StatusOrTest, MovesOutMoveOnlyValues) {
  StatusOr<std::unique_ptr<int>> holder(std::make_unique<int>(7));
  std::unique_ptr<int> taken = std::move(holder).value();
  ASSERT_EQ(*taken, 7);
}

}  // namespace ember
