// Scheduler does the resource bookkeeping and placement decisions for every
// node of a cluster, with Ray's semantics: per-node total and available
// ResourceSets, task placement policies (DEFAULT hybrid, SPREAD, node
// affinity) and placement groups whose bundles reserve resources on nodes.
//
// Pick* and Create* only decide and reserve; the caller runs the work and
// gives resources back with Release/ReleaseBundle. "No node now" (the caller
// queues the request) is an empty result, not an error; Infeasible means no
// alive node could ever satisfy the request as the cluster stands.
//
// Thread-safety: NOT thread-safe. The owner serializes all calls (one lock
// around the scheduler); nothing here blocks.

#ifndef EMBER_SCHEDULER_H_
#define EMBER_SCHEDULER_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ember/resource_set.h"
#include "ember/status.h"
#include "ember/statusor.h"

namespace ember {

enum class SchedulingPolicy { kDefault, kSpread };
enum class PlacementStrategy { kPack, kSpread, kStrictPack, kStrictSpread };

// "DEFAULT", "SPREAD" (and "NODE_AFFINITY", which behaves as DEFAULT and
// expects an affinity node); InvalidArgument otherwise.
Status ParseSchedulingPolicy(const std::string& name, SchedulingPolicy* policy);
// "PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"; InvalidArgument otherwise.
Status ParsePlacementStrategy(const std::string& name, PlacementStrategy* strategy);

struct SchedulingOptions {
  SchedulingPolicy policy = SchedulingPolicy::kDefault;
  // DEFAULT prefers this node (the submitter's) while it stays lightly used.
  std::string local_node;
  // Non-empty: run on this node. Hard affinity fails with Infeasible if the
  // node is unknown or too small; soft affinity falls back to DEFAULT.
  std::string affinity_node;
  bool soft = false;
  // DEFAULT keeps packing the local node while its critical-resource
  // utilization after placement stays below this fraction.
  double spread_threshold = 0.5;
};

// One node's resources: fixed totals, and what is not reserved right now.
struct NodeResources {
  ResourceSet total;
  ResourceSet available;
};

struct BundleInfo {
  std::string node_id;
  ResourceSet total;
};

class Scheduler {
 public:
  Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // InvalidArgument if the node exists or the id is empty.
  Status AddNode(const std::string& node_id, const ResourceSet& total);
  // NotFound if unknown. Bundles reserved on the node stay recorded (their
  // group is expected to be removed by the caller).
  Status RemoveNode(const std::string& node_id);
  std::vector<std::string> Nodes() const;  // sorted
  StatusOr<ResourceSet> Total(const std::string& node_id) const;
  StatusOr<ResourceSet> Available(const std::string& node_id) const;

  // True if some alive node's totals cover `request`.
  bool IsFeasible(const ResourceSet& request) const;

  // Chooses a node that can take `request` now, or "" if none can right now.
  // Infeasible (naming the short resource and the largest node total) if no
  // node could ever take it. Does not reserve anything: call Acquire.
  StatusOr<std::string> PickNode(const ResourceSet& request, const SchedulingOptions& options);

  // Subtracts `request` from the node if it fits now; false otherwise (or
  // for an unknown node).
  bool Acquire(const std::string& node_id, const ResourceSet& request);
  // Gives resources back, never above the node's totals. Unknown nodes are
  // ignored: their resources went away with them.
  void Release(const std::string& node_id, const ResourceSet& request);

  // Reserves every bundle atomically and returns the node of each bundle;
  // an empty vector if the group cannot be placed now. Infeasible if it can
  // never be placed on the current nodes (or has no bundles, or an empty
  // bundle); InvalidArgument if the id is taken.
  StatusOr<std::vector<std::string>> CreatePlacementGroup(const std::string& pg_id,
                                                          const std::vector<ResourceSet>& bundles,
                                                          PlacementStrategy strategy);
  // Records a group whose placement another node decided (the owner of a group
  // that spans nodes): bundle i is reserved on bundle_nodes[i], and a bundle
  // whose node is "" is held elsewhere, so it is recorded (its index keeps its
  // meaning) without resources here. All or nothing: false, reserving nothing,
  // if a bundle does not fit now. InvalidArgument if the id is taken or the
  // sizes differ; NotFound for an unknown node.
  StatusOr<bool> ReservePlacementGroup(const std::string& pg_id,
                                       const std::vector<std::string>& bundle_nodes,
                                       const std::vector<ResourceSet>& bundles);
  // Places again the bundles of a group whose node was removed, keeping the
  // others where they are and honouring `strategy` against them (STRICT_SPREAD
  // avoids their nodes, STRICT_PACK joins them). Returns every bundle's node,
  // or an empty vector (changing nothing) if the lost ones cannot go anywhere
  // now. NotFound for an unknown group.
  StatusOr<std::vector<std::string>> ReplaceLostBundles(const std::string& pg_id,
                                                        PlacementStrategy strategy);
  // Returns each bundle's totals to its node. NotFound if unknown.
  Status RemovePlacementGroup(const std::string& pg_id);

  // Takes `request` from bundle `bundle_index` (-1: the first bundle that
  // fits now) and returns the bundle's node, or "" if it does not fit now.
  // Infeasible if it exceeds the bundle's totals (every bundle's, for -1);
  // NotFound for an unknown group or an index out of range.
  StatusOr<std::string> AcquireBundle(const std::string& pg_id, int bundle_index,
                                      const ResourceSet& request);
  // Gives `request` back to the bundle (-1: the first bundle with that much
  // in use), never above its totals. NotFound as for AcquireBundle.
  Status ReleaseBundle(const std::string& pg_id, int bundle_index, const ResourceSet& request);
  StatusOr<std::vector<BundleInfo>> PlacementGroupBundles(const std::string& pg_id) const;

 private:
  struct Bundle {
    std::string node_id;
    ResourceSet total;
    ResourceSet available;
  };
  using PlacementGroup = std::vector<Bundle>;

  std::map<std::string, ResourceSet> TotalsView() const;
  std::map<std::string, ResourceSet> AvailableView() const;
  // Why no node's totals cover `request`, for Infeasible messages.
  std::string ExplainShortfall(const ResourceSet& request) const;
  Status CheckFeasible(const ResourceSet& request) const;
  Status CheckGroupFeasible(const std::vector<ResourceSet>& bundles,
                            PlacementStrategy strategy) const;
  StatusOr<PlacementGroup*> FindGroup(const std::string& pg_id, int bundle_index);

  std::map<std::string, NodeResources> nodes_;
  std::map<std::string, PlacementGroup> groups_;
  std::string last_spread_node_;  // round-robin cursor of the SPREAD policy
};

}  // namespace ember

#endif  // EMBER_SCHEDULER_H_
