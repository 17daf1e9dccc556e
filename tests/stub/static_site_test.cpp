// The web client's files (server-stub/src/static_site.hpp): only plain names under the root,
// brotli/gzip by Accept-Encoding (precompressed variants when fresh), immutable caching for
// content-hashed names, ETag and 304, a changed file read again.
#include "static_site.hpp"  // first: the header is self-contained

#include <catch2/catch.hpp>

#include <brotli/encode.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

using namespace stub;
namespace fs = std::filesystem;

namespace {

// A site folder of its own under the system's temp folder, removed at the end.
struct Site {
    fs::path dir;
    Site() {
        dir = fs::temp_directory_path() / ("chat-stub-site-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        fs::create_directories(dir / "sub");
        write("index.html", "<!doctype html><title>chat</title>");
        write("app.js", std::string(4096, 'a'));  // compressible, over the 1 KiB threshold
        write("sub/data.json", "{}");
        { std::ofstream(dir.parent_path() / (dir.filename().string() + "-secret")) << "secret"; }
    }
    ~Site() {
        std::error_code ec;
        fs::remove_all(dir, ec);
        fs::remove(dir.parent_path() / (dir.filename().string() + "-secret"), ec);
    }
    void write(const std::string& rel, const std::string& text) const { std::ofstream(dir / rel, std::ios::binary) << text; }
    std::string root() const { return fs::canonical(dir).string(); }
};

Request get(const std::string& target, const std::string& method = "GET") {
    Request r;
    r.method = method;
    r.target = target;
    parse_target(r);
    return r;
}

std::string gzip_of(const std::string& in) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, in.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string brotli_of(const std::string& in) {
    std::string out(BrotliEncoderMaxCompressedSize(in.size()), '\0');
    std::size_t size = out.size();
    REQUIRE(BrotliEncoderCompress(11, 22, BROTLI_MODE_GENERIC, in.size(), reinterpret_cast<const uint8_t*>(in.data()), &size,
                                  reinterpret_cast<uint8_t*>(out.data())));
    out.resize(size);
    return out;
}

std::string header(const Response& res, const std::string& name) {
    for (const auto& [k, v] : res.headers)
        if (k == name) return v;
    return {};
}

} // namespace

TEST_CASE("static site: files by plain names, index.html for /, HEAD too", "[stub][static]") {
    Site s;
    StaticSite site(s.root());
    Response res = site.serve(get("/"));
    CHECK(res.status == 200);
    CHECK(res.content_type == "text/html; charset=utf-8");
    CHECK(res.body == "<!doctype html><title>chat</title>");
    CHECK(header(res, "Cache-Control") == "no-cache");
    CHECK_FALSE(header(res, "ETag").empty());
    CHECK(site.serve(get("/sub/data.json")).content_type == "application/json");
    CHECK(site.serve(get("/index.html", "HEAD")).status == 200);
    const Response post = site.serve(get("/index.html", "POST"));
    CHECK(post.status == 404);
    CHECK(post.body.find("No route for POST /index.html.") != std::string::npos);
    CHECK(site.serve(get("/missing.js")).status == 404);
    CHECK(site.serve(get("/sub")).status == 404);  // a folder is no file
}

TEST_CASE("static site: nothing outside the root, however the path is written", "[stub][static][security]") {
    Site s;
    StaticSite site(s.root());
    const std::string secret = "/../" + s.dir.filename().string() + "-secret";
    for (const std::string& t : {secret, "/%2e%2e/" + s.dir.filename().string() + "-secret", std::string("/sub/%2e%2e/index.html"),
                                std::string("/sub%2f..%2f..%2fetc%2fpasswd"), std::string("/./index.html"), std::string("/a%5cb")}) {
        INFO(t);
        const Response res = site.serve(get(t));
        CHECK((res.status == 400 || res.status == 404));
        CHECK(res.body.find("secret") == std::string::npos);
    }
    // A symlink that leads out of the root is not followed out.
    std::error_code ec;
    fs::create_symlink(s.dir.parent_path() / (s.dir.filename().string() + "-secret"), s.dir / "link", ec);
    if (!ec) CHECK(site.serve(get("/link")).status == 404);
}

TEST_CASE("static site: gzip when the client takes it, an ETag per representation, 304 on a match", "[stub][static]") {
    Site s;
    StaticSite site(s.root());
    Request plain = get("/app.js");
    const Response a = site.serve(plain);
    CHECK(a.body == std::string(4096, 'a'));
    CHECK(header(a, "Content-Encoding").empty());
    CHECK(header(a, "Vary") == "Accept-Encoding");
    Request gz = get("/app.js");
    gz.headers["accept-encoding"] = "br, gzip;q=0.5";
    const Response b = site.serve(gz);
    CHECK(header(b, "Content-Encoding") == "gzip");
    CHECK(b.body.size() < 200);
    CHECK(b.body.substr(0, 2) == "\x1f\x8b");
    CHECK(header(b, "ETag") != header(a, "ETag"));
    gz.headers["if-none-match"] = header(b, "ETag");
    const Response again = site.serve(gz);
    CHECK(again.status == 304);
    CHECK(again.body.empty());
    // Small files are not compressed.
    Request small = get("/index.html");
    small.headers["accept-encoding"] = "gzip";
    CHECK(header(site.serve(small), "Content-Encoding").empty());
}

TEST_CASE("static site: a changed file is read again", "[stub][static]") {
    Site s;
    StaticSite site(s.root());
    CHECK(site.serve(get("/sub/data.json")).body == "{}");
    s.write("sub/data.json", "{\"v\":2}");  // another size
    CHECK(site.serve(get("/sub/data.json")).body == "{\"v\":2}");
}

TEST_CASE("static site: without --static every path is 404", "[stub][static]") {
    StaticSite none("");
    const Response res = none.serve(get("/index.html"));
    CHECK(res.status == 404);
    CHECK(res.body.find("No route for GET /index.html.") != std::string::npos);
}

TEST_CASE("coding_quality reads Accept-Encoding's codings, q-values and *", "[stub][static]") {
    CHECK(coding_quality("gzip", "gzip") == 1);
    CHECK(coding_quality("deflate, GZIP", "gzip") == 1);
    CHECK(coding_quality("*", "br") == 1);
    CHECK(coding_quality(" gzip ;q=0.1", "gzip") == Approx(0.1));
    CHECK(coding_quality("gzip;Q=0.5", "gzip") == Approx(0.5));
    CHECK(coding_quality("", "gzip") == 0);
    CHECK(coding_quality("br, deflate", "gzip") == 0);
    CHECK(coding_quality("gzip;q=0", "gzip") == 0);
    CHECK(coding_quality("br;q=0, *", "br") == 0);       // its own entry wins over "*"
    CHECK(coding_quality("*;q=0.2, gzip", "br") == Approx(0.2));
    CHECK(coding_quality("br;q=abc, gzip", "br") == 0);   // unreadable: not acceptable
    CHECK(coding_quality("br;q=7", "br") == 0);
    CHECK(coding_quality("br;level=1;q=0", "br") == 0);  // every parameter, not the first only
    CHECK(coding_quality("x-gzip", "gzip") == 1);
    CHECK(content_type_for("/a.wasm") == "application/wasm");
    CHECK(content_type_for("/a.unknown") == "application/octet-stream");
}

TEST_CASE("content_hashed: 12 lowercase hex digits before the extension", "[stub][static]") {
    CHECK(content_hashed("index.0123456789ab.wasm"));
    CHECK(content_hashed("a.ffffffffffff.js"));
    CHECK_FALSE(content_hashed("index.js"));
    CHECK_FALSE(content_hashed("index.html"));
    CHECK_FALSE(content_hashed("config.json"));
    CHECK_FALSE(content_hashed("index.0123456789AB.js"));   // not how the build writes them
    CHECK_FALSE(content_hashed("index.0123456789a.js"));    // 11 digits
    CHECK_FALSE(content_hashed("index0123456789ab.js"));    // no dot before the hash
    CHECK_FALSE(content_hashed(".0123456789ab"));
}

TEST_CASE("static site: precompressed brotli and gzip variants by Accept-Encoding, only those that decode to the file", "[stub][static]") {
    Site s;
    const std::string js(4096, 'b');
    const std::string name = "index.0123456789ab.js";
    s.write(name, js);
    s.write(name + ".br", brotli_of(js));
    s.write(name + ".gz", gzip_of(js));
    StaticSite site(s.root());
    auto with = [&](StaticSite& st, const std::string& path, const char* accept, const char* match = nullptr) {
        Request r = get(path);
        if (accept) r.headers["accept-encoding"] = accept;
        if (match) r.headers["if-none-match"] = match;
        return st.serve(r);
    };
    const Response br = with(site, "/" + name, "gzip, deflate, br");
    CHECK(header(br, "Content-Encoding") == "br");
    CHECK(br.body == brotli_of(js));
    CHECK(header(br, "Vary") == "Accept-Encoding");
    CHECK(header(br, "Cache-Control") == "public, max-age=31536000, immutable");
    CHECK(br.content_type == "text/javascript; charset=utf-8");
    const Response gz = with(site, "/" + name, "gzip, br;q=0.5");
    CHECK(header(gz, "Content-Encoding") == "gzip");
    CHECK(gz.body == gzip_of(js));
    CHECK(header(gz, "ETag") != header(br, "ETag"));
    CHECK(with(site, "/" + name, "identity").body == js);
    CHECK(header(with(site, "/" + name, nullptr), "Content-Encoding").empty());
    CHECK(header(with(site, "/" + name, "*"), "Content-Encoding") == "br");
    CHECK(header(with(site, "/" + name, "br;level=1;q=0, x-gzip"), "Content-Encoding") == "gzip");  // every parameter read
    // 304 for the brotli representation's own tag, for "*", and HEAD answers like GET.
    CHECK(with(site, "/" + name, "br", header(br, "ETag").c_str()).status == 304);
    CHECK(with(site, "/" + name, "br", " * ").status == 304);
    CHECK(with(site, "/" + name, "gzip", header(br, "ETag").c_str()).status == 200);
    Request head = get("/" + name, "HEAD");
    head.headers["accept-encoding"] = "br";
    CHECK(header(site.serve(head), "Content-Encoding") == "br");

    SECTION("a variant that does not decode to the file is never served") {
        for (const std::string& bad : {std::string(), std::string("BROTLI"), brotli_of(js + "x"), brotli_of(js).substr(0, 10)}) {
            s.write(name + ".br", bad);
            s.write(name + ".gz", bad);
            StaticSite fresh(s.root());
            const Response res = with(fresh, "/" + name, "br, gzip");
            CHECK(header(res, "Content-Encoding") == "gzip");  // made here instead
            CHECK(res.body == gzip_of(js));
        }
    }
    SECTION("a variant written after the file was first served is picked up") {
        StaticSite later(s.root());
        fs::remove(s.dir / (name + ".br"));
        CHECK(header(with(later, "/" + name, "br, gzip"), "Content-Encoding") == "gzip");
        s.write(name + ".br", brotli_of(js));
        CHECK(header(with(later, "/" + name, "br, gzip"), "Content-Encoding") == "br");
    }
    SECTION("a name without a content hash gets no precompressed variant and is no-cache") {
        s.write("app.js.br", brotli_of(std::string(4096, 'a')));
        const Response app = with(site, "/app.js", "br, gzip");
        CHECK(header(app, "Content-Encoding") == "gzip");
        CHECK(app.body.substr(0, 2) == "\x1f\x8b");
        CHECK(header(app, "Cache-Control") == "no-cache");
    }
    SECTION("a symlink: neither a variant nor a hashed name through it") {
        std::error_code ec;
        const fs::path secret = s.dir.parent_path() / (s.dir.filename().string() + "-secret");
        fs::remove(s.dir / (name + ".br"));
        fs::create_symlink(secret, s.dir / (name + ".br"), ec);
        REQUIRE_FALSE(ec);
        const Response res = with(site, "/" + name, "br");
        CHECK(header(res, "Content-Encoding").empty());
        CHECK(res.body.find("secret") == std::string::npos);
        // A plain name that is a symlink to a hashed file is not immutable: the name can change.
        fs::create_symlink(s.dir / name, s.dir / "latest.js", ec);
        REQUIRE_FALSE(ec);
        CHECK(header(with(site, "/latest.js", "gzip"), "Cache-Control") == "no-cache");
    }
}
