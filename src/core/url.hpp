// url.hpp - percent-encoding and URL splitting shared by the client core, its platform ports
// and the stub server.
#pragma once

#include <string>
#include <string_view>

namespace wps {

std::string url_encode(std::string_view s);                       // RFC 3986 unreserved kept
std::string url_decode(std::string_view s, bool plus_is_space);

struct Url {
    std::string scheme, host, port, target;  // port defaults from the scheme; target = path + query
    bool secure() const { return scheme == "https" || scheme == "wss"; }
};
// http, https, ws and wss URLs; false for anything else.
bool parse_url(const std::string& url, Url& out);

} // namespace wps
