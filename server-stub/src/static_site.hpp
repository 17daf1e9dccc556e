// static_site.hpp - the web client's files (--static): GET and HEAD of regular files under one
// folder, each segment a plain name and the resolved file still inside the folder; gzip when the
// client takes it; no-cache with an ETag per representation (If-None-Match -> 304); files kept in
// memory with their gzip, bounded by count and by size (kMaxCachedFileBytes).
#pragma once

#include "http_types.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace stub {

inline constexpr std::uintmax_t kMaxStaticFileBytes = 64 * 1024 * 1024;  // larger: 404
inline constexpr std::uintmax_t kMaxCachedFileBytes = 8 * 1024 * 1024;   // larger: served, not kept
inline constexpr std::size_t kMaxCachedFiles = 32;                       // then the cache starts again

// The Content-Type for a file name (by extension; application/octet-stream otherwise).
std::string content_type_for(const std::string& path);
// Whether an Accept-Encoding header takes gzip: a "gzip" (or "*") coding without q=0.
bool accepts_gzip(const std::string& accept_encoding);

class StaticSite {
public:
    // `root`: a canonical folder (cli.hpp makes --static one), or empty for no site.
    explicit StaticSite(std::string root) : root_(std::move(root)) {}
    // The file for a GET or HEAD; 404 "No route for ..." for anything when there is no site or
    // another method, 400 for a "." / ".." / slash segment, 404 "No file ..." otherwise.
    // Called on the io thread only (the cache has no lock).
    Response serve(const Request& r);

private:
    struct Entry {  // size and mtime tell a changed file
        std::uintmax_t size = 0;
        std::int64_t mtime = 0;
        std::string bytes, gzip;
    };
    std::string root_;
    std::map<std::string, Entry> cache_;  // by canonical path
};

} // namespace stub
