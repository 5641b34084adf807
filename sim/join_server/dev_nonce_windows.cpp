#include "sim/join_server/dev_nonce_windows.hpp"

#include <algorithm>

namespace joincheck::sim::detail {
namespace {

constexpr std::size_t kSmallestClass = 16;  // values: the default window, 32 bytes
constexpr std::size_t kChunkBytes = 32 * 1024;
constexpr std::size_t kMaxSlotsPerChunk = 1024;

}  // namespace

DevNonceWindows::DevNonceWindows(std::size_t window) : window_(window) {
  for (std::size_t capacity = kSmallestClass;; capacity *= 2) {
    SizeClass c;
    c.capacity = std::min(capacity, window_);
    c.slots_per_chunk =
        std::clamp<std::size_t>(kChunkBytes / (c.capacity * 2), 1, kMaxSlotsPerChunk);
    classes_.push_back(std::move(c));
    if (capacity >= window_) break;
  }
}

std::size_t DevNonceWindows::class_of(std::size_t count) const {
  std::size_t k = 0;
  while (classes_[k].capacity < count) ++k;
  return k;
}

std::uint16_t* DevNonceWindows::values(std::size_t size_class, std::uint32_t slot) const {
  const SizeClass& c = classes_[size_class];
  return c.chunks[slot / c.slots_per_chunk].get() + (slot % c.slots_per_chunk) * c.capacity;
}

std::uint32_t DevNonceWindows::allocate_slot(std::size_t size_class) {
  SizeClass& c = classes_[size_class];
  std::uint32_t slot;
  if (!c.free_slots.empty()) {
    slot = c.free_slots.back();
    c.free_slots.pop_back();
  } else {
    slot = c.next_slot++;
    if (slot / c.slots_per_chunk >= c.chunks.size()) c.chunks.emplace_back();
  }
  auto& chunk = c.chunks[slot / c.slots_per_chunk];
  if (!chunk) {
    // Not zeroed: a slot is read only up to its count, so untouched pages stay unmapped.
    chunk = std::make_unique_for_overwrite<std::uint16_t[]>(c.slots_per_chunk * c.capacity);
    bytes_reserved_ += c.slots_per_chunk * c.capacity * 2;
  }
  return slot;
}

void DevNonceWindows::free_slot(std::size_t size_class, std::uint32_t slot) {
  SizeClass& c = classes_[size_class];
  c.free_slots.push_back(slot);
  if (c.slots_per_chunk == 1) {
    // A large slot (32 KiB and more) is returned at once rather than kept for the next device.
    c.chunks[slot].reset();
    bytes_reserved_ -= c.capacity * 2;
  }
}

bool DevNonceWindows::contains(const WindowRef& ref, std::uint16_t value) const {
  if (ref.count == 0) return false;
  const std::uint16_t* v = values(class_of(ref.count), ref.slot);
  return std::find(v, v + ref.count, value) != v + ref.count;
}

void DevNonceWindows::push(WindowRef& ref, std::uint16_t value) {
  if (ref.count == 0) {
    ref.slot = allocate_slot(0);
    ref.head = 0;
  }
  std::size_t k = class_of(ref.count == 0 ? 1 : ref.count);
  if (ref.count == classes_[k].capacity && k + 1 < classes_.size()) {
    // Full below the window: move to the next class. Below the last class nothing has wrapped,
    // so positions 0 to count-1 hold the values oldest first.
    const std::uint32_t bigger = allocate_slot(k + 1);
    const std::uint16_t* from = values(k, ref.slot);
    std::copy(from, from + ref.count, values(k + 1, bigger));
    free_slot(k, ref.slot);
    ref.slot = bigger;
    ref.head = ref.count;
    ++k;
  }
  const std::size_t capacity = classes_[k].capacity;
  values(k, ref.slot)[ref.head] = value;
  ref.head = static_cast<std::uint16_t>((ref.head + 1) % capacity);
  if (ref.count < capacity) ++ref.count;
}

std::vector<std::uint16_t> DevNonceWindows::oldest_first(const WindowRef& ref) const {
  std::vector<std::uint16_t> out;
  if (ref.count == 0) return out;
  const std::size_t k = class_of(ref.count);
  const std::size_t capacity = classes_[k].capacity;
  const std::uint16_t* v = values(k, ref.slot);
  out.reserve(ref.count);
  const std::size_t start = ref.count < capacity ? 0 : ref.head;
  for (std::size_t i = 0; i < ref.count; ++i) out.push_back(v[(start + i) % capacity]);
  return out;
}

void DevNonceWindows::assign(WindowRef& ref, std::span<const std::uint16_t> oldest_first) {
  release(ref);
  const std::size_t n = std::min(oldest_first.size(), window_);
  if (n == 0) return;
  const std::size_t k = class_of(n);
  ref.slot = allocate_slot(k);
  std::copy(oldest_first.end() - static_cast<std::ptrdiff_t>(n), oldest_first.end(),
            values(k, ref.slot));
  ref.count = static_cast<std::uint16_t>(n);
  ref.head = static_cast<std::uint16_t>(n % classes_[k].capacity);
}

void DevNonceWindows::release(WindowRef& ref) {
  if (ref.count != 0) free_slot(class_of(ref.count), ref.slot);
  ref = WindowRef{};
}

}  // namespace joincheck::sim::detail
