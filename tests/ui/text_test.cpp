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

TEST_CASE("case folding for the conversation filter, in every cased script, others pass through", "[text][filter]") {
    using ui::contains_folded;
    using ui::fold_case;
    CHECK(fold_case("Launch PLANNING") == "launch planning");
    CHECK(fold_case(u8"ÀÉÎÕÜ Çà") == u8"àéîõü çà");
    CHECK(fold_case(u8"ΣΊΣΥΦΟΣ") == fold_case(u8"σίσυφος"));  // final sigma folds as sigma
    CHECK(fold_case(u8"ПРИВЕТ, Ёлка") == u8"привет, ёлка");
    CHECK(fold_case(u8"ԲԱՐԵՎ") == u8"բարեվ");                  // Armenian
    CHECK(fold_case(u8"ᲒᲐᲛᲐᲠᲯᲝᲑᲐ") == u8"გამარჯობა");          // Georgian Mtavruli
    CHECK(fold_case(u8"ＡＢＣ") == u8"ａｂｃ");                   // fullwidth
    CHECK(fold_case(u8"𐐀𐐁") == u8"𐐨𐐩");                         // Deseret (4-byte UTF-8)
    CHECK(fold_case(u8"Ǆ ǅ Ǳ") == u8"ǆ ǆ ǳ");
    CHECK(fold_case(u8"ὈΔΥΣΣΕΎΣ") == fold_case(u8"ὀδυσσεύς"));  // Greek Extended
    CHECK(fold_case(u8"STRAẞE") == u8"straße");
    // Caseless scripts, emoji and stray bytes are copied as they are.
    CHECK(fold_case(u8"会议 مرحبا שלום 👍🏽") == u8"会议 مرحبا שלום 👍🏽");
    CHECK(fold_case(std::string("a\xff\xc3Z")) == std::string("a\xff\xc3z"));

    CHECK(contains_folded("Launch planning", ""));
    CHECK(contains_folded("Launch planning", "PLAN"));
    CHECK(contains_folded(u8"Встреча в ПЯТНИЦУ", u8"пятниц"));
    CHECK(contains_folded(u8"Ομάδα ΣΧΕΔΙΑΣΜΟΥ", u8"σχεδιασμού") == false);  // accents are not ignored (ΟΥ vs ού)
    CHECK(contains_folded(u8"Ομάδα ΣΧΕΔΙΑΣΜΟΎ", u8"σχεδιασμού"));
    CHECK(contains_folded(u8"週次の会議", u8"会議"));
    CHECK_FALSE(contains_folded("Launch planning", "lunch"));
}
