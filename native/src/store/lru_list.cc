#include "store/lru_list.h"

namespace ember {

void LruList::Touch(const std::string& id) {
  auto it = index_.find(id);
  if (it != index_.end()) {
    // splice keeps the node (and so the stored iterator) valid.
    order_.splice(order_.end(), order_, it->second);
    return;
  }
  order_.push_back(id);
  index_.emplace(id, std::prev(order_.end()));
}

void LruList::Remove(const std::string& id) {
  auto it = index_.find(id);
  if (it == index_.end()) return;
  order_.erase(it->second);
  index_.erase(it);
}

}  // namespace ember
