// Hex renders opaque byte strings (object ids) for messages and file names.
// Thread-safe: a pure function.

#ifndef EMBER_UTIL_HEX_H_
#define EMBER_UTIL_HEX_H_

#include <string>

namespace ember {

// Lower-case hexadecimal, two digits per byte: "\x01\xab" -> "01ab".
std::string Hex(const std::string& bytes);

}  // namespace ember

#endif  // EMBER_UTIL_HEX_H_
