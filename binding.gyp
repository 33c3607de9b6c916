{
  "targets": [{
    "target_name": "nsnet",
    "sources": [
      "native/addon.cc",
      "native/engine.cc",
      "native/netlink_socket.cc",
      "native/netns.cc",
      "native/ns_registry.cc",
      "native/proc_mount.cc",
      "native/request.cc",
      "native/veth_join.cc",
      "native/nftables.cc",
      "native/file_lock.cc"
    ],
    "libraries": ["-ldl"],
    "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except_all"],
    "defines": ["NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "_GNU_SOURCE"],
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
    "cflags_cc!": ["-std=gnu++17"]
  }, {
    "target_name": "nsnet-cni",
    "type": "executable",
    "sources": ["native/cni_shim.c"],
    "cflags": ["-std=c11", "-Wall", "-Wextra", "-O2"],
    "cflags!": ["-fno-omit-frame-pointer"],
    "ldflags!": ["-rdynamic"],
    "conditions": [
      ["OS=='linux' and target_arch=='x64'", {
        "defines": ["NSNET_CNI_FREESTANDING"],
        "cflags": ["-ffreestanding", "-fno-stack-protector", "-fno-tree-loop-distribute-patterns", "-fno-asynchronous-unwind-tables", "-fno-pie"],
        "cflags!": ["-fPIC", "-pthread"],
        "ldflags": ["-static", "-nostdlib", "-no-pie"],
        "ldflags!": ["-pthread"]
      }]
    ]
  }]
}
