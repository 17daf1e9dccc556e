// cloud_events.cpp - see cloud_events.hpp.
#include "cloud_events.hpp"

#include "core/url.hpp"
#include "jwt.hpp"

#include <algorithm>
#include <cctype>

namespace stub {

namespace {

std::string hex(const std::string& bytes) {
    static const char* const kDigits = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 15]);
    }
    return out;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

} // namespace

std::string service_origin(const std::string& endpoint) {
    wps::Url u;
    if (!wps::parse_url(endpoint, u) || u.host.empty()) return {};
    const bool default_port = (u.secure() && u.port == "443") || (!u.secure() && u.port == "80");
    return lower(u.host) + (default_port ? "" : ":" + u.port);
}

std::string ce_signature(const std::vector<std::string>& keys, const std::string& connectionId) {
    std::string out;
    for (const auto& k : keys) {
        if (!out.empty()) out += ",";
        out += "sha256=" + hex(hmac_sha256(k, connectionId));
    }
    return out;
}

std::vector<std::string> header_list(const std::string& header) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at <= header.size() && out.size() < 16) {
        const std::size_t comma = std::min(header.find(',', at), header.size());
        out.push_back(lower(trim(header.substr(at, comma - at))));
        at = comma + 1;
    }
    return out;
}

bool ce_signature_valid(const std::string& header, const std::string& key, const std::string& connectionId) {
    if (key.empty() || header.size() > 1024) return false;
    const std::string expected = "sha256=" + hex(hmac_sha256(key, connectionId));
    bool ok = false;
    for (const auto& entry : header_list(header)) ok = equal_secret(entry, expected) || ok;  // every entry compared
    return ok;
}

} // namespace stub
