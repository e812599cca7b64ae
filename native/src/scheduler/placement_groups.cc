// The placement-group half of Scheduler: bundles reserved on nodes, each
// with its own pool that tasks of the group acquire from.

#include "ember/scheduler.h"
#include "scheduler/bundle_placer.h"

namespace ember {
namespace {

const char* StrategyName(PlacementStrategy strategy) {
  switch (strategy) {
    case PlacementStrategy::kPack:
      return "PACK";
    case PlacementStrategy::kSpread:
      return "SPREAD";
    case PlacementStrategy::kStrictPack:
      return "STRICT_PACK";
    case PlacementStrategy::kStrictSpread:
      return "STRICT_SPREAD";
  }
  return "?";
}

}  // namespace

Status ParsePlacementStrategy(const std::string& name, PlacementStrategy* strategy) {
  for (PlacementStrategy s : {PlacementStrategy::kPack, PlacementStrategy::kSpread,
                              PlacementStrategy::kStrictPack, PlacementStrategy::kStrictSpread}) {
    if (name == StrategyName(s)) {
      *strategy = s;
      return Status::OK();
    }
  }
  return Status::InvalidArgument("unknown placement strategy '" + name +
                                 "' (expected PACK, SPREAD, STRICT_PACK or STRICT_SPREAD)");
}

Status Scheduler::CheckGroupFeasible(const std::vector<ResourceSet>& bundles,
                                     PlacementStrategy strategy) const {
  if (bundles.empty()) return Status::Infeasible("placement group has no bundles");
  for (size_t i = 0; i < bundles.size(); ++i) {
    if (bundles[i].empty()) {
      return Status::Infeasible("bundle " + std::to_string(i) + " requests no resources");
    }
    if (!IsFeasible(bundles[i])) {
      return Status::Infeasible("bundle " + std::to_string(i) + " " + bundles[i].ToString() +
                                " fits on no node: " + ExplainShortfall(bundles[i]));
    }
  }
  if (strategy == PlacementStrategy::kStrictSpread && bundles.size() > nodes_.size()) {
    return Status::Infeasible("STRICT_SPREAD needs " + std::to_string(bundles.size()) +
                              " distinct nodes, the cluster has " + std::to_string(nodes_.size()));
  }
  if (strategy == PlacementStrategy::kStrictPack) {
    ResourceSet sum;
    for (const ResourceSet& bundle : bundles) sum.Add(bundle);
    if (!IsFeasible(sum)) {
      return Status::Infeasible("STRICT_PACK needs " + sum.ToString() +
                                " on one node: " + ExplainShortfall(sum));
    }
  }
  if (!PlaceBundles(TotalsView(), bundles, strategy)) {
    return Status::Infeasible(std::string("the bundles cannot be placed with ") +
                              StrategyName(strategy) + " even on an idle cluster");
  }
  return Status::OK();
}

StatusOr<std::vector<std::string>> Scheduler::CreatePlacementGroup(
    const std::string& pg_id, const std::vector<ResourceSet>& bundles, PlacementStrategy strategy) {
  if (groups_.count(pg_id) != 0) {
    return Status::InvalidArgument("placement group " + pg_id + " already exists");
  }
  Status s = CheckGroupFeasible(bundles, strategy);
  if (!s.ok()) return s;
  // Decide on a copy, then commit: all bundles are reserved or none.
  std::optional<std::vector<std::string>> placement =
      PlaceBundles(AvailableView(), bundles, strategy);
  if (!placement) return std::vector<std::string>();
  PlacementGroup& group = groups_[pg_id];
  for (size_t i = 0; i < bundles.size(); ++i) {
    nodes_.at((*placement)[i]).available.Subtract(bundles[i]);
    group.push_back(Bundle{(*placement)[i], bundles[i], bundles[i]});
  }
  return *placement;
}

StatusOr<bool> Scheduler::ReservePlacementGroup(const std::string& pg_id,
                                                const std::vector<std::string>& bundle_nodes,
                                                const std::vector<ResourceSet>& bundles) {
  if (groups_.count(pg_id) != 0) {
    return Status::InvalidArgument("placement group " + pg_id + " already exists");
  }
  if (bundle_nodes.size() != bundles.size()) {
    return Status::InvalidArgument("placement group " + pg_id + " has " +
                                   std::to_string(bundles.size()) + " bundles but " +
                                   std::to_string(bundle_nodes.size()) + " bundle nodes");
  }
  // Check on a copy of the available view first, so that a failure reserves nothing.
  std::map<std::string, ResourceSet> available = AvailableView();
  for (size_t i = 0; i < bundles.size(); ++i) {
    if (bundle_nodes[i].empty()) continue;
    auto it = available.find(bundle_nodes[i]);
    if (it == available.end()) return Status::NotFound("unknown node " + bundle_nodes[i]);
    if (!bundles[i].IsSubsetOf(it->second)) return false;
    it->second.Subtract(bundles[i]);
  }
  PlacementGroup& group = groups_[pg_id];
  for (size_t i = 0; i < bundles.size(); ++i) {
    if (bundle_nodes[i].empty()) {
      group.push_back(Bundle{"", ResourceSet(), ResourceSet()});
      continue;
    }
    nodes_.at(bundle_nodes[i]).available.Subtract(bundles[i]);
    group.push_back(Bundle{bundle_nodes[i], bundles[i], bundles[i]});
  }
  return true;
}

StatusOr<std::vector<std::string>> Scheduler::ReplaceLostBundles(const std::string& pg_id,
                                                                 PlacementStrategy strategy) {
  auto it = groups_.find(pg_id);
  if (it == groups_.end()) return Status::NotFound("unknown placement group " + pg_id);
  PlacementGroup& group = it->second;
  std::vector<size_t> lost;
  std::vector<ResourceSet> wanted;
  std::map<std::string, ResourceSet> capacity = AvailableView();
  std::string kept_node;
  for (size_t i = 0; i < group.size(); ++i) {
    if (nodes_.count(group[i].node_id) == 0) {
      lost.push_back(i);
      wanted.push_back(group[i].total);
    } else {
      kept_node = group[i].node_id;
      if (strategy == PlacementStrategy::kStrictSpread) capacity.erase(kept_node);
    }
  }
  std::vector<std::string> out;
  if (!lost.empty()) {
    if (strategy == PlacementStrategy::kStrictPack && !kept_node.empty()) {
      capacity = {{kept_node, capacity[kept_node]}};
    }
    std::optional<std::vector<std::string>> placement = PlaceBundles(capacity, wanted, strategy);
    if (!placement) return out;
    for (size_t j = 0; j < lost.size(); ++j) {
      Bundle& bundle = group[lost[j]];
      nodes_.at((*placement)[j]).available.Subtract(bundle.total);
      bundle.node_id = (*placement)[j];
      bundle.available = bundle.total;  // what ran in it died with its node
    }
  }
  for (const Bundle& bundle : group) out.push_back(bundle.node_id);
  return out;
}

Status Scheduler::RemovePlacementGroup(const std::string& pg_id) {
  auto it = groups_.find(pg_id);
  if (it == groups_.end()) return Status::NotFound("unknown placement group " + pg_id);
  for (const Bundle& bundle : it->second) Release(bundle.node_id, bundle.total);
  groups_.erase(it);
  return Status::OK();
}

StatusOr<Scheduler::PlacementGroup*> Scheduler::FindGroup(const std::string& pg_id,
                                                          int bundle_index) {
  auto it = groups_.find(pg_id);
  if (it == groups_.end()) return Status::NotFound("unknown placement group " + pg_id);
  if (bundle_index < -1 || bundle_index >= static_cast<int>(it->second.size())) {
    return Status::NotFound("bundle index " + std::to_string(bundle_index) +
                            " is out of range for placement group " + pg_id + " of " +
                            std::to_string(it->second.size()) + " bundles");
  }
  return &it->second;
}

StatusOr<std::string> Scheduler::AcquireBundle(const std::string& pg_id, int bundle_index,
                                               const ResourceSet& request) {
  StatusOr<PlacementGroup*> group = FindGroup(pg_id, bundle_index);
  if (!group.ok()) return group.status();
  size_t first = bundle_index < 0 ? 0 : static_cast<size_t>(bundle_index);
  size_t last = bundle_index < 0 ? (*group)->size() : first + 1;
  bool feasible = false;
  for (size_t i = first; i < last; ++i) {
    Bundle& bundle = (**group)[i];
    if (!request.IsSubsetOf(bundle.total)) continue;
    feasible = true;
    if (request.IsSubsetOf(bundle.available)) {
      bundle.available.Subtract(request);
      return bundle.node_id;
    }
  }
  if (feasible) return std::string();  // fits later, once others release
  std::string where = bundle_index < 0 ? "any bundle" : "bundle " + std::to_string(bundle_index);
  return Status::Infeasible(request.ToString() + " exceeds the totals of " + where +
                            " of placement group " + pg_id);
}

Status Scheduler::ReleaseBundle(const std::string& pg_id, int bundle_index,
                                const ResourceSet& request) {
  StatusOr<PlacementGroup*> group = FindGroup(pg_id, bundle_index);
  if (!group.ok()) return group.status();
  Bundle* target = nullptr;
  if (bundle_index >= 0) {
    target = &(**group)[static_cast<size_t>(bundle_index)];
  } else {
    // "Any bundle": the first one that has that much in use.
    for (Bundle& bundle : **group) {
      ResourceSet in_use = bundle.total;
      in_use.Subtract(bundle.available);
      if (request.IsSubsetOf(in_use)) {
        target = &bundle;
        break;
      }
    }
    if (target == nullptr) return Status::OK();  // nothing to give back
  }
  target->available.Add(request);
  target->available.ClampTo(target->total);
  return Status::OK();
}

StatusOr<std::vector<BundleInfo>> Scheduler::PlacementGroupBundles(const std::string& pg_id) const {
  auto it = groups_.find(pg_id);
  if (it == groups_.end()) return Status::NotFound("unknown placement group " + pg_id);
  std::vector<BundleInfo> out;
  for (const Bundle& bundle : it->second) out.push_back(BundleInfo{bundle.node_id, bundle.total});
  return out;
}

}  // namespace ember
