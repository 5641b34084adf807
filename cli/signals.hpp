#pragma once
// Ctrl-C and SIGTERM for the commands that stop cleanly and still write their reports (gateway,
// load): while a CancelOnSignals lives, the signals set cancel_requested(); then the previous
// handlers are back.

#include <atomic>

namespace joincheck::cli {

// Lock-free, so a signal handler may set it.
std::atomic<bool>& cancel_requested();

class CancelOnSignals {
 public:
  // Clears cancel_requested() and installs the handlers.
  CancelOnSignals();
  ~CancelOnSignals();
  CancelOnSignals(const CancelOnSignals&) = delete;
  CancelOnSignals& operator=(const CancelOnSignals&) = delete;

 private:
  using Handler = void (*)(int);
  Handler old_int_;
  Handler old_term_;
};

}  // namespace joincheck::cli
