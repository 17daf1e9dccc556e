// base64.hpp - standard and URL-safe base64 (RFC 4648), used for binary frames and JWTs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wps {

std::string base64_encode(std::string_view bytes, bool url_safe = false);
// Accepts padded or unpadded input of either alphabet; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);
bool base64_valid(std::string_view text);

} // namespace wps
