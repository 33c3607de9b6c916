// The addon's own threads. Each lane is one long-lived std::thread with a FIFO
// queue; a job (one or more requests, one JS crossing) runs to completion on
// it and its results come back through a thread-safe function. Lanes exist so
// that slow kernel work (link deletion waits on RCU) has its own thread and
// never blocks the endpoint path.
//
// Threading rules:
// - submit(), tryInline(), complete() and shutdown() run on the JS thread only.
// - A job runs on the JS thread itself (tryInline) only when no other job
//   is queued, running or unsettled on any lane (so it waits behind none of
//   nsnet's own work, e.g. the slow lane's deletions holding RTNL, and
//   promises still settle in submission order), it is a run of at most
//   kInlineMaxRequests kernel requests (rtnetlink, bridge joins, sysctls of
//   the host, or IPv6 interface sysctls of a namespace whose directory is
//   open), and every namespace it speaks
//   to already has its socket open on the fast lane (whose thread is idle,
//   so the sockets are free): it makes no namespace switch. Two thread hops cost more than the
//   kernel's work on a small VM (a futex wake is ~70 µs there, a sleeping
//   thread's wake-up ~120 µs, the JS thread's own wake-up more). Its answers
//   are returned at once, and the JS side hands them to the caller on a
//   later turn of the event loop (src/netlink/request.ts).
// - Lane threads never touch N-API; they switch namespaces only through
//   ThreadHome, and a thread that cannot return home is replaced, not reused.
#pragma once
#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "ns_registry.h"
#include "request.h"

namespace nsnet {

struct Job {
  int lane = 0;
  bool stopOnError = false;
  std::vector<Request> requests;
  std::vector<Result> results;
  // Made only for a job handed to a lane: an inline job's answers go back directly.
  std::optional<Napi::Promise::Deferred> deferred;
};

class Engine;
void completeJob(Napi::Env env, Napi::Function, Engine* engine, Job* job);
using Completion = Napi::TypedThreadSafeFunction<Engine, Job, completeJob>;

class Engine {
 public:
  static constexpr int kLanes = 2;
  /** How long a lane spins for the next job before sleeping (NSNET_SPIN_US overrides). */
  int spinMicros_ = 200;
  /**
   * Kernel requests an inline job may hold (a VethJoin counts as its
   * vethjoin::kMaxSteps):
   * a joinMany of 32 (about 136 requests, 13-16 ms of kernel work here)
   * runs inline, and the event loop waits for it. On its lane the same
   * batch paid both wake-ups (from the call to the lane picking it up
   * 0.13-0.15 ms, from its last answer to the JS thread 0.25-0.31 ms,
   * against 0.08 and 0.09 inline), and in paired rounds against the C
   * floor it did worse (median per-round ratios 0.80 and 0.81 on the lane,
   * 0.82 and 0.87 inline). Longer jobs go to the lane: the JS thread would
   * stall for them.
   */
  static constexpr size_t kInlineMaxRequests = 160;

  explicit Engine(Napi::Env env);
  ~Engine();

  void submit(Job* job);
  // Runs the job on the calling (JS) thread when that cannot wait behind
  // other work or need a namespace switch; false: the caller submits it.
  bool tryInline(Job* job);
  void shutdown();
  void settled(Napi::Env env);  // a job's promise was settled on the JS thread

  Napi::Object stats(Napi::Env env);

  /** The namespace cache every lane shares; thread-safe. */
  NsRegistry& registry() { return registry_; }

 private:
  struct Lane {
    int index = 0;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Job*> queue;
    std::atomic<int> queued{0};
    std::vector<std::thread> threads;
  };

  void run(Lane* lane);
  /** Runs a job's requests in order; returns the time spent inside them. */
  uint64_t runJob(LaneContext& ctx, Job* job, const NlError& homeErr);
  bool inlinable(Job* job);
  void spawn(Lane* lane);  // caller holds lane->mu

  Completion completion_;
  NsRegistry registry_;
  Lane lanes_[kLanes];
  std::atomic<bool> stopping_{false};
  bool shutDown_ = false;
  size_t pending_ = 0;
  std::atomic<uint64_t> retired_{0};
  std::atomic<uint64_t> executed_{0};
  std::atomic<uint64_t> kernelNs_{0};  // time spent inside netlink requests
  bool inline_ = true;                 // NSNET_INLINE=0 sends every job to its lane
  uint64_t inlined_ = 0;               // jobs run on the JS thread (JS thread only)
  uint64_t lastInlineNs_ = 0;          // the last of them: time inside its requests (JS thread only)
  // CLOCK_MONOTONIC stamps of the last job: taken off the queue, finished (for wake-up accounting).
  std::atomic<uint64_t> lastPickNs_{0};
  std::atomic<uint64_t> lastDoneNs_{0};
};

}  // namespace nsnet
