// In-process nftables through libnftables (dlopen'd, so the addon builds and
// loads where nftables is absent). A transaction costs ~4 ms as an `nft`
// exec and well under one in-process. One context per lane thread: the
// library is not thread-safe per context, and its netlink socket lives in
// the namespace of the thread that made it (the lane's home).
#pragma once
#include <string>
#include "nl_error.h"

namespace nsnet {

NlError nftRun(const std::string& script, std::string& output);

}  // namespace nsnet
