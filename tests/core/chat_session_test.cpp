// The chat panel controller against a fake HTTP backend, fake socket and fake clock.
#include "core/chat_session.hpp"
#include "core/chat_wire.hpp"
#include "core/notification_center.hpp"
#include "platform/fake/fake_platform.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace wps;
using nlohmann::json;

namespace {

json msg(uint64_t seq, const std::string& sender = "bob", const std::string& cmid = "") {
    return json{{"messageId", "m" + std::to_string(seq)}, {"conversationId", "demo"}, {"seq", seq},
                {"senderId", sender}, {"text", "t" + std::to_string(seq)}, {"clientMessageId", cmid}, {"createdAt", 1}};
}

struct Rig {
    fake::FakeScheduler sched;
    fake::FakeSockets socks;
    fake::FakeHttp http;
    wps::Realtime realtime;
    chat::ChatSession session;
    Rig() : realtime(http, socks.factory(), sched, [] { return 0.5; }, "", "chat", opts()),
            session(http, realtime, sched, [] { return 0.5; }, chat::SessionOptions{"", "alice", "chat", 50}) {}
    static ClientOptions opts() {
        ClientOptions o;
        o.keep_alive_interval_ms = 0;
        return o;
    }
    // Signs in with this conversation list and first page (as the server answers them), then
    // connects; the subscription is still to be answered (join_ack).
    void boot_with(const json& conversations, const json& first_page) {
        session.start();
        REQUIRE(http.answer("/auth/dev-login", 200, R"({"token":"T","displayName":"Alice"})"));
        REQUIRE(http.answer("/config", 200, R"({"maxMessageBytes":100})"));
        REQUIRE(http.answer("/chat/conversations", 200, json{{"conversations", conversations}}.dump()));
        REQUIRE(http.answer("/conversation/detail", 200, first_page.dump()));
        REQUIRE(http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})"));
        socks.open();
        socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1","reconnectionToken":"r"})");
    }
    void boot(const json& history) {
        session.start();
        REQUIRE(http.answer("/auth/dev-login", 200, R"({"token":"T","displayName":"Alice"})"));
        REQUIRE(http.answer("/config", 200, R"({"maxMessageBytes":10,"maxAttachmentBytes":64})"));
        REQUIRE(http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})"));
        REQUIRE(http.answer("/conversation/detail", 200, json{{"messages", history}, {"hasMore", false}}.dump()));
        REQUIRE(session.phase() == chat::Phase::Ready);
        REQUIRE(http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})"));
        socks.open();
        socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1","reconnectionToken":"r"})");
    }
    // The backend subscribes this connection to the open conversation (the client joins nothing itself).
    void join_ack(const std::string& conv = "demo", const std::string& previous = "", const std::string& conn = "c1") {
        REQUIRE(http.has("/chat/subscribe"));
        json body;
        for (const auto& p : http.pending)
            if (p.request.url == "/chat/subscribe") body = json::parse(p.request.body);
        CHECK(body["connectionId"] == conn);
        CHECK(body["conversationId"] == conv);
        CHECK(body["previousConversationId"] == (previous.empty() ? json() : json(previous)));
        for (const auto& text : socks.last().sent) {
            const json f = json::parse(text);
            CHECK_FALSE((f["type"] == "joinGroup" && f["group"].get<std::string>().rfind("conversation:", 0) == 0));
        }
        REQUIRE(http.answer("/chat/subscribe", 200, json{{"conversationId", conv}}.dump()));
    }
    void live(const json& m, uint64_t seqId) {
        socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                           {"data", {{"type", "chat.message"}, {"message", m}}}, {"sequenceId", seqId}}.dump());
    }
    std::vector<uint64_t> seqs() {
        std::vector<uint64_t> out;
        for (auto* m : session.conversation().ordered()) out.push_back(m->seq);
        return out;
    }
};

} // namespace

TEST_CASE("open: history first, then join, then catch up from the last contiguous sequence", "[session]") {
    Rig r;
    r.boot(json::array({msg(1), msg(2)}));
    CHECK(r.session.max_message_bytes() == 10);
    r.join_ack();
    REQUIRE(r.http.has("afterSeq=2"));
    REQUIRE(r.http.answer("afterSeq=2", 200, json{{"messages", json::array({msg(3)})}, {"hasMore", false}}.dump()));
    CHECK(r.seqs() == std::vector<uint64_t>{1, 2, 3});
}

TEST_CASE("live messages are deduplicated, a gap triggers an incremental fetch", "[session]") {
    Rig r;
    r.boot(json::array({msg(1)}));
    r.join_ack();
    r.http.answer("afterSeq=1", 200, R"({"messages":[],"hasMore":false})");
    r.live(msg(2), 1);
    r.live(msg(2), 2);  // same message again (e.g. an outbox retry)
    CHECK(r.seqs() == std::vector<uint64_t>{1, 2});
    r.live(msg(5), 3);  // 3 and 4 missing
    REQUIRE(r.http.has("afterSeq=2"));
    r.http.answer("afterSeq=2", 200, json{{"messages", json::array({msg(3), msg(4), msg(5)})}, {"hasMore", false}}.dump());
    CHECK(r.seqs() == std::vector<uint64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("an expired session is renewed once for all waiting requests, which go again with the new token", "[session][auth]") {
    Rig r;
    r.boot(json::array());
    r.join_ack();
    int renewed = 0;
    r.session.on_token_renewed = [&] { ++renewed; };
    const auto bearer = [&](const std::string& url_part) {
        for (const auto& p : r.http.pending)
            if (p.request.url.find(url_part) != std::string::npos) {
                auto h = p.request.headers.find("Authorization");
                return h == p.request.headers.end() ? std::string("none") : h->second;
            }
        return std::string("absent");
    };
    const auto count = [&](const std::string& url_part) {
        return std::count_if(r.http.pending.begin(), r.http.pending.end(),
                             [&](const auto& p) { return p.request.url.find(url_part) != std::string::npos; });
    };
    std::string why;
    REQUIRE(r.session.send("hi", why));  // the text fits the rig's 10-byte limit
    const std::string cmid = json::parse(r.http.pending.back().request.body)["clientMessageId"];
    r.session.load_contacts();
    CHECK(bearer("/chat/reply") == "Bearer T");
    // The token expired: both are answered 401; one sign-in for the two.
    REQUIRE(r.http.answer("/chat/reply", 401, R"({"error":{"message":"The token has expired."}})"));
    REQUIRE(r.http.answer("/chat/contacts", 401, R"({"error":{"message":"The token has expired."}})"));
    CHECK(count("/auth/dev-login") == 1);
    CHECK(bearer("/auth/dev-login") == "Bearer T");  // sent as it was, never renewed itself
    CHECK_FALSE(r.http.has("/chat/reply"));
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T2","displayName":"Alice"})"));
    CHECK(r.session.token() == "T2");
    CHECK(renewed == 1);
    // Both went again, with the new token; the message is sent once, under its clientMessageId.
    CHECK(bearer("/chat/reply") == "Bearer T2");
    for (const auto& p : r.http.pending)
        if (p.request.url.find("/chat/reply") != std::string::npos) CHECK(json::parse(p.request.body)["clientMessageId"] == cmid);
    CHECK(bearer("/chat/contacts") == "Bearer T2");
    REQUIRE(r.http.answer("/chat/reply", 201, json{{"message", msg(1, "alice", cmid)}}.dump()));
    CHECK(r.session.conversation().ordered()[0]->state == chat::SendState::Sent);
    REQUIRE(r.http.answer("/chat/contacts", 200, R"({"users":[]})"));
    CHECK(r.session.contacts_error().empty());
    CHECK(r.session.phase() == chat::Phase::Ready);
    // A 401 again right after a renewal is not renewed in a loop: the caller gets it.
    r.session.load_contacts();
    REQUIRE(r.http.answer("/chat/contacts", 401, R"({"error":{"message":"expired"}})"));
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T3"})"));
    REQUIRE(r.http.answer("/chat/contacts", 401, R"({"error":{"message":"revoked"}})"));
    CHECK(count("/auth/dev-login") == 0);
    CHECK(r.session.contacts_error() == "Could not load people: revoked");
    // The backend refuses to sign in again: the session ends with a clear error and Try again,
    // which signs in from the start.
    r.session.load_contacts();
    REQUIRE(r.http.answer("/chat/contacts", 401, R"({"error":{"message":"expired"}})"));
    REQUIRE(r.http.answer("/auth/dev-login", 404, R"({"error":{"message":"Dev login is disabled on this server."}})"));
    CHECK(r.session.phase() == chat::Phase::Failed);
    CHECK(r.session.error() == "Your session has expired: Dev login is disabled on this server.");
    // No client keeps the dead token: the access-URL client asks for nothing more.
    CHECK(r.session.token().empty());
    r.session.retry_start();
    CHECK(count("/auth/dev-login") == 1);
    CHECK(bearer("/auth/dev-login") == "none");
    // Try again signs in from the start and the panel is usable again: Ready, and a send goes.
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T4","displayName":"Alice"})"));
    REQUIRE(r.http.answer("/config", 200, "{}"));
    // (The refresh the subscription asked for earlier is still out: both are answered.)
    while (r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo","lastSeq":1}]})")) {
    }
    CHECK(r.session.phase() == chat::Phase::Ready);
    CHECK(r.session.error().empty());
    REQUIRE(r.session.send("again", why));
    CHECK(bearer("/chat/reply") == "Bearer T4");
}

TEST_CASE("a 401 that arrives after the token was renewed goes again at once, without another sign-in", "[session][auth]") {
    Rig r;
    r.boot(json::array());
    r.join_ack();
    r.session.load_contacts();
    std::string why;
    REQUIRE(r.session.send("hi", why));
    REQUIRE(r.http.answer("/chat/contacts", 401, R"({"error":{"message":"expired"}})"));
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T2"})"));
    // The send was answered only now, for its old token: sent again with T2, no second sign-in.
    REQUIRE(r.http.answer("/chat/reply", 401, R"({"error":{"message":"expired"}})"));
    CHECK_FALSE(r.http.has("/auth/dev-login"));
    REQUIRE(r.http.has("/chat/reply"));
    for (const auto& p : r.http.pending)
        if (p.request.url.find("/chat/reply") != std::string::npos) CHECK(p.request.headers.at("Authorization") == "Bearer T2");
}

TEST_CASE("a busy server during renewal keeps the session: the next request tries again", "[session][auth]") {
    Rig r;
    r.boot(json::array());
    r.join_ack();
    r.session.load_contacts();
    REQUIRE(r.http.answer("/chat/contacts", 401, R"({"error":{"message":"expired"}})"));
    REQUIRE(r.http.answer("/auth/dev-login", 429, R"({"error":{"message":"Too many sign-ins."}})"));
    CHECK(r.session.phase() == chat::Phase::Ready);
    CHECK(r.session.token() == "T");
    CHECK(r.session.contacts_error() == "Could not load people: expired");
    r.session.load_contacts();
    REQUIRE(r.http.answer("/chat/contacts", 401, R"({"error":{"message":"expired"}})"));
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T2"})"));
    REQUIRE(r.http.answer("/chat/contacts", 200, R"({"users":[]})"));
    CHECK(r.session.contacts_error().empty());
}

TEST_CASE("the access URL request renews an expired session too, and the socket connects", "[session][auth]") {
    Rig r;
    r.boot(json::array());
    r.join_ack();
    // The panel closed and opened again: a fresh access URL, whose request finds the token expired.
    r.session.close_panel();
    r.session.open_panel();
    REQUIRE(r.http.answer("/realtime/clientAccessUrl", 401, R"({"error":{"message":"expired"}})"));
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T2"})"));
    REQUIRE(r.http.has("/realtime/clientAccessUrl"));
    CHECK(r.http.pending.back().request.headers.at("Authorization") == "Bearer T2");
    REQUIRE(r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=b"})"));
    CHECK(r.socks.last().url.find("access_token=b") != std::string::npos);
}

TEST_CASE("optimistic send: pending, stored once, failed with Retry reusing the clientMessageId", "[session]") {
    Rig r;
    r.boot(json::array());
    std::string why;
    CHECK_FALSE(r.session.send("   ", why));
    CHECK(why == "The message is empty.");
    CHECK_FALSE(r.session.send("this is far too long", why));
    REQUIRE(r.session.send("hi", why));
    REQUIRE(r.http.has("/chat/reply"));
    const std::string cmid = json::parse(r.http.pending.back().request.body)["clientMessageId"];
    CHECK(r.session.conversation().ordered().back()->state == chat::SendState::Pending);
    // The network keeps failing: retried with backoff, then failed after the retry window.
    int tries = 0;
    while (r.http.answer("/chat/reply", 0, "")) {
        ++tries;
        r.sched.advance(10000);
    }
    CHECK(tries >= 3);
    REQUIRE(r.session.conversation().find_local(cmid));
    CHECK(r.session.conversation().find_local(cmid)->state == chat::SendState::Failed);
    CHECK(r.session.failed_count() == 1);
    r.session.retry(cmid);
    REQUIRE(r.http.has("/chat/reply"));
    CHECK(json::parse(r.http.pending.back().request.body)["clientMessageId"] == cmid);
    r.live(msg(1, "alice", cmid), 1);  // the live copy wins the race
    r.http.answer("/chat/reply", 201, json{{"message", msg(1, "alice", cmid)}}.dump());
    CHECK(r.session.conversation().size() == 1);
    CHECK(r.session.conversation().ordered()[0]->state == chat::SendState::Sent);
}

TEST_CASE("sends keep their order: one request at a time per conversation", "[session]") {
    Rig r;
    r.boot(json::array());
    std::string why;
    REQUIRE(r.session.send("first", why));
    REQUIRE(r.session.send("second", why));
    int replies = 0;
    for (auto& p : r.http.pending) replies += p.request.url == "/chat/reply";
    CHECK(replies == 1);  // "second" waits for "first"
    const std::string c1 = json::parse(r.http.pending.back().request.body)["clientMessageId"];
    CHECK(json::parse(r.http.pending.back().request.body)["message"] == "first");
    r.http.answer("/chat/reply", 503, R"({"error":{"message":"busy"}})");  // transient: retried, still first
    r.sched.advance(2000);
    CHECK(json::parse(r.http.pending.back().request.body)["message"] == "first");
    r.http.answer("/chat/reply", 201, json{{"message", msg(1, "alice", c1)}}.dump());
    REQUIRE(r.http.has("/chat/reply"));
    CHECK(json::parse(r.http.pending.back().request.body)["message"] == "second");
}

TEST_CASE("a refused send (4xx) fails at once with the server's reason, Retry all resends in order", "[session]") {
    Rig r;
    r.boot(json::array());
    std::string why;
    REQUIRE(r.session.send("a", why));
    REQUIRE(r.session.send("b", why));
    r.http.answer("/chat/reply", 403, R"({"error":{"message":"You are not a member of this conversation."}})");
    r.http.answer("/chat/reply", 403, R"({"error":{"message":"You are not a member of this conversation."}})");
    CHECK(r.session.failed_count() == 2);
    CHECK(r.session.conversation().ordered()[0]->error == "You are not a member of this conversation.");
    r.session.retry_all();
    REQUIRE(r.http.has("/chat/reply"));
    CHECK(json::parse(r.http.pending.back().request.body)["message"] == "a");
    CHECK(r.session.failed_count() == 0);
}

TEST_CASE("Retry of a failed attachment send sends the attachment again (and shows it while pending)", "[session]") {
    Rig r;
    r.boot(json::array());
    std::string why;
    chat::Attachment a{"/blobs/blob_ab?exp=1&sig=s", "flag.png", "image/png", 77};
    REQUIRE(r.session.send("", why, a));
    const chat::Message* pending = r.session.conversation().ordered().back();
    REQUIRE(pending->attachment);
    CHECK(pending->attachment->name == "flag.png");
    const std::string cmid = json::parse(r.http.pending.back().request.body)["clientMessageId"];
    r.http.answer("/chat/reply", 403, R"({"error":{"message":"no"}})");
    REQUIRE(r.session.failed_count() == 1);
    r.session.retry(cmid);
    REQUIRE(r.http.has("/chat/reply"));
    const json body = json::parse(r.http.pending.back().request.body);
    CHECK(body["clientMessageId"] == cmid);
    CHECK(body["message"] == "");
    REQUIRE(body.contains("attachment"));
    CHECK(body["attachment"]["url"] == a.url);
    CHECK(body["attachment"]["name"] == "flag.png");
    CHECK(body["attachment"]["contentType"] == "image/png");
    CHECK(body["attachment"]["size"] == 77);
}

TEST_CASE("typing indicators: throttled fire-and-forget out, TTL and cleared by a message in", "[session]") {
    Rig r;
    r.boot(json::array());
    r.join_ack();
    const auto before = r.socks.last().sent.size();
    r.session.typing();
    r.session.typing();
    REQUIRE(r.socks.last().sent.size() == before + 1);
    auto t = json::parse(r.socks.last().sent.back());
    CHECK(t["type"] == "sendToGroup");
    CHECK_FALSE(t.contains("ackId"));
    CHECK(t["data"]["type"] == "typing");
    CHECK(t["group"] == "conversation:demo:typing");
    // A typing signal in the message group itself is not one: only the typing group carries them.
    r.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"fromUserId", "bob"},
                         {"dataType", "json"}, {"data", {{"type", "typing"}, {"userId", "bob"}}}, {"sequenceId", 1}}.dump());
    CHECK(r.session.typing_users(r.sched.now_ms()).empty());
    r.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo:typing"}, {"fromUserId", "bob"},
                         {"dataType", "json"}, {"data", {{"type", "typing"}, {"userId", "bob"}}}, {"sequenceId", 2}}.dump());
    CHECK(r.session.typing_users(r.sched.now_ms()) == std::vector<std::string>{"bob"});
    CHECK(r.session.typing_users(r.sched.now_ms() + 7000).empty());
    r.live(msg(1, "bob"), 3);
    CHECK(r.session.typing_users(r.sched.now_ms()).empty());
}

TEST_CASE("a chat.message some client sent is never taken for a stored message", "[session][security]") {
    Rig r;
    r.boot(json::array({msg(1)}));
    r.join_ack();
    // What a member with a send role could publish: carol's name, a huge seq, any text.
    json forged = msg(999999, "carol");
    forged["text"] = "send me your password";
    for (const char* group : {"conversation:demo", "conversation:demo:typing"})
        r.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", group}, {"fromUserId", "mallory"},
                             {"dataType", "json"}, {"data", {{"type", "chat.message"}, {"message", forged}}}}.dump());
    CHECK(r.seqs() == std::vector<uint64_t>{1});
    CHECK(r.session.conversations()[0].unread == 0);
    // Wrong-typed fields from a peer are ignored, never thrown on.
    r.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo:typing"}, {"fromUserId", "m"},
                         {"dataType", "json"}, {"data", {{"type", 5}}}}.dump());
    r.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"},
                         {"dataType", "json"}, {"data", {{"type", json::array()}, {"message", 7}}}}.dump());
    // The backend's own publication (no fromUserId) is taken.
    r.live(msg(2), 1);
    CHECK(r.seqs() == std::vector<uint64_t>{1, 2});
}

json activity(const std::string& conv, uint64_t seq, const std::string& sender = "bob") {
    return json{{"type", "message"}, {"from", "server"}, {"dataType", "json"},
                {"data", {{"type", "conversation.activity"}, {"conversationId", conv}, {"messageId", conv + "-m" + std::to_string(seq)},
                          {"seq", seq}, {"senderId", sender}, {"createdAt", 100 + seq}, {"preview", "t" + std::to_string(seq)}}}};
}

TEST_CASE("a conversation the user was just put in is listed at once, and a burst of them costs two list requests", "[session]") {
    Rig r;
    r.boot(json::array());
    r.join_ack();
    const auto lists = [&] {
        return std::count_if(r.http.pending.begin(), r.http.pending.end(),
                             [](const auto& p) { return p.request.url.find("/chat/conversations") != std::string::npos; });
    };
    while (r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})")) {
    }
    const auto created = [](const std::string& id) {
        return json{{"type", "message"}, {"from", "server"}, {"dataType", "json"},
                    {"data", chat::conversation_created_event(id, "carol")}}.dump();
    };
    // One already listed: nothing to do.
    r.socks.receive(created("demo"));
    CHECK(lists() == 0);
    // Malformed ones are ignored, never thrown on.
    r.socks.receive(R"({"type":"message","from":"server","dataType":"json","data":{"type":"conversation.created","conversationId":7}})");
    r.socks.receive(R"({"type":"message","from":"server","dataType":"json","data":{"type":"conversation.created","conversationId":""}})");
    CHECK(lists() == 0);
    // A new one: the list is loaded again, and shows it.
    r.socks.receive(created("c_new1"));
    REQUIRE(lists() == 1);
    // Twenty more while that request is on its way: one more request after it answers, not twenty.
    for (int i = 2; i <= 21; ++i) r.socks.receive(created("c_new" + std::to_string(i)));
    CHECK(lists() == 1);
    REQUIRE(r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"c_new1","title":"New 1"},{"conversationId":"demo","title":"Demo"}]})"));
    CHECK(r.session.conversations().size() == 2);
    CHECK(lists() == 1);  // the one more
    json all = json::array({json{{"conversationId", "demo"}, {"title", "Demo"}}});
    for (int i = 1; i <= 21; ++i) all.push_back(json{{"conversationId", "c_new" + std::to_string(i)}, {"title", "New"}});
    REQUIRE(r.http.answer("/chat/conversations", 200, json{{"conversations", all}}.dump()));
    CHECK(r.session.conversations().size() == 22);
    CHECK(lists() == 0);
    CHECK(r.session.current_id() == "demo");  // the open conversation stays open
}

TEST_CASE("activity in other conversations raises their badge once per message, opening one marks it read", "[session]") {
    Rig r;
    r.session.start();
    r.http.answer("/auth/dev-login", 200, R"({"token":"T"})");
    r.http.answer("/config", 200, "{}");
    r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"},{"conversationId":"c2","title":"Other","unread":1,"lastSeq":4,"lastReadSeq":3}]})");
    r.http.answer("/conversation/detail", 200, R"({"messages":[],"hasMore":false})");
    // The access URL asks for no conversation group: subscriptions are made by the backend.
    CHECK(json::parse(r.http.pending.back().request.body)["groups"] == json::array());
    r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})");
    r.socks.open();
    r.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1","reconnectionToken":"r"})");
    r.join_ack();
    r.socks.receive(activity("c2", 5).dump());
    r.socks.receive(activity("c2", 5).dump());  // an outbox retry: counted once
    r.socks.receive(activity("c2", 3).dump());  // older than what the list has: nothing
    CHECK(r.session.conversations()[0].id == "c2");  // sorted by latest activity
    CHECK(r.session.conversations()[0].unread == 2);
    CHECK(r.session.conversations()[0].preview == "t5");
    // The open conversation's own activity raises no badge; an unknown conversation reloads the list.
    r.socks.receive(activity("demo", 9).dump());
    CHECK(r.session.conversations()[0].id == "demo");
    CHECK(r.session.conversations()[0].unread == 0);
    while (r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo","lastSeq":1},{"conversationId":"c2","title":"Other","unread":2,"lastSeq":5}]})")) {
    }
    r.socks.receive(activity("new-one", 1).dump());
    REQUIRE(r.http.has("/chat/conversations"));
    r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"new-one","title":"New","unread":1,"lastSeq":1},{"conversationId":"demo","title":"Demo","lastSeq":1},{"conversationId":"c2","title":"Other","unread":2,"lastSeq":5}]})");
    CHECK(r.session.conversations().size() == 3);
    json m = msg(5, "bob");
    m["conversationId"] = "c2";
    r.session.open_conversation("c2");
    REQUIRE(r.http.answer("conversationId=c2", 200, json{{"messages", json::array({m})}, {"hasMore", true}}.dump()));
    CHECK(r.session.title() == "Other");
    r.sched.advance(500);
    REQUIRE(r.http.has("/chat/read"));
    CHECK(json::parse(r.http.pending.back().request.body) == json{{"conversationId", "c2"}, {"seq", 5}});
    for (const auto& c : r.session.conversations()) CHECK(c.unread == (c.id == "new-one" ? 1u : 0u));
}

TEST_CASE("closing the panel stops the socket and never reconnects, opening asks for a fresh URL", "[session]") {
    Rig r;
    r.boot(json::array());
    r.join_ack();
    r.session.close_panel();
    CHECK(r.session.connection().state == ClientState::Stopped);
    r.sched.advance(600000);
    CHECK_FALSE(r.http.has("/realtime/clientAccessUrl"));
    r.session.open_panel();
    CHECK(r.http.has("/realtime/clientAccessUrl"));
}

TEST_CASE("a backend that cannot be reached shows a clear error", "[session]") {
    Rig r;
    r.session.start();
    r.http.answer("/auth/dev-login", 0, "");
    CHECK(r.session.phase() == chat::Phase::Failed);
    CHECK(r.session.error() == "Sign-in failed: network error");
}

TEST_CASE("a send waits while the browser is offline and goes out when it is back", "[session]") {
    Rig r;
    r.boot(json::array());
    r.join_ack();
    r.session.client()->notify_offline();
    std::string why;
    REQUIRE(r.session.send("offline", why));
    for (int i = 0; i < 30; ++i) {
        r.http.answer("/chat/reply", 0, "");
        r.sched.advance(5000);
    }
    CHECK(r.session.failed_count() == 0);  // two and a half minutes offline: still waiting, not failed
    r.session.client()->notify_online();
    REQUIRE(r.http.has("/chat/reply"));
    const std::string cmid = json::parse(r.http.pending.back().request.body)["clientMessageId"];
    r.http.answer("/chat/reply", 201, json{{"message", msg(1, "alice", cmid)}}.dump());
    CHECK(r.session.conversation().ordered().back()->state == chat::SendState::Sent);
}

// ---- subscriptions: any number of conversations, one socket per tab ----

namespace {

// Signs in as alice with `n` conversations; "demo" is the least recently active (last in the list).
void start_with(Rig& r, int n) {
    r.session.start();
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T"})"));
    REQUIRE(r.http.answer("/config", 200, "{}"));
    json convs = json::array();
    for (int i = n - 1; i >= 1; --i)
        convs.push_back({{"conversationId", "c" + std::to_string(i)}, {"title", "C" + std::to_string(i)}, {"lastSeq", 0}});
    convs.push_back({{"conversationId", "demo"}, {"title", "Demo"}, {"lastSeq", 0}});
    REQUIRE(r.http.answer("/chat/conversations", 200, json{{"conversations", convs}}.dump()));
    REQUIRE(r.http.answer("conversationId=demo", 200, R"({"messages":[],"hasMore":false})"));
    REQUIRE(r.http.has("/realtime/clientAccessUrl"));
    CHECK(json::parse(r.http.pending.back().request.body)["groups"] == json::array());
    REQUIRE(r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})"));
    r.socks.open();
    r.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1","reconnectionToken":"r"})");
}

std::size_t pending(const Rig& r, const std::string& url_part) {
    std::size_t n = 0;
    for (const auto& p : r.http.pending) n += p.request.url.find(url_part) != std::string::npos;
    return n;
}

json subscribe_body(const Rig& r) {
    for (const auto& p : r.http.pending)
        if (p.request.url == "/chat/subscribe") return json::parse(p.request.body);
    return json();
}

json live_in(const std::string& conv, uint64_t seq) {
    json m = msg(seq);
    m["conversationId"] = conv;
    m["messageId"] = conv + "-m" + std::to_string(seq);
    return json{{"type", "message"}, {"from", "group"}, {"group", "conversation:" + conv}, {"dataType", "json"},
                {"data", {{"type", "chat.message"}, {"message", m}}}};
}

} // namespace

TEST_CASE("500 conversations: the least recently active one is open, subscribed first, and live", "[session][subscribe]") {
    Rig r;
    start_with(r, 500);
    CHECK_FALSE(r.session.in_sync());  // not Live before the subscription
    r.join_ack("demo");
    CHECK(r.session.subscribed());
    REQUIRE(r.http.answer("afterSeq=0", 200, R"({"messages":[],"hasMore":false})"));
    CHECK(r.session.in_sync());
    r.socks.receive(live_in("demo", 1).dump());
    CHECK(r.seqs() == std::vector<uint64_t>{1});
    // Others' activity arrives on the user channel: their badges rise, live.
    r.socks.receive(activity("c250", 1).dump());
    r.socks.receive(activity("c499", 1).dump());
    for (const auto& c : r.session.conversations())
        CHECK(c.unread == (c.id == "c250" || c.id == "c499" ? 1u : 0u));
}

TEST_CASE("switching quickly across 50 conversations: one subscribe at a time, the last choice wins, then caught up", "[session][subscribe]") {
    Rig r;
    start_with(r, 60);
    r.join_ack("demo");
    r.http.answer("afterSeq=0", 200, R"({"messages":[],"hasMore":false})");
    for (int i = 1; i <= 50; ++i) r.session.open_conversation("c" + std::to_string(i));
    CHECK(pending(r, "/chat/subscribe") == 1);  // never two in flight: they could be applied out of order
    CHECK(subscribe_body(r)["conversationId"] == "c1");
    REQUIRE(r.http.answer("/chat/subscribe", 200, "{}"));
    CHECK(pending(r, "/chat/subscribe") == 1);
    CHECK(subscribe_body(r)["conversationId"] == "c50");
    CHECK(subscribe_body(r)["previousConversationId"] == "c1");
    CHECK_FALSE(r.session.in_sync());
    REQUIRE(r.http.answer("/chat/subscribe", 200, "{}"));
    CHECK(r.session.subscribed());
    // c50's first page was requested before the subscription took effect: once both are done, a
    // catch-up from its last sequence fetches whatever was stored in between.
    REQUIRE(r.http.answer("conversationId=c50&limit", 200, R"({"messages":[],"hasMore":false})"));
    CHECK_FALSE(r.session.in_sync());
    REQUIRE(r.http.has("conversationId=c50&afterSeq=0"));
    json m = live_in("c50", 1)["data"]["message"];
    REQUIRE(r.http.answer("conversationId=c50&afterSeq=0", 200, json{{"messages", {m}}, {"hasMore", false}}.dump()));
    CHECK(r.session.in_sync());
    CHECK(r.seqs() == std::vector<uint64_t>{1});
    r.socks.receive(live_in("c50", 1).dump());  // the live copy of the same message: still once
    r.socks.receive(live_in("c50", 2).dump());
    CHECK(r.seqs() == std::vector<uint64_t>{1, 2});
}

TEST_CASE("a refused subscription is said, never Live, a transient failure is retried", "[session][subscribe]") {
    Rig r;
    start_with(r, 3);
    REQUIRE(r.http.answer("/chat/subscribe", 503, R"({"error":{"message":"busy"}})"));
    CHECK_FALSE(r.session.in_sync());
    CHECK(r.session.subscribe_error().find("busy") != std::string::npos);
    CHECK_FALSE(r.http.has("/chat/subscribe"));
    r.sched.advance(20000);  // backoff with jitter, then again
    REQUIRE(r.http.answer("/chat/subscribe", 403, R"({"error":{"message":"You are not a member of this conversation."}})"));
    CHECK(r.session.subscribe_error() == "Not receiving live messages: You are not a member of this conversation.");
    CHECK_FALSE(r.session.in_sync());
    r.sched.advance(60000);
    CHECK_FALSE(r.http.has("/chat/subscribe"));  // not asked again for the same conversation
    r.session.open_conversation("c1");            // another one is
    CHECK(subscribe_body(r)["conversationId"] == "c1");
}

TEST_CASE("a new connection subscribes again, a recovered one keeps its subscription", "[session][subscribe]") {
    Rig r;
    start_with(r, 2);
    r.join_ack("demo");
    r.http.answer("afterSeq=0", 200, R"({"messages":[],"hasMore":false})");
    // Recovery (reliable protocol): same connection id, no new subscribe.
    r.socks.drop(1006);
    r.sched.advance(2000);
    r.socks.open();
    CHECK_FALSE(r.http.has("/chat/subscribe"));
    // A close that cannot be recovered: a new connection has no groups.
    r.socks.drop(1008);
    r.sched.advance(60000);
    REQUIRE(r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=b"})"));
    r.socks.open();
    r.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c2","reconnectionToken":"r"})");
    r.join_ack("demo", "", "c2");
}

TEST_CASE("one socket per tab: chat and notifications share it, closing the chat keeps it for the feed", "[session][subscribe]") {
    Rig r;
    notify::NotificationCenter center(r.http, r.realtime, r.sched, "");
    r.session.on_signed_in = [&] { center.start(r.session.token(), "alice", {"core"}); };
    r.session.start();
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T"})"));
    // The feed holds the connection first and declares its groups for the access URL.
    REQUIRE(r.http.has("/realtime/clientAccessUrl"));
    json url_body;
    for (const auto& p : r.http.pending)
        if (p.request.url == "/realtime/clientAccessUrl") url_body = json::parse(p.request.body);
    CHECK(url_body["groups"] == json::array({"notifications:global", "notifications:team:core", "notifications:user:alice"}));
    REQUIRE(r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})"));
    r.socks.open();
    r.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1","reconnectionToken":"r"})");
    REQUIRE(r.http.answer("/config", 200, "{}"));
    REQUIRE(r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})"));
    REQUIRE(r.http.answer("conversationId=demo", 200, R"({"messages":[],"hasMore":false})"));
    r.join_ack("demo");
    CHECK(r.socks.all.size() == 1);
    // Notification groups are joined by the client on the same socket.
    std::size_t joins = 0;
    for (const auto& text : r.socks.last().sent) joins += json::parse(text)["type"] == "joinGroup";
    CHECK(joins == 3);
    // Closing the chat: unsubscribed, the socket stays for the feed; reopening subscribes again.
    r.session.close_panel();
    CHECK(subscribe_body(r)["conversationId"].is_null());
    CHECK(subscribe_body(r)["previousConversationId"] == "demo");
    REQUIRE(r.http.answer("/chat/subscribe", 200, "{}"));
    CHECK(r.realtime.connected());
    r.session.open_panel();
    r.join_ack("demo");
    CHECK(r.socks.all.size() == 1);
    // The last holder gone: the socket stops and nothing reconnects.
    r.session.close_panel();
    center.stop();
    CHECK(r.session.connection().state == ClientState::Stopped);
    r.sched.advance(600000);
    CHECK(r.socks.all.size() == 1);
}

TEST_CASE("network and resume hints reach the feed's socket while the chat is closed", "[session][subscribe]") {
    Rig r;
    notify::NotificationCenter center(r.http, r.realtime, r.sched, "");
    center.start("T", "alice", {});
    REQUIRE(r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})"));
    r.socks.open();
    r.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1","reconnectionToken":"r"})");
    REQUIRE(r.realtime.connected());
    CHECK_FALSE(r.session.panel_open());
    // Network down, then the socket drops: no dialling however long it lasts.
    r.realtime.notify_offline();
    r.socks.drop(1006);
    std::size_t sockets = r.socks.all.size();
    r.sched.advance(600000);
    CHECK(r.socks.all.size() == sockets);
    CHECK_FALSE(r.http.has("/realtime/clientAccessUrl"));
    // Network back: dialled at once, no backoff wait.
    r.realtime.notify_online();
    CHECK((r.http.has("/realtime/clientAccessUrl") || r.socks.all.size() == sockets + 1));
    if (r.http.has("/realtime/clientAccessUrl"))
        REQUIRE(r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=b"})"));
    r.socks.open();
    r.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c2","reconnectionToken":"r"})");
    REQUIRE(r.realtime.connected());
    // Page shown again after sleep: a liveness probe on the feed's socket; no answer drops it and
    // the connection is dialled again.
    const std::size_t sent = r.socks.last().sent.size();
    r.realtime.notify_resumed();
    REQUIRE(r.socks.last().sent.size() == sent + 1);
    CHECK(json::parse(r.socks.last().sent.back())["type"] == "ping");
    sockets = r.socks.all.size();
    r.sched.advance(30000);
    CHECK_FALSE(r.realtime.connected());
    CHECK((r.http.has("/realtime/clientAccessUrl") || r.socks.all.size() > sockets));
}

TEST_CASE("Try again after a failure: signs in again, or only reloads once signed in", "[session]") {
    Rig r;
    r.session.start();
    REQUIRE(r.http.answer("/auth/dev-login", 501, ""));
    REQUIRE(r.session.phase() == chat::Phase::Failed);
    r.session.retry_start();
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T"})"));
    REQUIRE(r.http.answer("/config", 200, "{}"));
    REQUIRE(r.http.answer("/chat/conversations", 500, R"({"error":{"message":"down"}})"));
    REQUIRE(r.session.phase() == chat::Phase::Failed);
    r.http.pending.clear();
    int signed_in = 0;
    r.session.on_signed_in = [&] { ++signed_in; };
    r.session.retry_start();
    CHECK_FALSE(r.http.has("/auth/dev-login"));  // the token is still good: the feed keeps its start
    REQUIRE(r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})"));
    REQUIRE(r.http.answer("conversationId=demo", 200, R"({"messages":[],"hasMore":false})"));
    CHECK(r.session.phase() == chat::Phase::Ready);
    CHECK(signed_in == 0);
    r.session.retry_start();  // not failed: nothing happens
    CHECK_FALSE(r.http.has("/chat/conversations"));
}

TEST_CASE("sign-in asks for the config, the list and the initial conversation's page at once", "[session]") {
    Rig r;
    r.session.start();
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T"})"));
    // One round trip after sign-in, not three in a row.
    CHECK(r.http.has("/config"));
    CHECK(r.http.has("/chat/conversations"));
    CHECK(r.http.has("/conversation/detail?conversationId=demo&limit=50"));
    SECTION("the page answers before the list: shown once the list has it, without asking again") {
        REQUIRE(r.http.answer("conversationId=demo", 200, json{{"messages", json::array({msg(1), msg(2)})}, {"hasMore", false}}.dump()));
        CHECK(r.session.phase() == chat::Phase::Loading);
        REQUIRE(r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})"));
        CHECK_FALSE(r.http.has("/conversation/detail"));
        CHECK(r.session.phase() == chat::Phase::Ready);
        CHECK(r.session.conversation().size() == 2);
    }
    SECTION("the list answers first: the page is awaited, not asked for twice") {
        REQUIRE(r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})"));
        CHECK(r.session.phase() == chat::Phase::Loading);
        REQUIRE(r.http.answer("conversationId=demo", 200, json{{"messages", json::array({msg(1)})}, {"hasMore", false}}.dump()));
        CHECK_FALSE(r.http.has("/conversation/detail"));
        CHECK(r.session.phase() == chat::Phase::Ready);
        CHECK(r.session.conversation().size() == 1);
    }
    SECTION("the limits apply when the config comes, whenever that is") {
        REQUIRE(r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})"));
        REQUIRE(r.http.answer("conversationId=demo", 200, R"({"messages":[],"hasMore":false})"));
        CHECK(r.session.phase() == chat::Phase::Ready);
        REQUIRE(r.http.answer("/config", 200, R"({"maxMessageBytes":5})"));
        std::string why;
        CHECK_FALSE(r.session.send("too long", why));
        CHECK(why.find("of 5 bytes") != std::string::npos);
    }
    SECTION("the initial conversation is not in the list: its page is dropped and the first one's loaded") {
        REQUIRE(r.http.answer("conversationId=demo", 403, R"({"error":{"message":"You are not a member of this conversation."}})"));
        REQUIRE(r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"c2","title":"Two"}]})"));
        CHECK(r.session.phase() == chat::Phase::Loading);  // no failure from the refused page
        REQUIRE(r.http.answer("conversationId=c2", 200, json{{"messages", json::array({msg(7)})}, {"hasMore", false}}.dump()));
        CHECK(r.session.phase() == chat::Phase::Ready);
        CHECK(r.session.current_id() == "c2");
    }
    SECTION("the page fails: the session says why, as before") {
        REQUIRE(r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})"));
        REQUIRE(r.http.answer("conversationId=demo", 500, R"({"error":{"message":"down"}})"));
        CHECK(r.session.phase() == chat::Phase::Failed);
        CHECK(r.session.error().find("Could not load messages") != std::string::npos);
    }
}

TEST_CASE("signed in again with the open conversation loaded: a refused page for another is never applied later", "[session]") {
    Rig r;
    const std::string only_c2 = R"({"conversations":[{"conversationId":"c2","title":"Two"}]})";
    r.session.start();
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T"})"));
    REQUIRE(r.http.answer("/chat/conversations", 200, only_c2));
    REQUIRE(r.http.answer("conversationId=c2", 200, json{{"messages", json::array({msg(7)})}, {"hasMore", false}}.dump()));
    REQUIRE(r.http.answer("conversationId=demo", 403, R"({"error":{"message":"not a member"}})"));
    REQUIRE(r.session.phase() == chat::Phase::Ready);
    // The session ends (a request gets 401, renewing is refused); Try again signs in afresh.
    std::string why;
    REQUIRE(r.session.send("hi", why));
    REQUIRE(r.http.answer("/chat/reply", 401, R"({"error":{"message":"expired"}})"));
    REQUIRE(r.http.answer("/auth/dev-login", 401, R"({"error":{"message":"no"}})"));
    REQUIRE(r.session.phase() == chat::Phase::Failed);
    r.http.pending.clear();
    r.session.retry_start();
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T2"})"));
    REQUIRE(r.http.answer("/chat/conversations", 200, only_c2));  // c2 is loaded: shown at once
    REQUIRE(r.session.phase() == chat::Phase::Ready);
    REQUIRE(r.http.answer("conversationId=demo", 403, R"({"error":{"message":"not a member"}})"));  // the new sign-in's prefetch
    // Alice is added to demo: the server says so on her user channel; the list shows it and she
    // opens it. Its page is asked for afresh, not taken from the refusal above.
    while (r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})")) {
    }
    r.socks.open();
    r.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1"})");
    r.socks.receive(json{{"type", "message"}, {"from", "server"}, {"dataType", "json"},
                         {"data", chat::conversation_created_event("demo", "carol")}}.dump());
    REQUIRE(r.http.answer("/chat/conversations", 200,
                          R"({"conversations":[{"conversationId":"demo","title":"Demo"},{"conversationId":"c2","title":"Two"}]})"));
    r.http.pending.clear();
    r.session.open_conversation("demo");
    CHECK(r.http.has("/conversation/detail?conversationId=demo&limit=50"));
    CHECK(r.session.history_error().empty());
}

TEST_CASE("the first unread message is remembered when a conversation opens, until another opens", "[session]") {
    Rig r;
    r.session.start();
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T"})"));
    REQUIRE(r.http.answer("/config", 200, "{}"));
    REQUIRE(r.http.answer("/chat/conversations", 200,
                          R"({"conversations":[{"conversationId":"demo","title":"Demo","unread":2,"lastReadSeq":8,"lastSeq":10},{"conversationId":"c2","title":"Two","lastReadSeq":3,"lastSeq":3}]})"));
    CHECK(r.session.first_unread_seq() == 9);
    REQUIRE(r.http.answer("conversationId=demo", 200, json{{"messages", json::array({msg(9), msg(10)})}, {"hasMore", true}}.dump()));
    r.sched.advance(1000);  // marked read on the server: the divider stays where it was
    CHECK(r.session.first_unread_seq() == 9);
    r.session.open_conversation("c2");  // nothing unread there
    CHECK(r.session.first_unread_seq() == 0);
}

TEST_CASE("a pending message is stamped with the wall clock, not the scheduler's", "[session]") {
    fake::FakeScheduler sched;
    fake::FakeSockets socks;
    fake::FakeHttp http;
    wps::Realtime realtime(http, socks.factory(), sched, [] { return 0.5; }, "", "chat", Rig::opts());
    chat::ChatSession session(http, realtime, sched, [] { return 0.5; }, chat::SessionOptions{"", "alice", "chat", 50});
    session.set_wall_clock([] { return int64_t(1795874700000); });
    session.start();
    REQUIRE(http.answer("/auth/dev-login", 200, R"({"token":"T"})"));
    REQUIRE(http.answer("/config", 200, "{}"));
    REQUIRE(http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})"));
    REQUIRE(http.answer("/conversation/detail", 200, R"({"messages":[],"hasMore":false})"));
    std::string why;
    REQUIRE(session.send("hi", why));
    CHECK(session.conversation().ordered().back()->createdAtMs == 1795874700000);
}

TEST_CASE("a conversation whose first page fails says why and loads on the next open", "[session]") {
    Rig r;
    r.session.start();
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T"})"));
    REQUIRE(r.http.answer("/config", 200, "{}"));
    REQUIRE(r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"},{"conversationId":"c2","title":"Two"}]})"));
    REQUIRE(r.http.answer("conversationId=demo", 200, R"({"messages":[],"hasMore":false})"));
    REQUIRE(r.session.phase() == chat::Phase::Ready);
    CHECK(r.session.history_error().empty());
    r.session.open_conversation("c2");
    REQUIRE(r.http.answer("conversationId=c2", 500, R"({"error":{"message":"db down"}})"));
    CHECK(r.session.phase() == chat::Phase::Ready);  // the panel works; this conversation did not load
    CHECK_FALSE(r.session.history_loaded());
    CHECK(r.session.history_error().find("db down") != std::string::npos);
    r.session.open_conversation("c2");  // Try again
    CHECK(r.session.history_error().empty());
    REQUIRE(r.http.answer("conversationId=c2", 200, R"({"messages":[],"hasMore":false})"));
    CHECK(r.session.history_loaded());
}

TEST_CASE("reopening the panel puts the divider at what arrived while it was closed", "[session]") {
    Rig r;
    r.boot(json::array({msg(1), msg(2)}));
    r.join_ack();
    r.http.answer("afterSeq=", 200, R"({"messages":[],"hasMore":false})");
    r.sched.advance(1000);  // read up to 2
    CHECK(r.session.first_unread_seq() == 0);
    r.realtime.hold("feed");  // the notification feed keeps the socket while the chat is closed
    r.session.close_panel();
    r.socks.receive(activity("demo", 3).dump());
    r.session.open_panel();
    CHECK(r.session.first_unread_seq() == 3);
}

TEST_CASE("new conversation: the people one may pick, then created, opened and at the top of the list", "[session][create]") {
    Rig r;
    r.session.set_wall_clock([] { return int64_t(1795000000000); });
    r.boot(json::array({msg(1)}));
    r.join_ack();
    REQUIRE(r.http.answer("afterSeq=1", 200, R"({"messages":[],"hasMore":false})"));
    while (r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo","lastSeq":1}]})")) {
    }
    r.session.load_contacts();
    CHECK(r.session.contacts_loading());
    REQUIRE(r.http.has("/chat/contacts"));
    // Whatever the server says, the user is not offered to herself; a name falls back to the id.
    REQUIRE(r.http.answer("/chat/contacts", 200,
                          R"({"users":[{"userId":"bob","displayName":"Bob Chen"},{"userId":"alice","displayName":"Alice"},{"userId":"carol"},{"displayName":"no id"}]})"));
    CHECK_FALSE(r.session.contacts_loading());
    REQUIRE(r.session.contacts().size() == 2);
    CHECK(r.session.contacts()[0].id == "bob");
    CHECK(r.session.contacts()[0].name == "Bob Chen");
    CHECK(r.session.contacts()[1].name == "carol");

    // Nobody picked: refused locally, nothing sent.
    r.session.create_conversation("Plans", {});
    CHECK(r.session.create_error() == "Pick at least one person.");
    CHECK_FALSE(r.http.has("/chat/conversations"));

    r.session.create_conversation("Plans", {"bob", "carol"});
    CHECK(r.session.creating());
    REQUIRE(r.http.pending.back().request.method == "POST");
    CHECK(json::parse(r.http.pending.back().request.body) == json{{"title", "Plans"}, {"members", {"bob", "carol"}}});
    REQUIRE(r.http.answer("/chat/conversations", 201,
                          R"({"conversation":{"conversationId":"c_new","title":"Plans","members":["alice","bob","carol"],"lastSeq":0,"unread":0,"lastMessage":null}})"));
    CHECK_FALSE(r.session.creating());
    CHECK(r.session.created_count() == 1);
    CHECK(r.session.current_id() == "c_new");
    CHECK(r.session.title() == "Plans");
    REQUIRE(r.session.conversations().size() == 2);
    CHECK(r.session.conversations()[0].id == "c_new");
    REQUIRE(r.http.answer("conversationId=c_new", 200, R"({"messages":[],"hasMore":false})"));
    r.join_ack("c_new", "demo");
    // The list reloaded after the subscription: the server puts the empty one last; it stays first.
    while (r.http.answer("/chat/conversations", 200,
                         R"({"conversations":[{"conversationId":"demo","title":"Demo","lastSeq":1,"lastMessage":)" + msg(1).dump() +
                             R"(},{"conversationId":"c_new","title":"Plans","lastSeq":0}]})")) {
    }
    CHECK(r.session.conversations()[0].id == "c_new");
}

TEST_CASE("new conversation: a refusal is said and nothing opens, contacts that fail to load say why", "[session][create]") {
    Rig r;
    r.boot(json::array());
    r.join_ack();
    while (r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})")) {
    }
    r.session.load_contacts();
    REQUIRE(r.http.answer("/chat/contacts", 503, R"({"error":{"message":"busy"}})"));
    CHECK(r.session.contacts_error() == "Could not load people: busy");
    r.session.create_conversation("x", {"nobody"});
    REQUIRE(r.http.answer("/chat/conversations", 400, R"({"error":{"message":"Unknown member \"nobody\"."}})"));
    CHECK(r.session.create_error() == "Could not create the conversation: Unknown member \"nobody\".");
    CHECK(r.session.current_id() == "demo");
    CHECK(r.session.created_count() == 0);
}

TEST_CASE("a file over the backend's attachment limit is refused before any upload, with its size and the limit", "[session][upload]") {
    Rig r;
    CHECK(r.session.max_attachment_bytes() == 5 * 1024 * 1024);  // until the backend said
    r.boot(json::array());
    r.join_ack();
    CHECK(r.session.max_attachment_bytes() == 64);  // GET /config maxAttachmentBytes
    std::string why;
    CHECK(r.session.attachment_fits("a.bin", 64, why));
    CHECK(why.empty());
    CHECK_FALSE(r.session.attachment_fits("большой файл.bin", 65, why));
    CHECK(why == "\u201c" "большой файл.bin" "\u201d is 65 B; an attachment can be at most 64 B.");
    const std::size_t requests = r.http.pending.size();
    std::string result = "pending";
    r.session.send_file("big.bin", "application/octet-stream", std::string(65, 'x'), [&](const std::string& e) { result = e; });
    CHECK(result == "\u201c" "big.bin" "\u201d is 65 B; an attachment can be at most 64 B.");
    CHECK(r.http.pending.size() == requests);  // nothing was sent
    CHECK_FALSE(r.http.has("/blobs"));
}

TEST_CASE("the attachment limit: just over it is said in bytes, a huge backend limit is capped by the client's", "[session][upload]") {
    Rig r;
    r.session.start();
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T","displayName":"Alice"})"));
    REQUIRE(r.http.answer("/config", 200, R"({"maxAttachmentBytes":5242880})"));
    std::string why;
    CHECK_FALSE(r.session.attachment_fits("a.bin", 5242881, why));
    CHECK(why == "\u201c" "a.bin" "\u201d is 5242881 bytes; an attachment can be at most 5242880 bytes.");
    CHECK_FALSE(r.session.attachment_fits("b.bin", 6 * 1024 * 1024, why));
    CHECK(why == "\u201c" "b.bin" "\u201d is 6.0 MB; an attachment can be at most 5.0 MB.");

    Rig big;
    big.session.start();
    REQUIRE(big.http.answer("/auth/dev-login", 200, R"({"token":"T","displayName":"Alice"})"));
    REQUIRE(big.http.answer("/config", 200, R"({"maxAttachmentBytes":1099511627776})"));  // 1 TiB
    CHECK(big.session.max_attachment_bytes() == chat::ChatSession::kClientAttachmentCap);
    CHECK_FALSE(big.session.attachment_fits("huge.iso", 4ull * 1024 * 1024 * 1024, why));
}

TEST_CASE("sizes read as people read them", "[model]") {
    CHECK(chat::format_size(0) == "0 B");
    CHECK(chat::format_size(1023) == "1023 B");
    CHECK(chat::format_size(1024) == "1.0 KB");
    CHECK(chat::format_size(5000) == "4.9 KB");
    CHECK(chat::format_size(1024 * 1024 - 1) == "1.0 MB");  // the unit follows the rounded value
    CHECK(chat::format_size(5 * 1024 * 1024) == "5.0 MB");
    CHECK(chat::format_size(3ull * 1024 * 1024 * 1024) == "3072.0 MB");
}

TEST_CASE("a picked file is uploaded with the session's token in C++ and sent as an attachment, failures say why", "[session][upload]") {
    Rig r;
    r.boot(json::array());
    r.join_ack();
    const std::string bytes("\x89PNG\r\n\x1a\n\0\0binary", 16);
    std::string result = "pending";
    r.session.send_file("flag ü.png", "image/png", bytes, [&](const std::string& e) { result = e; });
    REQUIRE(r.http.has("/blobs?name=flag%20%C3%BC.png"));
    const auto& up = r.http.pending.back().request;
    CHECK(up.method == "POST");
    CHECK(up.headers.at("Authorization") == "Bearer T");
    CHECK(up.headers.at("Content-Type") == "image/png");
    CHECK(up.body == bytes);  // the bytes as they are, NULs included
    REQUIRE(r.http.answer("/blobs", 201, R"({"url":"/blobs/blob_0123456789abcdef0123?exp=1&sig=s","name":"flag ü.png","contentType":"image/png","size":16})"));
    CHECK(result.empty());
    REQUIRE(r.http.has("/chat/reply"));
    const json body = json::parse(r.http.pending.back().request.body);
    CHECK(body["attachment"]["url"] == "/blobs/blob_0123456789abcdef0123?exp=1&sig=s");
    CHECK(body["attachment"]["size"] == 16);

    r.session.send_file("big.bin", "", "x", [&](const std::string& e) { result = e; });
    CHECK(r.http.pending.back().request.headers.at("Content-Type") == "application/octet-stream");
    REQUIRE(r.http.answer("/blobs", 413, R"({"error":{"message":"The file exceeds 10 bytes."}})"));
    CHECK(result == "upload failed: The file exceeds 10 bytes.");
    r.session.send_file("x.txt", "text/plain", "x", [&](const std::string& e) { result = e; });
    REQUIRE(r.http.answer("/blobs", 0, ""));
    CHECK(result == "upload failed: network error");
}

// ---- edits and deletes (issue 18) ----

namespace {
json updated(uint64_t seq, uint64_t version, const std::string& text, const std::string& sender = "alice", bool deleted = false) {
    json m = msg(seq, sender);
    m["version"] = version;
    m["text"] = text;
    if (deleted) m["deleted"] = true;
    else m["editedAt"] = 1000 + version;
    return m;
}
void live_update(Rig& r, const json& m, uint64_t seqId) {
    r.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                         {"data", {{"type", "chat.message.updated"}, {"message", m}}}, {"sequenceId", seqId}}.dump());
}
const chat::Message* held(Rig& r, uint64_t seq) { return r.session.conversation().find("m" + std::to_string(seq)); }
std::string pending_body(Rig& r, const std::string& url_part, std::string* method = nullptr) {
    for (const auto& p : r.http.pending)
        if (p.request.url.find(url_part) != std::string::npos) {
            if (method) *method = p.request.method;
            return p.request.body;
        }
    return "<none>";
}
} // namespace

TEST_CASE("edit and delete: the author's request, the answer applied in place, the late live event changes nothing", "[session][edits]") {
    Rig r;
    r.boot(json::array({msg(1, "alice"), msg(2, "bob")}));
    r.join_ack();
    r.http.answer("afterSeq=2", 200, R"({"messages":[],"hasMore":false})");
    r.http.answer("changedAfter=0", 200, R"({"messages":[],"hasMore":false,"rev":0})");

    std::string why, result = "<not called>";
    // Only the author's own, stored, not deleted messages; never empty or too long (10 bytes here).
    CHECK_FALSE(r.session.edit_message("m2", "x", why, [](const std::string&) {}));
    CHECK(why == "Only your own messages can be edited.");
    CHECK_FALSE(r.session.delete_message("m2", why, [](const std::string&) {}));
    CHECK_FALSE(r.session.edit_message("m1", "  ", why, [](const std::string&) {}));
    CHECK(why == "The message is empty; delete it instead.");
    CHECK_FALSE(r.session.edit_message("m1", "much too long", why, [](const std::string&) {}));
    CHECK_FALSE(r.http.has("/chat/messages/"));

    REQUIRE(r.session.edit_message("m1", "fixed", why, [&](const std::string& e) { result = e; }));
    std::string method;
    CHECK(json::parse(pending_body(r, "/chat/messages/m1", &method)) == json{{"text", "fixed"}});
    CHECK(method == "PATCH");
    CHECK(held(r, 1)->text == "t1");  // shown once the server stored it
    REQUIRE(r.http.answer("/chat/messages/m1", 200, json{{"message", updated(1, 1, "fixed")}, {"changed", true}}.dump()));
    CHECK(result.empty());
    CHECK(held(r, 1)->text == "fixed");
    CHECK(held(r, 1)->editedAtMs == 1001);
    live_update(r, updated(1, 1, "fixed"), 1);  // its own event, late
    CHECK(held(r, 1)->text == "fixed");
    CHECK(r.session.conversations()[0].unread == 0);  // an edit is not activity

    REQUIRE(r.session.delete_message("m1", why, [&](const std::string& e) { result = e; }));
    pending_body(r, "/chat/messages/m1", &method);
    CHECK(method == "DELETE");
    live_update(r, updated(1, 2, "", "alice", true), 2);  // the event first, this time
    CHECK(held(r, 1)->deleted);
    REQUIRE(r.http.answer("/chat/messages/m1", 200, json{{"message", updated(1, 2, "", "alice", true)}, {"changed", false}}.dump()));
    CHECK(held(r, 1)->deleted);
    CHECK(r.seqs() == std::vector<uint64_t>{1, 2});  // the tombstone keeps its place
    CHECK_FALSE(r.session.edit_message("m1", "again", why, [](const std::string&) {}));
    CHECK(why == "The message was deleted.");

    // The server's refusal reaches the caller with its reason.
    r.live(msg(3, "alice"), 3);
    REQUIRE(r.session.edit_message("m3", "new", why, [&](const std::string& e) { result = e; }));
    REQUIRE(r.http.answer("/chat/messages/m3", 409, R"({"error":{"code":"Conflict","message":"The message was deleted."}})"));
    CHECK(result.find("Could not save the edit") == 0);
    CHECK(result.find("The message was deleted.") != std::string::npos);
    CHECK(held(r, 3)->text == "t3");
}

TEST_CASE("live edits and deletes: held messages change, the newest one's preview follows, unloaded older ones wait for their page", "[session][edits]") {
    Rig r;
    r.boot_with(json::array({{{"conversationId", "demo"}, {"title", "Demo"}, {"lastSeq", 6}, {"lastMessage", msg(6)}}}),
                json{{"messages", json::array({msg(5), msg(6)})}, {"hasMore", true}});
    r.join_ack();
    r.http.answer("afterSeq=6", 200, R"({"messages":[],"hasMore":false})");
    r.http.answer("changedAfter=0", 200, R"({"messages":[],"hasMore":false,"rev":0})");
    CHECK(r.session.conversations()[0].preview == "t6");
    live_update(r, updated(5, 1, "older fixed", "bob"), 1);
    CHECK(held(r, 5)->text == "older fixed");
    CHECK(r.session.conversations()[0].preview == "t6");  // not the newest: the preview stays
    live_update(r, updated(6, 2, "bob fixed it", "bob"), 2);
    CHECK(held(r, 6)->text == "bob fixed it");
    CHECK(r.session.conversations()[0].preview == "bob fixed it");
    live_update(r, updated(6, 3, "", "bob", true), 3);
    CHECK(r.session.conversations()[0].preview == "Message deleted");
    CHECK(r.session.conversations()[0].unread == 0);  // edits are not activity
    live_update(r, updated(2, 4, "old one", "bob"), 4);  // before the loaded page: not inserted
    CHECK(r.seqs() == std::vector<uint64_t>{5, 6});
    CHECK(r.session.conversation().first_seq() == 5);
    // A frame some client sent is never taken for an edit.
    r.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                         {"fromUserId", "mallory"},
                         {"data", {{"type", "chat.message.updated"}, {"message", updated(5, 9, "pwned", "bob")}}},
                         {"sequenceId", 5}}
                        .dump());
    CHECK(held(r, 5)->text == "older fixed");
}

TEST_CASE("after a reconnect the edits and deletes made meanwhile are fetched from the last known counter, page by page", "[session][edits]") {
    Rig r;
    // The first page says which changes it already holds (rev 4).
    r.boot_with(json::array({{{"conversationId", "demo"}, {"title", "Demo"}}}),
                json{{"messages", json::array({msg(1), msg(2), msg(3)})}, {"hasMore", false}, {"rev", 4}});
    r.join_ack();
    REQUIRE(r.http.answer("afterSeq=3", 200, R"({"messages":[],"hasMore":false})"));
    REQUIRE(r.http.has("changedAfter=4"));
    REQUIRE(r.http.answer("changedAfter=4", 200, R"({"messages":[],"hasMore":false,"rev":4})"));

    // Away: a new connection (no recovery); meanwhile m1 was edited twice and m2 deleted.
    r.socks.drop(1008);
    r.sched.advance(60000);
    REQUIRE(r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=b"})"));
    r.socks.open();
    r.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c2","reconnectionToken":"r"})");
    r.join_ack("demo", "", "c2");
    CHECK_FALSE(r.http.has("changedAfter"));  // new messages first
    REQUIRE(r.http.answer("afterSeq=3", 200, json{{"messages", json::array({msg(4)})}, {"hasMore", false}}.dump()));
    REQUIRE(r.http.answer("changedAfter=4", 200,
                          json{{"messages", json::array({updated(1, 5, "first edit", "bob"), updated(1, 6, "second", "bob")})},
                               {"hasMore", true}, {"rev", 6}}.dump()));
    CHECK(held(r, 1)->text == "second");
    REQUIRE(r.http.answer("changedAfter=6", 200,
                          json{{"messages", json::array({updated(2, 7, "", "bob", true)})}, {"hasMore", false}, {"rev", 7}}.dump()));
    CHECK(held(r, 2)->deleted);
    CHECK(r.seqs() == std::vector<uint64_t>{1, 2, 3, 4});
    CHECK(r.session.conversation().changes_seen() == 7);
    CHECK_FALSE(r.http.has("changedAfter"));
}

TEST_CASE("reactions: POST adds, DELETE takes back, the answer applies by version, tombstones take none", "[session][reactions]") {
    Rig r;
    r.boot(json::array({msg(1), msg(2)}));
    r.join_ack();
    r.http.answer("afterSeq=2", 200, R"({"messages":[],"hasMore":false})");
    r.http.answer("changedAfter=0", 200, R"({"messages":[],"hasMore":false,"rev":0})");
    const std::string thumbs = "\xF0\x9F\x91\x8D";
    std::string why, result = "<not called>";
    CHECK_FALSE(r.session.react("m1", "not an emoji", true, why, [](const std::string&) {}));  // a space
    CHECK_FALSE(r.session.react("m9", thumbs, true, why, [](const std::string&) {}));
    REQUIRE(r.session.react("m1", thumbs, true, why, [&](const std::string& e) { result = e; }));
    std::string method;
    CHECK(json::parse(pending_body(r, "/chat/messages/m1/reactions", &method)) == json{{"emoji", thumbs}});
    CHECK(method == "POST");
    json m = msg(1);
    m["version"] = 1;
    m["reactions"] = json::array({{{"emoji", thumbs}, {"users", {"alice"}}}});
    REQUIRE(r.http.answer("/chat/messages/m1/reactions", 200, json{{"message", m}, {"changed", true}}.dump()));
    CHECK(result.empty());
    CHECK(chat::reactions_summary(*held(r, 1)) == thumbs + ":1");
    CHECK(chat::reacted(*held(r, 1), thumbs, "alice"));
    REQUIRE(r.session.react("m1", thumbs, false, why, [&](const std::string& e) { result = e; }));
    pending_body(r, "/chat/messages/m1/reactions", &method);
    CHECK(method == "DELETE");
    // A live event with a later version (bob reacted meanwhile) comes first; the answer's older copy changes nothing.
    json later = msg(1);
    later["version"] = 3;
    later["reactions"] = json::array({{{"emoji", thumbs}, {"users", {"bob"}}}});
    live_update(r, later, 1);
    json answer = msg(1);
    answer["version"] = 2;
    REQUIRE(r.http.answer("/chat/messages/m1/reactions", 200, json{{"message", answer}, {"changed", true}}.dump()));
    CHECK(chat::reactions_summary(*held(r, 1)) == thumbs + ":1");
    CHECK_FALSE(chat::reacted(*held(r, 1), thumbs, "alice"));
    live_update(r, updated(2, 4, "", "bob", true), 2);
    CHECK_FALSE(r.session.react("m2", thumbs, true, why, [](const std::string&) {}));
    CHECK(why == "The message was deleted.");
}

// ---- replies and read receipts (issue 18) ---------------------------------------------------------

namespace {
json reply_msg(uint64_t seq, const std::string& parent, uint64_t parent_seq, const std::string& sender = "bob") {
    json m = msg(seq, sender);
    m["replyTo"] = {{"messageId", parent}, {"seq", parent_seq}};
    return m;
}
std::size_t pending_count(Rig& r, const std::string& url_part) {
    return static_cast<std::size_t>(std::count_if(r.http.pending.begin(), r.http.pending.end(),
                                                  [&](const auto& p) { return p.request.url.find(url_part) != std::string::npos; }));
}
void live_read(Rig& r, const std::string& user, uint64_t seq, uint64_t seqId, const std::string& conv = "demo", const char* from = nullptr) {
    json f{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"}, {"sequenceId", seqId},
           {"data", {{"type", "chat.read"}, {"eventId", "read:" + std::to_string(seqId)}, {"conversationId", conv}, {"userId", user},
                     {"lastReadSeq", seq}}}};
    if (from) f["fromUserId"] = from;
    r.socks.receive(f.dump());
}
} // namespace

TEST_CASE("replies: a send carries replyTo, the pending row quotes its parent, a reply to a deleted or unknown message is refused", "[session][replies]") {
    Rig r;
    r.boot(json::array({msg(1, "bob"), msg(2, "bob")}));
    r.join_ack();
    r.http.answer("afterSeq=2", 200, R"({"messages":[],"hasMore":false})");
    r.http.answer("changedAfter=0", 200, R"({"messages":[],"hasMore":false,"rev":0})");
    std::string why;
    REQUIRE(r.session.send("yes", why, std::nullopt, "m1"));
    const json body = json::parse(pending_body(r, "/chat/reply"));
    CHECK(body["replyTo"] == "m1");
    CHECK(body["message"] == "yes");
    const auto locals = r.session.conversation().locals();
    REQUIRE(locals.size() == 1);
    CHECK(locals[0]->replyToId == "m1");
    CHECK(r.session.quote_text(*locals[0]) == "bob: t1");
    // The stored answer keeps the link (the server's copy replaces the pending one).
    REQUIRE(r.http.answer("/chat/reply", 201, json{{"message", reply_msg(3, "m1", 1, "alice")}}.dump()));
    REQUIRE(held(r, 3));
    CHECK(held(r, 3)->replyToId == "m1");
    CHECK(held(r, 3)->replyToSeq == 1);
    // A plain send has no replyTo; a reply to a tombstone or to nothing is refused here.
    REQUIRE(r.session.send("plain", why));
    CHECK_FALSE(json::parse(pending_body(r, "/chat/reply")).contains("replyTo"));
    live_update(r, updated(2, 1, "", "bob", true), 9);
    CHECK_FALSE(r.session.send("late", why, std::nullopt, "m2"));
    CHECK(why == "The message you reply to was deleted.");
    CHECK_FALSE(r.session.send("nowhere", why, std::nullopt, "m77"));
    // The quote follows its parent: deleted now.
    CHECK(r.session.quote_text(*held(r, 3)) == "bob: t1");
    live_update(r, updated(1, 2, "", "bob", true), 10);
    CHECK(r.session.quote_text(*held(r, 3)) == "bob: Message deleted");
}

TEST_CASE("replies: a quote older than the loaded pages is fetched once, kept current by live changes, unavailable when refused", "[session][replies]") {
    Rig r;
    r.boot_with(json::array({{{"conversationId", "demo"}, {"title", "Demo"}, {"lastSeq", 12}}}),
                json{{"messages", {reply_msg(10, "m2", 2), reply_msg(11, "m2", 2), reply_msg(12, "m3", 3)}}, {"hasMore", true}, {"rev", 0}});
    CHECK(pending_count(r, "/chat/messages/m2") == 1);  // two replies, one request
    CHECK(pending_count(r, "/chat/messages/m3") == 1);
    CHECK(r.session.quote_of(*held(r, 10)).state == chat::ChatSession::QuoteState::Loading);
    CHECK(r.session.quote_text(*held(r, 10)) == "Loading the message replied to...");
    const uint64_t v0 = r.session.quotes_version();
    REQUIRE(r.http.answer("/chat/messages/m2", 200, json{{"message", msg(2, "carol")}}.dump()));
    CHECK(r.session.quotes_version() > v0);
    CHECK(r.session.quote_of(*held(r, 11)).state == chat::ChatSession::QuoteState::Shown);
    CHECK(r.session.quote_text(*held(r, 11)) == "carol: t2");
    REQUIRE(r.http.answer("/chat/messages/m3", 404, R"({"error":{"code":"NotFound","message":"No such message."}})"));
    CHECK(r.session.quote_of(*held(r, 12)).state == chat::ChatSession::QuoteState::Unavailable);
    CHECK(r.session.quote_text(*held(r, 12)) == "The message replied to is not available");
    // A live edit, then a delete, of the fetched parent (not loaded itself) reach its quote; an
    // older version arriving late changes nothing.
    r.join_ack();
    r.http.answer("afterSeq=12", 200, R"({"messages":[],"hasMore":false})");
    r.http.answer("changedAfter=0", 200, R"({"messages":[],"hasMore":false,"rev":0})");
    live_update(r, updated(2, 4, "edited", "carol"), 1);
    CHECK(r.session.quote_text(*held(r, 10)) == "carol: edited");
    live_update(r, updated(2, 6, "", "carol", true), 2);
    CHECK(r.session.quote_text(*held(r, 10)) == "carol: Message deleted");
    live_update(r, updated(2, 5, "older", "carol"), 3);
    CHECK(r.session.quote_text(*held(r, 10)) == "carol: Message deleted");
    // Another live reply to a known quote asks nothing.
    r.live(reply_msg(13, "m2", 2), 4);
    CHECK(pending_count(r, "/chat/messages/") == 0);
}

TEST_CASE("replies: reveal pages older history at the largest page size until the quoted message is loaded", "[session][replies]") {
    Rig r;
    r.boot_with(json::array({{{"conversationId", "demo"}, {"title", "Demo"}, {"lastSeq", 300}}}),
                json{{"messages", {reply_msg(300, "m5", 5)}}, {"hasMore", true}, {"rev", 0}});
    r.http.answer("/chat/messages/m5", 200, json{{"message", msg(5)}}.dump());
    r.join_ack();
    r.http.answer("afterSeq=300", 200, R"({"messages":[],"hasMore":false})");
    r.http.answer("changedAfter=0", 200, R"({"messages":[],"hasMore":false,"rev":0})");
    std::string why;
    CHECK(r.session.reveal("m5", 5, why));
    CHECK(r.session.revealing() == "m5");
    json page1 = json::array(), page2 = json::array();
    for (uint64_t s = 100; s < 300; ++s) page1.push_back(msg(s));
    for (uint64_t s = 1; s < 100; ++s) page2.push_back(msg(s));
    REQUIRE(r.http.answer("beforeSeq=300&limit=200", 200, json{{"messages", page1}, {"hasMore", true}}.dump()));
    CHECK(r.session.revealing() == "m5");  // not there yet: the next page
    REQUIRE(r.http.answer("beforeSeq=100&limit=200", 200, json{{"messages", page2}, {"hasMore", false}}.dump()));
    CHECK(r.session.revealing().empty());
    CHECK(held(r, 5));
    CHECK_FALSE(r.http.has("beforeSeq="));
    // Loaded already: nothing to page. Not in a complete history: refused, with the reason.
    CHECK(r.session.reveal("m5", 5, why));
    CHECK_FALSE(r.session.reveal("m999", 0, why));
    CHECK(why == "The message replied to is not in this conversation's history any more.");
    CHECK(r.session.revealing().empty());
    CHECK_FALSE(r.http.has("beforeSeq="));
}

TEST_CASE("replies: reveal refuses a message too far back, ends with its conversation, and a quote that failed is asked again", "[session][replies]") {
    Rig r;
    r.boot_with(json::array({{{"conversationId", "demo"}, {"title", "Demo"}, {"lastSeq", 5000}},
                             {{"conversationId", "other"}, {"title", "Other"}, {"lastSeq", 1}}}),
                json{{"messages", {reply_msg(5000, "m7", 7), reply_msg(4999, "m3000", 3000)}}, {"hasMore", true}, {"rev", 0}});
    // The quote of m7 fails twice (offline, busy), then arrives: asked again each time.
    REQUIRE(r.http.answer("/chat/messages/m7", 0, ""));
    REQUIRE(r.http.answer("/chat/messages/m3000", 200, json{{"message", msg(3000)}}.dump()));
    CHECK(r.session.quote_of(*held(r, 5000)).state == chat::ChatSession::QuoteState::Loading);
    CHECK_FALSE(r.http.has("/chat/messages/m7"));
    r.sched.advance(3000);
    REQUIRE(r.http.answer("/chat/messages/m7", 503, R"({"error":{"code":"ServiceUnavailable","message":"busy"}})"));
    r.sched.advance(6000);
    REQUIRE(r.http.answer("/chat/messages/m7", 200, json{{"message", msg(7)}}.dump()));
    CHECK(r.session.quote_text(*held(r, 5000)) == "bob: t7");
    // 4,992 messages back: refused (the quote is what there is).
    std::string why;
    CHECK_FALSE(r.session.reveal("m7", 7, why));
    CHECK(why.find("more than 1000 messages back") != std::string::npos);
    CHECK(r.session.revealing().empty());
    CHECK_FALSE(r.session.reveal("m3000", 3000, why));  // 1,999 back: refused too
    CHECK(r.session.reveal("m4499", 4499, why));  // 500 back: paged to
    CHECK(r.session.revealing() == "m4499");
    CHECK(r.http.has("beforeSeq=4999&limit=200"));
    r.session.open_conversation("other");
    CHECK(r.session.revealing().empty());  // another conversation: the paging ends
}

TEST_CASE("read state: a hidden page marks nothing read (no Seen by for what nobody saw) until it is shown", "[session][reads]") {
    Rig r;
    r.boot(json::array({msg(1)}));
    r.join_ack();
    r.http.answer("afterSeq=1", 200, R"({"messages":[],"hasMore":false})");
    r.http.answer("changedAfter=0", 200, R"({"messages":[],"hasMore":false,"rev":0})");
    r.sched.advance(1000);
    r.http.answer("/chat/read", 200, R"({"lastReadSeq":1})");
    r.session.set_visible(false);
    r.live(msg(2), 1);
    r.sched.advance(1000);
    CHECK_FALSE(r.http.has("/chat/read"));
    r.session.set_visible(true);
    r.sched.advance(1000);
    REQUIRE(r.http.has("/chat/read"));
    CHECK(json::parse(pending_body(r, "/chat/read"))["seq"] == 2);
}

TEST_CASE("read receipts: positions from history answers and live chat.read events, the largest wins, Seen by under the newest read", "[session][reads]") {
    Rig r;
    r.boot_with(json::array({{{"conversationId", "demo"}, {"title", "Demo"}, {"lastSeq", 3}}}),
                json{{"messages", {msg(1, "bob"), msg(2, "alice"), msg(3, "alice")}}, {"hasMore", false}, {"rev", 0},
                     {"reads", {{"alice", 0}, {"bob", 1}, {"carol", 0}}}});
    CHECK(r.session.reads().at("bob") == 1);
    auto seen = chat::seen_by(r.session.conversation(), r.session.reads(), "alice");
    CHECK(seen.seq == 1);
    CHECK(seen.messageId == "m1");
    CHECK(seen.users == std::vector<std::string>{"bob"});
    r.join_ack();
    r.http.answer("afterSeq=3", 200, json{{"messages", json::array()}, {"hasMore", false}, {"reads", {{"bob", 0}}}}.dump());  // older: kept
    r.http.answer("changedAfter=0", 200, R"({"messages":[],"hasMore":false,"rev":0})");
    CHECK(r.session.reads().at("bob") == 1);
    live_read(r, "carol", 3, 1);
    seen = chat::seen_by(r.session.conversation(), r.session.reads(), "alice");
    CHECK(seen.seq == 3);
    CHECK(seen.users == std::vector<std::string>{"carol"});
    live_read(r, "bob", 2, 2);
    CHECK(chat::seen_by(r.session.conversation(), r.session.reads(), "alice").users == std::vector<std::string>{"carol"});
    live_read(r, "bob", 3, 3);
    live_read(r, "bob", 1, 4);  // late and older: no step back
    seen = chat::seen_by(r.session.conversation(), r.session.reads(), "alice");
    CHECK(seen.users == std::vector<std::string>{"bob", "carol"});
    // A frame some client sent is never taken for a receipt, nor one about another conversation.
    live_read(r, "dave", 3, 5, "demo", "mallory");
    live_read(r, "erin", 3, 6, "other");
    CHECK(r.session.reads().count("dave") == 0);
    CHECK(r.session.reads().count("erin") == 0);
    // The user's own position never counts as "seen by".
    live_read(r, "alice", 3, 7);
    CHECK(chat::seen_by(r.session.conversation(), r.session.reads(), "alice").users == std::vector<std::string>{"bob", "carol"});
}

namespace {
void live_presence(Rig& r, const std::string& user, bool online, uint64_t version, uint64_t seqId, const char* from = nullptr) {
    json f{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"}, {"sequenceId", seqId},
           {"data", {{"type", "chat.presence"}, {"eventId", "presence:" + std::to_string(seqId)}, {"conversationId", "demo"},
                     {"userId", user}, {"online", online}, {"version", version}}}};
    if (from) f["fromUserId"] = from;
    r.socks.receive(f.dump());
}
} // namespace

TEST_CASE("presence: states from history answers and live chat.presence events, the larger version wins in any order", "[session][presence]") {
    Rig r;
    r.boot_with(json::array({{{"conversationId", "demo"}, {"title", "Demo"}, {"lastSeq", 1}, {"members", {"alice", "bob", "carol", "dan"}}}}),
                json{{"messages", {msg(1, "bob")}}, {"hasMore", false}, {"rev", 0},
                     {"presence", {{"alice", {{"online", true}, {"version", 3}}}, {"bob", {{"online", true}, {"version", 2}}},
                                   {"carol", {{"online", false}, {"version", 5}}}, {"mallory", {{"online", "yes"}, {"version", 9}}}}}});
    CHECK(r.session.online("bob"));
    CHECK_FALSE(r.session.online("carol"));
    CHECK_FALSE(r.session.online("mallory"));  // malformed: dropped
    CHECK(r.session.online_members() == std::vector<std::string>{"bob"});  // never the user themself
    r.join_ack();
    // An older answer (a catch-up that raced an event) changes nothing.
    r.http.answer("afterSeq=1", 200, json{{"messages", json::array()}, {"hasMore", false},
                                          {"presence", {{"bob", {{"online", false}, {"version", 1}}}}}}.dump());
    r.http.answer("changedAfter=0", 200, R"({"messages":[],"hasMore":false,"rev":0})");
    CHECK(r.session.online("bob"));
    live_presence(r, "carol", true, 6, 1);
    CHECK(r.session.online_members() == std::vector<std::string>{"bob", "carol"});
    live_presence(r, "bob", false, 4, 2);
    live_presence(r, "bob", true, 3, 3);  // late and older: ignored
    live_presence(r, "bob", false, 4, 4);  // twice: the same
    CHECK(r.session.online_members() == std::vector<std::string>{"carol"});
    // A frame some client sent is never taken for presence.
    live_presence(r, "dan", true, 1, 5, "mallory");
    CHECK_FALSE(r.session.online("dan"));
    CHECK(chat::online_label(r.session.online_members()) == "carol online");
    CHECK(chat::online_label({"a", "b", "c", "d", "e"}) == "a, b, c and 2 more online");
    CHECK(chat::online_label({}).empty());
}

TEST_CASE("seen_by: the newest loaded message at or before the furthest read, nothing when no one else read", "[model][reads]") {
    chat::Conversation c("demo");
    std::vector<chat::Message> page;
    for (uint64_t s : {1, 2, 5, 6}) {
        chat::Message m;
        m.messageId = "m" + std::to_string(s);
        m.conversationId = "demo";
        m.seq = s;
        m.senderId = "alice";
        page.push_back(m);
    }
    c.merge(page);
    CHECK(chat::seen_by(c, {}, "alice").seq == 0);
    CHECK(chat::seen_by(c, {{"alice", 6}, {"bob", 0}}, "alice").seq == 0);
    const auto s = chat::seen_by(c, {{"bob", 4}, {"carol", 2}}, "alice");  // 3 and 4 not loaded: under 2
    CHECK(s.seq == 2);
    CHECK(s.users == std::vector<std::string>{"bob", "carol"});
    CHECK(chat::seen_by(c, {{"bob", 99}}, "alice").messageId == "m6");
    CHECK(c.at_or_before(0) == nullptr);
    CHECK(c.at_or_before(4)->seq == 2);
}

namespace {

// A message of bob's with an attachment whose link expires at `exp` (unix seconds).
json with_file(uint64_t seq, int64_t exp) {
    json m = msg(seq);
    m["attachment"] = {{"url", "/blobs/blob_" + std::to_string(seq) + "?exp=" + std::to_string(exp) + "&sig=s" + std::to_string(exp)},
                       {"name", "plan.png"}, {"contentType", "image/png"}, {"size", 10}};
    return m;
}
std::string link_of(Rig& r, uint64_t seq) { return held(r, seq) && held(r, seq)->attachment ? held(r, seq)->attachment->url : ""; }

// A rig whose wall clock moves with its scheduler (the page's Date.now and timers), starting at
// unix time `base_s`, with m1 (a file whose link expires an hour after) and m2 (text) loaded.
struct LinkRig : Rig {
    static constexpr int64_t base_s = 1'800'000'000;
    LinkRig() {
        session.set_wall_clock([this] { return base_s * 1000 + static_cast<int64_t>(sched.now_ms()); });
        boot(json::array({with_file(1, base_s + 3600), msg(2)}));
        join_ack();
        http.answer("afterSeq=2", 200, R"({"messages":[],"hasMore":false})");
        http.answer("changedAfter=0", 200, R"({"messages":[],"hasMore":false,"rev":0})");
    }
    void advance_to(int64_t unix_ms) { sched.advance(static_cast<uint64_t>(unix_ms - (base_s * 1000 + static_cast<int64_t>(sched.now_ms())))); }
};

} // namespace

TEST_CASE("attachment links: a shown link is renewed five minutes before it expires, on an idle page too", "[session][links]") {
    LinkRig r;
    const std::string first = link_of(r, 1);
    r.session.keep_links_fresh({"m1", "m2"});
    CHECK_FALSE(r.http.has("/chat/messages/"));
    // No frame is drawn from here on: the timer does it.
    r.advance_to((LinkRig::base_s + 3600 - 300) * 1000 - 1);
    CHECK_FALSE(r.http.has("/chat/messages/"));
    r.advance_to((LinkRig::base_s + 3600 - 300) * 1000);
    REQUIRE(r.http.has("/chat/messages/m1"));
    r.session.keep_links_fresh({"m1", "m2"});  // a frame meanwhile: no second request
    int asked = 0;
    for (const auto& p : r.http.pending) asked += p.request.url.find("/chat/messages/") != std::string::npos;
    CHECK(asked == 1);
    REQUIRE(r.http.answer("/chat/messages/m1", 200, json{{"message", with_file(1, LinkRig::base_s + 7200)}}.dump()));
    CHECK(link_of(r, 1) != first);
    CHECK(link_of(r, 1).find("exp=" + std::to_string(LinkRig::base_s + 7200)) != std::string::npos);
    // And the next renewal is on the timer.
    r.advance_to((LinkRig::base_s + 7200 - 300) * 1000);
    CHECK(r.http.has("/chat/messages/m1"));
}

TEST_CASE("attachment links: a failed renewal is tried again a minute later, and an older link never replaces a newer one",
          "[session][links]") {
    LinkRig r;
    r.advance_to((LinkRig::base_s + 3600 - 100) * 1000);
    r.session.keep_links_fresh({"m1"});
    REQUIRE(r.http.answer("/chat/messages/m1", 503, R"({"error":{"message":"busy"}})"));
    r.session.keep_links_fresh({"m1"});
    CHECK_FALSE(r.http.has("/chat/messages/m1"));
    r.advance_to((LinkRig::base_s + 3600 - 100 + 59) * 1000);
    CHECK_FALSE(r.http.has("/chat/messages/m1"));
    r.advance_to((LinkRig::base_s + 3600 - 100 + 60) * 1000);
    REQUIRE(r.http.has("/chat/messages/m1"));
    const std::string held_link = link_of(r, 1);
    REQUIRE(r.http.answer("/chat/messages/m1", 200, json{{"message", with_file(1, LinkRig::base_s + 1800)}}.dump()));
    CHECK(link_of(r, 1) == held_link);  // expires sooner than the one held
    // An answer naming another file (the message now carries another attachment) is no renewal.
    r.advance_to((LinkRig::base_s + 3600 - 100 + 120) * 1000);
    REQUIRE(r.http.has("/chat/messages/m1"));
    json other = with_file(1, LinkRig::base_s + 9000);
    other["attachment"]["url"] = "/blobs/blob_9?exp=" + std::to_string(LinkRig::base_s + 9000) + "&sig=x";
    REQUIRE(r.http.answer("/chat/messages/m1", 200, json{{"message", other}}.dump()));
    CHECK(link_of(r, 1) == held_link);
}

TEST_CASE("attachment links: a click on a valid link opens it at once, on an expired one after renewing it", "[session][links]") {
    LinkRig r;
    std::vector<std::pair<std::string, std::string>> opened;
    const auto open = [&](const std::string& url, const std::string& error) { opened.emplace_back(url, error); };
    const std::string first = link_of(r, 1);
    r.session.open_link(first, open);
    REQUIRE(opened.size() == 1);
    CHECK(opened[0] == std::make_pair(first, std::string()));
    r.session.open_link("https://example.com/x", open);  // not ours: as it is
    CHECK(opened.size() == 2);
    CHECK_FALSE(r.http.has("/chat/messages/"));

    r.advance_to((LinkRig::base_s + 3600 + 30) * 1000);  // expired (the page was asleep)
    opened.clear();
    r.session.open_link(first, open);
    r.session.open_link(first, open);  // a double click: one request, both answered
    CHECK(opened.empty());
    REQUIRE(r.http.answer("/chat/messages/m1", 200, json{{"message", with_file(1, LinkRig::base_s + 7200)}}.dump()));
    REQUIRE(opened.size() == 2);
    CHECK(opened[0].first == link_of(r, 1));
    CHECK(opened[0].first != first);
    CHECK(opened[0].second.empty());

    // Gone meanwhile (deleted, or no longer a member): said so, nothing opened.
    r.advance_to((LinkRig::base_s + 7200 + 30) * 1000);
    opened.clear();
    r.session.open_link(link_of(r, 1), open);
    REQUIRE(r.http.answer("/chat/messages/m1", 404, R"({"error":{"message":"no such message"}})"));
    REQUIRE(opened.size() == 1);
    CHECK(opened[0].first.empty());
    CHECK(opened[0].second.find("could not be renewed") != std::string::npos);
}

TEST_CASE("attachment links: the message holding a link is found by its exact link, in the open conversation", "[session][links]") {
    LinkRig r;
    const std::string link = link_of(r, 1);
    REQUIRE_FALSE(link.empty());
    const chat::Message* m = r.session.message_with_link(link);
    REQUIRE(m);
    CHECK(m->messageId == "m1");
    CHECK(m->attachment->contentType == "image/png");
    CHECK(r.session.message_with_link(link.substr(0, link.find('?'))) == nullptr);  // another signature is another link
    CHECK(r.session.message_with_link(link + "&x=1") == nullptr);
    CHECK(r.session.message_with_link("") == nullptr);  // m2 has no attachment
}

TEST_CASE("attachment links: renewed by the server's clock (GET /config serverTime), and only links of ours", "[session][links]") {
    Rig r;
    constexpr int64_t base_s = 1'800'000'000;
    const int64_t ahead_ms = 10 * 60 * 1000;  // the server's clock is 10 minutes ahead of this one
    r.session.set_wall_clock([&r] { return base_s * 1000 + static_cast<int64_t>(r.sched.now_ms()); });
    json external = msg(2);
    external["attachment"] = {{"url", "https://files.example/f.png?exp=1&sig=x"}, {"name", "f.png"}, {"contentType", "image/png"}, {"size", 10}};
    const int64_t t0 = base_s * 1000 + static_cast<int64_t>(r.sched.now_ms());  // this clock now
    const int64_t exp = (t0 + ahead_ms) / 1000 + 3600;  // an hour after the server's now
    r.session.start();
    REQUIRE(r.http.answer("/auth/dev-login", 200, R"({"token":"T","displayName":"Alice"})"));
    REQUIRE(r.http.answer("/config", 200, json{{"maxMessageBytes", 100}, {"serverTime", t0 + ahead_ms}}.dump()));
    REQUIRE(r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})"));
    REQUIRE(r.http.answer("/conversation/detail", 200, json{{"messages", json::array({with_file(1, exp), external})}, {"hasMore", false}}.dump()));
    REQUIRE(r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})"));
    r.socks.open();
    r.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1","reconnectionToken":"r"})");
    r.join_ack();
    r.http.answer("afterSeq=2", 200, R"({"messages":[],"hasMore":false})");
    r.http.answer("changedAfter=0", 200, R"({"messages":[],"hasMore":false,"rev":0})");
    r.session.keep_links_fresh({"m1", "m2"});
    const auto advance_to = [&](int64_t unix_ms) { r.sched.advance(static_cast<uint64_t>(unix_ms - base_s * 1000 - static_cast<int64_t>(r.sched.now_ms()))); };
    // Due 5 minutes before the expiry on the server's clock: 15 minutes earlier on this one.
    advance_to(exp * 1000 - ahead_ms - 300000 - 1);
    CHECK_FALSE(r.http.has("/chat/messages/"));
    advance_to(exp * 1000 - ahead_ms - 300000);
    CHECK(r.http.has("/chat/messages/m1"));
    CHECK_FALSE(r.http.has("/chat/messages/m2"));  // an https link is the sender's: nothing to renew, ever
    std::string opened = "<not called>";
    r.session.open_link(external["attachment"]["url"], [&](const std::string& url, const std::string&) { opened = url; });
    CHECK(opened == external["attachment"]["url"]);
}

TEST_CASE("attachment links: a message deleted meanwhile shows as deleted, and the click says so", "[session][links]") {
    LinkRig r;
    r.advance_to((LinkRig::base_s + 3600 + 5) * 1000);
    std::pair<std::string, std::string> opened{"<not called>", ""};
    r.session.open_link(link_of(r, 1), [&](const std::string& url, const std::string& error) { opened = {url, error}; });
    json tomb = msg(1);
    tomb["deleted"] = true;
    tomb["text"] = "";
    tomb["version"] = 2;
    REQUIRE(r.http.answer("/chat/messages/m1", 200, json{{"message", tomb}}.dump()));
    CHECK(opened.first.empty());
    CHECK(opened.second == "The message was deleted.");
    CHECK(held(r, 1)->deleted);
    r.advance_to((LinkRig::base_s + 3600 + 600) * 1000);
    r.session.keep_links_fresh({"m1"});
    CHECK_FALSE(r.http.has("/chat/messages/m1"));  // a tombstone has no link to keep
}

TEST_CASE("the conversation list stays in latest-activity order as activity arrives in 40 conversations, as a full sort would have it",
          "[session]") {
    Rig r;
    json list = json::array();
    for (int i = 0; i < 40; ++i) list.push_back({{"conversationId", "c" + std::to_string(i)}, {"title", "C"}, {"lastSeq", 1}});
    list[0]["conversationId"] = "demo";
    r.boot_with(list, json{{"messages", json::array()}, {"hasMore", false}});
    r.join_ack();
    // The reference: the same updates, then a stable sort of the whole list (what sort_list did).
    struct Ref { std::string id; int64_t at; uint64_t seq; };
    std::vector<Ref> ref;
    for (const auto& c : r.session.conversations()) ref.push_back({c.id, c.lastAt, c.lastSeq});
    uint64_t state = 12345;
    const auto next = [&state](uint64_t n) { state = state * 6364136223846793005ULL + 1442695040888963407ULL; return (state >> 33) % n; };
    for (int step = 0; step < 400; ++step) {
        const std::string conv = step % 7 == 0 ? "demo" : "c" + std::to_string(1 + next(39));
        Ref& x = *std::find_if(ref.begin(), ref.end(), [&](const Ref& e) { return e.id == conv; });
        const uint64_t seq = x.seq + 1;
        // Mostly newer times, some equal to another's, some older than this conversation's last
        // (another instance's clock): each moves up, stays, or moves down.
        const int64_t at = step % 5 == 0 ? 1000 + static_cast<int64_t>(next(50)) * 10 : 1000 + step * 10;
        r.socks.receive(json{{"type", "message"}, {"from", "server"}, {"dataType", "json"},
                             {"data", {{"type", "conversation.activity"}, {"conversationId", conv}, {"messageId", conv + "-m" + std::to_string(seq)},
                                       {"seq", seq}, {"senderId", "bob"}, {"createdAt", at}, {"preview", "p"}}}}.dump());
        x.seq = seq;
        x.at = at;
        std::stable_sort(ref.begin(), ref.end(), [](const Ref& a, const Ref& b) { return a.at > b.at; });
        std::vector<std::string> want, got;
        for (const auto& e : ref) want.push_back(e.id);
        for (const auto& c : r.session.conversations()) got.push_back(c.id);
        REQUIRE(got == want);
    }
}

TEST_CASE("activity that arrived while the list was reloading keeps the list in order for the next one", "[session]") {
    Rig r;
    const auto conv = [](const std::string& id, int64_t at) {
        json m = msg(1);
        m["conversationId"] = id;
        m["createdAt"] = at;
        return json{{"conversationId", id}, {"title", id}, {"lastSeq", 1}, {"lastMessage", m}};
    };
    const auto act = [](const std::string& id, uint64_t seq, int64_t at) {
        return json{{"type", "message"}, {"from", "server"}, {"dataType", "json"},
                    {"data", {{"type", "conversation.activity"}, {"conversationId", id}, {"messageId", id + std::to_string(seq)},
                              {"seq", seq}, {"senderId", "bob"}, {"createdAt", at}, {"preview", "p"}}}}.dump();
    };
    r.boot_with(json::array({conv("demo", 300), conv("c1", 200), conv("c2", 100)}), json{{"messages", json::array()}, {"hasMore", false}});
    r.join_ack();
    const auto order = [&r] {
        std::vector<std::string> ids;
        for (const auto& c : r.session.conversations()) ids.push_back(c.id);
        return ids;
    };
    r.socks.receive(act("new", 1, 50));  // a conversation the list does not know: it is reloaded
    REQUIRE(r.http.has("/chat/conversations"));
    r.socks.receive(act("c2", 2, 500));  // meanwhile: c2 is the newest
    CHECK(order() == std::vector<std::string>{"c2", "demo", "c1"});
    // The reload was answered before c2's message was stored: the server's order is older.
    REQUIRE(r.http.answer("/chat/conversations", 200, json{{"conversations", json::array({conv("demo", 300), conv("c1", 200), conv("c2", 100), conv("new", 50)})}}.dump()));
    CHECK(order() == std::vector<std::string>{"c2", "demo", "c1", "new"});
    r.socks.receive(act("c1", 2, 400));
    CHECK(order() == std::vector<std::string>{"c2", "c1", "demo", "new"});
}
