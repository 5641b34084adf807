#pragma once
// The DevNonce windows of the MAC 1.0.0-1.0.3 devices of one shard of the device store (internal
// to DeviceStore; see device_store.hpp for the rule they implement).
//
// A window remembers the last N DevNonces a device used (N = dev_nonce_window, 1 to 65535). Its
// memory follows the DevNonces actually seen, not N: a device's values live in a slot of a size
// class of 16, 32, 64, ... values, capped at N, and move to the next class when their slot is
// full. Only the last class (N values) wraps around as a ring. Slots are carved from chunks of at
// most 32 KiB per class, so a device that joined once costs 32 bytes whatever N is; a full window
// of 65535 costs 128 KiB, allocated when it is reached and returned when the device leaves it.
//
// Not thread-safe: the caller holds the shard's lock.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace joincheck::sim::detail {

// Where a device's window is; kept in the device's entry (8 bytes). A slot is allocated exactly
// when count >= 1, and the size class follows from count (the smallest that holds it).
struct WindowRef {
  static constexpr std::uint32_t kNoSlot = 0xffffffff;
  std::uint32_t slot = kNoSlot;
  std::uint16_t count = 0;  // DevNonces remembered
  std::uint16_t head = 0;   // next position written; in the last class, once full, the oldest
};

class DevNonceWindows {
 public:
  explicit DevNonceWindows(std::size_t window = 16);

  std::size_t window() const { return window_; }
  bool contains(const WindowRef& ref, std::uint16_t value) const;
  // Remembers `value`, forgetting the oldest once the window holds `window` values.
  void push(WindowRef& ref, std::uint16_t value);
  std::vector<std::uint16_t> oldest_first(const WindowRef& ref) const;
  // Replaces the window with the newest `window` of `values` (oldest first).
  void assign(WindowRef& ref, std::span<const std::uint16_t> values);
  void release(WindowRef& ref);
  // Bytes of the chunks allocated for slots (in use or free).
  std::size_t bytes_reserved() const { return bytes_reserved_; }

 private:
  struct SizeClass {
    std::size_t capacity = 0;         // values per slot
    std::size_t slots_per_chunk = 0;  // 1 for the large classes: freed with their slot
    std::vector<std::unique_ptr<std::uint16_t[]>> chunks;
    std::uint32_t next_slot = 0;
    std::vector<std::uint32_t> free_slots;
  };

  std::size_t class_of(std::size_t count) const;
  std::uint16_t* values(std::size_t size_class, std::uint32_t slot) const;
  std::uint32_t allocate_slot(std::size_t size_class);
  void free_slot(std::size_t size_class, std::uint32_t slot);

  std::size_t window_;
  std::vector<SizeClass> classes_;
  std::size_t bytes_reserved_ = 0;
};

}  // namespace joincheck::sim::detail
