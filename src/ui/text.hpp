// text.hpp - the text port: how the views measure, wrap and draw user content (message text,
// names, titles, previews, notifications, toasts, attachment names).
//
// ImGui keeps layout and interaction; the port owns text. The web port (platform/web/text_web)
// lets the browser shape and rasterize every script (system fonts with fallback, bidi, colour
// emoji, Intl.Segmenter line breaks) into cached texture pages; the native port (ImGuiTextPort
// below, for headless UI tests and ui_bench) uses ImGui's own font. Sizes and positions are in
// ImGui units (device pixels on the web: one texel per pixel).
#pragma once

#include <imgui.h>

#include <string>
#include <string_view>

namespace ui {

class TextPort {
public:
    virtual ~TextPort() = default;
    // Size of `text` at `size` px: wrapped to `wrap_width` (<= 0: only at hard line breaks).
    virtual ImVec2 measure(std::string_view text, float size, float wrap_width) = 0;
    // Draws `text` laid out as measure() does, the box's top-left at `pos`. A right-to-left
    // paragraph (first strong character) is right-aligned in `wrap_width` (when > 0).
    virtual void draw(ImDrawList* dl, ImVec2 pos, std::string_view text, float size, ImU32 color, float wrap_width) = 0;
    // One line: `text` cut to fit `max_width` by whole graphemes, with "…" when cut.
    virtual std::string ellipsize(std::string_view text, float size, float max_width) = 0;
    // Frame bookkeeping (cache statistics, deferred uploads).
    virtual void begin_frame() {}
    // Text rasterizations done while drawing the last frame (0 when nothing new was shown).
    virtual unsigned rasterized_last_frame() const { return 0; }
};

// ImGui's font: what the native builds draw with.
class ImGuiTextPort final : public TextPort {
public:
    ImVec2 measure(std::string_view text, float size, float wrap_width) override;
    void draw(ImDrawList* dl, ImVec2 pos, std::string_view text, float size, ImU32 color, float wrap_width) override;
    std::string ellipsize(std::string_view text, float size, float max_width) override;
};

// The port the views use (ImGuiTextPort unless the platform installed another).
TextPort& text_port();
void set_text_port(TextPort* port);  // nullptr: back to ImGui's font

// Widgets on the port, at the ImGui cursor (they reserve their space like ImGui::Text does).
void text(std::string_view s, ImU32 color = 0);                 // one paragraph, hard breaks only
void text_wrapped(std::string_view s, float wrap_width, ImU32 color = 0);
void text_ellipsized(std::string_view s, float max_width, ImU32 color = 0);
// A small button (like ImGui::SmallButton) whose label is user content drawn by the port.
bool text_button(const char* id, std::string_view label);

// UTF-8 helpers shared by the ports: the byte length of the code point at `i` (1 for a stray
// byte), and a cut at or before `max_bytes` that never splits a character or detaches combining
// marks, variation selectors or joiners from their base.
std::size_t utf8_length_at(std::string_view s, std::size_t i);
std::size_t grapheme_safe_cut(std::string_view s, std::size_t max_bytes);

// Case folding for matching (Unicode simple case folding of the cased scripts: Latin, Greek,
// Cyrillic, Armenian, Georgian, Cherokee, Glagolitic, Coptic, Deseret, Osage, Adlam, ... and
// fullwidth Latin; final sigma as sigma). Scripts without case pass through unchanged, as do
// stray bytes. No normalization: a decomposed "e + U+0301" does not match a precomposed "é".
std::string fold_case(std::string_view s);
// Whether `text` contains `query`, ignoring case (fold_case on both); an empty query matches all.
bool contains_folded(std::string_view text, std::string_view query);

} // namespace ui
