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

TEST_CASE("one sender's consecutive messages within minutes share one header and avatar", "[ui][design]") {
    UiHarness h;
    h.load(6);  // m1 bob, m2 bob, m3 carol, m4 bob, m5 bob, m6 carol, a minute apart
    h.frame();
    h.frame();
    const auto& rows = h.view.history.rows;
    REQUIRE(rows.size() == 6);
    const bool grouped[] = {false, true, false, false, true, false};
    for (std::size_t i = 0; i < 6; ++i) {
        INFO("row " << i);
        CHECK(rows[i].grouped == grouped[i]);
        CHECK((h.find("avatar:" + rows[i].key) != nullptr) == !grouped[i]);
    }
    CHECK(rows[0].day_separator);
    // A grouped row is shorter than a row with a header.
    CHECK(rows[1].height < rows[3].height);
}

TEST_CASE("row actions show on hover only; Copy copies the message", "[ui][design]") {
    UiHarness h;
    h.load(6);
    h.frame(-1, -1);
    h.frame(-1, -1);
    CHECK_FALSE(h.has_prefix("copy:"));  // no permanent button per row
    const ui::Target* text = h.find("text:m6");
    REQUIRE(text);
    const float x = text->x + text->w / 2, y = text->y + text->h / 2;
    h.frame(x, y);
    h.frame(x, y);
    REQUIRE(h.find("copy:m6"));
    CHECK_FALSE(h.find("copy:m5"));
    REQUIRE(h.click("copy:m6"));
    CHECK(h.view.copy_request == "message number 6");
    // The pointer leaves: the actions go.
    h.frame(-1, -1);
    h.frame(-1, -1);
    CHECK_FALSE(h.has_prefix("copy:"));
}

TEST_CASE("a long press (touch) reveals a row's actions", "[ui][design]") {
    UiHarness h;
    h.load(6);
    h.frame();
    const ui::Target* text = h.find("text:m4");
    REQUIRE(text);
    const float x = text->x + 2, y = text->y + text->h / 2;
    for (int i = 0; i < 40; ++i) h.frame(x, y, true);  // held ~0.7 s at 60 fps
    h.frame(x, y, false);
    h.frame(-1, -1);  // a touch ends: no pointer hovers any more
    h.frame(-1, -1);
    CHECK(h.find("copy:m4"));
}

TEST_CASE("New messages: a divider at the first unread message; opened there when the unread do not fit", "[ui][design]") {
    {
        UiHarness h;
        h.load(200, R"({"conversations":[{"conversationId":"demo","title":"Demo","unread":3,"lastReadSeq":197}]})");
        for (int i = 0; i < 3; ++i) h.frame();
        std::size_t dividers = 0;
        for (const auto& r : h.view.history.rows) dividers += r.unread_divider;
        CHECK(dividers == 1);
        for (const auto& r : h.view.history.rows)
            if (r.unread_divider) CHECK(r.key == "m198");
        CHECK(h.find("new-messages"));
        CHECK(h.view.scroll_y == Approx(h.view.scroll_max).margin(2));  // three fit: at the bottom
    }
    {
        UiHarness h;
        h.load(200, R"({"conversations":[{"conversationId":"demo","title":"Demo","unread":100,"lastReadSeq":100}]})");
        for (int i = 0; i < 3; ++i) h.frame();
        CHECK(h.view.scroll_y < h.view.scroll_max - 100);  // opened at the divider, not the bottom
        const ui::Target* divider = h.find("new-messages");
        REQUIRE(divider);
        CHECK(divider->y > 0);
        CHECK(divider->y < 700);
        CHECK(h.session.first_unread_seq() == 101);
    }
    {
        UiHarness h;  // nothing unread: no divider
        h.load(20);
        for (int i = 0; i < 2; ++i) h.frame();
        CHECK_FALSE(h.find("new-messages"));
    }
}

TEST_CASE("Alt+Up/Down switch conversations, from the canvas and from the page's composer", "[ui][design]") {
    UiHarness h;
    h.load(3, R"({"conversations":[{"conversationId":"demo","title":"Demo"},{"conversationId":"c2","title":"Two"},{"conversationId":"c3","title":"Three"}]})");
    h.frame();
    REQUIRE(h.session.current_id() == "demo");
    h.view.nav_request = 1;  // from the page (the composer has focus)
    h.frame();
    CHECK(h.session.current_id() == "c2");
    // From the canvas: ImGui's key state.
    ImGuiIO& io = ImGui::GetIO();
    io.KeyMap[ImGuiKey_DownArrow] = 40;
    io.KeyMap[ImGuiKey_UpArrow] = 38;
    io.KeyAlt = true;
    io.KeysDown[40] = true;
    h.frame();
    io.KeysDown[40] = false;
    h.frame();
    CHECK(h.session.current_id() == "c3");
    io.KeysDown[38] = true;
    h.frame();
    io.KeysDown[38] = false;
    io.KeyAlt = false;
    h.frame();
    CHECK(h.session.current_id() == "c2");
    h.view.nav_request = -1;
    h.frame();
    h.view.nav_request = -1;  // already the first: stays
    h.frame();
    CHECK(h.session.current_id() == "demo");
}

TEST_CASE("loading shows a skeleton, never 'No messages yet'; a failed sign-in has Try again", "[ui][design]") {
    {
        UiHarness h;
        h.session.start();
        h.http.answer("/auth/dev-login", 200, R"({"token":"T"})");
        h.http.answer("/config", 200, "{}");
        h.frame();
        CHECK(h.find("history-skeleton"));
        h.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})");
        h.frame();  // the list is here, the history not yet
        CHECK(h.find("history-skeleton"));
        CHECK_FALSE(h.find("empty-conversation"));
        h.http.answer("/conversation/detail", 200, R"({"messages":[],"hasMore":false})");
        h.frame();
        CHECK_FALSE(h.find("history-skeleton"));
        CHECK(h.find("empty-conversation"));
    }
    UiHarness h;
    h.session.start();
    h.http.answer("/auth/dev-login", 501, "");
    h.frame();
    REQUIRE(h.session.phase() == chat::Phase::Failed);
    REQUIRE(h.find("retry-start"));
    CHECK_FALSE(h.http.has("/auth/dev-login"));
    REQUIRE(h.click("retry-start"));
    CHECK(h.http.has("/auth/dev-login"));
    CHECK(h.session.phase() == chat::Phase::SigningIn);
}

TEST_CASE("the send button asks the platform to send the composer's text", "[ui][design]") {
    UiHarness h;
    h.load(3);
    h.frame();
    CHECK_FALSE(h.view.send_request);
    REQUIRE(h.click("send"));
    CHECK(h.view.send_request);
}

TEST_CASE("a conversation whose history fails to load says why and has Try again", "[ui][design]") {
    UiHarness h;
    h.load(3, R"({"conversations":[{"conversationId":"demo","title":"Demo"},{"conversationId":"c2","title":"Two"}]})");
    h.frame();
    h.session.open_conversation("c2");
    REQUIRE(h.http.answer("conversationId=c2", 500, R"({"error":{"message":"db down"}})"));
    h.frame();
    CHECK_FALSE(h.find("history-skeleton"));
    REQUIRE(h.find("retry-history"));
    CHECK_FALSE(h.http.has("conversationId=c2"));
    REQUIRE(h.click("retry-history"));
    CHECK(h.http.has("conversationId=c2"));
    h.frame();
    CHECK(h.find("history-skeleton"));  // on its way again
}
