#include "ember/resource_set.h"

#include <cmath>

namespace ember {
namespace {

// Large enough for any real cluster, small enough that sums of many
// quantities cannot overflow int64 units.
constexpr double kMaxQuantity = 1e12;

}  // namespace

StatusOr<ResourceSet> ResourceSet::FromDoubles(const std::map<std::string, double>& quantities) {
  ResourceSet set;
  for (const auto& [name, value] : quantities) {
    if (name.empty()) return Status::InvalidArgument("resource name is empty");
    if (!std::isfinite(value) || value < 0 || value > kMaxQuantity) {
      return Status::InvalidArgument("resource '" + name + "' must be a non-negative number, got " +
                                     std::to_string(value));
    }
    set.Set(name, std::llround(value * kUnitsPerResource));
  }
  return set;
}

std::map<std::string, double> ResourceSet::ToDoubles() const {
  std::map<std::string, double> out;
  for (const auto& [name, units] : units_) {
    out[name] = static_cast<double>(units) / kUnitsPerResource;
  }
  return out;
}

int64_t ResourceSet::Get(const std::string& name) const {
  auto it = units_.find(name);
  return it == units_.end() ? 0 : it->second;
}

void ResourceSet::Set(const std::string& name, int64_t units) {
  if (units > 0) {
    units_[name] = units;
  } else {
    units_.erase(name);
  }
}

bool ResourceSet::IsSubsetOf(const ResourceSet& other) const {
  for (const auto& [name, units] : units_) {
    if (units > other.Get(name)) return false;
  }
  return true;
}

void ResourceSet::Add(const ResourceSet& other) {
  for (const auto& [name, units] : other.units_) units_[name] += units;
}

void ResourceSet::Subtract(const ResourceSet& other) {
  for (const auto& [name, units] : other.units_) Set(name, Get(name) - units);
}

void ResourceSet::ClampTo(const ResourceSet& limit) {
  for (auto it = units_.begin(); it != units_.end();) {
    int64_t cap = limit.Get(it->first);
    if (cap == 0) {
      it = units_.erase(it);
      continue;
    }
    if (it->second > cap) it->second = cap;
    ++it;
  }
}

std::string ResourceSet::ToString() const {
  std::string out = "{";
  for (const auto& [name, units] : units_) {
    if (out.size() > 1) out += ", ";
    out += name + ": " + FormatUnits(units);
  }
  return out + "}";
}

std::string FormatUnits(int64_t units) {
  std::string sign = units < 0 ? "-" : "";
  int64_t magnitude = units < 0 ? -units : units;
  std::string out = sign + std::to_string(magnitude / ResourceSet::kUnitsPerResource);
  int64_t fraction = magnitude % ResourceSet::kUnitsPerResource;
  if (fraction == 0) return out;
  std::string digits = std::to_string(fraction + ResourceSet::kUnitsPerResource).substr(1);
  while (digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}

}  // namespace ember
