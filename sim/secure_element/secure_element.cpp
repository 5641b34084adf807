#include "sim/secure_element/secure_element.hpp"

namespace joincheck::sim {
namespace {

std::string message(std::string_view backend, const lorawan::Eui64& dev_eui,
                    std::string_view operation, std::optional<KeySlot> slot,
                    std::string_view reason) {
  std::string m = "secure element (" + std::string(backend) + ") of device " + dev_eui.hex() +
                  ": " + std::string(operation);
  if (slot) m += " with " + std::string(to_string(*slot));
  m += ": " + std::string(reason);
  return m;
}

}  // namespace

std::string_view to_string(KeySlot slot) {
  switch (slot) {
    case KeySlot::app_key:
      return "AppKey";
    case KeySlot::nwk_key:
      return "NwkKey";
    case KeySlot::js_int_key:
      return "JSIntKey";
    case KeySlot::js_enc_key:
      return "JSEncKey";
    case KeySlot::f_nwk_s_int_key:
      return "FNwkSIntKey";
    case KeySlot::s_nwk_s_int_key:
      return "SNwkSIntKey";
    case KeySlot::nwk_s_enc_key:
      return "NwkSEncKey";
    case KeySlot::app_s_key:
      return "AppSKey";
  }
  return "?";
}

SecureElementError::SecureElementError(std::string_view backend, const lorawan::Eui64& dev_eui,
                                       std::string operation, std::optional<KeySlot> slot,
                                       std::string_view reason)
    : lorawan::Error(message(backend, dev_eui, operation, slot, reason)),
      dev_eui_(dev_eui),
      operation_(std::move(operation)),
      slot_(slot) {}

void SecureElement::fail(std::string operation, std::optional<KeySlot> slot,
                         std::string_view reason) const {
  throw SecureElementError(backend(), identity().dev_eui, std::move(operation), slot, reason);
}

}  // namespace joincheck::sim
