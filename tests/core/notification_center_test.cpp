// The notification feed controller against a fake backend, socket and clock.
#include "core/notification_center.hpp"
#include "platform/fake/fake_platform.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace wps;
using nlohmann::json;

namespace {
json item(const std::string& id, uint64_t seq, bool read = false) {
    return json{{"id", id}, {"seq", seq}, {"title", "T" + id}, {"read", read}};
}
struct Rig {
    fake::FakeScheduler sched;
    fake::FakeSockets socks;
    fake::FakeHttp http;
    wps::Realtime realtime{http, socks.factory(), sched, [] { return 0.5; }, "", "chat", opts()};
    notify::NotificationCenter center{http, realtime, sched, ""};
    std::vector<std::string> claimed;
    static ClientOptions opts() {
        ClientOptions o;
        o.keep_alive_interval_ms = 0;
        return o;
    }
    void connect(const std::string& id = "n1") {
        socks.open();
        socks.receive(json{{"type", "system"}, {"event", "connected"}, {"userId", "bob"}, {"connectionId", id}, {"reconnectionToken", "r"}}.dump());
        // By index: acks make more joins (the client's rejoin, then the center's own on connected).
        auto& sent = socks.last().sent;
        for (std::size_t i = 0; i < sent.size(); ++i) {
            auto j = json::parse(sent[i]);
            if (j["type"] == "joinGroup") socks.receive(json{{"type", "ack"}, {"ackId", j["ackId"]}, {"success", true}}.dump());
        }
    }
    void live(const json& n, uint64_t seq) {
        socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "notifications:global"}, {"dataType", "json"},
                           {"data", {{"type", "notification"}, {"eventId", n["id"]}, {"notification", n}}}, {"sequenceId", seq}}.dump());
    }
};
} // namespace

TEST_CASE("hybrid load, own groups, live items with one toast each, recompute after reconnect", "[notify]") {
    Rig r;
    r.center.claim_toast = [&](const std::string& id) { r.claimed.push_back(id); return id != "seen-in-other-tab"; };
    r.center.start("T", "bob", {"core"});
    REQUIRE(r.http.answer("/notifications?limit=20", 200, json{{"items", {item("a", 1)}}, {"nextCursor", nullptr}, {"unreadCount", 1}}.dump()));
    CHECK(r.center.feed().unread() == 1);
    REQUIRE(r.http.has("/realtime/clientAccessUrl"));
    CHECK(json::parse(r.http.pending.back().request.body)["groups"] ==
          json::array({"notifications:global", "notifications:team:core", "notifications:user:bob"}));
    r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})");
    r.connect();
    // All three groups joined: the first page is fetched again (recompute).
    REQUIRE(r.http.answer("/notifications?limit=20", 200, json{{"items", {item("b", 2), item("a", 1)}}, {"unreadCount", 2}}.dump()));
    CHECK(r.center.feed().unread() == 2);
    r.live(item("c", 3), 1);
    r.live(item("c", 3), 2);  // the same notification twice (e.g. user + team group)
    r.live(item("seen-in-other-tab", 4), 3);
    CHECK(r.center.feed().unread() == 4);
    auto toasts = r.center.toasts(r.sched.now_ms());
    REQUIRE(toasts.size() == 1);
    CHECK(toasts[0].id == "c");
    CHECK(r.center.toasts(r.sched.now_ms() + 10000).empty());
    // A drop that cannot be recovered: new connection, joins, and the API recomputes the badge.
    r.socks.drop(1008);
    r.sched.advance(60000);
    r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=b"})");
    r.connect();
    REQUIRE(r.http.answer("/notifications?limit=20", 200, json{{"items", {item("d", 5)}}, {"unreadCount", 7}}.dump()));
    CHECK(r.center.feed().unread() == 7);
}

TEST_CASE("mark read, mark all read and archive go to the API, which has the last word", "[notify]") {
    Rig r;
    r.center.start("T", "bob", {});
    r.http.answer("/notifications?limit=20", 200, json{{"items", {item("b", 2), item("a", 1)}}, {"nextCursor", "1"}, {"unreadCount", 2}}.dump());
    r.center.mark_read("b");
    CHECK(r.center.feed().unread() == 1);
    REQUIRE(r.http.has("/notifications/read"));
    CHECK(json::parse(r.http.pending.back().request.body) == json{{"ids", {"b"}}});
    r.http.answer("/notifications/read", 200, R"({"unreadCount":1})");
    r.center.archive("a");
    CHECK(json::parse(r.http.pending.back().request.body) == json{{"ids", {"a"}}});
    r.center.mark_all_read();
    CHECK(json::parse(r.http.pending.back().request.body) == json{{"all", true}});
    r.http.answer("/notifications/archive", 200, R"({"unreadCount":0})");
    r.http.answer("/notifications/read", 200, R"({"unreadCount":0})");
    CHECK(r.center.feed().unread() == 0);
    r.center.load_older();
    REQUIRE(r.http.has("cursor=1"));
}

TEST_CASE("a failed first load says so, Retry loads it again, once", "[notify]") {
    Rig r;
    r.center.reload();  // not started: nothing to load
    CHECK_FALSE(r.http.has("/notifications"));
    r.center.start("T", "bob", {});
    REQUIRE(r.http.answer("/notifications?limit=20", 503, R"({"error":{"message":"busy"}})"));
    CHECK(r.center.error() == "Could not load notifications (HTTP 503)");
    r.center.reload();
    r.center.reload();  // a second click while loading asks nothing more
    std::size_t asked = 0;
    for (const auto& p : r.http.pending) asked += p.request.url == "/notifications?limit=20";
    CHECK(asked == 1);
    REQUIRE(r.http.answer("/notifications?limit=20", 200, json{{"items", {item("a", 1)}}, {"unreadCount", 1}}.dump()));
    CHECK(r.center.error().empty());
    CHECK(r.center.feed().unread() == 1);
}

TEST_CASE("a page going away closes the tab's socket normally (the session ends now) and connects again when it is back", "[notify][presence]") {
    Rig r;
    r.center.start("T", "bob", {"core"});
    REQUIRE(r.http.answer("/notifications?limit=20", 200, json{{"items", json::array()}, {"unreadCount", 0}}.dump()));
    r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})");
    r.connect();
    CHECK(r.realtime.connected());
    const std::size_t sockets = r.socks.all.size();
    r.realtime.set_page_gone(true);
    CHECK(r.socks.last().client_close_code == 1000);  // 1000: no recovery waits on the service
    CHECK_FALSE(r.socks.last().alive);
    // The backend is asked to end the connection too, with a request that outlives the page (the
    // close frame may never leave a page being torn down): the connection id, the bearer token.
    REQUIRE(r.http.has("/realtime/leave"));
    const auto leave = std::find_if(r.http.pending.begin(), r.http.pending.end(),
                                    [](const auto& p) { return p.request.url.find("/realtime/leave") != std::string::npos; });
    CHECK(leave->request.keepalive);
    CHECK(leave->request.method == "POST");
    CHECK(leave->request.headers.at("Authorization") == "Bearer T");
    CHECK(json::parse(leave->request.body) == json{{"connectionId", "n1"}});
    REQUIRE(r.http.answer("/realtime/leave", 204, ""));
    r.realtime.set_page_gone(true);  // pagehide after beforeunload: once is enough, and there is no connection now
    CHECK_FALSE(r.http.has("/realtime/leave"));
    r.sched.advance(60000);
    CHECK(r.socks.all.size() == sockets);  // and no reconnect while gone
    CHECK_FALSE(r.http.has("/realtime/clientAccessUrl"));
    r.realtime.set_page_gone(false);  // back from the back/forward cache: a fresh URL, a new connection
    REQUIRE(r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=b"})"));
    CHECK(r.socks.all.size() == sockets + 1);
    r.realtime.set_page_gone(true);  // gone before it connected: no connection to end, no request
    CHECK_FALSE(r.http.has("/realtime/leave"));
    // It stayed after all (beforeunload, then no navigation): a new connection, whose own id the
    // next leave names.
    r.realtime.set_page_gone(false);
    REQUIRE(r.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=c"})"));
    r.connect("n2");
    REQUIRE(r.realtime.connected());
    r.realtime.set_page_gone(true);
    REQUIRE(r.http.has("/realtime/leave"));
    CHECK(json::parse(r.http.pending.back().request.body) == json{{"connectionId", "n2"}});
}
