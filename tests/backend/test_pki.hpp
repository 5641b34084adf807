#pragma once
// A throw-away PKI for the TLS tests, generated at test time with the OpenSSL C API into a
// temporary directory (removed at exit). No key is ever committed.
//
//   root CA ── intermediate CA ─┬─ server       (localhost, 127.0.0.1, ::1; serverAuth)
//           │                   ├─ client       (CN=ns-000013; clientAuth)
//           │                   ├─ expired client (CN=ns-000013, valid until yesterday)
//           │                   ├─ expired server (valid until yesterday)
//           │                   └─ wrong-host server (only DNS:wrong.example)
//           └─ NetID 000099 CA ─── NetID 000099 client (CN=000099; clientAuth)
//   other root CA ─┬─ other server (localhost, 127.0.0.1)
//                  └─ other client (CN=ns-other)
//
// Leaf certificate files hold the leaf followed by the intermediate (a full chain), as a
// server or client would present it. All keys are EC P-256.

#include <filesystem>

namespace joincheck::backend::testing {

struct TestPki {
  std::filesystem::path dir;

  std::filesystem::path root_ca;          // CA file: the root only
  std::filesystem::path intermediate_ca;  // CA file: the intermediate only (partial chain)
  std::filesystem::path net_id_99_ca;     // CA file: the NetID 000099 intermediate only
  std::filesystem::path other_ca;         // CA file: the unrelated root

  std::filesystem::path server_cert, server_key;
  std::filesystem::path client_cert, client_key;
  std::filesystem::path expired_client_cert, expired_client_key;
  std::filesystem::path net_id_99_client_cert, net_id_99_client_key;  // + the NetID 000099 CA
  std::filesystem::path expired_server_cert, expired_server_key;
  std::filesystem::path wrong_host_server_cert, wrong_host_server_key;
  std::filesystem::path other_server_cert, other_server_key;
  std::filesystem::path other_client_cert, other_client_key;
  std::filesystem::path server_leaf_only;  // the server certificate without the intermediate

  // Generated once per process.
  static const TestPki& get();
};

// A fresh empty directory under the PKI's directory, for files a test writes itself.
std::filesystem::path scratch_dir(const char* name);

}  // namespace joincheck::backend::testing
