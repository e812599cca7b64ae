#include "scheduler/node_policy.h"

#include <algorithm>
#include <tuple>

namespace ember {

double CriticalUtilization(const NodeResources& node, const ResourceSet& request) {
  double highest = 0;
  auto consider = [&](const std::string& name) {
    int64_t total = node.total.Get(name);
    if (total == 0) return;
    int64_t used = total - node.available.Get(name) + request.Get(name);
    highest = std::max(highest, static_cast<double>(used) / static_cast<double>(total));
  };
  for (const char* name : {"CPU", "memory", "object_store_memory"}) consider(name);
  for (const auto& [name, units] : request.units()) consider(name);
  return highest;
}

std::string PickHybrid(const NodeMap& nodes, const ResourceSet& request,
                       const std::string& local_node, double spread_threshold) {
  // Lexicographic minimum of (score, not local, id).
  bool found = false;
  std::tuple<double, bool, std::string> best;
  for (const auto& [id, node] : nodes) {
    if (!request.IsSubsetOf(node.available)) continue;
    double score = CriticalUtilization(node, request);
    if (score < spread_threshold) score = 0;
    std::tuple<double, bool, std::string> key(score, id != local_node, id);
    if (!found || key < best) {
      best = key;
      found = true;
    }
  }
  return found ? std::get<2>(best) : "";
}

std::string PickSpread(const NodeMap& nodes, const ResourceSet& request,
                       const std::string& last_node) {
  auto start = nodes.upper_bound(last_node);
  for (auto it = start; it != nodes.end(); ++it) {
    if (request.IsSubsetOf(it->second.available)) return it->first;
  }
  for (auto it = nodes.begin(); it != start; ++it) {
    if (request.IsSubsetOf(it->second.available)) return it->first;
  }
  return "";
}

}  // namespace ember
