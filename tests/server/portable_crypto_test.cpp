// The WebAssembly backend's portable SHA-256, HMAC-SHA256 and HS256 (server-stub/src/
// portable_crypto.hpp) against published vectors and against what the native server uses
// (OpenSSL, libjwt through jwt.hpp), byte for byte.
#include "jwt.hpp"
#include "portable_crypto.hpp"

#include "core/base64.hpp"

#include <catch2/catch.hpp>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <random>
#include <string>

using namespace stub;
using nlohmann::json;

namespace {

std::string hex(const std::string& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::string openssl_sha256(const std::string& data) {
    unsigned char out[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
    return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

} // namespace

TEST_CASE("portable SHA-256: FIPS 180-4 examples and every length around the block and padding edges", "[crypto]") {
    CHECK(hex(portable::sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(hex(portable::sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex(portable::sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(hex(portable::sha256(std::string(1000000, 'a'))) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    std::mt19937 rng(11);
    for (std::size_t n = 0; n <= 200; ++n) {  // 55/56/63/64/119/120/128: one or two padding blocks
        const std::string data = random_bytes(rng, n);
        INFO("length " << n);
        CHECK(portable::sha256(data) == openssl_sha256(data));
    }
}

TEST_CASE("portable HMAC-SHA256: RFC 4231 vectors, and OpenSSL's answer for keys shorter, equal to and longer than a block", "[crypto]") {
    CHECK(hex(portable::hmac_sha256(std::string(20, '\x0b'), "Hi There")) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    CHECK(hex(portable::hmac_sha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(hex(portable::hmac_sha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    std::mt19937 rng(7);
    for (std::size_t klen : {0, 1, 32, 63, 64, 65, 200})
        for (std::size_t dlen : {0, 1, 55, 64, 1000}) {
            const std::string key = random_bytes(rng, klen), data = random_bytes(rng, dlen);
            INFO("key " << klen << " data " << dlen);
            CHECK(portable::hmac_sha256(key, data) == stub::hmac_sha256(key, data));  // jwt.hpp: OpenSSL natively
        }
    CHECK(portable::equal_secret("abc", "abc"));
    CHECK_FALSE(portable::equal_secret("abc", "abd"));
    CHECK_FALSE(portable::equal_secret("abc", "ab"));
}

TEST_CASE("portable HS256 tokens and libjwt's verify each other and both refuse a changed byte or key", "[crypto]") {
    const std::string key = "demo-access-key-0123456789abcdef";
    const int64_t now = unix_now_s();
    const json claims{{"aud", "http://localhost/client/hubs/chat"}, {"exp", now + 60}, {"sub", "alice"}, {"role", {"a", "b"}},
                      {"name", "Zoë 漢字"}};
    const std::string ours = portable::hs256_sign(claims.dump(), key);
    const JwtCheck by_libjwt = jwt_verify(ours, key, now);
    REQUIRE(by_libjwt.ok);
    CHECK(by_libjwt.claims == claims);
    const std::string theirs = jwt_sign(claims, key);  // libjwt natively
    CHECK(portable::hs256_verify(theirs, key));
    CHECK(portable::hs256_verify(ours, key));
    CHECK_FALSE(portable::hs256_verify(ours, key + "x"));
    CHECK_FALSE(jwt_verify(ours, key + "x", now).ok);
    // Another payload under the same signature.
    const auto dot1 = ours.find('.'), dot2 = ours.rfind('.');
    const std::string forged = ours.substr(0, dot1 + 1) +
                               wps::base64_encode(json{{"aud", claims["aud"]}, {"exp", now + 60}, {"sub", "bob"}}.dump(), true) +
                               ours.substr(dot2);
    CHECK_FALSE(portable::hs256_verify(forged, key));
    CHECK_FALSE(jwt_verify(forged, key, now).ok);
    CHECK_FALSE(portable::hs256_verify("no-dots", key));
    CHECK_FALSE(portable::hs256_verify("a.b.!!!", key));
}
