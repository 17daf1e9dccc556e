// text_web.cpp - see text_web.hpp.
#include "text_web.hpp"

#include <GLES3/gl3.h>
#include <emscripten.h>

#include <algorithm>
#include <cmath>
#include <cstring>

// The page side. Written for emcc's EM_JS: double-quoted strings only, no template literals, no
// regex literals and no backslashes (emcc reads the text as a JSON string: it would take one
// level of escapes away). Regex patterns are strings with "~" for the backslash (see re()).
EM_JS(void, js_text_install, (), {
    if (Module.chatTextImpl) return;
    var Q = String.fromCharCode(34);  // the families with spaces in their names are quoted
    var FAMILIES = ["system-ui", "-apple-system", Q + "Segoe UI" + Q, "Roboto", Q + "Noto Sans" + Q, Q + "Noto Sans CJK SC" + Q,
                    Q + "Noto Color Emoji" + Q, "sans-serif"].join(", ");
    var fontOf = function (px) { return px + "px " + FAMILIES; };
    // A CPU-backed canvas (willReadFrequently): uploading it to WebGL, or reading it back, then
    // needs no GPU round trip (measured: 2-4x faster uploads in Chromium and WebKit).
    var make = function (w, h) {
        var opts = { willReadFrequently: true };
        if (typeof OffscreenCanvas !== "undefined") {
            try {
                var oc = new OffscreenCanvas(w, h);
                var octx = oc.getContext("2d", opts);
                if (octx) return { canvas: oc, ctx: octx, font: "" };
            } catch (e) {}
        }
        var c = document.createElement("canvas");
        c.width = w; c.height = h;
        return { canvas: c, ctx: c.getContext("2d", opts), font: "" };
    };
    var measurer = make(1, 1), painter = make(512, 64);
    var setFont = function (s, px) {
        var f = fontOf(px);
        if (s.font !== f) { s.ctx.font = f; s.font = f; }
    };
    var width = function (text) { return text === "" ? 0 : measurer.ctx.measureText(text).width; };

    var metricsBySize = {};
    var metrics = function (px) {
        var m = metricsBySize[px];
        if (m) return m;
        setFont(measurer, px);
        var t = measurer.ctx.measureText("Hg");
        var asc = t.fontBoundingBoxAscent, desc = t.fontBoundingBoxDescent;
        if (!(asc > 0)) asc = px * 0.95;
        if (!(desc >= 0)) desc = px * 0.25;
        // Line box as CSS lays it out with line-height: lineHeight px (half-leading above and below).
        var lh = Math.ceil(Math.max(px * 1.35, asc + desc));
        m = { lineHeight: lh, baseline: Math.round((lh - asc - desc) / 2 + asc), ascent: asc, descent: desc };
        metricsBySize[px] = m;
        return m;
    };

    var BACKSLASH = String.fromCharCode(92), NL = String.fromCharCode(10);
    var ZWJ = String.fromCharCode(0x200D), ELLIPSIS = String.fromCharCode(0x2026);
    var re = function (src, flags) {
        try { return new RegExp(src.split("~").join(BACKSLASH), flags === undefined ? "u" : flags); } catch (e) { return null; }
    };
    var reStrong = re("[~p{L}~u200E~u200F~u061C]");
    var reRtl = re("[~u0590-~u08FF~u200F~u061C~uFB1D-~uFDFF~uFE70-~uFEFF~u{10800}-~u{10FFF}~u{1E800}-~u{1EFFF}]");
    var reSpace = re("^~s+$");
    var reEndSpace = re("~s+$");
    var rePict = re("~p{Extended_Pictographic}");
    var reWordChar = re("[~p{L}~p{N}]");
    var reMark = re("^[~p{M}~u200D~uFE00-~uFE0F~u{1F3FB}-~u{1F3FF}~u{E0020}-~u{E007F}]");
    // Scripts written without spaces between words: a line may break between any two of their words.
    var reNoSpace = re("[~p{Script=Han}~p{Script=Hiragana}~p{Script=Katakana}~p{Script=Hangul}~p{Script=Thai}~p{Script=Lao}~p{Script=Khmer}~p{Script=Myanmar}~u3000-~u303F~uFF00-~uFFEF]");
    // Punctuation after which a line may break (hyphens, dashes, slash, CJK commas and stops, closing brackets).
    var reBreakAfter = re("[~-~u2010-~u2014/~u3001~u3002~uFF0C~uFF0E~uFF01~uFF1F~uFF1A~uFF1B~u3009~u300B~u300D~u300F~u3011~uFF09]$");
    var reNewlines = re("~r~n?", "g"), reLineEnd = re("[~r~n]", ""), reEndSpacePlain = re("~s+$", "");
    var test = function (r, s) { return r ? r.test(s) : false; };
    var trimEnd = function (s) { return s.replace(reEndSpace || reEndSpacePlain, ""); };

    var segWord = null, segGrapheme = null;
    try {
        segWord = new Intl.Segmenter(undefined, { granularity: "word" });
        segGrapheme = new Intl.Segmenter(undefined, { granularity: "grapheme" });
    } catch (e) { segWord = segGrapheme = null; }

    var graphemes = function (s) {
        var out = [];
        if (segGrapheme) {
            for (var g of segGrapheme.segment(s)) out.push(g.segment);
            return out;
        }
        // Without Intl.Segmenter: code points, marks, joiners and modifiers kept with their base.
        var joinNext = false;
        for (var ch of s) {
            if (out.length && (joinNext || test(reMark, ch))) out[out.length - 1] += ch;
            else out.push(ch);
            joinNext = ch === ZWJ;
        }
        return out;
    };
    var segments = function (s) {
        var out = [];
        if (segWord) {
            for (var w of segWord.segment(s)) out.push({ text: w.segment, word: !!w.isWordLike });
            return out;
        }
        var gs = graphemes(s);
        for (var i = 0; i < gs.length; i++) out.push({ text: gs[i], word: test(reWordChar, gs[i]) });
        return out;
    };
    var lastChar = function (s) { var a = Array.from(s); return a.length ? a[a.length - 1] : ""; };
    var firstChar = function (s) { for (var ch of s) return ch; return ""; };
    // May a line break between segment p and segment n?
    var canBreak = function (p, n) {
        if (test(reSpace, n.text)) return false;                     // spaces hang at the line's end
        if (test(reSpace, p.text)) return true;
        var pl = lastChar(p.text), nf = firstChar(n.text);
        if (pl === ZWJ) return false;
        var nPict = test(rePict, nf), pPict = test(rePict, pl);
        if (!n.word && !nPict) return false;                           // punctuation stays with what it follows
        if (nPict || pPict) return true;                               // between emoji
        if (test(reBreakAfter, pl)) return true;
        if (p.word && n.word && (test(reNoSpace, pl) || test(reNoSpace, nf))) return true;
        return false;
    };
    // Unbreakable units of a paragraph, in order.
    var units = function (para) {
        var segs = segments(para), out = [], cur = "", prev = null;
        for (var i = 0; i < segs.length; i++) {
            if (prev && canBreak(prev, segs[i])) { out.push(cur); cur = ""; }
            cur += segs[i].text;
            prev = segs[i];
        }
        if (cur !== "") out.push(cur);
        return out;
    };
    var strongRtl = function (s) {
        if (!reStrong) return null;
        for (var ch of s) if (reStrong.test(ch)) return test(reRtl, ch);
        return null;
    };

    // Lines of `text` at `px`, wrapped to `wrap` (<= 0: hard breaks only).
    var layout = function (text, px, wrap) {
        setFont(measurer, px);
        var m = metrics(px);
        var lines = [], rtl = false;
        var push = function (t, dir) {
            if (wrap > 0) t = trimEnd(t);
            lines.push({ text: t, width: width(t), rtl: dir });
        };
        var paras = text.replace(reNewlines, NL).split(NL);
        if (paras.length > 1 && paras[paras.length - 1] === "") paras.pop();  // a final newline adds no line
        for (var pi = 0; pi < paras.length; pi++) {
            var para = paras[pi];
            // Each paragraph's direction from its first strong character; none: the one before's.
            var dir = strongRtl(para);
            if (dir !== null) rtl = dir;
            if (wrap <= 0 || para === "" || width(para) <= wrap) { push(para, rtl); continue; }
            var us = units(para), line = "";
            for (var ui = 0; ui < us.length; ui++) {
                var u = us[ui];
                if (line !== "" && width(trimEnd(line + u)) <= wrap) { line += u; continue; }
                if (line !== "") { push(line, rtl); line = ""; }
                if (width(trimEnd(u)) <= wrap) { line = u; continue; }
                // A word wider than the line: cut between graphemes, never inside one.
                var gs = graphemes(u), cur = "";
                for (var gi = 0; gi < gs.length; gi++) {
                    if (cur !== "" && width(trimEnd(cur + gs[gi])) > wrap) { push(cur, rtl); cur = ""; }
                    cur += gs[gi];
                }
                line = cur;
            }
            if (line !== "" || !lines.length) push(line, rtl);
        }
        if (!lines.length) lines.push({ text: "", width: 0, rtl: false });
        return { lines: lines, lineHeight: m.lineHeight, baseline: m.baseline };
    };

    // `text` cut to one line of at most maxW px by whole graphemes, with an ellipsis; null: it fits.
    var ellipsize = function (text, px, maxW) {
        setFont(measurer, px);
        var nl = text.search(reLineEnd);
        var first = nl >= 0 ? text.slice(0, nl) : text;
        var cut = nl >= 0 && text.slice(nl).trim() !== "";  // more lines with something on them
        if (!cut && width(first) <= maxW) return nl < 0 ? null : first;
        var gs = graphemes(first);
        var fits = function (k) { return width(trimEnd(gs.slice(0, k).join("")) + ELLIPSIS) <= maxW; };
        var lo = 0, hi = gs.length;
        while (lo < hi) {
            var mid = (lo + hi + 1) >> 1;
            if (fits(mid)) lo = mid; else hi = mid - 1;
        }
        return trimEnd(gs.slice(0, lo).join("")) + ELLIPSIS;
    };

    // Draws one line (or the tile of it that starts srcX px in) into the painter and uploads it
    // into `texture` at (x, y), w x h texels. Returns false when it could not.
    var raster = function (text, px, rgb, rtl, texture, x, y, w, h, padX, padY, srcX) {
        var gl = GLctx;
        if (!gl || !texture || gl.isContextLost()) return false;
        var p = painter;
        if (p.canvas.width < w || p.canvas.height < h) {
            p.canvas.width = Math.max(p.canvas.width, w);
            p.canvas.height = Math.max(p.canvas.height, h);
            p.font = "";  // resizing resets the context's state
        }
        var c = p.ctx;
        c.setTransform(1, 0, 0, 1, 0, 0);
        c.clearRect(0, 0, w, h);
        setFont(p, px);
        c.save();
        c.beginPath();
        c.rect(0, 0, w, h);
        c.clip();
        c.fillStyle = "rgb(" + (rgb & 255) + "," + ((rgb >> 8) & 255) + "," + ((rgb >> 16) & 255) + ")";
        c.direction = rtl ? "rtl" : "ltr";
        c.textAlign = "left";
        c.textBaseline = "alphabetic";
        c.fillText(text, padX - srcX, padY + metrics(px).baseline);
        c.restore();

        var prevTex = gl.getParameter(gl.TEXTURE_BINDING_2D);
        var prevBuf = gl.getParameter(gl.PIXEL_UNPACK_BUFFER_BINDING);
        var keys = [gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, gl.UNPACK_FLIP_Y_WEBGL, gl.UNPACK_ROW_LENGTH, gl.UNPACK_SKIP_PIXELS,
                    gl.UNPACK_SKIP_ROWS, gl.UNPACK_ALIGNMENT];
        var want = [false, false, 0, 0, 0, 4];
        var saved = keys.map(function (k) { return gl.getParameter(k); });
        if (prevBuf) gl.bindBuffer(gl.PIXEL_UNPACK_BUFFER, null);
        keys.forEach(function (k, i) { gl.pixelStorei(k, want[i]); });
        gl.bindTexture(gl.TEXTURE_2D, texture);
        // Straight (not premultiplied) alpha: ImGui blends SRC_ALPHA, ONE_MINUS_SRC_ALPHA.
        var ok = true;
        try {
            if (impl.readback) throw 0;
            gl.texSubImage2D(gl.TEXTURE_2D, 0, x, y, w, h, gl.RGBA, gl.UNSIGNED_BYTE, p.canvas);
        } catch (e) {
            // An engine that cannot take this canvas as a source: its pixels (unpremultiplied) instead.
            impl.readback = true;
            try {
                gl.texSubImage2D(gl.TEXTURE_2D, 0, x, y, w, h, gl.RGBA, gl.UNSIGNED_BYTE, c.getImageData(0, 0, w, h).data);
            } catch (e2) { ok = false; }
        }
        gl.bindTexture(gl.TEXTURE_2D, prevTex);
        keys.forEach(function (k, i) { gl.pixelStorei(k, saved[i]); });
        if (prevBuf) gl.bindBuffer(gl.PIXEL_UNPACK_BUFFER, prevBuf);
        return ok;
    };

    var impl = { layout: layout, ellipsize: ellipsize, raster: raster, metrics: metrics, readback: false };
    Module.chatTextImpl = impl;
    // Test hooks: the font stack the canvas text is drawn with (a DOM element with this font and
    // line-height: chatTextLineHeight(px) px lays a line out the same way), and the port's lines.
    Module.chatTextFont = fontOf;
    Module.chatTextLineHeight = function (px) { return metrics(px).lineHeight; };
    Module.chatTextLayout = function (text, px, wrap) { return layout(String(text), px, wrap || 0); };
});

// Lays `text` out; writes [lineHeight, baseline, lines, bytes] then per line [bytes, width, rtl]
// into meta and the lines' UTF-8 one after the other into out. Returns the number of lines, or
// -1 when a buffer was too small.
EM_JS(int, js_text_layout, (const char* text, int len, float size, float wrap, float* meta, int meta_cap, char* out, int out_cap), {
    var r = Module.chatTextImpl.layout(UTF8ToString(text, len), size, wrap);
    var n = r.lines.length;
    if (4 + 3 * n > meta_cap) return -1;
    var m = meta >> 2, off = 0;
    HEAPF32[m] = r.lineHeight;
    HEAPF32[m + 1] = r.baseline;
    HEAPF32[m + 2] = n;
    for (var i = 0; i < n; i++) {
        var l = r.lines[i], bytes = lengthBytesUTF8(l.text);
        if (off + bytes + 1 > out_cap) return -1;
        stringToUTF8(l.text, out + off, bytes + 1);
        off += bytes;
        HEAPF32[m + 4 + 3 * i] = bytes;
        HEAPF32[m + 5 + 3 * i] = l.width;
        HEAPF32[m + 6 + 3 * i] = l.rtl ? 1 : 0;
    }
    HEAPF32[m + 3] = off;
    return n;
});

EM_JS(int, js_text_raster, (const char* text, int len, float size, int rgb, int rtl, int tex, int x, int y, int w, int h, int pad_x, int pad_y, int src_x), {
    return Module.chatTextImpl.raster(UTF8ToString(text, len), size, rgb, rtl, GL.textures[tex], x, y, w, h, pad_x, pad_y, src_x) ? 1 : 0;
});

// -1: `text` fits as it is; otherwise the cut text's length in bytes (written into out).
EM_JS(int, js_text_ellipsize, (const char* text, int len, float size, float max_w, char* out, int cap), {
    var r = Module.chatTextImpl.ellipsize(UTF8ToString(text, len), size, max_w);
    if (r === null) return -1;
    var bytes = lengthBytesUTF8(r);
    if (bytes + 1 > cap) return -2;
    stringToUTF8(r, out, bytes + 1);
    return bytes;
});

namespace web {

namespace {

constexpr std::size_t kMaxLayouts = 4096;
constexpr std::size_t kMaxLayoutBytes = 8u << 20;
constexpr std::size_t kMaxEllipsized = 2048;
constexpr int kGutter = 1;                         // texels between slots
constexpr int kMaxLineWidth = 8 * WebTextPort::kPageW;  // past this a single line is cut off

uint64_t fnv(const void* data, std::size_t n, uint64_t h = 1469598103934665603ull) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}
uint64_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}
uint64_t key_of(std::string_view text, uint64_t a, uint64_t b) {
    uint64_t h = fnv(text.data(), text.size());
    h = fnv(&a, sizeof a, h);
    return fnv(&b, sizeof b, h);
}
float quantize_width(float w) { return w > 0 ? std::max(1.0f, std::floor(w)) : 0.0f; }
int pad_x_for(float size) { return static_cast<int>(std::ceil(size * 0.25f)) + 1; }
int pad_y_for(float size) { return static_cast<int>(std::ceil(size * 0.3f)); }

} // namespace

WebTextPort::WebTextPort() { js_text_install(); }

WebTextPort::~WebTextPort() { invalidate_rasters(); }

void WebTextPort::begin_frame() {
    ++frame_;
    rasterized_frame_ = 0;
    js_calls_frame_ = 0;
    dropped_frame_ = 0;
}

WebTextPort::Stats WebTextPort::stats() const {
    Stats s;
    s.rasterized_frame = rasterized_frame_;
    s.rasterized_total = rasterized_total_;
    s.js_calls_frame = js_calls_frame_;
    s.js_calls_total = js_calls_total_;
    s.pages = static_cast<unsigned>(pages_.size());
    s.evictions = evictions_;
    s.dropped_frame = dropped_frame_;
    s.layouts = layouts_.size();
    s.rasters = rasters_.size();
    return s;
}

void WebTextPort::invalidate_rasters() {
    for (const Page& p : pages_)
        if (p.texture) {
            const GLuint t = p.texture;
            glDeleteTextures(1, &t);
        }
    pages_.clear();
    rasters_.clear();
}

void WebTextPort::invalidate_all() {
    invalidate_rasters();
    layouts_.clear();
    layout_bytes_ = 0;
    ellipsized_.clear();
}

const WebTextPort::Layout& WebTextPort::layout(std::string_view text, float size, float wrap) {
    const float w = quantize_width(wrap);
    const uint64_t k = key_of(text, bits(size), bits(w));
    if (Layout* hit = layouts_.find(k)) {
        if (hit->key_text == text && hit->wrap == w && hit->font_size == size) return *hit;
        layout_bytes_ -= std::min(layout_bytes_, bytes_of(*hit));  // another text with the same hash: replaced below
    }

    js_call();
    meta_.resize(4 + 3 * (text.size() + 2));
    scratch_.resize(3 * text.size() + 16);
    const int n = js_text_layout(text.data(), static_cast<int>(text.size()), size, w, meta_.data(), static_cast<int>(meta_.size()),
                                 scratch_.data(), static_cast<int>(scratch_.size()));
    Layout L;
    L.key_text = std::string(text);
    L.wrap = w;
    L.font_size = size;
    L.line_height = n > 0 ? meta_[0] : std::ceil(size * 1.35f);
    uint32_t off = 0;
    float max_w = 0;
    for (int i = 0; i < n; ++i) {
        Line line;
        line.begin = off;
        line.bytes = static_cast<uint32_t>(meta_[4 + 3 * i]);
        line.width = meta_[5 + 3 * i];
        line.rtl = meta_[6 + 3 * i] != 0;
        off += line.bytes;
        max_w = std::max(max_w, line.width);
        L.lines.push_back(line);
    }
    if (n > 0) L.text.assign(scratch_.data(), std::min<std::size_t>(off, scratch_.size()));
    L.size = ImVec2(std::ceil(max_w), L.line_height * static_cast<float>(std::max<std::size_t>(1, L.lines.size())));

    layout_bytes_ += bytes_of(L);
    Layout& stored = layouts_.put(k, std::move(L));
    while (layouts_.size() > 1 && (layouts_.size() > kMaxLayouts || layout_bytes_ > kMaxLayoutBytes)) {
        layout_bytes_ -= std::min(layout_bytes_, bytes_of(layouts_.order.back().second));
        layouts_.pop_back();
    }
    return stored;
}

std::size_t WebTextPort::bytes_of(const Layout& L) {
    return L.key_text.size() + L.text.size() + L.lines.size() * sizeof(Line) + sizeof(Layout);
}

ImVec2 WebTextPort::measure(std::string_view text, float size, float wrap_width) { return layout(text, size, wrap_width).size; }

uint32_t WebTextPort::new_page() {
    GLint prev = 0;
    glGetIntegerv(GL_TEXTURE_BINDING_2D, &prev);
    GLuint tex = 0;
    glGenTextures(1, &tex);
    if (!tex) return UINT32_MAX;
    glBindTexture(GL_TEXTURE_2D, tex);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, kPageW, kPageH, 0, GL_RGBA, GL_UNSIGNED_BYTE, nullptr);  // transparent
    glBindTexture(GL_TEXTURE_2D, static_cast<GLuint>(prev));
    Page p;
    p.texture = tex;
    p.last_frame = frame_;
    pages_.push_back(p);
    return static_cast<uint32_t>(pages_.size() - 1);
}

void WebTextPort::evict(uint32_t page) {
    Page& p = pages_[page];
    ++p.generation;
    p.shelves.clear();
    p.next_y = 0;
    ++evictions_;
    for (auto it = rasters_.begin(); it != rasters_.end();) {
        const bool uses = std::any_of(it->second.tiles.begin(), it->second.tiles.end(), [&](const Slot& s) { return s.page == page; });
        it = uses ? rasters_.erase(it) : std::next(it);
    }
}

bool WebTextPort::place_in(uint32_t page, int w, int h, Slot& out) {
    Page& p = pages_[page];
    const int gw = w + kGutter, gh = h + kGutter;
    for (Shelf& s : p.shelves)
        if (s.h >= gh && s.h <= gh + gh / 4 + 2 && kPageW - s.x >= gw) {
            out = Slot{page, p.generation, s.x, s.y, w, h};
            s.x += gw;
            p.last_frame = frame_;
            return true;
        }
    if (p.next_y + gh > kPageH || gw > kPageW) return false;
    p.shelves.push_back(Shelf{p.next_y, gh, gw});
    out = Slot{page, p.generation, 0, p.next_y, w, h};
    p.next_y += gh;
    p.last_frame = frame_;
    return true;
}

bool WebTextPort::alloc(int w, int h, Slot& out) {
    for (uint32_t i = 0; i < pages_.size(); ++i)
        if (place_in(i, w, h, out)) return true;
    // The least recently used page last drawn before frame `before` (never one drawn this frame:
    // what this frame already drew from it would change under it).
    auto lru = [&](uint64_t before) {
        uint32_t best = UINT32_MAX;
        for (uint32_t i = 0; i < pages_.size(); ++i)
            if (pages_[i].last_frame < before && (best == UINT32_MAX || pages_[i].last_frame < pages_[best].last_frame)) best = i;
        return best;
    };
    auto fresh = [&]() {
        const uint32_t p = new_page();
        return p != UINT32_MAX && place_in(p, w, h, out);
    };
    if (pages_.size() < kSoftPages) return fresh();
    if (const uint32_t p = lru(frame_ - 1); p != UINT32_MAX) {  // unused in this and the last frame
        evict(p);
        return place_in(p, w, h, out);
    }
    if (pages_.size() < kHardPages) return fresh();
    if (const uint32_t p = lru(frame_); p != UINT32_MAX) {
        evict(p);
        return place_in(p, w, h, out);
    }
    return false;
}

const WebTextPort::Raster* WebTextPort::raster(std::string_view line, float size, uint32_t rgb, bool rtl, float width, float line_height) {
    const uint64_t k = key_of(line, bits(size), rgb | (rtl ? 1ull << 32 : 0));
    if (auto it = rasters_.find(k); it != rasters_.end()) {
        Raster& r = it->second;
        bool valid = r.text == line && r.font_size == size && r.rgb == rgb && r.rtl == rtl;
        for (const Slot& s : r.tiles) valid = valid && s.page < pages_.size() && pages_[s.page].generation == s.generation;
        if (valid) {
            r.last_frame = frame_;
            return &r;
        }
        rasters_.erase(it);
    }
    Raster r;
    r.text = std::string(line);
    r.font_size = size;
    r.rgb = rgb;
    r.rtl = rtl;
    r.pad_x = pad_x_for(size);
    r.pad_y = pad_y_for(size);
    r.last_frame = frame_;
    const int total_w = std::min(kMaxLineWidth, static_cast<int>(std::ceil(width)) + 2 * r.pad_x);
    const int h = static_cast<int>(std::ceil(line_height)) + 2 * r.pad_y;
    if (h + kGutter > kPageH) return nullptr;
    const int tile_max = kPageW - kGutter;
    for (int x = 0; x < total_w; x += tile_max) {
        Slot s;
        const int w = std::min(tile_max, total_w - x);
        if (!alloc(w, h, s)) {
            ++dropped_frame_;
            return nullptr;
        }
        js_call();
        if (!js_text_raster(line.data(), static_cast<int>(line.size()), size, static_cast<int>(rgb), rtl ? 1 : 0,
                            static_cast<int>(pages_[s.page].texture), s.x, s.y, w, h, r.pad_x, r.pad_y, x))
            return nullptr;
        r.tiles.push_back(s);
    }
    ++rasterized_frame_;
    ++rasterized_total_;
    return &(rasters_[k] = std::move(r));
}

void WebTextPort::draw(ImDrawList* dl, ImVec2 pos, std::string_view text, float size, ImU32 color, float wrap_width) {
    const uint32_t alpha = (color >> IM_COL32_A_SHIFT) & 0xFF;
    if (text.empty() || alpha == 0) return;
    // Colour is part of the raster (colour emoji keep theirs); only alpha comes from the tint.
    const uint32_t rgb = color & ~(0xFFu << IM_COL32_A_SHIFT);
    const ImU32 tint = IM_COL32(255, 255, 255, alpha);
    const Layout& L = layout(text, size, wrap_width);
    const ImVec2 clip_min = dl->GetClipRectMin(), clip_max = dl->GetClipRectMax();
    const float ox = std::floor(pos.x + 0.5f), oy = std::floor(pos.y + 0.5f);  // one texel per pixel
    const float box_w = L.wrap > 0 ? L.wrap : L.size.x;
    const float pad_x = static_cast<float>(pad_x_for(size)), pad_y = static_cast<float>(pad_y_for(size));
    for (std::size_t i = 0; i < L.lines.size(); ++i) {
        const Line& line = L.lines[i];
        if (line.bytes == 0) continue;
        const float y = oy + L.line_height * static_cast<float>(i);
        const float x = ox + (line.rtl ? std::floor(box_w - line.width + 0.5f) : 0.0f);  // RTL: right-aligned
        if (y + L.line_height + pad_y < clip_min.y || y - pad_y > clip_max.y || x + line.width + pad_x < clip_min.x ||
            x - pad_x > clip_max.x)
            continue;  // not visible: not rasterized either
        const Raster* r = raster(std::string_view(L.text).substr(line.begin, line.bytes), size, rgb, line.rtl, line.width, L.line_height);
        if (!r) continue;
        float tx = x - static_cast<float>(r->pad_x);
        const float ty = y - static_cast<float>(r->pad_y);
        for (const Slot& s : r->tiles) {
            pages_[s.page].last_frame = frame_;
            const ImTextureID tex = reinterpret_cast<ImTextureID>(static_cast<intptr_t>(pages_[s.page].texture));
            const ImVec2 uv0(static_cast<float>(s.x) / kPageW, static_cast<float>(s.y) / kPageH);
            const ImVec2 uv1(static_cast<float>(s.x + s.w) / kPageW, static_cast<float>(s.y + s.h) / kPageH);
            dl->AddImage(tex, ImVec2(tx, ty), ImVec2(tx + static_cast<float>(s.w), ty + static_cast<float>(s.h)), uv0, uv1, tint);
            tx += static_cast<float>(s.w);
        }
    }
}

std::string WebTextPort::ellipsize(std::string_view text, float size, float max_width) {
    const float w = std::floor(max_width);
    const uint64_t k = key_of(text, bits(size), bits(w));
    if (Ellipsized* hit = ellipsized_.find(k); hit && hit->key_text == text && hit->font_size == size && hit->max_width == w)
        return hit->result;
    js_call();
    scratch_.resize(3 * text.size() + 16);
    const int n = js_text_ellipsize(text.data(), static_cast<int>(text.size()), size, w, scratch_.data(), static_cast<int>(scratch_.size()));
    Ellipsized e;
    e.key_text = std::string(text);
    e.font_size = size;
    e.max_width = w;
    e.result = n >= 0 ? std::string(scratch_.data(), static_cast<std::size_t>(n)) : std::string(text);
    std::string result = e.result;
    ellipsized_.put(k, std::move(e));
    while (ellipsized_.size() > kMaxEllipsized) ellipsized_.pop_back();
    return result;
}

} // namespace web
