#include "store/lru_list.h"

#include <string>
#include <vector>

#include "testing/testharness.h"

namespace ember {
namespace {

std::string Order(const LruList& lru) {
  std::string out;
  for (const std::string& id : lru.order()) out += id;
  return out;
}

}  // namespace

TEST(LruListTest, TouchMovesToTheBack) {
  LruList lru;
  lru.Touch("a");
  lru.Touch("b");
  lru.Touch("c");
  ASSERT_EQ(Order(lru), "abc");
  lru.Touch("a");
  ASSERT_EQ(Order(lru), "bca");
  lru.Touch("c");
  ASSERT_EQ(Order(lru), "bac");
  ASSERT_EQ(lru.size(), 3u);
}

TEST(LruListTest, RemoveForgets) {
  LruList lru;
  lru.Touch("a");
  lru.Touch("b");
  lru.Remove("a");
  lru.Remove("zzz");  // absent: no-op
  ASSERT_FALSE(lru.Contains("a"));
  ASSERT_TRUE(lru.Contains("b"));
  ASSERT_EQ(Order(lru), "b");
  lru.Touch("a");
  ASSERT_EQ(Order(lru), "ba");
}

}  // namespace ember
