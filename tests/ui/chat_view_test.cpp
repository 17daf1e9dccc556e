// The ImGui chat panel, headless: layout, virtualisation and intents.
#include "ui_harness.hpp"

#include <catch2/catch.hpp>

TEST_CASE("the history draws only the visible rows, for 100 and for 100,000 messages", "[ui]") {
    for (std::size_t n : {std::size_t(100), std::size_t(100000)}) {
        UiHarness h(n);
        h.load(n);
        REQUIRE(h.session.conversation().size() == n);
        for (int i = 0; i < 3; ++i) h.frame();
        INFO(n << " messages");
        CHECK(h.view.rows_drawn > 5);
        CHECK(h.view.rows_drawn < 40);
        // Opened at the bottom: the newest message is what the user sees.
        CHECK(h.view.scroll_y == Approx(h.view.scroll_max).margin(2));
        CHECK(h.view.history.rows.size() == n);
    }
}

TEST_CASE("close and open are real clicks on the panel", "[ui]") {
    UiHarness h;
    h.load(10);
    h.frame();
    REQUIRE(h.click("close-chat"));
    CHECK_FALSE(h.session.panel_open());
    CHECK(h.session.connection().state == wps::ClientState::Stopped);
    h.frame();
    REQUIRE(h.click("open-chat"));
    CHECK(h.session.panel_open());
}

TEST_CASE("scrolled up, new messages show a jump-down button that returns to the bottom", "[ui]") {
    UiHarness h;
    h.load(200);
    for (int i = 0; i < 3; ++i) h.frame();
    // Scroll up with the wheel over the list.
    ImGui::GetIO().MouseWheel = 20;
    h.frame(600, 300);
    h.frame(600, 300);
    REQUIRE(h.view.scroll_y < h.view.scroll_max - 100);
    nlohmann::json m{{"messageId", "live1"}, {"conversationId", "demo"}, {"seq", 201}, {"senderId", "bob"}, {"text", "new!"}, {"createdAt", 1}};
    h.socks.receive(nlohmann::json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                                   {"data", {{"type", "chat.message"}, {"message", m}}}}.dump());
    h.frame(600, 300);
    CHECK(h.view.new_below == 1);
    REQUIRE(h.click("jump-down"));
    h.frame();
    h.frame();
    CHECK(h.view.scroll_y == Approx(h.view.scroll_max).margin(2));
    CHECK(h.view.new_below == 0);
}

TEST_CASE("the composer area is reserved and reported for the page's textarea", "[ui]") {
    UiHarness h;
    h.load(3);
    h.frame();
    CHECK(h.view.composer_visible);
    CHECK(h.view.composer_w > 500);
    CHECK(h.view.composer_y > 500);
    CHECK(h.view.composer_y + h.view.composer_h < 700);
}

TEST_CASE("thumbnails are fetched only for our own uploads, never for an off-site image link", "[ui][security]") {
    UiHarness h;
    h.load(2);
    h.frame();
    auto live = [&](uint64_t seq, const std::string& url) {
        nlohmann::json m{{"messageId", "img" + std::to_string(seq)}, {"conversationId", "demo"}, {"seq", seq}, {"senderId", "bob"},
                         {"text", ""}, {"createdAt", 1},
                         {"attachment", {{"url", url}, {"name", "p.png"}, {"contentType", "image/png"}, {"size", 10}}}};
        h.socks.receive(nlohmann::json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                                       {"data", {{"type", "chat.message"}, {"message", m}}}}.dump());
    };
    // A tracking pixel: every member's browser would fetch it unasked.
    live(3, "https://tracker.example/px.png?who=all");
    for (int i = 0; i < 3; ++i) h.frame();
    CHECK(h.view.thumbnail_requests.empty());
    live(4, "/blobs/blob_0123456789abcdef0123?exp=1&sig=x");
    for (int i = 0; i < 3; ++i) h.frame();
    REQUIRE(h.view.thumbnail_requests.size() == 1);
    CHECK(h.view.thumbnail_requests[0].rfind("/blobs/", 0) == 0);
}

TEST_CASE("appended messages extend the layout exactly as a full rebuild would lay it out", "[ui]") {
    using nlohmann::json;
    UiHarness h;
    h.load(300);
    for (int i = 0; i < 2; ++i) h.frame();
    auto live = [&](std::size_t seq, int64_t at, const std::string& cmid = "") {
        h.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                             {"data", {{"type", "chat.message"},
                                       {"message", {{"messageId", "live" + std::to_string(seq)}, {"conversationId", "demo"}, {"seq", seq},
                                                    {"senderId", "bob"}, {"text", "live " + std::to_string(seq) + " with some words to wrap"},
                                                    {"clientMessageId", cmid}, {"createdAt", at}}}}}}
                            .dump());
    };
    std::string why;
    REQUIRE(h.session.send("pending one", why));  // a local row after the stored ones
    h.frame();
    live(301, int64_t(1795000000000) + 301 * 60000);
    live(302, int64_t(1795000000000) + 400 * 86400000LL);  // another day: a separator row
    h.frame();
    const auto incremental = h.view.history.rows;
    const float total = h.view.history.total;
    // Lay the same conversation out from scratch.
    h.view.history.stored_rows = 0;
    h.view.history.version = 0;
    h.frame();
    const auto& full = h.view.history.rows;
    REQUIRE(incremental.size() == full.size());
    REQUIRE(full.size() == 303);
    for (std::size_t i = 0; i < full.size(); ++i) {
        INFO("row " << i);
        CHECK(incremental[i].key == full[i].key);
        CHECK(incremental[i].day_separator == full[i].day_separator);
        CHECK(incremental[i].offset == Approx(full[i].offset));
        CHECK(incremental[i].msg == full[i].msg);
    }
    CHECK(total == Approx(h.view.history.total));
    CHECK(full.back().msg->state == chat::SendState::Pending);  // local rows stay after the stored ones
}

TEST_CASE("the banner says Live only when the conversation is live, never over an error or before the first sync", "[ui]") {
    {
        UiHarness h;
        h.session.start();
        h.http.answer("/auth/dev-login", 501, R"({"error":{"message":"Not Implemented"}})");  // a static host
        ui::BannerMemory mem;
        const auto b = ui::banner_state(h.session, mem, h.sched.now_ms());
        CHECK(b.text == "Not connected");
        h.frame();  // and the panel draws without a crash
    }
    {
        UiHarness h;
        h.session.start();
        h.http.answer("/auth/dev-login", 200, R"({"token":"T"})");
        h.http.answer("/config", 200, "{}");
        h.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})");
        h.http.answer("/conversation/detail", 200, R"({"messages":[],"hasMore":false})");
        ui::BannerMemory mem;
        // The first connection fails at once: a warning, not a flash of "Live" (never live yet).
        h.http.answer("/realtime/clientAccessUrl", 503, R"({"error":{"message":"busy"}})");
        CHECK(ui::banner_state(h.session, mem, h.sched.now_ms()).text.rfind("Reconnecting", 0) == 0);
        h.sched.advance(60000);
        h.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})");
        h.socks.open();
        h.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1"})");
        CHECK(ui::banner_state(h.session, mem, h.sched.now_ms()).text == "Joining the conversation...");
        h.http.answer("/chat/subscribe", 200, "{}");
        CHECK(ui::banner_state(h.session, mem, h.sched.now_ms()).text == "Catching up...");
        h.http.answer("afterSeq=", 200, R"({"messages":[],"hasMore":false})");
        CHECK(ui::banner_state(h.session, mem, h.sched.now_ms()).text == "Live");
        // Live before: a blip keeps "Live" for the grace period, then says what is going on.
        h.socks.drop(1006);
        CHECK(ui::banner_state(h.session, mem, h.sched.now_ms()).text == "Live");
        h.sched.advance(2500);
        const auto later = ui::banner_state(h.session, mem, h.sched.now_ms());
        CHECK(later.text != "Live");
        CHECK(later.trouble);
    }
}

TEST_CASE("an empty conversation says so", "[ui]") {
    {
        UiHarness h;
        h.load(0);
        h.frame();
        bool empty_shown = false;
        for (const auto& t : ui::targets()) empty_shown = empty_shown || t.name == "empty-conversation";
        CHECK(empty_shown);
    }
    UiHarness full;  // one ImGui context at a time
    full.load(3);
    full.frame();
    for (const auto& t : ui::targets()) CHECK(t.name != "empty-conversation");
}
