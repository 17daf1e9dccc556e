// jwt_backend.hpp - what jwt.cpp's rules need from a cryptography backend, besides jwt.hpp's own
// hmac_sha256, equal_secret and jwt_sign (which the backend defines too):
//   jwt_openssl.cpp   Debian's libjwt and OpenSSL (the native server)
//   jwt_portable.cpp  portable_crypto.hpp and the platform's entropy (the WebAssembly backend)
#pragma once

#include <cstddef>
#include <string>

namespace stub::detail {

// `n` bytes from a cryptographically secure generator; throws when it fails.
std::string random_bytes(std::size_t n);
// Whether the compact JWS `token` (already checked to be three canonical parts with an HS256
// header and a 32-byte signature) carries a valid HS256 signature made with `key`.
bool hs256_signature_valid(const std::string& token, const std::string& key);

} // namespace stub::detail
