// base64.cpp - see base64.hpp.
#include "base64.hpp"

#include <array>
#include <cstdint>

namespace wps {

namespace {
constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> make_table() {
    std::array<int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (int i = 0; i < 64; ++i) {
        t[static_cast<unsigned char>(kStd[i])] = static_cast<int8_t>(i);
        t[static_cast<unsigned char>(kUrl[i])] = static_cast<int8_t>(i);
    }
    return t;
}
constexpr auto kTable = make_table();
} // namespace

std::string base64_encode(std::string_view in, bool url_safe) {
    const char* alpha = url_safe ? kUrl : kStd;
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
        out += alpha[(v >> 18) & 63];
        out += alpha[(v >> 12) & 63];
        out += alpha[(v >> 6) & 63];
        out += alpha[v & 63];
    }
    const std::size_t rest = in.size() - i;
    if (rest > 0) {
        uint32_t v = uint32_t(uint8_t(in[i])) << 16;
        if (rest == 2) v |= uint32_t(uint8_t(in[i + 1])) << 8;
        out += alpha[(v >> 18) & 63];
        out += alpha[(v >> 12) & 63];
        if (rest == 2) out += alpha[(v >> 6) & 63];
        if (!url_safe) out.append(rest == 1 ? "==" : "=");
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
    while (!in.empty() && in.back() == '=') in.remove_suffix(1);
    if (in.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(in.size() * 3 / 4);
    uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        const int8_t v = kTable[static_cast<unsigned char>(c)];
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    return out;
}

bool base64_valid(std::string_view text) { return base64_decode(text).has_value(); }

} // namespace wps
