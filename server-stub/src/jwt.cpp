// jwt.cpp - see jwt.hpp.
#include "jwt.hpp"

#include "core/base64.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>

namespace stub {

using nlohmann::json;

std::string hmac_sha256(const std::string& key, const std::string& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
}

std::string jwt_sign(const json& claims, const std::string& key) {
    const std::string head = wps::base64_encode(R"({"alg":"HS256","typ":"JWT"})", true);
    const std::string body = wps::base64_encode(claims.dump(), true);
    const std::string signing_input = head + "." + body;
    return signing_input + "." + wps::base64_encode(hmac_sha256(key, signing_input), true);
}

JwtCheck jwt_verify(const std::string& token, const std::string& key, int64_t now_s) {
    JwtCheck r;
    const auto d1 = token.find('.');
    const auto d2 = d1 == std::string::npos ? std::string::npos : token.find('.', d1 + 1);
    if (d2 == std::string::npos || token.find('.', d2 + 1) != std::string::npos) {
        r.error = "token is not a JWT";
        return r;
    }
    auto head = wps::base64_decode(token.substr(0, d1));
    auto body = wps::base64_decode(token.substr(d1 + 1, d2 - d1 - 1));
    auto sig = wps::base64_decode(token.substr(d2 + 1));
    if (!head || !body || !sig) {
        r.error = "token is not valid base64url";
        return r;
    }
    json h = json::parse(*head, nullptr, false);
    if (!h.is_object() || h.value("alg", "") != "HS256") {
        r.error = "token must be signed with HS256";
        return r;
    }
    const std::string expected = hmac_sha256(key, token.substr(0, d2));
    if (expected.size() != sig->size() || CRYPTO_memcmp(expected.data(), sig->data(), expected.size()) != 0) {
        r.error = "invalid token signature";
        return r;
    }
    json c = json::parse(*body, nullptr, false);
    if (!c.is_object()) {
        r.error = "token claims are not a JSON object";
        return r;
    }
    if (auto exp = c.find("exp"); exp != c.end()) {
        if (!exp->is_number() || exp->get<double>() <= static_cast<double>(now_s)) {
            r.error = "token expired";
            return r;
        }
    }
    if (auto nbf = c.find("nbf"); nbf != c.end()) {
        if (!nbf->is_number() || nbf->get<double>() > static_cast<double>(now_s) + 60) {
            r.error = "token not yet valid";
            return r;
        }
    }
    r.ok = true;
    r.claims = std::move(c);
    return r;
}

int64_t unix_now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace stub
