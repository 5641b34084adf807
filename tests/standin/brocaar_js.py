#!/usr/bin/env python3
"""A stand-in for the ChirpStack v3 Join Server (brocaar/lorawan backend/joinserver, 2021).

It is written from what was MEASURED when the real server was run against joincheck
(docs/profiles.md#brocaar), plus the few behaviours read in its source that the suite touches,
and from the LoRaWAN formulas; no code of the real server was copied. It exists to prove that
`--profile brocaar` turns exactly the known quirks into warnings and leaves its real bug, the
session keys after a rejoin, a failure (tests/standin/test_brocaar_standin.sh).

What it does, as measured:
  * every answer has Content-Type "text/plain; charset=utf-8" (Go sniffs; no type is set);
  * hex with a 0x prefix, or bad hex, in a hex field: HTTP 400 and a bare
    {"ResultCode":"Other","Description":"encoding/hex: invalid byte: U+0078 'x'"};
  * a JoinReq without DLSettings is served with DLSettings 00;
  * only ProtocolVersion "1.0": no ReceiverNSID, no ReceiverToken, no Lifetime, no SessionKeyID;
  * an unknown DevEUI: HTTP 400 and a full answer with UnknownDevEUI;
  * any SenderID, any ReceiverID, no DevNonce check;
  * the bug: a RejoinAns whose join-accept is right (OptNeg=1, JSIntKey MIC, JSEncKey) and
    whose four session keys are E(NwkKey, t | JoinNonce | NetID | RJcount | pad16).
Read in the source (joinserver.go): a body that is not JSON or an unknown MessageType (AppSKeyReq
included) is HTTP 400 with a bare Result; HomeNSReq is answered with HNetID; the NS KEK label is
the SenderID; a PHYPayload that is not a join-request is answered Other; 1.0 or 1.1 formulas
follow the OptNeg bit.

Usage: brocaar_js.py --devices FLEET.json [--kek LABEL=HEX]... [--as-kek LABEL] [--home-net-id HEX]
Prints "listening on http://127.0.0.1:PORT/" once it accepts connections. Keys are never logged.
"""
import argparse
import json
import string
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

TEXT_PLAIN = "text/plain; charset=utf-8"
HEX_FIELDS = ("SenderID", "ReceiverID", "DevEUI", "PHYPayload", "DevAddr", "DLSettings", "CFList", "SenderToken")


def aes_encrypt(key, data):
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(data) + e.finalize()


def aes_decrypt(key, data):
    d = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    return d.update(data) + d.finalize()


def cmac(key, data):
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def derive(key, prefix, *fields):
    """E(key, prefix | fields | pad16): the LoRaWAN key derivation block, fields in wire order."""
    block = bytes([prefix]) + b"".join(fields)
    return aes_encrypt(key, block + bytes(16 - len(block)))


def wire(display_hex):
    """An EUI, NetID or DevAddr as written in JSON (MSB first) to its frame order."""
    return bytes.fromhex(display_hex)[::-1]


def go_hex_error(value):
    """Go's encoding/hex error for `value`, or None when it decodes."""
    for c in value:
        if c not in string.hexdigits:
            return "encoding/hex: invalid byte: U+%04X '%s'" % (ord(c), c)
    return "encoding/hex: odd length hex string" if len(value) % 2 else None


class JoinServer:
    def __init__(self, fleet, keks, as_kek_label, home_net_id):
        self.devices = {}
        for d in fleet["devices"]:
            self.devices[d["DevEUI"].lower()] = {
                "JoinEUI": d["JoinEUI"].lower(),
                "AppKey": bytes.fromhex(d["AppKey"]) if d.get("AppKey") else None,
                "NwkKey": bytes.fromhex(d["NwkKey"]) if d.get("NwkKey") else None,
                "join_nonce": 0,
            }
        self.keks = keks
        self.as_kek_label = as_kek_label
        self.home_net_id = home_net_id
        self.lock = threading.Lock()

    # -- answers ------------------------------------------------------------------------------
    @staticmethod
    def bare(status, description):
        return status, {"ResultCode": "Other", "Description": description}

    @staticmethod
    def header(req, answer_type):
        return {"ProtocolVersion": "1.0", "SenderID": req.get("ReceiverID", ""), "ReceiverID": req.get("SenderID", ""),
                "TransactionID": req.get("TransactionID", 0), "MessageType": answer_type}

    def failure(self, status, req, answer_type, code, description):
        ans = self.header(req, answer_type)
        ans["Result"] = {"ResultCode": code, "Description": description}
        return status, ans

    def envelope(self, key, label):
        kek = self.keks.get(label) if label else None
        if kek is None:
            return {"KEKLabel": "", "AESKey": key.hex()}
        return {"KEKLabel": label, "AESKey": aes_key_wrap(kek, key).hex()}

    # -- requests -----------------------------------------------------------------------------
    def handle(self, body):
        try:
            req = json.loads(body)
        except ValueError as e:
            return self.bare(400, "invalid character: %s" % e.msg)
        if not isinstance(req, dict):
            return self.bare(400, "json: cannot unmarshal into Go value of type backend.BasePayload")
        if not isinstance(req.get("TransactionID", 0), int):
            return self.bare(400, "json: cannot unmarshal into Go struct field BasePayload.TransactionID of type uint32")
        for field in HEX_FIELDS:
            value = req.get(field)
            if isinstance(value, str) and go_hex_error(value):
                return self.bare(400, go_hex_error(value))
        kind = req.get("MessageType")
        if kind == "JoinReq":
            return self.join(req, rejoin=False)
        if kind == "RejoinReq":
            return self.join(req, rejoin=True)
        if kind == "HomeNSReq":
            return self.home_ns(req)
        return self.bare(400, "invalid MessageType: %s" % kind)

    def home_ns(self, req):
        if str(req.get("DevEUI", "")).lower() not in self.devices:
            return self.failure(400, req, "HomeNSAns", "UnknownDevEUI", "object does not exist")
        ans = self.header(req, "HomeNSAns")
        ans["Result"] = {"ResultCode": "Success"}
        ans["HNetID"] = self.home_net_id
        return 200, ans

    def join(self, req, rejoin):
        answer_type = "RejoinAns" if rejoin else "JoinAns"
        dev = self.devices.get(str(req.get("DevEUI", "")).lower())
        if dev is None:
            return self.failure(400, req, answer_type, "UnknownDevEUI", "object does not exist")
        with self.lock:  # the host (ChirpStack AS v3) spends a JoinNonce before any check
            dev["join_nonce"] += 1
            join_nonce = dev["join_nonce"].to_bytes(3, "little")
        phy = bytes.fromhex(req.get("PHYPayload", ""))
        net_id = req.get("SenderID", "")
        if len(net_id) != 6:
            return self.failure(200, req, answer_type, "Other", "lorawan: exactly 3 bytes are expected")
        net_id = wire(net_id)
        dev_addr = wire(req.get("DevAddr", "00000000"))
        dl_settings = int(req.get("DLSettings") or "00", 16)  # absent: Go's zero value
        rx_delay = int(req.get("RxDelay") or 0)
        cf_list = bytes.fromhex(req.get("CFList") or "")
        nwk_key = dev["NwkKey"] or dev["AppKey"]  # ChirpStack v3 keeps a 1.0.x root key as NwkKey
        app_key = dev["AppKey"] or nwk_key
        dev_eui = wire(req["DevEUI"])
        js_int_key = derive(nwk_key, 0x06, dev_eui)
        js_enc_key = derive(nwk_key, 0x05, dev_eui)

        if rejoin:
            if len(phy) == 19 and phy[0] == 0xC0 and phy[1] in (0, 2):
                counter = phy[13:15]
            elif len(phy) == 24 and phy[0] == 0xC0 and phy[1] == 1:
                counter = phy[18:20]
            else:
                return self.failure(200, req, answer_type, "Other", "lorawan: invalid rejoin-request")
            join_req_type = phy[1]
            join_eui = wire(req.get("ReceiverID", dev["JoinEUI"]))
            opt_neg = True  # the RejoinReq's DLSettings; the keys below ignore it (the bug)
        else:
            if len(phy) != 23 or phy[0] & 0xE0 != 0x00:
                return self.failure(200, req, answer_type, "Other", "lorawan: expected a join-request")
            root = nwk_key
            if cmac(root, phy[:19])[:4] != phy[19:23]:
                return self.failure(200, req, answer_type, "MICFailed", "invalid mic")
            join_req_type = 0xFF
            join_eui = phy[1:9]
            counter = phy[17:19]
            opt_neg = bool(dl_settings & 0x80)

        body = join_nonce + net_id + dev_addr + bytes([dl_settings, rx_delay]) + cf_list
        ans = self.header(req, answer_type)
        ans["Result"] = {"ResultCode": "Success"}
        ns_label = req.get("SenderID", "")
        if opt_neg:
            mic = cmac(js_int_key, bytes([join_req_type]) + join_eui + counter + b"\x20" + body)[:4]
            enc_key = js_enc_key if rejoin else nwk_key
            if rejoin:
                # The bug: OptNeg read from an empty JoinReq, so the 1.0 layout with NwkKey.
                keys = {t: derive(nwk_key, p, join_nonce, net_id, counter)
                        for t, p in (("FNwkSIntKey", 1), ("AppSKey", 2), ("SNwkSIntKey", 3), ("NwkSEncKey", 4))}
            else:
                keys = {"FNwkSIntKey": derive(nwk_key, 1, join_nonce, join_eui, counter),
                        "AppSKey": derive(app_key, 2, join_nonce, join_eui, counter),
                        "SNwkSIntKey": derive(nwk_key, 3, join_nonce, join_eui, counter),
                        "NwkSEncKey": derive(nwk_key, 4, join_nonce, join_eui, counter)}
            for name in ("FNwkSIntKey", "SNwkSIntKey", "NwkSEncKey"):
                ans[name] = self.envelope(keys[name], ns_label)
        else:
            mic = cmac(nwk_key, b"\x20" + body)[:4]
            enc_key = nwk_key
            keys = {"NwkSKey": derive(nwk_key, 1, join_nonce, net_id, counter),
                    "AppSKey": derive(nwk_key, 2, join_nonce, net_id, counter)}
            ans["NwkSKey"] = self.envelope(keys["NwkSKey"], ns_label)
        ans["AppSKey"] = self.envelope(keys["AppSKey"], self.as_kek_label)
        ans["PHYPayload"] = (b"\x20" + aes_decrypt(enc_key, body + mic)).hex()
        return 200, ans


def make_handler(js):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            try:
                status, answer = js.handle(self.rfile.read(length))
            except (ValueError, TypeError, KeyError, AttributeError) as e:  # what Go's unmarshalling refuses
                status, answer = JoinServer.bare(400, "json: %s" % type(e).__name__)
            out = json.dumps(answer, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", TEXT_PLAIN)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):  # quiet: bodies carry keys
            pass

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", required=True, help="fleet JSON file")
    p.add_argument("--kek", action="append", default=[], help="LABEL=HEX, a KEK the JS holds")
    p.add_argument("--as-kek", default="", help="the label that wraps AppSKey")
    p.add_argument("--home-net-id", default="000001")
    p.add_argument("--port", type=int, default=0)
    a = p.parse_args()
    keks = {}
    for spec in a.kek:
        label, _, key = spec.partition("=")
        keks[label] = bytes.fromhex(key)
    with open(a.devices) as f:
        fleet = json.load(f)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(JoinServer(fleet, keks, a.as_kek, a.home_net_id)))
    print("listening on http://127.0.0.1:%d/" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
