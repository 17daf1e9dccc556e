// portable_crypto.hpp - SHA-256, HMAC-SHA256 and HS256 compact JWS without OpenSSL or libjwt, for
// the backend compiled to WebAssembly (the static demo: issue 15), where neither exists and the
// browser's crypto.subtle is asynchronous.
//
// The native server keeps Debian's libjwt and OpenSSL (jwt_openssl.cpp); this is the same
// contract, checked against them in tests/server/portable_crypto_test.cpp (FIPS 180-4 and
// RFC 4231 vectors, then random inputs compared byte for byte with OpenSSL, and tokens each side
// signs verified by the other).
#pragma once

#include <string>

namespace stub::portable {

std::string sha256(const std::string& data);                          // 32 raw bytes
std::string hmac_sha256(const std::string& key, const std::string& data);  // 32 raw bytes
// Constant-time comparison (the length is not secret).
bool equal_secret(const std::string& a, const std::string& b);
// A compact JWS with the header {"alg":"HS256","typ":"JWT"} over `claims_json` (its bytes as given).
std::string hs256_sign(const std::string& claims_json, const std::string& key);
// Whether `token`'s third part is the HS256 signature of its first two with `key` (the caller
// checks the form, the header and the claims: jwt.cpp).
bool hs256_verify(const std::string& token, const std::string& key);

} // namespace stub::portable
