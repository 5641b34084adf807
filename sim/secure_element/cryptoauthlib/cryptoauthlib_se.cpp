#include "sim/secure_element/cryptoauthlib/cryptoauthlib_se.hpp"

#include <cryptoauthlib.h>

#include <algorithm>

#include "sim/secure_element/atecc608/i2c_transport.hpp"
#include "sim/secure_element/atecc608/protocol.hpp"

namespace joincheck::sim {
namespace {

std::size_t index_of(KeySlot slot) { return static_cast<std::size_t>(slot); }

std::string status_text(int status) {
  const auto byte = static_cast<std::uint8_t>(status);
  return "cryptoauthlib status 0x" + lorawan::to_hex(lorawan::ByteSpan(&byte, 1));
}

constexpr auto kDataZone = static_cast<std::uint8_t>(atecc608::Zone::data);

}  // namespace

// The library's device and the configuration it keeps a pointer to.
struct CryptoauthlibSe::Device {
  ATCAIfaceCfg config{};
  ATCADevice handle = nullptr;
};

CryptoauthlibSeOptions CryptoauthlibSeOptions::for_version(lorawan::MacVersion version) {
  CryptoauthlibSeOptions options;
  options.slot_map = AteccSlotMap::tnglora(version);
  options.nwk_key_provisioned = lorawan::is_1_1(version);
  return options;
}

CryptoauthlibSe::CryptoauthlibSe(const lorawan::Eui64& expected_dev_eui,
                                 CryptoauthlibSeOptions options)
    : options_(std::move(options)), device_(std::make_unique<Device>()) {
  description_ = "cryptoauthlib, /dev/i2c-" + std::to_string(options_.bus) + " address " +
                 atecc608::i2c_address_hex(options_.address);
  identity_.dev_eui = expected_dev_eui;
  present_[index_of(KeySlot::app_key)] = options_.app_key_provisioned;
  present_[index_of(KeySlot::nwk_key)] = options_.nwk_key_provisioned;

  ATCAIfaceCfg& cfg = device_->config;
  cfg.iface_type = ATCA_I2C_IFACE;
  cfg.devtype = ATECC608A;
#ifdef ATCA_ENABLE_DEPRECATED
  cfg.atcai2c.slave_address = static_cast<std::uint8_t>(options_.address << 1);
#else
  cfg.atcai2c.address = static_cast<std::uint8_t>(options_.address << 1);  // 8-bit form: 0xB2
#endif
  cfg.atcai2c.bus = static_cast<std::uint8_t>(options_.bus);
  cfg.atcai2c.baud = 100000;
  cfg.wake_delay = 1500;
  cfg.rx_retries = 20;
  check(atcab_init_ext(&device_->handle, &cfg), "open (atcab_init_ext)", std::nullopt);

  std::array<std::uint8_t, 32> dev_eui_block{};
  std::array<std::uint8_t, 32> join_eui_block{};
  check(atcab_read_serial_number_ext(device_->handle, serial_.data()),
        "reading the serial (atcab_read_serial_number_ext)", std::nullopt);
  check(atcab_read_zone_ext(device_->handle, kDataZone, options_.slot_map.dev_eui_slot, 0, 0,
                            dev_eui_block.data(), 32),
        "reading the DevEUI (atcab_read_zone_ext)", std::nullopt);
  check(atcab_read_zone_ext(device_->handle, kDataZone, options_.slot_map.join_eui_slot, 0, 0,
                            join_eui_block.data(), 32),
        "reading the JoinEUI (atcab_read_zone_ext)", std::nullopt);
  const std::string text(dev_eui_block.begin(), dev_eui_block.begin() + 16);
  if (!std::all_of(text.begin(), text.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); })) {
    fail_with("reading the DevEUI", std::nullopt,
              "slot " + std::to_string(options_.slot_map.dev_eui_slot) +
                  " does not start with 16 upper-case ASCII hex characters");
  }
  const lorawan::Eui64 dev_eui = lorawan::Eui64::parse(text, "DevEUI");
  if (options_.check_dev_eui && dev_eui != expected_dev_eui) {
    fail_with(
        "reading the DevEUI", std::nullopt,
        "the chip holds DevEUI " + dev_eui.hex() + ", the fleet expects " + expected_dev_eui.hex());
  }
  lorawan::Eui64::Array join_eui{};
  std::copy_n(join_eui_block.begin(), join_eui.size(), join_eui.begin());
  identity_.dev_eui = dev_eui;
  identity_.join_eui = lorawan::Eui64(join_eui);
}

CryptoauthlibSe::~CryptoauthlibSe() {
  if (device_ && device_->handle != nullptr) atcab_release_ext(&device_->handle);
}

void CryptoauthlibSe::fail_with(std::string operation, std::optional<KeySlot> slot,
                                std::string_view reason) const {
  throw SecureElementError(description_, identity_.dev_eui, std::move(operation), slot, reason);
}

void CryptoauthlibSe::check(int status, const std::string& operation,
                            std::optional<KeySlot> slot) const {
  if (status != ATCA_SUCCESS) fail_with(operation, slot, status_text(status));
}

bool CryptoauthlibSe::has_key(KeySlot slot) const { return present_[index_of(slot)]; }

void CryptoauthlibSe::need(KeySlot slot, const std::string& operation) const {
  if (!present_[index_of(slot)]) fail_with(operation, slot, "the slot holds no key");
}

void CryptoauthlibSe::set_key(KeySlot slot, const lorawan::Aes128Key& key) {
  if (is_root_slot(slot)) fail_with("set-key", slot, "root keys are provisioned, not written");
  std::array<std::uint8_t, 32> block{};  // key | 16 zeros, one 32-byte clear write
  std::copy(key.bytes().begin(), key.bytes().end(), block.begin());
  const int status = atcab_write_zone_ext(device_->handle, kDataZone, options_.slot_map[slot].slot,
                                          0, 0, block.data(), 32);
  block.fill(0);
  check(status, "set-key (atcab_write_zone_ext)", slot);
  present_[index_of(slot)] = true;
}

lorawan::Block CryptoauthlibSe::aes_encrypt(KeySlot slot, const lorawan::Block& in) {
  need(slot, "AES encrypt");
  const AteccKeyLocation& where = options_.slot_map[slot];
  lorawan::Block out{};
  check(atcab_aes_encrypt_ext(device_->handle, where.slot, where.block, in.data(), out.data()),
        "AES encrypt (atcab_aes_encrypt_ext)", slot);
  return out;
}

lorawan::Block CryptoauthlibSe::cmac(KeySlot slot, lorawan::ByteSpan message) {
  need(slot, "CMAC");
  const AteccKeyLocation& where = options_.slot_map[slot];
  atca_aes_cmac_ctx_t context{};
  check(atcab_aes_cmac_init_ext(device_->handle, &context, where.slot, where.block),
        "CMAC (atcab_aes_cmac_init_ext)", slot);
  if (!message.empty()) {
    check(
        atcab_aes_cmac_update(&context, message.data(), static_cast<std::uint32_t>(message.size())),
        "CMAC (atcab_aes_cmac_update)", slot);
  }
  lorawan::Block out{};
  check(atcab_aes_cmac_finish(&context, out.data(), static_cast<std::uint32_t>(out.size())),
        "CMAC (atcab_aes_cmac_finish)", slot);
  return out;
}

void CryptoauthlibSe::derive_and_store(KeySlot root, const lorawan::Block& input, KeySlot target) {
  const std::string operation = "derive-and-store (calib_kdf) from " + std::string(to_string(root));
  if (is_root_slot(target)) fail_with(operation, target, "root keys are provisioned, not derived");
  need(root, "derive-and-store");
  const AteccKeyLocation& from = options_.slot_map[root];
  const AteccKeyLocation& to = options_.slot_map[target];
  const auto mode = static_cast<std::uint8_t>(atecc608::kKdfAlgorithmAes |
                                              static_cast<std::uint8_t>(atecc608::KdfSource::slot) |
                                              static_cast<std::uint8_t>(atecc608::KdfTarget::slot));
  const auto key_id = static_cast<std::uint16_t>(to.slot << 8 | from.slot);
  check(calib_kdf(device_->handle, mode, key_id, from.block, input.data(), nullptr, nullptr),
        operation, target);
  present_[index_of(target)] = true;
}

void CryptoauthlibSe::random(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    std::array<std::uint8_t, 32> block{};
    check(atcab_random_ext(device_->handle, block.data()), "random (atcab_random_ext)",
          std::nullopt);
    const std::size_t n = std::min(block.size(), out.size() - done);
    std::copy_n(block.begin(), n, out.begin() + static_cast<long>(done));
    done += n;
  }
}

}  // namespace joincheck::sim
