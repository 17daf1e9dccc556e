// odata_filter.cpp - see odata_filter.hpp.
//
// [SECTION] AST          the typed nodes (types are checked once, at parse time)
// [SECTION] lexer        tokens of the whole text up front (bounded by kODataMaxFilterBytes)
// [SECTION] parser       recursive descent, every recursion counted against kODataMaxDepth
// [SECTION] strings      UTF-8 walking, UTF-16 code-unit counts, linear-time search
// [SECTION] evaluator    one connection at a time; cannot fail
#include "odata_filter.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

namespace stub {

// ---- [SECTION] AST ---------------------------------------------------------------------------

struct ODataFilter::Node {
    enum class Kind : uint8_t { Literal, Ident, Not, And, Or, Cmp, InList, InGroups, Call };
    enum class Type : uint8_t { Null, Bool, Int, Str, Coll };
    enum class Id : uint8_t { UserId, ConnectionId, Groups };
    enum class Op : uint8_t { Eq, Ne, Gt, Ge, Lt, Le };
    enum class Fn : uint8_t { Length, ToLower, ToUpper, Trim, Substring, Concat, IndexOf, StartsWith, EndsWith, Contains };

    Kind kind = Kind::Literal;
    Type type = Type::Null;     // what the node evaluates to (Str and Int values may still be null)
    std::size_t pos = 0;        // byte offset in the filter text, for error messages
    bool b = false;             // Literal (Bool)
    int64_t i = 0;              // Literal (Int)
    std::string s;              // Literal (Str)
    Id id = Id::UserId;         // Ident
    Op op = Op::Eq;             // Cmp
    Fn fn = Fn::Length;         // Call
    Type cmp = Type::Null;      // Cmp, InList: the type both sides compare as
    std::vector<std::unique_ptr<Node>> kids;  // operands, arguments; InList: the left side, then the non-literal values
    std::vector<std::string> str_values;      // InList: the literal strings, sorted, unique
    std::vector<int64_t> int_values;          // InList: the literal integers, sorted, unique
    bool null_value = false;                  // InList: the list holds null
};

namespace {

using Node = ODataFilter::Node;
using NodePtr = std::unique_ptr<Node>;
using Type = Node::Type;
using Kind = Node::Kind;
using Op = Node::Op;
using Fn = Node::Fn;

// A type for a message, with its article: "a string", "an integer", "null".
const char* a_type(Type t) {
    switch (t) {
    case Type::Null: return "null";
    case Type::Bool: return "a boolean";
    case Type::Int: return "an integer";
    case Type::Str: return "a string";
    case Type::Coll: return "a collection";
    }
    return "?";
}

// The type two operands compare as (null fits any type but a collection); nullopt when they cannot.
std::optional<Type> common_type(Type a, Type b) {
    if (a == Type::Coll || b == Type::Coll) return std::nullopt;
    if (a == b) return a;
    if (a == Type::Null) return b;
    if (b == Type::Null) return a;
    return std::nullopt;
}

struct FnInfo {
    const char* name;
    Fn fn;
};
constexpr FnInfo kFunctions[] = {
    {"length", Fn::Length},       {"tolower", Fn::ToLower},   {"toupper", Fn::ToUpper},       {"trim", Fn::Trim},
    {"substring", Fn::Substring}, {"concat", Fn::Concat},     {"indexof", Fn::IndexOf},       {"startswith", Fn::StartsWith},
    {"endswith", Fn::EndsWith},   {"contains", Fn::Contains},
};
constexpr const char* kKeywords[] = {"and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "in", "true", "false", "null"};

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (auto& ch : out)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return out;
}

bool is_keyword(std::string_view w) {
    return std::any_of(std::begin(kKeywords), std::end(kKeywords), [&](const char* k) { return w == k; });
}

// ---- [SECTION] lexer -------------------------------------------------------------------------

struct ParseError {
    std::size_t pos;
    std::string what;
};

struct Token {
    enum class K : uint8_t { End, Word, Str, Int, LParen, RParen, Comma };
    K k = K::End;
    std::size_t pos = 0;
    std::string_view word;  // Word: as written
    std::string str;        // Str: the value, quotes undone
    int64_t num = 0;        // Int
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_word_char(char c) { return is_word_start(c) || is_digit(c); }

// A character for a message: printable ASCII as it is, anything else as \xNN.
std::string show_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string(1, c);
    static const char* hex = "0123456789abcdef";
    return std::string("\\x") + hex[u >> 4] + hex[u & 15];
}

std::vector<Token> lex(std::string_view text) {
    std::vector<Token> out;
    std::size_t i = 0;
    while (true) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) ++i;
        Token t;
        t.pos = i;
        if (i == text.size()) {
            out.push_back(std::move(t));
            return out;
        }
        const char c = text[i];
        if (c == '(' || c == ')' || c == ',') {
            t.k = c == '(' ? Token::K::LParen : c == ')' ? Token::K::RParen : Token::K::Comma;
            ++i;
        } else if (c == '\'') {
            t.k = Token::K::Str;
            ++i;
            while (true) {
                if (i == text.size()) throw ParseError{t.pos, "this string literal has no closing quote (a quote inside one is written '')"};
                if (text[i] == '\'') {
                    if (i + 1 < text.size() && text[i + 1] == '\'') {
                        t.str += '\'';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                const std::size_t next = text.find('\'', i);
                const std::size_t end = next == std::string_view::npos ? text.size() : next;
                t.str.append(text.substr(i, end - i));
                i = end;
            }
        } else if (is_digit(c) || ((c == '-' || c == '+') && i + 1 < text.size() && is_digit(text[i + 1]))) {
            t.k = Token::K::Int;
            const bool negative = c == '-';
            if (!is_digit(c)) ++i;
            int64_t v = 0;
            while (i < text.size() && is_digit(text[i])) {
                if (v <= 2147483648LL) v = v * 10 + (text[i] - '0');
                ++i;
            }
            if (i < text.size() && (text[i] == '.' || is_word_char(text[i])))
                throw ParseError{t.pos, "only whole numbers are supported (digits with an optional sign)"};
            v = negative ? -v : v;
            if (v < INT32_MIN || v > INT32_MAX) throw ParseError{t.pos, "this integer is out of range (-2147483648 to 2147483647)"};
            t.num = v;
        } else if (is_word_start(c)) {
            t.k = Token::K::Word;
            const std::size_t start = i;
            while (i < text.size() && is_word_char(text[i])) ++i;
            t.word = text.substr(start, i - start);
        } else {
            std::string what = "unexpected character '" + show_char(c) + "'";
            if (c == '=' || c == '<' || c == '>' || c == '!')
                what += ": comparison operators are written eq, ne, gt, ge, lt, le";
            else if (c == '&' || c == '|')
                what += ": logical operators are written and, or, not";
            else if (c == '"')
                what += ": string literals are in single quotes, 'like this'";
            throw ParseError{i, what};
        }
        out.push_back(std::move(t));
    }
}

std::string describe(const Token& t) {
    switch (t.k) {
    case Token::K::End: return "the end of the filter";
    case Token::K::Word: {
        std::string out = "'" + std::string(t.word.substr(0, 40)) + "'";
        const std::string lower = lower_ascii(t.word.substr(0, 40));
        if (lower != t.word && is_keyword(lower)) out += " (keywords are lowercase: '" + lower + "')";
        return out;
    }
    case Token::K::Str: {
        std::string out = "the string literal '";
        for (char ch : t.str.substr(0, 20)) out += show_char(ch);
        return out + (t.str.size() > 20 ? "...'" : "'");
    }
    case Token::K::Int: return "the number " + std::to_string(t.num);
    case Token::K::LParen: return "'('";
    case Token::K::RParen: return "')'";
    case Token::K::Comma: return "','";
    }
    return "?";
}

// ---- [SECTION] parser ------------------------------------------------------------------------

class Parser {
public:
    explicit Parser(std::string_view text) : toks_(lex(text)) {}

    NodePtr parse() {
        NodePtr root = parse_or();
        if (cur().k != Token::K::End)
            throw ParseError{cur().pos, "expected 'and', 'or' or the end of the filter, found " + describe(cur())};
        if (root->type != Type::Bool)
            throw ParseError{root->pos, std::string("a filter is a boolean expression, and this is ") + a_type(root->type) +
                                            " (e.g. userId eq 'user1', 'group1' in groups)"};
        return root;
    }

private:
    std::vector<Token> toks_;
    std::size_t at_ = 0;
    int depth_ = 0;
    std::size_t concats_ = 0;

    // One more level of nesting, undone when the scope ends.
    class Level {
    public:
        Level(Parser& p, std::size_t pos) : p_(p) {
            if (++p_.depth_ > kODataMaxDepth)
                throw ParseError{pos, "the filter nests deeper than " + std::to_string(kODataMaxDepth) +
                                          " levels (parentheses, not, function calls, chained comparisons)"};
        }
        ~Level() { --p_.depth_; }
        Level(const Level&) = delete;
        Level& operator=(const Level&) = delete;

    private:
        Parser& p_;
    };

    const Token& cur() const { return toks_[at_]; }
    const Token& peek(std::size_t n) const { return toks_[std::min(at_ + n, toks_.size() - 1)]; }
    void advance() {
        if (at_ + 1 < toks_.size()) ++at_;
    }
    bool is_kw(const char* kw) const { return cur().k == Token::K::Word && cur().word == kw; }
    static bool is_groups(const Token& t) { return t.k == Token::K::Word && lower_ascii(t.word) == "groups"; }

    static NodePtr make(Kind kind, Type type, std::size_t pos) {
        auto n = std::make_unique<Node>();
        n->kind = kind;
        n->type = type;
        n->pos = pos;
        return n;
    }

    static void need_bool(const Node& n, const char* op) {
        if (n.type != Type::Bool)
            throw ParseError{n.pos, std::string("'") + op + "' joins boolean expressions, and this is " + a_type(n.type)};
    }

    // or_expr := and_expr ('or' and_expr)*   (one n-ary node: long chains do not nest)
    NodePtr parse_or() { return parse_chain("or", Kind::Or, &Parser::parse_and); }
    // and_expr := cmp_expr ('and' cmp_expr)*
    NodePtr parse_and() { return parse_chain("and", Kind::And, &Parser::parse_cmp); }

    NodePtr parse_chain(const char* kw, Kind kind, NodePtr (Parser::*operand)()) {
        NodePtr first = (this->*operand)();
        if (!is_kw(kw)) return first;
        need_bool(*first, kw);
        NodePtr n = make(kind, Type::Bool, first->pos);
        n->kids.push_back(std::move(first));
        while (is_kw(kw)) {
            advance();
            NodePtr next = (this->*operand)();
            need_bool(*next, kw);
            n->kids.push_back(std::move(next));
        }
        return n;
    }

    std::optional<Op> cmp_op() const {
        if (cur().k != Token::K::Word) return std::nullopt;
        const std::string_view w = cur().word;
        if (w == "eq") return Op::Eq;
        if (w == "ne") return Op::Ne;
        if (w == "gt") return Op::Gt;
        if (w == "ge") return Op::Ge;
        if (w == "lt") return Op::Lt;
        if (w == "le") return Op::Le;
        return std::nullopt;
    }

    // cmp_expr := unary (cmp_op unary | 'in' in_rhs)*   (left-associative; each extra link nests)
    NodePtr parse_cmp() {
        NodePtr lhs = parse_unary();
        std::vector<std::unique_ptr<Level>> links;
        for (bool first = true;; first = false) {
            const std::size_t pos = cur().pos;
            const auto op = cmp_op();
            const bool in = is_kw("in");
            if (!op && !in) return lhs;
            if (!first) links.push_back(std::make_unique<Level>(*this, pos));
            advance();
            if (in) {
                lhs = parse_in(std::move(lhs), pos);
                continue;
            }
            NodePtr rhs = parse_unary();
            lhs = comparison(*op, std::move(lhs), std::move(rhs), pos);
        }
    }

    static NodePtr comparison(Op op, NodePtr lhs, NodePtr rhs, std::size_t pos) {
        const char* names[] = {"eq", "ne", "gt", "ge", "lt", "le"};
        const char* name = names[static_cast<int>(op)];
        for (const Node* side : {lhs.get(), rhs.get()})
            if (side->type == Type::Coll)
                throw ParseError{side->pos, std::string("groups is a collection and cannot be compared with '") + name +
                                                "': test membership with 'group1' in groups, or count with length(groups)"};
        const auto t = common_type(lhs->type, rhs->type);
        if (!t)
            throw ParseError{pos, std::string("'") + name + "' cannot compare " + a_type(lhs->type) + " with " +
                                      a_type(rhs->type)};
        if (op != Op::Eq && op != Op::Ne && *t == Type::Bool)
            throw ParseError{pos, std::string("'") + name + "' orders integers or strings, not booleans"};
        NodePtr n = make(Kind::Cmp, Type::Bool, lhs->pos);
        n->op = op;
        n->cmp = *t;
        n->kids.push_back(std::move(lhs));
        n->kids.push_back(std::move(rhs));
        return n;
    }

    // in_rhs := 'groups' | '(' ... 'groups' ... ')' | '(' value (',' value)* ')'
    NodePtr parse_in(NodePtr lhs, std::size_t pos) {
        if (lhs->type != Type::Str && lhs->type != Type::Int && lhs->type != Type::Null)
            throw ParseError{lhs->pos, std::string("'in' tests a string or an integer, and this is ") + a_type(lhs->type)};
        std::size_t parens = 0;
        while (peek(parens).k == Token::K::LParen) ++parens;
        bool collection = is_groups(peek(parens));
        for (std::size_t k = 1; collection && k <= parens; ++k) collection = peek(parens + k).k == Token::K::RParen;
        if (collection) {
            if (lhs->type == Type::Int) throw ParseError{lhs->pos, "groups holds strings, and this is an integer"};
            for (std::size_t k = 0; k < 2 * parens + 1; ++k) advance();
            NodePtr n = make(Kind::InGroups, Type::Bool, lhs->pos);
            n->kids.push_back(std::move(lhs));
            return n;
        }
        if (cur().k != Token::K::LParen)
            throw ParseError{cur().pos, "expected a list of values in parentheses, e.g. ('a','b'), or groups after 'in', found " +
                                            describe(cur())};
        Level level(*this, cur().pos);
        advance();
        NodePtr n = make(Kind::InList, Type::Bool, lhs->pos);
        n->cmp = lhs->type;
        n->kids.push_back(std::move(lhs));
        std::size_t count = 0;
        while (true) {
            if (cur().k == Token::K::RParen && count == 0) throw ParseError{cur().pos, "an 'in' list needs at least one value"};
            if (++count > kODataMaxInValues)
                throw ParseError{cur().pos, "an 'in' list holds at most " + std::to_string(kODataMaxInValues) + " values"};
            NodePtr v = parse_or();
            const auto t = common_type(n->cmp, v->type);
            if (!t)
                throw ParseError{v->pos, std::string("this 'in' list value is ") + a_type(v->type) + ", and the value tested is " +
                                             a_type(n->cmp)};
            n->cmp = *t;
            if (v->kind == Kind::Literal && v->type == Type::Null) n->null_value = true;
            else if (v->kind == Kind::Literal && v->type == Type::Str) n->str_values.push_back(std::move(v->s));
            else if (v->kind == Kind::Literal && v->type == Type::Int) n->int_values.push_back(v->i);
            else n->kids.push_back(std::move(v));
            if (cur().k == Token::K::Comma) {
                advance();
                continue;
            }
            if (cur().k == Token::K::RParen) break;
            throw ParseError{cur().pos, "expected ',' or ')' in the 'in' list started at position " + std::to_string(pos) + ", found " +
                                            describe(cur())};
        }
        advance();
        if (n->cmp == Type::Bool) throw ParseError{n->pos, "'in' tests a string or an integer, not booleans"};
        std::sort(n->str_values.begin(), n->str_values.end());
        n->str_values.erase(std::unique(n->str_values.begin(), n->str_values.end()), n->str_values.end());
        std::sort(n->int_values.begin(), n->int_values.end());
        n->int_values.erase(std::unique(n->int_values.begin(), n->int_values.end()), n->int_values.end());
        return n;
    }

    // unary := 'not' unary | primary   ('not' binds tighter than comparisons, as in OData)
    NodePtr parse_unary() {
        if (!is_kw("not")) return parse_primary();
        const std::size_t pos = cur().pos;
        Level level(*this, pos);
        advance();
        NodePtr operand = parse_unary();
        if (operand->type != Type::Bool)
            throw ParseError{operand->pos, std::string("'not' applies to the operand right after it, and this is ") + a_type(operand->type) +
                                               ": put the condition in parentheses, e.g. not (length(userId) gt 5), not ('g' in groups)"};
        NodePtr n = make(Kind::Not, Type::Bool, pos);
        n->kids.push_back(std::move(operand));
        return n;
    }

    NodePtr parse_primary() {
        const Token& t = cur();
        switch (t.k) {
        case Token::K::LParen: {
            Level level(*this, t.pos);
            const std::size_t open = t.pos;
            advance();
            NodePtr inner = parse_or();
            if (cur().k != Token::K::RParen)
                throw ParseError{cur().pos, "expected ')' to close the '(' at position " + std::to_string(open) + ", found " + describe(cur())};
            advance();
            return inner;
        }
        case Token::K::Str: {
            NodePtr n = make(Kind::Literal, Type::Str, t.pos);
            n->s = t.str;
            advance();
            return n;
        }
        case Token::K::Int: {
            NodePtr n = make(Kind::Literal, Type::Int, t.pos);
            n->i = t.num;
            advance();
            return n;
        }
        case Token::K::Word: return parse_word();
        default: throw ParseError{t.pos, "expected a value, found " + describe(t)};
        }
    }

    NodePtr parse_word() {
        const Token& t = cur();
        const std::size_t pos = t.pos;
        const std::string_view w = t.word;
        if (w == "true" || w == "false") {
            NodePtr n = make(Kind::Literal, Type::Bool, pos);
            n->b = w == "true";
            advance();
            return n;
        }
        if (w == "null") {
            advance();
            return make(Kind::Literal, Type::Null, pos);
        }
        if (is_keyword(w)) throw ParseError{pos, "expected a value, found the keyword '" + std::string(w) + "'"};
        const std::string lower = lower_ascii(w);
        if (peek(1).k == Token::K::LParen) return parse_call(lower);
        NodePtr n = make(Kind::Ident, Type::Str, pos);
        if (lower == "userid") n->id = Node::Id::UserId;
        else if (lower == "connectionid") n->id = Node::Id::ConnectionId;
        else if (lower == "groups") n->id = Node::Id::Groups, n->type = Type::Coll;
        else {
            std::string what = "unknown identifier '" + std::string(w.substr(0, 40)) + "': a filter can name userId, connectionId and groups";
            if (is_keyword(lower)) what += " (keywords are lowercase: '" + lower + "')";
            throw ParseError{pos, what};
        }
        advance();
        return n;
    }

    NodePtr parse_call(const std::string& lower) {
        const Token& name_tok = cur();
        const std::size_t pos = name_tok.pos;
        const std::string name(name_tok.word.substr(0, 40));
        const FnInfo* info = nullptr;
        for (const auto& f : kFunctions)
            if (lower == f.name) info = &f;
        if (!info) {
            if (lower == "userid" || lower == "connectionid" || lower == "groups") throw ParseError{pos, "'" + name + "' is not a function"};
            throw ParseError{pos, "unknown function '" + name +
                                      "': a filter can call startswith, endswith, contains, indexof, length, tolower, toupper, trim, substring and concat"};
        }
        if (name != info->name) throw ParseError{pos, std::string("function names are lowercase: '") + info->name + "'"};
        Level level(*this, pos);
        advance();  // name
        advance();  // '('
        NodePtr n = make(Kind::Call, Type::Str, pos);
        n->fn = info->fn;
        if (cur().k != Token::K::RParen) {
            while (true) {
                if (n->kids.size() == 3) throw ParseError{cur().pos, name + "() takes at most 3 arguments"};
                n->kids.push_back(parse_or());
                if (cur().k == Token::K::Comma) {
                    advance();
                    continue;
                }
                if (cur().k == Token::K::RParen) break;
                throw ParseError{cur().pos, "expected ',' or ')' in the arguments of " + name + "(), found " + describe(cur())};
            }
        }
        advance();  // ')'
        type_call(*n, name);
        return n;
    }

    void type_call(Node& n, const std::string& name) {
        auto arity = [&](std::size_t lo, std::size_t hi) {
            if (n.kids.size() < lo || n.kids.size() > hi)
                throw ParseError{n.pos, name + "() takes " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + " or " + std::to_string(hi)) +
                                            " argument" + (hi == 1 ? "" : "s") + ", not " + std::to_string(n.kids.size())};
        };
        auto arg = [&](std::size_t k, std::initializer_list<Type> allowed, const char* what) {
            const Node& a = *n.kids[k];
            if (std::find(allowed.begin(), allowed.end(), a.type) == allowed.end())
                throw ParseError{a.pos, name + "() argument " + std::to_string(k + 1) + " must be " + what + ", and this is " + a_type(a.type)};
        };
        switch (n.fn) {
        case Fn::Length:
            arity(1, 1);
            arg(0, {Type::Str, Type::Null, Type::Coll}, "a string or groups");
            n.type = Type::Int;
            break;
        case Fn::ToLower:
        case Fn::ToUpper:
        case Fn::Trim:
            arity(1, 1);
            arg(0, {Type::Str, Type::Null}, "a string");
            n.type = Type::Str;
            break;
        case Fn::Substring:
            arity(2, 3);
            arg(0, {Type::Str, Type::Null}, "a string");
            for (std::size_t k = 1; k < n.kids.size(); ++k) arg(k, {Type::Int}, "an integer");
            n.type = Type::Str;
            break;
        case Fn::Concat:
            arity(2, 2);
            arg(0, {Type::Str, Type::Null}, "a string");
            arg(1, {Type::Str, Type::Null}, "a string");
            if (++concats_ > kODataMaxConcat)
                throw ParseError{n.pos, "a filter may call concat() at most " + std::to_string(kODataMaxConcat) + " times"};
            n.type = Type::Str;
            break;
        case Fn::IndexOf:
        case Fn::StartsWith:
        case Fn::EndsWith:
        case Fn::Contains:
            arity(2, 2);
            arg(0, {Type::Str, Type::Null}, "a string");
            arg(1, {Type::Str, Type::Null}, "a string");
            n.type = n.fn == Fn::IndexOf ? Type::Int : Type::Bool;
            break;
        }
    }
};

// ---- [SECTION] strings -----------------------------------------------------------------------

// The code point at s[i], advancing i past it. A byte that does not start a well-formed UTF-8
// sequence is one U+FFFD (as .NET decodes it), and i advances by that one byte.
uint32_t next_code_point(std::string_view s, std::size_t& i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
        ++i;
        return c;
    }
    std::size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    if (len == 0 || i + len > s.size()) {
        ++i;
        return 0xFFFD;
    }
    for (std::size_t k = 1; k < len; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) {
            ++i;
            return 0xFFFD;
        }
        cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        ++i;
        return 0xFFFD;
    }
    i += len;
    return cp;
}

// UTF-16 code units of a code point: the service is .NET, whose string lengths count them.
int64_t units(uint32_t cp) { return cp >= 0x10000 ? 2 : 1; }

int64_t utf16_length(std::string_view s) {
    int64_t n = 0;
    for (std::size_t i = 0; i < s.size();) n += units(next_code_point(s, i));
    return n;
}

// .NET's char.IsWhiteSpace, which String.Trim() removes.
bool is_white_space(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

std::string_view trim(std::string_view s) {
    std::size_t first = std::string_view::npos, end = 0;
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t start = i;
        if (!is_white_space(next_code_point(s, i))) {
            if (first == std::string_view::npos) first = start;
            end = i;
        }
    }
    return first == std::string_view::npos ? std::string_view() : s.substr(first, end - first);
}

// Knuth-Morris-Pratt: the first byte offset of `needle` in `hay` in O(|hay| + |needle|).
std::size_t find(std::string_view hay, std::string_view needle) {
    if (needle.empty()) return 0;
    if (needle.size() > hay.size()) return std::string_view::npos;
    std::vector<std::size_t> border(needle.size(), 0);
    for (std::size_t i = 1, k = 0; i < needle.size(); ++i) {
        while (k > 0 && needle[i] != needle[k]) k = border[k - 1];
        if (needle[i] == needle[k]) ++k;
        border[i] = k;
    }
    for (std::size_t i = 0, k = 0; i < hay.size(); ++i) {
        while (k > 0 && hay[i] != needle[k]) k = border[k - 1];
        if (hay[i] == needle[k]) ++k;
        if (k == needle.size()) return i + 1 - k;
    }
    return std::string_view::npos;
}

// substring(s, start[, length]) in UTF-16 code units; null out of range (as Microsoft's emulator).
// Half of a surrogate pair becomes U+FFFD, what .NET writes for a lone surrogate in UTF-8.
std::optional<std::string> substring(std::string_view s, int64_t start, std::optional<int64_t> length) {
    const int64_t total = utf16_length(s);
    if (start < 0 || start > total) return std::nullopt;
    if (length && (*length < 0 || *length > total - start)) return std::nullopt;
    const int64_t end = length ? start + *length : total;
    std::string out;
    int64_t u = 0;
    for (std::size_t i = 0; i < s.size() && u < end;) {
        const std::size_t b = i;
        const int64_t w = units(next_code_point(s, i));
        if (u >= start && u + w <= end) out.append(s.substr(b, i - b));
        else if (u + w > start) out += "\xEF\xBF\xBD";
        u += w;
    }
    return out;
}

std::string map_ascii(std::string_view s, bool upper) {
    std::string out(s);
    for (auto& ch : out) {
        if (upper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
        if (!upper && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    }
    return out;
}

// ---- [SECTION] evaluator ---------------------------------------------------------------------

struct Ctx {
    std::optional<std::string_view> user;  // null for an anonymous connection
    std::string_view conn;
    const std::set<std::string>& groups;
    std::deque<std::string> made;  // strings functions produced, alive for one evaluation

    std::string_view keep(std::string s) {
        made.push_back(std::move(s));
        return made.back();
    }
};

std::optional<std::string_view> eval_str(const Node& n, Ctx& c);
std::optional<int64_t> eval_int(const Node& n, Ctx& c);
bool eval_bool(const Node& n, Ctx& c);

std::optional<std::string_view> eval_str(const Node& n, Ctx& c) {
    if (n.kind == Kind::Literal) return n.type == Type::Str ? std::optional<std::string_view>(n.s) : std::nullopt;
    if (n.kind == Kind::Ident) return n.id == Node::Id::UserId ? c.user : std::optional<std::string_view>(c.conn);
    if (n.kind != Kind::Call) return std::nullopt;
    const auto a = eval_str(*n.kids[0], c);
    switch (n.fn) {
    case Fn::ToLower:
    case Fn::ToUpper:
        if (!a) return std::nullopt;
        return c.keep(map_ascii(*a, n.fn == Fn::ToUpper));
    case Fn::Trim:
        if (!a) return std::nullopt;
        return trim(*a);
    case Fn::Substring: {
        const auto start = eval_int(*n.kids[1], c);
        const auto length = n.kids.size() == 3 ? eval_int(*n.kids[2], c) : std::nullopt;
        if (!a || !start || (n.kids.size() == 3 && !length)) return std::nullopt;
        auto out = substring(*a, *start, length);
        if (!out) return std::nullopt;
        return c.keep(std::move(*out));
    }
    case Fn::Concat: {
        const auto b = eval_str(*n.kids[1], c);
        if (!a) return b;
        if (!b) return a;
        std::string out;
        out.reserve(a->size() + b->size());
        out.append(*a).append(*b);
        return c.keep(std::move(out));
    }
    default: return std::nullopt;
    }
}

std::optional<int64_t> eval_int(const Node& n, Ctx& c) {
    if (n.kind == Kind::Literal) return n.type == Type::Int ? std::optional<int64_t>(n.i) : std::nullopt;
    if (n.kind != Kind::Call) return std::nullopt;
    if (n.fn == Fn::Length) {
        if (n.kids[0]->type == Type::Coll) return static_cast<int64_t>(c.groups.size());
        const auto a = eval_str(*n.kids[0], c);
        return a ? std::optional<int64_t>(utf16_length(*a)) : std::nullopt;
    }
    if (n.fn == Fn::IndexOf) {
        const auto a = eval_str(*n.kids[0], c), b = eval_str(*n.kids[1], c);
        if (!a || !b) return -1;
        const std::size_t at = find(*a, *b);
        return at == std::string_view::npos ? -1 : utf16_length(a->substr(0, at));
    }
    return std::nullopt;
}

template <class T>
bool compare(Op op, const std::optional<T>& a, const std::optional<T>& b) {
    if (op == Op::Eq) return a == b;  // null eq null
    if (op == Op::Ne) return a != b;
    if (!a || !b) return false;       // ordering with null: false
    switch (op) {
    case Op::Gt: return *a > *b;
    case Op::Ge: return *a >= *b;
    case Op::Lt: return *a < *b;
    case Op::Le: return *a <= *b;
    default: return false;
    }
}

bool eval_bool(const Node& n, Ctx& c) {
    switch (n.kind) {
    case Kind::Literal: return n.b;
    case Kind::Not: return !eval_bool(*n.kids[0], c);
    case Kind::And:
        for (const auto& k : n.kids)
            if (!eval_bool(*k, c)) return false;
        return true;
    case Kind::Or:
        for (const auto& k : n.kids)
            if (eval_bool(*k, c)) return true;
        return false;
    case Kind::Cmp: {
        const Node &l = *n.kids[0], &r = *n.kids[1];
        switch (n.cmp) {
        case Type::Str: return compare(n.op, eval_str(l, c), eval_str(r, c));
        case Type::Int: return compare(n.op, eval_int(l, c), eval_int(r, c));
        case Type::Bool: {
            // A boolean is never null: compared with the null literal it is only "ne".
            const auto side = [&](const Node& x) {
                return x.type == Type::Null ? std::nullopt : std::optional<bool>(eval_bool(x, c));
            };
            return compare(n.op, side(l), side(r));
        }
        default: return compare<int64_t>(n.op, std::nullopt, std::nullopt);  // null vs null: only eq holds
        }
    }
    case Kind::InGroups: {
        const Node& v = *n.kids[0];
        if (v.kind == Kind::Literal) return v.type == Type::Str && c.groups.count(v.s) > 0;
        const auto s = eval_str(v, c);
        return s && c.groups.count(std::string(*s)) > 0;
    }
    case Kind::InList: {
        if (n.cmp == Type::Int) {
            const auto v = eval_int(*n.kids[0], c);
            if (!v) {
                if (n.null_value) return true;
            } else if (std::binary_search(n.int_values.begin(), n.int_values.end(), *v)) {
                return true;
            }
            for (std::size_t k = 1; k < n.kids.size(); ++k)
                if (eval_int(*n.kids[k], c) == v) return true;
            return false;
        }
        if (n.cmp == Type::Null) return n.null_value;  // null in (null, ...)
        const auto v = eval_str(*n.kids[0], c);
        if (!v) {
            if (n.null_value) return true;
        } else if (std::binary_search(n.str_values.begin(), n.str_values.end(), *v, std::less<>())) {
            return true;
        }
        for (std::size_t k = 1; k < n.kids.size(); ++k)
            if (eval_str(*n.kids[k], c) == v) return true;
        return false;
    }
    case Kind::Call: {
        const auto a = eval_str(*n.kids[0], c), b = eval_str(*n.kids[1], c);
        if (!a || !b) return false;
        if (n.fn == Fn::StartsWith) return a->substr(0, b->size()) == *b;
        if (n.fn == Fn::EndsWith) return a->size() >= b->size() && a->substr(a->size() - b->size()) == *b;
        return find(*a, *b) != std::string_view::npos;
    }
    default: return false;
    }
}

// Where an error is, for its message: up to 24 bytes of the text from there, printable.
std::string excerpt(std::string_view text, std::size_t pos) {
    if (pos >= text.size()) return "at the end";
    std::string out;
    for (char ch : text.substr(pos, 24)) out += show_char(ch);
    if (pos + 24 < text.size()) out += "...";
    return "near \"" + out + "\"";
}

} // namespace

std::optional<ODataFilter> ODataFilter::parse(std::string_view text, std::string* error) {
    std::string why;
    if (text.size() > kODataMaxFilterBytes) {
        why = "Invalid filter: it is " + std::to_string(text.size()) + " bytes long; the emulator takes at most " +
              std::to_string(kODataMaxFilterBytes) + ".";
    } else {
        try {
            return ODataFilter(std::shared_ptr<const Node>(Parser(text).parse()));
        } catch (const ParseError& e) {
            why = "Invalid filter at position " + std::to_string(e.pos) + " (" + excerpt(text, e.pos) + "): " + e.what + ".";
        } catch (const std::exception& e) {
            why = std::string("Invalid filter: ") + e.what();
        }
    }
    if (error) *error = std::move(why);
    return std::nullopt;
}

bool ODataFilter::matches(const std::string& userId, const std::string& connectionId, const std::set<std::string>& groups) const {
    if (!root_) return true;
    Ctx c{userId.empty() ? std::nullopt : std::optional<std::string_view>(userId), connectionId, groups, {}};
    return eval_bool(*root_, c);
}

std::string odata_quote(std::string_view s) {
    std::string out = "'";
    for (char ch : s) {
        out += ch;
        if (ch == '\'') out += '\'';
    }
    return out + "'";
}

} // namespace stub
