// jwt.hpp - HS256 JSON Web Tokens, as Azure Web PubSub signs and checks them (key = the UTF-8
// bytes of the AccessKey string, not base64-decoded). Natively, signing and signature checks are
// libjwt's (Debian libjwt-dev) and the rest OpenSSL's (jwt_openssl.cpp); the WebAssembly backend
// has a portable equivalent (jwt_portable.cpp). jwt.cpp adds the rules libjwt leaves to the caller.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace stub {

std::string hmac_sha256(const std::string& key, const std::string& data);
// Constant-time comparison of two byte strings (the length is not secret).
bool equal_secret(const std::string& a, const std::string& b);
// `bytes` random bytes from OpenSSL's CSPRNG, as lower-case hex or URL-safe base64 without padding.
std::string random_hex(std::size_t bytes);
std::string random_token(std::size_t bytes);

std::string jwt_sign(const nlohmann::json& claims, const std::string& key);

struct JwtCheck {
    bool ok = false;
    nlohmann::json claims;
    std::string error;  // why it was refused, for the 401 body
};
// Refuses anything but a compact JWS whose three parts are canonical unpadded base64url, whose
// header is a JSON object with "alg": "HS256" (a string: no other type, no other algorithm),
// whose HS256 signature verifies with `key`, and whose claims are a JSON object (nested at most
// wps::kMaxJsonDepth) with a numeric `exp` in the future and, when present, a numeric `nbf` not in
// the future (60 s leeway). Never throws.
JwtCheck jwt_verify(const std::string& token, const std::string& key, int64_t now_s);

int64_t unix_now_s();
int64_t unix_now_ms();

} // namespace stub
