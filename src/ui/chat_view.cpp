// chat_view.cpp - see chat_view.hpp.
#include "chat_view.hpp"
#include "targets.hpp"
#include "text.hpp"
#include "theme.hpp"

#include <imgui.h>

#include <cstdio>
#include <ctime>
#include <optional>

namespace ui {

namespace {

constexpr uint64_t kBannerGraceMs = 2000;  // brief blips never flash a "reconnecting" banner

// The palette of the theme in use (ImGui's text colour tells light from dark).
const theme::Palette& pal() { return theme::palette(theme::luminance(ImGui::GetStyle().Colors[ImGuiCol_Text]) < 0.5); }
ImVec4 error_color() { return pal().danger; }
ImVec4 tone_color(Tone t) {
    switch (t) {
    case Tone::Ok: return pal().success;
    case Tone::Busy: case Tone::Warn: return pal().warning;
    case Tone::Error: return pal().danger;
    case Tone::Muted: return pal().muted;
    }
    return pal().muted;
}

} // namespace

BannerState banner_state(const chat::ChatSession& s, BannerMemory& memory, uint64_t now_ms) {
    uint64_t& trouble_since = memory.trouble_since_ms;
    const wps::ClientStatus& c = s.connection();
    std::string text;
    Tone color = Tone::Ok;
    bool trouble = false;
    if (s.phase() == chat::Phase::Failed) {
        // Nothing to be live with: the error itself is shown under the banner.
        return BannerState{"Not connected", Tone::Error, false};
    }
    if (s.phase() != chat::Phase::Ready) {
        return BannerState{s.phase() == chat::Phase::SigningIn ? "Signing in..." : "Loading...", Tone::Busy, false};
    }
    if (!s.panel_open()) {
        memory.was_live = false;
        text = "Chat closed - not receiving messages";
        color = Tone::Muted;
    } else if (c.offline) {
        text = "Offline - waiting for the network";
        color = Tone::Warn;
        trouble = true;
    } else {
        switch (c.state) {
        case wps::ClientState::Connected:
            // Live only when the open conversation's messages really arrive: subscribed and caught up.
            if (s.in_sync()) {
                text = "Live";
                memory.was_live = true;
            } else if (!s.subscribed() && !s.subscribe_error().empty()) {
                text = s.subscribe_error();
                color = Tone::Error;
            } else {
                text = s.subscribed() ? "Catching up..." : "Joining the conversation...";
                color = Tone::Busy;
            }
            break;
        case wps::ClientState::Connecting:
            text = "Connecting...";
            color = Tone::Busy;
            trouble = c.attempt > 0;
            break;
        case wps::ClientState::Recovering:
            text = "Reconnecting...";
            color = Tone::Busy;
            trouble = true;
            break;
        case wps::ClientState::WaitingToReconnect: {
            const uint64_t in = c.next_retry_at_ms > now_ms ? (c.next_retry_at_ms - now_ms + 999) / 1000 : 0;
            char buf[128];
            std::snprintf(buf, sizeof buf, "Reconnecting - attempt %u, next try in %llu s", c.attempt,
                          static_cast<unsigned long long>(in));
            text = buf;
            color = Tone::Warn;
            trouble = true;
            break;
        }
        case wps::ClientState::Stopped:
            text = "Disconnected";
            color = Tone::Error;
            trouble = true;
            break;
        }
    }
    if (trouble && !trouble_since) trouble_since = now_ms;
    if (!trouble) trouble_since = 0;
    // A brief blip does not flash a warning: it keeps showing "Live" for a moment, but only when
    // the view was live before it (never before the first time it was in sync).
    if (trouble && now_ms - trouble_since < kBannerGraceMs && !c.offline && memory.was_live)
        text = "Live", color = Tone::Ok;
    return BannerState{text, color, trouble};
}

namespace {

// Connection state, honest: offline / reconnecting (after a grace period, with the attempt, the
// countdown and "Reconnect now") / catching up / live, plus when the view was last in sync.
void connection_banner(const chat::ChatSession& s, ChatViewState& st, uint64_t now_ms) {
    const uint64_t& trouble_since = st.banner.trouble_since_ms;
    const wps::ClientStatus& c = s.connection();
    const BannerState b = banner_state(s, st.banner, now_ms);
    const bool trouble = b.trouble;
    const ImVec4 color = tone_color(b.tone);

    ImGui::TextColored(color, "\xe2\x97\x8f");  // ● state
    ImGui::SameLine(0, theme::kSpaceXs * st.scale);
    ui::text(b.text, ImGui::ColorConvertFloat4ToU32(color));  // may quote the server (a subscribe error)
    if (trouble && now_ms - trouble_since >= kBannerGraceMs && s.last_synced_ms() > 0) {
        ImGui::SameLine();
        ImGui::TextDisabled("(last in sync %llu s ago)",
                            static_cast<unsigned long long>((now_ms - static_cast<uint64_t>(s.last_synced_ms())) / 1000));
    }
    if (s.panel_open() && (c.state == wps::ClientState::WaitingToReconnect || c.state == wps::ClientState::Recovering)) {
        ImGui::SameLine();
        if (ImGui::SmallButton("Reconnect now")) st.intents.push_back({ChatIntent::Kind::ReconnectNow});
        target("reconnect-now");
    }
    if (s.failed_count() > 0) {
        ImGui::SameLine();
        ImGui::TextColored(error_color(), "  %zu not sent", s.failed_count());
        ImGui::SameLine();
        if (ImGui::SmallButton("Retry all")) st.intents.push_back({ChatIntent::Kind::RetryAll});
        target("retry-all");
    }
}

// Draws port text twice, a fraction of a pixel apart: a bolder weight for unread titles without
// a second font (the browser's text has one weight per page).
void bold_text(ImDrawList* dl, ImVec2 at, const std::string& t, float size, ImU32 col, float scale) {
    text_port().draw(dl, at, t, size, col, 0);
    text_port().draw(dl, ImVec2(at.x + 0.6f * scale, at.y), t, size, col, 0);
}

// A pill with a count (unread badges).
void badge(ImDrawList* dl, ImVec2 right_centre, uint64_t n, float scale) {
    char label[16];
    if (n > 99) std::snprintf(label, sizeof label, "99+");
    else std::snprintf(label, sizeof label, "%llu", static_cast<unsigned long long>(n));
    const ImVec2 ts = ImGui::CalcTextSize(label);
    const float h = ts.y + 2 * scale, w = std::max(h, ts.x + 10 * scale);
    const ImVec2 a(right_centre.x - w, right_centre.y - h * 0.5f), b(right_centre.x, right_centre.y + h * 0.5f);
    dl->AddRectFilled(a, b, ImGui::ColorConvertFloat4ToU32(pal().badge), h * 0.5f);
    dl->AddText(ImVec2(a.x + (w - ts.x) * 0.5f, a.y + (h - ts.y) * 0.5f), ImGui::ColorConvertFloat4ToU32(pal().on_badge), label);
}

// The page's text field over this frame's next item (a frame-coloured backdrop until it is placed).
void page_field(PageField& f, const char* name, float width, float scale) {
    ImGui::Dummy(ImVec2(width, ImGui::GetFrameHeight() + 2 * scale));
    const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    ImGui::GetWindowDrawList()->AddRectFilled(a, b, ImGui::GetColorU32(ImGuiCol_FrameBg), ImGui::GetStyle().FrameRounding);
    f = PageField{a.x, a.y, b.x - a.x, b.y - a.y, true};
    target(name);
}

void open_conversation(ChatViewState& st, const std::string& id) { st.intents.push_back({ChatIntent::Kind::Open, id}); }

void open_picker(const chat::ChatSession& s, ChatViewState& st) {
    st.picker = NewConversationState{};
    st.picker.open = true;
    st.picker.created_seen = s.created_count();
    st.intents.push_back({ChatIntent::Kind::LoadContacts});
}

void create_from_picker(const chat::ChatSession& s, ChatViewState& st) {
    const NewConversationState& pk = st.picker;
    std::vector<std::string> members;
    for (const auto& c : s.contacts())
        if (pk.picked.count(c.id)) members.push_back(c.id);
    std::string title = pk.title;
    const auto blank = title.find_first_not_of(" \t\r\n");
    title = blank == std::string::npos ? default_title(s, pk) : title;
    st.intents.push_back({ChatIntent::Kind::Create, title, std::move(members)});
}

// New conversation: a "+" the width of its frame height, or with its words when it stands alone.
bool plus_button(bool labelled) {
    const std::string label = std::string(theme::icon::kPlus) + (labelled ? "  New conversation" : "");
    const bool hit = labelled ? ImGui::Button(label.c_str()) : ImGui::Button(label.c_str(), ImVec2(ImGui::GetFrameHeight(), 0));
    if (!labelled && ImGui::IsItemHovered()) ImGui::SetTooltip("New conversation");
    target("new-conversation");
    return hit;
}

void conversation_list(const chat::ChatSession& s, ChatViewState& st, float width, int64_t wall_ms) {
    const theme::Palette& p = pal();
    ImGui::PushStyleColor(ImGuiCol_ChildBg, p.surface);
    ImGui::PushStyleColor(ImGuiCol_Border, p.surface);
    ImGui::BeginChild("conversations", ImVec2(width, 0), true);
    ImGui::PopStyleColor(2);
    {
        // "Conversations" and, at the right, New conversation.
        const float size = theme::kTypeSmall * st.scale;
        const ImVec2 at = ImGui::GetCursorScreenPos();
        const float lh = text_port().measure("Conversations", size, 0).y;
        text_port().draw(ImGui::GetWindowDrawList(), ImVec2(at.x, at.y + (ImGui::GetFrameHeight() - lh) * 0.5f), "Conversations", size,
                         ImGui::ColorConvertFloat4ToU32(p.muted), 0);
        ImGui::Dummy(ImVec2(1, ImGui::GetFrameHeight()));
        ImGui::SameLine(ImGui::GetWindowContentRegionMax().x - ImGui::GetFrameHeight());
        if (plus_button(false)) open_picker(s, st);
    }
    if (s.conversations().size() > kFilterAfter) page_field(st.filter_field, "conv-filter", ImGui::GetContentRegionAvail().x, st.scale);
    const float small = theme::kTypeSmall * st.scale;
    const float size = ImGui::GetFontSize();
    const float avatar = 30 * st.scale;
    const float row_h = std::max(avatar, size + text_port().measure("Ag", small, 0).y + 2 * st.scale) + theme::kSpaceSm * st.scale;
    const auto shown = filtered_conversations(s, st);
    if (shown.empty() && !s.conversations().empty()) {
        ImGui::Dummy(ImVec2(1, theme::kSpaceSm * st.scale));
        ImGui::TextDisabled("No conversation matches.");
        target("conv-filter-empty");
    }
    for (const chat::ConversationSummary* cp : shown) {
        const chat::ConversationSummary& c = *cp;
        ImGui::PushID(c.id.c_str());
        const bool selected = c.id == s.current_id();
        const ImVec2 start = ImGui::GetCursorScreenPos();
        const float row_w = ImGui::GetContentRegionAvail().x;
        ImGui::PushStyleVar(ImGuiStyleVar_SelectableTextAlign, ImVec2(0, 0));
        if (ImGui::Selectable("##row", selected, 0, ImVec2(0, row_h))) open_conversation(st, c.id);
        ImGui::PopStyleVar();
        target("conv:" + c.id);
        if (st.focus == "conv:" + c.id && st.focus_shown != st.focus) {
            ImGui::SetScrollHereY(0.5f);  // the keyboard focus is here: bring it into view
            st.focus_shown = st.focus;
        }
        ImDrawList* dl = ImGui::GetWindowDrawList();
        const float pad = theme::kSpaceXs * st.scale;
        ImGui::SetCursorScreenPos(ImVec2(start.x + pad, start.y + (row_h - avatar) * 0.5f));
        theme::avatar(c.id, c.title, avatar);
        const float x = start.x + pad + avatar + theme::kSpaceSm * st.scale;
        const float right = start.x + row_w - pad;
        // Time at the right of the title line, the badge at the right of the preview line.
        const std::string when = c.lastAt > 0 && wall_ms > 0 ? theme::format_relative(c.lastAt, wall_ms) : std::string();
        const float when_w = when.empty() ? 0 : text_port().measure(when, small, 0).x;
        const float y = start.y + theme::kSpaceXs * st.scale;
        const ImU32 title_col = ImGui::ColorConvertFloat4ToU32(p.text);
        const std::string title = text_port().ellipsize(c.title, size, std::max(20.0f, right - x - when_w - theme::kSpaceSm * st.scale));
        if (c.unread > 0) bold_text(dl, ImVec2(x, y), title, size, title_col, st.scale);
        else text_port().draw(dl, ImVec2(x, y), title, size, title_col, 0);
        if (!when.empty())
            text_port().draw(dl, ImVec2(right - when_w, y + 2 * st.scale), when, small, ImGui::ColorConvertFloat4ToU32(c.unread ? p.text : p.muted), 0);
        const float py = y + std::max(size, text_port().measure(title, size, 0).y) + 1 * st.scale;
        const float badge_w = c.unread > 0 ? ImGui::CalcTextSize("99+").x + 12 * st.scale : 0;
        const std::string preview = c.preview.empty() ? std::string("No messages yet")
                                                      : (c.previewSender == s.user_id() ? std::string("You") : c.previewSender) + ": " + c.preview;
        text_port().draw(dl, ImVec2(x, py), text_port().ellipsize(preview, small, std::max(20.0f, right - x - badge_w)), small,
                         ImGui::ColorConvertFloat4ToU32(p.muted), 0);
        if (c.unread > 0) badge(dl, ImVec2(right, py + text_port().measure("Ag", small, 0).y * 0.5f), c.unread, st.scale);
        ImGui::SetCursorScreenPos(ImVec2(start.x, start.y + row_h + ImGui::GetStyle().ItemSpacing.y));
        ImGui::Dummy(ImVec2(0, 0));
        ImGui::SetCursorScreenPos(ImVec2(start.x, start.y + row_h + ImGui::GetStyle().ItemSpacing.y));
        ImGui::PopID();
    }
    ImGui::EndChild();
}

// "New conversation": a title (the page's field), the people to pick, Create and Cancel. It
// takes the place of the history and the composer while open.
void draw_picker(const chat::ChatSession& s, ChatViewState& st) {
    const theme::Palette& p = pal();
    NewConversationState& pk = st.picker;
    const float sc = st.scale;
    const float size = ImGui::GetFontSize();
    {
        const ImVec2 at = ImGui::GetCursorScreenPos();
        bold_text(ImGui::GetWindowDrawList(), at, "New conversation", theme::kTypeTitle * sc, ImGui::ColorConvertFloat4ToU32(p.text), sc);
        ImGui::Dummy(ImVec2(1, text_port().measure("New conversation", theme::kTypeTitle * sc, 0).y + theme::kSpaceSm * sc));
    }
    ImGui::TextDisabled("Title");
    page_field(st.title_field, "new-conversation-title", std::min(ImGui::GetContentRegionAvail().x, 420 * sc), sc);
    if (pk.title.find_first_not_of(" \t\r\n") == std::string::npos && !pk.picked.empty())
        text_ellipsized("Named after the people: " + default_title(s, pk), ImGui::GetContentRegionAvail().x, ImGui::GetColorU32(ImGuiCol_TextDisabled));
    ImGui::Dummy(ImVec2(1, theme::kSpaceXs * sc));
    ImGui::TextDisabled("People");
    const float footer = ImGui::GetFrameHeightWithSpacing() * 2.5f;
    ImGui::PushStyleColor(ImGuiCol_ChildBg, p.surface);
    ImGui::BeginChild("people", ImVec2(0, -footer), false);
    ImGui::PopStyleColor();
    if (s.contacts_loading()) {
        ImGui::TextDisabled("Loading people...");
        target("contacts-loading");
    } else if (!s.contacts_error().empty()) {
        text_wrapped(s.contacts_error(), ImGui::GetContentRegionAvail().x, ImGui::ColorConvertFloat4ToU32(p.danger));
        const std::string again = std::string(theme::icon::kRetry) + "  Try again";
        if (ImGui::Button(again.c_str())) st.intents.push_back({ChatIntent::Kind::LoadContacts});
        target("contacts-retry");
    } else if (s.contacts().empty()) {
        ImGui::TextWrapped("Nobody to add yet: people you share a conversation or a team with are listed here.");
        target("contacts-empty");
    }
    const float avatar = 26 * sc;
    const float row_h = std::max(avatar, size) + theme::kSpaceXs * sc;
    for (const chat::Contact& c : s.contacts()) {
        if (s.contacts_loading()) break;
        ImGui::PushID(c.id.c_str());
        const bool on = pk.picked.count(c.id) > 0;
        const ImVec2 start = ImGui::GetCursorScreenPos();
        if (ImGui::Selectable("##pick", on, ImGuiSelectableFlags_DontClosePopups, ImVec2(0, row_h))) {
            if (on) pk.picked.erase(c.id);
            else pk.picked.insert(c.id);
        }
        target("pick:" + c.id);
        if (st.focus == "pick:" + c.id && st.focus_shown != st.focus) {
            ImGui::SetScrollHereY(0.5f);
            st.focus_shown = st.focus;
        }
        ImDrawList* dl = ImGui::GetWindowDrawList();
        // A check box, the avatar and the name (user content: the text port draws it).
        const float box = size * 0.9f, pad = theme::kSpaceXs * sc;
        const ImVec2 b0(start.x + pad, start.y + (row_h - box) * 0.5f), b1(b0.x + box, b0.y + box);
        if (on) {
            dl->AddRectFilled(b0, b1, ImGui::ColorConvertFloat4ToU32(p.accent), theme::kRadiusSm * sc);
            dl->AddText(ImVec2(b0.x + (box - ImGui::CalcTextSize(theme::icon::kCheck).x) * 0.5f, b0.y - 1 * sc),
                        ImGui::ColorConvertFloat4ToU32(p.on_accent), theme::icon::kCheck);
        } else {
            dl->AddRect(b0, b1, ImGui::ColorConvertFloat4ToU32(p.muted), theme::kRadiusSm * sc, 0, 1.5f * sc);
        }
        ImGui::SetCursorScreenPos(ImVec2(b1.x + theme::kSpaceSm * sc, start.y + (row_h - avatar) * 0.5f));
        theme::avatar(c.id, c.name, avatar);
        const float x = b1.x + theme::kSpaceSm * 2 * sc + avatar;
        const std::string name = text_port().ellipsize(c.name, size, std::max(20.0f, start.x + ImGui::GetContentRegionAvail().x - x));
        text_port().draw(dl, ImVec2(x, start.y + (row_h - text_port().measure(name, size, 0).y) * 0.5f), name, size,
                         ImGui::ColorConvertFloat4ToU32(p.text), 0);
        ImGui::SetCursorScreenPos(ImVec2(start.x, start.y + row_h + ImGui::GetStyle().ItemSpacing.y));
        ImGui::Dummy(ImVec2(0, 0));
        ImGui::SetCursorScreenPos(ImVec2(start.x, start.y + row_h + ImGui::GetStyle().ItemSpacing.y));
        ImGui::PopID();
    }
    ImGui::EndChild();
    if (!s.create_error().empty()) text_ellipsized(s.create_error(), ImGui::GetContentRegionAvail().x, ImGui::ColorConvertFloat4ToU32(p.danger));
    else if (s.creating()) ImGui::TextDisabled("Creating...");
    else ImGui::TextDisabled("%zu picked", pk.picked.size());
    const bool can = !pk.picked.empty() && !s.creating();
    ImGui::BeginDisabled(!can);
    ImGui::PushStyleColor(ImGuiCol_Button, p.accent);
    ImGui::PushStyleColor(ImGuiCol_ButtonHovered, p.accent);
    ImGui::PushStyleColor(ImGuiCol_Text, p.on_accent);
    const bool create = ImGui::Button("Create");
    ImGui::PopStyleColor(3);
    ImGui::EndDisabled();
    target("create-conversation");
    ImGui::SameLine();
    const bool cancel = ImGui::Button("Cancel");
    target("cancel-new-conversation");
    if (create && can) create_from_picker(s, st);
    if (cancel) pk = NewConversationState{};
}

// Previous/next conversation in the list's order (Alt+Up/Down).
void step_conversation(const chat::ChatSession& s, ChatViewState& st, int dir) {
    const auto list = filtered_conversations(s, st);  // the filter narrows what Alt+Up/Down walks
    if (list.empty() || dir == 0) return;
    std::size_t i = 0;
    while (i < list.size() && list[i]->id != s.current_id()) ++i;
    std::size_t next;
    if (i == list.size()) next = dir < 0 ? list.size() - 1 : 0;  // the open one is filtered out: enter the list
    else next = dir < 0 ? (i == 0 ? 0 : i - 1) : std::min(list.size() - 1, i + 1);
    if (next == i) return;
    open_conversation(st, list[next]->id);
}

const chat::Message* find_message(const chat::ChatSession& s, const std::string& key) {
    const chat::Conversation& conv = s.conversation();
    if (key.rfind("local:", 0) == 0) return conv.find_local(key.substr(6));
    return conv.find(key);
}

} // namespace

bool start_edit(const chat::ChatSession& s, ChatViewState& st, const std::string& messageId) {
    const chat::Message* m = s.conversation().find(messageId);
    if (!m || !s.can_change(*m)) return false;
    st.editing = m->messageId;
    st.editing_conversation = s.current_id();
    st.replying.clear();  // an edit is not a reply
    st.composer_text = m->text;
    st.confirm_delete.clear();
    st.focus_composer = true;
    return true;
}

// (The page keeps the draft the composer held when the edit started and puts it back when the
// edit ends, saved or not: page_bridge.cpp, js_composer_editing.)
void cancel_edit(ChatViewState& st) {
    if (st.editing.empty()) return;
    st.editing.clear();
    st.editing_conversation.clear();
    st.focus_composer = true;
}

bool start_reply(const chat::ChatSession& s, ChatViewState& st, const std::string& messageId) {
    const chat::Message* m = s.conversation().find(messageId);
    if (!m || m->deleted) return false;
    cancel_edit(st);
    st.replying = messageId;
    st.replying_conversation = s.current_id();
    st.focus_composer = true;
    return true;
}

std::string reply_target(const chat::ChatSession& s, const ChatViewState& st) {
    if (st.replying.empty() || st.replying_conversation != s.current_id()) return {};
    const chat::Message* m = s.conversation().find(st.replying);
    return m && !m->deleted ? st.replying : std::string();
}

bool open_message_link(chat::ChatSession& s, ChatViewState& st, const std::string& link) {
    const auto l = chat::message_link_parse(link);
    if (!l) return false;
    if (l->conversationId != s.current_id()) {
        st.replying.clear();
        s.open_conversation(l->conversationId);
        st.history.jump_to_bottom = true;
    }
    st.jump_to = l->messageId;
    st.jump_seq = l->seq;
    st.jump_conversation = l->conversationId;
    st.jump_revealed = false;
    return true;
}

bool send_composer(chat::ChatSession& s, ChatViewState& st, const std::string& text, std::string& why) {
    const std::string reply = reply_target(s, st);
    if (reply.empty() && !st.replying.empty() && st.replying_conversation == s.current_id()) {
        // Deleted while the reply was written: never sent as a message without its context.
        st.replying.clear();
        why = "The message you reply to was deleted; send again to send it as a new message.";
        return false;
    }
    if (!s.send(text, why, std::nullopt, reply)) return false;
    st.replying.clear();
    return true;
}

bool submit_edit(const chat::ChatSession& s, ChatViewState& st, const std::string& text) {
    if (st.editing.empty()) return false;
    if (st.editing_conversation != s.current_id()) {  // another conversation opened in the same frame
        st.editing.clear();
        st.editing_conversation.clear();
        show_error(st, "The edit was not saved: another conversation is open.");
        return true;  // never sent there as a new message
    }
    ChatIntent i{ChatIntent::Kind::Edit, st.editing};
    i.text = text;
    st.intents.push_back(std::move(i));
    st.editing.clear();
    st.editing_conversation.clear();
    return true;
}

std::vector<const chat::ConversationSummary*> filtered_conversations(const chat::ChatSession& s, const ChatViewState& st) {
    std::vector<const chat::ConversationSummary*> out;
    const auto& all = s.conversations();
    out.reserve(all.size());
    const bool filter = all.size() > kFilterAfter && !st.conv_filter.empty();
    const std::string query = filter ? fold_case(st.conv_filter) : std::string();
    for (const auto& c : all)
        if (!filter || fold_case(c.title).find(query) != std::string::npos) out.push_back(&c);
    return out;
}

std::string default_title(const chat::ChatSession& s, const NewConversationState& picker) {
    std::string t;
    for (const auto& c : s.contacts())
        if (picker.picked.count(c.id)) t += (t.empty() ? "" : ", ") + c.name;
    constexpr std::size_t kMax = 200;  // the server's limit, in bytes
    if (t.size() > kMax) t = t.substr(0, grapheme_safe_cut(t, kMax - 3)) + "\xe2\x80\xa6";
    return t;
}

bool chat_action(const chat::ChatSession& s, ChatViewState& st, const std::string& name) {
    const auto rest = [&](const char* prefix) -> std::optional<std::string> {
        const std::size_t n = std::char_traits<char>::length(prefix);
        if (name.size() > n && name.compare(0, n, prefix) == 0) return name.substr(n);
        return std::nullopt;
    };
    if (auto id = rest("conv:")) {
        open_conversation(st, *id);
    } else if (name == "new-conversation") {
        open_picker(s, st);
    } else if (name == "cancel-new-conversation") {
        st.picker = NewConversationState{};
    } else if (auto uid = rest("pick:")) {
        if (!st.picker.open) return false;
        if (!st.picker.picked.erase(*uid)) st.picker.picked.insert(*uid);
    } else if (name == "create-conversation") {
        if (!st.picker.open) return false;
        create_from_picker(s, st);
    } else if (name == "contacts-retry") {
        st.intents.push_back({ChatIntent::Kind::LoadContacts});
    } else if (auto key = rest("copy:")) {
        const chat::Message* m = find_message(s, *key);
        if (!m || m->text.empty()) return false;
        st.copy_request = m->text;
    } else if (auto eid = rest("edit:")) {
        return start_edit(s, st, *eid);
    } else if (name == "edit-last") {
        // Up in an empty composer: the newest of the user's own messages that can be edited.
        const auto all = s.conversation().stored_after(0);
        for (auto it = all.rbegin(); it != all.rend(); ++it)
            if (s.can_change(**it)) return start_edit(s, st, (*it)->messageId);
        return false;
    } else if (name == "cancel-edit") {
        if (st.editing.empty()) return false;
        cancel_edit(st);
    } else if (auto rid = rest("reply:")) {
        return start_reply(s, st, *rid);
    } else if (name == "cancel-reply") {
        if (st.replying.empty()) return false;
        st.replying.clear();
        st.focus_composer = true;
    } else if (auto qid = rest("quote:")) {
        // The quoted message of reply `qid`: into view now when loaded, else after older pages.
        const chat::Message* m = find_message(s, *qid);
        if (!m || m->replyToId.empty() || m->deleted) return false;
        if (!s.conversation().find(m->replyToId) && s.quote_of(*m).state == chat::ChatSession::QuoteState::Unavailable) {
            show_error(st, "The message replied to is not available.");
            return true;
        }
        st.jump_to = m->replyToId;
        st.jump_seq = m->replyToSeq;
        st.jump_conversation = s.current_id();
        st.jump_revealed = false;
        st.history.jump_to_bottom = false;
    } else if (auto rr = rest("react:")) {
        // react:<messageId>:<emoji> toggles the user's reaction (message ids have no ':').
        const std::size_t colon = rr->find(':');
        if (colon == std::string::npos) return false;
        const std::string target_id = rr->substr(0, colon), chosen = rr->substr(colon + 1);
        const chat::Message* m = s.conversation().find(target_id);
        if (!m || m->deleted || chosen.empty()) return false;
        ChatIntent i{ChatIntent::Kind::React, target_id};
        i.text = chosen;
        i.add = !chat::reacted(*m, chosen, s.user_id());
        st.intents.push_back(std::move(i));
        st.react_picker.clear();
    } else if (auto pid = rest("reactions:")) {
        const chat::Message* m = s.conversation().find(*pid);
        if (!m || m->deleted) return false;
        st.react_picker = st.react_picker == *pid ? std::string() : *pid;
    } else if (auto picked = rest("pick-reaction:")) {
        if (st.react_picker.empty()) return false;
        return chat_action(s, st, "react:" + st.react_picker + ":" + *picked);
    } else if (auto did = rest("delete:")) {
        const chat::Message* m = s.conversation().find(*did);
        if (!m || !s.can_change(*m)) return false;
        st.confirm_delete = m->messageId;
    } else if (name == "confirm-delete") {
        if (st.confirm_delete.empty()) return false;
        if (st.editing == st.confirm_delete) cancel_edit(st);
        st.intents.push_back({ChatIntent::Kind::Delete, st.confirm_delete});
        st.confirm_delete.clear();
    } else if (name == "cancel-delete") {
        if (st.confirm_delete.empty()) return false;
        st.confirm_delete.clear();
    } else if (auto k2 = rest("attachment:"); k2 || rest("thumb:")) {
        const chat::Message* m = find_message(s, k2 ? *k2 : *rest("thumb:"));
        if (!m || !m->attachment) return false;
        st.open_url = m->attachment->url;
    } else if (auto cmid = rest("retry:")) {
        st.intents.push_back({ChatIntent::Kind::Retry, *cmid});
    } else if (name == "retry-all") {
        st.intents.push_back({ChatIntent::Kind::RetryAll});
    } else if (name == "retry-start") {
        st.intents.push_back({ChatIntent::Kind::RetryStart});
    } else if (name == "retry-history") {
        st.intents.push_back({ChatIntent::Kind::Reload, s.current_id()});
    } else if (name == "jump-down") {
        st.history.jump_to_bottom = true;
    } else if (name == "close-chat") {
        st.intents.push_back({ChatIntent::Kind::ClosePanel});
    } else if (name == "open-chat") {
        st.intents.push_back({ChatIntent::Kind::OpenPanel});
        st.history.jump_to_bottom = true;
    } else if (name == "escape") {
        // The innermost first: the delete dialog, the reaction picker, then an edit, then the picker.
        if (!st.confirm_delete.empty()) st.confirm_delete.clear();
        else if (!st.react_picker.empty()) st.react_picker.clear();
        else if (!st.editing.empty()) cancel_edit(st);
        else if (!st.replying.empty()) st.replying.clear();
        else if (st.picker.open) st.picker = NewConversationState{};
        else return false;
    } else {
        return false;
    }
    return true;
}

bool apply_intents(chat::ChatSession& s, ChatViewState& st) {
    if (st.intents.empty()) return false;
    std::vector<ChatIntent> todo;
    todo.swap(st.intents);
    for (auto& i : todo) {
        using K = ChatIntent::Kind;
        switch (i.kind) {
        case K::Open:
            if (i.arg != s.current_id()) st.replying.clear();
            s.open_conversation(i.arg);
            st.history.jump_to_bottom = true;
            st.picker.open = false;
            break;
        case K::Reload:
            if (s.current_id() == i.arg) s.open_conversation(i.arg);
            break;
        case K::LoadOlder:
            if (s.current_id() == i.arg && !s.loading_older()) s.load_older();
            break;
        case K::Retry: s.retry(i.arg); break;
        case K::RetryAll: s.retry_all(); break;
        case K::RetryStart: s.retry_start(); break;
        case K::ReconnectNow: s.reconnect_now(); break;
        case K::LoadContacts: s.load_contacts(); break;
        case K::Create: s.create_conversation(i.arg, i.members); break;
        case K::OpenPanel: s.open_panel(); break;
        case K::ClosePanel: s.close_panel(); break;
        case K::Edit:
        case K::Delete: {
            // Refused (here at once, or by the server later: too long, rate limited, offline):
            // said on the composer line, and an edit opens again with the text typed, so nothing
            // typed is lost. `st` and `s` outlive the request: the panel's state and its session
            // live as long as the page.
            const uint64_t seq = st.error_seq;
            const bool edit = i.kind == K::Edit;
            auto reopen = [&st, &s, edit, id = i.arg, conv = s.current_id(), text = i.text] {
                const chat::Message* m = s.current_id() == conv ? s.conversation().find(id) : nullptr;
                if (!edit || !st.editing.empty() || !m || !s.can_change(*m)) return;
                st.editing = id;
                st.editing_conversation = conv;
                st.composer_text = text;
                st.focus_composer = true;
            };
            auto done = [&st, seq, reopen](const std::string& e) {
                if (!e.empty()) {
                    show_error(st, e);
                    reopen();
                } else if (st.error_seq == seq) {
                    st.last_error.clear();
                }
            };
            std::string why;
            const bool ok = edit ? s.edit_message(i.arg, i.text, why, done) : s.delete_message(i.arg, why, done);
            if (!ok) {
                show_error(st, why);
                reopen();
            }
            break;
        }
        case K::Reveal: {
            st.jump_requested = false;
            std::string why;
            if (!s.reveal(i.arg, i.seq, why) && st.jump_to == i.arg) {
                st.jump_to.clear();
                show_error(st, why);
            }
            break;
        }
        case K::React: {
            const uint64_t seq = st.error_seq;
            std::string why;
            if (!s.react(i.arg, i.text, i.add, why, [&st, seq](const std::string& e) {
                    if (!e.empty()) show_error(st, e);
                    else if (st.error_seq == seq) st.last_error.clear();
                }))
                show_error(st, why);
            break;
        }
        }
    }
    return true;
}

bool draw_focus_ring(const std::string& focus, bool light, float scale) {
    if (focus.empty()) return false;
    std::optional<Target> t;
    for (const auto& x : targets())
        if (x.name == focus) t = x;  // the last drawn by that name (the one on top)
    if (!t && focus.rfind("conv:", 0) == 0)
        for (const auto& x : targets())
            if (x.name == "conv-picker") t = x;  // narrow layout: the conversation picker stands for its items
    if (!t) return false;
    const float gap = 2 * scale, thick = 2 * scale;
    const ImVec2 a(t->x - gap - thick * 0.5f, t->y - gap - thick * 0.5f), b(t->x + t->w + gap + thick * 0.5f, t->y + t->h + gap + thick * 0.5f);
    ImGui::GetForegroundDrawList()->AddRect(a, b, ImGui::ColorConvertFloat4ToU32(theme::palette(light).focus), theme::kRadiusSm * scale, 0, thick);
    target_rect("focus-ring", a.x, a.y, b.x, b.y);
    return true;
}

namespace {
// "Delete this message?": a small modal over the panel while a delete waits for confirmation.
void draw_delete_dialog(const chat::ChatSession& s, ChatViewState& st) {
    if (st.confirm_delete.empty()) return;
    const chat::Message* m = s.conversation().find(st.confirm_delete);
    if (!m) return;
    if (!ImGui::IsPopupOpen("Delete message?")) ImGui::OpenPopup("Delete message?");
    const ImVec2 centre(ImGui::GetWindowPos().x + ImGui::GetWindowWidth() * 0.5f, ImGui::GetWindowPos().y + ImGui::GetWindowHeight() * 0.4f);
    ImGui::SetNextWindowPos(centre, ImGuiCond_Always, ImVec2(0.5f, 0.5f));
    const float w = std::min(ImGui::GetWindowWidth() * 0.9f, 360 * st.scale);
    ImGui::SetNextWindowSize(ImVec2(w, 0));
    if (!ImGui::BeginPopupModal("Delete message?", nullptr, ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoSavedSettings))
        return;
    target("delete-dialog");
    text_wrapped("It is removed for everyone in the conversation. This cannot be undone.", w - ImGui::GetStyle().WindowPadding.x * 2, 0);
    if (!m->text.empty())
        text_ellipsized("\u201c" + chat::preview_of(*m, 200) + "\u201d", w - ImGui::GetStyle().WindowPadding.x * 2,
                        ImGui::GetColorU32(ImGuiCol_TextDisabled));
    ImGui::Spacing();
    ImGui::PushStyleColor(ImGuiCol_Button, pal().danger);
    ImGui::PushStyleColor(ImGuiCol_ButtonHovered, pal().danger);
    ImGui::PushStyleColor(ImGuiCol_Text, pal().on_accent);
    const bool yes = ImGui::Button("Delete");
    ImGui::PopStyleColor(3);
    target("confirm-delete");
    ImGui::SameLine();
    const bool no = ImGui::Button("Cancel") || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape));
    target("cancel-delete");
    if (yes) chat_action(s, st, "confirm-delete");
    else if (no) st.confirm_delete.clear();
    if (st.confirm_delete.empty()) ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
}
} // namespace

void draw_chat_panel(const chat::ChatSession& s, ChatViewState& st, float x, float y, float w, float h, uint64_t now_ms,
                     const std::function<void()>& header_extra) {
    ImGui::SetNextWindowPos(ImVec2(x, y));
    ImGui::SetNextWindowSize(ImVec2(w, h));
    ImGui::Begin("Chat", nullptr,
                 ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoMove |
                     ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoScrollbar);
    st.composer_visible = false;
    st.filter_field.visible = false;
    st.title_field.visible = false;
    st.rows_drawn = 0;
    st.drawn_links.clear();
    if (st.picker.open && s.created_count() != st.picker.created_seen) {
        // The conversation was created and opened: back to the messages, writing.
        st.picker = NewConversationState{};
        st.history.jump_to_bottom = true;
        st.focus_composer = true;
    }

    // Header: conversation, me (when there is room), bell and open/close at the right edge.
    const bool wide = w / st.scale >= 640;
    const ImGuiStyle& style = ImGui::GetStyle();
    const float icon_w = ImGui::GetFrameHeight() + ImGui::GetFontSize() * 0.4f;  // an icon button
    const float close_w = s.panel_open() ? icon_w : ImGui::CalcTextSize("Open chat").x + style.FramePadding.x * 2;
    const float bell_w = icon_w + ImGui::CalcTextSize("99+").x;
    const float right = w - style.WindowPadding.x - close_w;
    const float title_room = std::max(60.0f, right - bell_w - style.ItemSpacing.x * 2 - style.WindowPadding.x);
    {
        const float size = ImGui::GetFontSize();
        const std::string title = text_port().ellipsize(s.title().empty() ? "Chat" : s.title(), size, wide ? title_room * 0.6f : title_room);
        const ImVec2 at = ImGui::GetCursorScreenPos();
        bold_text(ImGui::GetWindowDrawList(), ImVec2(at.x, at.y + (ImGui::GetFrameHeight() - size) * 0.5f), title, size,
                  ImGui::ColorConvertFloat4ToU32(pal().text), st.scale);
        const float tw = text_port().measure(title, size, 0).x;
        ImGui::Dummy(ImVec2(tw, ImGui::GetFrameHeight()));
        if (wide) {
            // "signed in as" in what is left (user content: the text port draws it).
            ImGui::SameLine();
            const float small = theme::kTypeSmall * st.scale;
            const float left = title_room - tw - style.ItemSpacing.x;
            const std::string me = text_port().ellipsize("signed in as " + (s.display_name().empty() ? s.user_id() : s.display_name()), small,
                                                         std::max(20.0f, left));
            const ImVec2 p = ImGui::GetCursorScreenPos();
            const ImVec2 ms = text_port().measure(me, small, 0);
            text_port().draw(ImGui::GetWindowDrawList(), ImVec2(p.x, p.y + (ImGui::GetFrameHeight() - ms.y) * 0.5f), me, small,
                             ImGui::ColorConvertFloat4ToU32(pal().muted), 0);
            ImGui::Dummy(ImVec2(ms.x, ImGui::GetFrameHeight()));
        }
    }
    ImGui::SameLine(right - bell_w - style.ItemSpacing.x);
    if (header_extra) header_extra();
    ImGui::SameLine(right);
    if (s.panel_open()) {
        if (ImGui::Button(theme::icon::kClose)) st.intents.push_back({ChatIntent::Kind::ClosePanel});
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("Close chat (stop receiving messages)");
        target("close-chat");
    } else {
        if (ImGui::Button("Open chat")) {
            st.intents.push_back({ChatIntent::Kind::OpenPanel});
            st.history.jump_to_bottom = true;
        }
        target("open-chat");
    }
    connection_banner(s, st, now_ms);
    ImGui::Separator();

    if (s.phase() == chat::Phase::Failed) {
        // An error state with what happened and a way out. Server messages may quote user content
        // (a title, an id): the text port draws any script.
        ImGui::Dummy(ImVec2(1, theme::kSpaceXl * st.scale));
        ImGui::PushStyleColor(ImGuiCol_Text, pal().danger);
        ImGui::TextUnformatted(theme::icon::kAlert);
        ImGui::PopStyleColor();
        ImGui::SameLine();
        text_wrapped(s.error(), ImGui::GetContentRegionAvail().x, ImGui::GetColorU32(error_color()));
        ImGui::Dummy(ImVec2(1, theme::kSpaceSm * st.scale));
        const std::string retry = std::string(theme::icon::kRetry) + "  Try again";
        if (ImGui::Button(retry.c_str())) st.intents.push_back({ChatIntent::Kind::RetryStart});
        target("retry-start");
        ImGui::End();
        return;
    }
    if (s.phase() != chat::Phase::Ready) {
        ImGui::TextDisabled(s.phase() == chat::Phase::SigningIn ? "Signing in..." : "Loading conversations...");
        draw_skeleton(ImGui::GetContentRegionAvail().x, st);
        ImGui::End();
        return;
    }
    if (!s.panel_open()) {
        ImGui::TextDisabled("The chat is closed. Open it to see new messages.");
        ImGui::End();
        return;
    }

    // Alt+Up/Down: previous/next conversation (from the canvas, or from the page's composer).
    if (ImGui::GetIO().KeyAlt && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_UpArrow))) st.nav_request = -1;
    if (ImGui::GetIO().KeyAlt && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_DownArrow))) st.nav_request = 1;
    step_conversation(s, st, st.nav_request);
    st.nav_request = 0;

    // Wide screens get a conversation list at the left; narrow ones a picker above the messages.
    if (wide) {
        conversation_list(s, st, 250 * st.scale, st.wall_ms);
        ImGui::SameLine();
    }
    ImGui::BeginGroup();
    if (!wide) {
        // Narrow: the filter (once there are many), then the picker and New conversation.
        if (s.conversations().size() > kFilterAfter) page_field(st.filter_field, "conv-filter", ImGui::GetContentRegionAvail().x, st.scale);
        const float plus_w = ImGui::GetFrameHeight();
        if (s.conversations().size() > 1) {
            // A picker: the combo's own label is blank, the text port draws the open conversation's title.
            const ImVec2 at = ImGui::GetCursorScreenPos();
            const float combo_w = ImGui::GetContentRegionAvail().x - plus_w - style.ItemSpacing.x;
            ImGui::SetNextItemWidth(combo_w);
            const bool open = ImGui::BeginCombo("##conversation", "");
            target("conv-picker");
            text_port().draw(ImGui::GetWindowDrawList(), ImVec2(at.x + style.FramePadding.x, at.y + style.FramePadding.y),
                             text_port().ellipsize(s.title(), ImGui::GetFontSize(), combo_w - ImGui::GetFrameHeight() - style.FramePadding.x * 2),
                             ImGui::GetFontSize(), ImGui::GetColorU32(ImGuiCol_Text), 0);
            if (open) {
                const auto shown = filtered_conversations(s, st);
                if (shown.empty()) ImGui::TextDisabled("No conversation matches.");
                for (const chat::ConversationSummary* c : shown) {
                    ImGui::PushID(c->id.c_str());
                    const ImVec2 row = ImGui::GetCursorScreenPos();
                    if (ImGui::Selectable("##pick", c->id == s.current_id(), 0, ImVec2(0, ImGui::GetTextLineHeight())))
                        open_conversation(st, c->id);
                    target("conv:" + c->id);
                    const std::string label = c->title + (c->unread ? " (" + std::to_string(c->unread) + ")" : "");
                    text_port().draw(ImGui::GetWindowDrawList(), row, text_port().ellipsize(label, ImGui::GetFontSize(), combo_w),
                                     ImGui::GetFontSize(), ImGui::GetColorU32(ImGuiCol_Text), 0);
                    ImGui::PopID();
                }
                ImGui::EndCombo();
            }
            ImGui::SameLine();
        }
        if (plus_button(s.conversations().size() <= 1)) open_picker(s, st);
    }
    if (st.picker.open) {
        if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) st.picker = NewConversationState{};
        else draw_picker(s, st);
        ImGui::EndGroup();
        ImGui::End();
        return;
    }
    const float line = ImGui::GetTextLineHeightWithSpacing();
    const float composer_h = line * 2.4f;
    const float below = composer_h + line * 2.2f + ImGui::GetStyle().ItemSpacing.y * 3;
    ImGui::BeginChild("messages", ImVec2(0, -below), false);
    draw_history(s, st, now_ms);
    ImGui::EndChild();

    // An edit belongs to the conversation it started in; a message deleted meanwhile (by the
    // conversation's creator, or in another tab) cannot be saved.
    if (!st.editing.empty()) {
        const chat::Message* m = st.editing_conversation == s.current_id() ? s.conversation().find(st.editing) : nullptr;
        // Esc with the canvas focused cancels too (the composer's Esc comes as the "escape" action).
        if (!m || m->deleted || (st.confirm_delete.empty() && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape)))) cancel_edit(st);
    }
    if (!st.confirm_delete.empty()) {
        const chat::Message* m = s.conversation().find(st.confirm_delete);
        if (!m || m->deleted) st.confirm_delete.clear();
    }

    // Typing indicator line; while editing, what Enter and Esc do instead (same height).
    auto typing = s.typing_users(now_ms);
    if (!st.editing.empty()) {
        ImGui::PushStyleColor(ImGuiCol_Text, pal().accent);
        ImGui::TextUnformatted(theme::icon::kPencil);
        ImGui::PopStyleColor();
        ImGui::SameLine();
        ImGui::TextDisabled("Editing your message: Enter saves, Esc cancels");
        ImGui::SameLine();
        if (ImGui::SmallButton("Cancel")) cancel_edit(st);
        target("cancel-edit");
    } else if (const std::string rt = reply_target(s, st); !rt.empty()) {
        // Replying: to whom and what, and a way out (Esc does the same).
        const chat::Message* m = s.conversation().find(rt);
        ImGui::PushStyleColor(ImGuiCol_Text, pal().accent);
        ImGui::TextUnformatted(theme::icon::kReply);
        ImGui::PopStyleColor();
        ImGui::SameLine();
        const float cancel_w = ImGui::CalcTextSize("Cancel").x + style.FramePadding.x * 2 + style.ItemSpacing.x;
        text_ellipsized("Replying to " + m->senderId + ": " + chat::preview_of(*m, 200),
                        std::max(20.0f, ImGui::GetContentRegionAvail().x - cancel_w), ImGui::GetColorU32(ImGuiCol_TextDisabled));
        target("replying");
        ImGui::SameLine();
        if (ImGui::SmallButton("Cancel##reply")) st.replying.clear();
        target("cancel-reply");
    } else if (const auto here = s.online_members(); typing.empty() && !here.empty()) {
        // Who else is here now (presence): a dot in the "online" colour, then their names.
        const float r = ImGui::GetFontSize() * 0.22f;
        const ImVec2 at = ImGui::GetCursorScreenPos();
        ImGui::GetWindowDrawList()->AddCircleFilled(ImVec2(at.x + r, at.y + ImGui::GetTextLineHeight() * 0.5f), r,
                                                    ImGui::ColorConvertFloat4ToU32(pal().success));
        ImGui::Dummy(ImVec2(r * 2, ImGui::GetTextLineHeight()));
        ImGui::SameLine();
        text_ellipsized(chat::online_label(here), ImGui::GetContentRegionAvail().x, ImGui::GetColorU32(ImGuiCol_TextDisabled));
        target("online");
    } else if (typing.empty()) {
        ImGui::TextUnformatted(" ");
    } else {
        std::string who = typing[0];
        for (std::size_t i = 1; i < typing.size(); ++i) who += ", " + typing[i];
        text_ellipsized(who + (typing.size() == 1 ? " is typing..." : " are typing..."), ImGui::GetContentRegionAvail().x,
                        ImGui::GetColorU32(ImGuiCol_TextDisabled));
    }

    // Composer area: the page lays its textarea over this rect (native text entry, IME, paste).
    const ImVec2 size(ImGui::GetContentRegionAvail().x, composer_h);
    ImGui::Dummy(size);
    st.composer_x = ImGui::GetItemRectMin().x;
    st.composer_y = ImGui::GetItemRectMin().y;
    st.composer_w = size.x;
    st.composer_h = size.y;
    st.composer_visible = true;
    const bool over = st.composer_bytes > s.max_message_bytes();
    const std::string attach = std::string(theme::icon::kPaperclip) + " Attach";
    if (ImGui::SmallButton(attach.c_str())) st.pick_file = true;
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Attach a file");
    target("attach");
    ImGui::SameLine();
    ImGui::TextColored(over ? error_color() : ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled), "%zu / %zu bytes",
                       st.composer_bytes, s.max_message_bytes());
    const std::string send = st.editing.empty() ? std::string(theme::icon::kSend) + " Send" : std::string(theme::icon::kCheck) + " Save";
    const float send_w = ImGui::CalcTextSize(send.c_str()).x + style.FramePadding.x * 2;
    const char* hint = "  Enter sends, Shift+Enter new line";
    const float row_right = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
    if (wide && row_right - ImGui::GetItemRectMax().x > ImGui::CalcTextSize(hint).x + send_w + style.ItemSpacing.x * 3) {
        ImGui::SameLine();
        ImGui::TextDisabled("%s", hint);
    }
    if (!st.last_error.empty()) {
        ImGui::SameLine();
        text_ellipsized("  " + st.last_error, std::max(20.0f, ImGui::GetContentRegionAvail().x - send_w - style.ItemSpacing.x * 2),
                        ImGui::GetColorU32(error_color()));
    }
    // The send button (for pointer and touch users; Enter does the same in the composer).
    {
        const float bw = send_w;
        ImGui::SameLine();
        const ImVec2 at = ImGui::GetCursorScreenPos();
        const float right_edge = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
        ImGui::SetCursorScreenPos(ImVec2(std::max(at.x, right_edge - bw), at.y));
        ImGui::PushStyleColor(ImGuiCol_Button, pal().accent);
        ImGui::PushStyleColor(ImGuiCol_ButtonHovered, pal().accent);
        ImGui::PushStyleColor(ImGuiCol_Text, pal().on_accent);
        if (ImGui::SmallButton(send.c_str()) && !over) st.send_request = true;
        ImGui::PopStyleColor(3);
        target("send");
    }
    ImGui::EndGroup();
    draw_delete_dialog(s, st);
    ImGui::End();
}

} // namespace ui
