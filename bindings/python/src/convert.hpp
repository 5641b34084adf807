#pragma once
// Conversions between Python values and the lorawan value types, shared by every part of the
// module. Inputs are lenient in the Pythonic way: bytes-like objects or hex strings for bytes
// (an optional "0x" prefix), hex strings or bytes for identifiers (display order, MSB first, as
// TS002 writes them), int or a hex string for counters. Outputs are fixed: identifiers as
// lower-case hex strings, counters as int, keys, MICs, CFLists and frames as bytes.
//
// A value of the wrong Python type raises TypeError naming the parameter; a value of the right
// type but the wrong form raises the lorawan layer's own error (joincheck.Error), whose message
// names the field and, for keys, never quotes the value.

#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <string_view>

#include "lorawan/types.hpp"

namespace joincheck::python {

namespace py = pybind11;

// bytes, bytearray, memoryview (any buffer), or a hex string.
lorawan::Bytes bytes_arg(py::handle value, std::string_view field,
                         lorawan::Secrecy secrecy = lorawan::Secrecy::quote);
lorawan::Aes128Key key_arg(py::handle value, std::string_view field);
std::optional<lorawan::Aes128Key> optional_key_arg(py::handle value, std::string_view field);
lorawan::Eui64 eui_arg(py::handle value, std::string_view field);
std::optional<lorawan::Eui64> optional_eui_arg(py::handle value, std::string_view field);
lorawan::NetId net_id_arg(py::handle value, std::string_view field = "NetID");
lorawan::DevAddr dev_addr_arg(py::handle value, std::string_view field = "DevAddr");
lorawan::DevNonce dev_nonce_arg(py::handle value, std::string_view field = "DevNonce");
lorawan::JoinNonce join_nonce_arg(py::handle value, std::string_view field = "JoinNonce");
lorawan::MacVersion mac_version_arg(py::handle value, std::string_view field = "MACVersion");
// A path: str or os.PathLike.
std::string path_arg(py::handle value, std::string_view field);

py::bytes to_bytes(lorawan::ByteSpan bytes);
template <class T>
py::bytes wire_bytes(const T& value) {
  const auto a = value.bytes();
  return to_bytes(lorawan::ByteSpan(a.data(), a.size()));
}

// "b'\x01...'"-free representations for repr(): "'0102'" for identifiers, "<redacted>" for keys.
std::string py_repr(py::handle value);
std::string py_quote(std::string_view text);

}  // namespace joincheck::python
