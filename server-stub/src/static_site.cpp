// static_site.cpp - see static_site.hpp. The only file that uses zlib.
#include "static_site.hpp"

#include <algorithm>
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

double coding_quality(const std::string& header, const std::string& coding) {
    auto lower = [](std::string v) {
        for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return v;
    };
    auto trim = [](std::string v) {
        v.erase(0, v.find_first_not_of(" \t"));
        v.erase(v.find_last_not_of(" \t") + 1);
        return v;
    };
    const std::string want = lower(coding);
    double own = -1, any = -1;
    std::size_t start = 0;
    while (start < header.size()) {
        std::size_t end = header.find(',', start);
        if (end == std::string::npos) end = header.size();
        const std::string item = header.substr(start, end - start);
        start = end + 1;
        const std::string name = lower(trim(item.substr(0, item.find(';'))));
        double q = 1;
        if (const auto semi = item.find(';'); semi != std::string::npos) {
            const std::string param = lower(trim(item.substr(semi + 1)));
            if (param.rfind("q=", 0) == 0) {
                char* stop = nullptr;
                q = std::strtod(param.c_str() + 2, &stop);
                if (stop == param.c_str() + 2 || !(q >= 0) || q > 1) q = 0;  // unreadable: not acceptable
            }
        }
        if (name == want) own = std::max(own, q);
        else if (name == "*") any = std::max(any, q);
    }
    return own >= 0 ? own : (any >= 0 ? any : 0);
}

bool content_hashed(const std::string& name) {
    const auto dot = name.rfind('.');
    if (dot == std::string::npos || dot < 13) return false;
    if (name[dot - 13] != '.') return false;
    for (std::size_t i = dot - 12; i < dot; ++i)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f'))) return false;
    return true;
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

// A precompressed variant next to `file` (its name + ext), when it is a regular file, not older
// than the file (a stale one would serve old content), within the size bound and smaller.
std::string variant(const std::filesystem::path& file, const char* ext, std::int64_t mtime, std::uintmax_t size) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path v = file.native() + ext;
    if (!fs::is_regular_file(v, ec) || fs::is_symlink(v, ec)) return {};
    const auto vsize = fs::file_size(v, ec);
    if (ec || vsize >= size || fs::last_write_time(v, ec).time_since_epoch().count() < mtime || ec) return {};
    std::ifstream f(v, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return f ? ss.str() : std::string();
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
        Entry e{size, mtime, ss.str(), {}, {}};
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
            e.br = variant(file, ".br", mtime, size);
            e.gzip = variant(file, ".gz", mtime, size);
            if (e.gzip.empty()) e.gzip = gzip_bytes(e.bytes);
            if (e.gzip.size() >= e.bytes.size()) e.gzip.clear();
        }
        it = cache_.insert_or_assign(file.native(), std::move(e)).first;
    }
    const Entry& e = it->second;
    // The representation: brotli or gzip by their quality (brotli on a tie: smaller), identity
    // otherwise. (A client that refuses identity too still gets it: 406 would help nobody.)
    const std::string accept = r.header("accept-encoding");
    const double q_br = e.br.empty() ? 0 : coding_quality(accept, "br");
    const double q_gz = e.gzip.empty() ? 0 : coding_quality(accept, "gzip");
    const char* coding = q_br > 0 && q_br >= q_gz ? "br" : (q_gz > 0 ? "gzip" : nullptr);
    char tag[80];
    std::snprintf(tag, sizeof tag, "\"%llx-%llx%s%s\"", static_cast<unsigned long long>(e.size), static_cast<unsigned long long>(e.mtime),
                  coding ? "-" : "", coding ? coding : "");
    Response res;
    res.content_type = content_type_for(rel);
    // A name that carries its content's hash never changes: a year, immutable (no revalidation
    // on reload). Anything else (index.html, config.json) is revalidated on every use.
    res.headers.emplace_back("Cache-Control", content_hashed(file.filename().native()) ? "public, max-age=31536000, immutable" : "no-cache");
    res.headers.emplace_back("ETag", tag);
    if (!e.gzip.empty() || !e.br.empty()) res.headers.emplace_back("Vary", "Accept-Encoding");
    if (r.header("if-none-match").find(tag) != std::string::npos) {
        res.status = 304;
        return res;
    }
    if (coding) res.headers.emplace_back("Content-Encoding", coding);
    res.body = !coding ? e.bytes : (coding[0] == 'b' ? e.br : e.gzip);
    return res;
}

} // namespace stub
