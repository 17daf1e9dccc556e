// jwt_openssl.cpp - jwt_backend.hpp on Debian's libjwt and OpenSSL: the native server's.
#include "jwt.hpp"
#include "jwt_backend.hpp"

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace stub {

using nlohmann::json;

namespace {
struct JwtFree {
    void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;
struct CharFree {
    void operator()(char* p) const { std::free(p); }
};
using CharPtr = std::unique_ptr<char, CharFree>;
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

std::string detail::random_bytes(std::size_t n) {
    std::string buf(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()), static_cast<int>(n)) != 1)
        throw std::runtime_error("the system's random number generator failed");
    return buf;
}

bool detail::hs256_signature_valid(const std::string& token, const std::string& key) {
    jwt_t* raw = nullptr;
    const int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key.data()), static_cast<int>(key.size()));
    JwtPtr j(raw);
    return rc == 0 && j && jwt_get_alg(j.get()) == JWT_ALG_HS256;
}

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

} // namespace stub
