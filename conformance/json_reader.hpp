#pragma once
// Strict reading of a JSON document joincheck wrote and reads back: the reports that
// `joincheck report merge` merges (load/load_result.hpp, reports/json_report.hpp). Each member
// is checked as it is read; the first that is missing or of another kind throws
// std::runtime_error naming where it is (the file, then the JSON path: "a.json.results[2].verdict"),
// what was expected and what was seen. Strings a peer may have sent are never quoted whole.

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace joincheck::conformance {

class JsonReader {
 public:
  using json = nlohmann::ordered_json;

  // `object` must outlive the reader. Throws unless it is a JSON object.
  JsonReader(const json& object, std::string where);

  // "WHERE.MEMBER: expected EXPECTED, got SEEN" (WHERE alone when `member` is empty).
  [[noreturn]] void fail(const std::string& member, const std::string& expected, const std::string& seen) const;
  // What a value is, for "got ...": "null", "a string", "the number 3", "an array", ...
  static std::string type_of(const json& j);

  const json* find(const std::string& member) const;  // nullptr when absent
  const json& at(const std::string& member) const;    // throws when absent
  std::uint64_t count(const std::string& member) const;  // a whole number >= 0
  std::int64_t integer(const std::string& member) const;
  double number(const std::string& member) const;  // finite and >= 0
  std::string text(const std::string& member) const;
  bool boolean(const std::string& member) const;
  const json& object(const std::string& member) const;
  const json& array(const std::string& member) const;
  // Refuses a member not named in `known`: a document of another version may mean something
  // this one would silently drop.
  void only(std::initializer_list<std::string_view> known) const;

  // "WHERE.MEMBER": the place of a member, for the reader of a nested object.
  std::string where(const std::string& member) const { return where_ + "." + member; }
  const std::string& where() const { return where_; }

 private:
  const json& object_;
  std::string where_;
};

}  // namespace joincheck::conformance
