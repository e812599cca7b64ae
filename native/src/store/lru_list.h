// LruList orders object ids by last use, oldest first, with O(1) touch and
// removal. The store keeps in it exactly the sealed objects held in memory,
// and walks it from the front to choose what to evict or spill.
//
// Thread-safety: not thread-safe; the object store's mutex guards it.

#ifndef EMBER_STORE_LRU_LIST_H_
#define EMBER_STORE_LRU_LIST_H_

#include <list>
#include <string>
#include <unordered_map>

namespace ember {

class LruList {
 public:
  LruList() = default;
  LruList(const LruList&) = delete;
  LruList& operator=(const LruList&) = delete;

  // Inserts `id`, or moves it, to the most-recently-used end.
  void Touch(const std::string& id);
  // Removes `id` if present.
  void Remove(const std::string& id);
  bool Contains(const std::string& id) const { return index_.count(id) != 0; }
  size_t size() const { return order_.size(); }

  // Least recently used first. Invalidated by Touch and Remove.
  const std::list<std::string>& order() const { return order_; }

 private:
  std::list<std::string> order_;
  std::unordered_map<std::string, std::list<std::string>::iterator> index_;
};

}  // namespace ember

#endif  // EMBER_STORE_LRU_LIST_H_
