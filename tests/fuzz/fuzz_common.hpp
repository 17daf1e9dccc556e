// fuzz_common.hpp - helpers shared by the libFuzzer targets in tests/fuzz.
//
// FUZZ_CHECK is an invariant that must hold for every input: it prints what failed and aborts,
// which libFuzzer reports as a crash (with the input saved as an artifact). It is independent of
// NDEBUG so a release-style build keeps it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#define FUZZ_CHECK(cond, what)                                                                  \
    do {                                                                                        \
        if (!(cond)) ::fuzz::fail(__FILE__, __LINE__, #cond, (what));                           \
    } while (0)

namespace fuzz {

// Bytes outside printable ASCII (NUL included) are shown as \xNN; newlines stay.
inline std::string printable(std::string_view s) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        if (c == '\n') out += '\n';
        else if (c < 0x20 || c >= 0x7f) out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
        else out += static_cast<char>(c);
    }
    return out;
}

[[noreturn]] inline void fail(const char* file, int line, const char* cond, const std::string& what) {
    std::fprintf(stderr, "\nFUZZ_CHECK failed at %s:%d: %s\n  %s\n", file, line, cond, printable(what).c_str());
    std::fflush(stderr);
    std::abort();
}

// A fixed clock: the harnesses never read the wall clock themselves (2025-11-29T00:00:00Z).
inline constexpr long long kNowS = 1764374400;
inline constexpr long long kNowMs = kNowS * 1000;

// FUZZ_STRICT=1 in the environment turns findings that the server survives (a handler that
// throws, answered with a 500 by the network adapter) into crashes too. See docs/FUZZING.md.
inline bool strict() {
    static const bool on = [] {
        const char* v = std::getenv("FUZZ_STRICT");
        return v && *v && std::string_view(v) != "0";
    }();
    return on;
}

// At most 64 '[' or '{' in all: the harnesses parse such text themselves (nlohmann/json recurses
// once per nesting level when it copies, dumps or frees a value; the server bounds nesting at 64).
inline bool shallow(std::string_view text) {
    std::size_t opens = 0;
    for (char ch : text) opens += ch == '[' || ch == '{';
    return opens <= 64;
}

// Splits `text` on a separator line (e.g. "===\n"), at most `max_parts` parts.
inline std::vector<std::string_view> split(std::string_view text, std::string_view sep, std::size_t max_parts) {
    std::vector<std::string_view> out;
    while (out.size() + 1 < max_parts) {
        const auto at = text.find(sep);
        if (at == std::string_view::npos) break;
        out.push_back(text.substr(0, at));
        text.remove_prefix(at + sep.size());
    }
    out.push_back(text);
    return out;
}

// Next line of `text` (without its '\n'), consumed from the front.
inline std::string_view take_line(std::string_view& text) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

} // namespace fuzz
