#pragma once
// Data files compiled into the program (cmake/embed_files.cmake): the built-in scenario suite
// (scenarios/suite/) and the profiles (conformance/profiles/).

#include <span>
#include <string_view>

namespace joincheck::conformance {

struct EmbeddedFile {
  std::string_view name;      // relative to its folder: "devnonce.json"
  std::string_view contents;
};

std::span<const EmbeddedFile> embedded_scenario_files();
std::span<const EmbeddedFile> embedded_profile_files();

}  // namespace joincheck::conformance
