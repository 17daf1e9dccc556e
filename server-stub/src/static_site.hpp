// static_site.hpp - the web client's files (--static): GET and HEAD of regular files under one
// folder, each segment a plain name and the resolved file still inside the folder. Served the way
// a good static host does:
// - the encoding by Accept-Encoding (q-values, "*", x-gzip): for a content-hashed name
//   (index.0123456789ab.js, cmake/finish_site.py), the precompressed brotli (X.br) or gzip (X.gz)
//   next to it when it decodes to exactly the file's bytes (checked when loaded, and again when
//   the variant changes); else gzip made here; Vary: Accept-Encoding;
// - a content-hashed name (the name asked for) is cached for a year as immutable, any other
//   file (index.html, config.json) is no-cache;
// - an ETag per file and representation answers If-None-Match (or "*") with 304.
// Files and variants are read only when regular and not symlinks, exactly their size.
// Files are kept in memory with their variants, bounded by count and by size (kMaxCachedFileBytes).
#pragma once

#include "http_types.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace stub {

inline constexpr std::uintmax_t kMaxStaticFileBytes = 64 * 1024 * 1024;  // larger: 404
inline constexpr std::uintmax_t kMaxCachedFileBytes = 8 * 1024 * 1024;   // larger: served, not kept
inline constexpr std::size_t kMaxCachedFiles = 32;                       // then the cache starts again

// The Content-Type for a file name (by extension; application/octet-stream otherwise).
std::string content_type_for(const std::string& path);
// The quality (0..1) an Accept-Encoding header gives a content coding ("br", "gzip"): its own
// entry's q (1 without one), else "*"'s, else 0. Codings compare case-insensitively.
double coding_quality(const std::string& accept_encoding, const std::string& coding);
// Whether a file name carries a content hash: a segment of 12 lowercase hex digits before the
// extension, as cmake/finish_site.py writes them (index.0123456789ab.wasm).
bool content_hashed(const std::string& name);

class StaticSite {
public:
    // `root`: a canonical folder (cli.hpp makes --static one), or empty for no site.
    explicit StaticSite(std::string root) : root_(std::move(root)) {}
    // The file for a GET or HEAD; 404 "No route for ..." for anything when there is no site or
    // another method, 400 for a "." / ".." / slash segment, 404 "No file ..." otherwise.
    // Called on the io thread only (the cache has no lock).
    Response serve(const Request& r);

private:
    struct Entry {  // size and mtime tell a changed file; the variants' stats a changed variant
        std::uintmax_t size = 0;
        std::int64_t mtime = 0;
        std::string bytes, gzip, br;  // gzip/br: empty when there is no smaller variant
        std::pair<std::intmax_t, std::int64_t> br_stat{-1, 0}, gz_stat{-1, 0};  // X.br, X.gz (size -1: none)
        std::uint32_t br_tag = 0, gzip_tag = 0;  // hashes of the encoded bytes, in their ETags
    };
    std::string root_;
    std::map<std::string, Entry> cache_;  // by canonical path
};

} // namespace stub
