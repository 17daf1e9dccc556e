// http_types.hpp - Beast-free request/response types shared by the route handlers.
#pragma once

#include "core/url.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stub {

struct Request {
    std::string method;                               // "GET", "POST", ...
    std::string target;                               // path + query, as received
    std::string path;                                 // percent-decoded path
    std::vector<std::string> segments;                // decoded path segments
    std::multimap<std::string, std::string> query;    // decoded
    std::map<std::string, std::string> headers;       // lower-case names
    std::string body;

    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
    std::optional<std::string> param(const std::string& key) const {
        auto it = query.find(key);
        if (it == query.end()) return std::nullopt;
        return it->second;
    }
    std::vector<std::string> params(const std::string& key) const;
};

struct Response {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
};

using wps::url_decode;
using wps::url_encode;
// A non-negative decimal integer of at most `max`: digits only (no sign, no spaces); nullopt
// otherwise. The one parser for numbers in paths and queries (flags: CLI11, cli.cpp).
std::optional<uint64_t> parse_uint(std::string_view text, uint64_t max = UINT64_MAX / 10);

// Fills path, segments and query from target.
void parse_target(Request& r);

// The path of an absolute http/https/ws/wss URL, or of a URL that is a path, without the query;
// nullopt for anything else. `has_query` tells whether a '?' followed the path.
std::optional<std::string> path_of_url(const std::string& url, bool* has_query = nullptr);

Response json_response(int status, const nlohmann::json& body);
// {"error":{"code":..., "message":...}} plus x-ms-error-code, as Azure services answer.
Response error_response(int status, const std::string& code, const std::string& message);

} // namespace stub
