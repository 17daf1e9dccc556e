// text.cpp - see text.hpp.
#include "text.hpp"

#include <algorithm>
#include <cfloat>
#include <cstdint>

namespace ui {

namespace {

ImGuiTextPort g_imgui_port;
TextPort* g_port = &g_imgui_port;

const char* kEllipsis = "\xE2\x80\xA6";  // U+2026

uint32_t decode_at(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const std::size_t n = utf8_length_at(s, i);
    if (n == 1) return b(0);
    if (n == 2) return ((b(0) & 0x1Fu) << 6) | (b(1) & 0x3Fu);
    if (n == 3) return ((b(0) & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    return ((b(0) & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
}

// Code points that belong to the grapheme before them: combining marks, variation selectors,
// joiners, emoji skin-tone modifiers and tag characters (flags of subdivisions).
bool extends_grapheme(uint32_t cp) {
    return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x0483 && cp <= 0x0489) || (cp >= 0x0591 && cp <= 0x05BD) ||
           (cp >= 0x0610 && cp <= 0x061A) || (cp >= 0x064B && cp <= 0x065F) || (cp >= 0x0900 && cp <= 0x0903) ||
           (cp >= 0x093A && cp <= 0x094F) || (cp >= 0x0E31 && cp <= 0x0E3A && cp != 0x0E32 && cp != 0x0E33) ||
           (cp >= 0x0E47 && cp <= 0x0E4E) || (cp >= 0x1AB0 && cp <= 0x1AFF) || (cp >= 0x1DC0 && cp <= 0x1DFF) ||
           cp == 0x200C || cp == 0x200D || (cp >= 0x20D0 && cp <= 0x20FF) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
           (cp >= 0xFE20 && cp <= 0xFE2F) || (cp >= 0x1F3FB && cp <= 0x1F3FF) || (cp >= 0xE0020 && cp <= 0xE007F) ||
           (cp >= 0xE0100 && cp <= 0xE01EF);
}

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

} // namespace

std::size_t utf8_length_at(std::string_view s, std::size_t i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    if (i + n > s.size()) return 1;
    for (std::size_t k = 1; k < n; ++k)
        if (!is_continuation(static_cast<unsigned char>(s[i + k]))) return 1;
    return n;
}

std::size_t grapheme_safe_cut(std::string_view s, std::size_t max_bytes) {
    if (max_bytes >= s.size()) return s.size();
    // The start of the character that contains byte i (a stray byte is a character by itself).
    const auto start_of = [&](std::size_t i) {
        for (std::size_t back = 1; back <= 3 && back <= i; ++back)
            if (!is_continuation(static_cast<unsigned char>(s[i - back]))) {
                return utf8_length_at(s, i - back) > back ? i - back : i;
            }
        return i;
    };
    std::size_t cut = start_of(max_bytes);
    for (;;) {
        if (cut == 0) return 0;
        // The character at `cut` starts the part that is dropped: it must not extend the one
        // before it, and the one before must not be a joiner waiting for it.
        const std::size_t prev = start_of(cut - 1);
        if (extends_grapheme(decode_at(s, cut)) || decode_at(s, prev) == 0x200D) {
            cut = prev;
            continue;
        }
        return cut;
    }
}

TextPort& text_port() { return *g_port; }
void set_text_port(TextPort* port) { g_port = port ? port : &g_imgui_port; }

ImVec2 ImGuiTextPort::measure(std::string_view text, float size, float wrap_width) {
    return ImGui::GetFont()->CalcTextSizeA(size, FLT_MAX, wrap_width > 0 ? wrap_width : 0.0f, text.data(), text.data() + text.size());
}

void ImGuiTextPort::draw(ImDrawList* dl, ImVec2 pos, std::string_view text, float size, ImU32 color, float wrap_width) {
    dl->AddText(ImGui::GetFont(), size, pos, color, text.data(), text.data() + text.size(), wrap_width > 0 ? wrap_width : 0.0f);
}

std::string ImGuiTextPort::ellipsize(std::string_view text, float size, float max_width) {
    if (measure(text, size, 0).x <= max_width) return std::string(text);
    const float room = max_width - measure(kEllipsis, size, 0).x;
    std::size_t lo = 0, hi = text.size();  // the longest prefix that fits: binary search on bytes
    while (lo < hi) {
        const std::size_t mid = grapheme_safe_cut(text, (lo + hi + 1) / 2);
        if (mid <= lo) break;
        if (measure(text.substr(0, mid), size, 0).x <= room) lo = mid;
        else hi = mid - 1;
    }
    return std::string(text.substr(0, grapheme_safe_cut(text, lo))) + kEllipsis;
}

namespace {
ImU32 or_text_color(ImU32 color) { return color ? color : ImGui::GetColorU32(ImGuiCol_Text); }
} // namespace

void text(std::string_view s, ImU32 color) { text_wrapped(s, 0, color); }

void text_wrapped(std::string_view s, float wrap_width, ImU32 color) {
    const float size = ImGui::GetFontSize();
    const ImVec2 box = text_port().measure(s, size, wrap_width);
    const ImVec2 pos = ImGui::GetCursorScreenPos();
    if (ImGui::IsRectVisible(pos, ImVec2(pos.x + box.x, pos.y + box.y)))
        text_port().draw(ImGui::GetWindowDrawList(), pos, s, size, or_text_color(color), wrap_width);
    // A wrapped paragraph's box is its column: a right-to-left one is drawn against the column's
    // right edge, so the item (and its target) must span the column, not the ink's width.
    ImGui::Dummy(ImVec2(wrap_width > 0 ? wrap_width : box.x, std::max(box.y, size)));
}

bool text_button(const char* id, std::string_view label) {
    const ImGuiStyle& style = ImGui::GetStyle();
    const float size = ImGui::GetFontSize();
    const ImVec2 box = text_port().measure(label, size, 0);
    const ImVec2 pos = ImGui::GetCursorScreenPos();
    const bool pressed = ImGui::InvisibleButton(id, ImVec2(box.x + style.FramePadding.x * 2, std::max(box.y, size)));
    const ImU32 bg = ImGui::GetColorU32(ImGui::IsItemActive() ? ImGuiCol_ButtonActive : ImGui::IsItemHovered() ? ImGuiCol_ButtonHovered : ImGuiCol_Button);
    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->AddRectFilled(pos, ImGui::GetItemRectMax(), bg, style.FrameRounding);
    text_port().draw(dl, ImVec2(pos.x + style.FramePadding.x, pos.y), label, size, ImGui::GetColorU32(ImGuiCol_Text), 0);
    return pressed;
}

void text_ellipsized(std::string_view s, float max_width, ImU32 color) {
    text(text_port().ellipsize(s, ImGui::GetFontSize(), max_width), color);
}

namespace {

// The code point at `i` (`n` = its byte length from utf8_length_at); a stray byte is returned as
// 0xFFFFFFFF so fold_case copies it through untouched.
char32_t decode_at(std::string_view s, std::size_t i, std::size_t n) {
    const auto b = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k])); };
    switch (n) {
    case 1: return b(0) < 0x80 ? b(0) : 0xFFFFFFFF;
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    }
}

void encode(char32_t c, std::string& out) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

bool in(char32_t c, char32_t lo, char32_t hi) { return c >= lo && c <= hi; }
// Upper and lower case alternate in pairs (upper even or odd) over [lo, hi].
char32_t pair(char32_t c, bool upper_even) { return ((c & 1) == 0) == upper_even ? c + 1 : c; }

// Simple case folding (CaseFolding.txt, status C and S) for the cased blocks; everything else
// maps to itself.
char32_t fold(char32_t c) {
    if (c < 0x80) return in(c, 'A', 'Z') ? c + 32 : c;
    if (c < 0x100) return (in(c, 0xC0, 0xDE) && c != 0xD7) ? c + 32 : c == 0xB5 ? 0x3BC : c;
    if (c < 0x180) {  // Latin Extended-A
        if (c == 0x130) return 'i';  // İ (the Turkic dotted capital: its simple folding is i here)
        if (c == 0x178) return 0xFF;
        if (c == 0x17F) return 's';
        if (in(c, 0x100, 0x12F) || in(c, 0x132, 0x137) || in(c, 0x14A, 0x177)) return pair(c, true);
        if (in(c, 0x139, 0x148) || in(c, 0x179, 0x17E)) return pair(c, false);
        return c;
    }
    if (c < 0x250) {  // Latin Extended-B (the regular runs)
        if (in(c, 0x1CD, 0x1DC)) return pair(c, false);
        if (in(c, 0x1DE, 0x1EF) || in(c, 0x1F8, 0x21F) || in(c, 0x222, 0x233) || in(c, 0x246, 0x24F)) return pair(c, true);
        if (c == 0x1C4 || c == 0x1C7 || c == 0x1CA || c == 0x1F1) return c + 2;
        if (c == 0x1C5 || c == 0x1C8 || c == 0x1CB || c == 0x1F2) return c + 1;
        return c;
    }
    if (in(c, 0x370, 0x3FF)) {  // Greek
        if (c == 0x386) return 0x3AC;
        if (in(c, 0x388, 0x38A)) return c + 37;
        if (c == 0x38C) return 0x3CC;
        if (in(c, 0x38E, 0x38F)) return c + 63;
        if (in(c, 0x391, 0x3A1) || in(c, 0x3A3, 0x3AB)) return c + 32;
        if (c == 0x3C2) return 0x3C3;  // final sigma
        if (in(c, 0x3D8, 0x3EF)) return pair(c, true);
        return c;
    }
    if (in(c, 0x400, 0x52F)) {  // Cyrillic and its supplement
        if (in(c, 0x400, 0x40F)) return c + 80;
        if (in(c, 0x410, 0x42F)) return c + 32;
        if (in(c, 0x460, 0x481) || in(c, 0x48A, 0x4BF) || in(c, 0x4D0, 0x52F)) return pair(c, true);
        if (c == 0x4C0) return 0x4CF;
        if (in(c, 0x4C1, 0x4CE)) return pair(c, false);
        return c;
    }
    if (in(c, 0x531, 0x556)) return c + 48;                   // Armenian
    if (in(c, 0x10A0, 0x10C5)) return 0x2D00 + (c - 0x10A0);  // Georgian Asomtavruli
    if (c == 0x10C7 || c == 0x10CD) return 0x2D00 + (c - 0x10A0);
    if (in(c, 0x13F8, 0x13FD)) return c - 8;                  // Cherokee small letters fold up
    if (in(c, 0x1C90, 0x1CBA) || in(c, 0x1CBD, 0x1CBF)) return 0x10D0 + (c - 0x1C90);  // Georgian Mtavruli
    if (in(c, 0x1E00, 0x1E95) || in(c, 0x1EA0, 0x1EFF)) return pair(c, true);  // Latin Extended Additional
    if (c == 0x1E9E) return 0xDF;                             // capital sharp s
    if (in(c, 0x1F00, 0x1FFF)) {                              // Greek Extended
        const char32_t lo = c & 0xF;
        const char32_t row = c & 0xFFF0;
        if ((row == 0x1F00 || row == 0x1F10 || row == 0x1F20 || row == 0x1F30 || row == 0x1F40 || row == 0x1F60 ||
             row == 0x1F80 || row == 0x1F90 || row == 0x1FA0) && lo >= 8)
            return c - 8;
        if (row == 0x1F50 && lo >= 8 && (lo & 1)) return c - 8;
        switch (c) {
        case 0x1FB8: case 0x1FB9: case 0x1FD8: case 0x1FD9: case 0x1FE8: case 0x1FE9: return c - 8;
        case 0x1FBA: case 0x1FBB: return c - 0x1FBA + 0x1F70;
        case 0x1FC8: case 0x1FC9: case 0x1FCA: case 0x1FCB: return c - 0x1FC8 + 0x1F72;
        case 0x1FDA: case 0x1FDB: return c - 0x1FDA + 0x1F76;
        case 0x1FEA: case 0x1FEB: return c - 0x1FEA + 0x1F7A;
        case 0x1FF8: case 0x1FF9: return c - 0x1FF8 + 0x1F78;
        case 0x1FFA: case 0x1FFB: return c - 0x1FFA + 0x1F7C;
        case 0x1FBC: return 0x1FB3;
        case 0x1FCC: return 0x1FC3;
        case 0x1FFC: return 0x1FF3;
        case 0x1FEC: return 0x1FE5;
        case 0x1FBE: return 0x3B9;
        default: return c;
        }
    }
    if (c == 0x2126) return 0x3C9;  // ohm sign
    if (c == 0x212A) return 'k';    // kelvin sign
    if (c == 0x212B) return 0xE5;   // angstrom sign
    if (in(c, 0x2160, 0x216F)) return c + 16;   // Roman numerals
    if (in(c, 0x24B6, 0x24CF)) return c + 26;   // circled letters
    if (in(c, 0x2C00, 0x2C2F)) return c + 48;   // Glagolitic
    if (in(c, 0x2C80, 0x2CE3)) return pair(c, true);  // Coptic
    if (in(c, 0xA640, 0xA66D) || in(c, 0xA680, 0xA69B) || in(c, 0xA722, 0xA72F) || in(c, 0xA732, 0xA76F) ||
        in(c, 0xA77E, 0xA787) || in(c, 0xA790, 0xA793) || in(c, 0xA796, 0xA7A9))
        return pair(c, true);                  // Cyrillic Extended-B, Latin Extended-D
    if (in(c, 0xA779, 0xA77C)) return pair(c, false);
    if (in(c, 0xAB70, 0xABBF)) return 0x13A0 + (c - 0xAB70);  // Cherokee small letters fold up
    if (in(c, 0xFF21, 0xFF3A)) return c + 32;  // fullwidth Latin
    if (in(c, 0x10400, 0x10427)) return c + 40;   // Deseret
    if (in(c, 0x104B0, 0x104D3)) return c + 40;   // Osage
    if (in(c, 0x10C80, 0x10CB2)) return c + 64;   // Old Hungarian
    if (in(c, 0x118A0, 0x118BF)) return c + 32;   // Warang Citi
    if (in(c, 0x16E40, 0x16E5F)) return c + 32;   // Medefaidrin
    if (in(c, 0x1E900, 0x1E921)) return c + 34;   // Adlam
    return c;
}

}  // namespace

std::string fold_case(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_length_at(s, i);
        const char32_t c = decode_at(s, i, n);
        if (c == 0xFFFFFFFF || n == 1) out += c == 0xFFFFFFFF ? s[i] : static_cast<char>(fold(c));
        else encode(fold(c), out);
        i += n;
    }
    return out;
}

bool contains_folded(std::string_view text, std::string_view query) {
    if (query.empty()) return true;
    return fold_case(text).find(fold_case(query)) != std::string::npos;
}

} // namespace ui
