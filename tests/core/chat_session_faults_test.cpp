// "Fail at step N": the same conversation is replayed with the connection dropped at every step
// in turn; each run must end with every message exactly once, in order (no loss, no duplicate).
#include "core/chat_session.hpp"
#include "platform/fake/fake_platform.hpp"

#include <catch2/catch.hpp>

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
            return {200, json{{"messages", list}, {"hasMore", false}}.dump(), ""};
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
