// The chat panel controller against a fake HTTP backend, fake socket and fake clock.
#include "core/chat_session.hpp"
#include "platform/fake/fake_platform.hpp"

#include <catch2/catch.hpp>

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
    chat::ChatSession session;
    Rig() : session(http, socks.factory(), sched, [] { return 0.5; }, chat::SessionOptions{"", "alice", "chat", 50}, opts()) {}
    static ClientOptions opts() {
        ClientOptions o;
        o.keep_alive_interval_ms = 0;
        return o;
    }
    void boot(const json& history) {
        session.start();
        REQUIRE(http.answer("/auth/dev-login", 200, R"({"token":"T","displayName":"Alice"})"));
        REQUIRE(http.answer("/config", 200, R"({"maxMessageBytes":10})"));
        REQUIRE(http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})"));
        REQUIRE(http.answer("/conversation/detail", 200, json{{"messages", history}, {"hasMore", false}}.dump()));
        REQUIRE(session.phase() == chat::Phase::Ready);
        REQUIRE(http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})"));
        socks.open();
        socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1","reconnectionToken":"r"})");
    }
    void join_ack() {
        // Each conversation is two groups: its messages (backend only) and its typing signals.
        const auto sent = socks.last().sent;
        std::vector<std::string> joined;
        for (const auto& text : sent) {
            auto j = json::parse(text);
            if (j["type"] != "joinGroup") continue;
            joined.push_back(j["group"].get<std::string>());
            socks.receive(json{{"type", "ack"}, {"ackId", j["ackId"]}, {"success", true}}.dump());
        }
        REQUIRE(joined == std::vector<std::string>{"conversation:demo", "conversation:demo:typing"});
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

TEST_CASE("live messages are deduplicated; a gap triggers an incremental fetch", "[session]") {
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

TEST_CASE("a refused send (4xx) fails at once with the server's reason; Retry all resends in order", "[session]") {
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

TEST_CASE("live messages in other conversations raise their unread badge; opening one marks it read", "[session]") {
    Rig r;
    r.session.start();
    r.http.answer("/auth/dev-login", 200, R"({"token":"T"})");
    r.http.answer("/config", 200, "{}");
    r.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"},{"conversationId":"c2","title":"Other","unread":1,"lastSeq":4,"lastReadSeq":3}]})");
    r.http.answer("/conversation/detail", 200, R"({"messages":[],"hasMore":false})");
    auto body = json::parse(r.http.pending.back().request.body);
    CHECK(body["groups"] == json::array({"conversation:demo", "conversation:c2"}));
    r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})");
    r.socks.open();
    r.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1","reconnectionToken":"r"})");
    json m = msg(5, "bob");
    m["conversationId"] = "c2";
    r.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:c2"}, {"dataType", "json"},
                         {"data", {{"type", "chat.message"}, {"message", m}}}, {"sequenceId", 1}}.dump());
    CHECK(r.session.conversations()[0].id == "c2");  // sorted by latest activity
    CHECK(r.session.conversations()[0].unread == 2);
    CHECK(r.session.conversations()[0].preview == "t5");
    r.session.open_conversation("c2");
    REQUIRE(r.http.answer("conversationId=c2", 200, json{{"messages", json::array({m})}, {"hasMore", true}}.dump()));
    CHECK(r.session.title() == "Other");
    r.sched.advance(500);
    REQUIRE(r.http.has("/chat/read"));
    CHECK(json::parse(r.http.pending.back().request.body) == json{{"conversationId", "c2"}, {"seq", 5}});
    CHECK(r.session.conversations()[0].unread == 0);
}

TEST_CASE("closing the panel stops the socket and never reconnects; opening asks for a fresh URL", "[session]") {
    Rig r;
    r.boot(json::array());
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
