// page_bridge.hpp - the one typed bridge between the wasm app and its page (shell/index.html).
//
// The page and the app share one JavaScript object, Module.chat. Its whole schema is here; the
// page's listeners (shell/index.html) fill the page -> app part, page_bridge.cpp reads it once per
// frame into a PageInput and writes a PageOutput (and the accessible mirror) back. Nothing else
// in the app touches the page.
//
// Page -> app (queues and flags; read() takes them, once per frame, cheaply when nothing is new):
//   submits: string[]        composer texts to send (Enter in #composer; the send button, through
//                            submit_composer())
//   actions: string[]        canvas target names to do what a click on that item does: the mirror's
//                            controls (data-target), the fields' Enter/Esc, "escape" for Esc on
//                            any other page element. chat.act(name) queues one and runs a frame at
//                            once (inside the click or key press: the user's gesture).
//   files: {name, type, size, bytes: Uint8Array | null}[]   files picked in #attach, read into
//                            memory; the app uploads them itself (ChatSession::send_file: the
//                            bearer token never reaches the page). A file larger than maxFileBytes
//                            is not read (bytes null; also when the read failed): never uploaded,
//                            the app says why.
//   fields: {"conv-filter": text, "new-conv-title": text}, fieldsChanged: bool
//   focus: string, focusChanged: bool   the mirror's keyboard focus, as the canvas target name its
//                            control stands for ("" none)
//   typing: bool             the composer was typed in
//   nav: -1 | 0 | 1          Alt+Up/Down on a page element (previous/next conversation)
//   wheel: number            wheel notches over the canvas (normalised by the page)
//   wake: number             frames to draw (any input event, resize, visibility)
//   themeChanged: bool       the system switched between light and dark
//   lost, restored: bool     WebGL context lost / restored
//   toastLeader: bool | undefined   this tab holds the "toast leader" Web Lock (undefined: no Web
//                            Locks in this browser; localStorage decides)
//   thumbs: {url: {state: "loading" | "ready" | "failed" | "taken", w, h, data}}   image
//                            previews the page decodes for request_thumbnail()
// App -> page (write(), after each drawn frame; also the documented browser-test hooks):
//   frames: number           frames drawn
//   maxFileBytes: number     the largest attachment the backend takes (set before the first frame
//                            the user can act on)
//   targets: {name: [cx, cy, w, h]}   the canvas items drawn, CSS px ("focus-ring" while the
//                            keyboard focus ring is drawn)
//   scrollY, scrollMax, rowsDrawn, keyCtrl   the message list's scroll, rows drawn, ImGui's Ctrl
//   textRasterized, textRasterizedTotal, textJsCalls, textJsCallsTotal, textPages,
//   textEvictions, textDropped   the text port's statistics
//   clipboard: string        the last text copied (copy_text())
//   #composer, #conv-filter, #new-conv-title   laid over their places on the canvas (left, top,
//                            width, height, display), focused on request
// Page functions the app's mirror code uses: chat.rebuild(list, fill) rebuilds a mirror list and
// keeps the keyboard focus on the same control.
// The mirror's DOM (#chat-log, #chat-outbox, #conv-list, #new-conv, #feed-list, #chat-status,
// #chat-typing, #chat-error, #chat-title, #feed-status; README "Browser-test hooks") is written by mirror().
#pragma once

#include "platform/web/text_web.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace web {

struct CssRect {
    float x = 0, y = 0, w = 0, h = 0;  // CSS px, top-left and size
};

struct PickedFile {
    std::string name, type, bytes;
    uint64_t size = 0;  // bytes.size() when read, else the size the page saw
    bool read = true;   // false: the page did not read it (over maxFileBytes, or the read failed)
};

enum class ContextEvent { None, Lost, Restored };

// What the page queued since the last read.
struct PageInput {
    std::vector<std::string> submits, actions;
    std::vector<std::string> errors;  // what the page failed to do for the user (a line they read)
    std::vector<PickedFile> files;
    std::optional<std::string> focus;                          // when it changed
    std::optional<std::map<std::string, std::string>> fields;  // when one changed
    bool typing = false, theme_changed = false;
    int nav = 0, wake = 0;
    float wheel = 0;
    ContextEvent context = ContextEvent::None;  // Lost: on every read while lost
};

struct PageFieldLayout {
    std::string id;  // conv-filter, new-conv-title
    CssRect rect;
    bool visible = false, focus = false, clear = false;
};

struct NamedRect {
    std::string name;
    CssRect rect;
};

// What a drawn frame tells the page.
struct PageOutput {
    CssRect composer;
    bool composer_visible = false, composer_focus = false;
    std::vector<PageFieldLayout> fields;
    std::vector<NamedRect> targets;
    float scroll_y = 0, scroll_max = 0;
    int rows_drawn = 0;
    bool key_ctrl = false;
    uint64_t max_file_bytes = 0;
    std::string composer_editing;  // the message the composer edits ("" writing a new one): #composer[data-editing]
    std::optional<std::string> composer_text;  // replaces the composer's text (an edit starts or ends)
    WebTextPort::Stats text;
};

// The accessible mirror: what changed since the last snapshot (app/mirror.cpp builds them).
struct MirrorMessage {
    std::string id, sender, text, when, full, attachment;  // attachment: its name, "" none
    uint64_t seq = 0;
    int64_t at_ms = 0;
    bool edited = false, deleted = false;  // data-edited, data-deleted
    bool own = false;                      // the user's own: Edit and Delete buttons
    std::string reply_to, quote;           // a reply: data-reply-to, and its quote button (quote:<id>)
    struct Reaction {
        std::string emoji;
        std::size_t count = 0;
        bool mine = false;  // aria-pressed
    };
    std::vector<Reaction> reactions;       // data-reactions "👍:2,🎉:1" and a toggle button each
};
struct MirrorLocal {
    std::string id, text, error;  // id: clientMessageId
    bool failed = false;
};
struct MirrorConversation {
    std::string id, title;
    uint64_t unread = 0;
    bool current = false;
};
struct MirrorPerson {
    std::string id, name;
    bool picked = false;
};
struct MirrorPicker {
    bool open = false, can_create = false;
    std::string status;
    std::vector<MirrorPerson> people;
};
struct MirrorNotification {
    std::string id, title, body, action, when, full;
    int64_t at_ms = 0;
    bool read = false;
};
struct MirrorFeed {
    uint64_t unread = 0;
    std::vector<MirrorNotification> items;
};
struct MirrorSnapshot {
    std::optional<std::string> restart;  // another conversation (its title): the log starts again
    std::vector<MirrorMessage> appended;
    std::vector<std::pair<std::string, std::string>> times;  // messageId -> relative time now
    std::optional<std::string> status, typing, error;  // error: the composer line's, "" none
    std::optional<std::string> online;  // #chat-online: the open conversation's others online ("bob online"), "" none
    std::optional<std::vector<MirrorLocal>> outbox;
    std::optional<std::vector<MirrorConversation>> conversations;
    std::optional<MirrorPicker> picker;
    std::optional<MirrorFeed> feed;
    // The delete confirmation (#chat-dialog, role=alertdialog): the message's preview while it is
    // open, "" once closed.
    std::optional<std::string> dialog;
    // The reaction picker (#reaction-picker): the message it is open for, "" once closed.
    std::optional<std::string> reaction_picker;
    // Read receipts (#chat-seen): "Seen by ..." and the message it is under ("" none).
    std::optional<std::pair<std::string, std::string>> seen;
    // The open conversation's members (Module.chat.members): what "@" completes in the composer.
    std::optional<std::vector<std::string>> members;
};

class PageBridge {
public:
    PageInput read();
    void write(const PageOutput& out);
    void mirror(const MirrorSnapshot& m);

    // Requests. From a frame run inside an input event (chat_frame_now) they happen within the
    // user's gesture, which clipboard writes, new windows and the file picker need.
    void copy_text(const std::string& text);       // the system clipboard and Module.chat.clipboard
    std::string clipboard_text();                  // what copy_text() last wrote (ImGui's paste)
    // A new window (http(s) and same-site paths only), or into `blank`: a window open_blank
    // opened inside the click, for a link that comes later (0 if the browser refused it).
    void open_url(const std::string& url, int blank = 0);
    int open_blank();
    void close_blank(int blank);
    void download_url(const std::string& url);  // a same-site file, saved (no window)
    void pick_file();                              // the file picker (#attach)
    void submit_composer();                        // the send button: the composer's text as Enter sends it
    void restore_composer(const std::string& text);  // a refused send: the text back, if the composer is empty
    std::size_t composer_bytes();                  // UTF-8 length of the composer's text
    bool claim_toast(const std::string& id);       // this tab shows the toast (one tab of several)

    // The environment.
    float fit_canvas();  // the canvas's backing store at CSS size x devicePixelRatio; the ratio
    int canvas_width();
    int canvas_height();
    bool prefers_light();
    int utc_offset_minutes();  // minutes east of UTC
    double date_now();         // Date.now()

    // Image previews, fetched and decoded by the browser (scaled to at most 480 px).
    enum class Thumb { Loading, Failed, Ready };
    void request_thumbnail(const std::string& url);
    Thumb thumbnail(const std::string& url, int& w, int& h);
    void take_thumbnail(const std::string& url, unsigned char* rgba);  // w * h * 4 bytes
};

} // namespace web
