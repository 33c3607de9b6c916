// A failure from the kernel or from our own validation, carried from a lane
// thread back to JS without touching N-API (lane threads must never call it).
#pragma once
#include <string>

namespace nsnet {

struct NlError {
  int err = 0;             // positive errno
  std::string syscall;     // "sendmsg", "setns", "RTM_NEWLINK", ...
  std::string extack;      // kernel extended-ack text, or our own detail

  bool ok() const { return err == 0; }
  static NlError none() { return {}; }
  static NlError of(int e, std::string sc, std::string detail = {}) {
    return NlError{e, std::move(sc), std::move(detail)};
  }
};

}  // namespace nsnet
