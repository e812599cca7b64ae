// A ResourceSet maps resource names ("CPU", "GPU", "memory", custom names) to
// non-negative quantities in fixed point: one unit is 1/10000 of a resource,
// so 0.1 + 0.2 is exactly 0.3 and comparisons never suffer rounding. Zero
// quantities are not stored, so an absent name and a zero are the same.
//
// Thread-safety: a value type; distinct objects may be used from distinct
// threads, a single object needs external synchronization.

#ifndef EMBER_RESOURCE_SET_H_
#define EMBER_RESOURCE_SET_H_

#include <cstdint>
#include <map>
#include <string>

#include "ember/status.h"
#include "ember/statusor.h"

namespace ember {

class ResourceSet {
 public:
  static constexpr int64_t kUnitsPerResource = 10000;

  ResourceSet() = default;

  // Converts float quantities, rounding each to the nearest 1/10000 and
  // dropping zeros. InvalidArgument naming the resource for a negative,
  // non-finite or absurdly large quantity.
  static StatusOr<ResourceSet> FromDoubles(const std::map<std::string, double>& quantities);
  std::map<std::string, double> ToDoubles() const;

  // Quantity in units (0 if absent). Set with 0 removes the name.
  int64_t Get(const std::string& name) const;
  void Set(const std::string& name, int64_t units);

  bool empty() const { return units_.empty(); }
  const std::map<std::string, int64_t>& units() const { return units_; }

  // True if every quantity here is <= the same quantity in `other`.
  bool IsSubsetOf(const ResourceSet& other) const;
  void Add(const ResourceSet& other);
  // Subtracts, clamping each quantity at zero.
  void Subtract(const ResourceSet& other);
  // Lowers each quantity to at most the one in `limit`.
  void ClampTo(const ResourceSet& limit);

  // "{CPU: 2, GPU: 0.5}" (names sorted).
  std::string ToString() const;

  bool operator==(const ResourceSet& other) const { return units_ == other.units_; }
  bool operator!=(const ResourceSet& other) const { return !(*this == other); }

 private:
  std::map<std::string, int64_t> units_;  // all values > 0
};

// Renders a unit count as a decimal: 25000 -> "2.5".
std::string FormatUnits(int64_t units);

}  // namespace ember

#endif  // EMBER_RESOURCE_SET_H_
