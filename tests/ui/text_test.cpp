// The text port's platform-free parts: grapheme-safe cuts and the native (ImGui font) port.
#include "ui/text.hpp"
#include "ui_harness.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace {
bool valid_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = ui::utf8_length_at(s, i);
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (n == 1 && c >= 0x80) return false;
        i += n;
    }
    return true;
}
} // namespace

TEST_CASE("cuts never split a character, a combining mark, a skin tone or a ZWJ sequence", "[text]") {
    const std::string greek = "\xCE\x9A\xCE\xB1\xCE\xBB\xCE\xB7";  // Καλη
    for (std::size_t n = 0; n <= greek.size(); ++n) {
        const std::size_t cut = ui::grapheme_safe_cut(greek, n);
        CHECK(cut <= n);
        CHECK(cut % 2 == 0);
        CHECK(valid_utf8(greek.substr(0, cut)));
    }
    const std::string e_acute = "e\xCC\x81x";  // e + COMBINING ACUTE, x
    CHECK(ui::grapheme_safe_cut(e_acute, 1) == 0);  // never "e" without its accent
    CHECK(ui::grapheme_safe_cut(e_acute, 2) == 0);
    CHECK(ui::grapheme_safe_cut(e_acute, 3) == 3);
    const std::string thumbs = "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD!";  // 👍 + medium skin tone
    CHECK(ui::grapheme_safe_cut(thumbs, 4) == 0);
    CHECK(ui::grapheme_safe_cut(thumbs, 8) == 8);
    const std::string family = "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7";  // 👩‍👧
    CHECK(ui::grapheme_safe_cut(family, 7) == 0);   // after the joiner: the sequence stays whole
    CHECK(ui::grapheme_safe_cut(family, 4) == 0);   // before the joiner
    CHECK(ui::grapheme_safe_cut(family, family.size()) == family.size());
    const std::string stray = "ab\x80\x80";
    CHECK(ui::grapheme_safe_cut(stray, 3) == 3);  // a stray byte is a character by itself
    CHECK(ui::grapheme_safe_cut("\xCE\x9A\x80x", 2) == 2);
}

TEST_CASE("the native port ellipsizes by width with an ellipsis, UTF-8 intact", "[text]") {
    UiHarness h;
    h.frame();
    ImGui::NewFrame();
    ui::TextPort& port = ui::text_port();
    const float size = ImGui::GetFontSize();
    const std::string s = "\xCE\x9A\xCE\xB1\xCE\xBB\xCE\xB7\xCE\xBC\xCE\xAD\xCF\x81\xCE\xB1 everyone, this is long";
    CHECK(port.ellipsize(s, size, 10000) == s);
    const float full = port.measure(s, size, 0).x;
    const std::string cut = port.ellipsize(s, size, full / 2);
    CHECK(cut.size() < s.size());
    CHECK(cut.substr(cut.size() - 3) == "\xE2\x80\xA6");
    CHECK(valid_utf8(cut));
    CHECK(port.measure(cut, size, 0).x <= full / 2 + 0.5f);
    // Wrapping: a narrower box is taller.
    CHECK(port.measure(s, size, full / 3).y > port.measure(s, size, 0).y);
    ImGui::EndFrame();
}
