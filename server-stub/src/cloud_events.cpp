// cloud_events.cpp - see cloud_events.hpp.
#include "cloud_events.hpp"

#include "core/url.hpp"
#include "jwt.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

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

std::optional<int64_t> parse_ce_time(const std::string& text) {
    // YYYY-MM-DDTHH:MM:SS, then an optional .fraction (milliseconds kept), then Z.
    if (text.size() < 20 || text.size() > 40 || (text.back() != 'Z' && text.back() != 'z')) return std::nullopt;
    auto digits = [&](std::size_t at, std::size_t n) -> std::optional<int> {
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    const auto Y = digits(0, 4), M = digits(5, 2), D = digits(8, 2), h = digits(11, 2), m = digits(14, 2), sec = digits(17, 2);
    if (!Y || !M || !D || !h || !m || !sec || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
        text[13] != ':' || text[16] != ':' || *M < 1 || *M > 12 || *D < 1 || *D > 31 || *h > 23 || *m > 59 || *sec > 60)
        return std::nullopt;
    int ms = 0;
    std::size_t at = 19;
    if (text[at] == '.') {
        std::size_t n = 0;
        for (++at; at < text.size() - 1; ++at, ++n) {
            if (!std::isdigit(static_cast<unsigned char>(text[at]))) return std::nullopt;
            if (n < 3) ms = ms * 10 + (text[at] - '0');
        }
        if (n == 0) return std::nullopt;
        for (; n < 3; ++n) ms *= 10;
    }
    if (at != text.size() - 1) return std::nullopt;
    // Days from the civil date (Howard Hinnant's algorithm): no time zone, no locale.
    const int y = *Y - (*M <= 2);
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (*M + (*M > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(*D) - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const int64_t days = static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
    return ((days * 24 + *h) * 60 + *m) * 60000 + int64_t(*sec) * 1000 + ms;
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

namespace {

std::string utc_now_iso() {
    const auto ms = unix_now_ms();
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
    return out;
}

} // namespace

std::map<std::string, std::string> system_event_request(const SystemEvent& e, const std::string& origin, const std::string& key,
                                                        const std::string& id, std::string& body) {
    std::map<std::string, std::string> headers{
        {"Content-Type", "application/json; charset=utf-8"},
        {"WebHook-Request-Origin", origin},
        {"ce-specversion", "1.0"},
        {"ce-type", "azure.webpubsub.sys." + e.event},
        {"ce-source", "/hubs/" + e.hub + "/client/" + e.connectionId},
        {"ce-id", id},
        {"ce-time", utc_now_iso()},
        {"ce-awpsversion", "1.0"},
        {"ce-hub", e.hub},
        {"ce-connectionId", e.connectionId},
        {"ce-eventName", e.event},
        {"ce-signature", ce_signature({key}, e.connectionId)},
    };
    if (!e.userId.empty()) headers["ce-userId"] = e.userId;
    if (!e.subprotocol.empty()) headers["ce-subprotocol"] = e.subprotocol;
    nlohmann::json j = nlohmann::json::object();
    if (e.event == "disconnected" && !e.reason.empty()) j["reason"] = e.reason;
    body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return headers;
}

} // namespace stub
