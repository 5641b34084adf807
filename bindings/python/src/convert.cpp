#include "convert.hpp"

#include <pybind11/stl.h>

#include "lorawan/hex.hpp"

namespace joincheck::python {

namespace {

std::string type_of(py::handle value) {
  return py::str(py::type::handle_of(value).attr("__name__"));
}

[[noreturn]] void wrong_type(py::handle value, std::string_view field, std::string_view expected) {
  throw py::type_error(std::string(field) + ": expected " + std::string(expected) + ", got " +
                       type_of(value));
}

// The bytes of a buffer (bytes, bytearray, memoryview, array('B'), ...).
std::optional<lorawan::Bytes> buffer_bytes(py::handle value) {
  if (py::isinstance<py::bytes>(value)) {
    const std::string s = py::reinterpret_borrow<py::bytes>(value);
    return lorawan::Bytes(s.begin(), s.end());
  }
  if (!PyObject_CheckBuffer(value.ptr())) return std::nullopt;
  const py::buffer_info info = py::reinterpret_borrow<py::buffer>(value).request();
  const auto* p = static_cast<const std::uint8_t*>(info.ptr);
  const auto n = static_cast<std::size_t>(info.size * info.itemsize);
  return lorawan::Bytes(p, p + n);
}

template <class T>
T fixed_arg(py::handle value, std::string_view field) {
  if (py::isinstance<py::str>(value)) {
    const std::string text = py::cast<std::string>(value);
    return T::parse(lorawan::strip_hex_prefix(text), field);
  }
  if (auto b = buffer_bytes(value)) {
    if (b->size() != T::kSize) {
      throw lorawan::Error(std::string(field) + ": expected " + std::to_string(T::kSize) +
                           " bytes, got " + std::to_string(b->size()));
    }
    typename T::Array a{};
    std::copy(b->begin(), b->end(), a.begin());
    return T(a);
  }
  wrong_type(value, field, "a hex string or " + std::to_string(T::kSize) + " bytes");
}

template <class T>
T counter_arg(py::handle value, std::string_view field) {
  if (py::isinstance<py::bool_>(value)) wrong_type(value, field, "an int or a hex string");
  if (py::isinstance<py::int_>(value)) {
    const long long v = py::cast<long long>(value);
    if (v < 0 || v > static_cast<long long>(T::kMax)) {
      throw lorawan::Error(std::string(field) + ": expected 0.." + std::to_string(T::kMax) +
                           ", got " + std::to_string(v));
    }
    return T(static_cast<std::uint32_t>(v));
  }
  if (py::isinstance<py::str>(value)) {
    const std::string text = py::cast<std::string>(value);
    return T::parse(lorawan::strip_hex_prefix(text), field);
  }
  wrong_type(value, field, "an int or a hex string");
}

}  // namespace

lorawan::Bytes bytes_arg(py::handle value, std::string_view field, lorawan::Secrecy secrecy) {
  if (py::isinstance<py::str>(value)) {
    const std::string text = py::cast<std::string>(value);
    return lorawan::from_hex(lorawan::strip_hex_prefix(text), field, secrecy);
  }
  if (auto b = buffer_bytes(value)) return *b;
  wrong_type(value, field, "bytes or a hex string");
}

lorawan::Aes128Key key_arg(py::handle value, std::string_view field) {
  return fixed_arg<lorawan::Aes128Key>(value, field);
}

std::optional<lorawan::Aes128Key> optional_key_arg(py::handle value, std::string_view field) {
  if (value.is_none()) return std::nullopt;
  return key_arg(value, field);
}

lorawan::Eui64 eui_arg(py::handle value, std::string_view field) {
  return fixed_arg<lorawan::Eui64>(value, field);
}

std::optional<lorawan::Eui64> optional_eui_arg(py::handle value, std::string_view field) {
  if (value.is_none()) return std::nullopt;
  return eui_arg(value, field);
}

lorawan::NetId net_id_arg(py::handle value, std::string_view field) {
  return fixed_arg<lorawan::NetId>(value, field);
}

lorawan::DevAddr dev_addr_arg(py::handle value, std::string_view field) {
  return fixed_arg<lorawan::DevAddr>(value, field);
}

lorawan::DevNonce dev_nonce_arg(py::handle value, std::string_view field) {
  return counter_arg<lorawan::DevNonce>(value, field);
}

lorawan::JoinNonce join_nonce_arg(py::handle value, std::string_view field) {
  return counter_arg<lorawan::JoinNonce>(value, field);
}

lorawan::MacVersion mac_version_arg(py::handle value, std::string_view field) {
  if (!py::isinstance<py::str>(value))
    wrong_type(value, field, "a version string such as \"1.0.3\" or \"1.1\"");
  return lorawan::parse_mac_version_or_throw(py::cast<std::string>(value), field);
}

std::string path_arg(py::handle value, std::string_view field) {
  if (py::isinstance<py::str>(value)) return py::cast<std::string>(value);
  if (py::hasattr(value, "__fspath__")) {
    py::object p = value.attr("__fspath__")();
    if (py::isinstance<py::str>(p)) return py::cast<std::string>(p);
  }
  wrong_type(value, field, "a path (str or os.PathLike)");
}

py::bytes to_bytes(lorawan::ByteSpan bytes) {
  return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::string py_repr(py::handle value) { return py::repr(value); }

std::string py_quote(std::string_view text) { return py::repr(py::str(std::string(text))); }

}  // namespace joincheck::python
