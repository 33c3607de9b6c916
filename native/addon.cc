// JS entry points. One call, one crossing: submit() takes a batch of
// requests for one lane and returns a Promise of an array holding, per
// request, its value or an Error (never thrown: each request settles alone).
#include <napi.h>
#include <string.h>

#include <iterator>

#include "engine.h"
#include "file_lock.h"
#include "veth_join.h"

namespace nsnet {

namespace {

// A compound request's error names the step that failed (its op and namespace).
Napi::Value errorValue(Napi::Env env, const Request& req, const Result& r) {
  const NlError& e = r.err;
  const std::string& op = r.step ? r.step->op : req.op;
  const std::string& ns = r.step ? r.step->ns : req.ns;
  const char* name = strerrorname_np(e.err);
  std::string msg = op + ": " + strerror(e.err);
  if (!e.extack.empty()) msg += " (" + e.extack + ")";
  Napi::Error err = Napi::Error::New(env, msg);
  Napi::Object o = err.Value();
  o.Set("code", name ? name : "EUNKNOWN");
  o.Set("errno", -e.err);  // negative, as in Node's own system errors
  o.Set("op", op);
  o.Set("syscall", e.syscall);
  if (!e.extack.empty()) o.Set("extack", e.extack);
  if (!ns.empty()) o.Set("ns", ns);
  return o;
}

// `empty`: one zero-length Buffer for every request of the job the kernel
// answered with a bare acknowledgement (most of a join's), rather than a
// Buffer each; nothing can be written into it.
Napi::Value resultValue(Napi::Env env, const Request& req, Result& r, Napi::Value& empty) {
  if (!r.err.ok()) return errorValue(env, req, r);
  switch (req.kind) {
    case Kind::VethJoin:
      // The container end's index is all a join reads of the veth's echo.
      return Napi::Number::New(env, echoedIndex(r.data));
    case Kind::Rtnl:
      if (r.data.empty()) {
        if (empty.IsEmpty()) empty = Napi::Buffer<uint8_t>::New(env, 0);
        return empty;
      }
      return Napi::Buffer<uint8_t>::Copy(env, r.data.data(), r.data.size());
    case Kind::NetnsCreate: {
      Napi::Array a = Napi::Array::New(env, 2);
      a.Set(0u, r.str);
      a.Set(1u, static_cast<double>(r.ino));
      return a;
    }
    case Kind::NetnsInode:
      return Napi::Number::New(env, static_cast<double>(r.ino));
    case Kind::SysctlRead:
    case Kind::NftRun:
      return Napi::String::New(env, r.str);
    default:
      return env.Undefined();
  }
}

Napi::Array resultsValue(Napi::Env env, Job& job) {
  Napi::Array out = Napi::Array::New(env, job.results.size());
  Napi::Value empty;
  for (size_t i = 0; i < job.results.size(); ++i)
    out.Set(static_cast<uint32_t>(i), resultValue(env, job.requests[i], job.results[i], empty));
  return out;
}

std::string stringAt(const Napi::Array& a, uint32_t i) {
  Napi::Value v = a.Get(i);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

uint64_t inoAt(const Napi::Array& a, uint32_t i) {
  Napi::Value v = a.Get(i);
  return v.IsNumber() ? static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue()) : 0;
}

#define NSNET_NAME(name) #name,
constexpr const char* kFieldNames[] = {NSNET_FIELDS(NSNET_NAME)};
constexpr const char* kFdPatchFieldNames[] = {NSNET_FD_PATCH_FIELDS(NSNET_NAME)};
#undef NSNET_NAME
static_assert(std::size(kFieldNames) == field::kCount && std::size(kFdPatchFieldNames) == fdfield::kStride);

// The tuple's layout is NSNET_FIELDS (request.h); src/netlink/wire.ts builds it.
Request parseRequest(Napi::Env env, Napi::Value v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "each request must be an array");
  Napi::Array a = v.As<Napi::Array>();
  Request r;
  r.kind = static_cast<Kind>(a.Get(field::kind).As<Napi::Number>().Int32Value());
  r.op = stringAt(a, field::op);
  r.ns = stringAt(a, field::ns);
  r.nsIno = inoAt(a, field::nsIno);
  Napi::Value msg = a.Get(field::msg);
  if (msg.IsBuffer()) {
    auto b = msg.As<Napi::Buffer<uint8_t>>();
    r.msg.assign(b.Data(), b.Data() + b.Length());
  }
  Napi::Value fds = a.Get(field::fdPatches);
  if (fds.IsArray()) {
    Napi::Array f = fds.As<Napi::Array>();
    for (uint32_t i = 0; i + fdfield::kStride <= f.Length(); i += fdfield::kStride) {
      FdPatch p;
      p.offset = f.Get(i + fdfield::offset).As<Napi::Number>().Uint32Value();
      p.path = stringAt(f, i + fdfield::path);
      p.ino = inoAt(f, i + fdfield::ino);
      r.fds.push_back(std::move(p));
    }
  }
  r.arg1 = stringAt(a, field::arg1);
  r.arg2 = stringAt(a, field::arg2);
  Napi::Value links = a.Get(field::linkPatches);
  if (links.IsArray()) {
    Napi::Array l = links.As<Napi::Array>();
    for (uint32_t i = 0; i + 2 <= l.Length(); i += 2) {
      LinkPatch p;
      p.offset = l.Get(i).As<Napi::Number>().Uint32Value();
      p.back = l.Get(i + 1).As<Napi::Number>().Uint32Value();
      r.links.push_back(p);
    }
  }
  return r;
}

// What the addon parses, described from the same lists parseRequest and the
// Kind enum use, so test/wire.test.ts can hold wire.ts against it.
Napi::Object protocol(Napi::Env env) {
  Napi::Object kinds = Napi::Object::New(env);
#define NSNET_KIND_ENTRY(name, value) kinds.Set(#name, static_cast<int>(Kind::name));
  NSNET_KINDS(NSNET_KIND_ENTRY)
#undef NSNET_KIND_ENTRY
  Napi::Array fields = Napi::Array::New(env, field::kCount);
  for (uint32_t i = 0; i < field::kCount; ++i) fields.Set(i, kFieldNames[i]);
  Napi::Array fdFields = Napi::Array::New(env, fdfield::kStride);
  for (uint32_t i = 0; i < fdfield::kStride; ++i) fdFields.Set(i, kFdPatchFieldNames[i]);
  Napi::Object o = Napi::Object::New(env);
  o.Set("kinds", kinds);
  o.Set("fields", fields);
  o.Set("fdPatchFields", fdFields);
  o.Set("fdPatchStride", static_cast<uint32_t>(fdfield::kStride));
  Napi::Object vjFields = Napi::Object::New(env);
#define NSNET_VJ_FIELD_ENTRY(name, at) vjFields.Set(#name, static_cast<uint32_t>(at));
  NSNET_VETH_JOIN_FIELDS(NSNET_VJ_FIELD_ENTRY)
#undef NSNET_VJ_FIELD_ENTRY
  Napi::Object vjFlags = Napi::Object::New(env);
#define NSNET_VJ_FLAG_ENTRY(name, bit) vjFlags.Set(#name, static_cast<uint32_t>(bit));
  NSNET_VETH_JOIN_FLAGS(NSNET_VJ_FLAG_ENTRY)
#undef NSNET_VJ_FLAG_ENTRY
  Napi::Object vj = Napi::Object::New(env);
  vj.Set("size", static_cast<uint32_t>(vethjoin::kSize));
  vj.Set("fields", vjFields);
  vj.Set("flags", vjFlags);
  o.Set("vethJoin", vj);
  return o;
}

// decodeRequest(tuple): parseRequest's reading of one request as a plain
// object keyed by field name. For the wire test; no kernel work.
Napi::Object decodedValue(Napi::Env env, const Request& r) {
  Napi::Array fds = Napi::Array::New(env, r.fds.size());
  for (size_t i = 0; i < r.fds.size(); ++i) {
    Napi::Object p = Napi::Object::New(env);
    p.Set(kFdPatchFieldNames[fdfield::offset], r.fds[i].offset);
    p.Set(kFdPatchFieldNames[fdfield::path], r.fds[i].path);
    p.Set(kFdPatchFieldNames[fdfield::ino], static_cast<double>(r.fds[i].ino));
    fds.Set(static_cast<uint32_t>(i), p);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set(kFieldNames[field::kind], static_cast<int>(r.kind));
  o.Set(kFieldNames[field::op], r.op);
  o.Set(kFieldNames[field::ns], r.ns);
  o.Set(kFieldNames[field::nsIno], static_cast<double>(r.nsIno));
  o.Set(kFieldNames[field::msg], r.msg.empty() ? Napi::Buffer<uint8_t>::New(env, 0)
                                               : Napi::Buffer<uint8_t>::Copy(env, r.msg.data(), r.msg.size()));
  o.Set(kFieldNames[field::fdPatches], fds);
  o.Set(kFieldNames[field::arg1], r.arg1);
  o.Set(kFieldNames[field::arg2], r.arg2);
  Napi::Array links = Napi::Array::New(env, r.links.size());
  for (size_t i = 0; i < r.links.size(); ++i) {
    Napi::Object p = Napi::Object::New(env);
    p.Set("offset", r.links[i].offset);
    p.Set("back", r.links[i].back);
    links.Set(static_cast<uint32_t>(i), p);
  }
  o.Set(kFieldNames[field::linkPatches], links);
  return o;
}

Napi::Value DecodeRequest(const Napi::CallbackInfo& info) {
  return decodedValue(info.Env(), parseRequest(info.Env(), info[0]));
}

// expandRequest(tuple): the requests a compound request (VethJoin) runs, as
// decodeRequest reads requests; a TypeError if the block is malformed. For
// the wire test, which holds them against src/netlink's own builders.
Napi::Value ExpandRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Request r = parseRequest(env, info[0]);
  if (r.kind != Kind::VethJoin) throw Napi::TypeError::New(env, "expandRequest: not a compound request");
  std::vector<Request> steps;
  NlError e = expandVethJoin(r, steps);
  if (!e.ok()) throw Napi::TypeError::New(env, e.extack);
  Napi::Array out = Napi::Array::New(env, steps.size());
  for (size_t i = 0; i < steps.size(); ++i) out.Set(static_cast<uint32_t>(i), decodedValue(env, steps[i]));
  return out;
}

Napi::Value Submit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine* engine = env.GetInstanceData<Engine>();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsArray())
    throw Napi::TypeError::New(env, "submit(lane, requests, stopOnError)");
  int lane = info[0].As<Napi::Number>().Int32Value();
  if (lane < 0 || lane >= Engine::kLanes) throw Napi::RangeError::New(env, "no such lane");
  Napi::Array reqs = info[1].As<Napi::Array>();
  auto job = std::make_unique<Job>();
  job->lane = lane;
  job->stopOnError = info.Length() > 2 && info[2].ToBoolean().Value();
  job->requests.reserve(reqs.Length());
  for (uint32_t i = 0; i < reqs.Length(); ++i) job->requests.push_back(parseRequest(env, reqs.Get(i)));
  // An inline job's answers themselves, not a promise: the JS side decides
  // when to hand them over (src/netlink/request.ts).
  if (engine->tryInline(job.get())) return resultsValue(env, *job);
  job->deferred.emplace(Napi::Promise::Deferred::New(env));
  Napi::Promise p = job->deferred->Promise();
  engine->submit(job.release());
  return p;
}

// Drops every lane's cached socket for a namespace path, on the calling
// thread: the registry is shared and locked, nothing here is
// namespace-affine, so a crossing (two thread wake-ups) would only add wait.
// A lane's request already holding the entry keeps it until it ends.
Napi::Value ForgetNamespace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "forgetNamespace(path)");
  env.GetInstanceData<Engine>()->registry().forget(info[0].As<Napi::String>().Utf8Value());
  return env.Undefined();
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  return info.Env().GetInstanceData<Engine>()->stats(info.Env());
}

}  // namespace

void completeJob(Napi::Env env, Napi::Function, Engine* engine, Job* job) {
  std::unique_ptr<Job> owned(job);
  if (env == nullptr) return;  // environment tearing down: nobody to tell
  Napi::HandleScope scope(env);
  Napi::Array out = resultsValue(env, *job);
  engine->settled(env);
  job->deferred->Resolve(out);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* engine = new Engine(env);
  env.SetInstanceData<Engine>(engine);
  // Registered after the completion TSFN exists, so it runs first at teardown:
  // threads are joined before the TSFN goes away.
  env.AddCleanupHook([engine]() { engine->shutdown(); });
  exports.Set("submit", Napi::Function::New(env, Submit, "submit"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  exports.Set("lanes", Napi::Number::New(env, Engine::kLanes));
  exports.Set("protocol", protocol(env));
  exports.Set("decodeRequest", Napi::Function::New(env, DecodeRequest, "decodeRequest"));
  exports.Set("expandRequest", Napi::Function::New(env, ExpandRequest, "expandRequest"));
  exports.Set("lockFile", Napi::Function::New(env, LockFile, "lockFile"));
  exports.Set("unlockFile", Napi::Function::New(env, UnlockFile, "unlockFile"));
  exports.Set("forgetNamespace", Napi::Function::New(env, ForgetNamespace, "forgetNamespace"));
  return exports;
}

}  // namespace nsnet

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return nsnet::Init(env, exports); }

NODE_API_MODULE(nsnet, InitModule)
