#include "scheduler/bundle_placer.h"

#include <functional>

namespace ember {
namespace {

using Capacity = std::map<std::string, ResourceSet>;
using Placement = std::optional<std::vector<std::string>>;

Placement StrictPack(const Capacity& capacity, const std::vector<ResourceSet>& bundles) {
  ResourceSet sum;
  for (const ResourceSet& bundle : bundles) sum.Add(bundle);
  for (const auto& [node, offer] : capacity) {
    if (sum.IsSubsetOf(offer)) return std::vector<std::string>(bundles.size(), node);
  }
  return std::nullopt;
}

// Places bundles one at a time on the node `choose` picks among those with
// room left, or fails if none has room.
Placement Greedy(
    Capacity remaining, const std::vector<ResourceSet>& bundles,
    const std::function<const std::string*(const Capacity&, const ResourceSet&,
                                           const std::map<std::string, int>&)>& choose) {
  std::vector<std::string> placement;
  std::map<std::string, int> used;  // node -> bundles of this group on it
  for (const ResourceSet& bundle : bundles) {
    const std::string* node = choose(remaining, bundle, used);
    if (node == nullptr) return std::nullopt;
    std::string id = *node;
    remaining[id].Subtract(bundle);
    ++used[id];
    placement.push_back(id);
  }
  return placement;
}

Placement Pack(const Capacity& capacity, const std::vector<ResourceSet>& bundles) {
  Placement one_node = StrictPack(capacity, bundles);
  if (one_node) return one_node;
  return Greedy(capacity, bundles,
                [](const Capacity& remaining, const ResourceSet& bundle,
                   const std::map<std::string, int>& used) {
                  const std::string* fresh = nullptr;
                  for (const auto& [node, offer] : remaining) {
                    if (!bundle.IsSubsetOf(offer)) continue;
                    if (used.count(node) != 0) return &node;  // reuse a node of the group first
                    if (fresh == nullptr) fresh = &node;
                  }
                  return fresh;
                });
}

// Kuhn's augmenting path: tries to give `bundle` a node, moving earlier
// bundles to other nodes when that frees one.
bool Augment(size_t bundle, const std::vector<std::vector<size_t>>& fits, std::vector<int>& owner,
             std::vector<bool>& visited) {
  // A free node first, so bundles keep the natural id order when they can.
  for (size_t node : fits[bundle]) {
    if (owner[node] < 0) {
      visited[node] = true;
      owner[node] = static_cast<int>(bundle);
      return true;
    }
  }
  for (size_t node : fits[bundle]) {
    if (visited[node]) continue;
    visited[node] = true;
    if (owner[node] < 0 || Augment(static_cast<size_t>(owner[node]), fits, owner, visited)) {
      owner[node] = static_cast<int>(bundle);
      return true;
    }
  }
  return false;
}

Placement StrictSpread(const Capacity& capacity, const std::vector<ResourceSet>& bundles) {
  if (bundles.size() > capacity.size()) return std::nullopt;
  std::vector<std::string> ids;
  for (const auto& [node, offer] : capacity) ids.push_back(node);
  std::vector<std::vector<size_t>> fits(bundles.size());
  for (size_t b = 0; b < bundles.size(); ++b) {
    for (size_t n = 0; n < ids.size(); ++n) {
      if (bundles[b].IsSubsetOf(capacity.at(ids[n]))) fits[b].push_back(n);
    }
  }
  std::vector<int> owner(ids.size(), -1);  // node -> bundle
  for (size_t b = 0; b < bundles.size(); ++b) {
    std::vector<bool> visited(ids.size(), false);
    if (!Augment(b, fits, owner, visited)) return std::nullopt;
  }
  std::vector<std::string> placement(bundles.size());
  for (size_t n = 0; n < ids.size(); ++n) {
    if (owner[n] >= 0) placement[static_cast<size_t>(owner[n])] = ids[n];
  }
  return placement;
}

Placement Spread(const Capacity& capacity, const std::vector<ResourceSet>& bundles) {
  Placement distinct = StrictSpread(capacity, bundles);
  if (distinct) return distinct;
  return Greedy(capacity, bundles,
                [](const Capacity& remaining, const ResourceSet& bundle,
                   const std::map<std::string, int>& used) {
                  const std::string* best = nullptr;
                  int best_count = 0;
                  for (const auto& [node, offer] : remaining) {
                    if (!bundle.IsSubsetOf(offer)) continue;
                    auto it = used.find(node);
                    int count = it == used.end() ? 0 : it->second;
                    if (best == nullptr || count < best_count) {
                      best = &node;
                      best_count = count;
                    }
                  }
                  return best;
                });
}

}  // namespace

std::optional<std::vector<std::string>> PlaceBundles(const Capacity& capacity,
                                                     const std::vector<ResourceSet>& bundles,
                                                     PlacementStrategy strategy) {
  switch (strategy) {
    case PlacementStrategy::kStrictPack:
      return StrictPack(capacity, bundles);
    case PlacementStrategy::kPack:
      return Pack(capacity, bundles);
    case PlacementStrategy::kStrictSpread:
      return StrictSpread(capacity, bundles);
    case PlacementStrategy::kSpread:
      return Spread(capacity, bundles);
  }
  return std::nullopt;
}

}  // namespace ember
