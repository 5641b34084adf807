// Scenario files: a valid file becomes the structure the runner reads, field by field, and every
// kind of mistake in a file is an error that names the file, the scenario, the step and the
// field, what was expected and what was seen (conformance/scenario.hpp).

#include "conformance/scenario.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

namespace joincheck::conformance {
namespace {

using backend::ResultCode;
using ::testing::HasSubstr;

// Every step kind, and every modifier the format documents.
constexpr std::string_view kFullFile = R"json({"scenarios": [
 {"id": "devnonce/replay-1.0.4",
  "requires": ["rejoin", "app-s-key", "home-ns", "protocol-1.1", "known-senders", "as-kek", "async"],
  "devices": {"dev": {"MACVersion": "1.0.4"}, "dev11": {"MACVersion": "1.1.0"},
              "stranger": {"MACVersion": "1.0.3", "unknown": true}, "plain": {}},
  "steps": [
   {"send": "join", "device": "dev", "check": "join/success-1.0.4", "expect": "Success",
    "DevNonce": 7, "MIC": "corrupt", "MACVersion": "1.0.0", "OptNeg": true, "PHYPayload": "truncate",
    "DevAddr": "01020304", "DLSettings": "80", "RxDelay": 5, "CFList": "988d8468958400000000000000000000",
    "ProtocolVersion": "2.0", "SenderID": "000013", "ReceiverID": "0807060504030201",
    "SenderToken": "0a0B", "SenderNSID": "0102030405060708", "TransactionID": 4294967295,
    "VSExtension": {"VendorID": "EC656E", "Object": {"x": 1}},
    "omit": ["DLSettings"], "null": ["CFList", "RxDelay"], "set": {"RxDelay": "1", "Extra": [1, 2]},
    "hex": "upper", "Content-Type": "application/json; charset=utf-8"},
   {"send": "join", "device": "dev", "DevNonce": "previous", "CFList": null, "SenderNSID": null,
    "PHYPayload": "0x00AAbb", "hex": "0x",
    "expect": {"result": "failure", "prefer": ["JoinReqFailed", "FrameReplayed"], "http_status": 200}},
   {"send": "join", "device": "dev", "DevNonce": "lower", "PHYPayload": "extend", "expect": "MICFailed"},
   {"send": "join", "device": "dev", "PHYPayload": "data-uplink", "DLSettings": "0x15",
    "expect": {"result": ["UnknownReceiver", "JoinReqFailed"], "prefer": ["UnkownReceiver"]}},
   {"send": "rejoin", "device": "dev11", "RejoinType": 2, "OptNeg": false},
   {"send": "app-s-key", "device": "dev", "SessionKeyID": "last", "SenderID": "as.example"},
   {"send": "app-s-key", "device": "dev", "SessionKeyID": "00112233"},
   {"send": "home-ns", "device": "stranger", "check": "homens/unknown-dev-eui", "expect": "UnknownDevEUI"},
   {"send": "raw", "body": "{not json", "MessageType": "RejoinReq", "Content-Type": "text/plain",
    "expect": {"result": "MalformedRequest", "http_status": 400}},
   {"send": "raw", "device": "dev", "body": ""}]},
 {"id": "site/custom-check", "title": "Our JS answers within 100 ms", "level": "should", "spec": "site rules",
  "devices": {"d": {"MACVersion": "1.0.2"}},
  "steps": [{"send": "join", "device": "d", "expect": {"result": "Success", "prefer": ["Success"]}}]}
]})json";

TEST(ScenarioParse, EveryStepKindAndModifierBecomesItsValue) {
  const auto scenarios = parse_scenarios(kFullFile, "full.json");
  ASSERT_EQ(scenarios.size(), 2u);
  const Scenario& s = scenarios[0];
  EXPECT_EQ(s.id, "devnonce/replay-1.0.4");
  EXPECT_FALSE(s.custom);
  // A catalog check's title, level and spec come from the catalog.
  const CheckInfo& catalog = Catalog::builtin().at("devnonce/replay-1.0.4");
  EXPECT_EQ(s.title, catalog.title);
  EXPECT_EQ(s.spec, catalog.spec);
  EXPECT_EQ(s.level, catalog.level);
  EXPECT_EQ(s.check_info(), catalog);
  EXPECT_EQ(s.source, "full.json");
  EXPECT_EQ(s.requires_, (std::vector<Capability>{Capability::rejoin, Capability::app_s_key, Capability::home_ns,
                                                  Capability::protocol_1_1, Capability::known_senders,
                                                  Capability::as_kek, Capability::async}));

  ASSERT_EQ(s.devices.size(), 4u);
  ASSERT_NE(s.device("dev"), nullptr);
  EXPECT_EQ(s.device("dev")->mac_version, lorawan::MacVersion::v1_0_4);
  EXPECT_FALSE(s.device("dev")->unknown);
  EXPECT_EQ(s.device("dev11")->mac_version, lorawan::MacVersion::v1_1);
  EXPECT_EQ(s.device("stranger")->mac_version, lorawan::MacVersion::v1_0_3);
  EXPECT_TRUE(s.device("stranger")->unknown);
  EXPECT_EQ(s.device("plain")->mac_version, lorawan::MacVersion::v1_0_3);  // the default
  EXPECT_EQ(s.device("nobody"), nullptr);

  ASSERT_EQ(s.steps.size(), 10u);
  {
    const Step& st = s.steps[0];
    EXPECT_EQ(st.kind, StepKind::join);
    EXPECT_EQ(st.device, "dev");
    EXPECT_EQ(st.check, "join/success-1.0.4");
    EXPECT_EQ(st.where, "full.json: steps[0]");
    ASSERT_TRUE(st.expect);
    EXPECT_EQ(st.expect->kind, Expectation::success);
    EXPECT_TRUE(st.expect->codes.empty());
    EXPECT_FALSE(st.expect->http_status);
    EXPECT_EQ(st.dev_nonce.kind, DevNonceChoice::value);
    EXPECT_EQ(st.dev_nonce.number, 7);
    EXPECT_TRUE(st.corrupt_mic);
    EXPECT_EQ(st.mac_version, "1.0.0");
    EXPECT_EQ(st.opt_neg, true);
    EXPECT_EQ(st.phy_payload_change, PhyPayloadChange::truncate);
    EXPECT_EQ(st.dev_addr, lorawan::DevAddr::parse("01020304"));
    EXPECT_EQ(st.dl_settings, 0x80);
    EXPECT_EQ(st.rx_delay, 5);
    EXPECT_TRUE(st.cf_list_set);
    EXPECT_EQ(st.cf_list, lorawan::CfList::parse("988d8468958400000000000000000000"));
    EXPECT_EQ(st.protocol_version, "2.0");
    EXPECT_EQ(st.sender_id, "000013");
    EXPECT_EQ(st.receiver_id, "0807060504030201");
    EXPECT_EQ(st.sender_token, (lorawan::Bytes{0x0a, 0x0b}));
    EXPECT_TRUE(st.sender_ns_id_set);
    EXPECT_EQ(st.sender_ns_id, lorawan::Eui64::parse("0102030405060708"));
    EXPECT_EQ(st.transaction_id, 4294967295u);
    ASSERT_TRUE(st.vs_extension);
    EXPECT_EQ((*st.vs_extension)["VendorID"], "EC656E");
    EXPECT_EQ((*st.vs_extension)["Object"]["x"], 1);
    EXPECT_EQ(st.omit, (std::vector<std::string>{"DLSettings"}));
    EXPECT_EQ(st.null_fields, (std::vector<std::string>{"CFList", "RxDelay"}));
    EXPECT_EQ(st.set, nlohmann::ordered_json::parse(R"({"Extra": [1, 2], "RxDelay": "1"})"));
    EXPECT_EQ(st.hex, Step::HexStyle::upper);
    EXPECT_EQ(st.content_type, "application/json; charset=utf-8");
  }
  {
    const Step& st = s.steps[1];
    EXPECT_EQ(st.check, "devnonce/replay-1.0.4");  // the scenario id by default
    EXPECT_EQ(st.dev_nonce.kind, DevNonceChoice::previous);
    EXPECT_TRUE(st.cf_list_set);
    EXPECT_FALSE(st.cf_list);  // null: no CFList sent
    EXPECT_TRUE(st.sender_ns_id_set);
    EXPECT_FALSE(st.sender_ns_id);  // null: SenderNSID omitted
    EXPECT_EQ(st.phy_payload_change, PhyPayloadChange::replace);
    EXPECT_EQ(st.phy_payload, (lorawan::Bytes{0x00, 0xaa, 0xbb}));
    EXPECT_EQ(st.hex, Step::HexStyle::prefix_0x);
    ASSERT_TRUE(st.expect);
    EXPECT_EQ(st.expect->kind, Expectation::failure);
    EXPECT_EQ(st.expect->prefer, (std::vector<ResultCode>{ResultCode::join_req_failed, ResultCode::frame_replayed}));
    EXPECT_EQ(st.expect->http_status, 200);
    // Fields not given keep their defaults.
    EXPECT_FALSE(st.corrupt_mic);
    EXPECT_FALSE(st.mac_version);
    EXPECT_FALSE(st.protocol_version);
    EXPECT_FALSE(st.content_type);
    EXPECT_TRUE(st.set.empty());
  }
  {
    const Step& st = s.steps[2];
    EXPECT_EQ(st.dev_nonce.kind, DevNonceChoice::lower);
    EXPECT_EQ(st.phy_payload_change, PhyPayloadChange::extend);
    EXPECT_FALSE(st.cf_list_set);
    EXPECT_FALSE(st.sender_ns_id_set);
    ASSERT_TRUE(st.expect);
    EXPECT_EQ(st.expect->kind, Expectation::one_of);
    EXPECT_EQ(st.expect->codes, (std::vector<ResultCode>{ResultCode::mic_failed}));
    EXPECT_EQ(st.hex, Step::HexStyle::as_encoded);
  }
  {
    const Step& st = s.steps[3];
    EXPECT_EQ(st.phy_payload_change, PhyPayloadChange::data_uplink);
    EXPECT_EQ(st.dl_settings, 0x15);
    ASSERT_TRUE(st.expect);
    EXPECT_EQ(st.expect->kind, Expectation::one_of);
    // "UnknownReceiver" is accepted and means the code the spec spells "UnkownReceiver".
    EXPECT_EQ(st.expect->codes, (std::vector<ResultCode>{ResultCode::unknown_receiver, ResultCode::join_req_failed}));
    EXPECT_EQ(st.expect->prefer, (std::vector<ResultCode>{ResultCode::unknown_receiver}));
  }
  {
    const Step& st = s.steps[4];
    EXPECT_EQ(st.kind, StepKind::rejoin);
    EXPECT_EQ(st.device, "dev11");
    EXPECT_EQ(st.rejoin_type, 2);
    EXPECT_EQ(st.dev_nonce.kind, DevNonceChoice::next);
    EXPECT_EQ(st.opt_neg, false);
    EXPECT_FALSE(st.expect);
  }
  EXPECT_EQ(s.steps[5].kind, StepKind::app_s_key);
  EXPECT_FALSE(s.steps[5].session_key_id);  // "last"
  EXPECT_EQ(s.steps[5].sender_id, "as.example");
  EXPECT_EQ(s.steps[6].session_key_id, (lorawan::Bytes{0x00, 0x11, 0x22, 0x33}));
  {
    const Step& st = s.steps[7];
    EXPECT_EQ(st.kind, StepKind::home_ns);
    EXPECT_EQ(st.check, "homens/unknown-dev-eui");
    EXPECT_EQ(st.expect->codes, (std::vector<ResultCode>{ResultCode::unknown_dev_eui}));
  }
  {
    const Step& st = s.steps[8];
    EXPECT_EQ(st.kind, StepKind::raw);
    EXPECT_EQ(st.device, "");
    EXPECT_EQ(st.body, "{not json");
    EXPECT_EQ(st.raw_message_type, backend::MessageType::rejoin_req);
    EXPECT_EQ(st.content_type, "text/plain");
    EXPECT_EQ(st.expect->codes, (std::vector<ResultCode>{ResultCode::malformed_request}));
    EXPECT_EQ(st.expect->http_status, 400);
  }
  {
    const Step& st = s.steps[9];
    EXPECT_EQ(st.device, "dev");
    EXPECT_EQ(st.body, "");
    EXPECT_EQ(st.raw_message_type, backend::MessageType::join_req);  // the default
  }

  const Scenario& custom = scenarios[1];
  EXPECT_TRUE(custom.custom);
  EXPECT_EQ(custom.title, "Our JS answers within 100 ms");
  EXPECT_EQ(custom.level, Level::should);
  EXPECT_EQ(custom.spec, "site rules");
  EXPECT_TRUE(custom.requires_.empty());
  EXPECT_EQ(custom.steps[0].check, "site/custom-check");
  EXPECT_EQ(custom.steps[0].expect->prefer, (std::vector<ResultCode>{ResultCode::success}));
  CheckInfo info;
  info.id = "site/custom-check";
  info.level = Level::should;
  info.title = "Our JS answers within 100 ms";
  info.spec = "site rules";
  EXPECT_EQ(custom.check_info(), info);
  // What the runner does with it: the catalog of the run grows by the custom check.
  Catalog run = Catalog::builtin();
  run.add(custom.check_info());
  EXPECT_NE(run.find("site/custom-check"), nullptr);
}

TEST(ScenarioParse, OneObjectAnArrayAndAListFileAllParse) {
  constexpr std::string_view one =
      R"({"id": "join/mic-failed", "devices": {"d": {"MACVersion": "1.0.3"}},
          "steps": [{"send": "join", "device": "d", "MIC": "corrupt", "expect": "MICFailed"}]})";
  const auto a = parse_scenarios(one, "one.json");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].id, "join/mic-failed");
  const auto b = parse_scenarios("[" + std::string(one) + "," + std::string(one) + "]", "two.json");
  EXPECT_EQ(b.size(), 2u);
}

TEST(ScenarioParse, ACatalogScenarioMayRewordTitleAndSpecButNotChangeLevel) {
  const auto s = parse_scenarios(
      R"({"id": "join/mic-failed", "title": "Wrong MIC", "spec": "TS002 §8", "level": "must",
          "devices": {"d": {}}, "steps": [{"send": "join", "device": "d"}]})",
      "t.json");
  EXPECT_EQ(s[0].title, "Wrong MIC");
  EXPECT_EQ(s[0].spec, "TS002 §8");
  EXPECT_EQ(s[0].level, Level::must);
}

TEST(ScenarioParse, PythonDictsGoThroughTheSameRules) {
  nlohmann::json j = {{"id", "join/mic-failed"},
                      {"devices", {{"d", {{"MACVersion", "1.1"}}}}},
                      {"steps", {{{"send", "join"}, {"device", "d"}, {"MIC", "corrupt"}}}}};
  const auto s = scenarios_from_json(j, "<python>");
  EXPECT_EQ(s[0].source, "<python>");
  EXPECT_EQ(s[0].steps[0].where, "<python>: steps[0]");
  j["steps"][0]["MIC"] = "bad";
  try {
    scenarios_from_json(j, "<python>");
    FAIL() << "no error";
  } catch (const ScenarioError& e) {
    EXPECT_STREQ(e.what(), R"(<python>: scenario "join/mic-failed": steps[0].MIC: expected "corrupt", got "bad")");
  }
}

TEST(ScenarioNames, CapabilitiesAndStepKindsRoundTrip) {
  for (auto c : {Capability::rejoin, Capability::app_s_key, Capability::home_ns, Capability::protocol_1_1,
                 Capability::known_senders, Capability::as_kek, Capability::async}) {
    EXPECT_EQ(parse_capability(to_string(c)), c);
  }
  EXPECT_EQ(to_string(Capability::app_s_key), "app-s-key");
  EXPECT_EQ(to_string(Capability::protocol_1_1), "protocol-1.1");
  EXPECT_FALSE(parse_capability("Rejoin"));
  EXPECT_FALSE(parse_capability(""));
  EXPECT_EQ(to_string(StepKind::join), "join");
  EXPECT_EQ(to_string(StepKind::rejoin), "rejoin");
  EXPECT_EQ(to_string(StepKind::app_s_key), "app-s-key");
  EXPECT_EQ(to_string(StepKind::home_ns), "home-ns");
  EXPECT_EQ(to_string(StepKind::raw), "raw");
}

// The message of the error parse_scenarios throws, or "" when it does not throw.
std::string error_of(std::string_view text) {
  try {
    parse_scenarios(text, "bad.json");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}

// A scenario with two devices and `step` as its third step (steps[2]).
std::string with_step(std::string_view step) {
  return R"({"id": "devnonce/replay-1.0.4", "devices": {"dev": {"MACVersion": "1.0.4"}, "d11": {"MACVersion": "1.1"}},
            "steps": [{"send": "join", "device": "dev"}, {"send": "join", "device": "dev"}, )" +
         std::string(step) + "]}";
}

// Every message starts with the file, the scenario and the field.
void expect_step_error(std::string_view step, std::string_view field, std::initializer_list<std::string_view> parts) {
  const std::string message = error_of(with_step(step));
  SCOPED_TRACE(step);
  EXPECT_THAT(message, HasSubstr("bad.json: scenario \"devnonce/replay-1.0.4\": steps[2]." + std::string(field) + ": "));
  for (auto p : parts) EXPECT_THAT(message, HasSubstr(std::string(p)));
}

TEST(ScenarioErrors, BadDevNonceNamesFileScenarioStepAndField) {
  EXPECT_EQ(error_of(with_step(R"({"send": "join", "device": "dev", "DevNonce": "prev"})")),
            R"(bad.json: scenario "devnonce/replay-1.0.4": steps[2].DevNonce: expected "next", "previous", "lower", "ahead" or a number 0..65535, got "prev")");
  expect_step_error(R"({"send": "join", "device": "dev", "DevNonce": 65536})", "DevNonce", {"got 65536"});
  expect_step_error(R"({"send": "join", "device": "dev", "DevNonce": -1})", "DevNonce", {"got -1"});
  expect_step_error(R"({"send": "join", "device": "dev", "DevNonce": 1.5})", "DevNonce", {"got 1.5"});
  expect_step_error(R"({"send": "join", "device": "dev", "DevNonce": null})", "DevNonce", {"got null"});
}

TEST(ScenarioErrors, UnknownKeysAnywhereAreErrors) {
  expect_step_error(R"({"send": "join", "device": "dev", "DevNonse": "next"})", "DevNonse",
                    {"unknown field", "DevNonce"});
  expect_step_error(R"({"send": "join", "device": "dev", "expect": {"result": "failure", "prefered": []}})",
                    "expect.prefered", {"unknown field", "prefer"});
  EXPECT_THAT(error_of(R"({"id": "join/mic-failed", "titel": "x", "steps": [{"send": "raw", "body": ""}]})"),
              HasSubstr(R"(bad.json: scenario "join/mic-failed": titel: unknown field; expected one of id, title)"));
  EXPECT_THAT(error_of(R"({"id": "join/mic-failed", "devices": {"d": {"MacVersion": "1.0.3"}},
                          "steps": [{"send": "join", "device": "d"}]})"),
              HasSubstr(R"(bad.json: scenario "join/mic-failed": devices.d.MacVersion: unknown field)"));
  EXPECT_THAT(error_of(R"({"scenarios": [], "version": 1})"), HasSubstr("bad.json: version: unknown field"));
}

TEST(ScenarioErrors, FieldsOfAnotherStepKindAreErrors) {
  expect_step_error(R"({"send": "join", "device": "dev", "RejoinType": 1})", "RejoinType",
                    {R"(only for "send": "rejoin", not "join")"});
  expect_step_error(R"({"send": "app-s-key", "device": "dev", "DevNonce": "next"})", "DevNonce",
                    {R"(only for "send": "join", not "app-s-key")"});
  expect_step_error(R"({"send": "rejoin", "device": "d11", "DevNonce": 5})", "DevNonce",
                    {R"(only for "send": "join", not "rejoin")"});
  expect_step_error(R"({"send": "home-ns", "device": "dev", "CFList": null})", "CFList", {"not \"home-ns\""});
  expect_step_error(R"({"send": "join", "device": "dev", "SessionKeyID": "last"})", "SessionKeyID",
                    {"only for \"send\": \"app-s-key\""});
  expect_step_error(R"({"send": "join", "device": "dev", "body": "{}"})", "body", {"only for \"send\": \"raw\""});
  expect_step_error(R"({"send": "raw", "body": "{}", "SenderID": "000013"})", "SenderID", {"not \"raw\""});
  expect_step_error(R"({"send": "raw", "body": "{}", "omit": ["DevEUI"]})", "omit", {"not \"raw\""});
  expect_step_error(R"({"send": "rejoin", "device": "d11", "RejoinType": 3})", "RejoinType",
                    {"expected an integer 0..2, got 3"});
  expect_step_error(R"({"send": "raw"})", "body", {"missing"});
  expect_step_error(R"({"send": "raw", "body": "", "MessageType": "JoinAns"})", "MessageType",
                    {"a request type", "got \"JoinAns\""});
  expect_step_error(R"({"send": "downlink", "device": "dev"})", "send",
                    {R"(expected "join", "rejoin", "app-s-key", "home-ns", "raw", "uplink" or "expect_downlink", got "downlink")"});
  // The over-the-air steps take their own fields only, and expect_downlink knows its windows.
  expect_step_error(R"({"send": "uplink", "device": "dev", "expect": "Success"})", "expect",
                    {R"(only for "send": "join", "rejoin", "app-s-key", "home-ns", "raw", not "uplink")"});
  expect_step_error(R"({"send": "expect_downlink", "device": "dev", "window": "RX3"})", "window",
                    {R"(expected "RX1", "RX2" or "any", got "RX3")"});
  expect_step_error(R"({"send": "uplink", "device": "dev", "FPort": 0})", "FPort", {"got 0"});
  expect_step_error(R"({"device": "dev"})", "send", {"missing"});
}

TEST(ScenarioErrors, UnknownDeviceIsAnError) {
  expect_step_error(R"({"send": "join", "device": "dev2"})", "device",
                    {"expected one of the devices the scenario declares (d11, dev), got \"dev2\""});
  expect_step_error(R"({"send": "join"})", "device", {"missing"});
  EXPECT_THAT(error_of(R"({"id": "join/mic-failed", "steps": [{"send": "join", "device": "d"}]})"),
              HasSubstr("steps[0].device: got \"d\", but the scenario declares no \"devices\""));
  EXPECT_THAT(error_of(R"({"id": "join/mic-failed", "devices": {"d": {"MACVersion": "1.2"}},
                          "steps": [{"send": "join", "device": "d"}]})"),
              HasSubstr(R"(bad.json: scenario "join/mic-failed": devices.d.MACVersion: expected one of 1.0, 1.0.0)"));
}

TEST(ScenarioErrors, UnknownCheckIsAnError) {
  expect_step_error(R"({"send": "join", "device": "dev", "check": "join/sucess-1.0.4"})", "check",
                    {"a check id of the catalog", "\"devnonce/replay-1.0.4\"", "got \"join/sucess-1.0.4\""});
  EXPECT_THAT(error_of(R"({"id": "Bad Id", "steps": [{"send": "raw", "body": ""}]})"),
              HasSubstr(R"(bad.json: id: expected a check id <group>/<name> in lower-case letters, digits, '.' and '-', got "Bad Id")"));
  EXPECT_THAT(error_of(R"({"steps": [{"send": "raw", "body": ""}]})"), HasSubstr("bad.json: id: missing"));
  // A catalog check's level is the catalog's.
  EXPECT_THAT(error_of(R"({"id": "join/mic-failed", "level": "SHOULD", "steps": [{"send": "raw", "body": ""}]})"),
              HasSubstr(R"(bad.json: scenario "join/mic-failed": level: expected "MUST" (the catalog's level of "join/mic-failed"), got "SHOULD")"));
}

TEST(ScenarioErrors, CustomIdNeedsTitleAndLevel) {
  EXPECT_THAT(error_of(R"({"id": "site/x", "level": "MUST", "steps": [{"send": "raw", "body": ""}]})"),
              HasSubstr(R"(bad.json: scenario "site/x": title: missing; "site/x" is not a catalog check)"));
  EXPECT_THAT(error_of(R"({"id": "site/x", "title": "X", "steps": [{"send": "raw", "body": ""}]})"),
              HasSubstr(R"(bad.json: scenario "site/x": level: missing)"));
  EXPECT_THAT(error_of(R"({"id": "site/x", "title": "X", "level": "MAY", "steps": [{"send": "raw", "body": ""}]})"),
              HasSubstr(R"(level: expected "MUST", "SHOULD" or "INFO", got "MAY")"));
  // One custom id declared twice, differently, in one file.
  EXPECT_THAT(error_of(R"([{"id": "site/x", "title": "X", "level": "MUST", "steps": [{"send": "raw", "body": ""}]},
                          {"id": "site/x", "title": "Y", "level": "MUST", "steps": [{"send": "raw", "body": ""}]}])"),
              HasSubstr(R"(bad.json: scenario "site/x": declares the custom check "site/x" with another title)"));
}

TEST(ScenarioErrors, BadExpectIsAnError) {
  expect_step_error(R"({"send": "join", "device": "dev", "expect": "Succes"})", "expect",
                    {R"(expected "Success", "failure" or a TS002 result code)", "got \"Succes\""});
  // A code in the wrong letter case gets a hint.
  expect_step_error(R"({"send": "join", "device": "dev", "expect": "micfailed"})", "expect",
                    {"got \"micfailed\" (did you mean \"MICFailed\"?)"});
  expect_step_error(R"({"send": "join", "device": "dev", "expect": 5})", "expect", {"got 5"});
  expect_step_error(R"({"send": "join", "device": "dev", "expect": {"prefer": ["JoinReqFailed"]}})", "expect.result",
                    {"missing"});
  expect_step_error(R"({"send": "join", "device": "dev", "expect": {"result": []}})", "expect.result",
                    {"a non-empty array of result codes"});
  expect_step_error(R"({"send": "join", "device": "dev", "expect": {"result": ["MICFailed", "failure"]}})",
                    "expect.result[1]", {"expected a TS002 result code", "got \"failure\""});
  expect_step_error(R"({"send": "join", "device": "dev", "expect": {"result": "failure", "prefer": ["Success"]}})",
                    "expect.prefer[0]", {"\"Success\" is not one of the results"});
  expect_step_error(R"({"send": "join", "device": "dev", "expect": {"result": ["MICFailed"], "prefer": ["Other"]}})",
                    "expect.prefer[0]", {"\"Other\" is not one of the results"});
  expect_step_error(R"({"send": "join", "device": "dev", "expect": {"result": "failure", "http_status": 700}})",
                    "expect.http_status", {"expected an integer 100..599, got 700"});
}

TEST(ScenarioErrors, BadHexIsAnError) {
  expect_step_error(R"({"send": "join", "device": "dev", "DevAddr": "010203"})", "DevAddr",
                    {"expected 8 hex digits (4 bytes), got 6 characters"});
  expect_step_error(R"({"send": "join", "device": "dev", "DevAddr": "0102030g"})", "DevAddr", {"'g'"});
  expect_step_error(R"({"send": "join", "device": "dev", "CFList": "988d84689584"})", "CFList",
                    {"expected 32 hex digits (16 bytes)"});
  expect_step_error(R"({"send": "join", "device": "dev", "DLSettings": "800"})", "DLSettings",
                    {"expected 2 hex digits (1 byte"});
  expect_step_error(R"({"send": "join", "device": "dev", "SenderToken": "abc"})", "SenderToken",
                    {"an even number of hex digits"});
  expect_step_error(R"({"send": "join", "device": "dev", "SenderNSID": "010203"})", "SenderNSID",
                    {"expected 16 hex digits"});
  expect_step_error(R"({"send": "app-s-key", "device": "dev", "SessionKeyID": "xyz"})", "SessionKeyID",
                    {"expected hex digits"});
  expect_step_error(R"({"send": "join", "device": "dev", "PHYPayload": "shorten"})", "PHYPayload",
                    {R"(expected "truncate", "extend" or "data-uplink" or the hex of a frame, got "shorten")"});
  expect_step_error(R"({"send": "join", "device": "dev", "PHYPayload": "abc"})", "PHYPayload",
                    {"an even number of hex digits"});
}

TEST(ScenarioErrors, WrongTypesAreErrors) {
  expect_step_error(R"({"send": "join", "device": "dev", "RxDelay": "5"})", "RxDelay",
                    {"expected an integer 0..255, got \"5\""});
  expect_step_error(R"({"send": "join", "device": "dev", "RxDelay": 256})", "RxDelay", {"got 256"});
  expect_step_error(R"({"send": "join", "device": "dev", "OptNeg": "yes"})", "OptNeg",
                    {"expected true or false, got \"yes\""});
  expect_step_error(R"({"send": "join", "device": "dev", "TransactionID": -1})", "TransactionID",
                    {"expected an integer 0..4294967295, got -1"});
  expect_step_error(R"({"send": "join", "device": "dev", "TransactionID": 4294967296})", "TransactionID",
                    {"got 4294967296"});
  expect_step_error(R"({"send": "join", "device": "dev", "omit": "DLSettings"})", "omit",
                    {"expected an array, got \"DLSettings\""});
  expect_step_error(R"({"send": "join", "device": "dev", "null": ["CFList", 3]})", "null[1]",
                    {"expected a JSON field name, got 3"});
  expect_step_error(R"({"send": "join", "device": "dev", "set": ["RxDelay", 1]})", "set",
                    {"expected an object, got an array"});
  expect_step_error(R"({"send": "join", "device": "dev", "VSExtension": "x"})", "VSExtension",
                    {"expected an object"});
  expect_step_error(R"({"send": "join", "device": "dev", "hex": "lower"})", "hex",
                    {R"(expected "upper" or "0x", got "lower")"});
  expect_step_error(R"({"send": "join", "device": "dev", "MACVersion": 1.1})", "MACVersion",
                    {"expected a string, got 1.1"});
  expect_step_error(R"({"send": "join", "device": "dev", "ProtocolVersion": 1})", "ProtocolVersion",
                    {"expected a string, got 1"});
  expect_step_error(R"({"send": "join", "device": "dev", "Content-Type": null})", "Content-Type",
                    {"expected a string, got null"});
  expect_step_error(R"({"send": "join", "device": "dev", "MIC": true})", "MIC", {"expected \"corrupt\", got true"});
  EXPECT_THAT(error_of(R"({"id": "join/mic-failed", "requires": ["rejoins"], "steps": [{"send": "raw", "body": ""}]})"),
              HasSubstr(R"(bad.json: scenario "join/mic-failed": requires[0]: expected a capability (rejoin, app-s-key, home-ns, protocol-1.1, known-senders, as-kek, async), got "rejoins")"));
  EXPECT_THAT(error_of(R"({"id": "join/mic-failed", "steps": {}})"),
              HasSubstr("steps: expected a non-empty array of steps, got an object"));
  EXPECT_THAT(error_of(R"({"id": "join/mic-failed", "steps": []})"), HasSubstr("steps: expected a non-empty array"));
  EXPECT_THAT(error_of(R"({"id": "join/mic-failed", "steps": ["join"]})"),
              HasSubstr("steps[0]: expected an object, got \"join\""));
  EXPECT_THAT(error_of(R"({"id": "join/mic-failed", "devices": {"d": {"unknown": 1}}, "steps": [{"send": "raw", "body": ""}]})"),
              HasSubstr("devices.d.unknown: expected true or false, got 1"));
  EXPECT_THAT(error_of("5"), HasSubstr("bad.json: expected a scenario object, {\"scenarios\": [...]} or an array"));
  EXPECT_THAT(error_of(R"({"scenarios": {}})"), HasSubstr("bad.json: scenarios: expected an array of scenarios"));
  EXPECT_THAT(error_of(R"({"scenarios": []})"), HasSubstr("bad.json: expected at least one scenario"));
}

TEST(ScenarioErrors, AScenarioWithoutIdIsNamedByItsIndex) {
  EXPECT_THAT(error_of(R"({"scenarios": [{"id": "join/mic-failed", "steps": [{"send": "raw", "body": ""}]},
                                         {"title": "x"}]})"),
              HasSubstr("bad.json: scenarios[1]: id: missing"));
}

TEST(ScenarioErrors, JsonSyntaxErrorNamesFileLineAndByte) {
  const std::string message = error_of("{\"id\": \"join/mic-failed\",\n  \"steps\": [}\n");
  EXPECT_THAT(message, HasSubstr("bad.json:2:"));
  EXPECT_THAT(message, HasSubstr("invalid JSON at byte "));
  EXPECT_THAT(message, HasSubstr("syntax error"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("json.exception")));
  EXPECT_THAT(error_of(""), HasSubstr("bad.json:1:1: invalid JSON at byte 0"));
}

TEST(ScenarioErrors, DuplicateKeysAreErrors) {
  EXPECT_EQ(error_of(with_step(R"({"send": "join", "device": "dev", "DevNonce": 1, "DevNonce": 2})")),
            "bad.json: steps[2].DevNonce: the key appears twice in one object (only the last would count)");
}

// A unique scratch folder for files on disk, removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(std::string_view name)
      : path(std::filesystem::temp_directory_path() /
             ("joincheck-" + std::string(name) + "-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

TEST(ScenarioFiles, LoadsAFileAndNamesItInErrors) {
  TempDir dir("scenario");
  const auto good = dir.path / "mine.json";
  std::ofstream(good) << kFullFile;
  const auto scenarios = load_scenarios(good);
  ASSERT_EQ(scenarios.size(), 2u);
  EXPECT_EQ(scenarios[0].source, good.string());
  EXPECT_EQ(scenarios[0].steps[3].where, good.string() + ": steps[3]");

  const auto bad = dir.path / "bad.json";
  std::ofstream(bad) << with_step(R"({"send": "join", "device": "dev", "DevNonce": "prev"})");
  try {
    load_scenarios(bad);
    FAIL() << "no error";
  } catch (const ScenarioError& e) {
    EXPECT_THAT(e.what(), HasSubstr(bad.string() + ": scenario \"devnonce/replay-1.0.4\": steps[2].DevNonce: "));
  }

  const auto missing = dir.path / "missing.json";
  try {
    load_scenarios(missing);
    FAIL() << "no error";
  } catch (const ScenarioError& e) {
    EXPECT_THAT(e.what(), HasSubstr(missing.string() + ": cannot read the scenario file"));
  }
}

TEST(ScenarioFiles, BuiltinSuiteParsesAndJudgesCatalogChecks) {
  // scenarios/suite/ is compiled in; every file must parse (a broken one throws here).
  const std::vector<Scenario>* suite = nullptr;
  ASSERT_NO_THROW(suite = &builtin_suite());
  EXPECT_EQ(&builtin_suite(), suite);  // parsed once
  for (const auto& s : *suite) {
    SCOPED_TRACE(s.source + ": " + s.id);
    EXPECT_EQ(s.source.rfind("scenarios/suite/", 0), 0u);
    EXPECT_NE(Catalog::builtin().find(s.id), nullptr);
    for (const auto& step : s.steps) EXPECT_NE(Catalog::builtin().find(step.check), nullptr) << step.where;
  }
}

}  // namespace
}  // namespace joincheck::conformance
