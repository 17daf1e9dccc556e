// The emulator's OData filter (server-stub/src/odata_filter.hpp): the parser and evaluator, the
// hub operations that take a filter, and the REST routes that parse one.
#include "hub.hpp"
#include "jwt.hpp"
#include "odata_filter.hpp"
#include "rest_api.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <set>
#include <string>
#include <vector>

using stub::ODataFilter;

namespace {

ODataFilter parsed(const std::string& text) {
    std::string error;
    auto f = ODataFilter::parse(text, &error);
    INFO("filter: " << text << "\nerror: " << error);
    REQUIRE(f);
    CHECK(error.empty());
    return *f;
}

// Whether `text` matches a connection of user `user` ("" = anonymous), id `conn`, in `groups`.
bool match(const std::string& text, const std::string& user, const std::string& conn = "c1", const std::set<std::string>& groups = {}) {
    return parsed(text).matches(user, conn, groups);
}

// The error for a text that must not parse.
std::string error_of(const std::string& text) {
    std::string error;
    const auto f = ODataFilter::parse(text, &error);
    INFO("filter: " << text);
    CHECK_FALSE(f);
    CHECK_FALSE(error.empty());
    return error;
}

} // namespace

TEST_CASE("odata: eq and ne compare strings exactly", "[odata]") {
    CHECK(match("userId eq 'alice'", "alice"));
    CHECK_FALSE(match("userId eq 'alice'", "bob"));
    CHECK_FALSE(match("userId eq 'alice'", "Alice"));  // values are case-sensitive (tolower() is the way round it)
    CHECK(match("userId ne 'alice'", "bob"));
    CHECK_FALSE(match("userId ne 'alice'", "alice"));
    CHECK(match("connectionId eq 'c1'", "alice", "c1"));
    CHECK_FALSE(match("connectionId eq 'c1'", "alice", "c2"));
    CHECK(match("'alice' eq userId", "alice"));  // either side
    CHECK(match("userId eq connectionId", "same", "same"));
}

TEST_CASE("odata: gt ge lt le order integers, and strings ordinally", "[odata]") {
    CHECK(match("length(userId) gt 3", "abcd"));
    CHECK_FALSE(match("length(userId) gt 3", "abc"));
    CHECK(match("length(userId) ge 3", "abc"));
    CHECK_FALSE(match("length(userId) ge 4", "abc"));
    CHECK(match("length(userId) lt 4", "abc"));
    CHECK_FALSE(match("length(userId) lt 3", "abc"));
    CHECK(match("length(userId) le 3", "abc"));
    CHECK_FALSE(match("length(userId) le 2", "abc"));
    CHECK(match("length(userId) gt -1", "abc"));
    CHECK(match("length(userId) eq +3", "abc"));
    CHECK(match("userId gt 'bob'", "carol"));
    CHECK_FALSE(match("userId gt 'bob'", "alice"));
    CHECK(match("userId lt 'bob'", "Zed"));  // ordinal: uppercase sorts before lowercase
    CHECK(match("userId ge 'bob'", "bob"));
    CHECK(match("userId le 'bob'", "bob"));
    CHECK(match("1 lt 2", "x"));
}

TEST_CASE("odata: not binds tightest, then comparisons, then and, then or", "[odata]") {
    // and before or: a or (b and c)
    const std::string f = "userId eq 'a' or userId eq 'b' and connectionId eq 'x'";
    CHECK(match(f, "a", "y"));
    CHECK_FALSE(match(f, "b", "y"));
    CHECK(match(f, "b", "x"));
    // parentheses change it: (a or b) and c
    const std::string g = "(userId eq 'a' or userId eq 'b') and connectionId eq 'x'";
    CHECK_FALSE(match(g, "a", "y"));
    CHECK(match(g, "a", "x"));
    // the docs' example: both forms are the same expression
    const std::string h1 = "length(userId) gt 0 and length(userId) lt 3 or length(userId) gt 7 and length(userId) lt 10";
    const std::string h2 = "((length(userId) gt 0) and (length(userId) lt 3)) or ((length(userId) gt 7) and (length(userId) lt 10))";
    for (const std::string user : {"ab", "abcde", "abcdefgh", "abcdefghijk"}) CHECK(match(h1, user) == match(h2, user));
    // not, with and without parentheses
    CHECK(match("not ('g' in groups)", "u", "c", {"h"}));
    CHECK_FALSE(match("not ('g' in groups)", "u", "c", {"g"}));
    CHECK(match("not('g' in groups)", "u", "c", {}));
    CHECK(match("not endswith(userId, 'milk')", "soy"));
    CHECK_FALSE(match("not endswith(userId, 'milk')", "oatmilk"));
    CHECK(match("not not true", "u"));
    CHECK(match("not false and true", "u"));  // (not false) and true
    CHECK(match("true or false and false", "u"));  // true or (false and false)
    CHECK_FALSE(match("(true or false) and false", "u"));
}

TEST_CASE("odata: in tests a list of values or the groups collection", "[odata]") {
    CHECK(match("userId in ('a', 'b', 'c')", "b"));
    CHECK_FALSE(match("userId in ('a', 'b', 'c')", "d"));
    CHECK(match("userId in ('only')", "only"));
    CHECK(match("userId in ('a', 'a', 'b')", "a"));  // duplicates are fine
    CHECK(match("length(userId) in (1, 3)", "abc"));
    CHECK_FALSE(match("length(userId) in (1, 2)", "abc"));
    CHECK(match("userId in (connectionId, 'x')", "c9", "c9"));  // values may be expressions
    CHECK(match("'g1' in groups", "u", "c", {"g1", "g2"}));
    CHECK_FALSE(match("'g3' in groups", "u", "c", {"g1", "g2"}));
    CHECK_FALSE(match("'G1' in groups", "u", "c", {"g1"}));  // group names are case-sensitive
    CHECK(match("'g1' in (groups)", "u", "c", {"g1"}));
    CHECK(match("userId in groups", "team", "c", {"team"}));
    CHECK(match("'g1' in GROUPS", "u", "c", {"g1"}));  // identifier names are case-insensitive
    // the docs' examples
    CHECK(match("'group1' in groups or 'group2' in groups or 'group3' in groups", "u", "c", {"group3"}));
    CHECK(match("userId in ('user1', 'user2', 'user3') and 'group1' in groups", "user2", "c", {"group1"}));
    CHECK_FALSE(match("userId in ('user1', 'user2', 'user3') and 'group1' in groups", "user2", "c", {"group2"}));
    CHECK(match("userId eq 'user1' and (not ('group1' in groups))", "user1", "c", {"group2"}));
    CHECK(match("userId eq 'user1' and connectionId ne '123'", "user1", "124"));
}

TEST_CASE("odata: string functions", "[odata]") {
    CHECK(match("startswith(userId, 'listener-')", "listener-7"));
    CHECK_FALSE(match("startswith(userId, 'listener-')", "speaker-7"));
    CHECK(match("endswith(userId, '-de')", "user-ab-de"));
    CHECK_FALSE(match("endswith(userId, 'xx-de')", "de"));
    CHECK(match("contains(userId, '-ab-')", "user-ab-de"));
    CHECK_FALSE(match("contains(userId, 'ba')", "user-ab-de"));
    CHECK(match("contains(userId, '')", "x"));
    CHECK(match("indexof(userId, '-ab-') eq 4", "user-ab-de"));
    CHECK(match("indexof(userId, 'zz') eq -1", "user-ab-de"));
    CHECK(match("length(userId) eq 10", "user-ab-de"));
    CHECK(match("length(groups) eq 2", "u", "c", {"a", "b"}));
    CHECK(match("length(groups) eq 0", "u", "c", {}));
    CHECK(match("tolower(userId) eq 'user1'", "USER1"));
    CHECK(match("toupper(userId) eq 'USER1'", "user1"));
    CHECK(match("trim(userId) eq 'user1'", " \t user1 \n"));
    CHECK(match("trim(userId) eq ''", "   "));
    CHECK(match("substring(userId, 5, 2) eq 'ab'", "user-ab-de"));
    CHECK(match("substring(userId, 5) eq 'ab-de'", "user-ab-de"));
    CHECK(match("substring(userId, 0, 0) eq ''", "abc"));
    CHECK(match("substring(userId, 3) eq ''", "abc"));
    CHECK(match("substring(userId, 4) eq null", "abc"));     // out of range: null, as Microsoft's emulator
    CHECK(match("substring(userId, 1, 5) eq null", "abc"));
    CHECK(match("substring(userId, -1) eq null", "abc"));
    CHECK(match("concat(userId, '-x') eq 'bob-x'", "bob"));
    CHECK(match("concat(concat(userId, ':'), connectionId) eq 'bob:c1'", "bob", "c1"));
    // indexof finds the first match in linear time even where naive search backtracks
    CHECK(match("indexof(userId, 'aaab') eq 3", "aaaaaab"));
    CHECK(match("contains(userId, 'abab' )", "aababab"));
}

TEST_CASE("odata: lengths and positions count UTF-16 code units, as the .NET service does", "[odata]") {
    CHECK(match("length(userId) eq 4", "caf\xC3\xA9"));                    // é is one unit
    CHECK(match("length(userId) eq 2", "\xF0\x9F\x98\x80"));                // an emoji is a surrogate pair
    CHECK(match("indexof(userId, 'x') eq 3", "\xF0\x9F\x98\x80" "ax"));
    CHECK(match("substring(userId, 2) eq 'ax'", "\xF0\x9F\x98\x80" "ax"));
    CHECK(match("substring(userId, 1, 1) eq '\xEF\xBF\xBD'", "\xF0\x9F\x98\x80"));  // half a pair
    CHECK(match("length(userId) eq 2", "\xFF" "a"));                       // a stray byte counts as one
    CHECK(match("trim(userId) eq 'x'", "\xC2\xA0x\xE3\x80\x80"));         // non-breaking and ideographic spaces
    CHECK(match("tolower(userId) eq '\xC3\x89t\xC3\xA9'", "\xC3\x89T\xC3\xA9"));  // ASCII only: É stays
}

TEST_CASE("odata: null is an anonymous connection's userId", "[odata]") {
    CHECK(match("userId eq null", ""));
    CHECK_FALSE(match("userId eq null", "alice"));
    CHECK(match("userId ne null", "alice"));
    CHECK_FALSE(match("userId ne null", ""));
    CHECK_FALSE(match("userId eq 'alice'", ""));
    CHECK(match("userId ne 'alice'", ""));
    CHECK_FALSE(match("length(userId) gt 0", ""));  // length(null) is null; ordering null is false
    CHECK_FALSE(match("length(userId) le 0", ""));
    CHECK_FALSE(match("userId gt 'a'", ""));
    CHECK_FALSE(match("startswith(userId, 'a')", ""));
    CHECK(match("indexof(userId, 'a') eq -1", ""));
    CHECK(match("tolower(userId) eq null", ""));
    CHECK(match("concat(userId, 'x') eq 'x'", ""));
    CHECK_FALSE(match("userId in ('a', 'b')", ""));
    CHECK(match("userId in ('a', null)", ""));
    CHECK_FALSE(match("userId in groups", ""));
    CHECK(match("null eq null", "u"));
    CHECK_FALSE(match("null ne null", "u"));
    CHECK_FALSE(match("null gt null", "u"));
    CHECK(match("true ne null", "u"));
    CHECK(match("connectionId ne null", ""));
}

TEST_CASE("odata: literals, quoting and odata_quote", "[odata]") {
    CHECK(match("userId eq 'user''1'", "user'1"));
    CHECK(match("userId eq ''''", "'"));
    CHECK(match("userId eq ''", "") == false);  // the empty string is not null
    CHECK(match("true", "u"));
    CHECK_FALSE(match("false", "u"));
    CHECK(match("(true)", "u"));
    CHECK(match("  userId\teq\r\n'a'  ", "a"));
    CHECK(stub::odata_quote("it's") == "'it''s'");
    CHECK(stub::odata_quote("") == "''");
    CHECK(stub::odata_quote("''") == "''''''");
    for (const std::string hostile : {"a' or true or 'x", "'", "') or (true", "a\xC3\xA9\x01 b"}) {
        const std::string f = "userId eq " + stub::odata_quote(hostile);
        CHECK(match(f, hostile));
        CHECK_FALSE(match(f, "someone else"));
    }
}

TEST_CASE("odata: identifier names are case-insensitive, keywords and function names are lowercase", "[odata]") {
    CHECK(match("USERID eq 'a'", "a"));
    CHECK(match("UserId eq 'a' and ConnectionID eq 'c1'", "a", "c1"));
    CHECK(error_of("userId EQ 'a'").find("expected 'and', 'or' or the end of the filter, found 'EQ'") != std::string::npos);
    CHECK(error_of("userId eq 'a' AND true").find("found 'AND' (keywords are lowercase: 'and')") != std::string::npos);
    CHECK(error_of("NOT true").find("keywords are lowercase: 'not'") != std::string::npos);
    CHECK(error_of("userId eq NULL").find("keywords are lowercase: 'null'") != std::string::npos);
    CHECK(error_of("StartsWith(userId, 'a')").find("function names are lowercase: 'startswith'") != std::string::npos);
}

TEST_CASE("odata: errors say what is wrong and where", "[odata]") {
    struct Case {
        const char* text;
        const char* says;
    };
    const Case cases[] = {
        {"", "at position 0 (at the end): expected a value, found the end of the filter"},
        {"   ", "at position 3 (at the end): expected a value"},
        {"userId eq", "at position 9 (at the end): expected a value, found the end of the filter"},
        {"userId eq 'abc", "at position 10 (near \"'abc\"): this string literal has no closing quote"},
        {"userId == 'a'", "at position 7 (near \"== 'a'\"): unexpected character '=': comparison operators are written eq, ne, gt, ge, lt, le"},
        {"userId eq 'a' && true", "unexpected character '&': logical operators are written and, or, not"},
        {"userId eq \"a\"", "string literals are in single quotes"},
        {"userId eq 'a' 'b'", "at position 14 (near \"'b'\"): expected 'and', 'or' or the end of the filter, found the string literal 'b'"},
        {"user eq 'a'", "at position 0 (near \"user eq 'a'\"): unknown identifier 'user': a filter can name userId, connectionId and groups"},
        {"(userId eq 'a'", "expected ')' to close the '(' at position 0, found the end of the filter"},
        {"userId eq 'a')", "at position 13 (near \")\"): expected 'and', 'or' or the end of the filter, found ')'"},
        {"userId", "at position 0 (near \"userId\"): a filter is a boolean expression, and this is a string"},
        {"length(userId)", "a filter is a boolean expression, and this is an integer"},
        {"groups", "a filter is a boolean expression, and this is a collection"},
        {"userId eq 1", "at position 7 (near \"eq 1\"): 'eq' cannot compare a string with an integer"},
        {"groups eq 'a'", "groups is a collection and cannot be compared"},
        {"true gt false", "'gt' orders integers or strings, not booleans"},
        {"not length(userId) gt 5", "at position 4 (near \"length(userId) gt 5\"): 'not' applies to the operand right after it, and this is an integer"},
        {"not 'g' in groups", "'not' applies to the operand right after it, and this is a string"},
        {"userId and true", "'and' joins boolean expressions, and this is a string"},
        {"true or 'x'", "'or' joins boolean expressions, and this is a string"},
        {"1 in groups", "groups holds strings, and this is an integer"},
        {"userId in ()", "an 'in' list needs at least one value"},
        {"userId in ('a',)", "expected a value, found ')'"},
        {"userId in ('a' 'b')", "expected ',' or ')' in the 'in' list started at position 7, found the string literal 'b'"},
        {"userId in ('a', 1)", "this 'in' list value is an integer, and the value tested is a string"},
        {"userId in userId", "expected a list of values in parentheses, e.g. ('a','b'), or groups after 'in', found 'userId'"},
        {"true in (true)", "'in' tests a string or an integer, and this is a boolean"},
        {"foo(userId)", "unknown function 'foo'"},
        {"userId(1) eq 'a'", "'userId' is not a function"},
        {"startswith(userId) ", "startswith() takes 2 arguments, not 1"},
        {"startswith(userId, 'a', 'b', 'c')", "startswith() takes at most 3 arguments"},
        {"substring(userId) eq 'a'", "substring() takes 2 or 3 arguments, not 1"},
        {"length() eq 1", "length() takes 1 argument, not 0"},
        {"startswith(userId, 1)", "startswith() argument 2 must be a string, and this is an integer"},
        {"substring(userId, 'a') eq 'b'", "substring() argument 2 must be an integer"},
        {"length(true) eq 1", "length() argument 1 must be a string or groups, and this is a boolean"},
        {"length(userId) gt 1.5", "only whole numbers are supported"},
        {"length(userId) gt 12abc", "only whole numbers are supported"},
        {"length(userId) gt 2147483648", "this integer is out of range (-2147483648 to 2147483647)"},
        {"and", "expected a value, found the keyword 'and'"},
        {"userId eq 'a' or", "expected a value, found the end of the filter"},
        {"userId eq '\x01", "near \"'\\x01\""},
    };
    for (const auto& c : cases) {
        const std::string e = error_of(c.text);
        INFO("filter: " << c.text << "\nerror: " << e);
        CHECK(e.rfind("Invalid filter at position ", 0) == 0);
        CHECK(e.find(c.says) != std::string::npos);
    }
    // the boundary values of integers parse
    CHECK(match("length(userId) gt -2147483648", "a"));
    CHECK(match("length(userId) lt 2147483647", "a"));
    // no error out-parameter: still refused, nothing written anywhere
    CHECK_FALSE(ODataFilter::parse("userId eq"));
}

TEST_CASE("odata: hostile input is bounded", "[odata]") {
    SECTION("length") {
        std::string ok = "userId eq '" + std::string(stub::kODataMaxFilterBytes - 12, 'x') + "'";
        REQUIRE(ok.size() == stub::kODataMaxFilterBytes);  // exactly the limit is accepted
        CHECK(match(ok, std::string(stub::kODataMaxFilterBytes - 12, 'x')));
        const std::string big(stub::kODataMaxFilterBytes + 1, ' ');
        CHECK(error_of(big) == "Invalid filter: it is 65537 bytes long; the emulator takes at most 65536.");
    }
    SECTION("nesting") {
        auto nested = [](int n) { return std::string(n, '(') + "true" + std::string(n, ')'); };
        CHECK(match(nested(stub::kODataMaxDepth), "u"));
        CHECK(error_of(nested(stub::kODataMaxDepth + 1)).find("the filter nests deeper than 64 levels") != std::string::npos);
        CHECK(error_of(nested(30000)).find("nests deeper") != std::string::npos);  // 60 KB of parentheses: no stack overflow
        std::string nots;
        for (int i = 0; i < 1000; ++i) nots += "not ";
        CHECK(error_of(nots + "true").find("at position 256 (") != std::string::npos);  // the 65th 'not'
        std::string calls = "userId";
        for (int i = 0; i < 70; ++i) calls = "trim(" + calls + ")";
        CHECK(error_of(calls + " eq 'a'").find("nests deeper") != std::string::npos);
        std::string chain = "true";
        for (int i = 0; i < 70; ++i) chain += " eq true";
        CHECK(error_of(chain).find("nests deeper") != std::string::npos);
    }
    SECTION("long and/or chains do not nest") {
        std::string f = "userId eq 'u0'";
        for (int i = 1; i < 3000; ++i) f += (i % 2 ? " or userId eq 'u" : " and userId ne 'u") + std::to_string(i) + "'";
        const auto parsed_f = parsed(f);
        CHECK(parsed_f.matches("u0", "c", {}));
        CHECK_FALSE(parsed_f.matches("nobody", "c", {}));
    }
    SECTION("in lists") {
        std::string list = "userId in ('v0'";
        for (std::size_t i = 1; i < stub::kODataMaxInValues; ++i) list += ",'v" + std::to_string(i) + "'";
        const auto f = parsed(list + ")");
        CHECK(f.matches("v0", "c", {}));
        CHECK(f.matches("v1023", "c", {}));
        CHECK_FALSE(f.matches("v1024", "c", {}));
        CHECK(error_of(list + ",'v1024')").find("an 'in' list holds at most 1024 values") != std::string::npos);
    }
    SECTION("concat") {
        // concat(x, x) nested n deep makes 2^n copies of x: the count of calls is bounded, not just the depth
        std::string s = "userId";
        for (int i = 0; i < 8; ++i) s = "concat(" + s + "," + s + ")";  // 255 calls, 8 deep
        CHECK(error_of(s + " eq 'a'").find("a filter may call concat() at most 16 times") != std::string::npos);
        std::string ok = "userId";
        for (std::size_t i = 0; i < stub::kODataMaxConcat; ++i) ok = "concat(" + ok + ",'x')";
        CHECK(match(ok + " eq 'u" + std::string(stub::kODataMaxConcat, 'x') + "'", "u"));
    }
}

// ---- the hub's filtered operations ---------------------------------------------------------------

namespace {

struct Sink : stub::ConnectionSink {
    std::vector<std::string> frames;
    void send(std::shared_ptr<const std::string> text) override { frames.push_back(*text); }
    void close(int, const std::string&) override {}
    std::size_t messages(const std::string& data) const {
        std::size_t n = 0;
        for (const auto& f : frames) n += f.find("\"type\":\"message\"") != std::string::npos && f.find("\"" + data + "\"") != std::string::npos;
        return n;
    }
};

struct HubFixture {
    stub::Hub hub{[] { return int64_t{1000}; }};
    std::vector<std::shared_ptr<Sink>> sinks;
    std::vector<std::string> ids;

    // Connects user `u` (empty = anonymous) with initial groups; returns its index.
    std::size_t connect(const std::string& u, std::vector<std::string> groups = {},
                        stub::ClientProtocol protocol = stub::ClientProtocol::Json) {
        sinks.push_back(std::make_shared<Sink>());
        stub::Hub::Connect c;
        c.hub = "chat";
        c.userId = u;
        c.groups = std::move(groups);
        c.protocol = protocol;
        ids.push_back(hub.connect(c, sinks.back()));
        return ids.size() - 1;
    }
    std::set<std::string> groups_of(std::size_t i) const {
        for (const auto& c : hub.connections())
            if (c.id == ids[i]) return {c.groups.begin(), c.groups.end()};
        return {};
    }
};

stub::Payload text(const std::string& s) { return stub::Payload{wps::DataType::Text, s}; }

} // namespace

TEST_CASE("odata: the hub sends only to the connections a filter matches", "[odata][hub]") {
    HubFixture h;
    const auto alice = h.connect("alice", {"room"}), bob = h.connect("bob", {"room", "vip"}), anon = h.connect(""),
               alice2 = h.connect("alice");
    const auto f = parsed("userId in ('alice', 'bob') and not ('vip' in groups)");

    h.hub.send_to_all("chat", text("to-all"), {}, &f);
    CHECK(h.sinks[alice]->messages("to-all") == 1);
    CHECK(h.sinks[alice2]->messages("to-all") == 1);
    CHECK(h.sinks[bob]->messages("to-all") == 0);
    CHECK(h.sinks[anon]->messages("to-all") == 0);

    h.hub.send_to_all("chat", text("to-all-but"), {h.ids[alice2]}, &f);  // excluded still applies
    CHECK(h.sinks[alice]->messages("to-all-but") == 1);
    CHECK(h.sinks[alice2]->messages("to-all-but") == 0);

    h.hub.send_to_group("chat", "room", text("to-room"), {}, &f);
    CHECK(h.sinks[alice]->messages("to-room") == 1);
    CHECK(h.sinks[bob]->messages("to-room") == 0);
    CHECK(h.sinks[alice2]->messages("to-room") == 0);  // not a member: a filter never widens a group send

    const auto first = parsed("connectionId eq " + stub::odata_quote(h.ids[alice2]));
    h.hub.send_to_user("chat", "alice", text("to-user"), &first);
    CHECK(h.sinks[alice]->messages("to-user") == 0);
    CHECK(h.sinks[alice2]->messages("to-user") == 1);

    const auto anonymous = parsed("userId eq null");
    h.hub.send_to_all("chat", text("anon"), {}, &anonymous);
    CHECK(h.sinks[anon]->messages("anon") == 1);
    CHECK(h.sinks[alice]->messages("anon") == 0);

    h.hub.send_to_all("chat", text("unfiltered"), {});  // the callers without a filter are unchanged
    for (const auto& s : h.sinks) CHECK(s->messages("unfiltered") == 1);
}

TEST_CASE("odata: add_to_groups and remove_from_groups change the matching connections, recoverable ones too", "[odata][hub]") {
    HubFixture h;
    const auto alice = h.connect("alice", {}, stub::ClientProtocol::ReliableJson), bob = h.connect("bob"), carol = h.connect("carol");
    // alice's socket drops: her reliable session waits for recovery, still a member of its groups
    h.hub.on_socket_closed(h.ids[alice], h.sinks[alice].get());
    REQUIRE(h.hub.connection_exists("chat", h.ids[alice]));

    CHECK(h.hub.add_to_groups("chat", {"g1", "g2"}, parsed("userId ne 'carol'")) == 2);
    CHECK(h.groups_of(alice) == std::set<std::string>{"g1", "g2"});
    CHECK(h.groups_of(bob) == std::set<std::string>{"g1", "g2"});
    CHECK(h.groups_of(carol).empty());
    CHECK(h.hub.group_exists("chat", "g1"));

    // each connection is matched once, on its state before the change
    CHECK(h.hub.add_to_groups("chat", {"g3"}, parsed("not ('g3' in groups)")) == 3);
    CHECK(h.groups_of(carol) == std::set<std::string>{"g3"});

    CHECK(h.hub.remove_from_groups("chat", {"g1", "g3"}, parsed("'g2' in groups")) == 2);
    CHECK(h.groups_of(alice) == std::set<std::string>{"g2"});
    CHECK(h.groups_of(bob) == std::set<std::string>{"g2"});
    CHECK(h.groups_of(carol) == std::set<std::string>{"g3"});
    CHECK_FALSE(h.hub.group_exists("chat", "g1"));

    CHECK(h.hub.add_to_groups("chat", {"g9"}, parsed("userId eq 'nobody'")) == 0);
    CHECK_FALSE(h.hub.group_exists("chat", "g9"));
    CHECK(h.hub.add_to_groups("other-hub", {"g9"}, parsed("true")) == 0);
}

// ---- the REST routes ---------------------------------------------------------------------------

namespace {

const std::string kKey = "odata-test-access-key-0123456789abcdef";

stub::Response call(stub::RestApi& api, const std::string& method, const std::string& target, const std::string& body = "",
                    const std::string& content_type = "application/json") {
    stub::Request r;
    r.method = method;
    r.target = target;
    stub::parse_target(r);
    const int64_t now = stub::unix_now_s();
    r.headers["authorization"] = "Bearer " + stub::jwt_sign({{"aud", "http://localhost" + target}, {"iat", now}, {"exp", now + 300}}, kKey);
    r.headers["content-type"] = content_type;
    r.body = body;
    auto out = api.handle(r);
    REQUIRE(out);
    return *out;
}

} // namespace

TEST_CASE("odata: REST sends take a filter, group changes take one in the body", "[odata][rest]") {
    HubFixture h;
    stub::RestApi api(h.hub, kKey);
    const auto alice = h.connect("alice", {"room"}), bob = h.connect("bob", {"room"});

    const std::string enc = wps::url_encode("userId eq 'bob'");
    CHECK(call(api, "POST", "/api/hubs/chat/:send?api-version=2024-12-01&filter=" + enc, "hi-all", "text/plain").status == 202);
    CHECK(h.sinks[alice]->messages("hi-all") == 0);
    CHECK(h.sinks[bob]->messages("hi-all") == 1);
    CHECK(call(api, "POST", "/api/hubs/chat/groups/room/:send?filter=" + enc, "hi-room", "text/plain").status == 202);
    CHECK(h.sinks[bob]->messages("hi-room") == 1);
    CHECK(h.sinks[alice]->messages("hi-room") == 0);
    CHECK(call(api, "POST", "/api/hubs/chat/users/alice/:send?filter=" + enc, "hi-user", "text/plain").status == 202);
    CHECK(h.sinks[alice]->messages("hi-user") == 0);
    CHECK(call(api, "POST", "/api/hubs/chat/:send?filter=", "empty-filter", "text/plain").status == 202);  // empty: no filter
    CHECK(h.sinks[alice]->messages("empty-filter") == 1);

    auto bad = call(api, "POST", "/api/hubs/chat/:send?filter=" + wps::url_encode("userId eq"), "x", "text/plain");
    CHECK(bad.status == 400);
    CHECK(bad.body.find("Invalid filter at position 9") != std::string::npos);
    CHECK(call(api, "POST", "/api/hubs/chat/:send?filter=true&filter=false", "x", "text/plain").status == 400);
    // a filter where the API takes none is refused, not ignored
    auto closing = call(api, "POST", "/api/hubs/chat/:closeConnections?filter=" + enc);
    CHECK(closing.status == 400);
    CHECK(closing.body.find("applies only to sends") != std::string::npos);
    CHECK(h.hub.connection_exists("chat", h.ids[alice]));
    CHECK(call(api, "POST", "/api/hubs/chat/connections/" + h.ids[alice] + "/:send?filter=" + enc, "x", "text/plain").status == 400);

    CHECK(call(api, "POST", "/api/hubs/chat/:addToGroups?api-version=2024-12-01",
               R"({"groups":["g1","g2"],"filter":"userId eq 'alice'"})").status == 200);
    CHECK(h.groups_of(alice) == std::set<std::string>{"g1", "g2", "room"});
    CHECK(h.groups_of(bob) == std::set<std::string>{"room"});
    CHECK(call(api, "POST", "/api/hubs/chat/:removeFromGroups", R"({"groups":["room"],"filter":"'g1' in groups"})").status == 200);
    CHECK(h.groups_of(alice) == std::set<std::string>{"g1", "g2"});
    CHECK(h.groups_of(bob) == std::set<std::string>{"room"});
    CHECK(call(api, "POST", "/api/hubs/chat/:addToGroups", R"({"groups":["everyone"]})").status == 200);  // no filter: all
    CHECK(h.groups_of(bob).count("everyone") == 1);

    for (const char* body : {R"({"groups":[],"filter":"true"})", R"({"filter":"true"})", R"({"groups":"g","filter":"true"})",
                             R"({"groups":[""],"filter":"true"})", R"({"groups":["  "],"filter":"true"})", R"({"groups":[1]})",
                             R"({"groups":["g"],"filter":7})", R"(["g"])", "not json"}) {
        INFO(body);
        CHECK(call(api, "POST", "/api/hubs/chat/:addToGroups", body).status == 400);
    }
    std::string many = R"({"groups":[)";
    for (int i = 0; i < 101; ++i) many += (i ? ",\"g" : "\"g") + std::to_string(i) + "\"";
    CHECK(call(api, "POST", "/api/hubs/chat/:addToGroups", many + "]}").status == 400);
    auto bad_filter = call(api, "POST", "/api/hubs/chat/:removeFromGroups", R"({"groups":["g"],"filter":"userId eqq 'a'"})");
    CHECK(bad_filter.status == 400);
    CHECK(bad_filter.body.find("Invalid filter at position 7") != std::string::npos);
    CHECK(call(api, "POST", "/api/hubs/chat/:addToGroups", R"({"groups":["g"]})", "text/plain").status == 415);
    CHECK(h.groups_of(bob) == std::set<std::string>{"everyone", "room"});  // nothing refused changed anything
}
