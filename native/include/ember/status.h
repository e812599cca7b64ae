// A Status is the outcome of an operation: success, or an error code with a
// message. Functions return a Status (or StatusOr<T>) instead of throwing, so
// errors cross module boundaries (and the Python binding) explicitly.
//
// Thread-safety: a Status is a value; distinct objects may be used from
// distinct threads, a single object needs external synchronization.

#ifndef EMBER_STATUS_H_
#define EMBER_STATUS_H_

#include <string>
#include <utility>

namespace ember {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kAlreadyExists,
    kStoreFull,
    kInfeasible,
    kInvalidArgument,
    kIOError,
  };

  // Creates a success status.
  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status AlreadyExists(std::string msg) {
    return Status(Code::kAlreadyExists, std::move(msg));
  }
  static Status StoreFull(std::string msg) { return Status(Code::kStoreFull, std::move(msg)); }
  static Status Infeasible(std::string msg) { return Status(Code::kInfeasible, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsAlreadyExists() const { return code_ == Code::kAlreadyExists; }
  bool IsStoreFull() const { return code_ == Code::kStoreFull; }
  bool IsInfeasible() const { return code_ == Code::kInfeasible; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsIOError() const { return code_ == Code::kIOError; }

  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK", or the code's name, a colon and the message: "NotFound: object 1f2e".
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace ember

#endif  // EMBER_STATUS_H_
