// jwt.cpp - see jwt.hpp: the rules a token must follow. The cryptography comes from one of two
// backends (jwt_backend.hpp): Debian's libjwt and OpenSSL natively (jwt_openssl.cpp), a portable
// one in the WebAssembly build of the backend (jwt_portable.cpp).
#include "jwt.hpp"
#include "jwt_backend.hpp"

#include "core/base64.hpp"
#include "core/json_limits.hpp"

#include <chrono>
#include <optional>

namespace stub {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxTokenBytes = 8 * 1024;

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

std::string random_hex(std::size_t bytes) {
    static const char* hex = "0123456789abcdef";
    std::string s;
    for (unsigned char b : detail::random_bytes(bytes)) {
        s += hex[b >> 4];
        s += hex[b & 15];
    }
    return s;
}

std::string random_token(std::size_t bytes) { return wps::base64_encode(detail::random_bytes(bytes), true); }

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
    // The header is checked before the signature: "alg" must be the string "HS256".
    const json h = wps::parse_json_bounded(*head);
    if (!h.is_object() || wps::string_or(h, "alg") != "HS256") {
        r.error = "token must be signed with HS256";
        return r;
    }
    if (sig->size() != 32) {  // an HMAC-SHA256
        r.error = "invalid token signature";
        return r;
    }
    if (!detail::hs256_signature_valid(token, key)) {
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
