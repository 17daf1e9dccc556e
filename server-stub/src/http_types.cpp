// http_types.cpp - see http_types.hpp.
#include "http_types.hpp"

#include <cctype>

namespace stub {

std::vector<std::string> Request::params(const std::string& key) const {
    std::vector<std::string> out;
    auto range = query.equal_range(key);
    for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
    return out;
}

std::string url_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
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

std::string url_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

void parse_target(Request& r) {
    const auto q = r.target.find('?');
    const std::string raw_path = r.target.substr(0, q);
    r.path = url_decode(raw_path, false);
    r.segments.clear();
    std::size_t start = 1;
    while (start <= raw_path.size()) {
        auto end = raw_path.find('/', start);
        if (end == std::string::npos) end = raw_path.size();
        if (end > start) r.segments.push_back(url_decode(std::string_view(raw_path).substr(start, end - start), false));
        start = end + 1;
    }
    r.query.clear();
    if (q == std::string::npos) return;
    std::string_view qs = std::string_view(r.target).substr(q + 1);
    while (!qs.empty()) {
        auto amp = qs.find('&');
        std::string_view kv = qs.substr(0, amp);
        auto eq = kv.find('=');
        std::string key = url_decode(kv.substr(0, eq), true);
        std::string val = eq == std::string_view::npos ? std::string() : url_decode(kv.substr(eq + 1), true);
        if (!key.empty()) r.query.emplace(std::move(key), std::move(val));
        if (amp == std::string_view::npos) break;
        qs.remove_prefix(amp + 1);
    }
}

Response json_response(int status, const nlohmann::json& body) {
    Response r;
    r.status = status;
    r.body = body.dump();
    return r;
}

Response error_response(int status, const std::string& code, const std::string& message) {
    Response r = json_response(status, nlohmann::json{{"error", {{"code", code}, {"message", message}}}});
    r.headers.emplace_back("x-ms-error-code", code);
    return r;
}

} // namespace stub
