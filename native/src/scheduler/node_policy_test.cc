#include "scheduler/node_policy.h"

#include "testing/testharness.h"

namespace ember {
namespace {

ResourceSet R(const std::map<std::string, double>& q) { return *ResourceSet::FromDoubles(q); }

NodeResources Node(const std::map<std::string, double>& total,
                   const std::map<std::string, double>& available) {
  return NodeResources{R(total), R(available)};
}

}  // namespace

TEST(NodePolicyTest, CriticalUtilizationCountsThePlacedRequest) {
  NodeResources node =
      Node({{"CPU", 4}, {"GPU", 2}, {"memory", 100}}, {{"CPU", 2}, {"GPU", 2}, {"memory", 100}});
  ASSERT_EQ(CriticalUtilization(node, R({})), 0.5);
  ASSERT_EQ(CriticalUtilization(node, R({{"CPU", 1}})), 0.75);
  ASSERT_EQ(CriticalUtilization(node, R({{"GPU", 2}})), 1.0);
  ASSERT_EQ(CriticalUtilization(node, R({{"memory", 10}})), 0.5);
}

TEST(NodePolicyTest, HybridPrefersLocalBelowThreshold) {
  NodeMap nodes;
  nodes["a"] = Node({{"CPU", 4}}, {{"CPU", 4}});
  nodes["b"] = Node({{"CPU", 4}}, {{"CPU", 4}});
  ASSERT_EQ(PickHybrid(nodes, R({{"CPU", 1}}), "b", 0.5), "b");
  ASSERT_EQ(PickHybrid(nodes, R({{"CPU", 1}}), "", 0.5), "a");  // ties: smallest id
  // Local at 50% after placement is not below the threshold: spread.
  nodes["b"].available = R({{"CPU", 3}});
  ASSERT_EQ(PickHybrid(nodes, R({{"CPU", 1}}), "b", 0.5), "a");
  // With a higher threshold it keeps packing locally.
  ASSERT_EQ(PickHybrid(nodes, R({{"CPU", 1}}), "b", 0.8), "b");
}

TEST(NodePolicyTest, HybridPicksTheLeastUtilizedAboveThreshold) {
  NodeMap nodes;
  nodes["a"] = Node({{"CPU", 4}}, {{"CPU", 1}});
  nodes["b"] = Node({{"CPU", 4}}, {{"CPU", 2}});
  nodes["c"] = Node({{"CPU", 4}}, {{"CPU", 0}});
  ASSERT_EQ(PickHybrid(nodes, R({{"CPU", 1}}), "a", 0.5), "b");
  ASSERT_EQ(PickHybrid(nodes, R({{"CPU", 3}}), "a", 0.5), "");  // nobody has 3 free
}

TEST(NodePolicyTest, SpreadRoundRobins) {
  NodeMap nodes;
  nodes["a"] = Node({{"CPU", 4}}, {{"CPU", 4}});
  nodes["b"] = Node({{"CPU", 4}}, {{"CPU", 0}});
  nodes["c"] = Node({{"CPU", 4}}, {{"CPU", 4}});
  ASSERT_EQ(PickSpread(nodes, R({{"CPU", 1}}), ""), "a");
  ASSERT_EQ(PickSpread(nodes, R({{"CPU", 1}}), "a"), "c");  // b is busy
  ASSERT_EQ(PickSpread(nodes, R({{"CPU", 1}}), "c"), "a");  // wraps
  ASSERT_EQ(PickSpread(nodes, R({{"CPU", 1}}), "gone"), "a");
  ASSERT_EQ(PickSpread(nodes, R({{"CPU", 5}}), "a"), "");
}

}  // namespace ember
