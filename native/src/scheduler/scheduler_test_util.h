// Helpers shared by the scheduler tests.

#ifndef EMBER_SCHEDULER_SCHEDULER_TEST_UTIL_H_
#define EMBER_SCHEDULER_SCHEDULER_TEST_UTIL_H_

#include <map>
#include <string>

#include "ember/resource_set.h"
#include "ember/scheduler.h"
#include "testing/testharness.h"

namespace ember {
namespace test {

inline ResourceSet R(const std::map<std::string, double>& quantities) {
  return *ResourceSet::FromDoubles(quantities);
}

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace test
}  // namespace ember

#endif  // EMBER_SCHEDULER_SCHEDULER_TEST_UTIL_H_
