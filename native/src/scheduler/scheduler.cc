#include "ember/scheduler.h"

#include <algorithm>

#include "scheduler/node_policy.h"

namespace ember {

Status ParseSchedulingPolicy(const std::string& name, SchedulingPolicy* policy) {
  if (name == "DEFAULT" || name == "NODE_AFFINITY") {
    *policy = SchedulingPolicy::kDefault;
  } else if (name == "SPREAD") {
    *policy = SchedulingPolicy::kSpread;
  } else {
    return Status::InvalidArgument("unknown scheduling strategy '" + name +
                                   "' (expected DEFAULT, SPREAD or NODE_AFFINITY)");
  }
  return Status::OK();
}

Status Scheduler::AddNode(const std::string& node_id, const ResourceSet& total) {
  if (node_id.empty()) return Status::InvalidArgument("node id is empty");
  if (nodes_.count(node_id) != 0) {
    return Status::InvalidArgument("node " + node_id + " is already registered");
  }
  nodes_[node_id] = NodeResources{total, total};
  return Status::OK();
}

Status Scheduler::RemoveNode(const std::string& node_id) {
  if (nodes_.erase(node_id) == 0) return Status::NotFound("unknown node " + node_id);
  return Status::OK();
}

std::vector<std::string> Scheduler::Nodes() const {
  std::vector<std::string> ids;
  for (const auto& [id, node] : nodes_) ids.push_back(id);
  return ids;
}

StatusOr<ResourceSet> Scheduler::Total(const std::string& node_id) const {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return Status::NotFound("unknown node " + node_id);
  return it->second.total;
}

StatusOr<ResourceSet> Scheduler::Available(const std::string& node_id) const {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return Status::NotFound("unknown node " + node_id);
  return it->second.available;
}

std::map<std::string, ResourceSet> Scheduler::TotalsView() const {
  std::map<std::string, ResourceSet> view;
  for (const auto& [id, node] : nodes_) view[id] = node.total;
  return view;
}

std::map<std::string, ResourceSet> Scheduler::AvailableView() const {
  std::map<std::string, ResourceSet> view;
  for (const auto& [id, node] : nodes_) view[id] = node.available;
  return view;
}

bool Scheduler::IsFeasible(const ResourceSet& request) const {
  for (const auto& [id, node] : nodes_) {
    if (request.IsSubsetOf(node.total)) return true;
  }
  return false;
}

std::string Scheduler::ExplainShortfall(const ResourceSet& request) const {
  if (nodes_.empty()) return "the cluster has no alive nodes";
  for (const auto& [name, units] : request.units()) {
    int64_t largest = 0;
    for (const auto& [id, node] : nodes_) largest = std::max(largest, node.total.Get(name));
    if (largest == 0) {
      return "resource '" + name + "' requested " + FormatUnits(units) + ", but no node has any";
    }
    if (units > largest) {
      return "resource '" + name + "' requested " + FormatUnits(units) +
             ", but the largest node total is " + FormatUnits(largest);
    }
  }
  return "no single node has all of them at once";
}

Status Scheduler::CheckFeasible(const ResourceSet& request) const {
  if (IsFeasible(request)) return Status::OK();
  return Status::Infeasible("no node can ever satisfy " + request.ToString() + ": " +
                            ExplainShortfall(request));
}

StatusOr<std::string> Scheduler::PickNode(const ResourceSet& request,
                                          const SchedulingOptions& options) {
  if (!options.affinity_node.empty()) {
    auto it = nodes_.find(options.affinity_node);
    bool alive = it != nodes_.end();
    if (alive && request.IsSubsetOf(it->second.available)) return options.affinity_node;
    if (!options.soft) {
      if (!alive) {
        return Status::Infeasible("node " + options.affinity_node +
                                  " (hard affinity) is unknown or dead");
      }
      if (!request.IsSubsetOf(it->second.total)) {
        return Status::Infeasible("node " + options.affinity_node +
                                  " (hard affinity) can never "
                                  "satisfy " +
                                  request.ToString() + "; its totals are " +
                                  it->second.total.ToString());
      }
      return std::string();  // wait for that node
    }
    // Soft affinity falls back to the default policy.
  }
  Status s = CheckFeasible(request);
  if (!s.ok()) return s;
  if (options.policy == SchedulingPolicy::kSpread && options.affinity_node.empty()) {
    std::string node = PickSpread(nodes_, request, last_spread_node_);
    if (!node.empty()) last_spread_node_ = node;
    return node;
  }
  return PickHybrid(nodes_, request, options.local_node, options.spread_threshold);
}

bool Scheduler::Acquire(const std::string& node_id, const ResourceSet& request) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || !request.IsSubsetOf(it->second.available)) return false;
  it->second.available.Subtract(request);
  return true;
}

void Scheduler::Release(const std::string& node_id, const ResourceSet& request) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  it->second.available.Add(request);
  it->second.available.ClampTo(it->second.total);
}

}  // namespace ember
