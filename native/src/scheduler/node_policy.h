// The per-request placement policies behind Scheduler::PickNode. They only
// read the nodes and choose; the Scheduler validates the request, handles
// node affinity and reports infeasibility.
//
// Thread-safety: pure functions of their arguments.

#ifndef EMBER_SCHEDULER_NODE_POLICY_H_
#define EMBER_SCHEDULER_NODE_POLICY_H_

#include <map>
#include <string>

#include "ember/resource_set.h"
#include "ember/scheduler.h"

namespace ember {

using NodeMap = std::map<std::string, NodeResources>;

// The node's most-used fraction once `request` is placed on it, over the
// request's resources and CPU, memory and object_store_memory (the ones
// every task competes for). Resources the node lacks are skipped.
double CriticalUtilization(const NodeResources& node, const ResourceSet& request);

// DEFAULT, Ray's hybrid policy: among nodes that can take `request` now,
// score each by CriticalUtilization, treating scores below
// `spread_threshold` as 0, and pick the lowest score; ties go to
// `local_node`, then to the smallest node id. So work packs onto the local
// node (then others) until they pass the threshold, then spreads to the
// least-utilized node. "" if no node can take it now.
std::string PickHybrid(const NodeMap& nodes, const ResourceSet& request,
                       const std::string& local_node, double spread_threshold);

// SPREAD: round-robin; the first node after `last_node` in id order
// (wrapping around) that can take `request` now. "" if none.
std::string PickSpread(const NodeMap& nodes, const ResourceSet& request,
                       const std::string& last_node);

}  // namespace ember

#endif  // EMBER_SCHEDULER_NODE_POLICY_H_
