// StatusOr<T> holds either a T or a non-OK Status explaining why there is
// none. Accessing the value of an errored StatusOr is a programming error
// (checked by assert in debug builds).
//
// Thread-safety: a value type; same rules as Status.

#ifndef EMBER_STATUSOR_H_
#define EMBER_STATUSOR_H_

#include <cassert>
#include <optional>
#include <utility>

#include "ember/status.h"

namespace ember {

template <typename T>
class StatusOr {
 public:
  // Precondition: !status.ok(). An OK status without a value means nothing.
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok());
    if (status_.ok()) status_ = Status::InvalidArgument("StatusOr built from OK without value");
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T& value() & {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }

  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace ember

#endif  // EMBER_STATUSOR_H_
