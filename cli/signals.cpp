#include "cli/signals.hpp"

#include <csignal>

namespace joincheck::cli {

namespace {

std::atomic<bool> g_cancel{false};
static_assert(std::atomic<bool>::is_always_lock_free);
extern "C" void on_cancel_signal(int) { g_cancel.store(true); }

}  // namespace

std::atomic<bool>& cancel_requested() { return g_cancel; }

CancelOnSignals::CancelOnSignals() {
  g_cancel.store(false);
  old_int_ = std::signal(SIGINT, on_cancel_signal);
  old_term_ = std::signal(SIGTERM, on_cancel_signal);
}

CancelOnSignals::~CancelOnSignals() {
  std::signal(SIGINT, old_int_);
  std::signal(SIGTERM, old_term_);
}

}  // namespace joincheck::cli
