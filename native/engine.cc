#include "engine.h"
#include "veth_join.h"

#include <errno.h>
#include <time.h>

#include <chrono>
#include <cstdlib>

namespace nsnet {

namespace {
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
// The clock libuv's hrtime reads, so JS can place these stamps on its own timeline.
inline uint64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

Engine::Engine(Napi::Env env) {
  if (const char* v = std::getenv("NSNET_SPIN_US")) spinMicros_ = std::atoi(v);
  if (const char* v = std::getenv("NSNET_INLINE")) inline_ = std::atoi(v) != 0;
  completion_ = Completion::New(env, "nsnet.completion", 0, 1, this);
  // An idle engine must not keep the process alive; pending work does.
  completion_.Unref(env);
  for (int i = 0; i < kLanes; ++i) {
    lanes_[i].index = i;
    std::lock_guard<std::mutex> g(lanes_[i].mu);
    spawn(&lanes_[i]);
  }
}

Engine::~Engine() { shutdown(); }

void Engine::spawn(Lane* lane) { lane->threads.emplace_back(&Engine::run, this, lane); }

void Engine::submit(Job* job) {
  if (shutDown_) {
    delete job;
    return;
  }
  if (pending_++ == 0) completion_.Ref(job->deferred->Env());
  Lane& lane = lanes_[job->lane];
  {
    std::lock_guard<std::mutex> g(lane.mu);
    lane.queue.push_back(job);
    lane.queued.fetch_add(1, std::memory_order_release);
  }
  lane.cv.notify_one();
}

void Engine::settled(Napi::Env env) {
  if (pending_ > 0 && --pending_ == 0 && !shutDown_) completion_.Unref(env);
}

void Engine::run(Lane* lane) {
  LaneContext ctx;
  ctx.lane = lane->index;
  ctx.registry = &registry_;
  NlError homeErr = ctx.home.init();
  for (;;) {
    Job* job = nullptr;
    // Callers usually send the next request a few microseconds after the
    // last answer: spin briefly before sleeping, since a futex wake on a
    // small VM costs tens of microseconds.
    for (auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spinMicros_);
         lane->queued.load(std::memory_order_acquire) == 0 && !stopping_.load(std::memory_order_relaxed) &&
         std::chrono::steady_clock::now() < until;) {
      cpuRelax();
    }
    {
      std::unique_lock<std::mutex> lk(lane->mu);
      lane->cv.wait(lk, [&] { return stopping_.load() || !lane->queue.empty(); });
      if (stopping_.load()) return;
      job = lane->queue.front();
      lane->queue.pop_front();
      lane->queued.fetch_sub(1, std::memory_order_relaxed);
    }
    lastPickNs_ = monotonicNs();
    runJob(ctx, job, homeErr);
    if (completion_.NonBlockingCall(job) != napi_ok) delete job;
    if (ctx.stranded) {
      // This thread is stuck in a foreign namespace: hand the lane to a fresh
      // thread and end this one.
      ++retired_;
      std::lock_guard<std::mutex> g(lane->mu);
      if (!stopping_.load()) spawn(lane);
      return;
    }
  }
}

uint64_t Engine::runJob(LaneContext& ctx, Job* job, const NlError& homeErr) {
  uint64_t spent = 0;
  job->results.resize(job->requests.size());
  ctx.checked.clear();
  bool failed = false;
  for (size_t i = 0; i < job->requests.size(); ++i) {
    Result& r = job->results[i];
    if (!homeErr.ok()) {
      r.err = homeErr;
    } else if (failed && job->stopOnError) {
      r.canceled = true;
      r.err = NlError::of(ECANCELED, job->requests[i].op, "not run: an earlier request in the batch failed");
    } else if (ctx.stranded) {
      r.canceled = true;
      r.err = NlError::of(EAGAIN, job->requests[i].op, "lane thread is being replaced");
    } else if (!(r.err = applyLinkPatches(job->requests[i], job->results, i)).ok()) {
      r.canceled = r.err.err == ECANCELED;
    } else {
      auto t0 = std::chrono::steady_clock::now();
      execute(ctx, job->requests[i], r);
      spent += static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
    }
    if (!r.err.ok()) failed = true;
  }
  ctx.checked.clear();  // entries are not held between jobs
  for (const Result& r : job->results) executed_ += r.steps ? r.steps : 1;
  kernelNs_ += spent;
  lastDoneNs_ = monotonicNs();
  return spent;
}

bool Engine::inlinable(Job* job) {
  if (!inline_ || pending_ != 0 || job->lane != 0) return false;
  size_t weight = 0;
  for (auto& r : job->requests) weight += r.kind == Kind::VethJoin ? vethjoin::kMaxSteps : 1;
  if (weight > kInlineMaxRequests) return false;
  bool joins = false;
  for (auto& r : job->requests) {
    if (r.kind == Kind::Noop) continue;
    if (r.kind == Kind::SysctlWrite || r.kind == Kind::SysctlRead) {
      // Neither a host sysctl nor a namespace's IPv6 one with its directory open needs setns.
      if (r.ns.empty()) continue;
      if (isIpv6ConfKey(r.arg1) && registry_.ipv6ConfOpen(0, r.ns)) continue;
      return false;
    }
    joins |= r.kind == Kind::VethJoin;
    if ((r.kind != Kind::Rtnl && r.kind != Kind::VethJoin) || !registry_.socketOpen(0, r.ns)) return false;
  }
  // A join's requests speak to its sandbox and to the host (its sysctl is the host's).
  return !joins || registry_.socketOpen(0, "");
}

bool Engine::tryInline(Job* job) {
  if (shutDown_ || !inlinable(job)) return false;
  LaneContext ctx;
  ctx.lane = 0;
  ctx.registry = &registry_;
  ctx.mayEnter = false;
  lastPickNs_ = monotonicNs();
  lastInlineNs_ = runJob(ctx, job, NlError::none());
  ++inlined_;
  return true;
}

void Engine::shutdown() {
  if (shutDown_) return;
  shutDown_ = true;
  stopping_ = true;
  for (auto& lane : lanes_) {
    lane.cv.notify_all();
    for (;;) {
      std::thread t;
      {
        std::lock_guard<std::mutex> g(lane.mu);
        if (lane.threads.empty()) break;
        t = std::move(lane.threads.back());
        lane.threads.pop_back();
      }
      if (t.joinable()) t.join();
    }
    // Queued jobs never ran; their promises die with the environment.
    for (Job* j : lane.queue) delete j;
    lane.queue.clear();
  }
  completion_.Release();
}

Napi::Object Engine::stats(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  size_t threads = 0;
  for (auto& lane : lanes_) {
    std::lock_guard<std::mutex> g(lane.mu);
    threads += lane.threads.size();
  }
  o.Set("lanes", kLanes);
  o.Set("threads", static_cast<double>(threads));
  o.Set("pending", static_cast<double>(pending_));
  o.Set("cachedNamespaces", static_cast<double>(registry_.size()));
  o.Set("procMountsMade", static_cast<double>(registry_.procMountsMade()));
  o.Set("procMountsOpen", static_cast<double>(registry_.procMountsOpen()));
  o.Set("retiredThreads", static_cast<double>(retired_.load()));
  o.Set("executed", static_cast<double>(executed_.load()));
  // Wall time the lane threads spent executing requests (kernel round trips
  // plus namespace bookkeeping): what a bare C caller would also pay.
  o.Set("execNs", static_cast<double>(kernelNs_.load()));
  o.Set("inlined", static_cast<double>(inlined_));
  o.Set("lastInlineNs", static_cast<double>(lastInlineNs_));
  o.Set("lastPickNs", static_cast<double>(lastPickNs_.load()));
  o.Set("lastDoneNs", static_cast<double>(lastDoneNs_.load()));
  return o;
}

}  // namespace nsnet
