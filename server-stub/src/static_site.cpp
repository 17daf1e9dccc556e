// static_site.cpp - see static_site.hpp. The only file that uses zlib.
#include "static_site.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <zlib.h>

namespace stub {

std::string content_type_for(const std::string& path) {
    auto ends = [&](const char* ext) {
        const std::string e(ext);
        return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
    };
    if (ends(".html")) return "text/html; charset=utf-8";
    if (ends(".js")) return "text/javascript; charset=utf-8";
    if (ends(".wasm")) return "application/wasm";
    if (ends(".css")) return "text/css; charset=utf-8";
    if (ends(".json")) return "application/json";
    if (ends(".png")) return "image/png";
    if (ends(".svg")) return "image/svg+xml";
    if (ends(".ico")) return "image/x-icon";
    if (ends(".ttf")) return "font/ttf";
    return "application/octet-stream";
}

bool accepts_gzip(const std::string& header) {
    std::size_t start = 0;
    while (start < header.size()) {
        std::size_t end = header.find(',', start);
        if (end == std::string::npos) end = header.size();
        std::string item = header.substr(start, end - start);
        start = end + 1;
        std::string coding = item.substr(0, item.find(';'));
        coding.erase(0, coding.find_first_not_of(" \t"));
        coding.erase(coding.find_last_not_of(" \t") + 1);
        for (auto& ch : coding) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (coding != "gzip" && coding != "*") continue;
        const auto q = item.find("q=");
        if (q != std::string::npos && std::strtod(item.c_str() + q + 2, nullptr) <= 0.0) continue;
        return true;
    }
    return false;
}

namespace {

// gzip (RFC 1952) of `in` at the best level; empty when zlib fails.
std::string gzip_bytes(const std::string& in) {
    z_stream z{};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    std::string out(deflateBound(&z, in.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return rc == Z_STREAM_END ? out : std::string();
}

} // namespace

Response StaticSite::serve(const Request& r) {
    namespace fs = std::filesystem;
    if (root_.empty() || (r.method != "GET" && r.method != "HEAD"))
        return error_response(404, "NotFound", "No route for " + r.method + " " + r.path + ".");
    // The path from the decoded segments, each a plain name.
    std::string rel;
    for (const auto& seg : r.segments) {
        if (seg == "." || seg == ".." || seg.find_first_of(std::string("/\\\0", 3)) != std::string::npos)
            return error_response(400, "BadRequest", "Invalid path.");
        rel += "/" + seg;
    }
    if (rel.empty()) rel = "/index.html";
    // The file's canonical path (symlinks resolved) must still be under the root.
    std::error_code ec;
    const fs::path file = fs::canonical(fs::path(root_ + rel), ec);
    const std::string inside = root_ + "/";
    if (ec || file.native().compare(0, inside.size(), inside) != 0 || !fs::is_regular_file(file, ec))
        return error_response(404, "NotFound", "No file " + r.path + ".");
    const auto size = fs::file_size(file, ec);
    if (ec || size > kMaxStaticFileBytes) return error_response(404, "NotFound", "No file " + r.path + ".");
    const auto mtime = fs::last_write_time(file, ec).time_since_epoch().count();
    if (ec) return error_response(404, "NotFound", "No file " + r.path + ".");
    auto it = cache_.find(file.native());
    if (it == cache_.end() || it->second.size != size || it->second.mtime != mtime) {
        std::ifstream f(file, std::ios::binary);
        if (!f) return error_response(404, "NotFound", "No file " + r.path + ".");
        std::ostringstream ss;
        ss << f.rdbuf();
        Entry e{size, mtime, ss.str(), {}};
        // Bounded by bytes, not only by entries: large files are served but not kept.
        if (size > kMaxCachedFileBytes) {
            Response big;
            big.content_type = content_type_for(rel);
            big.headers.emplace_back("Cache-Control", "no-cache");
            big.body = std::move(e.bytes);
            return big;
        }
        if (cache_.size() >= kMaxCachedFiles) cache_.clear();
        const std::string type = content_type_for(rel);
        const bool compressible = type.rfind("text/", 0) == 0 || type == "application/wasm" || type == "application/json" ||
                                  type == "image/svg+xml" || type == "application/octet-stream";
        if (compressible && e.bytes.size() > 1024) {
            e.gzip = gzip_bytes(e.bytes);
            if (e.gzip.size() >= e.bytes.size()) e.gzip.clear();
        }
        it = cache_.insert_or_assign(file.native(), std::move(e)).first;
    }
    const Entry& e = it->second;
    // Revalidation instead of a download: every file is no-cache (the names carry no content
    // hash), and its ETag (size + modification time, per encoding) answers If-None-Match with 304.
    const bool gz = !e.gzip.empty() && accepts_gzip(r.header("accept-encoding"));
    char tag[64];
    std::snprintf(tag, sizeof tag, "\"%llx-%llx%s\"", static_cast<unsigned long long>(e.size), static_cast<unsigned long long>(e.mtime),
                  gz ? "-gz" : "");
    Response res;
    res.content_type = content_type_for(rel);
    res.headers.emplace_back("Cache-Control", "no-cache");
    res.headers.emplace_back("ETag", tag);
    if (!e.gzip.empty()) res.headers.emplace_back("Vary", "Accept-Encoding");
    if (r.header("if-none-match").find(tag) != std::string::npos) {
        res.status = 304;
        return res;
    }
    if (gz) res.headers.emplace_back("Content-Encoding", "gzip");
    res.body = gz ? e.gzip : e.bytes;
    return res;
}

} // namespace stub
