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

std::optional<uint64_t> parse_uint(std::string_view text, uint64_t max) {
    if (text.empty() || text.size() > 19) return std::nullopt;
    uint64_t v = 0;
    for (char ch : text) {
        if (ch < '0' || ch > '9') return std::nullopt;
        v = v * 10 + static_cast<uint64_t>(ch - '0');  // 19 digits cannot overflow uint64
    }
    if (v > max) return std::nullopt;
    return v;
}

std::optional<std::string> path_of_url(const std::string& url, bool* has_query) {
    std::string target;
    if (!url.empty() && url[0] == '/' && (url.size() == 1 || url[1] != '/')) {
        target = url;
    } else {
        wps::Url u;
        if (!wps::parse_url(url, u)) return std::nullopt;
        target = u.target;
    }
    const auto q = target.find('?');
    if (has_query) *has_query = q != std::string::npos;
    return target.substr(0, q);
}

Response json_response(int status, const nlohmann::json& body) {
    Response r;
    r.status = status;
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // bad UTF-8 from URLs
    return r;
}

Response error_response(int status, const std::string& code, const std::string& message) {
    Response r = json_response(status, nlohmann::json{{"error", {{"code", code}, {"message", message}}}});
    r.headers.emplace_back("x-ms-error-code", code);
    return r;
}

} // namespace stub
