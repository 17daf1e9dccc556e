// jwt_portable.cpp - jwt_backend.hpp without OpenSSL or libjwt: the backend compiled to
// WebAssembly (the static demo), on portable_crypto.hpp. Entropy from getentropy(), which
// Emscripten serves from crypto.getRandomValues.
#include "jwt.hpp"
#include "jwt_backend.hpp"
#include "portable_crypto.hpp"

#include <stdexcept>

#include <unistd.h>

namespace stub {

std::string hmac_sha256(const std::string& key, const std::string& data) { return portable::hmac_sha256(key, data); }

bool equal_secret(const std::string& a, const std::string& b) { return portable::equal_secret(a, b); }

std::string detail::random_bytes(std::size_t n) {
    std::string buf(n, '\0');
    for (std::size_t at = 0; at < n; at += 256)  // getentropy gives at most 256 bytes a call
        if (getentropy(buf.data() + at, n - at < 256 ? n - at : 256) != 0)
            throw std::runtime_error("the platform's random number generator failed");
    return buf;
}

bool detail::hs256_signature_valid(const std::string& token, const std::string& key) { return portable::hs256_verify(token, key); }

std::string jwt_sign(const nlohmann::json& claims, const std::string& key) {
    return portable::hs256_sign(claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), key);
}

} // namespace stub
