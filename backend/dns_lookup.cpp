#include "backend/dns_lookup.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <future>
#include <memory>
#include <thread>

namespace joincheck::backend {

namespace {

DnsLookupResult resolve_now(const std::string& name) {
  DnsLookupResult r;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    r.error = ::gai_strerror(rc);
    return r;
  }
  for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    const void* src = a->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr)
                                              : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (::inet_ntop(a->ai_family, src, buf, sizeof buf) != nullptr) {
      std::string s(buf);
      bool seen = false;
      for (const auto& x : r.addresses) seen = seen || x == s;
      if (!seen) r.addresses.push_back(std::move(s));
    }
  }
  ::freeaddrinfo(res);
  r.resolved = !r.addresses.empty();
  if (!r.resolved) r.error = "no address";
  return r;
}

}  // namespace

DnsLookupResult lookup_host(const std::string& name, std::chrono::milliseconds deadline) {
  auto promise = std::make_shared<std::promise<DnsLookupResult>>();
  std::future<DnsLookupResult> future = promise->get_future();
  std::thread([promise, name] { promise->set_value(resolve_now(name)); }).detach();
  if (future.wait_for(deadline) != std::future_status::ready) {
    DnsLookupResult r;
    r.timed_out = true;
    r.error = "no answer within " + std::to_string(deadline.count()) + " ms";
    return r;
  }
  return future.get();
}

}  // namespace joincheck::backend
