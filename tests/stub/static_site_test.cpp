// The web client's files (server-stub/src/static_site.hpp): only plain names under the root,
// gzip when taken, ETag and 304, a changed file read again.
#include "static_site.hpp"  // first: the header is self-contained

#include <catch2/catch.hpp>

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

TEST_CASE("accepts_gzip reads Accept-Encoding's codings and q=0", "[stub][static]") {
    CHECK(accepts_gzip("gzip"));
    CHECK(accepts_gzip("deflate, GZIP"));
    CHECK(accepts_gzip("*"));
    CHECK(accepts_gzip(" gzip ;q=0.1"));
    CHECK_FALSE(accepts_gzip(""));
    CHECK_FALSE(accepts_gzip("br, deflate"));
    CHECK_FALSE(accepts_gzip("gzip;q=0"));
    CHECK_FALSE(accepts_gzip("x-gzip"));
    CHECK(content_type_for("/a.wasm") == "application/wasm");
    CHECK(content_type_for("/a.unknown") == "application/octet-stream");
}
