#include "scheduler/bundle_placer.h"

#include "testing/testharness.h"

namespace ember {
namespace {

ResourceSet R(const std::map<std::string, double>& q) { return *ResourceSet::FromDoubles(q); }

std::string Join(const std::optional<std::vector<std::string>>& placement) {
  if (!placement) return "<none>";
  std::string out;
  for (const std::string& node : *placement) out += node;
  return out;
}

std::map<std::string, ResourceSet> Cpus(const std::map<std::string, double>& per_node) {
  std::map<std::string, ResourceSet> capacity;
  for (const auto& [node, cpus] : per_node) capacity[node] = R({{"CPU", cpus}});
  return capacity;
}

std::vector<ResourceSet> Bundles(std::initializer_list<double> cpus) {
  std::vector<ResourceSet> out;
  for (double c : cpus) out.push_back(R({{"CPU", c}}));
  return out;
}

}  // namespace

TEST(BundlePlacerTest, StrictPackNeedsOneNodeForTheSum) {
  auto capacity = Cpus({{"a", 2}, {"b", 4}});
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({1, 1}), PlacementStrategy::kStrictPack)), "aa");
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({2, 2}), PlacementStrategy::kStrictPack)), "bb");
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({3, 2}), PlacementStrategy::kStrictPack)),
            "<none>");
}

TEST(BundlePlacerTest, PackUsesFewNodesButMaySplit) {
  auto capacity = Cpus({{"a", 2}, {"b", 2}, {"c", 2}});
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({1, 1}), PlacementStrategy::kPack)), "aa");
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({1, 1, 1, 1}), PlacementStrategy::kPack)), "aabb");
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({2, 2, 2, 1}), PlacementStrategy::kPack)),
            "<none>");
}

TEST(BundlePlacerTest, StrictSpreadUsesDistinctNodes) {
  auto capacity = Cpus({{"a", 4}, {"b", 1}, {"c", 1}});
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({1, 1, 1}), PlacementStrategy::kStrictSpread)),
            "abc");
  // The matching moves the small bundle off "a" so the big one gets it.
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({1, 4}), PlacementStrategy::kStrictSpread)), "ba");
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({1, 1, 1, 1}), PlacementStrategy::kStrictSpread)),
            "<none>");
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({2, 2}), PlacementStrategy::kStrictSpread)),
            "<none>");
}

TEST(BundlePlacerTest, SpreadFallsBackToSharingNodes) {
  auto capacity = Cpus({{"a", 4}, {"b", 4}});
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({1, 1}), PlacementStrategy::kSpread)), "ab");
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({1, 1, 1, 1}), PlacementStrategy::kSpread)),
            "abab");
  ASSERT_EQ(Join(PlaceBundles(capacity, Bundles({3, 3, 3}), PlacementStrategy::kSpread)), "<none>");
}

TEST(BundlePlacerTest, MultipleResourceKinds) {
  std::map<std::string, ResourceSet> capacity;
  capacity["cpu_node"] = R({{"CPU", 8}});
  capacity["gpu_node"] = R({{"CPU", 2}, {"GPU", 1}});
  std::vector<ResourceSet> bundles = {R({{"CPU", 1}, {"GPU", 1}}), R({{"CPU", 4}})};
  ASSERT_EQ(Join(PlaceBundles(capacity, bundles, PlacementStrategy::kPack)), "gpu_nodecpu_node");
}

}  // namespace ember
