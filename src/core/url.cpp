// url.cpp - see url.hpp.
#include "url.hpp"

namespace wps {

std::string url_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string url_decode(std::string_view s, bool plus_is_space) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += s[i];
        }
    }
    return out;
}

bool parse_url(const std::string& url, Url& out) {
    const auto sep = url.find("://");
    if (sep == std::string::npos) return false;
    out.scheme = url.substr(0, sep);
    const char* default_port = out.scheme == "http" || out.scheme == "ws" ? "80"
                               : out.scheme == "https" || out.scheme == "wss" ? "443"
                                                                                : nullptr;
    if (!default_port) return false;
    const std::string rest = url.substr(sep + 3);
    const auto slash = rest.find_first_of("/?#");  // the authority ends at any of these
    const std::string hostport = rest.substr(0, slash);
    out.target = slash == std::string::npos ? "/" : rest[slash] == '/' ? rest.substr(slash) : "/" + rest.substr(slash);
    const auto colon = hostport.rfind(':');
    out.host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
    out.port = colon == std::string::npos ? default_port : hostport.substr(colon + 1);
    return !out.host.empty();
}

} // namespace wps
