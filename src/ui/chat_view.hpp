// chat_view.hpp - the ImGui chat panel. Reads the session's model; emits intents (send, retry,
// reconnect, close/open) through the session. No I/O happens in here.
#pragma once

#include "core/chat_session.hpp"

#include <string>

namespace ui {

struct ChatViewState {
    std::string composer;
    std::string last_error;
    bool focus_composer = true;
    bool stick_to_bottom = true;
    std::size_t last_count = 0;
    float scale = 1.0f;
};

// Draws the whole panel into the current ImGui frame, filling `size` at `pos`.
void draw_chat_panel(chat::ChatSession& session, ChatViewState& st, float x, float y, float w, float h, uint64_t now_ms);

std::string format_time(int64_t unix_ms);  // "14:05" (UTC)

} // namespace ui
