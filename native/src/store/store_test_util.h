// Helpers shared by the object store tests.

#ifndef EMBER_STORE_STORE_TEST_UTIL_H_
#define EMBER_STORE_STORE_TEST_UTIL_H_

#include <cstring>
#include <memory>
#include <string>

#include "ember/object_store.h"
#include "testing/testharness.h"

namespace ember {
namespace test {

inline std::unique_ptr<ObjectStore> OpenStore(Env* env, uint64_t capacity,
                                              const std::string& spill_dir = "") {
  ObjectStoreOptions options;
  options.env = env;
  options.capacity = capacity;
  options.spill_dir = spill_dir;
  auto store = ObjectStore::Open(options);
  ASSERT_OK(store);
  return std::move(store).value();
}

// Creates, fills with `fill` bytes and seals an object.
inline void Put(ObjectStore* store, const std::string& id, uint64_t size, char fill,
                bool evictable = false) {
  auto offset = store->Create(id, size, evictable);
  ASSERT_OK(offset);
  if (size > 0) std::memset(store->memory()->data() + *offset, fill, size);
  ASSERT_OK(store->Seal(id));
}

// Reads an object's bytes (pinning and unpinning it).
inline std::string Read(ObjectStore* store, const std::string& id) {
  auto loc = store->Get(id);
  ASSERT_OK(loc);
  std::string bytes(store->memory()->data() + loc->offset, loc->size);
  ASSERT_OK(store->Release(id));
  return bytes;
}

}  // namespace test
}  // namespace ember

#endif  // EMBER_STORE_STORE_TEST_UTIL_H_
