// fuzz_jwt - HS256 token checking (server-stub/src/jwt.hpp: jwt_verify, jwt_sign).
//
// Input, by its first line:
//   "raw"     the rest is the token as received (query string or Authorization header);
//   "parts"   then a header JSON line, a claims JSON line and the signature bytes (the rest): each
//             is base64url-encoded and joined with '.', so mutations reach the JSON checks;
//   "signed"  then a header JSON line and the claims JSON (the rest), signed with the right key,
//             so mutations reach the exp/nbf checks behind a valid signature;
//   anything else: the whole input is the token.
// Invariants: jwt_verify never throws; a refusal has a reason; an accepted token is what jwt.hpp
// promises (three canonical unpadded base64url parts, an HS256 header, the HMAC of its text as
// signature, an object of claims with a future numeric exp and no future nbf) and is refused
// under any other key; any claims object signed with jwt_sign verifies to the same claims, and is
// refused once expired, with another key, or with its payload changed.
#include "fuzz_common.hpp"

#include "core/base64.hpp"
#include "jwt.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using nlohmann::json;

namespace {

const std::string kKey = "fuzz-access-key-0123456789abcdefghijklmnopqrstuvwxyz";
const std::string kOtherKey = "fuzz-access-key-0123456789abcdefghijklmnopqrstuvwxyZ";

std::string b64(std::string_view s) { return wps::base64_encode(s, true); }

// A part of a compact JWS as jwt_verify requires it: unpadded base64url that re-encodes to itself.
bool canonical(const std::string& part) {
    auto bytes = wps::base64_decode(part);
    return !part.empty() && bytes && b64(*bytes) == part;
}

void check_token(const std::string& token) {
    const stub::JwtCheck r = stub::jwt_verify(token, kKey, fuzz::kNowS);
    if (!r.ok) {
        FUZZ_CHECK(!r.error.empty(), "a refused token has no reason");
        return;
    }
    // What jwt.hpp promises about every token it accepts.
    FUZZ_CHECK(r.error.empty(), "an accepted token carries an error: " + r.error);
    FUZZ_CHECK(r.claims.is_object(), "accepted claims are not an object");
    auto exp = r.claims.find("exp");
    FUZZ_CHECK(exp != r.claims.end() && exp->is_number() && exp->get<double>() > static_cast<double>(fuzz::kNowS),
               "a token without a future numeric exp was accepted: " + r.claims.dump());
    if (auto nbf = r.claims.find("nbf"); nbf != r.claims.end())
        FUZZ_CHECK(nbf->is_number() && nbf->get<double>() <= static_cast<double>(fuzz::kNowS) + 60, "a token not yet valid was accepted");
    const auto d1 = token.find('.'), d2 = token.rfind('.');
    FUZZ_CHECK(d1 != std::string::npos && d2 != d1, "an accepted token does not have three parts");
    const std::string head = token.substr(0, d1), body = token.substr(d1 + 1, d2 - d1 - 1), sig = token.substr(d2 + 1);
    FUZZ_CHECK(canonical(head) && canonical(body) && canonical(sig), "an accepted token is not canonical base64url: " + token);
    const json h = json::parse(*wps::base64_decode(head), nullptr, false);
    FUZZ_CHECK(h.is_object() && h.contains("alg") && h["alg"] == "HS256", "an accepted token's header is not HS256: " + h.dump());
    FUZZ_CHECK(sig == b64(stub::hmac_sha256(kKey, token.substr(0, d2))), "an accepted token's signature is not HMAC-SHA256 of its text");
    FUZZ_CHECK(!stub::jwt_verify(token, kOtherKey, fuzz::kNowS).ok, "a token verified under two keys");
}

// Whatever claims object the server signs must verify to itself.
void check_sign(std::string_view text) {
    if (!fuzz::shallow(text)) return;  // deeper claims are refused by the server before signing matters
    json claims = json::parse(text, nullptr, false);
    if (!claims.is_object()) return;
    claims.erase("nbf");
    claims["exp"] = fuzz::kNowS + 600;
    std::string token;
    try {
        token = stub::jwt_sign(claims, kKey);
    } catch (const std::exception& e) {
        // A refusal to sign (libjwt takes no NUL in strings, nor integers past int64): callers
        // answer 500. Strict mode reports it.
        FUZZ_CHECK(!fuzz::strict(), std::string("jwt_sign threw: ") + e.what() + " for " + claims.dump());
        return;
    }
    const stub::JwtCheck r = stub::jwt_verify(token, kKey, fuzz::kNowS);
    FUZZ_CHECK(r.ok, "a freshly signed token was refused: " + r.error + "\n  token: " + token);
    FUZZ_CHECK(r.claims == claims, "claims changed through sign/verify: " + claims.dump() + " -> " + r.claims.dump());
    FUZZ_CHECK(!stub::jwt_verify(token, kOtherKey, fuzz::kNowS).ok, "a signed token verified under another key");
    FUZZ_CHECK(!stub::jwt_verify(token, kKey, fuzz::kNowS + 600).ok, "a token was accepted at its exp");
    // Change one character of the payload: the signature no longer matches.
    std::string tampered = token;
    const auto d1 = tampered.find('.');
    char& ch = tampered[d1 + 1];
    ch = ch == 'A' ? 'B' : 'A';
    FUZZ_CHECK(!stub::jwt_verify(tampered, kKey, fuzz::kNowS).ok, "a token with a changed payload was accepted");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string_view rest = in;
    const std::string_view mode = fuzz::take_line(rest);
    if (mode == "raw") {
        check_token(std::string(rest));
    } else if (mode == "parts") {
        const std::string_view header = fuzz::take_line(rest);
        const std::string_view claims = fuzz::take_line(rest);
        check_token(b64(header) + "." + b64(claims) + "." + b64(rest));
        check_sign(claims);
    } else if (mode == "signed") {
        const std::string_view header = fuzz::take_line(rest);
        const std::string input = b64(header) + "." + b64(rest);
        check_token(input + "." + b64(stub::hmac_sha256(kKey, input)));
        check_sign(rest);
    } else {
        check_token(std::string(in));
    }
    return 0;
}
