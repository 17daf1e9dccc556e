// The notification bell, feed and toasts, headless: badge, day groups, states, keyboard, intents.
#include "core/notification_center.hpp"
#include "platform/fake/fake_platform.hpp"
#include "ui/notification_view.hpp"
#include "ui/targets.hpp"
#include "ui/theme.hpp"

#include <catch2/catch.hpp>
#include <imgui.h>

#include <string>
#include <vector>

using nlohmann::json;

namespace {

constexpr int64_t kMin = 60000, kHour = 3600000, kDay = 86400000;
constexpr int64_t kNow = 1795874700000;  // Sat 28 Nov 2026 14:05 UTC
constexpr int kEscape = 256;             // GLFW_KEY_ESCAPE, as the GLFW backend maps it

json item(const std::string& id, uint64_t seq, int64_t created, bool read = false, const std::string& body = "") {
    json j{{"id", id}, {"seq", seq}, {"title", "Title " + id}, {"createdAt", created}, {"read", read}};
    if (!body.empty()) j["body"] = body;
    return j;
}

// A headless ImGui context and a notification center on fake ports (one context at a time).
struct FeedRig {
    wps::fake::FakeScheduler sched;
    wps::fake::FakeSockets socks;
    wps::fake::FakeHttp http;
    wps::Realtime realtime{http, socks.factory(), sched, [] { return 0.5; }, "", "chat", opts()};
    notify::NotificationCenter center{http, realtime, sched, ""};
    ui::FeedViewState view;
    int64_t wall = kNow;

    FeedRig() {
        ui::theme::set_utc_offset_minutes(0);
        ImGui::CreateContext();
        ImGuiIO& io = ImGui::GetIO();
        io.IniFilename = nullptr;
        io.DisplaySize = ImVec2(1000, 700);
        io.DeltaTime = 1.0f / 60.0f;
        io.KeyMap[ImGuiKey_Escape] = kEscape;
        unsigned char* pixels = nullptr;
        int w = 0, h = 0;
        io.Fonts->AddFontDefault();
        io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
    }
    ~FeedRig() { ImGui::DestroyContext(); }
    static wps::ClientOptions opts() {
        wps::ClientOptions o;
        o.keep_alive_interval_ms = 0;
        return o;
    }

    // Signs in and answers the first page with `items`.
    void load(const json& items, uint64_t unread, const json& cursor = nullptr) {
        center.start("T", "bob", {});
        REQUIRE(http.answer("/notifications?limit=20", 200, json{{"items", items}, {"nextCursor", cursor}, {"unreadCount", unread}}.dump()));
    }

    // The socket connects and the groups are joined: the center fetches the first page again.
    void connect() {
        REQUIRE(http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})"));
        socks.open();
        socks.receive(R"({"type":"system","event":"connected","userId":"bob","connectionId":"n1"})");
        const auto& sent = socks.last().sent;
        for (std::size_t i = 0; i < sent.size(); ++i) {
            auto j = json::parse(sent[i]);
            if (j["type"] == "joinGroup") socks.receive(json{{"type", "ack"}, {"ackId", j["ackId"]}, {"success", true}}.dump());
        }
        REQUIRE(http.has("/notifications?limit=20"));
    }

    // One frame: a header window with the bell (as the chat panel's header draws it), the feed
    // and the toasts, with the mouse at (x, y) and Esc held when asked.
    void frame(float x = -1, float y = -1, bool down = false, bool esc = false) {
        ImGuiIO& io = ImGui::GetIO();
        io.MousePos = ImVec2(x, y);
        io.MouseDown[0] = down;
        io.KeysDown[kEscape] = esc;
        ImGui::NewFrame();
        ui::targets().clear();
        ImGui::SetNextWindowPos(ImVec2(0, 0));
        ImGui::SetNextWindowSize(io.DisplaySize);
        ImGui::Begin("Chat", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoBringToFrontOnFocus);
        ImGui::SetCursorPosX(800);
        ui::draw_bell(center, view);
        ImGui::End();
        // Two clocks, as in the browser: the scheduler's (ms since the page loaded: toasts expire
        // on it) and the wall clock (relative times, day headers).
        ui::draw_feed(center, view, io.DisplaySize.x, io.DisplaySize.y, sched.now_ms(), wall);
        ui::draw_toasts(center, view, io.DisplaySize.x, io.DisplaySize.y, sched.now_ms(), wall);
        ImGui::Render();
        ui::apply_feed_intents(center, view);  // as the app does after each frame
    }

    const ui::Target* find(const std::string& name) const {
        for (const auto& t : ui::targets())
            if (t.name == name) return &t;
        return nullptr;
    }
    bool has(const std::string& name) const { return find(name) != nullptr; }
    std::vector<std::string> with_prefix(const std::string& prefix) const {
        std::vector<std::string> out;
        for (const auto& t : ui::targets())
            if (t.name.rfind(prefix, 0) == 0) out.push_back(t.name);
        return out;
    }

    // Clicks a named target the way a person does: move there, press, release.
    bool click(const std::string& name) {
        const ui::Target* t = find(name);
        if (!t) return false;
        const float x = t->x + t->w / 2, y = t->y + t->h / 2;
        frame(x, y, false);
        frame(x, y, true);
        frame(x, y, false);
        return true;
    }
    void open_feed() {
        frame();
        REQUIRE(click("bell"));
        REQUIRE(view.open);
        frame();
    }
};

} // namespace

TEST_CASE("the badge text: none at zero, the count up to 99, then 99+", "[ui][feed]") {
    CHECK(ui::badge_text(0).empty());
    CHECK(ui::badge_text(1) == "1");
    CHECK(ui::badge_text(42) == "42");
    CHECK(ui::badge_text(99) == "99");
    CHECK(ui::badge_text(100) == "99+");
    CHECK(ui::badge_text(123456789) == "99+");
}

TEST_CASE("the bell shows the unread count as a badge, capped, and none once all is read", "[ui][feed]") {
    SECTION("a few unread") {
        FeedRig r;
        r.load(json::array({item("a", 2, kNow - 5 * kMin), item("b", 1, kNow - 10 * kMin)}), 2);
        r.frame();
        CHECK(r.view.badge == "2");
        REQUIRE(r.has("bell-badge"));
        // The badge sits on the bell's top-right corner.
        const ui::Target* bell = r.find("bell");
        const ui::Target* badge = r.find("bell-badge");
        REQUIRE(bell);
        CHECK(badge->x > bell->x);
        CHECK(badge->x < bell->x + bell->w);
        CHECK(badge->y <= bell->y);
        // Opening the feed and marking everything read takes the badge away.
        REQUIRE(r.click("bell"));
        CHECK(r.view.open);
        r.frame();
        REQUIRE(r.click("mark-all-read"));
        CHECK(r.center.feed().unread() == 0);
        r.frame();
        CHECK(r.view.badge.empty());
        CHECK_FALSE(r.has("bell-badge"));
    }
    SECTION("more than 99") {
        FeedRig r;
        r.load(json::array({item("a", 1, kNow)}), 250);
        r.frame();
        CHECK(r.view.badge == "99+");
        CHECK(r.has("bell-badge"));
    }
    SECTION("nothing unread") {
        FeedRig r;
        r.load(json::array({item("a", 1, kNow, true)}), 0);
        r.frame();
        CHECK(r.view.badge.empty());
        CHECK_FALSE(r.has("bell-badge"));
    }
}

TEST_CASE("items are grouped under Today, Yesterday and date headers, newest first", "[ui][feed]") {
    FeedRig r;
    r.load(json::array({item("t1", 6, kNow - 5 * kMin), item("t2", 5, kNow - 3 * kHour), item("y1", 4, kNow - kDay),
                        item("y2", 3, kNow - kDay - kHour), item("w1", 2, kNow - 3 * kDay), item("old", 1, kNow - 40 * kDay)}),
           6);
    r.open_feed();
    CHECK(r.with_prefix("feed-day:") ==
          std::vector<std::string>{"feed-day:Today", "feed-day:Yesterday", "feed-day:Wed 25 Nov 2026", "feed-day:Mon 19 Oct 2026"});
    // Each header comes before its items and after the previous day's.
    auto y = [&](const std::string& name) {
        const ui::Target* t = r.find(name);
        REQUIRE(t);
        return t->y;
    };
    CHECK(y("feed-day:Today") < y("archive:t1"));
    CHECK(y("archive:t1") < y("archive:t2"));
    CHECK(y("archive:t2") < y("feed-day:Yesterday"));
    CHECK(y("feed-day:Yesterday") < y("archive:y1"));
    CHECK(y("archive:y2") < y("feed-day:Wed 25 Nov 2026"));
    CHECK(y("feed-day:Wed 25 Nov 2026") < y("archive:w1"));
    CHECK(y("archive:w1") < y("feed-day:Mon 19 Oct 2026"));
    CHECK(y("feed-day:Mon 19 Oct 2026") < y("archive:old"));
    // Every item has its relative time at the right of its title line.
    for (const char* id : {"t1", "t2", "y1", "y2", "w1", "old"}) CHECK(r.has(std::string("feed-time:") + id));
    CHECK(r.find("feed-time:t1")->x > r.find("feed-unread:t1")->x + 200);
}

TEST_CASE("the empty state shows only when the loaded feed has nothing", "[ui][feed]") {
    SECTION("nothing: You're all caught up") {
        FeedRig r;
        r.load(json::array(), 0);
        r.open_feed();
        CHECK(r.has("feed-empty"));
        CHECK_FALSE(r.has("feed-error"));
        CHECK_FALSE(r.has("feed-loading"));
    }
    SECTION("items: no empty state") {
        FeedRig r;
        r.load(json::array({item("a", 1, kNow - kMin, true)}), 0);
        r.open_feed();
        CHECK_FALSE(r.has("feed-empty"));
        CHECK(r.has("archive:a"));
    }
    SECTION("the last item archived: the empty state") {
        FeedRig r;
        r.load(json::array({item("a", 1, kNow - kMin, true)}), 0);
        r.open_feed();
        REQUIRE(r.click("archive:a"));
        r.frame();
        CHECK_FALSE(r.has("archive:a"));
        CHECK(r.has("feed-empty"));
    }
    SECTION("still loading: neither empty nor error") {
        FeedRig r;
        r.center.start("T", "bob", {});
        r.open_feed();
        CHECK(r.has("feed-loading"));
        CHECK_FALSE(r.has("feed-empty"));
        CHECK_FALSE(r.has("feed-error"));
    }
}

TEST_CASE("a feed that failed to load says so, with Retry when the app can reload", "[ui][feed]") {
    SECTION("no reload available: the error, no dead button") {
        FeedRig r;
        r.center.start("T", "bob", {});
        REQUIRE(r.http.answer("/notifications?limit=20", 500, R"({"error":{"message":"boom"}})"));
        r.open_feed();
        CHECK(r.has("feed-error"));
        CHECK_FALSE(r.has("feed-empty"));
        CHECK_FALSE(r.has("feed-retry"));
    }
    SECTION("Retry calls the app's reload") {
        FeedRig r;
        int retries = 0;
        r.view.retry = [&] { ++retries; };
        r.center.start("T", "bob", {});
        REQUIRE(r.http.answer("/notifications?limit=20", 503, "{}"));
        r.open_feed();
        CHECK(r.has("feed-error"));
        REQUIRE(r.click("feed-retry"));
        CHECK(retries == 1);
    }
    SECTION("a refresh that fails keeps the list and says so") {
        FeedRig r;
        r.load(json::array({item("a", 1, kNow - kMin)}), 1);
        r.connect();
        REQUIRE(r.http.answer("/notifications?limit=20", 502, "{}"));
        r.open_feed();
        CHECK(r.has("feed-error"));
        CHECK(r.has("mark-read:a"));
        CHECK(r.find("feed-error")->y < r.find("mark-read:a")->y);
    }
    SECTION("a refresh that fails over an empty feed: the error state, not 'caught up'") {
        FeedRig r;
        r.load(json::array(), 0);
        r.connect();
        REQUIRE(r.http.answer("/notifications?limit=20", 502, "{}"));
        r.open_feed();
        CHECK(r.has("feed-error"));
        CHECK_FALSE(r.has("feed-empty"));
    }
}

TEST_CASE("Esc closes the feed", "[ui][feed]") {
    FeedRig r;
    r.load(json::array({item("a", 1, kNow - kMin)}), 1);
    r.open_feed();
    CHECK(r.has("mark-all-read"));
    r.frame(-1, -1, false, true);  // Esc goes down
    CHECK_FALSE(r.view.open);
    r.frame();
    CHECK_FALSE(r.has("mark-all-read"));
    CHECK_FALSE(r.has("mark-read:a"));
    // The close button does the same.
    REQUIRE(r.click("bell"));
    r.frame();
    REQUIRE(r.click("feed-close"));
    CHECK_FALSE(r.view.open);
}

TEST_CASE("the unread dot only on unread items, mark-read:<id> marks that item read", "[ui][feed]") {
    FeedRig r;
    r.load(json::array({item("new", 3, kNow - 2 * kMin, false, "A body that says more"), item("seen", 2, kNow - 5 * kMin, true),
                        item("new2", 1, kNow - 9 * kMin)}),
           2);
    r.open_feed();
    CHECK(r.with_prefix("feed-unread:") == std::vector<std::string>{"feed-unread:new", "feed-unread:new2"});
    CHECK(r.has("mark-read:new"));
    CHECK_FALSE(r.has("mark-read:seen"));  // nothing to mark
    CHECK(r.has("archive:seen"));

    REQUIRE(r.click("mark-read:new"));
    CHECK(r.center.feed().find("new")->read);
    CHECK_FALSE(r.center.feed().find("new2")->read);
    CHECK(r.center.feed().unread() == 1);
    REQUIRE(r.http.has("/notifications/read"));
    CHECK(json::parse(r.http.pending.back().request.body) == json{{"ids", {"new"}}});
    r.frame();
    CHECK(r.with_prefix("feed-unread:") == std::vector<std::string>{"feed-unread:new2"});
    CHECK_FALSE(r.has("mark-read:new"));
    CHECK(r.view.badge == "1");
}

TEST_CASE("an action button opens its link and marks the item read", "[ui][feed]") {
    FeedRig r;
    json a = item("a", 1, kNow - kMin);
    a["action"] = {{"label", "Review"}, {"link", "app:conversation/demo"}};
    r.load(json::array({a}), 1);
    r.open_feed();
    REQUIRE(r.click("feed-action:a"));
    CHECK(r.view.open_url == "app:conversation/demo");
    CHECK(r.center.feed().find("a")->read);
}

TEST_CASE("toasts: a card per live item, hidden while the feed is open, Open feed opens it", "[ui][feed]") {
    FeedRig r;
    r.load(json::array(), 0);
    r.connect();
    r.http.answer("/notifications?limit=20", 200, R"({"items":[],"unreadCount":0})");
    const json n = item("live", 7, kNow - 1000, false, "Something happened");
    r.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "notifications:global"}, {"dataType", "json"},
                         {"data", {{"type", "notification"}, {"notification", n}}}, {"sequenceId", 1}}.dump());
    REQUIRE(r.center.toasts(r.sched.now_ms()).size() == 1);
    r.frame();
    r.frame();  // a new auto-sized window settles in its second frame
    CHECK(r.has("toast:live"));
    CHECK(r.view.badge == "1");
    REQUIRE(r.click("toast:live"));
    CHECK(r.view.open);
    r.frame();
    CHECK_FALSE(r.has("toast:live"));
    CHECK(r.has("feed-unread:live"));
    // Closed again: the toast is back until it expires on the scheduler's clock, whatever the wall clock says.
    r.view.open = false;
    r.frame();
    r.frame();
    CHECK(r.has("toast:live"));
    r.sched.advance(7000);
    r.frame();
    CHECK_FALSE(r.has("toast:live"));
}

TEST_CASE("relative times and day headers come from the wall clock, not the scheduler's", "[ui][feed]") {
    FeedRig r;  // the scheduler runs from 1,000,000 ms (since the page loaded), the wall clock is kNow
    r.load(json::array({item("a", 2, kNow - 5 * kMin), item("b", 1, kNow - kDay)}), 2);
    r.open_feed();
    CHECK(r.with_prefix("feed-day:") == std::vector<std::string>{"feed-day:Today", "feed-day:Yesterday"});
    // A day later on the wall clock, the same items move under other headers.
    r.wall = kNow + kDay;
    r.frame();
    CHECK(r.with_prefix("feed-day:") == std::vector<std::string>{"feed-day:Yesterday", "feed-day:Fri 27 Nov 2026"});
}
