// chat_view.hpp - the ImGui chat panel. Reads the session's model; emits intents (send, retry,
// reconnect, close/open) through the session. No I/O happens in here.
#pragma once

#include "core/chat_session.hpp"

#include <string>

namespace ui {

struct ChatViewState {
    // The composer is a DOM textarea laid over this rect (device px); the view only reserves it.
    float composer_x = 0, composer_y = 0, composer_w = 0, composer_h = 0;
    bool composer_visible = false;
    std::size_t composer_bytes = 0;  // current length, from the page
    std::string last_error;
    bool stick_to_bottom = true;
    std::size_t last_count = 0;
    float scale = 1.0f;
    bool light = false;            // light theme (follows the system preference)
    float scroll_y = 0, scroll_max = 0;  // message list scroll, for the page's test hook
    std::string copy_request;      // text the user asked to copy (the platform writes it out)
};

// Draws the whole panel into the current ImGui frame, filling `size` at `pos`.
void draw_chat_panel(chat::ChatSession& session, ChatViewState& st, float x, float y, float w, float h, uint64_t now_ms);

std::string format_time(int64_t unix_ms);  // "14:05" (UTC)

} // namespace ui
