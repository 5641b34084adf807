#pragma once
// The HTML report's page (reports/html/: page.html, report.css, report.js, load.js), compiled into
// the program by joincheck_embed (reports/CMakeLists.txt).

#include <span>

#include "conformance/embedded.hpp"

namespace joincheck::reports {

using conformance::EmbeddedFile;

std::span<const EmbeddedFile> embedded_html_files();

}  // namespace joincheck::reports
