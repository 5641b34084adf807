// Low-level LoRaWAN helpers for tests: join-requests, join-accepts (JS side and device side),
// session key derivation, RFC 3394 key wrap and TS002 KeyEnvelopes. Thin wrappers of lorawan/
// and backend/key_envelope.hpp: the formulas are written once, there.

#include <pybind11/stl.h>

#include "backend/key_envelope.hpp"
#include "convert.hpp"
#include "lorawan/crypto.hpp"
#include "lorawan/join_frames.hpp"
#include "lorawan/join_procedure.hpp"
#include "lorawan/session_keys.hpp"
#include "module.hpp"

namespace joincheck::python {

namespace {

using lorawan::Aes128Key;

py::bytes key_bytes(const Aes128Key& key) { return wire_bytes(key); }

// A derived set of session keys. The values are bytes on attribute access; repr() never shows
// them.
struct PySessionKeys {
  lorawan::SessionKeys keys;
  bool lorawan_1_1 = false;  // four distinct keys; otherwise the 1.0 NwkSKey fills three
};

// --- join-request --------------------------------------------------------------------------------

void bind_join_request(py::module_& m) {
  py::class_<lorawan::JoinRequest>(
      m, "JoinRequest",
      "A LoRaWAN join-request (MHDR JoinEUI DevEUI DevNonce MIC). EUIs are hex "
      "strings in display order (MSB first), DevNonce an int, MIC bytes.")
      .def(py::init(
               [](py::object join_eui, py::object dev_eui, py::object dev_nonce, py::object mic) {
                 lorawan::JoinRequest r;
                 r.join_eui = eui_arg(join_eui, "JoinEUI");
                 r.dev_eui = eui_arg(dev_eui, "DevEUI");
                 r.dev_nonce = dev_nonce_arg(dev_nonce);
                 if (!mic.is_none()) r.mic = lorawan::Mic::from_wire(bytes_arg(mic, "MIC"));
                 return r;
               }),
           py::kw_only(), py::arg("join_eui"), py::arg("dev_eui"), py::arg("dev_nonce"),
           py::arg("mic") = py::none(),
           "A join-request from its fields (the MIC defaults to 00000000; build_join_request() "
           "computes it).")
      .def_property_readonly(
          "join_eui", [](const lorawan::JoinRequest& r) { return r.join_eui.hex(); },
          "JoinEUI, hex, MSB first.")
      .def_property_readonly(
          "dev_eui", [](const lorawan::JoinRequest& r) { return r.dev_eui.hex(); },
          "DevEUI, hex, MSB first.")
      .def_property_readonly(
          "dev_nonce", [](const lorawan::JoinRequest& r) { return r.dev_nonce.value(); },
          "DevNonce as an int.")
      .def_property_readonly(
          "mic", [](const lorawan::JoinRequest& r) { return wire_bytes(r.mic); },
          "The 4-byte MIC as on the air.")
      .def(
          "mic_valid",
          [](const lorawan::JoinRequest& r, py::object key) {
            return lorawan::join_request_mic(key_arg(key, "key"), r) == r.mic;
          },
          py::arg("key"),
          "Whether the MIC verifies with `key` (AppKey of a 1.0.x device, NwkKey of a 1.1 one).")
      .def(
          "to_bytes",
          [](const lorawan::JoinRequest& r) { return to_bytes(lorawan::encode_join_request(r)); },
          "The PHYPayload, 23 bytes.")
      .def("__bytes__",
           [](const lorawan::JoinRequest& r) { return to_bytes(lorawan::encode_join_request(r)); })
      .def("__eq__",
           [](const lorawan::JoinRequest& a, const lorawan::JoinRequest& b) {
             return a.join_eui == b.join_eui && a.dev_eui == b.dev_eui &&
                    a.dev_nonce == b.dev_nonce && a.mic == b.mic;
           })
      .def("__repr__", [](const lorawan::JoinRequest& r) {
        return "JoinRequest(join_eui='" + r.join_eui.hex() + "', dev_eui='" + r.dev_eui.hex() +
               "', dev_nonce=" + std::to_string(r.dev_nonce.value()) + ", mic='" + r.mic.hex() +
               "')";
      });
}

void def_join_request_functions(py::module_& m) {
  m.def(
      "build_join_request",
      [](py::object key, py::object join_eui, py::object dev_eui, py::object dev_nonce) {
        lorawan::JoinRequest r;
        r.join_eui = eui_arg(join_eui, "JoinEUI");
        r.dev_eui = eui_arg(dev_eui, "DevEUI");
        r.dev_nonce = dev_nonce_arg(dev_nonce);
        return to_bytes(lorawan::build_join_request(key_arg(key, "key"), r));
      },
      py::arg("key"), py::kw_only(), py::arg("join_eui"), py::arg("dev_eui"), py::arg("dev_nonce"),
      "The PHYPayload of a join-request (23 bytes) with its MIC computed with `key`: the AppKey of "
      "a "
      "LoRaWAN 1.0.x device, the NwkKey of a 1.1 device. EUIs as hex strings (MSB first) or 8 "
      "bytes; "
      "dev_nonce an int or 4 hex digits.");
  m.def(
      "parse_join_request",
      [](py::object phy) { return lorawan::parse_join_request(bytes_arg(phy, "PHYPayload")); },
      py::arg("phy_payload"),
      "Parses a join-request PHYPayload (bytes or hex). Raises joincheck.Error naming what was "
      "seen.");
}

// --- session keys --------------------------------------------------------------------------------

void bind_session_keys(py::module_& m) {
  py::class_<PySessionKeys>(
      m, "SessionKeys",
      "Session keys of a join. Attributes are bytes; repr() and str() never show them "
      "(use reveal() to see them as hex). For LoRaWAN 1.0.x (and a 1.1 device served with "
      "OptNeg=0) the three network keys are the same key, the 1.0 NwkSKey.")
      .def_property_readonly(
          "f_nwk_s_int_key",
          [](const PySessionKeys& k) { return key_bytes(k.keys.f_nwk_s_int_key); },
          "FNwkSIntKey (the NwkSKey under 1.0.x).")
      .def_property_readonly(
          "s_nwk_s_int_key",
          [](const PySessionKeys& k) { return key_bytes(k.keys.s_nwk_s_int_key); },
          "SNwkSIntKey (the NwkSKey under 1.0.x).")
      .def_property_readonly(
          "nwk_s_enc_key", [](const PySessionKeys& k) { return key_bytes(k.keys.nwk_s_enc_key); },
          "NwkSEncKey (the NwkSKey under 1.0.x).")
      .def_property_readonly(
          "nwk_s_key", [](const PySessionKeys& k) { return key_bytes(k.keys.nwk_s_key()); },
          "The 1.0 NwkSKey (= FNwkSIntKey).")
      .def_property_readonly(
          "app_s_key", [](const PySessionKeys& k) { return key_bytes(k.keys.app_s_key); },
          "AppSKey.")
      .def(
          "reveal",
          [](const PySessionKeys& k) {
            py::dict d;
            if (k.lorawan_1_1) {
              d["FNwkSIntKey"] = k.keys.f_nwk_s_int_key.hex();
              d["SNwkSIntKey"] = k.keys.s_nwk_s_int_key.hex();
              d["NwkSEncKey"] = k.keys.nwk_s_enc_key.hex();
            } else {
              d["NwkSKey"] = k.keys.nwk_s_key().hex();
            }
            d["AppSKey"] = k.keys.app_s_key.hex();
            return d;
          },
          "The keys as a dict of hex strings under their specification names (NwkSKey or "
          "FNwkSIntKey, "
          "SNwkSIntKey, NwkSEncKey; AppSKey). This is the only way a key is shown as text.")
      .def("__eq__",
           [](const PySessionKeys& a, const PySessionKeys& b) { return a.keys == b.keys; })
      .def("__repr__", [](const PySessionKeys& k) {
        return std::string(k.lorawan_1_1
                               ? "SessionKeys(FNwkSIntKey=<redacted>, SNwkSIntKey=<redacted>, "
                                 "NwkSEncKey=<redacted>, AppSKey=<redacted>)"
                               : "SessionKeys(NwkSKey=<redacted>, AppSKey=<redacted>)");
      });
}

void bind_js_keys(py::module_& m) {
  py::class_<lorawan::JsKeys>(
      m, "JsKeys",
      "LoRaWAN 1.1 lifetime keys JSIntKey and JSEncKey (bytes); repr() never shows them.")
      .def_property_readonly(
          "js_int_key", [](const lorawan::JsKeys& k) { return key_bytes(k.js_int_key); },
          "JSIntKey.")
      .def_property_readonly(
          "js_enc_key", [](const lorawan::JsKeys& k) { return key_bytes(k.js_enc_key); },
          "JSEncKey.")
      .def(
          "reveal",
          [](const lorawan::JsKeys& k) {
            py::dict d;
            d["JSIntKey"] = k.js_int_key.hex();
            d["JSEncKey"] = k.js_enc_key.hex();
            return d;
          },
          "The keys as a dict of hex strings.")
      .def("__eq__",
           [](const lorawan::JsKeys& a, const lorawan::JsKeys& b) {
             return a.js_int_key == b.js_int_key && a.js_enc_key == b.js_enc_key;
           })
      .def("__repr__", [](const lorawan::JsKeys&) {
        return std::string("JsKeys(JSIntKey=<redacted>, JSEncKey=<redacted>)");
      });
}

void def_session_key_functions(py::module_& m) {
  m.def(
      "derive_session_keys_1_0",
      [](py::object root_key, py::object join_nonce, py::object net_id, py::object dev_nonce) {
        return PySessionKeys{lorawan::derive_session_keys_1_0(
                                 key_arg(root_key, "root_key"), join_nonce_arg(join_nonce),
                                 net_id_arg(net_id), dev_nonce_arg(dev_nonce)),
                             false};
      },
      py::arg("root_key"), py::kw_only(), py::arg("join_nonce"), py::arg("net_id"),
      py::arg("dev_nonce"),
      "LoRaWAN 1.0.x session keys: NwkSKey = E(root, 01|JoinNonce|NetID|DevNonce|pad16), AppSKey = "
      "E(root, 02|...). "
      "`root_key` is the AppKey of a 1.0.x device, or the NwkKey of a 1.1 device joined with "
      "OptNeg=0.");
  m.def(
      "derive_session_keys_1_1",
      [](py::object nwk_key, py::object app_key, py::object join_nonce, py::object join_eui,
         py::object dev_nonce) {
        return PySessionKeys{
            lorawan::derive_session_keys_1_1(
                key_arg(nwk_key, "NwkKey"), key_arg(app_key, "AppKey"), join_nonce_arg(join_nonce),
                eui_arg(join_eui, "JoinEUI"), dev_nonce_arg(dev_nonce)),
            true};
      },
      py::kw_only(), py::arg("nwk_key"), py::arg("app_key"), py::arg("join_nonce"),
      py::arg("join_eui"), py::arg("dev_nonce"),
      "LoRaWAN 1.1 (OptNeg=1) session keys: FNwkSIntKey/SNwkSIntKey/NwkSEncKey = E(NwkKey, "
      "01/03/04|JoinNonce|"
      "JoinEUI|DevNonce|pad16), AppSKey = E(AppKey, 02|...). For a rejoin, dev_nonce is the "
      "RJcount.");
  m.def(
      "derive_js_keys",
      [](py::object nwk_key, py::object dev_eui) {
        return lorawan::derive_js_keys(key_arg(nwk_key, "NwkKey"), eui_arg(dev_eui, "DevEUI"));
      },
      py::arg("nwk_key"), py::kw_only(), py::arg("dev_eui"),
      "LoRaWAN 1.1 lifetime keys: JSIntKey = E(NwkKey, 06|DevEUI|pad16), JSEncKey = E(NwkKey, "
      "05|DevEUI|pad16).");
}

// --- join-accept ---------------------------------------------------------------------------------

struct PyJoinAccept {
  lorawan::OpenedJoinAccept opened;
};

std::string byte_hex(std::uint8_t b) { return lorawan::to_hex(lorawan::ByteSpan(&b, 1)); }

std::string optional_bool(const std::optional<bool>& b) {
  if (!b) return "None";
  return *b ? "True" : "False";
}

void bind_join_accept(py::module_& m) {
  py::class_<PyJoinAccept>(
      m, "JoinAccept",
      "A join-accept as a device opens it (decrypt_join_accept): the decrypted fields, "
      "whether the MIC verifies and, when enough is known, the session keys (repr() "
      "never shows a key).")
      .def_property_readonly(
          "plaintext", [](const PyJoinAccept& a) { return to_bytes(a.opened.plaintext); },
          "The decrypted frame (MHDR ... MIC).")
      .def_property_readonly(
          "join_nonce", [](const PyJoinAccept& a) { return a.opened.accept.join_nonce.value(); },
          "JoinNonce (AppNonce in 1.0.x) as an int.")
      .def_property_readonly(
          "net_id", [](const PyJoinAccept& a) { return a.opened.accept.net_id.hex(); },
          "NetID, hex.")
      .def_property_readonly(
          "dev_addr", [](const PyJoinAccept& a) { return a.opened.accept.dev_addr.hex(); },
          "DevAddr, hex, MSB first.")
      .def_property_readonly(
          "dl_settings", [](const PyJoinAccept& a) { return a.opened.accept.dl_settings.raw; },
          "The DLSettings byte as an int.")
      .def_property_readonly(
          "opt_neg", [](const PyJoinAccept& a) { return a.opened.accept.dl_settings.opt_neg(); },
          "DLSettings bit 7 (OptNeg in LoRaWAN 1.1, RFU before).")
      .def_property_readonly(
          "rx_delay", [](const PyJoinAccept& a) { return a.opened.accept.rx_delay; }, "RxDelay.")
      .def_property_readonly(
          "cf_list",
          [](const PyJoinAccept& a) -> py::object {
            if (!a.opened.accept.cf_list) return py::none();
            return wire_bytes(*a.opened.accept.cf_list);
          },
          "The 16-byte CFList, or None.")
      .def_property_readonly(
          "mic", [](const PyJoinAccept& a) { return wire_bytes(a.opened.accept.mic); },
          "The MIC as received.")
      .def_property_readonly(
          "mode",
          [](const PyJoinAccept& a) { return std::string(lorawan::to_string(a.opened.mode)); },
          "The formulas used: 'LoRaWAN 1.0.x', 'LoRaWAN 1.1, OptNeg=1', ...")
      .def_property_readonly(
          "mic_valid", [](const PyJoinAccept& a) { return a.opened.mic_valid; },
          "True or False; None when the MIC could not be computed (see mic_note).")
      .def_property_readonly(
          "expected_mic",
          [](const PyJoinAccept& a) -> py::object {
            if (!a.opened.expected_mic) return py::none();
            return wire_bytes(*a.opened.expected_mic);
          },
          "The MIC the keys give, or None.")
      .def_property_readonly(
          "mic_note", [](const PyJoinAccept& a) { return a.opened.mic_note; },
          "Why the MIC was not checked; '' when it was.")
      .def_property_readonly(
          "session_keys",
          [](const PyJoinAccept& a) -> py::object {
            if (!a.opened.keys) return py::none();
            return py::cast(
                PySessionKeys{*a.opened.keys, a.opened.mode == lorawan::JoinMode::lorawan_1_1});
          },
          "The derived SessionKeys, or None when something needed is unknown (see keys_note).")
      .def_property_readonly(
          "keys_note", [](const PyJoinAccept& a) { return a.opened.keys_note; },
          "Why keys were not derived, or which are missing.")
      .def_property_readonly(
          "js_keys",
          [](const PyJoinAccept& a) -> py::object {
            if (!a.opened.js_keys) return py::none();
            return py::cast(*a.opened.js_keys);
          },
          "LoRaWAN 1.1 JsKeys (a 1.1 device with a known DevEUI), or None.")
      .def("__repr__", [](const PyJoinAccept& a) {
        const auto& f = a.opened.accept;
        return "JoinAccept(join_nonce=" + std::to_string(f.join_nonce.value()) + ", net_id='" +
               f.net_id.hex() + "', dev_addr='" + f.dev_addr.hex() + "', dl_settings=0x" +
               byte_hex(f.dl_settings.raw) + ", rx_delay=" + std::to_string(f.rx_delay) +
               ", cf_list=" + (f.cf_list ? "'" + f.cf_list->hex() + "'" : "None") + ", mic='" +
               f.mic.hex() + "', mode='" + std::string(lorawan::to_string(a.opened.mode)) +
               "', mic_valid=" + optional_bool(a.opened.mic_valid) +
               ", session_keys=" + (a.opened.keys ? "<derived>" : "None") + ")";
      });
}

lorawan::JoinReqType join_req_type_arg(py::handle value) {
  if (py::isinstance<py::int_>(value) && !py::isinstance<py::bool_>(value)) {
    const long long v = py::cast<long long>(value);
    if (v == 0xff || (v >= 0 && v <= 2)) return static_cast<lorawan::JoinReqType>(v);
    throw lorawan::Error(
        "JoinReqType: expected 0xff (join-request), 0, 1 or 2 (rejoin types), got " +
        std::to_string(v));
  }
  if (py::isinstance<py::str>(value)) {
    const std::string text = py::cast<std::string>(value);
    if (auto t = lorawan::parse_join_req_type(text)) return *t;
    throw lorawan::Error("JoinReqType: expected \"ff\", \"00\", \"01\" or \"02\", got " +
                         lorawan::quote_for_error(text));
  }
  throw py::type_error("join_req_type: expected an int or a hex string, got " +
                       std::string(py::str(py::type::handle_of(value).attr("__name__"))));
}

void def_join_accept_functions(py::module_& m) {
  m.def(
      "decrypt_join_accept",
      [](py::object phy, py::object app_key, py::object nwk_key, py::object join_eui,
         py::object dev_eui, py::object dev_nonce, py::object join_req_type) {
        lorawan::OpenJoinAcceptInput in;
        in.keys.app_key = optional_key_arg(app_key, "AppKey");
        in.keys.nwk_key = optional_key_arg(nwk_key, "NwkKey");
        in.device_1_1 = in.keys.nwk_key.has_value();
        in.join_eui = optional_eui_arg(join_eui, "JoinEUI");
        in.dev_eui = optional_eui_arg(dev_eui, "DevEUI");
        if (!dev_nonce.is_none()) in.dev_nonce = dev_nonce_arg(dev_nonce);
        in.type = join_req_type_arg(join_req_type);
        return PyJoinAccept{lorawan::open_join_accept(bytes_arg(phy, "PHYPayload"), in)};
      },
      py::arg("phy_payload"), py::kw_only(), py::arg("app_key") = py::none(),
      py::arg("nwk_key") = py::none(), py::arg("join_eui") = py::none(),
      py::arg("dev_eui") = py::none(), py::arg("dev_nonce") = py::none(),
      py::arg("join_req_type") = 0xff,
      "Decrypts a join-accept PHYPayload as the device does and checks its MIC. Give `app_key` "
      "alone for a "
      "1.0.x device; `nwk_key` (and `app_key`) for a 1.1 device. join_eui, dev_eui and dev_nonce "
      "(the "
      "join-request's; the RJcount for a rejoin answer, with join_req_type 0, 1 or 2) are needed "
      "for the "
      "1.1 MIC and the session keys; what cannot be checked is said in mic_note and keys_note, not "
      "guessed.");

  m.def(
      "build_join_accept",
      [](py::object join_nonce, py::object net_id, py::object dev_addr, py::object join_eui,
         py::object dev_eui, py::object dev_nonce, py::object app_key, py::object nwk_key,
         int dl_settings, int rx_delay, py::object cf_list, py::object join_req_type) {
        if (dl_settings < 0 || dl_settings > 0xff)
          throw lorawan::Error("DLSettings: expected 0..255, got " + std::to_string(dl_settings));
        if (rx_delay < 0 || rx_delay > 0xff)
          throw lorawan::Error("RxDelay: expected 0..255, got " + std::to_string(rx_delay));
        lorawan::RootKeys keys;
        keys.app_key = optional_key_arg(app_key, "AppKey");
        keys.nwk_key = optional_key_arg(nwk_key, "NwkKey");
        lorawan::JoinAccept fields;
        fields.join_nonce = join_nonce_arg(join_nonce);
        fields.net_id = net_id_arg(net_id);
        fields.dev_addr = dev_addr_arg(dev_addr);
        fields.dl_settings.raw = static_cast<std::uint8_t>(dl_settings);
        fields.rx_delay = static_cast<std::uint8_t>(rx_delay);
        if (!cf_list.is_none())
          fields.cf_list = lorawan::CfList::from_wire(bytes_arg(cf_list, "CFList"));
        lorawan::JoinContext context;
        context.type = join_req_type_arg(join_req_type);
        context.join_eui = eui_arg(join_eui, "JoinEUI");
        context.dev_eui = eui_arg(dev_eui, "DevEUI");
        context.dev_nonce = dev_nonce_arg(dev_nonce);
        const lorawan::JoinMode mode = !keys.nwk_key ? lorawan::JoinMode::lorawan_1_0
                                       : fields.dl_settings.opt_neg()
                                           ? lorawan::JoinMode::lorawan_1_1
                                           : lorawan::JoinMode::lorawan_1_1_opt_neg_0;
        return to_bytes(lorawan::build_join_accept(mode, keys, context, fields).phy_payload);
      },
      py::kw_only(), py::arg("join_nonce"), py::arg("net_id"), py::arg("dev_addr"),
      py::arg("join_eui"), py::arg("dev_eui"), py::arg("dev_nonce"),
      py::arg("app_key") = py::none(), py::arg("nwk_key") = py::none(), py::arg("dl_settings") = 0,
      py::arg("rx_delay") = 1, py::arg("cf_list") = py::none(), py::arg("join_req_type") = 0xff,
      "The encrypted join-accept PHYPayload a Join Server sends (the JS side of "
      "decrypt_join_accept). "
      "Without `nwk_key` the 1.0.x formulas with `app_key`; with it, OptNeg (DLSettings bit 7) "
      "selects the "
      "1.1 formulas or the 1.0 ones with the NwkKey.");
}

// --- key wrap and KeyEnvelope --------------------------------------------------------------------

void def_key_wrap_functions(py::module_& m) {
  m.def(
      "aes_key_wrap",
      [](py::object kek, py::object key) {
        return to_bytes(lorawan::aes_key_wrap(bytes_arg(kek, "KEK", lorawan::Secrecy::secret),
                                              bytes_arg(key, "key", lorawan::Secrecy::secret)));
      },
      py::arg("kek"), py::arg("key"),
      "RFC 3394 AES key wrap with the default IV. `kek` is 16, 24 or 32 bytes; `key` a multiple of "
      "8 bytes, "
      "at least 16. Returns the wrapped key (8 bytes longer).");
  m.def(
      "aes_key_unwrap",
      [](py::object kek, py::object wrapped) {
        return to_bytes(lorawan::aes_key_unwrap(bytes_arg(kek, "KEK", lorawan::Secrecy::secret),
                                                bytes_arg(wrapped, "wrapped key")));
      },
      py::arg("kek"), py::arg("wrapped"),
      "Inverse of aes_key_wrap. Raises joincheck.KeyUnwrapError when the integrity check fails "
      "(wrong KEK or "
      "corrupted data): it never returns garbage.");
}

backend::KekTable kek_table_arg(py::handle value) {
  backend::KekTable keks;
  if (value.is_none()) return keks;
  if (!py::isinstance<py::dict>(value)) {
    throw py::type_error("keks: expected a dict {label: KEK}, got " +
                         std::string(py::str(py::type::handle_of(value).attr("__name__"))));
  }
  for (const auto& [label, kek] : py::reinterpret_borrow<py::dict>(value)) {
    const std::string name = py::cast<std::string>(label);
    keks[name] = bytes_arg(kek, "KEK \"" + name + "\"", lorawan::Secrecy::secret);
  }
  return keks;
}

void bind_key_envelope(py::module_& m) {
  py::class_<backend::KeyEnvelope>(
      m, "KeyEnvelope",
      "A TS002 KeyEnvelope: a session key in clear (empty kek_label) or wrapped "
      "(RFC 3394) under the KEK named by kek_label. repr() never shows aes_key.")
      .def(py::init([](std::string kek_label, py::object aes_key) {
             backend::KeyEnvelope e;
             e.kek_label = std::move(kek_label);
             e.aes_key = bytes_arg(aes_key, "AESKey", lorawan::Secrecy::secret);
             return e;
           }),
           py::kw_only(), py::arg("kek_label") = "", py::arg("aes_key"),
           "An envelope as received: the label ('' for a clear key) and the 16-byte key or its "
           "24-byte wrap.")
      .def_static(
          "wrap",
          [](py::object key, py::object kek, std::string label) {
            const lorawan::Bytes k =
                kek.is_none() ? lorawan::Bytes{} : bytes_arg(kek, "KEK", lorawan::Secrecy::secret);
            return backend::KeyEnvelope::wrap(key_arg(key, "key"), std::move(label), k);
          },
          py::arg("key"), py::kw_only(), py::arg("kek") = py::none(), py::arg("label") = "",
          "Wraps `key` under `kek`, labelled `label`; no KEK and no label give a clear envelope. A "
          "label without a "
          "KEK (or the reverse) raises KeyEnvelopeError: never a silent fallback to a clear key.")
      .def_static(
          "from_json",
          [](py::dict object) {
            backend::KeyEnvelope e;
            if (object.contains("KEKLabel") && !object["KEKLabel"].is_none())
              e.kek_label = py::cast<std::string>(object["KEKLabel"]);
            if (!object.contains("AESKey"))
              throw lorawan::Error("KeyEnvelope: expected an AESKey member, got none");
            e.aes_key = bytes_arg(object["AESKey"], "AESKey", lorawan::Secrecy::secret);
            return e;
          },
          py::arg("object"),
          "An envelope from its TS002 JSON form {\"KEKLabel\": ..., \"AESKey\": hex}.")
      .def_readonly("kek_label", &backend::KeyEnvelope::kek_label,
                    "The KEK label; '' when the key is in clear.")
      .def_property_readonly(
          "aes_key", [](const backend::KeyEnvelope& e) { return to_bytes(e.aes_key); },
          "The key in clear (16 bytes) or wrapped (24 bytes).")
      .def_property_readonly("is_clear", &backend::KeyEnvelope::is_clear,
                             "Whether the key is in clear.")
      .def(
          "unwrap",
          [](const backend::KeyEnvelope& e, py::object keks) {
            return key_bytes(e.unwrap(kek_table_arg(keks)));
          },
          py::arg("keks") = py::none(),
          "The 16-byte key, unwrapped with keks[kek_label] ({label: KEK}). Raises KeyEnvelopeError "
          "when the label "
          "is unknown, the integrity check fails or a size is wrong.")
      .def(
          "to_json",
          [](const backend::KeyEnvelope& e) {
            py::dict d;
            d["KEKLabel"] = e.kek_label;
            d["AESKey"] = lorawan::to_hex(e.aes_key);
            return d;
          },
          "The TS002 JSON form, {\"KEKLabel\": label, \"AESKey\": hex}.")
      .def("__eq__",
           [](const backend::KeyEnvelope& a, const backend::KeyEnvelope& b) { return a == b; })
      .def("__repr__", [](const backend::KeyEnvelope& e) {
        return "KeyEnvelope(kek_label=" + py_quote(e.kek_label) + ", aes_key=<" +
               std::to_string(e.aes_key.size()) + " bytes, " +
               (e.is_clear() ? "clear" : "wrapped") + ", redacted>)";
      });
}

}  // namespace

void init_lorawan(py::module_& m) {
  bind_join_request(m);
  def_join_request_functions(m);
  bind_session_keys(m);
  bind_js_keys(m);
  def_session_key_functions(m);
  bind_join_accept(m);
  def_join_accept_functions(m);
  def_key_wrap_functions(m);
  bind_key_envelope(m);
}

}  // namespace joincheck::python
