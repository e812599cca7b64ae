#include <filesystem>
#include <string>
#include <vector>

#include "ember/mem_env.h"
#include "store/object_store_impl.h"
#include "store/store_test_util.h"
#include "testing/testharness.h"

namespace ember {

using test::OpenStore;
using test::Put;
using test::Read;

namespace {

ObjectState StateOf(ObjectStore* store, const std::string& id) {
  for (const ObjectInfo& info : store->ListObjects()) {
    if (info.id == id) return info.state;
  }
  test::Fail(__FILE__, __LINE__, "no object " + id);
}

}  // namespace

TEST(ObjectStoreSpillTest, SpillsInLruOrderAndRestoresOnGet) {
  MemEnv env;
  auto store = OpenStore(&env, 64 * 4, "spill");
  for (char c : std::string("abcd")) Put(store.get(), std::string(1, c), 64, c);
  ASSERT_EQ(Read(store.get(), "a"), std::string(64, 'a'));  // LRU order: b c d a
  Put(store.get(), "e", 64, 'e');                           // spills b
  ASSERT_EQ(StateOf(store.get(), "b"), ObjectState::kSpilled);
  ASSERT_TRUE(store->Contains("b"));
  ASSERT_EQ(env.NumFiles(), 1u);
  ObjectStoreStats stats = store->GetStats();
  ASSERT_EQ(stats.num_spilled, 1u);
  ASSERT_EQ(stats.spilled_total, 1u);
  ASSERT_EQ(stats.spilled_bytes_current, 64u);

  // Restoring b needs room: c, the least recently used, goes to disk.
  ASSERT_EQ(Read(store.get(), "b"), std::string(64, 'b'));
  ASSERT_EQ(StateOf(store.get(), "b"), ObjectState::kSealed);
  ASSERT_EQ(StateOf(store.get(), "c"), ObjectState::kSpilled);
  stats = store->GetStats();
  ASSERT_EQ(stats.restored_total, 1u);
  ASSERT_EQ(stats.spilled_total, 2u);
  ASSERT_EQ(stats.spilled_bytes_current, 64u);
  ASSERT_EQ(env.NumFiles(), 1u);  // b's file went away on restore
}

TEST(ObjectStoreSpillTest, EvictsSecondaryCopiesBeforeSpilling) {
  MemEnv env;
  auto store = OpenStore(&env, 64 * 3, "spill");
  Put(store.get(), "old_primary", 64, 'p');
  Put(store.get(), "secondary", 64, 's', /*evictable=*/true);
  Put(store.get(), "primary", 64, 'q');
  Put(store.get(), "new", 64, 'n');
  ASSERT_FALSE(store->Contains("secondary"));
  ASSERT_EQ(StateOf(store.get(), "old_primary"), ObjectState::kSealed);
  ASSERT_EQ(store->GetStats().spilled_total, 0u);
  Put(store.get(), "newer", 64, 'n');
  ASSERT_EQ(StateOf(store.get(), "old_primary"), ObjectState::kSpilled);
}

TEST(ObjectStoreSpillTest, PinnedObjectsStayInMemory) {
  MemEnv env;
  auto store = OpenStore(&env, 64 * 2, "spill");
  Put(store.get(), "a", 64, 'a');
  Put(store.get(), "b", 64, 'b');
  ASSERT_OK(store->Get("a"));
  ASSERT_OK(store->Get("b"));
  ASSERT_TRUE(store->Create("c", 64, false).status().IsStoreFull());
  ASSERT_OK(store->Release("a"));
  ASSERT_OK(store->Create("c", 64, false));
  ASSERT_EQ(StateOf(store.get(), "a"), ObjectState::kSpilled);
  // Restoring a needs room, but b is pinned and c unsealed.
  ASSERT_TRUE(store->Get("a").status().IsStoreFull());
  ASSERT_EQ(StateOf(store.get(), "a"), ObjectState::kSpilled);
}

TEST(ObjectStoreSpillTest, RemoveDeletesTheSpillFile) {
  MemEnv env;
  auto store = OpenStore(&env, 64, "spill");
  Put(store.get(), "a", 64, 'a');
  Put(store.get(), "b", 64, 'b');
  ASSERT_EQ(env.NumFiles(), 1u);
  ASSERT_OK(store->Remove("a"));
  ASSERT_EQ(env.NumFiles(), 0u);
  ASSERT_EQ(store->GetStats().spilled_bytes_current, 0u);
  ASSERT_FALSE(store->Contains("a"));
}

TEST(ObjectStoreSpillTest, DestructionLeavesNothingBehind) {
  MemEnv env;
  {
    auto store = OpenStore(&env, 64, "spill");
    Put(store.get(), "a", 64, 'a');
    Put(store.get(), "b", 64, 'b');
    Put(store.get(), "c", 64, 'c');
    ASSERT_EQ(env.NumFiles(), 2u);
    ASSERT_EQ(env.NumDirs(), 1u);
  }
  ASSERT_EQ(env.NumFiles(), 0u);
  ASSERT_EQ(env.NumDirs(), 0u);
}

TEST(ObjectStoreSpillTest, WriteFailureKeepsTheObjectInMemory) {
  MemEnv env;
  auto store = OpenStore(&env, 64, "spill");
  Put(store.get(), "a", 64, 'a');
  env.SetFailWrites(true);
  ASSERT_TRUE(store->Create("b", 64, false).status().IsIOError());
  ASSERT_EQ(StateOf(store.get(), "a"), ObjectState::kSealed);
  env.SetFailWrites(false);
  ASSERT_OK(store->Create("b", 64, false));
}

TEST(ObjectStoreSpillTest, RealDirectoryRoundTrip) {
  std::string dir = test::NewTempDir();
  {
    auto store = OpenStore(Env::Default(), 1 << 20, dir);
    std::vector<std::string> payloads;
    for (int i = 0; i < 6; ++i) {
      std::string payload(300 * 1024, '\0');
      for (size_t j = 0; j < payload.size(); ++j) payload[j] = static_cast<char>(j * (i + 3));
      auto offset = store->Create("obj" + std::to_string(i), payload.size(), false);
      ASSERT_OK(offset);
      std::memcpy(store->memory()->data() + *offset, payload.data(), payload.size());
      ASSERT_OK(store->Seal("obj" + std::to_string(i)));
      payloads.push_back(payload);
    }
    ASSERT_GT(store->GetStats().num_spilled, 0u);
    for (int i = 0; i < 6; ++i)
      ASSERT_TRUE(Read(store.get(), "obj" + std::to_string(i)) == payloads[i]);
    ASSERT_GT(store->GetStats().restored_total, 0u);
  }
  ASSERT_TRUE(std::filesystem::is_empty(dir));
  std::filesystem::remove_all(dir);
}

}  // namespace ember
