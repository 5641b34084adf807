#include "sim/secure_element/atecc608/atecc_se.hpp"

#include <algorithm>
#include <utility>

#include "sim/secure_element/atecc608/emulated_transport.hpp"

namespace joincheck::sim {
namespace {

using atecc608::CommandError;
using lorawan::Block;

std::size_t index_of(KeySlot slot) { return static_cast<std::size_t>(slot); }

constexpr std::array<KeySlot, kKeySlotCount> kAllSlots = {
    KeySlot::app_key,         KeySlot::nwk_key,         KeySlot::js_int_key,    KeySlot::js_enc_key,
    KeySlot::f_nwk_s_int_key, KeySlot::s_nwk_s_int_key, KeySlot::nwk_s_enc_key, KeySlot::app_s_key};

// RFC 4493 §2.3 "doubling" in GF(2^128): shift left one bit, XOR 0x87 into the last byte when
// the bit shifted out was set.

}  // namespace

AteccSlotMap AteccSlotMap::tnglora(lorawan::MacVersion version) {
  AteccSlotMap map;
  if (lorawan::is_1_1(version)) {
    map[KeySlot::app_key] = AteccKeyLocation{0, 0};
    map[KeySlot::nwk_key] = AteccKeyLocation{0, 1};
  } else {
    // The one 1.0.x root key is the key LoRaMac-node's 1.0.x code calls NWK_KEY: block 1.
    map[KeySlot::app_key] = AteccKeyLocation{0, 1};
    map[KeySlot::nwk_key] = AteccKeyLocation{0, 1};  // unused: a 1.0.x chip has no NwkKey
  }
  map[KeySlot::app_s_key] = AteccKeyLocation{2, 0};
  map[KeySlot::nwk_s_enc_key] = AteccKeyLocation{3, 0};
  map[KeySlot::s_nwk_s_int_key] = AteccKeyLocation{4, 0};
  map[KeySlot::f_nwk_s_int_key] = AteccKeyLocation{5, 0};
  map[KeySlot::js_int_key] = AteccKeyLocation{6, 0};
  map[KeySlot::js_enc_key] = AteccKeyLocation{7, 0};
  return map;
}

AteccSeOptions AteccSeOptions::for_version(lorawan::MacVersion version) {
  AteccSeOptions options;
  options.slot_map = AteccSlotMap::tnglora(version);
  options.app_key_provisioned = true;
  options.nwk_key_provisioned = lorawan::is_1_1(version);
  return options;
}

AteccSe::AteccSe(std::unique_ptr<atecc608::Transport> transport,
                 const lorawan::Eui64& expected_dev_eui, AteccSeOptions options)
    : client_(std::move(transport), options.client), options_(std::move(options)) {
  description_ = "atecc608, " + client_.transport().describe();
  identity_.dev_eui = expected_dev_eui;
  for (const KeySlot slot : kAllSlots) {
    const AteccKeyLocation& where = options_.slot_map[slot];
    const bool root = is_root_slot(slot);
    if (where.slot >= atecc608::kSlotCount || where.block > 3 || (!root && where.block != 0) ||
        (where.block + 1u) * 16u > atecc608::slot_size(where.slot)) {
      throw lorawan::Error("ATECC608 slot map: " + std::string(to_string(slot)) + " at slot " +
                           std::to_string(where.slot) + " block " + std::to_string(where.block) +
                           ": expected a slot 0-15 and a 16-byte block inside it (block 0 for session "
                           "keys; slots 0-7 hold 36 bytes, so blocks 0 and 1)");
    }
  }
  present_[index_of(KeySlot::app_key)] = options_.app_key_provisioned;
  present_[index_of(KeySlot::nwk_key)] = options_.nwk_key_provisioned;
  read_identity(expected_dev_eui);
}

std::unique_ptr<AteccSe> AteccSe::emulated(std::shared_ptr<atecc608::Emulator> chip,
                                           const lorawan::Eui64& expected_dev_eui,
                                           AteccSeOptions options) {
  return std::make_unique<AteccSe>(std::make_unique<atecc608::EmulatedTransport>(std::move(chip)),
                                   expected_dev_eui, std::move(options));
}

void AteccSe::fail_with(std::string operation, std::optional<KeySlot> slot,
                        std::string_view reason) const {
  throw SecureElementError(description_, identity_.dev_eui, std::move(operation), slot, reason);
}

void AteccSe::read_identity(const lorawan::Eui64& expected_dev_eui) {
  const auto& map = options_.slot_map;
  lorawan::Bytes dev_eui_block;
  lorawan::Bytes join_eui_block;
  try {
    serial_ = client_.read_serial();
    dev_eui_block = client_.read(
        atecc608::Zone::data, atecc608::data_address(map.dev_eui_slot, 0, 0), atecc608::kBlockSize);
    join_eui_block =
        client_.read(atecc608::Zone::data, atecc608::data_address(map.join_eui_slot, 0, 0),
                     atecc608::kBlockSize);
  } catch (const CommandError& e) {
    fail_with("reading the identity (" + e.command() + ")", std::nullopt, e.reason());
  }
  // 16 ASCII hex characters, upper case only (LoRaMac-node's parser accepts nothing else).
  const std::string text(dev_eui_block.begin(), dev_eui_block.begin() + 16);
  const bool upper_hex = std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
  });
  if (!upper_hex) {
    fail_with(
        "reading the DevEUI", std::nullopt,
        "slot " + std::to_string(map.dev_eui_slot) +
            " does not start with 16 upper-case ASCII hex characters: got bytes " +
            lorawan::to_hex(lorawan::ByteSpan(dev_eui_block).first(16), lorawan::HexCase::upper));
  }
  const lorawan::Eui64 dev_eui = lorawan::Eui64::parse(text, "DevEUI");
  if (options_.check_dev_eui && dev_eui != expected_dev_eui) {
    fail_with("reading the DevEUI", std::nullopt,
              "the chip holds DevEUI " + dev_eui.hex() + " in slot " +
                  std::to_string(map.dev_eui_slot) + ", the fleet expects " +
                  expected_dev_eui.hex());
  }
  lorawan::Eui64::Array join_eui{};
  std::copy_n(join_eui_block.begin(), join_eui.size(), join_eui.begin());
  identity_.dev_eui = dev_eui;
  identity_.join_eui = lorawan::Eui64(join_eui);
}

bool AteccSe::has_key(KeySlot slot) const { return present_[index_of(slot)]; }

void AteccSe::need(KeySlot slot, const std::string& operation) const {
  if (!present_[index_of(slot)]) fail_with(operation, slot, "the slot holds no key");
}

Block AteccSe::chip_aes(KeySlot slot, const Block& in, const std::string& operation) {
  const AteccKeyLocation& where = options_.slot_map[slot];
  try {
    return client_.aes_encrypt(where.slot, where.block, in);
  } catch (const CommandError& e) {
    fail_with(operation, slot,
              e.command() + " on slot " + std::to_string(where.slot) + " block " + std::to_string(where.block) + ": " +
                  e.reason());
  }
}

void AteccSe::set_key(KeySlot slot, const lorawan::Aes128Key& key) {
  if (is_root_slot(slot)) fail_with("set-key", slot, "root keys are provisioned, not written");
  const AteccKeyLocation& where = options_.slot_map[slot];
  std::array<std::uint8_t, atecc608::kBlockSize> block{};  // key | 16 zeros
  std::copy(key.bytes().begin(), key.bytes().end(), block.begin());
  try {
    client_.write(atecc608::Zone::data, atecc608::data_address(where.slot, 0, 0), block);
  } catch (const CommandError& e) {
    block.fill(0);
    fail_with("set-key (Write slot " + std::to_string(where.slot) + ")", slot, e.reason());
  }
  block.fill(0);
  present_[index_of(slot)] = true;
}

Block AteccSe::aes_encrypt(KeySlot slot, const Block& in) {
  need(slot, "AES encrypt");
  return chip_aes(slot, in, "AES encrypt");
}

Block AteccSe::cmac(KeySlot slot, lorawan::ByteSpan message) {
  const std::string operation = "CMAC";
  need(slot, operation);
  // The chip has AES-ECB, not CMAC: the mode runs on the host, one AES command per block, as
  // cryptoauthlib's atcab_aes_cmac_* does.
  return lorawan::cmac_with(message, [&](const Block& in) { return chip_aes(slot, in, operation); });
}

void AteccSe::derive_and_store(KeySlot root, const Block& input, KeySlot target) {
  const AteccKeyLocation& from = options_.slot_map[root];
  const AteccKeyLocation& to = options_.slot_map[target];
  const std::string operation = "derive-and-store (KDF AES) from " + std::string(to_string(root)) + " (slot " +
                                std::to_string(from.slot) + " block " + std::to_string(from.block) + ") into " +
                                std::string(to_string(target)) + " (slot " + std::to_string(to.slot) + ")";
  if (is_root_slot(target)) fail_with(operation, std::nullopt, "root keys are provisioned, not derived");
  need(root, "derive-and-store");
  try {
    client_.kdf_aes_into_slot(from.slot, from.block, to.slot, input);
  } catch (const CommandError& e) {
    fail_with(operation, std::nullopt, e.command() + ": " + e.reason());
  }
  present_[index_of(target)] = true;
}

void AteccSe::random(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    std::array<std::uint8_t, 32> block{};
    try {
      block = client_.random();
    } catch (const CommandError& e) {
      fail_with("random", std::nullopt, e.reason());
    }
    const std::size_t n = std::min(block.size(), out.size() - done);
    std::copy_n(block.begin(), n, out.begin() + static_cast<long>(done));
    done += n;
  }
}

}  // namespace joincheck::sim
