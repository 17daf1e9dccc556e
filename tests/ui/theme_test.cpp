// Design tokens: contrast computed from the palettes, avatars, initials, time formats.
#include "ui/theme.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace ui::theme;

namespace {
constexpr int64_t kDay = 86400000;
// Sat 28 Nov 2026 14:05:00 UTC
constexpr int64_t kNow = 1795874700000;
}  // namespace

TEST_CASE("contrast follows WCAG 2 (black on white is 21:1, a colour on itself 1:1)", "[ui][theme]") {
    CHECK(contrast(ImVec4(0, 0, 0, 1), ImVec4(1, 1, 1, 1)) == Approx(21.0));
    CHECK(contrast(ImVec4(0.5f, 0.2f, 0.9f, 1), ImVec4(0.5f, 0.2f, 0.9f, 1)) == Approx(1.0));
    // #767676 on white: the well-known 4.54:1 boundary colour.
    CHECK(contrast(ImVec4(0x76 / 255.0f, 0x76 / 255.0f, 0x76 / 255.0f, 1), ImVec4(1, 1, 1, 1)) == Approx(4.54).epsilon(0.01));
}

TEST_CASE("both palettes: text, muted text and state colours are readable on every surface", "[ui][theme]") {
    for (bool light : {false, true}) {
        const Palette& p = palette(light);
        INFO((light ? "light" : "dark"));
        for (const ImVec4& surface : {p.bg, p.surface, p.raised, p.own}) {
            CHECK(contrast(p.text, surface) >= 7.0);    // body text: AAA
            CHECK(contrast(p.muted, surface) >= 4.5);   // times, previews, hints: AA
            CHECK(contrast(p.danger, surface) >= 4.5);  // "not sent: ..."
        }
        CHECK(contrast(p.text, p.selected) >= 4.5);     // the open conversation's row
        CHECK(contrast(p.success, p.bg) >= 4.5);        // "Live"
        CHECK(contrast(p.warning, p.bg) >= 4.5);        // "Reconnecting"
        CHECK(contrast(p.on_accent, p.accent) >= 4.5);  // primary buttons
        CHECK(contrast(p.on_badge, p.badge) >= 4.5);    // unread counts
        CHECK(contrast(p.focus, p.bg) >= 3.0);          // the focus ring (non-text: 3:1)
        CHECK(contrast(p.focus, p.surface) >= 3.0);
        CHECK(contrast(p.new_divider, p.bg) >= 3.0);
    }
}

TEST_CASE("avatars: a stable colour per user id, white initials readable on each", "[ui][theme]") {
    CHECK(avatar_color("alice").x == avatar_color("alice").x);
    std::set<float> seen;
    for (const char* id : {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"})
        seen.insert(avatar_color(id).x * 7 + avatar_color(id).y * 3 + avatar_color(id).z);
    CHECK(seen.size() >= 4);  // ten users are not all one colour
    for (int i = 0; i < 64; ++i) CHECK(contrast(avatar_color("user" + std::to_string(i)), ImVec4(1, 1, 1, 1)) >= 4.5);
}

TEST_CASE("initials: first grapheme of the first two words, in any script", "[ui][theme]") {
    CHECK(initials("Alice Smith") == "AS");
    CHECK(initials("bob") == "B");
    CHECK(initials("  carol   de la cruz") == "CD");
    CHECK(initials("jean-luc") == "JL");
    CHECK(initials("李小龍") == "李");
    CHECK(initials("Ærø Ødegård") == "ÆØ");
    CHECK(initials("e\xCC\x81mile") == "e\xCC\x81");  // e + combining acute stays whole
    CHECK(initials("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD fan") == "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD" "F");  // thumbs up + skin tone
    CHECK(initials("") == "?");
    CHECK(initials("   ") == "?");
    CHECK(initials("\xFF\xFE") == "\xFF");  // stray bytes: one at a time, never past the end
    std::string pile = "a";
    for (int i = 0; i < 100; ++i) pile += "\xCC\x81";  // a title of stacked combining marks
    CHECK(initials(pile) == "A");  // the base letter alone, upper-cased
}

TEST_CASE("times: relative in the list, day labels for separators, local offset applied", "[ui][theme]") {
    set_utc_offset_minutes(0);
    CHECK(format_time(kNow) == "14:05");
    CHECK(format_full(kNow) == "Sat 28 Nov 2026, 14:05");
    CHECK(format_relative(kNow - 20000, kNow) == "now");
    CHECK(format_relative(kNow + 5000, kNow) == "now");  // a server clock slightly ahead
    CHECK(format_relative(kNow - 5 * 60000, kNow) == "5 min");
    CHECK(format_relative(kNow - 3 * 3600000, kNow) == "11:05");
    CHECK(format_relative(kNow - kDay, kNow) == "Yesterday");
    CHECK(format_relative(kNow - 3 * kDay, kNow) == "Wed");
    CHECK(format_relative(kNow - 30 * kDay, kNow) == "29 Oct");
    CHECK(format_relative(kNow - 400 * kDay, kNow) == "24 Oct 2025");
    CHECK(format_day_label(kNow - 3600000, kNow) == "Today");
    CHECK(format_day_label(kNow - kDay, kNow) == "Yesterday");
    CHECK(format_day_label(kNow - 2 * kDay, kNow) == "Thu 26 Nov 2026");
    // Viewer at UTC-10: 14:05 UTC is 04:05 local; 03:00 UTC the same day was yesterday there.
    set_utc_offset_minutes(-600);
    CHECK(format_time(kNow) == "04:05");
    CHECK(format_day_label(kNow - 11 * 3600000, kNow) == "Yesterday");
    CHECK(local_day(kNow) == local_day(kNow - 4 * 3600000));
    set_utc_offset_minutes(0);
    CHECK(format_day_label(kNow - 11 * 3600000, kNow) == "Today");
}
