#pragma once
// The XML pieces every JUnit writer here uses (reports/junit.cpp for runs, reports/air_report.cpp
// for over-the-air runs), so both follow the schema the same way
// (tests/reports/schema/jenkins-xunit-junit-10.xsd).

#include <cstddef>
#include <pugixml.hpp>
#include <string>
#include <string_view>

namespace joincheck::reports {

// Attributes go through printable(): valid UTF-8 and only characters XML 1.0 allows (pugixml
// would write a control character as &#1;, which XML 1.0 forbids too).
void xml_attr(pugi::xml_node node, const char* name, std::string_view value);
void xml_attr(pugi::xml_node node, const char* name, std::size_t value);
// <property name="..." value="..."/> under <properties>.
void xml_property(pugi::xml_node properties, const char* name, std::string_view value);
// The properties joincheck.version and joincheck.commit (this one only when built from git).
void xml_build_info(pugi::xml_node properties);
// Seconds from milliseconds with `decimals` decimals (the schema's SUREFIRE_TIME allows at most
// 3; 0.0425 is rejected); negative or not finite: 0.
std::string junit_seconds(double ms, int decimals = 3);

}  // namespace joincheck::reports
