// Hostile input straight into the JS logic: random mutations of valid requests (bit flips,
// truncation, spliced bytes, replaced values). Every body gets an answer that is JSON with a
// Result, the JS never throws, and the state stays consistent afterwards.
#include <gtest/gtest.h>

#include <random>

#include "js_test_support.hpp"
#include "sim/join_server/join_server.hpp"

namespace joincheck::sim {
namespace {

using namespace test_support;

std::string mutate(std::string body, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> kind(0, 5);
  auto pos = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n ? n - 1 : 0)(rng); };
  const int rounds = 1 + static_cast<int>(rng() % 4);
  for (int r = 0; r < rounds && !body.empty(); ++r) {
    switch (kind(rng)) {
      case 0:  // flip a bit
        body[pos(body.size())] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1:  // truncate
        body.resize(pos(body.size()));
        break;
      case 2:  // duplicate a slice
      {
        const std::size_t a = pos(body.size());
        body.insert(pos(body.size()), body.substr(a, rng() % 40));
        break;
      }
      case 3:  // a structural character somewhere
        body.insert(pos(body.size()), 1, "{}[]\":,0\\n"[rng() % 10]);
        break;
      case 4:  // replace a value with another JSON type
      {
        const auto colon = body.find(':', pos(body.size()));
        if (colon != std::string::npos) {
          const char* values[] = {"null", "[]", "{}", "-1", "1e400", "\"\"", "true", "18446744073709551616"};
          const auto end = body.find_first_of(",}", colon);
          body.replace(colon + 1, end == std::string::npos ? 0 : end - colon - 1, values[rng() % 8]);
        }
        break;
      }
      default:  // a random byte, including NUL and invalid UTF-8
        body[pos(body.size())] = static_cast<char>(rng() % 256);
        break;
    }
  }
  return body;
}

TEST(JoinServerRobustness, MutatedRequestsAlwaysGetAnAnswer) {
  auto options = default_options();
  DeviceStore store(options.store);
  store.upsert(options.fleets.front());
  JoinServer js(options.js, store);

  std::vector<std::string> seeds;
  seeds.push_back(backend::encode(join_req(kDev103, 1)));
  JoinReqOptions o11;
  o11.protocol = backend::ProtocolVersion::v1_1;
  seeds.push_back(backend::encode(join_req(kDev11, 1, o11)));
  backend::AppSKeyReq ask;
  ask.header.sender_id = "as";
  ask.header.receiver_id = kDev11.join_eui.hex();
  ask.dev_eui = kDev11.dev_eui;
  ask.session_key_id = Bytes(16, 0x01);
  seeds.push_back(backend::encode(ask));
  backend::HomeNSReq home;
  home.header.sender_id = "010203";
  home.header.receiver_id = kDev11.join_eui.hex();
  home.dev_eui = kDev103.dev_eui;
  seeds.push_back(backend::encode(home));

  std::mt19937_64 rng(20261125);  // fixed: a failure is reproducible
  int answered = 0;
  for (int i = 0; i < 100000; ++i) {
    const std::string body = mutate(seeds[static_cast<std::size_t>(i) % seeds.size()], rng);
    JsAnswer a;
    ASSERT_NO_THROW(a = js.handle(JsRequest{body, {}, {}})) << body;
    if (a.body.empty()) continue;  // an acknowledged ErrorNotif
    const auto j = nlohmann::json::parse(a.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "request: " << body << "\nanswer: " << a.body;
    ASSERT_TRUE(j.contains("Result")) << "request: " << body << "\nanswer: " << a.body;
    ++answered;
  }
  EXPECT_GT(answered, 95000);
  // The state is still coherent: the devices join normally afterwards.
  store.flush();
  const auto ans = js.handle(JsRequest{backend::encode(join_req(kDev104, 60000)), {}, {}});
  EXPECT_NE(ans.body.find("\"Success\""), std::string::npos) << ans.body;
}

}  // namespace
}  // namespace joincheck::sim
