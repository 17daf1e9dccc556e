// static_site.cpp - see static_site.hpp. The only file that uses zlib and brotli.
#include "static_site.hpp"

#include <algorithm>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <zlib.h>

#include <brotli/decode.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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
        std::string name = lower(trim(item.substr(0, item.find(';'))));
        if (name == "x-gzip") name = "gzip";  // RFC 9110 8.4.1.3: the same coding
        double q = 1;
        // Every parameter: "br;x=1;q=0" refuses br.
        for (std::size_t semi = item.find(';'); semi != std::string::npos;) {
            const std::size_t next = item.find(';', semi + 1);
            const std::string param = lower(trim(item.substr(semi + 1, next == std::string::npos ? std::string::npos : next - semi - 1)));
            semi = next;
            if (param.rfind("q=", 0) != 0) continue;
            char* stop = nullptr;
            q = std::strtod(param.c_str() + 2, &stop);
            if (stop == param.c_str() + 2 || !(q >= 0) || q > 1) q = 0;  // unreadable: not acceptable
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

// The bytes of a regular file that is not a symlink (O_NOFOLLOW; fstat on the open file, so the
// check and the read are of the same file), exactly its size, at most `max`; nullopt otherwise.
std::optional<std::string> read_regular(const std::string& path, std::uintmax_t max) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    std::optional<std::string> out;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::uintmax_t>(st.st_size) <= max) {
        std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
        std::size_t got = 0;
        while (got < bytes.size()) {
            const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        if (got == bytes.size()) out = std::move(bytes);
    }
    ::close(fd);
    return out;
}

// Whether `gz` is a gzip stream of exactly `plain`.
bool gunzips_to(const std::string& gz, const std::string& plain) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) return false;
    std::string out(plain.size() + 1, '\0');  // one byte more: a longer output shows
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    z.avail_in = static_cast<uInt>(gz.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&z, Z_FINISH);
    const bool ok = rc == Z_STREAM_END && z.total_out == plain.size() && z.avail_in == 0 &&
                    out.compare(0, plain.size(), plain) == 0;
    inflateEnd(&z);
    return ok;
}

// Whether `br` is a brotli stream of exactly `plain`.
bool unbrotlis_to(const std::string& br, const std::string& plain) {
    std::string out(plain.size() + 1, '\0');
    std::size_t size = out.size();
    const auto rc = BrotliDecoderDecompress(br.size(), reinterpret_cast<const uint8_t*>(br.data()), &size, reinterpret_cast<uint8_t*>(out.data()));
    return rc == BROTLI_DECODER_RESULT_SUCCESS && size == plain.size() && out.compare(0, size, plain) == 0;
}

// What a variant file next to `file` is now (absent: size -1), to tell when it changed.
std::pair<std::intmax_t, std::int64_t> variant_stat(const std::string& path) {
    std::error_code ec;
    const auto st = std::filesystem::symlink_status(path, ec);
    if (ec || !std::filesystem::is_regular_file(st)) return {-1, 0};
    const auto size = std::filesystem::file_size(path, ec);
    const auto mtime = std::filesystem::last_write_time(path, ec).time_since_epoch().count();
    return ec ? std::pair<std::intmax_t, std::int64_t>{-1, 0} : std::pair<std::intmax_t, std::int64_t>{static_cast<std::intmax_t>(size), mtime};
}

// FNV-1a of a representation's bytes, for its ETag.
std::uint32_t fnv1a(const std::string& bytes) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : bytes) h = (h ^ c) * 16777619u;
    return h;
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
    // A name that carries its content's hash (the name asked for, not where a symlink leads)
    // never changes: cached a year as immutable, and only such files get precompressed variants.
    const std::string name = r.segments.empty() ? std::string("index.html") : r.segments.back();
    const bool hashed = content_hashed(name);
    const auto br_stat = hashed ? variant_stat(file.native() + ".br") : std::pair<std::intmax_t, std::int64_t>{-1, 0};
    const auto gz_stat = hashed ? variant_stat(file.native() + ".gz") : std::pair<std::intmax_t, std::int64_t>{-1, 0};
    auto it = cache_.find(file.native());
    if (it == cache_.end() || it->second.size != size || it->second.mtime != mtime || it->second.br_stat != br_stat ||
        it->second.gz_stat != gz_stat) {
        auto bytes = read_regular(file.native(), kMaxStaticFileBytes);
        if (!bytes) return error_response(404, "NotFound", "No file " + r.path + ".");
        Entry e;
        e.size = bytes->size();
        e.mtime = mtime;
        e.bytes = std::move(*bytes);
        e.br_stat = br_stat;
        e.gz_stat = gz_stat;
        // Bounded by bytes, not only by entries: large files are served but not kept.
        if (e.bytes.size() > kMaxCachedFileBytes) {
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
            // A variant is used only when it decodes to exactly the file's bytes and is smaller:
            // an empty, truncated, stale or foreign one is never served (least of all as immutable).
            if (br_stat.first > 0)
                if (auto v = read_regular(file.native() + ".br", e.bytes.size()); v && v->size() < e.bytes.size() && unbrotlis_to(*v, e.bytes))
                    e.br = std::move(*v);
            if (gz_stat.first > 0)
                if (auto v = read_regular(file.native() + ".gz", e.bytes.size()); v && v->size() < e.bytes.size() && gunzips_to(*v, e.bytes))
                    e.gzip = std::move(*v);
            if (e.gzip.empty()) e.gzip = gzip_bytes(e.bytes);
            if (e.gzip.size() >= e.bytes.size()) e.gzip.clear();
        }
        e.br_tag = e.br.empty() ? 0 : fnv1a(e.br);
        e.gzip_tag = e.gzip.empty() ? 0 : fnv1a(e.gzip);
        it = cache_.insert_or_assign(file.native(), std::move(e)).first;
    }
    const Entry& e = it->second;
    // The representation: brotli or gzip by their quality (brotli on a tie: smaller), identity
    // otherwise. (A client that refuses identity too still gets it: 406 would help nobody.)
    const std::string accept = r.header("accept-encoding");
    const double q_br = e.br.empty() ? 0 : coding_quality(accept, "br");
    const double q_gz = e.gzip.empty() ? 0 : coding_quality(accept, "gzip");
    const char* coding = q_br > 0 && q_br >= q_gz ? "br" : (q_gz > 0 ? "gzip" : nullptr);
    // Per representation: the file's size and time, and for an encoded one its coding and a hash
    // of its bytes (two gzip streams of one file differ).
    char tag[96];
    if (coding)
        std::snprintf(tag, sizeof tag, "\"%llx-%llx-%s-%08x\"", static_cast<unsigned long long>(e.size), static_cast<unsigned long long>(e.mtime),
                      coding, coding[0] == 'b' ? e.br_tag : e.gzip_tag);
    else
        std::snprintf(tag, sizeof tag, "\"%llx-%llx\"", static_cast<unsigned long long>(e.size), static_cast<unsigned long long>(e.mtime));
    Response res;
    res.content_type = content_type_for(rel);
    res.headers.emplace_back("Cache-Control", hashed ? "public, max-age=31536000, immutable" : "no-cache");
    res.headers.emplace_back("ETag", tag);
    if (!e.gzip.empty() || !e.br.empty()) res.headers.emplace_back("Vary", "Accept-Encoding");
    // If-None-Match: this representation's tag among those listed, or "*" (the file exists).
    std::string match = r.header("if-none-match");
    match.erase(0, match.find_first_not_of(" \t"));
    match.erase(match.find_last_not_of(" \t") + 1);
    if (match == "*" || match.find(tag) != std::string::npos) {
        res.status = 304;
        return res;
    }
    if (coding) res.headers.emplace_back("Content-Encoding", coding);
    res.body = !coding ? e.bytes : (coding[0] == 'b' ? e.br : e.gzip);
    return res;
}

} // namespace stub
