// The ember._native extension module. Deliberately thin: it converts types,
// releases the GIL around calls that may block on the store's lock or do
// I/O, and turns a bad Status into a Python exception. Behaviour lives in
// the C++ classes; the Pythonic API lives in the ember package above this.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ember/env.h"
#include "ember/object_store.h"
#include "ember/region.h"
#include "ember/resource_set.h"
#include "ember/scheduler.h"

namespace py = pybind11;

namespace ember {
namespace {

// Exception classes, created at import and owned by the module.
PyObject* g_store_full = nullptr;
PyObject* g_object_exists = nullptr;
PyObject* g_object_not_found = nullptr;
PyObject* g_infeasible = nullptr;
PyObject* g_native_io = nullptr;

// Raises the Python exception for a bad Status. NotFound maps to
// ObjectNotFoundError for the store and to plain KeyError for the scheduler,
// where the missing thing is a node or a placement group.
void Check(const Status& s, PyObject* not_found = g_object_not_found) {
  if (s.ok()) return;
  PyObject* type = PyExc_RuntimeError;
  switch (s.code()) {
    case Status::Code::kOk:
      return;
    case Status::Code::kNotFound:
      type = not_found;
      break;
    case Status::Code::kAlreadyExists:
      type = g_object_exists;
      break;
    case Status::Code::kStoreFull:
      type = g_store_full;
      break;
    case Status::Code::kInfeasible:
      type = g_infeasible;
      break;
    case Status::Code::kInvalidArgument:
      type = PyExc_ValueError;
      break;
    case Status::Code::kIOError:
      type = g_native_io;
      break;
  }
  PyErr_SetString(type, s.message().c_str());
  throw py::error_already_set();
}

template <typename T>
T Unwrap(StatusOr<T> result, PyObject* not_found = g_object_not_found) {
  Check(result.status(), not_found);
  return std::move(result).value();
}

// Runs `f` with the GIL released; Python objects must not be touched in it.
template <typename F>
auto WithoutGil(F&& f) {
  py::gil_scoped_release release;
  return f();
}

ResourceSet ToResources(const std::map<std::string, double>& quantities) {
  return Unwrap(ResourceSet::FromDoubles(quantities));
}

// The object behind each memoryview that Region.view returns. The view (and
// anything built on it, like a numpy array) keeps it alive; when the last of
// them dies, it calls on_release once and drops its hold on the mapping.
struct ViewExporter {
  RegionSlice slice;
  py::object on_release;

  ViewExporter(RegionSlice s, py::object callback)
      : slice(std::move(s)), on_release(std::move(callback)) {}
  ViewExporter(const ViewExporter&) = delete;
  ViewExporter& operator=(const ViewExporter&) = delete;

  ~ViewExporter() {
    if (!on_release || on_release.is_none()) return;
    py::object callback = std::move(on_release);
    try {
      callback();
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("ember._native.Region.view on_release");
    }
  }
};

py::object MakeView(const Region& region, uint64_t offset, uint64_t size, py::object on_release) {
  RegionSlice slice = Unwrap(region.Slice(offset, size));
  py::object exporter = py::cast(std::make_unique<ViewExporter>(std::move(slice), on_release));
  PyObject* view = PyMemoryView_FromObject(exporter.ptr());
  if (view == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(view);
}

// Holds a contiguous buffer export of a Python object; released with the
// GIL held, on every path.
class BufferView {
 public:
  explicit BufferView(const py::object& data) {
    if (PyObject_GetBuffer(data.ptr(), &buffer_, PyBUF_ANY_CONTIGUOUS) != 0) {
      throw py::error_already_set();
    }
  }
  BufferView(const BufferView&) = delete;
  BufferView& operator=(const BufferView&) = delete;
  ~BufferView() { PyBuffer_Release(&buffer_); }

  const void* data() const { return buffer_.buf; }
  uint64_t size() const { return static_cast<uint64_t>(buffer_.len); }

 private:
  Py_buffer buffer_;
};

void Write(Region& region, uint64_t offset, const py::object& data) {
  BufferView buffer(data);
  Check(WithoutGil([&] { return region.Write(offset, buffer.data(), buffer.size()); }));
}

void ReadFrom(Region& region, int fd, uint64_t offset, uint64_t n) {
  Check(WithoutGil([&] { return region.ReadFrom(fd, offset, n); }));
}

py::dict StatsDict(const ObjectStoreStats& s) {
  py::dict d;
  d["capacity"] = s.capacity;
  d["used_bytes"] = s.used_bytes;
  d["num_objects"] = s.num_objects;
  d["num_pinned"] = s.num_pinned;
  d["num_spilled"] = s.num_spilled;
  d["spilled_bytes_current"] = s.spilled_bytes_current;
  d["spilled_total"] = s.spilled_total;
  d["spilled_bytes_total"] = s.spilled_bytes_total;
  d["restored_total"] = s.restored_total;
  d["restored_bytes_total"] = s.restored_bytes_total;
  d["evicted_total"] = s.evicted_total;
  d["evicted_bytes_total"] = s.evicted_bytes_total;
  return d;
}

void BindObjectStore(py::module_& m) {
  py::class_<ObjectStore>(m, "ObjectStore")
      .def(py::init([](uint64_t capacity, const std::string& spill_dir) {
             ObjectStoreOptions options;
             options.capacity = capacity;
             options.spill_dir = spill_dir;
             return Unwrap(ObjectStore::Open(options));
           }),
           py::arg("capacity"), py::arg("spill_dir") = "")
      .def_property_readonly("fd", [](const ObjectStore& s) { return s.memory()->fd(); })
      .def_property_readonly("capacity", &ObjectStore::capacity)
      .def_property_readonly(
          "region", [](const ObjectStore& s) { return std::make_shared<Region>(s.memory()); })
      .def(
          "create",
          [](ObjectStore& s, const py::bytes& id, uint64_t size, bool evictable) {
            std::string key = id;
            return Unwrap(WithoutGil([&] { return s.Create(key, size, evictable); }));
          },
          py::arg("object_id"), py::arg("size"), py::arg("evictable") = false)
      .def(
          "seal",
          [](ObjectStore& s, const py::bytes& id) {
            std::string key = id;
            Check(WithoutGil([&] { return s.Seal(key); }));
          },
          py::arg("object_id"))
      .def(
          "abort",
          [](ObjectStore& s, const py::bytes& id) {
            std::string key = id;
            Check(WithoutGil([&] { return s.Abort(key); }));
          },
          py::arg("object_id"))
      .def(
          "get",
          [](ObjectStore& s, const py::bytes& id) {
            std::string key = id;
            ObjectLocation loc = Unwrap(WithoutGil([&] { return s.Get(key); }));
            return py::make_tuple(loc.offset, loc.size);
          },
          py::arg("object_id"))
      .def(
          "release",
          [](ObjectStore& s, const py::bytes& id) {
            std::string key = id;
            Check(WithoutGil([&] { return s.Release(key); }));
          },
          py::arg("object_id"))
      .def(
          "delete",
          [](ObjectStore& s, const py::bytes& id) {
            std::string key = id;
            Check(WithoutGil([&] { return s.Remove(key); }));
          },
          py::arg("object_id"))
      .def(
          "contains",
          [](ObjectStore& s, const py::bytes& id) {
            std::string key = id;
            return WithoutGil([&] { return s.Contains(key); });
          },
          py::arg("object_id"))
      .def("stats",
           [](ObjectStore& s) { return StatsDict(WithoutGil([&] { return s.GetStats(); })); })
      .def("list_objects", [](ObjectStore& s) {
        std::vector<ObjectInfo> objects = WithoutGil([&] { return s.ListObjects(); });
        py::list out;
        for (const ObjectInfo& o : objects) {
          out.append(py::make_tuple(py::bytes(o.id), o.size, ObjectStateName(o.state), o.pins));
        }
        return out;
      });
}

void BindRegion(py::module_& m) {
  py::class_<ViewExporter>(m, "_RegionView", py::buffer_protocol()).def_buffer([](ViewExporter& e) {
    static char empty = 0;  // some consumers dislike a null pointer, even for 0 bytes
    void* ptr = e.slice.data != nullptr ? e.slice.data : &empty;
    return py::buffer_info(ptr, 1, py::format_descriptor<uint8_t>::format(), 1,
                           {static_cast<py::ssize_t>(e.slice.size)}, {1}, /*readonly=*/true);
  });

  py::class_<Region, std::shared_ptr<Region>>(
      m, "Region", "A MAP_SHARED read/write mapping of a store's memfd in any process.")
      .def(py::init([](int fd, uint64_t size) {
             return std::shared_ptr<Region>(Unwrap(Region::Map(Env::Default(), fd, size)));
           }),
           py::arg("fd"), py::arg("size"))
      .def_property_readonly("size", &Region::size)
      .def_property_readonly("closed", &Region::closed)
      .def("write", &Write, py::arg("offset"), py::arg("data"))
      .def("read_from", &ReadFrom, py::arg("fd"), py::arg("offset"), py::arg("size"))
      .def("view", &MakeView, py::arg("offset"), py::arg("size"),
           py::arg("on_release") = py::none())
      .def("close", &Region::Close);
}

py::list BundlesList(const std::vector<BundleInfo>& bundles) {
  py::list out;
  for (const BundleInfo& b : bundles) out.append(py::make_tuple(b.node_id, b.total.ToDoubles()));
  return out;
}

void BindScheduler(py::module_& m) {
  using Quantities = std::map<std::string, double>;
  PyObject* key_error = PyExc_KeyError;
  py::class_<Scheduler>(m, "Scheduler")
      .def(py::init<>())
      .def(
          "add_node",
          [](Scheduler& s, const std::string& node, const Quantities& resources) {
            Check(s.AddNode(node, ToResources(resources)));
          },
          py::arg("node_id"), py::arg("resources"))
      .def(
          "remove_node",
          [=](Scheduler& s, const std::string& node) { Check(s.RemoveNode(node), key_error); },
          py::arg("node_id"))
      .def("nodes", &Scheduler::Nodes)
      .def(
          "total",
          [=](Scheduler& s, const std::string& node) {
            return Unwrap(s.Total(node), key_error).ToDoubles();
          },
          py::arg("node_id"))
      .def(
          "available",
          [=](Scheduler& s, const std::string& node) {
            return Unwrap(s.Available(node), key_error).ToDoubles();
          },
          py::arg("node_id"))
      .def(
          "is_feasible",
          [](Scheduler& s, const Quantities& request) {
            return s.IsFeasible(ToResources(request));
          },
          py::arg("request"))
      .def(
          "pick_node",
          [=](Scheduler& s, const Quantities& request, const std::string& strategy,
              const std::string& local_node, const std::string& affinity_node, bool soft,
              double spread_threshold) {
            SchedulingOptions options;
            Check(ParseSchedulingPolicy(strategy, &options.policy));
            options.local_node = local_node;
            options.affinity_node = affinity_node;
            options.soft = soft;
            options.spread_threshold = spread_threshold;
            return Unwrap(s.PickNode(ToResources(request), options), key_error);
          },
          py::arg("request"), py::arg("strategy") = "DEFAULT", py::arg("local_node") = "",
          py::arg("affinity_node") = "", py::arg("soft") = false, py::arg("spread_threshold") = 0.5)
      .def(
          "acquire",
          [](Scheduler& s, const std::string& node, const Quantities& request) {
            return s.Acquire(node, ToResources(request));
          },
          py::arg("node_id"), py::arg("request"))
      .def(
          "release",
          [](Scheduler& s, const std::string& node, const Quantities& request) {
            s.Release(node, ToResources(request));
          },
          py::arg("node_id"), py::arg("request"))
      .def(
          "create_placement_group",
          [=](Scheduler& s, const std::string& pg, const std::vector<Quantities>& bundles,
              const std::string& strategy) {
            PlacementStrategy parsed;
            Check(ParsePlacementStrategy(strategy, &parsed));
            std::vector<ResourceSet> sets;
            for (const Quantities& b : bundles) sets.push_back(ToResources(b));
            return Unwrap(s.CreatePlacementGroup(pg, sets, parsed), key_error);
          },
          py::arg("pg_id"), py::arg("bundles"), py::arg("strategy"))
      .def(
          "reserve_placement_group",
          [=](Scheduler& s, const std::string& pg, const std::vector<std::string>& nodes,
              const std::vector<Quantities>& bundles) {
            std::vector<ResourceSet> sets;
            for (const Quantities& b : bundles) sets.push_back(ToResources(b));
            return Unwrap(s.ReservePlacementGroup(pg, nodes, sets), key_error);
          },
          py::arg("pg_id"), py::arg("bundle_nodes"), py::arg("bundles"))
      .def(
          "replace_lost_bundles",
          [=](Scheduler& s, const std::string& pg, const std::string& strategy) {
            PlacementStrategy parsed;
            Check(ParsePlacementStrategy(strategy, &parsed));
            return Unwrap(s.ReplaceLostBundles(pg, parsed), key_error);
          },
          py::arg("pg_id"), py::arg("strategy"))
      .def(
          "remove_placement_group",
          [=](Scheduler& s, const std::string& pg) {
            Check(s.RemovePlacementGroup(pg), key_error);
          },
          py::arg("pg_id"))
      .def(
          "acquire_bundle",
          [=](Scheduler& s, const std::string& pg, int index, const Quantities& request) {
            return Unwrap(s.AcquireBundle(pg, index, ToResources(request)), key_error);
          },
          py::arg("pg_id"), py::arg("bundle_index"), py::arg("request"))
      .def(
          "release_bundle",
          [=](Scheduler& s, const std::string& pg, int index, const Quantities& request) {
            Check(s.ReleaseBundle(pg, index, ToResources(request)), key_error);
          },
          py::arg("pg_id"), py::arg("bundle_index"), py::arg("request"))
      .def(
          "placement_group_bundles",
          [=](Scheduler& s, const std::string& pg) {
            return BundlesList(Unwrap(s.PlacementGroupBundles(pg), key_error));
          },
          py::arg("pg_id"));
}

PyObject* AddException(py::module_& m, const char* name, PyObject* base, const char* doc) {
  std::string qualified = std::string("ember._native.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));  // the module keeps our reference too
  return type;
}

}  // namespace
}  // namespace ember

PYBIND11_MODULE(_native, m) {
  using namespace ember;
  m.doc() = "ember's native core: the shared-memory object store and the scheduler.";
  g_store_full = AddException(m, "StoreFullError", PyExc_MemoryError,
                              "The object store cannot make room for an object.");
  g_object_exists = AddException(m, "ObjectExistsError", PyExc_ValueError,
                                 "An object with this id already exists in the store.");
  g_object_not_found = AddException(m, "ObjectNotFoundError", PyExc_KeyError,
                                    "The object is unknown, unsealed or deleted.");
  g_infeasible = AddException(m, "InfeasibleError", PyExc_ValueError,
                              "No node of the cluster could ever satisfy the request.");
  g_native_io =
      AddException(m, "NativeIOError", PyExc_OSError, "Spilling to or restoring from disk failed.");
  BindObjectStore(m);
  BindRegion(m);
  BindScheduler(m);
}
