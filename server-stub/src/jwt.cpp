// jwt.cpp - see jwt.hpp.
#include "jwt.hpp"

#include "core/base64.hpp"
#include "core/json_limits.hpp"

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <memory>
#include <stdexcept>

namespace stub {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxTokenBytes = 8 * 1024;

struct JwtFree {
    void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;
struct CharFree {
    void operator()(char* p) const { std::free(p); }
};
using CharPtr = std::unique_ptr<char, CharFree>;

// One part of a compact JWS: unpadded base64url whose decoding re-encodes to the same text (a
// final character with non-zero unused bits decodes to the same bytes and is refused).
std::optional<std::string> canonical_part(const std::string& text) {
    if (text.empty() || text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
                            std::string::npos)
        return std::nullopt;
    auto bytes = wps::base64_decode(text);
    if (!bytes || wps::base64_encode(*bytes, true) != text) return std::nullopt;
    return bytes;
}

} // namespace

std::string hmac_sha256(const std::string& key, const std::string& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
}

bool equal_secret(const std::string& a, const std::string& b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

static std::string random_bytes(std::size_t n) {
    std::string buf(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()), static_cast<int>(n)) != 1)
        throw std::runtime_error("the system's random number generator failed");
    return buf;
}

std::string random_hex(std::size_t bytes) {
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (unsigned char b : random_bytes(bytes)) {
        s += hex[b >> 4];
        s += hex[b & 15];
    }
    return s;
}

std::string random_token(std::size_t bytes) { return wps::base64_encode(random_bytes(bytes), true); }

std::string jwt_sign(const json& claims, const std::string& key) {
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) throw std::runtime_error("jwt_new failed");
    JwtPtr j(raw);
    const std::string grants = claims.dump(-1, ' ', false, json::error_handler_t::replace);
    if (jwt_add_grants_json(j.get(), grants.c_str()) != 0 ||
        jwt_set_alg(j.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key.data()), static_cast<int>(key.size())) != 0)
        throw std::runtime_error("cannot sign the token");
    CharPtr out(jwt_encode_str(j.get()));
    if (!out) throw std::runtime_error("cannot encode the token");
    return std::string(out.get());
}

JwtCheck jwt_verify(const std::string& token, const std::string& key, int64_t now_s) {
    JwtCheck r;
    if (token.size() > kMaxTokenBytes) {
        r.error = "token is too long";
        return r;
    }
    const auto d1 = token.find('.');
    const auto d2 = d1 == std::string::npos ? std::string::npos : token.find('.', d1 + 1);
    if (d2 == std::string::npos || token.find('.', d2 + 1) != std::string::npos) {
        r.error = "token is not a JWT";
        return r;
    }
    const auto head = canonical_part(token.substr(0, d1));
    const auto body = canonical_part(token.substr(d1 + 1, d2 - d1 - 1));
    const auto sig = canonical_part(token.substr(d2 + 1));
    if (!head || !body || !sig) {
        r.error = "token is not canonical unpadded base64url";
        return r;
    }
    // The header is checked here before libjwt sees it: "alg" must be the string "HS256".
    const json h = wps::parse_json_bounded(*head);
    if (!h.is_object() || wps::string_or(h, "alg") != "HS256") {
        r.error = "token must be signed with HS256";
        return r;
    }
    if (sig->size() != 32) {  // an HMAC-SHA256
        r.error = "invalid token signature";
        return r;
    }
    jwt_t* raw = nullptr;
    const int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key.data()), static_cast<int>(key.size()));
    JwtPtr j(raw);
    if (rc != 0 || !j || jwt_get_alg(j.get()) != JWT_ALG_HS256) {
        r.error = "invalid token signature";
        return r;
    }
    // The claims as signed (the verified payload), parsed with the nesting bound.
    json c = wps::parse_json_bounded(*body);
    if (!c.is_object()) {
        r.error = "token claims are not a JSON object";
        return r;
    }
    auto exp = c.find("exp");
    if (exp == c.end() || !exp->is_number()) {
        r.error = "token has no expiry ('exp' is required)";
        return r;
    }
    if (exp->get<double>() <= static_cast<double>(now_s)) {
        r.error = "token expired";
        return r;
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
