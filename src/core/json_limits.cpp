// json_limits.cpp - see json_limits.hpp.
#include "json_limits.hpp"

namespace wps {

std::size_t json_nesting_depth(std::string_view text, std::size_t max_depth) {
    std::size_t depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (const char ch : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (ch == '\\') escaped = true;
            else if (ch == '"') in_string = false;
            continue;
        }
        switch (ch) {
        case '"': in_string = true; break;
        case '[':
        case '{':
            if (++depth > deepest) deepest = depth;
            if (deepest > max_depth) return max_depth + 1;
            break;
        case ']':
        case '}':
            if (depth > 0) --depth;
            break;
        default: break;
        }
    }
    return deepest;
}

nlohmann::json parse_json_bounded(std::string_view text, std::string* error, std::size_t max_depth) {
    if (json_nesting_depth(text, max_depth) > max_depth) {
        if (error) *error = "JSON nested deeper than " + std::to_string(max_depth) + " levels";
        return nlohmann::json(nlohmann::json::value_t::discarded);
    }
    nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded() && error) *error = "malformed JSON";
    return j;
}

std::string string_or(const nlohmann::json& j, const char* key, std::string fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

uint64_t u64_or(const nlohmann::json& j, const char* key, uint64_t fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : fallback;
}

bool bool_or(const nlohmann::json& j, const char* key, bool fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

} // namespace wps
