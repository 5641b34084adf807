// The codec's missing-field rules (codec.hpp missing_fields()): the mandatory fields a message
// lacks, from the presence rules of its field table (M, and Ms when Result is Success) and the
// rules one presence flag cannot express (a JoinAns's network keys by MACVersion, its AppSKey
// or SessionKeyID; a HomeNSAns's HNSID under TS002 1.1).
#include <algorithm>
#include <array>

#include "backend/codec.hpp"
#include "backend/codec_fields.hpp"

namespace joincheck::backend {
namespace {

using codec_detail::Presence;
using codec_detail::table;
namespace name = codec_detail::name;

// Rules that one presence flag cannot express; none for most messages.
template <class M>
void extra_missing(const M&, bool, std::optional<lorawan::MacVersion>, std::vector<MissingField>&) {
}

// JoinAns on success: the network keys of the MACVersion, and AppSKey or SessionKeyID
// (TS002 1.0 §8 step 4; docs/checks.md#answer).
void extra_missing(const JoinAns& m, bool success, std::optional<lorawan::MacVersion> mac_version,
                   std::vector<MissingField>& out) {
  if (!success) return;
  const std::array<std::pair<std::string_view, bool>, 3> keys_1_1{{
      {name::kFNwkSIntKey, m.f_nwk_s_int_key.has_value()},
      {name::kSNwkSIntKey, m.s_nwk_s_int_key.has_value()},
      {name::kNwkSEncKey, m.nwk_s_enc_key.has_value()},
  }};
  const auto add_missing_1_1 = [&](const std::string& rule) {
    for (const auto& [key, present] : keys_1_1) {
      if (!present) out.push_back({std::string(key), rule});
    }
  };
  if (mac_version) {
    if (!lorawan::is_1_1(*mac_version)) {
      if (!m.nwk_s_key) {
        out.push_back({std::string(name::kNwkSKey),
                       "mandatory when Result is Success and MACVersion is 1.0.x"});
      }
    } else {
      add_missing_1_1("mandatory when Result is Success and MACVersion is 1.1");
    }
  } else if (!m.nwk_s_key) {
    const bool any_1_1 =
        std::any_of(keys_1_1.begin(), keys_1_1.end(), [](const auto& k) { return k.second; });
    if (any_1_1) {
      add_missing_1_1(
          "mandatory when Result is Success and other LoRaWAN 1.1 network keys are "
          "present");
    } else {
      out.push_back({std::string(name::kNwkSKey),
                     "NwkSKey (LoRaWAN 1.0.x) or FNwkSIntKey, SNwkSIntKey and NwkSEncKey (1.1) "
                     "are mandatory when Result is Success"});
    }
  }
  if (!m.app_s_key && !m.session_key_id) {
    out.push_back({std::string(name::kAppSKey),
                   "AppSKey or SessionKeyID (or both) is mandatory when Result is Success"});
  }
}

// HomeNSAns under TS002 1.1 carries HNSID in its header.
void extra_missing(const HomeNSAns& m, bool success, std::optional<lorawan::MacVersion>,
                   std::vector<MissingField>& out) {
  if (success && m.header.protocol_version == ProtocolVersion::v1_1 && !m.header.hns_id) {
    out.push_back(
        {std::string(name::kHnsId), "mandatory in ProtocolVersion 1.1 when Result is Success"});
  }
}

template <class M>
std::vector<MissingField> missing_of(const M& m, std::optional<lorawan::MacVersion> mac_version) {
  bool success = false;
  if constexpr (requires { m.result; }) success = m.result && m.result->is_success();
  std::vector<MissingField> out;
  const auto check = [&](const auto& f) {
    if ((m.*(f.member)).has_value()) return;
    if (f.presence == Presence::mandatory) {
      out.push_back({std::string(f.name), "mandatory"});
    } else if (f.presence == Presence::on_success && success) {
      out.push_back({std::string(f.name), "mandatory when Result is Success"});
    }
  };
  std::apply([&](const auto&... f) { (check(f), ...); }, table<M>());
  extra_missing(m, success, mac_version, out);
  return out;
}

}  // namespace

std::vector<MissingField> missing_fields(const Message& message,
                                         std::optional<lorawan::MacVersion> request_mac_version) {
  return std::visit([&](const auto& m) { return missing_of(m, request_mac_version); }, message);
}

}  // namespace joincheck::backend
