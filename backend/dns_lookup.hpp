#pragma once
// Resolving a host name to addresses with a deadline, as an NS does before it connects to a
// Join Server found by its JoinEUI (TS002 1.0 §19). getaddrinfo has no timeout of its own: the
// lookup runs on a thread of its own, and a lookup that outlives the deadline is reported as
// timed out and left to finish in the background (it holds nothing but its own copy of the name).

#include <chrono>
#include <string>
#include <vector>

namespace joincheck::backend {

struct DnsLookupResult {
  bool resolved = false;
  bool timed_out = false;
  std::vector<std::string> addresses;  // "192.0.2.1", "2001:db8::1"
  std::string error;                   // gai_strerror text, or "no answer within N ms"
};

DnsLookupResult lookup_host(const std::string& name, std::chrono::milliseconds deadline);

}  // namespace joincheck::backend
