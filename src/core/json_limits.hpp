// json_limits.hpp - parsing untrusted JSON with a nesting bound.
//
// nlohmann/json parses iteratively, but copying, comparing and dumping a value recurse once per
// nesting level: 100,000 nested arrays from a peer overflow the stack (natively, and sooner in
// wasm). Every JSON that comes from outside the process (frames, request bodies, API answers,
// token claims) goes through parse_json_bounded, which refuses nesting deeper than the bound
// before any value is built.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wps {

// No legitimate payload of this product nests deeper; the service's own limit is not documented.
inline constexpr std::size_t kMaxJsonDepth = 64;

// Deepest array/object nesting in `text` (a linear scan that skips strings), or max_depth + 1 as
// soon as it goes past max_depth. For malformed text the result is only an upper bound of what a
// parser would build, which is all the guard needs.
std::size_t json_nesting_depth(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// Parses `text`, or returns a discarded value with `error` set ("malformed JSON" or "JSON nested
// deeper than 64 levels"). Never throws.
nlohmann::json parse_json_bounded(std::string_view text, std::string* error = nullptr,
                                  std::size_t max_depth = kMaxJsonDepth);

// Typed reads that never throw: `fallback` when `j` is not an object, the key is missing or the
// value has another type (nlohmann's value() throws on a type mismatch).
std::string string_or(const nlohmann::json& j, const char* key, std::string fallback = {});
uint64_t u64_or(const nlohmann::json& j, const char* key, uint64_t fallback = 0);
bool bool_or(const nlohmann::json& j, const char* key, bool fallback = false);

} // namespace wps
