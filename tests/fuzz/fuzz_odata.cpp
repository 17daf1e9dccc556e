// fuzz_odata - the emulator's OData filter (server-stub/src/odata_filter.hpp: ODataFilter::parse,
// matches, odata_quote), which reads the `filter` of REST requests.
//
// Input: the filter text; optionally followed by a line "===" and one more connection to evaluate
// it against: a userId line (empty = anonymous), a connectionId line, then one group per line.
// Invariants beyond "no crash, no UB, no leak":
//   - a refusal has a message "Invalid filter..." in printable ASCII, with its position inside the text;
//   - an accepted filter gives the same answer twice, and from a copy;
//   - wrapping it changes nothing: (F), (F) and true, (F) or false give F's answer, not (F) the
//     opposite (each when it parses: wrapping may pass the nesting bound);
//   - odata_quote makes any bytes a literal: userId eq <quoted> matches exactly that user, and
//     <quoted> in groups exactly the connections in that group.
#include "fuzz_common.hpp"

#include "odata_filter.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Conn {
    std::string user, id;
    std::set<std::string> groups;
};

std::vector<Conn> fixed_connections() {
    return {
        {"alice", "c1", {"g", "room"}},
        {"", "c2", {}},  // anonymous
        {"o'brien", "c3", {"g"}},
        {"\xF0\x9F\x98\x80x", "c4", {"\xF0\x9F\x98\x80", "vip"}},
        {" Bob\t", "c5", {"a", "b", "c", "d"}},
        {"\xFF\xC3", "\xC3\xA9", {"\xFF"}},
    };
}

bool printable_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c > 0x7e) return false;
    return true;
}

std::optional<stub::ODataFilter> parse_checked(std::string_view text) {
    std::string error;
    auto f = stub::ODataFilter::parse(text, &error);
    if (f) return f;
    FUZZ_CHECK(error.rfind("Invalid filter", 0) == 0, "a refusal without its message: " + error);
    FUZZ_CHECK(printable_ascii(error), "a refusal message that is not printable ASCII: " + error);
    const auto at = error.find(" at position ");
    if (at != std::string::npos) {
        const std::size_t pos = std::stoul(error.substr(at + 13));
        FUZZ_CHECK(pos <= text.size(), "an error position past the end of the text: " + error);
    }
    return f;
}

void check_same(const stub::ODataFilter& f, std::string_view wrapped_text, const std::vector<Conn>& conns, bool negated) {
    auto w = parse_checked(wrapped_text);
    if (!w) {
        // Only the nesting bound may refuse a wrapping of a valid filter.
        std::string error;
        stub::ODataFilter::parse(wrapped_text, &error);
        FUZZ_CHECK(error.find("nests deeper") != std::string::npos || error.find("bytes long") != std::string::npos,
                   "a valid filter stopped parsing when wrapped: " + std::string(wrapped_text) + " -> " + error);
        return;
    }
    for (const auto& c : conns)
        FUZZ_CHECK(w->matches(c.user, c.id, c.groups) == (f.matches(c.user, c.id, c.groups) != negated),
                   "wrapping changed the answer for user '" + c.user + "': " + std::string(wrapped_text));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto parts = fuzz::split(input, "\n===\n", 2);
    const std::string_view text = parts[0];
    std::vector<Conn> conns = fixed_connections();
    if (parts.size() == 2) {
        std::string_view rest = parts[1];
        Conn extra;
        extra.user = std::string(fuzz::take_line(rest));
        extra.id = std::string(fuzz::take_line(rest));
        for (int i = 0; i < 16 && !rest.empty(); ++i) extra.groups.insert(std::string(fuzz::take_line(rest)));
        conns.push_back(std::move(extra));
    }

    if (const auto f = parse_checked(text)) {
        const stub::ODataFilter copy = *f;
        for (const auto& c : conns) {
            const bool a = f->matches(c.user, c.id, c.groups);
            FUZZ_CHECK(a == f->matches(c.user, c.id, c.groups), "two evaluations disagree: " + std::string(text));
            FUZZ_CHECK(a == copy.matches(c.user, c.id, c.groups), "a copy disagrees: " + std::string(text));
        }
        const std::string t(text);
        check_same(*f, "(" + t + ")", conns, false);
        check_same(*f, "(" + t + ") and true", conns, false);
        check_same(*f, "false or (" + t + ")", conns, false);
        check_same(*f, "not (" + t + ")", conns, true);
    }

    // Any bytes (up to a few KB) quoted are a literal that matches themselves and nothing else.
    const std::string_view literal = input.substr(0, 4096);
    const std::string quoted = stub::odata_quote(literal);
    const auto by_user = parse_checked("userId eq " + quoted);
    const auto by_group = parse_checked(quoted + " in groups");
    FUZZ_CHECK(by_user && by_group, "a quoted literal does not parse: " + quoted);
    conns.push_back(Conn{std::string(literal), "q", {std::string(literal)}});
    for (const auto& c : conns) {
        const bool user_is = !c.user.empty() && c.user == literal;
        FUZZ_CHECK(by_user->matches(c.user, c.id, c.groups) == user_is, "userId eq " + quoted + " answers wrongly for '" + c.user + "'");
        FUZZ_CHECK(by_group->matches(c.user, c.id, c.groups) == (c.groups.count(std::string(literal)) > 0),
                   quoted + " in groups answers wrongly");
    }
    return 0;
}
