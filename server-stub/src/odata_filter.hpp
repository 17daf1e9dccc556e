// odata_filter.hpp - the OData `filter` of the REST data plane (send to all/group/user,
// :addToGroups, :removeFromGroups): a parser to a small typed AST and its evaluator.
//
// The subset Azure Web PubSub documents (MicrosoftDocs azure-web-pubsub/reference-odata-filter.md):
//  [X] identifiers userId, connectionId (strings), groups (collection); names case-insensitive
//  [X] literals: 'text' ('' escapes a quote), null, true, false, integers [+-]digits (32-bit)
//  [X] eq ne gt ge lt le; and or not; not(...); parentheses; precedence not > comparison > and > or
//  [X] x in ('a','b',...), 'g' in groups, x in (groups)
//  [X] functions: startswith endswith contains (bool), indexof length (int), tolower toupper trim
//      substring concat (string); length(groups)
//  [X] type checked at parse time (each error names its position); evaluation cannot fail
//  [ ] Unicode case mapping in tolower/toupper (ASCII only)
// Semantics follow Microsoft's emulator (tools/emulator ODataFilterExecutor.cs): values compare
// case-sensitively and ordinally; keywords and function names are lowercase; a comparison with
// null is false except eq/ne; length/indexof/substring count UTF-16 code units. docs/EMULATOR.md
// has the reasons and the places where the stub differs.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace stub {

// Bounds on hostile input; each refusal says which one was hit.
inline constexpr std::size_t kODataMaxFilterBytes = 64 * 1024;  // filter text
inline constexpr int kODataMaxDepth = 64;                         // nesting: ( not function-call, chained comparisons
inline constexpr std::size_t kODataMaxInValues = 1024;            // values in one `in (...)` list
inline constexpr std::size_t kODataMaxConcat = 16;                // concat() calls (each may double a string)

class ODataFilter {
public:
    // nullopt and *error set (what is wrong and its position: a 0-based byte offset; printable
    // ASCII, other bytes of the text shown as \xNN) when `text` is not a valid filter. Never throws.
    static std::optional<ODataFilter> parse(std::string_view text, std::string* error = nullptr);

    // Whether a connection passes. An empty userId is an anonymous connection: userId is null.
    bool matches(const std::string& userId, const std::string& connectionId, const std::set<std::string>& groups) const;

    struct Node;

private:
    explicit ODataFilter(std::shared_ptr<const Node> root) : root_(std::move(root)) {}
    std::shared_ptr<const Node> root_;  // immutable: copies share it
};

// A string literal for building filters safely: it's -> 'it''s'.
std::string odata_quote(std::string_view s);

} // namespace stub
