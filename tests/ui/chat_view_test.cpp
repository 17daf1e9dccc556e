// The ImGui chat panel, headless: layout, virtualisation and intents.
#include "ui_harness.hpp"
#include "ui/theme.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

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

TEST_CASE("a preview is fetched once per file, whatever link to it a later copy of the message carries", "[ui]") {
    UiHarness h;
    h.load(2);
    auto event = [&](const char* type, int version, const std::string& url) {
        nlohmann::json m{{"messageId", "img3"}, {"conversationId", "demo"}, {"seq", 3}, {"senderId", "bob"}, {"text", "t"},
                         {"createdAt", 1}, {"version", version},
                         {"attachment", {{"url", url}, {"name", "p.png"}, {"contentType", "image/png"}, {"size", 10}}}};
        if (version > 0) m["editedAt"] = 2;
        h.socks.receive(nlohmann::json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                                       {"data", {{"type", type}, {"message", m}}}}.dump());
        for (int i = 0; i < 3; ++i) h.frame();
    };
    event("chat.message", 0, "/blobs/blob_0123456789abcdef0123?exp=100&sig=a");
    REQUIRE(h.view.thumbnail_requests.size() == 1);
    // An edit whose copy carries a later link to the same file: no second fetch.
    event("chat.message.updated", 1, "/blobs/blob_0123456789abcdef0123?exp=900&sig=b");
    CHECK(h.view.thumbnail_requests.size() == 1);
    CHECK(h.view.thumbnails.size() == 1);
}

TEST_CASE("a preview that failed to load is asked for again twice, later, then shows no preview", "[ui]") {
    UiHarness h;
    h.load(2);
    const std::string url = "/blobs/blob_0123456789abcdef0123?exp=1&sig=x";
    nlohmann::json m{{"messageId", "img3"}, {"conversationId", "demo"}, {"seq", 3}, {"senderId", "bob"}, {"text", ""}, {"createdAt", 1},
                     {"attachment", {{"url", url}, {"name", "p.png"}, {"contentType", "image/png"}, {"size", 10}}}};
    h.socks.receive(nlohmann::json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                                   {"data", {{"type", "chat.message"}, {"message", m}}}}.dump());
    h.view.wall_ms = 1'000'000;
    const std::string file = url.substr(0, url.find('?'));  // previews are kept by file
    auto requests = [&] {
        for (int i = 0; i < 3; ++i) h.frame();
        const auto n = h.view.thumbnail_requests.size();
        h.view.thumbnail_requests.clear();
        return n;
    };
    REQUIRE(requests() == 1);
    for (int attempt = 1; attempt < ui::Thumbnail::kAttempts; ++attempt) {
        ui::thumbnail_failed(h.view.thumbnails[file], h.view.wall_ms);  // what the platform reports
        CHECK(requests() == 0);                                         // not at once
        h.view.wall_ms += 3000 * attempt;
        CHECK(requests() == 1);                                         // later, once
        CHECK_FALSE(h.view.thumbnails[file].failed);
    }
    ui::thumbnail_failed(h.view.thumbnails[file], h.view.wall_ms);
    CHECK(h.view.thumbnails[file].failed);
    h.view.wall_ms += 60'000;
    CHECK(requests() == 0);  // for good
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

TEST_CASE("row actions show on hover only, Copy copies the message", "[ui][design]") {
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

TEST_CASE("New messages: a divider at the first unread message, opened there when the unread do not fit", "[ui][design]") {
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
        // A live message appended after it (the layout is extended, not rebuilt): still one
        // divider, where it was.
        const std::size_t rows = h.view.history.rows.size();
        h.socks.receive(nlohmann::json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                                       {"data", {{"type", "chat.message"},
                                                 {"message", {{"messageId", "live201"}, {"conversationId", "demo"}, {"seq", 201},
                                                              {"senderId", "bob"}, {"text", "a live one"}, {"createdAt", int64_t(1795000000000)}}}}}}
                            .dump());
        for (int i = 0; i < 2; ++i) h.frame();
        REQUIRE(h.view.history.rows.size() == rows + 1);
        dividers = 0;
        for (const auto& r : h.view.history.rows) dividers += r.unread_divider;
        CHECK(dividers == 1);
        CHECK_FALSE(h.view.history.rows.back().unread_divider);
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

TEST_CASE("draw code only records intents: the session acts when the composition root applies them", "[ui][intents]") {
    UiHarness h;
    h.load(3, R"({"conversations":[{"conversationId":"demo","title":"Demo"},{"conversationId":"c2","title":"Two"}]})");
    h.frame();
    h.apply = false;
    const std::size_t before = h.http.pending.size();
    REQUIRE(h.click("conv:c2"));
    REQUIRE(h.view.intents.size() == 1);
    CHECK(h.view.intents[0].kind == ui::ChatIntent::Kind::Open);
    CHECK(h.view.intents[0].arg == "c2");
    CHECK(h.session.current_id() == "demo");        // nothing happened while drawing
    CHECK(h.http.pending.size() == before);          // no request started from draw code
    REQUIRE(h.click("close-chat"));
    REQUIRE(h.view.intents.size() == 2);
    CHECK(h.session.panel_open());
    // Applied in the order asked: the conversation opens (its history is requested), then the panel closes.
    CHECK(ui::apply_intents(h.session, h.view));
    CHECK(h.view.intents.empty());
    CHECK(h.session.current_id() == "c2");
    CHECK(h.http.has("conversationId=c2"));
    CHECK_FALSE(h.session.panel_open());
    CHECK_FALSE(ui::apply_intents(h.session, h.view));  // nothing left
    // Asked for one conversation, dropped once another is open: Load older and Try again (history).
    h.view.intents.push_back({ui::ChatIntent::Kind::Open, "demo"});
    h.view.intents.push_back({ui::ChatIntent::Kind::LoadOlder, "c2"});
    h.view.intents.push_back({ui::ChatIntent::Kind::Reload, "c2"});
    const auto c2_requests = [&] {
        return std::count_if(h.http.pending.begin(), h.http.pending.end(),
                             [](const auto& p) { return p.request.url.find("conversationId=c2") != std::string::npos; });
    };
    const auto before_c2 = c2_requests();
    ui::apply_intents(h.session, h.view);
    CHECK(h.session.current_id() == "demo");
    CHECK_FALSE(h.session.loading_older());
    CHECK(c2_requests() == before_c2);  // nothing for c2
    // Keyboard and mirror actions record the same intents.
    REQUIRE(ui::chat_action(h.session, h.view, "open-chat"));
    CHECK_FALSE(h.session.panel_open());
    ui::apply_intents(h.session, h.view);
    CHECK(h.session.panel_open());
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

TEST_CASE("loading shows a skeleton, never 'No messages yet', a failed sign-in has Try again", "[ui][design]") {
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

namespace {
// `n` conversations besides demo, titled in several scripts.
std::string many_conversations(int n) {
    static const char* const titles[] = {"Launch planning", u8"Встреча в ПЯТНИЦУ", u8"ΟΜΆΔΑ σχεδιασμού", u8"週次の会議",
                                         "Budget 2027", u8"Ёлка party", "Design review", "Hiring"};
    nlohmann::json list = nlohmann::json::array();
    list.push_back({{"conversationId", "demo"}, {"title", "Demo"}});
    for (int i = 0; i < n; ++i) list.push_back({{"conversationId", "c" + std::to_string(i)}, {"title", titles[i % 8]}});
    return nlohmann::json{{"conversations", list}}.dump();
}
int shown_conversations(const UiHarness& h) {
    int n = 0;
    for (const auto& t : ui::targets()) n += t.name.rfind("conv:", 0) == 0;
    return n;
}
} // namespace

TEST_CASE("the conversation filter shows once there are more than a handful, and matches titles in any case and script", "[ui][filter]") {
    {
        UiHarness h;
        h.load(3, many_conversations(ui::kFilterAfter - 1));  // demo + 5: six, a handful
        h.frame();
        CHECK_FALSE(h.find("conv-filter"));
        CHECK_FALSE(h.view.filter_field.visible);
        h.view.conv_filter = "zzz";  // a filter left from before has no effect without its box
        h.frame();
        CHECK(shown_conversations(h) == 6);
    }
    UiHarness h;
    h.load(3, many_conversations(8));
    h.frame();
    REQUIRE(h.find("conv-filter"));
    CHECK(h.view.filter_field.visible);
    CHECK(h.view.filter_field.w > 100);
    CHECK(shown_conversations(h) == 9);
    const auto shown_for = [&](const char* q) {
        h.view.conv_filter = q;
        h.frame();
        return shown_conversations(h);
    };
    CHECK(shown_for("PLAN") == 1);
    CHECK(shown_for(u8"пятниц") == 1);
    CHECK(shown_for(u8"ομάδα") == 1);
    CHECK(shown_for(u8"会議") == 1);
    CHECK(shown_for(u8"ёЛКА") == 1);
    CHECK(shown_for("E") == 3);  // Demo, Budget 2027, Design review (Cyrillic е is another letter)
    CHECK(shown_for("nothing like it") == 0);
    CHECK(h.find("conv-filter-empty"));
    // Alt+Down walks the filtered list only.
    CHECK(shown_for("review") == 1);
    h.view.nav_request = 1;
    h.frame();
    CHECK(h.session.current_id() == "c6");
}

TEST_CASE("New conversation: pick people, create, and it opens, Cancel and Esc leave it", "[ui][create]") {
    UiHarness h;
    h.load(3);
    while (h.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})")) {
    }  // the list the subscription reloaded
    h.frame();
    REQUIRE(h.click("new-conversation"));
    CHECK(h.view.picker.open);
    REQUIRE(h.http.has("/chat/contacts"));
    h.frame();
    CHECK(h.find("contacts-loading"));
    CHECK_FALSE(h.view.composer_visible);  // the picker takes the composer's place
    REQUIRE(h.http.answer("/chat/contacts", 200, R"({"users":[{"userId":"bob","displayName":"Bob Chen"},{"userId":"carol","displayName":"Carol Diaz"}]})"));
    h.frame();
    REQUIRE(h.find("pick:bob"));
    REQUIRE(h.find("new-conversation-title"));
    CHECK(h.view.title_field.visible);
    // Create waits for someone picked.
    REQUIRE(h.click("create-conversation"));
    CHECK_FALSE(h.http.has("/chat/conversations"));
    REQUIRE(h.click("pick:bob"));
    REQUIRE(h.click("pick:carol"));
    REQUIRE(h.click("pick:carol"));  // and unpicked
    CHECK(h.view.picker.picked == std::set<std::string>{"bob"});
    CHECK(ui::default_title(h.session, h.view.picker) == "Bob Chen");
    REQUIRE(h.click("create-conversation"));
    REQUIRE(h.http.has("/chat/conversations"));
    CHECK(nlohmann::json::parse(h.http.pending.back().request.body) == nlohmann::json{{"title", "Bob Chen"}, {"members", {"bob"}}});
    REQUIRE(h.http.answer("/chat/conversations", 201, R"({"conversation":{"conversationId":"c_new","title":"Bob Chen","lastSeq":0}})"));
    h.frame();
    CHECK_FALSE(h.view.picker.open);
    CHECK(h.view.focus_composer);
    CHECK(h.session.current_id() == "c_new");
    CHECK(h.find("conv:c_new"));

    // Cancel, and Esc, close it without creating anything.
    REQUIRE(h.click("new-conversation"));
    h.http.answer("/chat/contacts", 200, R"({"users":[{"userId":"bob","displayName":"Bob Chen"}]})");
    h.frame();
    REQUIRE(h.click("cancel-new-conversation"));
    CHECK_FALSE(h.view.picker.open);
    REQUIRE(h.act("new-conversation"));
    CHECK(h.view.picker.open);
    REQUIRE(h.act("escape"));
    CHECK_FALSE(h.view.picker.open);
    CHECK_FALSE(h.act("escape"));  // nothing left to close
}

TEST_CASE("a typed title is used, long default titles are cut to the server's 200 bytes", "[ui][create]") {
    UiHarness h;
    h.load(1);
    while (h.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})")) {
    }
    h.frame();
    REQUIRE(h.act("new-conversation"));
    std::string users = R"({"users":[)";
    for (int i = 0; i < 40; ++i) users += std::string(i ? "," : "") + R"({"userId":"u)" + std::to_string(i) + R"(","displayName":"Ωmega Person )" + std::to_string(i) + "\"}";
    REQUIRE(h.http.answer("/chat/contacts", 200, users + "]}"));
    for (int i = 0; i < 40; ++i) REQUIRE(h.act("pick:u" + std::to_string(i)));
    const std::string t = ui::default_title(h.session, h.view.picker);
    CHECK(t.size() <= 200);
    CHECK(t.rfind(u8"Ωmega Person 0, Ωmega Person 1", 0) == 0);
    h.view.picker.title = u8"  Общий чат ";
    REQUIRE(h.act("create-conversation"));
    CHECK(nlohmann::json::parse(h.http.pending.back().request.body)["title"] == u8"  Общий чат ");
    CHECK(nlohmann::json::parse(h.http.pending.back().request.body)["members"].size() == 40);
}

TEST_CASE("every row action by name (keyboard and mirror): copy, open attachment, retry", "[ui][a11y]") {
    UiHarness h;
    h.load(4);
    h.frame();
    REQUIRE(h.act("copy:m3"));
    CHECK(h.view.copy_request == "message number 3");
    CHECK_FALSE(h.act("copy:nope"));
    nlohmann::json m{{"messageId", "a5"}, {"conversationId", "demo"}, {"seq", 5}, {"senderId", "bob"}, {"text", ""}, {"createdAt", 1},
                     {"attachment", {{"url", "https://files.example/r.pdf"}, {"name", "r.pdf"}, {"contentType", "application/pdf"}, {"size", 10}}}};
    h.socks.receive(nlohmann::json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                                   {"data", {{"type", "chat.message"}, {"message", m}}}}.dump());
    REQUIRE(h.act("attachment:a5"));
    CHECK(h.view.open_url == "https://files.example/r.pdf");
    CHECK_FALSE(h.act("copy:a5"));  // nothing to copy
    // A failed send: Retry by its clientMessageId.
    std::string why;
    REQUIRE(h.session.send("hello", why));
    const std::string cmid = h.session.conversation().locals().at(0)->clientMessageId;
    REQUIRE(h.http.answer("/chat/reply", 400, R"({"error":{"message":"no"}})"));
    REQUIRE(h.session.failed_count() == 1);
    REQUIRE(h.act("retry:" + cmid));
    CHECK(h.session.failed_count() == 0);
    CHECK(h.http.has("/chat/reply"));
    CHECK_FALSE(h.act("no-such-thing"));
}

TEST_CASE("the keyboard focus: the ring around the focused item, its row's actions shown, scrolled into view", "[ui][a11y]") {
    UiHarness h;
    h.load(200);
    for (int i = 0; i < 3; ++i) h.frame();
    // The ring is drawn inside a frame, after the panel (as the app does).
    bool ringed = true;
    h.frame(-1, -1, false, [&] { ringed = ui::draw_focus_ring("", false, 1); });
    CHECK_FALSE(ringed);
    // A conversation row.
    h.view.focus = "conv:demo";
    h.frame(-1, -1, false, [&] { ringed = ui::draw_focus_ring(h.view.focus, false, 1); });
    REQUIRE(ringed);
    const ui::Target* ring = h.find("focus-ring");
    const ui::Target* row = h.find("conv:demo");
    REQUIRE(ring);
    REQUIRE(row);
    CHECK(ring->x < row->x);
    CHECK(ring->y < row->y);
    CHECK(ring->x + ring->w > row->x + row->w);
    CHECK(ring->y + ring->h > row->y + row->h);
    // An old message far above: brought into view, its actions shown while focused.
    REQUIRE_FALSE(h.find("msg:m10"));
    h.view.focus = "msg:m10";
    h.frame();
    h.frame();
    REQUIRE(h.find("msg:m10"));
    CHECK(h.find("copy:m10"));
    h.view.focus = "copy:m10";
    h.frame(-1, -1, false, [&] { ringed = ui::draw_focus_ring(h.view.focus, true, 1); });
    REQUIRE(ringed);
    // The ring is drawn in the palette's focus colour, on top of everything.
    bool drawn = false;
    const ImU32 focus = ImGui::ColorConvertFloat4ToU32(ui::theme::palette(true).focus);
    ImDrawList* fg = ImGui::GetForegroundDrawList();
    for (int i = 0; i < fg->VtxBuffer.Size; ++i) drawn = drawn || fg->VtxBuffer[i].col == focus;
    CHECK(drawn);
    h.view.focus.clear();
    h.frame();
    CHECK_FALSE(h.find("copy:m10"));
}

// ---- edits and deletes (issue 18) ----

namespace {
// A message of the user's own (alice), live, as seq `seq`.
void own_message(UiHarness& h, uint64_t seq, const std::string& text) {
    using nlohmann::json;
    const json m{{"messageId", "m" + std::to_string(seq)}, {"conversationId", "demo"}, {"seq", seq}, {"senderId", "alice"},
                 {"text", text}, {"createdAt", int64_t(1795000000000) + int64_t(seq) * 60000}};
    h.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                         {"data", {{"type", "chat.message"}, {"message", m}}}}
                        .dump());
}
std::string request_body(UiHarness& h, const std::string& url_part, std::string* method = nullptr) {
    for (const auto& p : h.http.pending)
        if (p.request.url.find(url_part) != std::string::npos) {
            if (method) *method = p.request.method;
            return p.request.body;
        }
    return "<none>";
}
float row_height(UiHarness& h, const std::string& key) {
    for (const auto& r : h.view.history.rows)
        if (r.key == key) return r.height;
    return -1;
}
void hover(UiHarness& h, const std::string& name) {
    const ui::Target* t = h.find(name);
    REQUIRE(t);
    const float x = t->x + t->w / 2, y = t->y + t->h / 2;
    h.frame(x, y);
    h.frame(x, y);
}
} // namespace

TEST_CASE("Edit and Delete are offered on the user's own messages only, Edit fills the composer, Enter saves, Esc cancels", "[ui][edits]") {
    using nlohmann::json;
    UiHarness h;
    h.load(6);
    own_message(h, 7, "my own words");
    h.frame();
    h.frame();
    hover(h, "text:m6");  // bob's
    CHECK(h.find("copy:m6"));
    CHECK_FALSE(h.find("edit:m6"));
    CHECK_FALSE(h.find("delete:m6"));
    CHECK_FALSE(h.act("edit:m6"));
    CHECK_FALSE(h.act("delete:m6"));
    hover(h, "text:m7");
    REQUIRE(h.find("edit:m7"));
    REQUIRE(h.find("delete:m7"));
    CHECK(h.find("copy:m7"));

    const float before = row_height(h, "m7");
    REQUIRE(h.click("edit:m7"));
    CHECK(h.view.editing == "m7");
    REQUIRE(h.view.composer_text);
    CHECK(*h.view.composer_text == "my own words");
    CHECK(h.view.focus_composer);
    h.frame();
    CHECK(h.find("cancel-edit"));  // the line above the composer says what Enter and Esc do
    // Esc: back to writing (the page puts the draft back), nothing sent.
    h.view.composer_text.reset();
    CHECK(h.act("escape"));
    CHECK(h.view.editing.empty());
    CHECK_FALSE(h.view.composer_text);
    CHECK_FALSE(h.http.has("/chat/messages/"));

    // Up in an empty composer edits the newest own message; Enter (submit_edit) saves it.
    CHECK(h.act("edit-last"));
    CHECK(h.view.editing == "m7");
    const std::string longer(600, 'x');
    CHECK(ui::submit_edit(h.session, h.view, "my own words, and many more: " + longer));
    h.frame();  // the intent applies after the frame
    CHECK(h.view.editing.empty());
    std::string method;
    CHECK(json::parse(request_body(h, "/chat/messages/m7", &method))["text"] == "my own words, and many more: " + longer);
    CHECK(method == "PATCH");
    json stored = json::parse(request_body(h, "/chat/messages/m7"));
    REQUIRE(h.http.answer("/chat/messages/m7", 200,
                          json{{"message", {{"messageId", "m7"}, {"conversationId", "demo"}, {"seq", 7}, {"senderId", "alice"},
                                            {"text", stored["text"]}, {"createdAt", int64_t(1795000000000) + 7 * 60000},
                                            {"version", 1}, {"editedAt", int64_t(1795000999000)}}}}
                              .dump()));
    h.frame();
    h.frame();
    // The row is laid out again for its new text (the layout extends only for appended messages).
    CHECK(row_height(h, "m7") > before);
    // Not editing: a submit is a new message.
    CHECK_FALSE(ui::submit_edit(h.session, h.view, "hello"));
}

TEST_CASE("Delete asks first, confirmed, the row becomes 'Message deleted' with no actions", "[ui][edits]") {
    using nlohmann::json;
    UiHarness h;
    h.load(6);
    own_message(h, 7, "regrettable");
    h.frame();
    h.frame();
    hover(h, "text:m7");
    REQUIRE(h.click("delete:m7"));
    CHECK(h.view.confirm_delete == "m7");
    h.frame();
    REQUIRE(h.find("delete-dialog"));
    CHECK_FALSE(h.http.has("/chat/messages/"));  // nothing yet
    REQUIRE(h.click("cancel-delete"));
    CHECK(h.view.confirm_delete.empty());
    h.frame();
    CHECK_FALSE(h.find("delete-dialog"));
    CHECK_FALSE(h.http.has("/chat/messages/"));

    CHECK(h.act("delete:m7"));
    CHECK(h.act("escape"));  // Esc closes the dialog too
    CHECK(h.view.confirm_delete.empty());
    CHECK(h.act("delete:m7"));
    h.frame();
    REQUIRE(h.click("confirm-delete"));
    std::string method;
    request_body(h, "/chat/messages/m7", &method);
    CHECK(method == "DELETE");
    REQUIRE(h.http.answer("/chat/messages/m7", 200,
                          json{{"message", {{"messageId", "m7"}, {"conversationId", "demo"}, {"seq", 7}, {"senderId", "alice"},
                                            {"text", ""}, {"createdAt", 1}, {"version", 2}, {"deleted", true}}}}
                              .dump()));
    h.frame();
    h.frame();
    REQUIRE(h.find("text:m7"));  // "Message deleted" in its place
    hover(h, "text:m7");
    CHECK_FALSE(h.find("copy:m7"));
    CHECK_FALSE(h.find("edit:m7"));
    CHECK_FALSE(h.find("delete:m7"));
    CHECK_FALSE(h.act("edit-last"));  // no own message left to edit
    CHECK(h.session.conversation().find("m7")->deleted);
}

TEST_CASE("a refused edit says why and opens again with its text, an edit ends when its message is deleted elsewhere", "[ui][edits]") {
    using nlohmann::json;
    UiHarness h;
    h.load(3);
    own_message(h, 4, "first");
    h.frame();
    CHECK(h.act("edit:m4"));
    CHECK(ui::submit_edit(h.session, h.view, "   "));  // empty: refused here
    h.frame();
    CHECK(h.view.last_error == "The message is empty; delete it instead.");
    CHECK(h.view.editing == "m4");  // still editing, with what was typed
    CHECK(h.view.composer_text == std::optional<std::string>("   "));
    // The server refuses (a 429 here): its reason on the composer line, the edit open again with
    // the text typed (nothing typed is lost).
    h.view.composer_text.reset();
    CHECK(ui::submit_edit(h.session, h.view, "second"));
    h.frame();
    CHECK(h.view.editing.empty());
    REQUIRE(h.http.answer("/chat/messages/m4", 429, R"({"error":{"code":"TooManyRequests","message":"Too many edits; try again in 3 s."}})"));
    CHECK(h.view.last_error.find("Too many edits") != std::string::npos);
    CHECK(h.view.editing == "m4");
    CHECK(h.view.composer_text == std::optional<std::string>("second"));
    CHECK(h.act("escape"));
    // Editing while the conversation's creator deletes it (a live event): the edit ends.
    own_message(h, 5, "third");
    CHECK(h.act("edit:m5"));
    h.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                         {"data", {{"type", "chat.message.updated"},
                                   {"message", {{"messageId", "m5"}, {"conversationId", "demo"}, {"seq", 5}, {"senderId", "alice"},
                                                {"text", ""}, {"version", 3}, {"deleted", true}}}}}}
                        .dump());
    h.frame();
    CHECK(h.view.editing.empty());
}

TEST_CASE("an edit that makes the newest message taller keeps the view at the bottom, and new messages still follow", "[ui][edits]") {
    using nlohmann::json;
    UiHarness h;
    h.load(60);
    own_message(h, 61, "short");
    for (int i = 0; i < 4; ++i) h.frame();
    REQUIRE(h.view.scroll_max > 0);
    REQUIRE(h.view.scroll_y >= h.view.scroll_max - 1);
    const float before = h.view.scroll_max;
    h.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                         {"data", {{"type", "chat.message.updated"},
                                   {"message", {{"messageId", "m61"}, {"conversationId", "demo"}, {"seq", 61}, {"senderId", "alice"},
                                                {"text", std::string(900, 'y')}, {"createdAt", int64_t(1795000000000) + 61 * 60000},
                                                {"version", 1}, {"editedAt", 1}}}}}}
                        .dump());
    for (int i = 0; i < 4; ++i) h.frame();
    CHECK(h.view.scroll_max > before);
    CHECK(h.view.scroll_y >= h.view.scroll_max - 1);
    own_message(h, 62, "and one more");
    for (int i = 0; i < 4; ++i) h.frame();
    CHECK(h.view.scroll_y >= h.view.scroll_max - 1);
}

TEST_CASE("reactions: the picker from the row's actions, chips with counts, a click on one's own takes it back", "[ui][reactions]") {
    using nlohmann::json;
    const std::string thumbs = "\xF0\x9F\x91\x8D", party = "\xF0\x9F\x8E\x89";
    UiHarness h;
    h.load(6);
    h.frame();
    hover(h, "text:m6");
    REQUIRE(h.click("reactions:m6"));
    CHECK(h.view.react_picker == "m6");
    h.frame();
    REQUIRE(h.find("pick-reaction:" + thumbs));
    REQUIRE(h.click("pick-reaction:" + thumbs));
    CHECK(h.view.react_picker.empty());  // one tap: picked, closed
    std::string method;
    CHECK(json::parse(request_body(h, "/chat/messages/m6/reactions", &method)) == json{{"emoji", thumbs}});
    CHECK(method == "POST");
    auto answer = [&](json reactions, uint64_t version) {
        return json{{"message", {{"messageId", "m6"}, {"conversationId", "demo"}, {"seq", 6}, {"senderId", "carol"},
                                 {"text", "message number 6"}, {"createdAt", int64_t(1795000000000) + 6 * 60000},
                                 {"version", version}, {"reactions", reactions}}}}
            .dump();
    };
    REQUIRE(h.http.answer("/chat/messages/m6/reactions", 200,
                          answer(json::array({{{"emoji", thumbs}, {"users", {"bob", "alice"}}}, {{"emoji", party}, {"users", {"bob"}}}}), 1)));
    h.frame();
    h.frame();
    REQUIRE(h.find("react:m6:" + thumbs));
    REQUIRE(h.find("react:m6:" + party));
    CHECK(h.session.conversation().find("m6")->reactions.size() == 2);
    // alice's own: a click takes it back (DELETE); someone else's emoji: a click adds hers (POST).
    REQUIRE(h.click("react:m6:" + thumbs));
    request_body(h, "/chat/messages/m6/reactions", &method);
    CHECK(method == "DELETE");
    REQUIRE(h.http.answer("/chat/messages/m6/reactions", 200, answer(json::array({{{"emoji", thumbs}, {"users", {"bob"}}}, {{"emoji", party}, {"users", {"bob"}}}}), 2)));
    CHECK(h.act("react:m6:" + party));
    request_body(h, "/chat/messages/m6/reactions", &method);
    CHECK(method == "POST");
    // Esc closes an open picker first; a tombstone offers none.
    CHECK(h.act("reactions:m6"));
    CHECK(h.act("escape"));
    CHECK(h.view.react_picker.empty());
    CHECK_FALSE(h.act("react:m6"));  // no emoji
}

namespace {
nlohmann::json ui_msg(uint64_t seq, const std::string& sender, const std::string& text, const std::string& reply_to = {}, uint64_t reply_seq = 0) {
    nlohmann::json m{{"messageId", "m" + std::to_string(seq)}, {"conversationId", "demo"}, {"seq", seq}, {"senderId", sender},
                     {"text", text}, {"createdAt", int64_t(1795000000000) + int64_t(seq) * 60000}};
    if (!reply_to.empty()) m["replyTo"] = {{"messageId", reply_to}, {"seq", reply_seq}};
    return m;
}
void ui_read(UiHarness& h, const std::string& user, uint64_t seq) {
    h.socks.receive(nlohmann::json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                                   {"data", {{"type", "chat.read"}, {"eventId", "read:" + user + std::to_string(seq)}, {"conversationId", "demo"},
                                             {"userId", user}, {"lastReadSeq", seq}}}}
                        .dump());
}
bool visible(UiHarness& h, const std::string& name) {
    const ui::Target* t = h.find(name);
    return t && t->y + t->h > 0 && t->y < ImGui::GetIO().DisplaySize.y;
}
} // namespace

TEST_CASE("replies: Reply from the row's actions, the bar above the composer, the send carries replyTo, the quote jumps to its message", "[ui][replies]") {
    using nlohmann::json;
    UiHarness h;
    h.load(60);
    h.frame();
    h.frame();
    hover(h, "text:m60");
    REQUIRE(h.click("reply:m60"));
    CHECK(h.view.replying == "m60");
    CHECK(h.view.focus_composer);
    h.frame();
    CHECK(h.find("replying"));
    CHECK(h.find("cancel-reply"));
    CHECK(h.act("escape"));  // Esc: a plain message again
    CHECK(h.view.replying.empty());
    h.frame();
    CHECK_FALSE(h.find("replying"));
    // From the keyboard (the mirror's Reply button), to an old message; Enter sends the reply.
    CHECK(h.act("reply:m2"));
    std::string why;
    REQUIRE(ui::send_composer(h.session, h.view, "about that", why));
    CHECK(h.view.replying.empty());
    CHECK(json::parse(request_body(h, "/chat/reply"))["replyTo"] == "m2");
    REQUIRE(h.http.answer("/chat/reply", 201, json{{"message", ui_msg(61, "alice", "about that", "m2", 2)}}.dump()));
    h.frame();
    h.frame();
    REQUIRE(h.find("quote:m61"));
    CHECK(h.session.quote_text(*h.session.conversation().find("m61")) == "bob: message number 2");
    const float with_quote = row_height(h, "m61");
    CHECK_FALSE(visible(h, "text:m2"));
    REQUIRE(h.click("quote:m61"));  // a click on the quote: its message into view, flashed
    h.frame();
    h.frame();
    CHECK(visible(h, "text:m2"));
    CHECK(h.view.flash_key == "m2");
    CHECK(h.view.jump_to.empty());
    // The quote line is part of the row's height (a plain one-line row is shorter).
    CHECK(with_quote > row_height(h, "m59"));
    // A deleted message takes no replies.
    CHECK_FALSE(h.act("reply:m404"));
}

TEST_CASE("replies: a quote older than the loaded pages is fetched, its page loads before the jump, and Seen by follows read receipts", "[ui][replies][reads]") {
    using nlohmann::json;
    UiHarness h;
    h.session.start();
    h.http.answer("/auth/dev-login", 200, R"({"token":"T","displayName":"Alice"})");
    h.http.answer("/config", 200, "{}");
    h.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo"}]})");
    json page = json::array();
    for (uint64_t s = 51; s < 100; ++s) page.push_back(ui_msg(s, "bob", "message number " + std::to_string(s)));
    page.push_back(ui_msg(100, "alice", "replying to an old one", "m3", 3));
    h.http.answer("/conversation/detail", 200, json{{"messages", page}, {"hasMore", true}, {"reads", {{"alice", 100}, {"bob", 97}}}}.dump());
    h.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})");
    h.socks.open();
    h.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1"})");
    h.http.answer("/chat/subscribe", 200, R"({"conversationId":"demo"})");
    h.http.answer("afterSeq=", 200, R"({"messages":[],"hasMore":false})");
    REQUIRE(h.http.answer("/chat/messages/m3", 200, json{{"message", ui_msg(3, "carol", "the old question")}}.dump()));
    CHECK(h.session.quote_text(*h.session.conversation().find("m100")) == "carol: the old question");
    h.frame();
    h.frame();
    // Seen by: under the newest message bob read (97), not under the newest one.
    const ui::Target* seen = h.find("seen-by");
    REQUIRE(seen);
    const ui::Target* m97 = h.find("msg:m97");
    const ui::Target* m98 = h.find("msg:m98");
    REQUIRE(m97);
    REQUIRE(m98);
    CHECK(seen->y >= m97->y);
    CHECK(seen->y < m98->y);
    const auto* rows_before = h.view.history.rows.data();
    const std::size_t count_before = h.view.history.rows.size();
    ui_read(h, "bob", 100);  // live: bob read everything
    h.frame();
    h.frame();
    seen = h.find("seen-by");
    REQUIRE(seen);
    CHECK(seen->y > h.find("msg:m98")->y);
    // Only the receipts moved: the rows were adjusted in place (not rebuilt), and stay consistent.
    const auto& rows = h.view.history.rows;
    CHECK(rows.data() == rows_before);
    REQUIRE(rows.size() == count_before);
    for (std::size_t i = 1; i < rows.size(); ++i) CHECK(rows[i].offset == Approx(rows[i - 1].offset + rows[i - 1].height));
    CHECK(h.view.history.total == Approx(rows.back().offset + rows.back().height));
    CHECK(std::count_if(rows.begin(), rows.end(), [](const ui::HistoryLayout::Row& r) { return r.seen_by; }) == 1);
    CHECK(rows.back().seen_by);
    // The jump: the older page first (the largest page size), then the row, flashed.
    REQUIRE(h.click("quote:m100"));
    h.frame();  // the next frame asks for the older pages
    REQUIRE(h.http.has("beforeSeq=51&limit=200"));
    json older = json::array();
    for (uint64_t s = 1; s <= 50; ++s) older.push_back(ui_msg(s, s == 3 ? "carol" : "bob", s == 3 ? "the old question" : "message number " + std::to_string(s)));
    REQUIRE(h.http.answer("beforeSeq=51", 200, json{{"messages", older}, {"hasMore", false}}.dump()));
    for (int i = 0; i < 4; ++i) h.frame();
    CHECK(visible(h, "text:m3"));
    CHECK(h.view.flash_key == "m3");
    CHECK(h.view.last_error.empty());
}

TEST_CASE("presence: the line under the messages names the others online, follows live events, and gives way to typing", "[ui][presence]") {
    using nlohmann::json;
    UiHarness h;
    h.session.start();
    h.http.answer("/auth/dev-login", 200, R"({"token":"T","displayName":"Alice"})");
    h.http.answer("/config", 200, "{}");
    h.http.answer("/chat/conversations", 200, R"({"conversations":[{"conversationId":"demo","title":"Demo","members":["alice","bob"]}]})");
    h.http.answer("/conversation/detail", 200,
                  json{{"messages", json::array({ui_msg(1, "bob", "hi")})}, {"hasMore", false},
                       {"presence", {{"alice", {{"online", true}, {"version", 1}}}, {"bob", {{"online", false}, {"version", 1}}}}}}.dump());
    h.http.answer("/realtime/clientAccessUrl", 200, R"({"url":"ws://x/client/hubs/chat?access_token=a"})");
    h.socks.open();
    h.socks.receive(R"({"type":"system","event":"connected","userId":"alice","connectionId":"c1"})");
    h.http.answer("/chat/subscribe", 200, R"({"conversationId":"demo"})");
    h.http.answer("afterSeq=", 200, R"({"messages":[],"hasMore":false})");
    h.frame();
    h.frame();
    CHECK_FALSE(h.find("online"));  // only alice herself is online
    auto presence = [&](bool online, uint64_t version) {
        h.socks.receive(json{{"type", "message"}, {"from", "group"}, {"group", "conversation:demo"}, {"dataType", "json"},
                             {"data", {{"type", "chat.presence"}, {"eventId", "presence:" + std::to_string(version)}, {"conversationId", "demo"},
                                       {"userId", "bob"}, {"online", online}, {"version", version}}}}.dump());
        h.frame();
        h.frame();
    };
    presence(true, 2);
    const ui::Target* line = h.find("online");
    REQUIRE(line);
    const ui::Target* message = h.find("msg:m1");
    REQUIRE(message);
    CHECK(line->y > message->y);  // under the messages, where typing shows
    // bob types: the typing line takes the place.
    h.socks.receive(R"({"type":"message","from":"group","group":"conversation:demo:typing","fromUserId":"bob","dataType":"json","data":{"type":"typing"}})");
    h.frame();
    CHECK_FALSE(h.find("online"));
    h.sched.advance(7000);  // typing is over: who is online shows again
    h.frame();
    REQUIRE(h.find("online"));
    presence(false, 3);
    CHECK_FALSE(h.find("online"));
    presence(true, 2);  // older: ignored
    CHECK_FALSE(h.find("online"));
}

TEST_CASE("mentions: a message link opens its conversation and brings the message into view", "[ui][mentions]") {
    using nlohmann::json;
    UiHarness h;
    h.load(60, R"({"conversations":[{"conversationId":"demo","title":"Demo","members":["alice","bob"]},{"conversationId":"other","title":"Other"}]})");
    h.frame();
    CHECK(h.session.conversations()[0].members == std::vector<std::string>{"alice", "bob"});
    CHECK_FALSE(ui::open_message_link(h.session, h.view, "app:conversation/demo"));
    REQUIRE(ui::open_message_link(h.session, h.view, chat::message_link("demo", "m3", 3)));
    for (int i = 0; i < 3; ++i) h.frame();
    CHECK(visible(h, "text:m3"));
    CHECK(h.view.flash_key == "m3");
    // Another conversation: opened, then the message once its page is there.
    REQUIRE(ui::open_message_link(h.session, h.view, chat::message_link("other", "o2", 2)));
    CHECK(h.session.current_id() == "other");
    h.frame();
    auto other = [](uint64_t seq) {
        return json{{"messageId", "o" + std::to_string(seq)}, {"conversationId", "other"}, {"seq", seq}, {"senderId", "bob"},
                    {"text", "other " + std::to_string(seq)}, {"createdAt", int64_t(1795000000000) + int64_t(seq) * 60000}};
    };
    REQUIRE(h.http.answer("conversationId=other", 200, json{{"messages", {other(1), other(2)}}, {"hasMore", false}}.dump()));
    for (int i = 0; i < 3; ++i) h.frame();
    CHECK(h.view.flash_key == "o2");
    CHECK(h.view.jump_to.empty());
    CHECK(h.view.last_error.empty());
}
