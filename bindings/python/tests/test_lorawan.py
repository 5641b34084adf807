"""Low-level helpers: join-request, join-accept, key derivation, key wrap and KeyEnvelope, proven
with public vectors (each test names the upstream test it comes from) and both ways."""

import pytest

import joincheck

KEY = "01020304050607080102030405060708"
# brocaar/lorawan backend/joinserver/joinserver_test.go "valid join-request (LoRaWAN 1.0)".
JOIN_REQUEST = "00010203040506070808070605040302010201cde6acb8"
JOIN_ACCEPT_10 = "2026f4b247f0a5d7e46a720e61c8bccbc5179f4566e185ed6889589bb1a9c68cc0"
# the same test file, "valid join-request (LoRaWAN 1.1)" (AppKey all zero).
JOIN_ACCEPT_11 = "20a4c899795a42f5d16067a822c21b379af8aaa301a90d1c60d4cb792cb8eeb0a3"


def test_join_request_is_built_and_parsed_with_the_vector():
    frame = joincheck.build_join_request(KEY, join_eui="0807060504030201", dev_eui="0102030405060708",
                                         dev_nonce=0x0102)
    assert frame == bytes.fromhex(JOIN_REQUEST)
    request = joincheck.parse_join_request(frame)
    assert (request.join_eui, request.dev_eui, request.dev_nonce, request.mic) == (
        "0807060504030201", "0102030405060708", 0x0102, bytes.fromhex("cde6acb8"))
    assert request.mic_valid(KEY)
    assert not request.mic_valid(bytes(16))
    assert bytes(request) == frame and request.to_bytes() == frame
    assert repr(request) == ("JoinRequest(join_eui='0807060504030201', dev_eui='0102030405060708', "
                             "dev_nonce=258, mic='cde6acb8')")


@pytest.mark.parametrize("key", [KEY, "0x" + KEY, bytes.fromhex(KEY), bytearray.fromhex(KEY),
                                 memoryview(bytes.fromhex(KEY))])
def test_bytes_and_hex_strings_are_accepted(key):
    frame = joincheck.build_join_request(key, join_eui=bytes.fromhex("0807060504030201"),
                                         dev_eui="0x0102030405060708", dev_nonce="0102")
    assert frame.hex() == JOIN_REQUEST


def test_bad_input_names_the_field_and_never_quotes_a_key():
    with pytest.raises(joincheck.Error, match="DevEUI") as e:
        joincheck.build_join_request(KEY, join_eui="0807060504030201", dev_eui="01020304", dev_nonce=1)
    assert "16 hex digits" in str(e.value) or "8 bytes" in str(e.value)
    secret = "0102030405060708010203040506070z"
    with pytest.raises(joincheck.Error) as e:
        joincheck.build_join_request(secret, join_eui="0807060504030201", dev_eui="0102030405060708", dev_nonce=1)
    assert secret not in str(e.value) and "key" in str(e.value)
    with pytest.raises(TypeError, match="expected a hex string or 16 bytes, got int"):
        joincheck.build_join_request(12, join_eui="0807060504030201", dev_eui="0102030405060708", dev_nonce=1)
    with pytest.raises(joincheck.Error, match="DevNonce: expected 0..65535, got 70000"):
        joincheck.build_join_request(KEY, join_eui="0807060504030201", dev_eui="0102030405060708", dev_nonce=70000)
    with pytest.raises(joincheck.Error, match="MType"):
        joincheck.parse_join_request(JOIN_ACCEPT_10[:46])


def test_join_accept_1_0_decrypts_verifies_and_derives_the_published_keys():
    accept = joincheck.decrypt_join_accept(JOIN_ACCEPT_10, app_key=KEY, join_eui="0807060504030201",
                                           dev_eui="0102030405060708", dev_nonce=0x0102)
    assert accept.mic_valid is True
    assert (accept.join_nonce, accept.net_id, accept.dev_addr, accept.dl_settings, accept.rx_delay) == (
        0x010000, "010203", "01020304", 0x15, 1)
    assert accept.cf_list == bytes.fromhex("988d8468958400000000000000000000")
    assert accept.plaintext.hex() == "20000001030201040302011501988d84689584000000000000000000007d57c47f"
    keys = accept.session_keys
    assert keys.nwk_s_key.hex() == "df53c35f3034ccced0ff354c70de04df"
    assert keys.app_s_key.hex() == "927b9c911183cffe4cb2ff4b75545f6d"
    assert keys == joincheck.derive_session_keys_1_0(KEY, join_nonce=0x010000, net_id="010203", dev_nonce=0x0102)
    assert keys.reveal() == {"NwkSKey": "df53c35f3034ccced0ff354c70de04df",
                             "AppSKey": "927b9c911183cffe4cb2ff4b75545f6d"}
    # A key never shows in repr or str.
    for text in (repr(keys), str(keys), repr(accept), str(accept)):
        assert "df53c35f" not in text and "927b9c91" not in text
    # The JS side builds the same frame.
    assert joincheck.build_join_accept(
        join_nonce=0x010000, net_id="010203", dev_addr="01020304", dl_settings=0x15, rx_delay=1,
        cf_list=accept.cf_list, app_key=KEY, join_eui="0807060504030201", dev_eui="0102030405060708",
        dev_nonce=0x0102).hex() == JOIN_ACCEPT_10


def test_join_accept_with_the_wrong_key_is_not_valid_and_says_what_is_missing():
    wrong = joincheck.decrypt_join_accept(JOIN_ACCEPT_10, app_key=bytes(16))
    assert wrong.mic_valid is False and wrong.expected_mic is not None
    no_context = joincheck.decrypt_join_accept(JOIN_ACCEPT_10, app_key=KEY)
    assert no_context.session_keys is None and "DevNonce" in no_context.keys_note
    with pytest.raises(joincheck.Error):
        joincheck.decrypt_join_accept(JOIN_ACCEPT_10)  # no key to decrypt with


def test_join_accept_1_1_with_opt_neg():
    accept = joincheck.decrypt_join_accept(JOIN_ACCEPT_11, nwk_key=KEY, app_key=bytes(16),
                                           join_eui="0807060504030201", dev_eui="0102030405060708",
                                           dev_nonce=0x0102)
    assert accept.opt_neg and accept.mic_valid is True and "1.1" in accept.mode
    keys = accept.session_keys
    assert keys.reveal() == {"FNwkSIntKey": "537f8aae896c79e015d102d06286354e",
                             "SNwkSIntKey": "589498993092cfdb5fd2e02ac7510bf1",
                             "NwkSEncKey": "9898283c4f66eb6c6fd5165882046c40",
                             "AppSKey": "01621215d1ca08febf0c602cc2ad90fa"}
    assert keys == joincheck.derive_session_keys_1_1(nwk_key=KEY, app_key=bytes(16), join_nonce=0x010000,
                                                     join_eui="0807060504030201", dev_nonce=0x0102)
    js = joincheck.derive_js_keys(KEY, dev_eui="0102030405060708")
    assert js.js_int_key.hex() == "b8ae379696825f22c8abbec24c31a84b"
    assert js.js_enc_key.hex() == "d4bd9461adaa3b4e601953ebd08bffc6"
    assert accept.js_keys == js
    assert "b8ae3796" not in repr(js)
    # Without the join-request's context the 1.1 MIC cannot be computed: said, not guessed.
    bare = joincheck.decrypt_join_accept(JOIN_ACCEPT_11, nwk_key=KEY)
    assert bare.mic_valid is None and bare.mic_note


# RFC 3394 §4.1 and §4.3.
def test_aes_key_wrap_rfc_3394():
    kek = "000102030405060708090A0B0C0D0E0F"
    wrapped = joincheck.aes_key_wrap(kek, "00112233445566778899AABBCCDDEEFF")
    assert wrapped.hex().upper() == "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"
    assert joincheck.aes_key_unwrap(kek, wrapped).hex() == "00112233445566778899aabbccddeeff"
    kek256 = bytes(range(32))
    assert joincheck.aes_key_wrap(kek256, "00112233445566778899AABBCCDDEEFF").hex().upper() == \
        "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"
    with pytest.raises(joincheck.KeyUnwrapError):
        joincheck.aes_key_unwrap("101112131415161718191A1B1C1D1E1F", wrapped)
    with pytest.raises(joincheck.Error):
        joincheck.aes_key_wrap(bytes(8), bytes(16))


# brocaar backend_test.go TestKeyEnvelope.
def test_key_envelope_wraps_unwraps_and_refuses_a_silent_clear_key():
    env = joincheck.wrap_key(KEY, kek="08070605040302010807060504030201", label="test-kek")
    assert env.kek_label == "test-kek" and not env.is_clear
    assert env.aes_key.hex() == "e3d5a47ba25cbe6e5da820846e0cb6a82b750c59d848ec7a"
    assert env.to_json() == {"KEKLabel": "test-kek", "AESKey": "e3d5a47ba25cbe6e5da820846e0cb6a82b750c59d848ec7a"}
    assert joincheck.unwrap_key(env.to_json(), {"test-kek": "08070605040302010807060504030201"}).hex() == KEY
    assert "e3d5a47b" not in repr(env) and "wrapped" in repr(env)
    clear = joincheck.KeyEnvelope.wrap(KEY)
    assert clear.is_clear and clear.unwrap().hex() == KEY
    with pytest.raises(joincheck.KeyEnvelopeError) as e:
        joincheck.wrap_key(KEY, label="as")
    assert e.value.reason == "label-without-kek"
    with pytest.raises(joincheck.KeyEnvelopeError) as e:
        env.unwrap({"other": bytes(16)})
    assert e.value.reason == "unknown-label" and "test-kek" in str(e.value)
    with pytest.raises(joincheck.KeyEnvelopeError) as e:
        env.unwrap({"test-kek": bytes(16)})
    assert e.value.reason == "integrity-check-failed"
    assert isinstance(e.value, joincheck.Error)
