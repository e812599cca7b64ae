#include "util/hex.h"

#include <string>

#include "testing/testharness.h"

namespace ember {

TEST(HexTest, TwoDigitsPerByte) {
  ASSERT_EQ(Hex(""), "");
  ASSERT_EQ(Hex(std::string("\x00\x01\xab\xff", 4)), "0001abff");
}

}  // namespace ember
