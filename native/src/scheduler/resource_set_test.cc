#include "ember/resource_set.h"

#include <cmath>
#include <limits>

#include "testing/testharness.h"

namespace ember {

TEST(ResourceSetTest, FixedPointMakesPointOnePlusPointTwoExact) {
  ResourceSet a = *ResourceSet::FromDoubles({{"CPU", 0.1}});
  ResourceSet b = *ResourceSet::FromDoubles({{"CPU", 0.2}});
  ResourceSet c = *ResourceSet::FromDoubles({{"CPU", 0.3}});
  a.Add(b);
  ASSERT_TRUE(a == c);  // 0.1 + 0.2 != 0.3 in floating point
  ASSERT_EQ(a.Get("CPU"), 3000);
  ASSERT_EQ(a.ToDoubles().at("CPU"), 0.3);
}

TEST(ResourceSetTest, RoundsToTenThousandths) {
  ResourceSet set = *ResourceSet::FromDoubles({{"GPU", 0.33333}, {"x", 0.00004}});
  ASSERT_EQ(set.Get("GPU"), 3333);
  ASSERT_EQ(set.Get("x"), 0);  // rounds to zero: dropped
  ASSERT_EQ(set.units().size(), 1u);
}

TEST(ResourceSetTest, ZerosAreDroppedAndNegativesRejected) {
  ResourceSet set = *ResourceSet::FromDoubles({{"CPU", 2}, {"GPU", 0}});
  ASSERT_EQ(set.units().size(), 1u);
  auto bad = ResourceSet::FromDoubles({{"CPU", 1}, {"memory", -5}});
  ASSERT_TRUE(bad.status().IsInvalidArgument());
  ASSERT_TRUE(bad.status().message().find("memory") != std::string::npos);
  ASSERT_FALSE(ResourceSet::FromDoubles({{"CPU", NAN}}).ok());
  ASSERT_FALSE(ResourceSet::FromDoubles({{"CPU", INFINITY}}).ok());
  ASSERT_FALSE(ResourceSet::FromDoubles({{"", 1}}).ok());
}

TEST(ResourceSetTest, SubsetAddSubtractClamp) {
  ResourceSet node = *ResourceSet::FromDoubles({{"CPU", 4}, {"GPU", 1}});
  ResourceSet task = *ResourceSet::FromDoubles({{"CPU", 1.5}});
  ResourceSet custom = *ResourceSet::FromDoubles({{"accel", 1}});
  ASSERT_TRUE(task.IsSubsetOf(node));
  ASSERT_FALSE(custom.IsSubsetOf(node));
  ASSERT_TRUE(ResourceSet().IsSubsetOf(node));
  node.Subtract(task);
  ASSERT_EQ(node.Get("CPU"), 25000);
  node.Subtract(*ResourceSet::FromDoubles({{"CPU", 10}}));
  ASSERT_EQ(node.Get("CPU"), 0);  // clamped at zero, and dropped
  node.Add(*ResourceSet::FromDoubles({{"CPU", 9}}));
  node.ClampTo(*ResourceSet::FromDoubles({{"CPU", 4}}));
  ASSERT_EQ(node.Get("CPU"), 40000);
  ASSERT_EQ(node.Get("GPU"), 0);  // absent from the limit
}

TEST(ResourceSetTest, Formatting) {
  ASSERT_EQ(FormatUnits(20000), "2");
  ASSERT_EQ(FormatUnits(25000), "2.5");
  ASSERT_EQ(FormatUnits(1), "0.0001");
  ASSERT_EQ(FormatUnits(-15000), "-1.5");
  ResourceSet set = *ResourceSet::FromDoubles({{"GPU", 0.5}, {"CPU", 2}});
  ASSERT_EQ(set.ToString(), "{CPU: 2, GPU: 0.5}");
  ASSERT_EQ(ResourceSet().ToString(), "{}");
}

}  // namespace ember
