// The LoRaWAN frame decoder (`joincheck decode`): join-request, rejoin-request and join-accept
// frames, with keys so that the MIC and decryption paths run. Only lorawan::Error may be thrown.
#include <cstddef>
#include <cstdint>

#include "lorawan/frame_decoder.hpp"
#include "lorawan/hex.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck::lorawan;
  if (size == 0) return 0;
  // The first byte chooses which keys and options come with the frame.
  const std::uint8_t choice = data[0];
  const ByteSpan phy(data + 1, size - 1);
  DecodeInputs in;
  if (choice & 1) in.app_key = Aes128Key::parse("2b7e151628aed2a6abf7158809cf4f3c");
  if (choice & 2) in.nwk_key = Aes128Key::parse("000102030405060708090a0b0c0d0e0f");
  if (choice & 4) in.join_eui = Eui64::parse("0807060504030201");
  if (choice & 8) in.dev_nonce = DevNonce(static_cast<std::uint32_t>(choice) * 257u);
  if (choice & 16) in.join_req_type = JoinReqType::rejoin0;
  if (choice & 32) in.s_nwk_s_int_key = Aes128Key::parse("0f0e0d0c0b0a09080706050403020100");
  try {
    (void)decode_frame(phy, in);
  } catch (const Error&) {
  }
  return 0;
}
