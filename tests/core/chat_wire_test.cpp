#include "core/chat_wire.hpp"  // first: the header is self-contained

#include <catch2/catch.hpp>

#include <limits>
#include <string>
#include <vector>

using chat::Attachment;
using chat::Message;
using chat::NotificationAudience;
using nlohmann::json;

namespace {

Message stored_message() {
    Message m;
    m.messageId = "msg_1";
    m.clientMessageId = "alice-1";
    m.conversationId = "demo";
    m.seq = 7;
    m.senderId = "alice";
    m.text = "hello \xCE\xB3\xCE\xB5\xCE\xB9\xCE\xB1";
    m.createdAtMs = 1700000000000;
    m.attachment = Attachment{"/blobs/blob_0123456789abcdef0123?exp=1&sig=x", "photo.png", "image/png", 42};
    return m;
}

// Parses and returns the refusal (empty when the attachment was accepted).
std::string why_refused(const json& j, chat::AttachmentUrlRule rule = nullptr) {
    std::string why;
    const auto a = chat::attachment_from_json(j, &why, rule);
    if (a) return {};
    CHECK_FALSE(why.empty());
    return why;
}

const std::string kShape = "'attachment' must be an object with a 'url'.";
const std::string kUrl = "'attachment.url' must be an uploaded file's link (/blobs/...) or an https URL.";
const std::string kName = "'attachment.name' must be a string of at most 255 bytes.";
const std::string kType = "'attachment.contentType' must be a string of at most 255 bytes.";
const std::string kSize = "'attachment.size' must be a non-negative integer.";

bool only_https(const std::string& url) { return url.rfind("https://", 0) == 0; }

} // namespace

// ---- group names --------------------------------------------------------------------------------

TEST_CASE("group names: each is built and read back by the one module", "[wire]") {
    CHECK(chat::conversation_group("demo") == "conversation:demo");
    CHECK(chat::typing_group("demo") == "conversation:demo:typing");
    CHECK(chat::user_notifications_group("alice") == "notifications:user:alice");
    CHECK(chat::team_notifications_group("core") == "notifications:team:core");
    CHECK(chat::global_notifications_group() == "notifications:global");

    for (const std::string id : {"demo", "c_0123456789abcdef0123", "a:b", "\xCE\xB3"}) {
        const auto messages = chat::parse_conversation_group(chat::conversation_group(id));
        REQUIRE(messages);
        CHECK(messages->conversationId == id);
        CHECK_FALSE(messages->typing);
        const auto typing = chat::parse_conversation_group(chat::typing_group(id));
        REQUIRE(typing);
        CHECK(typing->conversationId == id);
        CHECK(typing->typing);
    }
    const auto user = chat::parse_notification_group(chat::user_notifications_group("alice"));
    REQUIRE(user);
    CHECK(user->audience == NotificationAudience::User);
    CHECK(user->id == "alice");
    const auto team = chat::parse_notification_group(chat::team_notifications_group("core"));
    REQUIRE(team);
    CHECK(team->audience == NotificationAudience::Team);
    CHECK(team->id == "core");
    const auto global = chat::parse_notification_group(chat::global_notifications_group());
    REQUIRE(global);
    CHECK(global->audience == NotificationAudience::Global);
    CHECK(global->id.empty());
}

TEST_CASE("group names: look-alikes are not taken for ours", "[wire][security]") {
    for (const char* g : {"", "conversation", "Conversation:demo", " conversation:demo", "conv:demo", "notifications:user:alice"})
        CHECK_FALSE(chat::parse_conversation_group(g));
    for (const char* g : {"", "notifications", "notifications:", "notifications:users:alice", "notifications:global:x",
                          "notifications:globa", "Notifications:global", "notifications:teams:core", "conversation:demo"})
        CHECK_FALSE(chat::parse_notification_group(g));

    // The id is whatever follows the prefix; the caller decides what an empty one means.
    REQUIRE(chat::parse_conversation_group("conversation:"));
    CHECK(chat::parse_conversation_group("conversation:")->conversationId.empty());
    CHECK(chat::parse_notification_group("notifications:user:")->id.empty());
    // A suffix alone is an id, not a typing group; a doubled one is the typing group of "a:typing".
    const auto bare = chat::parse_conversation_group("conversation::typing");
    REQUIRE(bare);
    CHECK(bare->conversationId == ":typing");
    CHECK_FALSE(bare->typing);
    const auto doubled = chat::parse_conversation_group("conversation:a:typing:typing");
    REQUIRE(doubled);
    CHECK(doubled->conversationId == "a:typing");
    CHECK(doubled->typing);
}

// ---- attachment ---------------------------------------------------------------------------------

TEST_CASE("attachment: round trip, and the exact bytes every writer produces", "[wire]") {
    const Attachment a{"/blobs/x", "x.png", "image/png", 42};
    const json j = chat::attachment_json(a);
    CHECK(j.dump() == R"({"contentType":"image/png","name":"x.png","size":42,"url":"/blobs/x"})");
    const auto back = chat::attachment_from_json(j);
    REQUIRE(back);
    CHECK(back->url == a.url);
    CHECK(back->name == a.name);
    CHECK(back->contentType == a.contentType);
    CHECK(back->size == a.size);

    // Only the url is required; unknown fields are ignored (POST /blobs also answers expiresAt).
    const auto bare = chat::attachment_from_json(json{{"url", "https://files.example/a"}, {"expiresAt", 5}});
    REQUIRE(bare);
    CHECK(bare->name.empty());
    CHECK(bare->contentType.empty());
    CHECK(bare->size == 0);
    // The largest size survives; zero is a size.
    const uint64_t max = std::numeric_limits<uint64_t>::max();
    CHECK(chat::attachment_from_json(json{{"url", "u"}, {"size", max}})->size == max);
    CHECK(chat::attachment_from_json(json{{"url", "u"}, {"size", 0}})->size == 0);
}

TEST_CASE("attachment: wrong types and missing fields are refused with the backend's words", "[wire][security]") {
    for (const json& j : {json(nullptr), json("u"), json(1), json::array({"u"}), json::object(), json{{"name", "x"}},
                          json{{"url", nullptr}}, json{{"url", 1}}, json{{"url", json::array()}}, json{{"url", json{{"u", 1}}}},
                          json{{"URL", "u"}}})
        CHECK(why_refused(j) == kShape);
    for (const json& name : {json(nullptr), json(1), json(true), json::array(), json::object()}) {
        CHECK(why_refused(json{{"url", "u"}, {"name", name}}) == kName);
        CHECK(why_refused(json{{"url", "u"}, {"contentType", name}}) == kType);
    }
    for (const json& size : {json(nullptr), json(-1), json(1.5), json(1.0), json("1"), json(true), json::array({1})})
        CHECK(why_refused(json{{"url", "u"}, {"size", size}}) == kSize);
    // Past uint64: nlohmann reads it as a float, which is not a size.
    CHECK(why_refused(json::parse(R"({"url":"u","size":18446744073709551616})")) == kSize);
    // An empty link is no link.
    CHECK(why_refused(json{{"url", ""}}) == kUrl);
    // No `why` wanted: still refused.
    CHECK_FALSE(chat::attachment_from_json(json{{"url", 1}}));
}

TEST_CASE("attachment: oversize and malformed texts are refused at the bound, accepted under it", "[wire][security]") {
    const std::string at_bound(chat::kMaxAttachmentTextBytes, 'n');
    CHECK(why_refused(json{{"url", "u"}, {"name", at_bound}, {"contentType", at_bound}}).empty());
    CHECK(why_refused(json{{"url", "u"}, {"name", at_bound + "n"}}) == kName);
    CHECK(why_refused(json{{"url", "u"}, {"contentType", at_bound + "t"}}) == kType);
    // Bytes, not characters: 127 two-byte characters fit, 128 do not.
    std::string greek;
    for (int i = 0; i < 127; ++i) greek += "\xCE\xB3";
    CHECK(why_refused(json{{"url", "u"}, {"name", greek}}).empty());
    CHECK(why_refused(json{{"url", "u"}, {"name", greek + "\xCE\xB3"}}) == kName);
    // Not UTF-8 (a lone continuation byte, a cut sequence, an invalid lead byte).
    for (const char* bad : {"\x80", "a\xCE", "\xFF", "\xE2\x82"})
        CHECK(why_refused(json{{"url", "u"}, {"name", std::string(bad)}}) == kName);
    // Links without a rule: non-empty, at most kMaxAttachmentUrlBytes.
    const std::string url(chat::kMaxAttachmentUrlBytes, 'u');
    CHECK(why_refused(json{{"url", url}}).empty());
    CHECK(why_refused(json{{"url", url + "u"}}) == kUrl);
}

TEST_CASE("attachment: the backend's link rule is asked after the shape and before the other fields", "[wire]") {
    CHECK(why_refused(json{{"url", "https://files.example/a"}}, only_https).empty());
    CHECK(why_refused(json{{"url", "/blobs/x"}}, only_https) == kUrl);
    CHECK(why_refused(json{{"url", "javascript:alert(1)"}}, only_https) == kUrl);
    CHECK(why_refused(json{{"url", 5}}, only_https) == kShape);
    // With the rule, its own bound applies instead of kMaxAttachmentUrlBytes.
    const std::string long_https = "https://files.example/" + std::string(chat::kMaxAttachmentUrlBytes, 'a');
    CHECK(why_refused(json{{"url", long_https}}, only_https).empty());
    // Several faults: the first in the documented order is reported.
    CHECK(why_refused(json{{"url", "/blobs/x"}, {"name", 1}, {"size", -1}}, only_https) == kUrl);
    CHECK(why_refused(json{{"url", "https://x"}, {"contentType", 1}, {"size", -1}}, only_https) == kType);
    CHECK(why_refused(json{{"url", "https://x"}, {"name", 1}, {"contentType", 1}}, only_https) == kName);
}

TEST_CASE("valid_utf8 accepts well-formed sequences and refuses cut or stray bytes", "[wire]") {
    CHECK(chat::valid_utf8(""));
    CHECK(chat::valid_utf8("plain ascii"));
    CHECK(chat::valid_utf8("\xCE\xB3 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // 2, 3 and 4 bytes
    for (const char* bad : {"\x80", "\xC0", "\xCE", "\xE2\x82", "\xF0\x9F\x98", "\xF8\x88\x80\x80\x80", "\xCE\x41"})
        CHECK_FALSE(chat::valid_utf8(bad));
    // Ill-formed though complete: overlong forms, surrogates, past U+10FFFF (a strict JSON dump throws on them).
    for (const char* bad : {"\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xE0\x9F\xBF", "\xED\xA0\x80", "\xED\xBF\xBF",
                            "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xF7\xBF\xBF\xBF"})
        CHECK_FALSE(chat::valid_utf8(bad));
    for (const char* good : {"\xC2\x80", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF"})
        CHECK(chat::valid_utf8(good));
}

// ---- chat.message -------------------------------------------------------------------------------

TEST_CASE("chat.message: the event the outbox publishes is the one the client reads", "[wire]") {
    const Message m = stored_message();
    const json event = chat::chat_message_event(m);
    CHECK(event.at("type") == "chat.message");
    CHECK(event.at("eventId") == m.messageId);  // a retried publish is a duplicate the client drops
    CHECK(event.at("message") == chat::to_json(m));
    CHECK(event.size() == 3);
    // Through text, as it travels.
    const auto back = chat::chat_message_from_event(json::parse(event.dump()));
    REQUIRE(back);
    CHECK(back->messageId == m.messageId);
    CHECK(back->clientMessageId == m.clientMessageId);
    CHECK(back->conversationId == m.conversationId);
    CHECK(back->seq == m.seq);
    CHECK(back->senderId == m.senderId);
    CHECK(back->text == m.text);
    CHECK(back->createdAtMs == m.createdAtMs);
    REQUIRE(back->attachment);
    CHECK(back->attachment->url == m.attachment->url);
    CHECK(back->attachment->size == 42);
}

TEST_CASE("chat.message: other events and malformed messages are refused", "[wire][security]") {
    const json good = chat::chat_message_event(stored_message());
    CHECK(chat::chat_message_from_event(good));
    for (const json& type : {json(nullptr), json("typing"), json("conversation.activity"), json("Chat.Message"), json(1),
                             json::array({"chat.message"})}) {
        json e = good;
        e["type"] = type;
        CHECK_FALSE(chat::chat_message_from_event(e));
    }
    for (const char* drop : {"type", "message"}) {
        json e = good;
        e.erase(std::string(drop));
        CHECK_FALSE(chat::chat_message_from_event(e));
    }
    for (const json& e : {json(nullptr), json("chat.message"), json::array({good})}) CHECK_FALSE(chat::chat_message_from_event(e));
    // The message itself must be a stored one: ids, a sequence above 0, strings where strings go.
    for (const auto& [key, value] : std::vector<std::pair<std::string, json>>{
             {"seq", 0}, {"seq", -3}, {"seq", "7"}, {"messageId", nullptr}, {"conversationId", 5}, {"text", json::array()},
             {"senderId", json::object()}}) {
        json e = good;
        e["message"][key] = value;
        CHECK_FALSE(chat::chat_message_from_event(e));
    }
    json not_object = good;
    not_object["message"] = "msg_1";
    CHECK_FALSE(chat::chat_message_from_event(not_object));
}

TEST_CASE("chat.message: a malformed attachment is dropped, the message kept", "[wire][security]") {
    for (const json& att : {json("https://x"), json{{"url", 1}}, json{{"url", "u"}, {"name", 3}}, json{{"url", "u"}, {"size", -1}},
                            json{{"url", "u"}, {"contentType", std::string(300, 't')}}, json{{"url", ""}}}) {
        json e = chat::chat_message_event(stored_message());
        e["message"]["attachment"] = att;
        const auto m = chat::chat_message_from_event(e);
        REQUIRE(m);
        CHECK_FALSE(m->attachment);
        CHECK(m->text == stored_message().text);
    }
    json e = chat::chat_message_event(stored_message());
    e["message"]["attachment"] = nullptr;
    REQUIRE(chat::chat_message_from_event(e));
    CHECK_FALSE(chat::chat_message_from_event(e)->attachment);
}

TEST_CASE("chat.read: round trip, and other events, empty ids and wrong types are refused", "[wire][security][reads]") {
    const json ev = chat::chat_read_event({"c1", "bob", 7}, "read:abc");
    CHECK(ev == json{{"type", "chat.read"}, {"eventId", "read:abc"}, {"conversationId", "c1"}, {"userId", "bob"}, {"lastReadSeq", 7}});
    const auto r = chat::chat_read_from_event(ev);
    REQUIRE(r);
    CHECK(r->conversationId == "c1");
    CHECK(r->userId == "bob");
    CHECK(r->lastReadSeq == 7);
    for (const char* bad : {R"({"type":"chat.message","conversationId":"c1","userId":"bob","lastReadSeq":7})",
                            R"({"type":"chat.read","conversationId":"","userId":"bob","lastReadSeq":7})",
                            R"({"type":"chat.read","conversationId":"c1","userId":"","lastReadSeq":7})",
                            R"({"type":"chat.read","conversationId":"c1","userId":"bob","lastReadSeq":-1})",
                            R"({"type":"chat.read","conversationId":"c1","userId":"bob","lastReadSeq":"7"})",
                            R"({"type":"chat.read","conversationId":1,"userId":"bob","lastReadSeq":7})",
                            R"({"type":"chat.read","conversationId":"c1","userId":"bob"})", R"([1])", R"("chat.read")"})
        CHECK_FALSE(chat::chat_read_from_event(json::parse(bad)));
}

TEST_CASE("chat.presence: round trip, answer entries, and other events, empty ids and wrong types are refused", "[wire][security][presence]") {
    const json ev = chat::chat_presence_event({"c1", "bob", true, 4}, "presence:abc");
    CHECK(ev == json{{"type", "chat.presence"}, {"eventId", "presence:abc"}, {"conversationId", "c1"}, {"userId", "bob"},
                     {"online", true}, {"version", 4}});
    const auto p = chat::chat_presence_from_event(ev);
    REQUIRE(p);
    CHECK(p->conversationId == "c1");
    CHECK(p->userId == "bob");
    CHECK(p->online);
    CHECK(p->version == 4);
    for (const char* bad : {R"({"type":"chat.read","conversationId":"c1","userId":"bob","online":true,"version":1})",
                            R"({"type":"chat.presence","conversationId":"","userId":"bob","online":true,"version":1})",
                            R"({"type":"chat.presence","conversationId":"c1","userId":"","online":true,"version":1})",
                            R"({"type":"chat.presence","conversationId":"c1","userId":"bob","online":1,"version":1})",
                            R"({"type":"chat.presence","conversationId":"c1","userId":"bob","online":true,"version":-1})",
                            R"({"type":"chat.presence","conversationId":"c1","userId":"bob","online":true,"version":"1"})",
                            R"({"type":"chat.presence","conversationId":"c1","userId":"bob","online":true})",
                            R"({"type":"chat.presence","conversationId":1,"userId":"bob","online":true,"version":1})", R"([1])"})
        CHECK_FALSE(chat::chat_presence_from_event(json::parse(bad)));
    CHECK(chat::presence_from_json("bob", json{{"online", false}, {"version", 2}})->version == 2);
    CHECK_FALSE(chat::presence_from_json("", json{{"online", false}, {"version", 2}}));
    CHECK_FALSE(chat::presence_from_json("bob", json{{"online", "no"}, {"version", 2}}));
    CHECK_FALSE(chat::presence_from_json("bob", json::array()));
}

TEST_CASE("replyTo: round trip, and a malformed link is dropped, the message kept", "[wire][security][replies]") {
    json m = json::parse(R"({"messageId":"m2","conversationId":"c","seq":2,"senderId":"a","text":"x",
                             "replyTo":{"messageId":"m1","seq":1}})");
    auto parsed = chat::message_from_json(m);
    REQUIRE(parsed);
    CHECK(parsed->replyToId == "m1");
    CHECK(parsed->replyToSeq == 1);
    CHECK(chat::to_json(*parsed)["replyTo"] == m["replyTo"]);
    const std::string long_id(129, 'x');
    for (const std::string& bad : {std::string(R"("m1")"), std::string(R"({"messageId":"m1"})"), std::string(R"({"messageId":1,"seq":1})"),
                                  std::string(R"({"messageId":"","seq":1})"), R"({"messageId":")" + long_id + R"(","seq":1})",
                                  std::string(R"({"messageId":"m1","seq":-1})"), std::string(R"({"messageId":"m1","seq":"1"})")}) {
        m["replyTo"] = json::parse(bad);
        parsed = chat::message_from_json(m);
        REQUIRE(parsed);
        CHECK(parsed->replyToId.empty());
        CHECK_FALSE(chat::to_json(*parsed).contains("replyTo"));
    }
}
