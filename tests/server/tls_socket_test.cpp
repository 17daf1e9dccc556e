// The native ports (asio_platform) over TLS and with large frames, against a small Beast server
// that runs in the test on the same io_context: wss:// and https:// with the test CA trusted
// connect and exchange data; a certificate for another host name, a CA nobody trusts, or the
// system's CAs (which do not hold the test CA) fail the connection before it opens. The CA and
// the certificates are made with the `openssl` command at test time in a temporary folder.
#include "core/protocol.hpp"
#include "platform/native/asio_platform.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <unistd.h>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// ---- certificates ----------------------------------------------------------------------------
// One test CA; "localhost" (DNS:localhost, IP:127.0.0.1) and "other" (DNS:other.example) signed
// by it; a second CA ("rogue") that signed nothing the server uses. Made once per test run.
class TestCerts {
public:
    static const TestCerts& get() {
        static TestCerts certs;
        return certs;
    }
    std::string file(const std::string& name) const { return dir_ + "/" + name; }

    TestCerts(const TestCerts&) = delete;
    TestCerts& operator=(const TestCerts&) = delete;
    ~TestCerts() { std::system(("rm -rf '" + dir_ + "'").c_str()); }

private:
    TestCerts() {
        char dir_template[] = "/tmp/chat-tls-test-XXXXXX";
        if (!mkdtemp(dir_template)) throw std::runtime_error("mkdtemp failed");
        dir_ = dir_template;
        const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        make_ca("ca", "Chat Test CA", key);
        make_ca("rogue-ca", "Rogue Test CA", key);
        make_leaf("localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1", key);
        make_leaf("other", "subjectAltName=DNS:other.example", key);
    }
    void run(const std::string& cmd) {
        const std::string full = "cd '" + dir_ + "' && " + cmd + " >>openssl.log 2>&1";
        if (std::system(full.c_str()) != 0) throw std::runtime_error("openssl failed (see " + dir_ + "/openssl.log): " + cmd);
    }
    void make_ca(const std::string& name, const std::string& cn, const std::string& key) {
        run("openssl req -x509 " + key + " -days 2 -subj '/CN=" + cn + "' -keyout " + name + ".key -out " + name + ".pem");
    }
    void make_leaf(const std::string& name, const std::string& san, const std::string& key) {
        std::ofstream(file(name + ".ext")) << san << "\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                           << "extendedKeyUsage=serverAuth\n";
        run("openssl req -new " + key + " -subj '/CN=" + name + "' -keyout " + name + ".key -out " + name + ".csr");
        run("openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile " + name +
            ".ext -out " + name + ".pem");
    }
    std::string dir_;
};

// ---- a small WebSocket + HTTP server, plain or TLS -------------------------------------------
// Per connection: TLS handshake (TLS servers), one HTTP request; a WebSocket upgrade is accepted
// with the requested subprotocol, anything else gets "hello <target>". Over WebSocket it echoes
// each frame, except "big:N" (answers N bytes) and "close:CODE:REASON" (closes with them).
struct ServerLog {
    int connections = 0, tls_handshakes = 0, tls_failures = 0, upgrades = 0, http_requests = 0;
    std::string sni, subprotocol;
    std::vector<std::string> received;
    int close_code = -1;  // the code of the client's close frame, once received
    std::string close_reason;
};

std::string big_text(std::size_t n) {
    std::string s(n, 'x');
    for (std::size_t i = 0; i < n; i += 4096) s[i] = static_cast<char>('a' + (i / 4096) % 26);  // not all the same byte
    return s;
}

template <class Stream>
class ServerSession : public std::enable_shared_from_this<ServerSession<Stream>> {
    static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

public:
    ServerSession(Stream stream, ServerLog& log) : stream_(std::move(stream)), log_(log) {}

    void start() {
        if constexpr (kTls) {
            beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(10));
            stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
                if (ec) {
                    ++self->log_.tls_failures;
                    return;
                }
                ++self->log_.tls_handshakes;
                const char* sni = SSL_get_servername(self->stream_.native_handle(), TLSEXT_NAMETYPE_host_name);
                self->log_.sni = sni ? sni : "";
                self->read_request();
            });
        } else {
            read_request();
        }
    }

private:
    void read_request() {
        http::async_read(stream_, buf_, req_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            beast::get_lowest_layer(self->stream_).expires_never();
            if (websocket::is_upgrade(self->req_)) return self->accept();
            ++self->log_.http_requests;
            self->res_ = http::response<http::string_body>(http::status::ok, 11);
            self->res_.set(http::field::content_type, "text/plain");
            self->res_.body() = "hello " + std::string(self->req_.target());
            self->res_.prepare_payload();
            http::async_write(self->stream_, self->res_, [self](beast::error_code, std::size_t) {});
        });
    }
    void accept() {
        ws_.emplace(std::move(stream_));
        const std::string protocol(req_[http::field::sec_websocket_protocol]);
        log_.subprotocol = protocol;
        ws_->set_option(websocket::stream_base::decorator([protocol](websocket::response_type& res) {
            if (!protocol.empty()) res.set(http::field::sec_websocket_protocol, protocol);
        }));
        ws_->read_message_max(64 * 1024);
        ws_->async_accept(req_, [self = this->shared_from_this()](beast::error_code ec) {
            if (ec) return;
            ++self->log_.upgrades;
            self->read();
        });
    }
    void read() {
        ws_->async_read(buf_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                if (ec == websocket::error::closed) {
                    self->log_.close_code = self->ws_->reason().code;
                    self->log_.close_reason = self->ws_->reason().reason.c_str();
                }
                return;
            }
            std::string text = beast::buffers_to_string(self->buf_.data());
            self->buf_.consume(self->buf_.size());
            self->log_.received.push_back(text);
            if (text.rfind("close:", 0) == 0) {
                const auto colon = text.find(':', 6);
                const int code = std::atoi(text.substr(6, colon - 6).c_str());
                self->ws_->async_close(websocket::close_reason(static_cast<websocket::close_code>(code), text.substr(colon + 1)),
                                       [self](beast::error_code) {});
                return;
            }
            self->out_ = text.rfind("big:", 0) == 0 ? big_text(std::stoul(text.substr(4))) : text;
            self->ws_->text(true);
            self->ws_->async_write(asio::buffer(self->out_), [self](beast::error_code ec2, std::size_t) {
                if (!ec2) self->read();
            });
        });
    }

    Stream stream_;
    std::optional<websocket::stream<Stream>> ws_;
    ServerLog& log_;
    beast::flat_buffer buf_;
    http::request<http::string_body> req_;
    http::response<http::string_body> res_;
    std::string out_;
};

class TestServer {
public:
    // cert_name empty = plain ws:// and http://; else TLS with TestCerts' <cert_name>.pem/.key.
    TestServer(asio::io_context& ioc, const std::string& cert_name) : ioc_(ioc), acceptor_(ioc, {asio::ip::make_address("127.0.0.1"), 0}) {
        if (!cert_name.empty()) {
            const auto& certs = TestCerts::get();
            tls_.emplace(asio::ssl::context::tls_server);
            tls_->use_certificate_chain_file(certs.file(cert_name + ".pem"));
            tls_->use_private_key_file(certs.file(cert_name + ".key"), asio::ssl::context::pem);
        }
        accept();
    }
    int port() const { return acceptor_.local_endpoint().port(); }
    ServerLog log;
    bool stall = false;  // accept connections, then never answer (a peer stuck in the handshake)

private:
    void accept() {
        acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec) return;
            ++log.connections;
            if (stall) {
                stalled_.push_back(std::move(socket));
            } else if (tls_) {
                using S = beast::ssl_stream<beast::tcp_stream>;
                std::make_shared<ServerSession<S>>(S(beast::tcp_stream(std::move(socket)), *tls_), log)->start();
            } else {
                std::make_shared<ServerSession<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), log)->start();
            }
            accept();
        });
    }
    asio::io_context& ioc_;
    std::optional<asio::ssl::context> tls_;
    tcp::acceptor acceptor_;
    std::vector<tcp::socket> stalled_;
};

// ---- the client side ---------------------------------------------------------------------------
struct Loop {
    asio::io_context ioc;
    template <class F>
    bool run_until(F done, int timeout_ms = 10000) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        while (!done() && std::chrono::steady_clock::now() < end) {
            ioc.run_for(std::chrono::milliseconds(10));
            ioc.restart();
        }
        return done();
    }
};

// One socket from the port under test, with everything its callbacks reported.
struct Client {
    bool opened = false, closed = false;
    int code = 0;
    std::string reason;
    std::vector<std::string> messages;
    std::unique_ptr<wps::Socket> socket;

    void connect(const wps::SocketFactory& factory, const std::string& url) {
        wps::SocketCallbacks cb;
        cb.on_open = [this] { opened = true; };
        cb.on_message = [this](std::string text) { messages.push_back(std::move(text)); };
        cb.on_close = [this](int c, std::string r) {
            CHECK_FALSE(closed);  // once per socket
            closed = true;
            code = c;
            reason = std::move(r);
        };
        socket = factory(url, wps::kReliableJsonProtocol, cb);
    }
};

native::TlsOptions trust(const std::string& ca_name) { return native::TlsOptions{TestCerts::get().file(ca_name + ".pem")}; }

std::string wss_url(const std::string& host, int port) {
    return "wss://" + host + ":" + std::to_string(port) + "/client/hubs/chat?access_token=t";
}

// The connection failed before it opened, with a reason, and the server never upgraded it.
void check_refused(const Client& c, const TestServer& server, const std::string& reason_part) {
    CHECK_FALSE(c.opened);
    CHECK(c.code == 1006);
    CHECK(c.messages.empty());
    CHECK(server.log.upgrades == 0);
    INFO("reason: " << c.reason);
    CHECK(c.reason.find(reason_part) != std::string::npos);
}

} // namespace

TEST_CASE("native port: wss:// with the test CA trusted connects, exchanges frames and closes cleanly", "[integration]") {
    Loop loop;
    TestServer server(loop.ioc, "localhost");
    Client c;
    c.connect(native::asio_socket_factory(loop.ioc, trust("ca")), wss_url("localhost", server.port()));
    REQUIRE(loop.run_until([&] { return c.opened || c.closed; }));
    INFO("close reason: " << c.reason);
    REQUIRE(c.opened);
    CHECK(server.log.tls_handshakes == 1);
    CHECK(server.log.sni == "localhost");                          // SNI is sent
    CHECK(server.log.subprotocol == wps::kReliableJsonProtocol);  // the subprotocol is asked for

    c.socket->send(R"({"type":"sequenceAck","sequenceId":1})");
    REQUIRE(loop.run_until([&] { return !c.messages.empty(); }));
    CHECK(c.messages == std::vector<std::string>{R"({"type":"sequenceAck","sequenceId":1})"});

    c.socket->close(1000, "done");
    REQUIRE(loop.run_until([&] { return server.log.close_code != -1; }));
    CHECK(server.log.close_code == 1000);
    CHECK(server.log.close_reason == "done");
    loop.run_until([] { return false; }, 100);
    CHECK_FALSE(c.closed);  // a socket closed by its owner reports nothing more
}

TEST_CASE("native port: a close from a wss:// server reaches on_close with its code and reason", "[integration]") {
    Loop loop;
    TestServer server(loop.ioc, "localhost");
    Client c;
    c.connect(native::asio_socket_factory(loop.ioc, trust("ca")), wss_url("localhost", server.port()));
    REQUIRE(loop.run_until([&] { return c.opened || c.closed; }));
    REQUIRE(c.opened);
    c.socket->send("close:4001:going away");
    REQUIRE(loop.run_until([&] { return c.closed; }));
    CHECK(c.code == 4001);
    CHECK(c.reason == "going away");
}

TEST_CASE("native port: a wss:// socket closed while it connects never opens and reports nothing", "[integration]") {
    Loop loop;
    TestServer server(loop.ioc, "localhost");
    server.stall = true;
    const auto factory = native::asio_socket_factory(loop.ioc, trust("ca"));
    Client now, later;
    now.connect(factory, wss_url("localhost", server.port()));
    now.socket->close(1000, "");  // before the name is even resolved
    later.connect(factory, wss_url("localhost", server.port()));
    REQUIRE(loop.run_until([&] { return server.log.connections >= 1; }));
    loop.run_until([] { return false; }, 50);
    later.socket->close(1000, "");  // in the TLS handshake, which the server never answers
    loop.run_until([] { return false; }, 300);
    CHECK_FALSE(now.opened);
    CHECK_FALSE(now.closed);
    CHECK_FALSE(later.opened);
    CHECK_FALSE(later.closed);
    CHECK(server.log.connections == 1);  // the first one never reached the server
}

TEST_CASE("native port: wss:// to an IP address checks the certificate's IP address and sends no SNI", "[integration]") {
    Loop loop;
    TestServer server(loop.ioc, "localhost");  // its certificate also names IP:127.0.0.1
    Client c;
    c.connect(native::asio_socket_factory(loop.ioc, trust("ca")), wss_url("127.0.0.1", server.port()));
    REQUIRE(loop.run_until([&] { return c.opened || c.closed; }));
    INFO("close reason: " << c.reason);
    CHECK(c.opened);
    CHECK(server.log.sni.empty());  // RFC 6066: no IP literals in SNI
}

TEST_CASE("native port: wss:// refuses a certificate for another host name", "[integration]") {
    Loop loop;
    TestServer server(loop.ioc, "other");  // a valid chain to the trusted CA, but for other.example
    Client c;
    c.connect(native::asio_socket_factory(loop.ioc, trust("ca")), wss_url("localhost", server.port()));
    REQUIRE(loop.run_until([&] { return c.closed; }));
    check_refused(c, server, "host name");
    CHECK(server.log.tls_handshakes == 0);
}

TEST_CASE("native port: wss:// refuses a certificate from a CA it does not trust", "[integration]") {
    Loop loop;
    TestServer server(loop.ioc, "localhost");
    SECTION("another CA given as ca_file") {
        Client c;
        c.connect(native::asio_socket_factory(loop.ioc, trust("rogue-ca")), wss_url("localhost", server.port()));
        REQUIRE(loop.run_until([&] { return c.closed; }));
        check_refused(c, server, "certificate");
    }
    SECTION("the system's CAs (the default), which do not hold the test CA") {
        Client c;
        c.connect(native::asio_socket_factory(loop.ioc), wss_url("localhost", server.port()));
        REQUIRE(loop.run_until([&] { return c.closed; }));
        check_refused(c, server, "certificate");
    }
    CHECK(server.log.tls_handshakes == 0);
}

TEST_CASE("native port: a ca_file that cannot be used fails the connection with the file's name", "[integration]") {
    Loop loop;
    TestServer server(loop.ioc, "localhost");
    const std::string not_pem = TestCerts::get().file("localhost.ext");
    const std::string file = GENERATE_COPY(std::string("/nonexistent/ca.pem"), not_pem);
    Client c;
    c.connect(native::asio_socket_factory(loop.ioc, native::TlsOptions{file}), wss_url("localhost", server.port()));
    REQUIRE(loop.run_until([&] { return c.closed; }));
    check_refused(c, server, "TLS: cannot load " + file + ": ");
    CHECK(server.log.connections == 0);
}

TEST_CASE("native port: https:// requests verify the server like wss://", "[integration]") {
    Loop loop;
    TestServer good(loop.ioc, "localhost"), other(loop.ioc, "other");
    auto get = [&](native::AsioHttpClient& client, const std::string& url) {
        wps::HttpResponse out;
        bool done = false;
        wps::HttpRequest r;
        r.url = url;
        client.send(r, [&](wps::HttpResponse res) {
            out = std::move(res);
            done = true;
        });
        REQUIRE(loop.run_until([&] { return done; }));
        return out;
    };
    const std::string good_url = "https://localhost:" + std::to_string(good.port()) + "/api/x?y=1";
    native::AsioHttpClient trusting(loop.ioc, trust("ca")), rogue(loop.ioc, trust("rogue-ca")), system(loop.ioc);

    const auto ok = get(trusting, good_url);
    INFO("error: " << ok.error);
    CHECK(ok.status == 200);
    CHECK(ok.body == "hello /api/x?y=1");
    CHECK(good.log.sni == "localhost");

    const auto wrong_host = get(trusting, "https://localhost:" + std::to_string(other.port()) + "/");
    CHECK(wrong_host.status == 0);
    CHECK(wrong_host.error.find("host name") != std::string::npos);
    const auto untrusted = get(rogue, good_url);
    CHECK(untrusted.status == 0);
    CHECK(untrusted.error.find("certificate") != std::string::npos);
    const auto not_in_system = get(system, good_url);
    CHECK(not_in_system.status == 0);
    CHECK(good.log.http_requests == 1);  // only the trusted request got through
    CHECK(other.log.http_requests == 0);
}

// Frames from the service above 1 MB arrive whole up to kMaxServiceFrameBytes; one byte more
// closes the socket with an error rather than dropping the frame silently.
static void check_large_frames(bool tls) {
    Loop loop;
    TestServer server(loop.ioc, tls ? "localhost" : "");
    const std::string url = (tls ? wss_url("localhost", server.port()) : "ws://127.0.0.1:" + std::to_string(server.port()) + "/");
    const auto factory = native::asio_socket_factory(loop.ioc, trust("ca"));
    Client c;
    c.connect(factory, url);
    REQUIRE(loop.run_until([&] { return c.opened || c.closed; }));
    INFO("close reason: " << c.reason);
    REQUIRE(c.opened);

    const std::size_t three_mb = 3 * 1024 * 1024;
    c.socket->send("big:" + std::to_string(three_mb));
    REQUIRE(loop.run_until([&] { return !c.messages.empty() || c.closed; }));
    REQUIRE(c.messages.size() == 1);
    CHECK(c.messages[0].size() == three_mb);
    CHECK(c.messages[0] == big_text(three_mb));

    // The bound itself (over ws:// only: 16 MB more through TLS adds seconds to the sanitizer build).
    if (!tls) {
        c.socket->send("big:" + std::to_string(wps::kMaxServiceFrameBytes));
        REQUIRE(loop.run_until([&] { return c.messages.size() == 2 || c.closed; }, 20000));
        REQUIRE(c.messages.size() == 2);
        CHECK(c.messages[1].size() == wps::kMaxServiceFrameBytes);
    }

    const std::size_t received = c.messages.size();
    c.socket->send("big:" + std::to_string(wps::kMaxServiceFrameBytes + 1));
    REQUIRE(loop.run_until([&] { return c.closed; }, 20000));
    CHECK(c.messages.size() == received);
    CHECK(c.code == 1006);
    // Over TLS the reason is the teardown's ("application data after close notify": the server
    // is still sending the frame), which Beast reports instead of the size error.
    if (!tls) CHECK(c.reason == "The WebSocket message exceeded the locally configured limit");
    CHECK_FALSE(c.reason.empty());
}

TEST_CASE("native port: ws:// frames from the service above 1 MB arrive whole, up to kMaxServiceFrameBytes", "[integration]") {
    check_large_frames(false);
}

TEST_CASE("native port: wss:// frames from the service above 1 MB arrive whole, up to kMaxServiceFrameBytes", "[integration]") {
    check_large_frames(true);
}
