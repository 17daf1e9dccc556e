// jwt.hpp - HS256 JSON Web Tokens, as Azure Web PubSub signs and checks them (key = the UTF-8
// bytes of the AccessKey string, not base64-decoded).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace stub {

std::string hmac_sha256(const std::string& key, const std::string& data);
std::string jwt_sign(const nlohmann::json& claims, const std::string& key);

struct JwtCheck {
    bool ok = false;
    nlohmann::json claims;
    std::string error;  // why it was refused, for the 401 body
};
// Checks the header (HS256), the signature and, when present, exp and nbf against now_s.
JwtCheck jwt_verify(const std::string& token, const std::string& key, int64_t now_s);

int64_t unix_now_s();
int64_t unix_now_ms();

} // namespace stub
