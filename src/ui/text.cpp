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

} // namespace ui
