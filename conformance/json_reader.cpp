#include "conformance/json_reader.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "lorawan/hex.hpp"

namespace joincheck::conformance {

JsonReader::JsonReader(const json& object, std::string where) : object_(object), where_(std::move(where)) {
  if (!object_.is_object()) fail("", "an object", type_of(object_));
}

void JsonReader::fail(const std::string& member, const std::string& expected, const std::string& seen) const {
  throw std::runtime_error(where_ + (member.empty() ? "" : "." + member) + ": expected " + expected + ", got " + seen);
}

std::string JsonReader::type_of(const json& j) {
  if (j.is_null()) return "null";
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number()) return "the number " + j.dump();
  if (j.is_array()) return "an array";
  return "an object";
}

const JsonReader::json* JsonReader::find(const std::string& member) const {
  const auto it = object_.find(member);
  return it == object_.end() ? nullptr : &*it;
}

const JsonReader::json& JsonReader::at(const std::string& member) const {
  const json* j = find(member);
  if (j == nullptr) fail(member, "a member \"" + member + "\"", "none");
  return *j;
}

std::uint64_t JsonReader::count(const std::string& member) const {
  const json& j = at(member);
  if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<std::int64_t>() >= 0)) {
    fail(member, "a whole number >= 0", type_of(j));
  }
  return j.get<std::uint64_t>();
}

std::int64_t JsonReader::integer(const std::string& member) const {
  const json& j = at(member);
  if (!j.is_number_integer()) fail(member, "a whole number", type_of(j));
  return j.get<std::int64_t>();
}

double JsonReader::number(const std::string& member) const {
  const json& j = at(member);
  if (!j.is_number() || !std::isfinite(j.get<double>()) || j.get<double>() < 0) {
    fail(member, "a number >= 0", type_of(j));
  }
  return j.get<double>();
}

std::string JsonReader::text(const std::string& member) const {
  const json& j = at(member);
  if (!j.is_string()) fail(member, "a string", type_of(j));
  return j.get<std::string>();
}

bool JsonReader::boolean(const std::string& member) const {
  const json& j = at(member);
  if (!j.is_boolean()) fail(member, "true or false", type_of(j));
  return j.get<bool>();
}

const JsonReader::json& JsonReader::object(const std::string& member) const {
  const json& j = at(member);
  if (!j.is_object()) fail(member, "an object", type_of(j));
  return j;
}

const JsonReader::json& JsonReader::array(const std::string& member) const {
  const json& j = at(member);
  if (!j.is_array()) fail(member, "an array", type_of(j));
  return j;
}

void JsonReader::only(std::initializer_list<std::string_view> known) const {
  for (const auto& [key, value] : object_.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string names;
    for (const std::string_view k : known) names += (names.empty() ? "" : ", ") + std::string(k);
    // The name is the document's text: quoted with its control characters escaped, cut short.
    fail("", "only the members " + names,
         "a member " + lorawan::quote_for_error(key) + " (a report of another joincheck version?)");
  }
}

}  // namespace joincheck::conformance
