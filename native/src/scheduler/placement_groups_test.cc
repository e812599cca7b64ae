#include "ember/scheduler.h"
#include "scheduler/scheduler_test_util.h"
#include "testing/testharness.h"

namespace ember {

using test::Contains;
using test::R;

namespace {

std::vector<ResourceSet> Cpus(std::initializer_list<double> cpus) {
  std::vector<ResourceSet> out;
  for (double c : cpus) out.push_back(R({{"CPU", c}}));
  return out;
}

std::string Join(const std::vector<std::string>& nodes) {
  std::string out;
  for (const std::string& n : nodes) out += n;
  return out;
}

// Three nodes with 2 CPUs each.
void AddNodes(Scheduler* s) {
  for (const char* n : {"a", "b", "c"}) ASSERT_OK(s->AddNode(n, R({{"CPU", 2}})));
}

}  // namespace

TEST(PlacementGroupTest, EachStrategyPlacesAsDocumented) {
  Scheduler s;
  AddNodes(&s);
  ASSERT_EQ(Join(*s.CreatePlacementGroup("pack", Cpus({1, 1}), PlacementStrategy::kPack)), "aa");
  ASSERT_EQ(Join(*s.CreatePlacementGroup("spread", Cpus({1, 1}), PlacementStrategy::kSpread)),
            "bc");
  ASSERT_EQ(Join(*s.CreatePlacementGroup("strict_pack", Cpus({0.5, 0.5}),
                                         PlacementStrategy::kStrictPack)),
            "bb");
  ASSERT_TRUE(*s.Available("a") == R({}));
  ASSERT_TRUE(*s.Available("b") == R({}));
  ASSERT_TRUE(*s.Available("c") == R({{"CPU", 1}}));
  ASSERT_OK(s.RemovePlacementGroup("spread"));
  ASSERT_EQ(Join(*s.CreatePlacementGroup("strict_spread", Cpus({1, 1}),
                                         PlacementStrategy::kStrictSpread)),
            "bc");
}

TEST(PlacementGroupTest, ReservationIsAllOrNothing) {
  Scheduler s;
  AddNodes(&s);
  ASSERT_TRUE(s.Acquire("a", R({{"CPU", 2}})));
  // Two bundles fit now, the third does not: nothing is reserved.
  auto pg = s.CreatePlacementGroup("pg", Cpus({2, 2, 2}), PlacementStrategy::kStrictSpread);
  ASSERT_OK(pg);
  ASSERT_TRUE(pg->empty());
  ASSERT_TRUE(*s.Available("b") == R({{"CPU", 2}}));
  ASSERT_TRUE(*s.Available("c") == R({{"CPU", 2}}));
  ASSERT_TRUE(s.PlacementGroupBundles("pg").status().IsNotFound());
  s.Release("a", R({{"CPU", 2}}));
  ASSERT_EQ(pg->size(), 0u);
  ASSERT_EQ(Join(*s.CreatePlacementGroup("pg", Cpus({2, 2, 2}), PlacementStrategy::kStrictSpread)),
            "abc");
  ASSERT_TRUE(s.CreatePlacementGroup("pg", Cpus({1}), PlacementStrategy::kPack)
                  .status()
                  .IsInvalidArgument());
}

TEST(PlacementGroupTest, ReserveRecordsAPlacementDecidedElsewhere) {
  Scheduler s;
  AddNodes(&s);
  ASSERT_TRUE(s.Acquire("a", R({{"CPU", 1}})));
  // Bundle 1 does not fit on a now: nothing is reserved.
  ASSERT_FALSE(*s.ReservePlacementGroup("pg", {"a", "a"}, Cpus({1, 1})));
  ASSERT_TRUE(*s.Available("a") == R({{"CPU", 1}}));
  ASSERT_TRUE(s.PlacementGroupBundles("pg").status().IsNotFound());
  // Bundle 0 is held by another node: only bundle 1 takes resources here.
  ASSERT_TRUE(*s.ReservePlacementGroup("pg", {"", "a"}, Cpus({2, 1})));
  ASSERT_TRUE(*s.Available("a") == R({}));
  ASSERT_EQ(*s.AcquireBundle("pg", 1, R({{"CPU", 1}})), std::string("a"));
  ASSERT_TRUE(s.AcquireBundle("pg", 0, R({{"CPU", 1}})).status().IsInfeasible());
  ASSERT_EQ(*s.AcquireBundle("pg", -1, R({{"CPU", 1}})), std::string());
  ASSERT_OK(s.ReleaseBundle("pg", 1, R({{"CPU", 1}})));
  ASSERT_OK(s.RemovePlacementGroup("pg"));
  ASSERT_TRUE(*s.Available("a") == R({{"CPU", 1}}));
  ASSERT_TRUE(s.ReservePlacementGroup("x", {"zz"}, Cpus({1})).status().IsNotFound());
  ASSERT_TRUE(s.ReservePlacementGroup("x", {"a", "b"}, Cpus({1})).status().IsInvalidArgument());
}

TEST(PlacementGroupTest, LostBundlesArePlacedAgainBesideTheKeptOnes) {
  Scheduler s;
  AddNodes(&s);
  ASSERT_EQ(Join(*s.CreatePlacementGroup("pg", Cpus({1, 1}), PlacementStrategy::kStrictSpread)),
            "ab");
  ASSERT_EQ(*s.AcquireBundle("pg", 0, R({{"CPU", 1}})), std::string("a"));
  ASSERT_OK(s.RemoveNode("b"));
  // Bundle 1 moves to c (not a: STRICT_SPREAD); bundle 0 and its use stay on a.
  ASSERT_EQ(Join(*s.ReplaceLostBundles("pg", PlacementStrategy::kStrictSpread)), "ac");
  ASSERT_TRUE(*s.Available("c") == R({{"CPU", 1}}));
  ASSERT_EQ(*s.AcquireBundle("pg", 0, R({{"CPU", 1}})), std::string());
  ASSERT_OK(s.RemoveNode("c"));
  // Nowhere to go now: nothing changes.
  ASSERT_TRUE(s.ReplaceLostBundles("pg", PlacementStrategy::kStrictSpread)->empty());
  ASSERT_TRUE(s.ReplaceLostBundles("zz", PlacementStrategy::kPack).status().IsNotFound());
}

TEST(PlacementGroupTest, InfeasibleGroups) {
  Scheduler s;
  AddNodes(&s);
  auto big = s.CreatePlacementGroup("x", Cpus({1, 8}), PlacementStrategy::kPack);
  ASSERT_TRUE(big.status().IsInfeasible());
  ASSERT_TRUE(Contains(big.status().message(), "bundle 1"));
  ASSERT_TRUE(Contains(big.status().message(), "largest node total is 2"));
  auto spread = s.CreatePlacementGroup("x", Cpus({1, 1, 1, 1}), PlacementStrategy::kStrictSpread);
  ASSERT_TRUE(spread.status().IsInfeasible());
  ASSERT_TRUE(Contains(spread.status().message(), "4 distinct nodes"));
  auto pack = s.CreatePlacementGroup("x", Cpus({2, 1}), PlacementStrategy::kStrictPack);
  ASSERT_TRUE(pack.status().IsInfeasible());
  ASSERT_TRUE(Contains(pack.status().message(), "STRICT_PACK"));
  ASSERT_TRUE(s.CreatePlacementGroup("x", {}, PlacementStrategy::kPack).status().IsInfeasible());
  ASSERT_TRUE(s.CreatePlacementGroup("x", {R({{"CPU", 1}}), R({})}, PlacementStrategy::kPack)
                  .status()
                  .IsInfeasible());
  ASSERT_TRUE(s.CreatePlacementGroup("x", Cpus({2, 2, 2, 1}), PlacementStrategy::kPack)
                  .status()
                  .IsInfeasible());
}

TEST(PlacementGroupTest, RemoveReturnsBundleTotals) {
  Scheduler s;
  AddNodes(&s);
  ASSERT_EQ(Join(*s.CreatePlacementGroup("pg", Cpus({2, 1.5}), PlacementStrategy::kSpread)), "ab");
  auto bundles = s.PlacementGroupBundles("pg");
  ASSERT_OK(bundles);
  ASSERT_EQ((*bundles)[1].node_id, "b");
  ASSERT_TRUE((*bundles)[1].total == R({{"CPU", 1.5}}));
  ASSERT_TRUE(*s.Available("b") == R({{"CPU", 0.5}}));
  ASSERT_OK(s.RemovePlacementGroup("pg"));
  ASSERT_TRUE(*s.Available("a") == R({{"CPU", 2}}));
  ASSERT_TRUE(*s.Available("b") == R({{"CPU", 2}}));
  ASSERT_TRUE(s.RemovePlacementGroup("pg").IsNotFound());
}

TEST(PlacementGroupTest, BundleAcquireAndRelease) {
  Scheduler s;
  AddNodes(&s);
  ASSERT_EQ(Join(*s.CreatePlacementGroup("pg", Cpus({1, 2}), PlacementStrategy::kStrictSpread)),
            "ab");
  ResourceSet one = R({{"CPU", 1}});
  ASSERT_EQ(*s.AcquireBundle("pg", 0, one), "a");
  ASSERT_EQ(*s.AcquireBundle("pg", 0, one), "");  // bundle 0 is busy
  ASSERT_EQ(*s.AcquireBundle("pg", -1, one), "b");
  ASSERT_EQ(*s.AcquireBundle("pg", -1, one), "b");
  ASSERT_EQ(*s.AcquireBundle("pg", -1, one), "");
  ASSERT_TRUE(s.AcquireBundle("pg", 0, R({{"CPU", 2}})).status().IsInfeasible());
  ASSERT_TRUE(s.AcquireBundle("pg", -1, R({{"CPU", 3}})).status().IsInfeasible());
  ASSERT_TRUE(s.AcquireBundle("pg", -1, R({{"GPU", 1}})).status().IsInfeasible());
  ASSERT_TRUE(s.AcquireBundle("pg", 2, one).status().IsNotFound());
  ASSERT_TRUE(s.AcquireBundle("pg", -2, one).status().IsNotFound());
  ASSERT_TRUE(s.AcquireBundle("nope", 0, one).status().IsNotFound());
  // The node's own pool is untouched by bundle use.
  ASSERT_TRUE(*s.Available("a") == R({{"CPU", 1}}));

  ASSERT_OK(s.ReleaseBundle("pg", 0, one));
  ASSERT_EQ(*s.AcquireBundle("pg", 0, one), "a");
  ASSERT_OK(s.ReleaseBundle("pg", -1, one));  // bundle 0 has 1 in use: first match
  ASSERT_EQ(*s.AcquireBundle("pg", -1, one), "a");
  ASSERT_OK(s.ReleaseBundle("pg", 1, R({{"CPU", 10}})));  // clamped
  ASSERT_EQ(*s.AcquireBundle("pg", 1, R({{"CPU", 2}})), "b");
  ASSERT_TRUE(s.ReleaseBundle("pg", 5, one).IsNotFound());
}

}  // namespace ember
