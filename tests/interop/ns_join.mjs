#!/usr/bin/env node
// An independent Network Server (and end device) against a TS002 Join Server.
//
// Every LoRaWAN frame operation is done by lora-packet (npm, anthonykirby/lora-packet, MIT):
// building and MIC-ing the join-request, decrypting the join-accept, checking its MIC, reading
// its fields and deriving the session keys. Node's own crypto only unwraps the KEK envelopes
// (RFC 3394, which lora-packet does not do) and fetch carries the TS002 JSON.
//
// usage: node ns_join.mjs --js URL --fleet FLEET.json --net-id NETID
//                         --kek LABEL=HEX [--kek LABEL=HEX ...] [--as-kek-label LABEL]
//
//   --net-id        the NS's NetID: JoinReq SenderID, the join-accept NetID, and the label the
//                   JS is expected to wrap the network session keys with
//   --kek           key-encryption keys by label (16, 24 or 32 bytes of hex)
//   --as-kek-label  the label the JS is expected to wrap AppSKey with (absent: AppSKey in clear)
//
// Prints one line per check and then "N passed, N failed"; exits 1 on any failure, 2 on bad usage.

import crypto from "node:crypto";
import fs from "node:fs";
import lora from "lora-packet";

// ---------------------------------------------------------------------------------------------
// Command line

function usage(msg) {
  if (msg) console.error(`ns_join.mjs: ${msg}`);
  console.error(
    "usage: node ns_join.mjs --js URL --fleet FLEET.json --net-id NETID --kek LABEL=HEX ... [--as-kek-label LABEL]",
  );
  process.exit(2);
}

const opts = { keks: new Map() };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--js") opts.js = value();
    else if (a === "--fleet") opts.fleet = value();
    else if (a === "--net-id") opts.netId = value().toLowerCase();
    else if (a === "--as-kek-label") opts.asKekLabel = value();
    else if (a === "--kek") {
      const v = value();
      const eq = v.indexOf("=");
      if (eq <= 0) usage(`--kek ${v}: expected LABEL=HEX`);
      const kek = Buffer.from(v.slice(eq + 1), "hex");
      if (![16, 24, 32].includes(kek.length) || kek.toString("hex") !== v.slice(eq + 1).toLowerCase()) {
        usage(`--kek ${v.slice(0, eq)}: expected 32, 48 or 64 hex digits`);
      }
      opts.keks.set(v.slice(0, eq), kek);
    } else if (a === "-h" || a === "--help") usage();
    else usage(`unknown argument ${a}`);
  }
  if (!opts.js || !opts.fleet || !opts.netId) usage("--js, --fleet and --net-id are required");
  if (!/^[0-9a-f]{6}$/.test(opts.netId)) usage(`--net-id ${opts.netId}: expected 6 hex digits`);
}

// ---------------------------------------------------------------------------------------------
// Reporting

let passed = 0;
let failed = 0;

// check NAME OK [WHY-IT-FAILED] [NOTE-WHEN-OK]
function check(name, ok, detail = "", okNote = "") {
  if (ok) {
    passed++;
    console.log(`ok   ${name}${okNote ? ` (${okNote})` : ""}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
  }
  return ok;
}

function checkEqual(name, got, want) {
  const g = hex(got);
  const w = hex(want);
  return check(name, g === w, g === w ? "" : `got ${g}, expected ${w}`);
}

// ---------------------------------------------------------------------------------------------
// Helpers

// TS002 hex: optional 0x, either case (TS002 1.0 §22.3).
function fromHex(s, what) {
  if (typeof s !== "string") throw new Error(`${what}: expected a hex string, got ${JSON.stringify(s)}`);
  const t = s.replace(/^0x/i, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(t)) throw new Error(`${what}: not hex: ${JSON.stringify(s)}`);
  return Buffer.from(t, "hex");
}

function hex(v) {
  if (v === undefined || v === null) return String(v);
  return Buffer.isBuffer(v) ? v.toString("hex") : String(v).toLowerCase();
}

function u16(n) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function randomInt(lo, hi) {
  return crypto.randomInt(lo, hi);
}

// RFC 3394 unwrap with Node's OpenSSL (default IV A6A6A6A6A6A6A6A6).
function unwrap(kek, wrapped) {
  const alg = { 16: "id-aes128-wrap", 24: "id-aes192-wrap", 32: "id-aes256-wrap" }[kek.length];
  const d = crypto.createDecipheriv(alg, kek, Buffer.from("A6A6A6A6A6A6A6A6", "hex"));
  return Buffer.concat([d.update(wrapped), d.final()]);
}

// A KeyEnvelope as the NS or AS reads it: clear when KEKLabel is absent or "" (brocaar, TTS and
// ChirpStack all send ""), otherwise RFC 3394 under the KEK with that label.
function openEnvelope(env, what, expectedLabel) {
  if (!env || typeof env !== "object") throw new Error(`${what}: missing`);
  const label = env.KEKLabel ?? "";
  const aesKey = fromHex(env.AESKey, `${what}.AESKey`);
  if ((expectedLabel ?? "") !== label) {
    throw new Error(`${what}: KEKLabel ${JSON.stringify(label)}, expected ${JSON.stringify(expectedLabel ?? "")}`);
  }
  if (label === "") {
    if (aesKey.length !== 16) throw new Error(`${what}: clear key of ${aesKey.length} bytes`);
    return aesKey;
  }
  const kek = opts.keks.get(label);
  if (!kek) throw new Error(`${what}: no KEK labelled ${JSON.stringify(label)} given with --kek`);
  return unwrap(kek, aesKey);
}

// EU868-style CFList (CFListType 0): five channel frequencies, freq/100 as 24-bit little endian.
function cfListOf(frequenciesHz) {
  const b = Buffer.alloc(16);
  frequenciesHz.forEach((f, i) => b.writeUIntLE(f / 100, i * 3, 3));
  b[15] = 0;
  return b;
}

// ---------------------------------------------------------------------------------------------
// The fleet

const fleetText = fs.readFileSync(opts.fleet, "utf8");
const fleet = JSON.parse(fleetText).devices;
if (!Array.isArray(fleet) || fleet.length === 0) usage(`${opts.fleet}: no "devices"`);

const devices = fleet.map((d, i) => {
  const macVersion = String(d.MACVersion);
  const is11 = macVersion.startsWith("1.1");
  const dev = {
    macVersion,
    is11,
    counter: is11 || macVersion === "1.0.4", // DevNonce is a counter from 1.0.4 on (LoRaWAN 1.0.4 §6.2.5)
    devEUI: fromHex(d.DevEUI, `device ${i} DevEUI`),
    joinEUI: fromHex(d.JoinEUI, `device ${i} JoinEUI`),
    appKey: d.AppKey ? fromHex(d.AppKey, `device ${i} AppKey`) : undefined,
    nwkKey: d.NwkKey ? fromHex(d.NwkKey, `device ${i} NwkKey`) : undefined,
  };
  dev.name = `${macVersion} ${hex(dev.devEUI)}`;
  return dev;
});

// ---------------------------------------------------------------------------------------------
// The NS side: one JoinReq

let transactionId = randomInt(1, 0x7fffffff);

// Builds the device's join-request with lora-packet and the JoinReq that carries it.
function buildJoinReq(dev, j) {
  // The join-request MIC key: AppKey up to 1.0.4, NwkKey for a 1.1 device (whatever the NS speaks).
  const micKey = dev.is11 ? dev.nwkKey : dev.appKey;
  const frame = lora.fromFields(
    { MType: "Join Request", AppEUI: dev.joinEUI, DevEUI: dev.devEUI, DevNonce: u16(j.devNonce) },
    undefined,
    undefined,
    micKey,
  );
  const phy = frame.getPHYPayload();
  const body = {
    ProtocolVersion: "1.0",
    SenderID: opts.netId,
    ReceiverID: hex(dev.joinEUI),
    TransactionID: transactionId++,
    MessageType: "JoinReq",
    MACVersion: j.macVersion,
    PHYPayload: hex(phy),
    DevEUI: hex(dev.devEUI),
    DevAddr: hex(j.devAddr),
    DLSettings: hex(Buffer.from([j.dlSettings])),
    RxDelay: j.rxDelay,
  };
  if (j.cfList) body.CFList = hex(j.cfList);
  return body;
}

async function post(body) {
  const res = await fetch(opts.js, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

// A fresh join's parameters. mode: "1.0" (1.0.x device), "1.1" (OptNeg=1) or "1.1-optneg0"
// (a 1.1 device through an NS that speaks only 1.0.3: OptNeg=0, LoRaWAN 1.1 §6.2.3).
function joinParams(dev, mode, devNonce) {
  const rx1DrOffset = randomInt(0, 6);
  const rx2Dr = randomInt(0, 8);
  const withCfList = randomInt(0, 2) === 1;
  return {
    mode,
    devNonce,
    macVersion: mode === "1.1-optneg0" ? "1.0.3" : dev.macVersion,
    devAddr: crypto.randomBytes(4),
    dlSettings: (mode === "1.1" ? 0x80 : 0) | (rx1DrOffset << 4) | rx2Dr,
    rxDelay: randomInt(1, 16),
    cfList: withCfList ? cfListOf([867100000, 867300000, 867500000, 867700000, 867900000]) : undefined,
  };
}

// The device's side of a successful answer, done with lora-packet only, and the NS's side
// (unwrapping what the JS sent). Returns the JoinNonce (hex, MSB first) or undefined.
function verifyAccept(dev, j, req, res, tag) {
  const ans = res.json;
  const where = `${dev.name} ${tag}`;
  if (!check(`${where}: HTTP 200 with a JSON answer`, res.status === 200 && ans !== undefined,
             `HTTP ${res.status}, body ${res.text.slice(0, 200)}`)) return undefined;
  const code = ans.Result?.ResultCode;
  if (!check(`${where}: Result Success`, code === "Success",
             `${code} ${ans.Result?.Description ?? ""}`.trim())) return undefined;
  check(`${where}: answer header (JoinAns, TransactionID echoed, SenderID=JoinEUI, ReceiverID=NetID)`,
        ans.MessageType === "JoinAns" && ans.TransactionID === req.TransactionID &&
          hex(ans.SenderID) === hex(dev.joinEUI) && hex(ans.ReceiverID) === opts.netId,
        `${ans.MessageType} ${ans.TransactionID} ${ans.SenderID} -> ${ans.ReceiverID}`);
  if (!check(`${where}: PHYPayload present`, typeof ans.PHYPayload === "string")) return undefined;

  // The device: decrypt with NwkKey (1.1 device) or AppKey (1.0.x), read the accept.
  const rootKey = dev.is11 ? dev.nwkKey : dev.appKey;
  const wire = lora.fromWire(fromHex(ans.PHYPayload, "PHYPayload"));
  if (!check(`${where}: lora-packet parses a join-accept`, wire.isJoinAcceptMessage(),
             `MType ${wire.getMType()}`)) return undefined;
  const accept = lora.fromWire(lora.decryptJoinAccept(wire, rootKey));
  const size = accept.PHYPayload.length;
  if (!check(`${where}: join-accept is ${j.cfList ? "33 bytes (CFList)" : "17 bytes (no CFList)"}`,
             size === (j.cfList ? 33 : 17), `${size} bytes`)) {
    return undefined;
  }

  // MIC: lora-packet picks the 1.0 or 1.1 formula from the decrypted OptNeg bit.
  const optNeg = accept.getDLSettingsOptNeg();
  check(`${where}: OptNeg=${j.mode === "1.1" ? 1 : 0} in the accept`, optNeg === (j.mode === "1.1"));
  // lora-packet's MIC functions take (packet, NwkSKey-slot, AppKey-slot): the 1.0 join MIC key goes
  // in the AppKey slot, the 1.1 JSIntKey in the NwkSKey slot.
  let micKeys;
  let micHow;
  if (j.mode === "1.1") {
    // 1.1 MIC: JSIntKey over JoinReqType | JoinEUI | DevNonce | MHDR | ... ; lora-packet needs the
    // request's JoinEUI and DevNonce set on the parsed accept (fromWire sets JoinReqType 0xFF).
    accept.JoinEUI = dev.joinEUI;
    accept.DevNonce = u16(j.devNonce);
    micKeys = [lora.generateJSKeys(dev.nwkKey, dev.devEUI).JSIntKey, undefined];
    micHow = "JSIntKey from generateJSKeys, JoinReqType ff";
  } else {
    micKeys = [undefined, rootKey];
    micHow = dev.is11 ? "NwkKey, 1.0 formula" : "AppKey";
  }
  const micOk = lora.verifyMIC(accept, ...micKeys);
  check(`${where}: join-accept MIC (lora-packet verifyMIC, ${micHow})`, micOk,
        micOk ? "" : `MIC ${hex(accept.MIC)}, lora-packet computes ${hex(lora.calculateMIC(accept, ...micKeys))}`);

  checkEqual(`${where}: NetID = SenderID`, accept.NetID, Buffer.from(opts.netId, "hex"));
  checkEqual(`${where}: DevAddr = JoinReq DevAddr`, accept.DevAddr, j.devAddr);
  checkEqual(`${where}: DLSettings = JoinReq DLSettings`, accept.DLSettings, Buffer.from([j.dlSettings]));
  checkEqual(`${where}: RxDelay = JoinReq RxDelay`, accept.RxDelay, Buffer.from([j.rxDelay]));
  checkEqual(`${where}: CFList = JoinReq CFList`, accept.CFList, j.cfList ?? Buffer.alloc(0));
  const joinNonce = accept.JoinNonce; // MSB first

  // Session keys as the device derives them (lora-packet), and as the JS sent them to the NS/AS.
  const devNonce = u16(j.devNonce);
  const nsLabel = opts.keks.has(opts.netId) ? opts.netId : undefined;
  const expect = {};
  if (j.mode === "1.1") {
    const k = lora.generateSessionKeys11(dev.appKey, dev.nwkKey, dev.joinEUI, joinNonce, devNonce);
    Object.assign(expect, { FNwkSIntKey: k.FNwkSIntKey, SNwkSIntKey: k.SNwkSIntKey, NwkSEncKey: k.NwkSEncKey, AppSKey: k.AppSKey });
    check(`${where}: no NwkSKey in a 1.1 answer`, ans.NwkSKey === undefined);
  } else {
    // 1.0.x: generateSessionKeys(AppKey, ...). 1.1 device with OptNeg=0: the same 1.0 formula with
    // NwkKey as the root key for both keys (LoRaWAN 1.1 §6.2.3); lora-packet has no function of
    // its own for this, so its 1.0 function is given NwkKey.
    const k = lora.generateSessionKeys(rootKey, Buffer.from(opts.netId, "hex"), joinNonce, devNonce);
    Object.assign(expect, { NwkSKey: k.NwkSKey, AppSKey: k.AppSKey });
    check(`${where}: no 1.1 network keys in a MACVersion ${j.macVersion} answer`,
          ans.FNwkSIntKey === undefined && ans.SNwkSIntKey === undefined && ans.NwkSEncKey === undefined);
  }
  for (const [name, want] of Object.entries(expect)) {
    const label = name === "AppSKey" ? opts.asKekLabel : nsLabel;
    let got;
    try {
      got = openEnvelope(ans[name], name, label);
    } catch (e) {
      check(`${where}: ${name} from the JS = lora-packet's`, false, e.message);
      continue;
    }
    const how = label ? `unwrapped with KEK "${label}"` : "clear";
    check(`${where}: ${name} from the JS = lora-packet's`, got.equals(want), `${how}; the keys differ`, how);
  }
  return hex(joinNonce);
}

// A refused join: not Success and no accept, no keys.
function verifyRefused(dev, res, tag, preferred) {
  const ans = res.json;
  const where = `${dev.name} ${tag}`;
  if (!check(`${where}: HTTP 200 with a JSON answer`, res.status === 200 && ans !== undefined,
             `HTTP ${res.status}, body ${res.text.slice(0, 200)}`)) return;
  const code = ans.Result?.ResultCode;
  const leaked = ["PHYPayload", "NwkSKey", "FNwkSIntKey", "SNwkSIntKey", "NwkSEncKey", "AppSKey"].filter((f) => ans[f] !== undefined);
  check(`${where}: refused, no PHYPayload nor keys`, code !== undefined && code !== "Success" && leaked.length === 0,
        leaked.length ? `${code}, with ${leaked.join(", ")}` : `${code}`, code);
  // TS002 1.0 names no code for a replay; JoinReqFailed is the preferred one (docs/checks.md#devnonce)
  // and what the joincheck JS documents. Reported, not counted: the spec does not require it.
  if (code !== preferred) console.log(`note ${where}: ResultCode ${code}, ${preferred} preferred`);
}

// ---------------------------------------------------------------------------------------------
// Per device: two joins, a replay, (counters) a lower DevNonce, (1.1) a join through a 1.0 NS.

async function runDevice(dev) {
  const accepted = [];
  const joinNonces = [];
  const mode = dev.is11 ? "1.1" : "1.0";

  // DevNonces: random for 1.0.3, a counter (with a gap, to test "lower but unused") otherwise.
  const first = randomInt(0, 0x8000);
  const nonces = dev.counter ? [first, first + 2] : [first, (first + randomInt(1, 0xffff)) & 0xffff];

  for (let n = 0; n < 2; n++) {
    const j = joinParams(dev, mode, nonces[n]);
    const req = buildJoinReq(dev, j);
    const jn = verifyAccept(dev, j, req, await post(req), `join ${n + 1} (DevNonce ${hex(u16(j.devNonce))})`);
    if (jn !== undefined) {
      accepted.push({ req, devNonce: j.devNonce });
      joinNonces.push(jn);
    }
  }
  if (joinNonces.length === 2) {
    const [a, b] = joinNonces.map((x) => parseInt(x, 16));
    if (dev.is11) {
      // LoRaWAN 1.1: a per-device counter, incremented with every join-accept; the device
      // accepts only a higher one.
      check(`${dev.name}: JoinNonce increases (${joinNonces[0]} -> ${joinNonces[1]})`, b > a);
    } else {
      // LoRaWAN 1.0.x: random or unique (1.0.3), "non-repeating" (1.0.4 §6.2.6).
      check(`${dev.name}: JoinNonce does not repeat (${joinNonces[0]} -> ${joinNonces[1]})`, a !== b);
    }
  }

  // Replays: the last accepted JoinReq again, as is (only the TransactionID is new).
  const replayCode = "JoinReqFailed";
  if (accepted.length > 0) {
    const last = accepted[accepted.length - 1];
    verifyRefused(dev, await post({ ...last.req, TransactionID: transactionId++ }),
                  `replayed DevNonce ${hex(u16(last.devNonce))} (the last accepted JoinReq again)`, replayCode);
  }
  if (!dev.counter && accepted.length > 1) {
    // 1.0.3: the JS remembers "a certain number" of DevNonces (LoRaWAN 1.0.3 §6.2.4), not just the last.
    verifyRefused(dev, await post({ ...accepted[0].req, TransactionID: transactionId++ }),
                  `replayed DevNonce ${hex(u16(accepted[0].devNonce))} (an older accepted JoinReq again)`, replayCode);
  }
  if (dev.counter) {
    // 1.0.4 / 1.1: a DevNonce lower than the last, never used, is not an increment (LoRaWAN 1.0.4 §6.2.5).
    const j = joinParams(dev, mode, nonces[1] - 1);
    const req = buildJoinReq(dev, j);
    verifyRefused(dev, await post(req), `lower DevNonce ${hex(u16(j.devNonce))} (never used)`, replayCode);
  }

  if (dev.is11) {
    // The same 1.1 device through an NS that speaks LoRaWAN 1.0.3: MACVersion 1.0.3, OptNeg=0.
    const j = joinParams(dev, "1.1-optneg0", nonces[1] + 1);
    const req = buildJoinReq(dev, j);
    const jn = verifyAccept(dev, j, req, await post(req), `join via a 1.0.3 NS, OptNeg=0 (DevNonce ${hex(u16(j.devNonce))})`);
    if (jn !== undefined && joinNonces.length === 2) {
      check(`${dev.name}: JoinNonce increases (${joinNonces[1]} -> ${jn})`, parseInt(jn, 16) > parseInt(joinNonces[1], 16));
    }
  }
}

// ---------------------------------------------------------------------------------------------

for (const dev of devices) {
  try {
    await runDevice(dev);
  } catch (e) {
    check(`${dev.name}: no exception`, false, e?.cause ? `${e.message} (${e.cause.message ?? e.cause})` : String(e?.stack ?? e));
  }
}

const byVersion = {};
for (const d of devices) byVersion[d.macVersion] = (byVersion[d.macVersion] ?? 0) + 1;
console.log(`# devices: ${Object.entries(byVersion).map(([v, n]) => `${n} x ${v}`).join(", ")}; JS ${opts.js}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
