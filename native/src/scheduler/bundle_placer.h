// PlaceBundles decides which node each bundle of a placement group goes to,
// given what each node can offer (its available resources to place now, or
// its totals to ask whether placement is ever possible).
//
//   STRICT_PACK    all bundles on one node (the first, by id, that fits).
//   PACK           one node if possible; otherwise each bundle goes to a
//                  node the group already uses if it fits there, else to
//                  the first node that fits.
//   STRICT_SPREAD  every bundle on a different node (a bipartite matching,
//                  so one big bundle never blocks a node a small one needs).
//   SPREAD         distinct nodes if possible; otherwise each bundle goes to
//                  the node holding the fewest of the group's bundles.
//
// Thread-safety: a pure function of its arguments.

#ifndef EMBER_SCHEDULER_BUNDLE_PLACER_H_
#define EMBER_SCHEDULER_BUNDLE_PLACER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ember/resource_set.h"
#include "ember/scheduler.h"

namespace ember {

// One node id per bundle, or nullopt if `strategy` cannot place them all
// within `capacity` (node id -> resources on offer).
std::optional<std::vector<std::string>> PlaceBundles(
    const std::map<std::string, ResourceSet>& capacity, const std::vector<ResourceSet>& bundles,
    PlacementStrategy strategy);

}  // namespace ember

#endif  // EMBER_SCHEDULER_BUNDLE_PLACER_H_
