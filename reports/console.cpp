#include "reports/console.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <ostream>

#include "lorawan/hex.hpp"

namespace joincheck::reports {

using conformance::CheckResult;
using conformance::RunReport;
using conformance::TraceExchange;
using conformance::Verdict;

namespace {

// Bodies beyond this are cut in text output: a hostile peer must not turn a CI log into
// megabytes. The JSON report keeps more (conformance::kMaxTraceBodyBytes).
constexpr std::size_t max_body_text = 16 * 1024;

void append_hex_byte(std::string& out, unsigned char byte) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "\\x";
  out += digits[byte >> 4];
  out += digits[byte & 0x0f];
}

// Appends `text` as lines, each prefixed by `prefix`; continuation lines of a multi-line value
// keep the reader's eye on the block it belongs to.
void append_lines(std::string& out, std::string_view prefix, std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::size_t start = 0;
  while (true) {
    const auto nl = text.find('\n', start);
    const auto line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    out += prefix;
    out += line;
    out += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
}

void append_headers(std::string& out, std::string_view prefix,
                    const std::vector<std::pair<std::string, std::string>>& headers) {
  for (const auto& [name, value] : headers) {
    out += prefix;
    out += printable(name);
    out += ": ";
    out += printable(value);
    out += '\n';
  }
}

void append_body(std::string& out, std::string_view prefix, std::string_view body) {
  if (body.empty()) {
    out += prefix;
    out += "(empty body)\n";
    return;
  }
  append_lines(out, prefix, printable(lorawan::cut_utf8(body, max_body_text)));
}

// "12.345": locale-independent, at most 3 decimals.
std::string fixed3(double value) {
  if (!std::isfinite(value) || value < 0) value = 0;
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, 3);
  return std::string(buf, res.ptr);
}

// A labelled value, "expected:        ...", multi-line values indented below the first line.
void append_field(std::string& out, std::string_view indent, std::string_view name,
                  std::string_view value) {
  constexpr std::size_t width = 17;  // "known deviation: "
  std::string head(indent);
  head += name;
  head += ':';
  head.resize(indent.size() + width, ' ');
  const std::string text = printable(value);
  const auto nl = text.find('\n');
  out += head;
  out += std::string_view(text).substr(0, nl);
  out += '\n';
  if (nl != std::string::npos) {
    append_lines(out, std::string(indent.size() + width, ' '),
                 std::string_view(text).substr(nl + 1));
  }
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// The first line of `text`, at most `limit` bytes (on a UTF-8 boundary), for one-line output.
std::string brief(std::string_view text, std::size_t limit) {
  std::string line = printable(text);
  const auto nl = line.find('\n');
  const bool more_lines = nl != std::string::npos;
  if (more_lines) line.resize(nl);
  if (line.size() > limit) {
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(line[end]) & 0xc0) == 0x80) --end;
    line.resize(end);
    line += "...";
  } else if (more_lines) {
    line += " ...";
  }
  for (char& c : line) {
    if (c == '\t') c = ' ';
  }
  return line;
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      if ((lead < 0x20 && lead != '\t' && lead != '\n') || lead == 0x7f) {
        append_hex_byte(out, lead);
      } else {
        out += static_cast<char>(lead);
      }
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence strictly (no overlong forms, no surrogates, nothing past
    // U+10FFFF); any byte that does not start a valid sequence is shown on its own.
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (lead >= 0xc2 && lead <= 0xdf) {
      len = 2;
      cp = lead & 0x1fu;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      len = 3;
      cp = lead & 0x0fu;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      len = 4;
      cp = lead & 0x07u;
    }
    bool valid = len != 0 && i + len <= text.size();
    for (std::size_t k = 1; valid && k < len; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) valid = false;
      cp = (cp << 6) | (next & 0x3fu);
    }
    if (valid) {
      if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) valid = false;
      if (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) valid = false;
    }
    if (!valid) {
      append_hex_byte(out, lead);
      ++i;
      continue;
    }
    // C1 controls (U+009B is a CSI on some terminals) and the two characters XML 1.0 forbids.
    const bool forbidden = (cp >= 0x80 && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff;
    for (std::size_t k = 0; k < len; ++k) {
      if (forbidden) {
        append_hex_byte(out, static_cast<unsigned char>(text[i + k]));
      } else {
        out += text[i + k];
      }
    }
    i += len;
  }
  return out;
}

std::string exchange_text(const TraceExchange& exchange, std::size_t index,
                          std::string_view indent) {
  std::string out(indent);
  out += '[';
  out += std::to_string(index);
  out += ']';
  if (!exchange.label.empty()) {
    out += ' ';
    out += printable(exchange.label);
  }
  out += '\n';

  const std::string inner = std::string(indent) + "  ";
  const std::string request = inner + "> ";
  const std::string response = inner + "< ";
  if (!exchange.url.empty()) {
    // TS002 messages are always POSTed (TS002 1.0 §22.1).
    out += inner;
    out += "POST ";
    out += printable(exchange.url);
    out += '\n';
  }
  // Nothing at all was sent when the exchange stopped before HTTP (a TLS handshake step).
  if (!exchange.request_headers.empty() || !exchange.request_body.empty()) {
    append_headers(out, request, exchange.request_headers);
    append_body(out, request, exchange.request_body);
  }
  if (exchange.http_status != 0) {
    out += response;
    out += std::to_string(exchange.http_status);
    if (!exchange.http_reason.empty()) {
      out += ' ';
      out += printable(exchange.http_reason);
    }
    out += '\n';
    append_headers(out, response, exchange.response_headers);
    append_body(out, response, exchange.response_body);
  } else {
    out += response;
    out += "no HTTP response\n";
  }
  if (!exchange.async_answer_body.empty()) {
    out += inner;
    out += "async answer (POSTed by the target):\n";
    append_body(out, inner + "<< ", exchange.async_answer_body);
  }
  if (!exchange.transport_error.empty()) {
    out += inner;
    out += "transport error: ";
    out += brief(exchange.transport_error, max_body_text);
    out += '\n';
  }
  out += inner;
  out += "elapsed: ";
  out += fixed3(exchange.elapsed_ms);
  out += " ms\n";
  for (const auto& note : exchange.notes) append_lines(out, inner + "note: ", printable(note));
  return out;
}

std::string result_detail_text(const CheckResult& result, const RunReport& report,
                               std::string_view indent) {
  std::string out;
  if (!result.expected.empty()) append_field(out, indent, "expected", result.expected);
  if (!result.actual.empty()) append_field(out, indent, "actual", result.actual);
  if (!result.reason.empty()) append_field(out, indent, "reason", result.reason);
  if (!result.known_deviation.empty()) {
    append_field(out, indent, "known deviation", result.known_deviation);
  }
  if (!result.scenario.empty()) append_field(out, indent, "scenario", result.scenario);
  append_field(out, indent, "evaluations",
               std::to_string(result.evaluations) + " (" +
                   std::to_string(result.failed_evaluations) + " failed)");
  if (result.trace.empty()) {
    append_field(out, indent, "trace", "none (no exchange behind this verdict)");
    return out;
  }
  out += indent;
  out += "trace:\n";
  const std::string inner = std::string(indent) + "  ";
  for (const std::size_t index : result.trace) {
    if (index < report.exchanges.size()) {
      out += exchange_text(report.exchanges[index], index, inner);
    } else {
      // A bad index is a harness bug; say so rather than hide the rest of the report.
      out += inner + "[" + std::to_string(index) + "] (no such exchange: the run recorded " +
             std::to_string(report.exchanges.size()) + ")\n";
    }
  }
  return out;
}

ConsoleReporter::ConsoleReporter(std::ostream& out, bool colour) : out_(out), colour_(colour) {}

std::string ConsoleReporter::verdict_tag(Verdict verdict) const {
  std::string word = upper(conformance::to_string(verdict));
  const std::size_t pad = word.size() < 5 ? 5 - word.size() : 0;
  if (colour_) {
    const char* code = "";
    switch (verdict) {
      case Verdict::pass:
        code = "\x1b[32m";  // green
        break;
      case Verdict::fail:
      case Verdict::error:
        code = "\x1b[31m";  // red
        break;
      case Verdict::warn:
        code = "\x1b[33m";  // yellow
        break;
      case Verdict::skip:
        code = "\x1b[2m";  // dim
        break;
    }
    word = code + word + "\x1b[0m";
  }
  return word + std::string(pad, ' ');
}

void ConsoleReporter::check_line(const CheckResult& result) {
  constexpr std::size_t id_width = 34;  // aligns the titles of the built-in ids
  std::string line = verdict_tag(result.verdict);
  line += ' ';
  const std::string id = printable(result.check.id);
  line += id;
  line += std::string(id.size() < id_width ? id_width - id.size() : 0, ' ');
  line += "  ";
  line += brief(result.check.title, 200);
  if ((result.verdict == Verdict::warn || result.verdict == Verdict::skip || result.verdict == Verdict::error) &&
      !result.reason.empty()) {
    line += "  (";
    line += brief(result.reason, 120);
    line += ')';
  }
  line += '\n';
  out_ << line << std::flush;
}

void ConsoleReporter::finish(const RunReport& report) {
  // Warnings first and failures last, so the failures sit right above the summary.
  const auto detail = [&](const CheckResult& r) {
    std::string text = "\n" + verdict_tag(r.verdict) + " " + printable(r.check.id) + "  [" +
                       std::string(conformance::to_string(r.check.level)) + "] " +
                       printable(r.check.title) + "\n";
    const std::string indent(6, ' ');
    if (!r.check.spec.empty()) append_field(text, indent, "spec", r.check.spec);
    text += result_detail_text(r, report, indent);
    out_ << text;
  };
  for (const auto& r : report.results) {
    if (r.verdict == Verdict::warn) detail(r);
  }
  for (const auto& r : report.results) {
    if (r.verdict == Verdict::fail || r.verdict == Verdict::error) detail(r);
  }
  out_ << '\n';
  summary(report);
}

void ConsoleReporter::summary(const RunReport& report) {
  const auto c = report.counts();
  std::string text = "joincheck: " + std::to_string(c.total()) +
                        (c.total() == 1 ? " check: " : " checks: ") + std::to_string(c.pass) +
                        " pass, " + std::to_string(c.fail) + " fail, " + std::to_string(c.warn) +
                        " warn, " + std::to_string(c.skip) + " skip, " + std::to_string(c.error) +
                        " error";
  const auto ms = report.duration.count() < 0 ? 0 : report.duration.count();
  const auto tenths = (ms + 50) / 100;
  text += " in " + std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
  if (!report.target.empty()) text += " against " + brief(report.target, 200);
  if (!report.profile.empty()) text += " (profile " + brief(report.profile, 100) + ")";
  text += '\n';
  std::string problem;
  if (!report.setup_error.empty()) {
    problem = "target could not be reached: " + printable(report.setup_error);
  } else if (!report.stopped_early.empty()) {
    problem = "run stopped early: " + printable(report.stopped_early);
  } else if (report.nothing_judged()) {
    problem = c.total() == 0 ? "nothing was judged: no check was selected, so the run does not pass"
                             : "nothing was judged: every selected check was skipped (see the reasons above), so the "
                               "run does not pass";
  }
  if (!problem.empty()) text += (colour_ ? "\x1b[31m" + problem + "\x1b[0m" : problem) + '\n';
  out_ << text << std::flush;
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

}  // namespace joincheck::reports
