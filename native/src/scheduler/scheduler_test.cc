#include "ember/scheduler.h"

#include "scheduler/scheduler_test_util.h"
#include "testing/testharness.h"

namespace ember {

using test::Contains;
using test::R;

namespace {

SchedulingOptions Options(SchedulingPolicy policy, const std::string& local = "") {
  SchedulingOptions options;
  options.policy = policy;
  options.local_node = local;
  return options;
}

}  // namespace

TEST(SchedulerTest, NodeBookkeeping) {
  Scheduler s;
  ASSERT_OK(s.AddNode("b", R({{"CPU", 2}})));
  ASSERT_OK(s.AddNode("a", R({{"CPU", 4}, {"GPU", 1}})));
  ASSERT_TRUE(s.AddNode("a", R({})).IsInvalidArgument());
  ASSERT_TRUE(s.AddNode("", R({})).IsInvalidArgument());
  ASSERT_EQ(s.Nodes().size(), 2u);
  ASSERT_EQ(s.Nodes()[0], "a");
  ASSERT_TRUE(*s.Total("a") == R({{"CPU", 4}, {"GPU", 1}}));
  ASSERT_TRUE(s.Total("zzz").status().IsNotFound());
  ASSERT_OK(s.RemoveNode("b"));
  ASSERT_TRUE(s.RemoveNode("b").IsNotFound());
  ASSERT_TRUE(s.Available("b").status().IsNotFound());
}

TEST(SchedulerTest, AcquireAndReleaseInFixedPoint) {
  Scheduler s;
  ASSERT_OK(s.AddNode("n", R({{"CPU", 0.3}})));
  ASSERT_TRUE(s.Acquire("n", R({{"CPU", 0.1}})));
  ASSERT_TRUE(s.Acquire("n", R({{"CPU", 0.2}})));  // exactly used up, no epsilon
  ASSERT_TRUE(s.Available("n")->empty());
  ASSERT_FALSE(s.Acquire("n", R({{"CPU", 0.0001}})));
  s.Release("n", R({{"CPU", 0.1}}));
  s.Release("n", R({{"CPU", 0.2}}));
  s.Release("n", R({{"CPU", 5}}));  // over-release is clamped to the total
  ASSERT_TRUE(*s.Available("n") == R({{"CPU", 0.3}}));
  ASSERT_FALSE(s.Acquire("gone", R({})));
  s.Release("gone", R({{"CPU", 1}}));  // ignored
}

TEST(SchedulerTest, DefaultPacksLocallyThenSpreads) {
  Scheduler s;
  ASSERT_OK(s.AddNode("a", R({{"CPU", 4}})));
  ASSERT_OK(s.AddNode("b", R({{"CPU", 4}})));
  auto opts = Options(SchedulingPolicy::kDefault, "b");
  ResourceSet task = R({{"CPU", 1}});
  std::string placed;
  for (int i = 0; i < 4; ++i) {
    std::string node = *s.PickNode(task, opts);
    ASSERT_TRUE(s.Acquire(node, task));
    placed += node;
  }
  // b while it stays below 50%, then the least utilized; ties go to b.
  ASSERT_EQ(placed, "baba");
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(s.Acquire(*s.PickNode(task, opts), task));
  ASSERT_EQ(*s.PickNode(task, opts), "");  // full: queue it
}

TEST(SchedulerTest, SpreadRoundRobins) {
  Scheduler s;
  for (const char* n : {"a", "b", "c"}) ASSERT_OK(s.AddNode(n, R({{"CPU", 8}})));
  auto opts = Options(SchedulingPolicy::kSpread, "a");
  std::string placed;
  for (int i = 0; i < 6; ++i) placed += *s.PickNode(R({{"CPU", 1}}), opts);
  ASSERT_EQ(placed, "abcabc");
}

TEST(SchedulerTest, InfeasibleRequestsExplainThemselves) {
  Scheduler s;
  ASSERT_TRUE(s.PickNode(R({{"CPU", 1}}), SchedulingOptions()).status().IsInfeasible());
  ASSERT_OK(s.AddNode("a", R({{"CPU", 2}})));
  ASSERT_OK(s.AddNode("b", R({{"CPU", 2}, {"GPU", 1}})));
  ASSERT_FALSE(s.IsFeasible(R({{"CPU", 64}})));
  auto big = s.PickNode(R({{"CPU", 64}}), SchedulingOptions());
  ASSERT_TRUE(big.status().IsInfeasible());
  ASSERT_TRUE(Contains(big.status().message(), "'CPU' requested 64"));
  ASSERT_TRUE(Contains(big.status().message(), "largest node total is 2"));
  auto custom = s.PickNode(R({{"tpu", 1}}), SchedulingOptions());
  ASSERT_TRUE(Contains(custom.status().message(), "'tpu' requested 1, but no node has any"));
  auto combo = s.PickNode(R({{"CPU", 2}, {"GPU", 1}, {"memory", 1}}), SchedulingOptions());
  ASSERT_TRUE(combo.status().IsInfeasible());
  ASSERT_TRUE(s.IsFeasible(R({{"CPU", 2}, {"GPU", 1}})));
}

TEST(SchedulerTest, HardAffinity) {
  Scheduler s;
  ASSERT_OK(s.AddNode("a", R({{"CPU", 1}})));
  ASSERT_OK(s.AddNode("b", R({{"CPU", 4}})));
  SchedulingOptions opts;
  opts.affinity_node = "a";
  ASSERT_EQ(*s.PickNode(R({{"CPU", 1}}), opts), "a");
  ASSERT_TRUE(s.Acquire("a", R({{"CPU", 1}})));
  ASSERT_EQ(*s.PickNode(R({{"CPU", 1}}), opts), "");  // wait for a, do not move
  ASSERT_TRUE(s.PickNode(R({{"CPU", 2}}), opts).status().IsInfeasible());
  opts.affinity_node = "dead";
  auto dead = s.PickNode(R({{"CPU", 1}}), opts);
  ASSERT_TRUE(dead.status().IsInfeasible());
  ASSERT_TRUE(Contains(dead.status().message(), "dead"));
}

TEST(SchedulerTest, SoftAffinityFallsBack) {
  Scheduler s;
  ASSERT_OK(s.AddNode("a", R({{"CPU", 1}})));
  ASSERT_OK(s.AddNode("b", R({{"CPU", 4}})));
  SchedulingOptions opts;
  opts.affinity_node = "a";
  opts.soft = true;
  ASSERT_EQ(*s.PickNode(R({{"CPU", 1}}), opts), "a");
  ASSERT_TRUE(s.Acquire("a", R({{"CPU", 1}})));
  ASSERT_EQ(*s.PickNode(R({{"CPU", 1}}), opts), "b");
  ASSERT_EQ(*s.PickNode(R({{"CPU", 2}}), opts), "b");
  opts.affinity_node = "dead";
  ASSERT_EQ(*s.PickNode(R({{"CPU", 1}}), opts), "b");
  ASSERT_TRUE(s.PickNode(R({{"CPU", 8}}), opts).status().IsInfeasible());
}

TEST(SchedulerTest, ParsesStrategyNames) {
  SchedulingPolicy policy;
  ASSERT_OK(ParseSchedulingPolicy("SPREAD", &policy));
  ASSERT_TRUE(policy == SchedulingPolicy::kSpread);
  ASSERT_OK(ParseSchedulingPolicy("DEFAULT", &policy));
  ASSERT_TRUE(policy == SchedulingPolicy::kDefault);
  ASSERT_TRUE(ParseSchedulingPolicy("RANDOM", &policy).IsInvalidArgument());
  PlacementStrategy strategy;
  ASSERT_OK(ParsePlacementStrategy("STRICT_SPREAD", &strategy));
  ASSERT_TRUE(strategy == PlacementStrategy::kStrictSpread);
  ASSERT_TRUE(ParsePlacementStrategy("pack", &strategy).IsInvalidArgument());
}

}  // namespace ember
