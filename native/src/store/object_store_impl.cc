#include "store/object_store_impl.h"

#include <algorithm>
#include <utility>

#include "util/hex.h"

namespace ember {
namespace {

Status UnknownObject(const std::string& id) {
  return Status::NotFound("object " + Hex(id) + " is not in the store");
}

}  // namespace

const char* ObjectStateName(ObjectState state) {
  switch (state) {
    case ObjectState::kCreated:
      return "CREATED";
    case ObjectState::kSealed:
      return "SEALED";
    case ObjectState::kSpilled:
      return "SPILLED";
  }
  return "UNKNOWN";
}

StatusOr<std::unique_ptr<ObjectStore>> ObjectStore::Open(const ObjectStoreOptions& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  StatusOr<std::unique_ptr<SharedMemory>> memory = env->NewSharedMemory(options.capacity);
  if (!memory.ok()) return memory.status();
  std::shared_ptr<SharedMemory> shared(std::move(memory).value());
  return std::unique_ptr<ObjectStore>(new ObjectStoreImpl(options, env, std::move(shared)));
}

ObjectStoreImpl::ObjectStoreImpl(const ObjectStoreOptions& options, Env* env,
                                 std::shared_ptr<SharedMemory> memory)
    : env_(env),
      memory_(std::move(memory)),
      spill_root_(options.spill_dir),
      allocator_(memory_->size()) {}

ObjectStoreImpl::~ObjectStoreImpl() {
  std::lock_guard<std::mutex> lock(mu_);
  // Spill files only mean something to this store; leave nothing behind.
  for (const auto& [id, entry] : objects_) {
    if (entry.state == ObjectState::kSpilled) env_->RemoveFile(SpillPath(id));
  }
  if (!spill_dir_.empty()) env_->RemoveDir(spill_dir_);
}

ObjectStoreImpl::Table::iterator ObjectStoreImpl::FindVisible(const std::string& id) {
  auto it = objects_.find(id);
  return it != objects_.end() && it->second.removed ? objects_.end() : it;
}

StatusOr<uint64_t> ObjectStoreImpl::Create(const std::string& id, uint64_t size, bool evictable) {
  if (id.empty()) return Status::InvalidArgument("object id is empty");
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = objects_.find(id);
  if (existing != objects_.end()) {
    return Status::AlreadyExists("object " + Hex(id) + " already exists" +
                                 (existing->second.removed ? " (removed, still pinned)" : ""));
  }
  StatusOr<uint64_t> offset = Allocate(size);
  if (!offset.ok()) return offset;
  Entry& entry = objects_[id];
  entry.offset = *offset;
  entry.size = size;
  entry.evictable = evictable;
  entry.pins = 1;  // the creator's, until Seal or Abort
  return offset;
}

Status ObjectStoreImpl::Seal(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(id);
  if (it == objects_.end()) return UnknownObject(id);
  Entry& entry = it->second;
  if (entry.state != ObjectState::kCreated) {
    return Status::InvalidArgument("object " + Hex(id) + " is already sealed");
  }
  entry.state = ObjectState::kSealed;
  --entry.pins;
  if (entry.removed) {
    // Removed while being written: the removal wins once nobody holds it.
    if (entry.pins == 0) Erase(it);
    return Status::OK();
  }
  lru_.Touch(id);
  return Status::OK();
}

Status ObjectStoreImpl::Abort(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(id);
  if (it == objects_.end()) return UnknownObject(id);
  if (it->second.state != ObjectState::kCreated) {
    return Status::InvalidArgument("object " + Hex(id) + " is sealed; use delete");
  }
  Erase(it);
  return Status::OK();
}

StatusOr<ObjectLocation> ObjectStoreImpl::Get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = FindVisible(id);
  if (it == objects_.end()) return UnknownObject(id);
  Entry& entry = it->second;
  if (entry.state == ObjectState::kCreated) {
    return Status::NotFound("object " + Hex(id) + " is not sealed yet");
  }
  if (entry.state == ObjectState::kSpilled) {
    Status s = Restore(it);
    if (!s.ok()) return s;
  }
  ++entry.pins;
  lru_.Touch(id);
  return ObjectLocation{entry.offset, entry.size};
}

Status ObjectStoreImpl::Release(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(id);
  if (it == objects_.end()) return UnknownObject(id);
  Entry& entry = it->second;
  if (entry.state != ObjectState::kSealed || entry.pins == 0) {
    return Status::InvalidArgument("object " + Hex(id) + " is not pinned by a get");
  }
  if (--entry.pins == 0 && entry.removed) Erase(it);
  return Status::OK();
}

Status ObjectStoreImpl::Remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = FindVisible(id);
  if (it == objects_.end()) return UnknownObject(id);
  if (it->second.pins == 0) {
    Erase(it);
    return Status::OK();
  }
  // Readers still hold its memory: hide it now, free it on the last release.
  it->second.removed = true;
  lru_.Remove(id);
  return Status::OK();
}

bool ObjectStoreImpl::Contains(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = FindVisible(id);
  return it != objects_.end() && it->second.state != ObjectState::kCreated;
}

ObjectStoreStats ObjectStoreImpl::GetStats() {
  std::lock_guard<std::mutex> lock(mu_);
  ObjectStoreStats stats = counters_;
  stats.capacity = allocator_.capacity();
  stats.used_bytes = allocator_.used();
  for (const auto& [id, entry] : objects_) {
    if (!entry.removed) ++stats.num_objects;
    if (entry.pins > 0) ++stats.num_pinned;
    if (entry.state == ObjectState::kSpilled) ++stats.num_spilled;
  }
  return stats;
}

std::vector<ObjectInfo> ObjectStoreImpl::ListObjects() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectInfo> out;
  for (const auto& [id, entry] : objects_) {
    if (!entry.removed) out.push_back(ObjectInfo{id, entry.size, entry.state, entry.pins});
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.id < b.id; });
  return out;
}

void ObjectStoreImpl::Erase(Table::iterator it) {
  Entry& entry = it->second;
  if (entry.state == ObjectState::kSpilled) {
    env_->RemoveFile(SpillPath(it->first));  // best effort: nothing reads it again
    counters_.spilled_bytes_current -= entry.size;
  } else if (entry.size > 0) {
    allocator_.Free(entry.offset);
  }
  lru_.Remove(it->first);
  objects_.erase(it);
}

}  // namespace ember
