#include "store/object_store_impl.h"

#include <string>
#include <thread>
#include <vector>

#include "ember/mem_env.h"
#include "store/store_test_util.h"
#include "testing/testharness.h"

namespace ember {

using test::OpenStore;
using test::Put;
using test::Read;

TEST(ObjectStoreTest, CreateSealGetRelease) {
  MemEnv env;
  auto store = OpenStore(&env, 4096);
  auto offset = store->Create("a", 5, false);
  ASSERT_OK(offset);
  ASSERT_EQ(*offset % 64, 0u);
  ASSERT_FALSE(store->Contains("a"));                  // not sealed yet
  ASSERT_TRUE(store->Get("a").status().IsNotFound());  // unsealed is invisible
  std::memcpy(store->memory()->data() + *offset, "hello", 5);
  ASSERT_OK(store->Seal("a"));
  ASSERT_TRUE(store->Contains("a"));
  ASSERT_TRUE(store->Seal("a").IsInvalidArgument());

  auto loc = store->Get("a");
  ASSERT_OK(loc);
  ASSERT_EQ(loc->offset, *offset);
  ASSERT_EQ(loc->size, 5u);
  ASSERT_EQ(store->GetStats().num_pinned, 1u);
  ASSERT_OK(store->Release("a"));
  ASSERT_EQ(store->GetStats().num_pinned, 0u);
  ASSERT_TRUE(store->Release("a").IsInvalidArgument());  // not pinned any more
}

TEST(ObjectStoreTest, Errors) {
  MemEnv env;
  auto store = OpenStore(&env, 1024);
  ASSERT_TRUE(store->Create("", 1, false).status().IsInvalidArgument());
  ASSERT_TRUE(store->Create("big", 1025, false).status().IsStoreFull());
  ASSERT_OK(store->Create("a", 10, false));
  ASSERT_TRUE(store->Create("a", 10, false).status().IsAlreadyExists());
  ASSERT_TRUE(store->Get("nope").status().IsNotFound());
  ASSERT_TRUE(store->Seal("nope").IsNotFound());
  ASSERT_TRUE(store->Abort("nope").IsNotFound());
  ASSERT_TRUE(store->Release("nope").IsNotFound());
  ASSERT_TRUE(store->Remove("nope").IsNotFound());
  ASSERT_TRUE(store->Release("a").IsInvalidArgument());  // creator's pin is not a get
  ASSERT_OK(store->Seal("a"));
  ASSERT_TRUE(store->Abort("a").IsInvalidArgument());
}

TEST(ObjectStoreTest, AbortFreesTheMemory) {
  MemEnv env;
  auto store = OpenStore(&env, 1024);
  ASSERT_OK(store->Create("a", 1000, false));
  ASSERT_EQ(store->GetStats().used_bytes, 1024u);
  ASSERT_OK(store->Abort("a"));
  ASSERT_EQ(store->GetStats().used_bytes, 0u);
  ASSERT_EQ(store->GetStats().num_objects, 0u);
  ASSERT_OK(store->Create("a", 1000, false));  // the id is free again
}

TEST(ObjectStoreTest, PinnedDeleteWaitsForTheLastRelease) {
  MemEnv env;
  auto store = OpenStore(&env, 1024);
  Put(store.get(), "a", 100, 'x');
  ASSERT_OK(store->Get("a"));
  ASSERT_OK(store->Get("a"));
  ASSERT_OK(store->Remove("a"));
  // Hidden at once, but the memory stays until both readers are done.
  ASSERT_FALSE(store->Contains("a"));
  ASSERT_TRUE(store->Get("a").status().IsNotFound());
  ASSERT_TRUE(store->Remove("a").IsNotFound());
  ASSERT_TRUE(store->Create("a", 1, false).status().IsAlreadyExists());
  ASSERT_EQ(store->GetStats().num_objects, 0u);
  ASSERT_TRUE(store->ListObjects().empty());
  ASSERT_EQ(store->GetStats().used_bytes, 128u);
  ASSERT_OK(store->Release("a"));
  ASSERT_EQ(store->GetStats().used_bytes, 128u);
  ASSERT_OK(store->Release("a"));
  ASSERT_EQ(store->GetStats().used_bytes, 0u);
  ASSERT_OK(store->Create("a", 1, false));
}

TEST(ObjectStoreTest, RemoveWhileBeingWritten) {
  MemEnv env;
  auto store = OpenStore(&env, 1024);
  ASSERT_OK(store->Create("a", 100, false));
  ASSERT_OK(store->Remove("a"));
  ASSERT_EQ(store->GetStats().used_bytes, 128u);  // the creator still writes
  ASSERT_OK(store->Seal("a"));
  ASSERT_EQ(store->GetStats().used_bytes, 0u);
  ASSERT_FALSE(store->Contains("a"));
}

TEST(ObjectStoreTest, EmptyObjects) {
  MemEnv env;
  auto store = OpenStore(&env, 0);
  Put(store.get(), "empty", 0, 0);
  ASSERT_TRUE(store->Contains("empty"));
  auto loc = store->Get("empty");
  ASSERT_OK(loc);
  ASSERT_EQ(loc->size, 0u);
  ASSERT_OK(store->Release("empty"));
  ASSERT_EQ(store->GetStats().used_bytes, 0u);
  ASSERT_TRUE(store->Create("one", 1, false).status().IsStoreFull());
  ASSERT_OK(store->Remove("empty"));
}

TEST(ObjectStoreTest, StoreFullWhenEverythingIsPinned) {
  MemEnv env;
  auto store = OpenStore(&env, 1024);
  Put(store.get(), "a", 512, 'a', /*evictable=*/true);
  Put(store.get(), "b", 512, 'b', /*evictable=*/true);
  ASSERT_OK(store->Get("a"));
  ASSERT_OK(store->Get("b"));
  auto full = store->Create("c", 100, false);
  ASSERT_TRUE(full.status().IsStoreFull());
  ASSERT_TRUE(full.status().message().find("pinned") != std::string::npos);
  // Nothing was evicted for the failed attempt.
  ASSERT_EQ(store->GetStats().evicted_total, 0u);
  ASSERT_OK(store->Release("a"));
  ASSERT_OK(store->Create("c", 100, false));  // now "a" can go
  ASSERT_FALSE(store->Contains("a"));
  ASSERT_EQ(store->GetStats().evicted_total, 1u);
}

TEST(ObjectStoreTest, EvictsEvictableObjectsInLruOrder) {
  MemEnv env;
  auto store = OpenStore(&env, 64 * 4);
  Put(store.get(), "a", 64, 'a', true);
  Put(store.get(), "b", 64, 'b', true);
  Put(store.get(), "c", 64, 'c', true);
  Put(store.get(), "d", 64, 'd', true);
  ASSERT_EQ(Read(store.get(), "a"), std::string(64, 'a'));  // a is now most recent
  Put(store.get(), "e", 64, 'e', true);                     // evicts b
  ASSERT_FALSE(store->Contains("b"));
  Put(store.get(), "f", 128, 'f', true);  // evicts c and d
  ASSERT_FALSE(store->Contains("c"));
  ASSERT_FALSE(store->Contains("d"));
  ASSERT_TRUE(store->Contains("a"));
  ASSERT_TRUE(store->Contains("e"));
  ASSERT_EQ(store->GetStats().evicted_total, 3u);
  ASSERT_EQ(store->GetStats().evicted_bytes_total, 192u);
}

TEST(ObjectStoreTest, PrimaryCopiesAreNotEvictedWithoutSpilling) {
  MemEnv env;
  auto store = OpenStore(&env, 64 * 2);
  Put(store.get(), "primary", 64, 'p', false);
  Put(store.get(), "secondary", 64, 's', true);
  Put(store.get(), "new", 64, 'n', false);  // only the secondary copy may go
  ASSERT_TRUE(store->Contains("primary"));
  ASSERT_FALSE(store->Contains("secondary"));
  ASSERT_TRUE(store->Create("more", 64, false).status().IsStoreFull());
}

TEST(ObjectStoreTest, ListObjectsAndStats) {
  MemEnv env;
  auto store = OpenStore(&env, 4096);
  Put(store.get(), "b", 10, 'b');
  ASSERT_OK(store->Create("a", 100, false));
  ASSERT_OK(store->Get("b"));
  std::vector<ObjectInfo> objects = store->ListObjects();
  ASSERT_EQ(objects.size(), 2u);
  ASSERT_EQ(objects[0].id, "a");
  ASSERT_EQ(std::string(ObjectStateName(objects[0].state)), "CREATED");
  ASSERT_EQ(objects[0].pins, 1);
  ASSERT_EQ(objects[1].id, "b");
  ASSERT_EQ(std::string(ObjectStateName(objects[1].state)), "SEALED");
  ASSERT_EQ(objects[1].size, 10u);
  ObjectStoreStats stats = store->GetStats();
  ASSERT_EQ(stats.capacity, 4096u);
  ASSERT_EQ(stats.used_bytes, 64u + 128);
  ASSERT_EQ(stats.num_objects, 2u);
  ASSERT_EQ(stats.num_pinned, 2u);
  ASSERT_EQ(stats.num_spilled, 0u);
}

TEST(ObjectStoreTest, ConcurrentClients) {
  MemEnv env;
  auto store = OpenStore(&env, 1 << 20);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 200; ++i) {
        std::string id = std::to_string(t) + "/" + std::to_string(i);
        auto offset = store->Create(id, 1000, true);
        if (!offset.ok()) continue;
        store->Seal(id);
        if (store->Get(id).ok()) store->Release(id);
        if (i % 2 == 0) store->Remove(id);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ObjectStoreStats stats = store->GetStats();
  ASSERT_EQ(stats.num_objects, 400u);
  ASSERT_EQ(stats.num_pinned, 0u);
  ASSERT_EQ(stats.used_bytes, 400u * 1024);
}

}  // namespace ember
