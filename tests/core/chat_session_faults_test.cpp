// "Fail at step N": the same conversation is replayed with the connection dropped at every step
// in turn; each run must end with every message exactly once, in order (no loss, no duplicate).
#include "core/chat_session.hpp"
#include "platform/fake/fake_platform.hpp"

#include <catch2/catch.hpp>

#include <functional>

using namespace wps;
using nlohmann::json;

namespace {

// A tiny in-memory backend: answers the session's HTTP calls from `truth` and plays the service
// on the fake sockets (connected frame, live group messages once subscribed).
struct FakeBackend {
    fake::FakeScheduler sched;
    fake::FakeSockets socks;
    fake::FakeHttp http;
    std::vector<json> truth;
    std::size_t sockets_seen = 0;
    bool joined = false;
    int connections = 0;
    // Adds to (or replaces) a history answer: what a richer backend says besides the messages.
    std::function<json(const HttpRequest&, json)> detail_hook;

    json message(uint64_t seq) const {
        return json{{"messageId", "m" + std::to_string(seq)}, {"conversationId", "demo"}, {"seq", seq},
                    {"senderId", "bob"}, {"text", "t" + std::to_string(seq)}, {"createdAt", 1}};
    }
    void publish() {
        truth.push_back(message(truth.size() + 1));
        if (joined && !socks.all.empty() && socks.last().alive)
            socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                               {"data", {{"type", "chat.message"}, {"message", truth.back()}}}}.dump());
    }
    void drop() {
        if (!socks.all.empty() && socks.last().alive) {
            joined = false;
            socks.drop(1006);
        }
    }
    // Answers everything pending (repeatedly: answers cause new requests).
    void serve() {
        for (int round = 0; round < 20; ++round) {
            bool any = false;
            while (!http.pending.empty()) {
                auto p = std::move(http.pending.front());
                http.pending.erase(http.pending.begin());
                p.done(answer(p.request));
                any = true;
            }
            // New sockets: open, greet, and ack joins as they come.
            while (sockets_seen < socks.all.size()) {
                ++sockets_seen;
                socks.open();
                socks.receive(json{{"type", "system"}, {"event", "connected"}, {"userId", "alice"},
                                   {"connectionId", "c" + std::to_string(++connections)}}.dump());
                any = true;
            }
            if (!socks.all.empty() && socks.last().alive) {
                auto& sent = socks.last().sent;
                for (std::size_t i = 0; i < sent.size(); ++i) {
                    auto f = json::parse(sent[i]);
                    if (f["type"] == "joinGroup" && !f.contains("_acked")) {
                        sent[i] = "{\"type\":\"done\"}";
                        joined = true;
                        socks.receive(json{{"type", "ack"}, {"ackId", f["ackId"]}, {"success", true}}.dump());
                        any = true;
                    }
                }
            }
            sched.advance(100);
            if (!any && http.pending.empty()) break;
        }
    }
    HttpResponse answer(const HttpRequest& r) {
        const std::string& u = r.url;
        if (u.find("/auth/dev-login") != std::string::npos) return {200, R"({"token":"T"})", ""};
        if (u.find("/config") != std::string::npos) return {200, "{}", ""};
        if (u.find("/chat/conversations") != std::string::npos)
            return {200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})", ""};
        if (u.find("/realtime/clientAccessUrl") != std::string::npos) return {200, R"({"url":"ws://x/client/hubs/chat?t=1"})", ""};
        if (u.find("/chat/read") != std::string::npos) return {200, "{}", ""};
        if (u.find("/chat/subscribe") != std::string::npos) {
            // The backend adds the connection to the group: live messages flow from now on.
            const json body = json::parse(r.body);
            joined = body["conversationId"] == "demo" && body["connectionId"] == "c" + std::to_string(connections);
            return {200, "{}", ""};
        }
        if (u.find("/conversation/detail") != std::string::npos) {
            uint64_t after = 0;
            if (auto p = u.find("afterSeq="); p != std::string::npos) after = std::stoull(u.substr(p + 9));
            json list = json::array();
            for (const auto& m : truth)
                if (m["seq"].get<uint64_t>() > after) list.push_back(m);
            json out{{"messages", list}, {"hasMore", false}};
            if (detail_hook) out = detail_hook(r, std::move(out));
            return {200, out.dump(), ""};
        }
        return {404, "{}", ""};
    }
};

std::vector<uint64_t> seqs(const chat::ChatSession& s) {
    std::vector<uint64_t> out;
    for (auto* m : s.conversation().ordered()) out.push_back(m->seq);
    return out;
}

} // namespace

TEST_CASE("a drop at any step of a conversation loses and duplicates nothing", "[session][faults]") {
    constexpr int kMessages = 8;
    for (const char* protocol : {kJsonProtocol, kReliableJsonProtocol}) {
        for (int drop_at = 0; drop_at <= kMessages; ++drop_at) {
            FakeBackend b;
            ClientOptions o;
            o.protocol = protocol;
            o.keep_alive_interval_ms = 0;
            o.recovery_window_ms = 0;  // recovery is refused here: every drop needs a new connection
            o.reconnect_retry.retry_delay_ms = 200;
            wps::Realtime rt(b.http, b.socks.factory(), b.sched, [] { return 0.5; }, "", "chat", o);
            chat::ChatSession s(b.http, rt, b.sched, [] { return 0.5; }, chat::SessionOptions{"", "alice", "chat", 50, "demo"});
            b.truth.push_back(b.message(1));  // history before the panel opened
            s.start();
            b.serve();
            for (int step = 0; step < kMessages; ++step) {
                if (step == drop_at) b.drop();  // messages published now are not delivered live
                b.publish();
                b.serve();
            }
            b.serve();
            b.sched.advance(5000);
            b.serve();
            INFO(protocol << ", drop at step " << drop_at);
            std::vector<uint64_t> want;
            for (uint64_t i = 1; i <= kMessages + 1; ++i) want.push_back(i);
            CHECK(seqs(s) == want);
            CHECK_FALSE(s.conversation().has_gap());
        }
    }
}

namespace {

// The same backend with what happens to messages and members after they are sent: edits (a
// version each, chat.message.updated), read positions (chat.read) and presence (chat.presence,
// a version per user), live while joined and in every history answer (rev, reads, presence).
struct StatefulBackend : FakeBackend {
    uint64_t rev = 0;
    json reads = json::object(), presence = json::object();

    void live(const json& data) {
        if (joined && !socks.all.empty() && socks.last().alive)
            socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                               {"data", data}}.dump());
    }
    void edit(uint64_t seq) {
        json& m = truth[seq - 1];
        m["text"] = "edited " + std::to_string(++rev);
        m["version"] = rev;
        m["editedAt"] = 2;
        live(json{{"type", "chat.message.updated"}, {"message", m}});
    }
    void read(const std::string& user, uint64_t seq) {
        reads[user] = seq;
        live(json{{"type", "chat.read"}, {"eventId", "read:" + std::to_string(seq)}, {"conversationId", "demo"}, {"userId", user},
                  {"lastReadSeq", seq}});
    }
    void presence_change(const std::string& user, bool online) {
        const uint64_t version = presence.contains(user) ? presence[user]["version"].get<uint64_t>() + 1 : 1;
        presence[user] = json{{"online", online}, {"version", version}};
        live(json{{"type", "chat.presence"}, {"eventId", "presence:" + std::to_string(version)}, {"conversationId", "demo"},
                  {"userId", user}, {"online", online}, {"version", version}});
    }
    StatefulBackend() {
        detail_hook = [this](const HttpRequest& r, json out) {
            if (auto c = r.url.find("changedAfter="); c != std::string::npos) {
                const uint64_t after = std::stoull(r.url.substr(c + 13));
                json list = json::array();
                for (const auto& m : truth)
                    if (m.value("version", uint64_t(0)) > after) list.push_back(m);
                return json{{"messages", list}, {"hasMore", false}, {"rev", rev}};
            }
            out["rev"] = rev;
            out["reads"] = reads;
            out["presence"] = presence;
            return out;
        };
    }
};

} // namespace

TEST_CASE("a drop at any step loses no edit, read position or presence change: the client ends in the backend's state", "[session][faults][presence][reads]") {
    constexpr int kSteps = 6;
    for (const char* protocol : {kJsonProtocol, kReliableJsonProtocol}) {
        for (int drop_at = 0; drop_at <= kSteps; ++drop_at) {
            StatefulBackend b;
            ClientOptions o;
            o.protocol = protocol;
            o.keep_alive_interval_ms = 0;
            o.recovery_window_ms = 0;  // every drop needs a new connection and a catch-up
            o.reconnect_retry.retry_delay_ms = 200;
            wps::Realtime rt(b.http, b.socks.factory(), b.sched, [] { return 0.5; }, "", "chat", o);
            chat::ChatSession s(b.http, rt, b.sched, [] { return 0.5; }, chat::SessionOptions{"", "alice", "chat", 50, "demo"});
            b.truth.push_back(b.message(1));
            s.start();
            b.serve();
            for (int step = 0; step < kSteps; ++step) {
                if (step == drop_at) b.drop();  // what happens now is not delivered live
                b.publish();
                b.edit(b.truth.size() - (step % 2));  // the new message, or the one before it
                b.read("bob", b.truth.size());
                b.presence_change("bob", step % 3 != 2);
                b.serve();
            }
            b.sched.advance(5000);
            b.serve();
            INFO(protocol << ", drop at step " << drop_at);
            REQUIRE(s.conversation().ordered().size() == b.truth.size());
            for (const chat::Message* m : s.conversation().ordered()) CHECK(m->text == b.truth[m->seq - 1]["text"]);
            CHECK(s.reads().at("bob") == b.reads["bob"].get<uint64_t>());
            CHECK(s.online("bob") == b.presence["bob"]["online"].get<bool>());
        }
    }
}
