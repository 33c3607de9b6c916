// One NETLINK_ROUTE socket, bound in whatever network namespace the calling
// thread was in when it was opened. Used by one lane thread at a time.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "nl_error.h"

namespace nsnet {

class NetlinkSocket {
 public:
  NetlinkSocket() = default;
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  // Opens the socket in the calling thread's current network namespace.
  NlError open();
  bool isOpen() const { return fd_ >= 0; }

  // Sends one request (the nlmsghdr is patched with our seq; ACK is forced
  // for non-dump requests) and appends every non-error reply message to
  // `replies`, verbatim. Dumps are retried when the kernel flags them
  // NLM_F_DUMP_INTR, since their content may be inconsistent.
  NlError request(std::vector<uint8_t>& msg, std::vector<uint8_t>& replies, const char* op);

 private:
  NlError requestOnce(std::vector<uint8_t>& msg, std::vector<uint8_t>& replies, const char* op,
                      bool& interrupted);
  int fd_ = -1;
  uint32_t seq_ = 0;
};

}  // namespace nsnet
