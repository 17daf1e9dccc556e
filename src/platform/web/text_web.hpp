// text_web.hpp - the browser's text port (emscripten only): the browser shapes and rasterizes.
//
// Layout (JS, synchronous): a 2D canvas context with Module.chatTextFont(size), line breaks from
// Intl.Segmenter (word boundaries, CJK and Thai included; an overlong word is cut between
// graphemes, never inside one), hard breaks on \n, widths from measureText. Each paragraph takes
// its direction from its first strong character (RTL: Hebrew, Arabic and the other RTL scripts)
// and is right-aligned then; a line is drawn with ONE fillText with ctx.direction set, so the
// engine applies shaping, bidi and font fallback (system-ui, then Noto CJK / Noto Color Emoji).
//
// Raster: per line (never per paragraph: a long message wraps over many lines), in the text's
// colour (colour emoji stay in colour; only alpha comes from the draw colour), into slots of
// 2048x1024 RGBA texture pages (shelf packer, a bounded number of pages, the least recently used
// page evicted whole). The page textures are GL names made in C++ (glGenTextures), filled from
// the canvas with texSubImage2D through Emscripten's GL object, and drawn with ImDrawList::AddImage.
//
// Caches (C++ side, so a frame where nothing changed makes no JS call and no rasterization):
// layouts by (text, size, wrap width), line rasters by (line text, size, colour), ellipsized
// strings by (text, size, max width); all bounded, least recently used out first.
//
// For tests (page JS): Module.chatTextFont(px) is the CSS font the port draws with,
// Module.chatTextLineHeight(px) its line height, Module.chatTextLayout(text, px, wrapPx) the
// lines it breaks `text` into ({lines: [{text, width, rtl}], lineHeight, baseline}).
// 2026-11-29: first version (issue 12, "Text in every script").
#pragma once

#include "ui/text.hpp"

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

namespace web {

class WebTextPort final : public ui::TextPort {
public:
    WebTextPort();
    ~WebTextPort() override;

    ImVec2 measure(std::string_view text, float size, float wrap_width) override;
    void draw(ImDrawList* dl, ImVec2 pos, std::string_view text, float size, ImU32 color, float wrap_width) override;
    std::string ellipsize(std::string_view text, float size, float max_width) override;
    void begin_frame() override;
    unsigned rasterized_last_frame() const override { return rasterized_frame_; }

    // Drops every GL object and raster (WebGL context restored: the old names are dead; device
    // pixel ratio or theme changed). Layouts stay (they need no GL); pages are made again lazily.
    void invalidate_rasters();
    // Drops everything, layouts included (fonts may have changed: another pixel ratio).
    void invalidate_all();

    // Statistics for the page's test hooks.
    struct Stats {
        unsigned rasterized_frame = 0;     // lines rasterized since begin_frame()
        unsigned long long rasterized_total = 0;
        unsigned js_calls_frame = 0;       // calls into JS since begin_frame() (0 on an unchanged frame)
        unsigned long long js_calls_total = 0;
        unsigned pages = 0;                // texture pages alive
        unsigned long long evictions = 0;  // pages evicted whole
        unsigned dropped_frame = 0;        // lines not drawn this frame: no room in any page
        std::size_t layouts = 0, rasters = 0;
    };
    Stats stats() const;

    static constexpr int kPageW = 2048, kPageH = 1024;
    static constexpr std::size_t kSoftPages = 4;  // evict a page unused for 2 frames past this
    static constexpr std::size_t kHardPages = 8;  // never more (8 MB of GPU memory each)

private:
    struct Line {
        uint32_t begin = 0, bytes = 0;  // the line's text in Layout::text (as the browser read it)
        float width = 0;
        bool rtl = false;
    };
    struct Layout {
        std::string key_text;  // the text asked for (the key; the hash alone could collide)
        std::string text;      // the lines' text, one after the other
        std::vector<Line> lines;
        ImVec2 size;
        float line_height = 0;
        float font_size = 0, wrap = 0;
    };
    struct Slot {
        uint32_t page = 0, generation = 0;
        int x = 0, y = 0, w = 0, h = 0;  // in the page, padding included
    };
    struct Raster {
        std::string text;  // the key: line text, size, colour, direction
        float font_size = 0;
        uint32_t rgb = 0;
        bool rtl = false;
        std::vector<Slot> tiles;  // a line wider than a page is cut into tiles
        int pad_x = 0, pad_y = 0;
        uint64_t last_frame = 0;
    };
    struct Shelf {
        int y = 0, h = 0, x = 0;
    };
    struct Page {
        unsigned texture = 0;
        uint32_t generation = 0;
        std::vector<Shelf> shelves;
        int next_y = 0;
        uint64_t last_frame = 0;
    };
    struct Ellipsized {
        std::string key_text, result;
        float font_size = 0, max_width = 0;
    };
    template <class V>
    struct Lru {  // key hash -> value, least recently used at the back
        std::list<std::pair<uint64_t, V>> order;
        std::unordered_map<uint64_t, typename std::list<std::pair<uint64_t, V>>::iterator> index;
        V* find(uint64_t k) {
            auto it = index.find(k);
            if (it == index.end()) return nullptr;
            order.splice(order.begin(), order, it->second);
            return &it->second->second;
        }
        V& put(uint64_t k, V v) {
            auto it = index.find(k);
            if (it != index.end()) order.erase(it->second);
            order.emplace_front(k, std::move(v));
            index[k] = order.begin();
            return order.front().second;
        }
        void pop_back() {
            index.erase(order.back().first);
            order.pop_back();
        }
        void clear() {
            order.clear();
            index.clear();
        }
        std::size_t size() const { return index.size(); }
    };

    const Layout& layout(std::string_view text, float size, float wrap);
    static std::size_t bytes_of(const Layout& L);
    const Raster* raster(std::string_view line, float size, uint32_t rgb, bool rtl, float width, float line_height);
    bool alloc(int w, int h, Slot& out);
    bool place_in(uint32_t page, int w, int h, Slot& out);
    uint32_t new_page();
    void evict(uint32_t page);
    void js_call() { ++js_calls_frame_, ++js_calls_total_; }

    Lru<Layout> layouts_;
    std::size_t layout_bytes_ = 0;
    Lru<Ellipsized> ellipsized_;
    std::unordered_map<uint64_t, Raster> rasters_;  // by hash of (line text, size, colour, direction)
    std::vector<Page> pages_;
    uint64_t frame_ = 1;
    unsigned rasterized_frame_ = 0, js_calls_frame_ = 0, dropped_frame_ = 0;
    unsigned long long rasterized_total_ = 0, js_calls_total_ = 0, evictions_ = 0;
    std::vector<float> meta_;  // scratch for the JS layout's answer
    std::string scratch_;
};

} // namespace web
