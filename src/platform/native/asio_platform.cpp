// asio_platform.cpp - see asio_platform.hpp.
#include "asio_platform.hpp"

#include "core/protocol.hpp"
#include "core/url.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <type_traits>

namespace native {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {
using Url = wps::Url;

// ---- TLS ------------------------------------------------------------------------------------
// One client context per factory / HttpClient, made on first use: TLS 1.2 or later, the peer's
// chain verified against the system's CAs or options.ca_file. A trust store that cannot be
// loaded is not thrown: every secure connection then fails with `error`.
class TlsConfig {
public:
    explicit TlsConfig(TlsOptions options) : options_(std::move(options)) {}
    // The context, or null with `error` set. Connections hold it, so it outlives its factory.
    std::shared_ptr<ssl::context> context(std::string& error) {
        if (!ctx_) make();
        error = error_;
        return error_.empty() ? ctx_ : nullptr;
    }

private:
    void make() {
        ctx_ = std::make_shared<ssl::context>(ssl::context::tls_client);
        ctx_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        ctx_->set_verify_mode(ssl::verify_peer);
        beast::error_code ec;
        if (options_.ca_file.empty()) ctx_->set_default_verify_paths(ec);
        else ctx_->load_verify_file(options_.ca_file, ec);
        if (ec)
            error_ = "TLS: cannot load " + (options_.ca_file.empty() ? std::string("the system's CAs") : options_.ca_file) + ": " +
                     describe(ec);
    }
    static std::string describe(const beast::error_code& ec) {
        if (ec.category() != asio::error::get_ssl_category()) return ec.message();
        // Asio's message for OpenSSL errors is only "asio.ssl error"
        const auto e = static_cast<unsigned long>(ec.value());
        if (ERR_GET_LIB(e) == ERR_LIB_SYS) return std::strerror(ERR_GET_REASON(e));  // errno
        const char* reason = ERR_reason_error_string(e);
        return reason ? reason : ec.message();
    }
    TlsOptions options_;
    std::shared_ptr<ssl::context> ctx_;
    std::string error_;
};

bool is_ip_literal(const std::string& host) {
    beast::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

// Prepares a client TLS stream for `host`: SNI (host names only, RFC 6066) and a verify callback
// that checks the chain (OpenSSL's verdict) and then the leaf's name (RFC 6125, IP addresses
// too), keeping the first reason for a refusal in `why` so the error says what was wrong.
bool prepare_tls(TlsStream& stream, const std::string& host, std::string& why) {
    if (!is_ip_literal(host) && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
        why = "TLS: cannot set the server name " + host;
        return false;
    }
    stream.set_verify_callback([check = ssl::host_name_verification(host), host, &why](bool preverified, ssl::verify_context& ctx) {
        if (!preverified) {
            if (why.empty()) why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.native_handle()));
            return false;
        }
        if (!check(preverified, ctx)) {  // checks the leaf only; passes issuers through
            if (why.empty()) why = "the certificate does not match the host name " + host;
            return false;
        }
        return true;
    });
    return true;
}

std::string tls_error(const beast::error_code& ec, const std::string& why) {
    return "TLS handshake: " + ec.message() + (why.empty() ? "" : " (" + why + ")");
}

// Resolves and connects the TCP layer of `stream`, within `timeout`, then calls next(error).
// `stopped()` is asked once the name is resolved: a resolver's cancel() cannot stop a lookup that
// has already finished on asio's resolver thread (its handler then sees success), and a socket
// closed while it resolved must not reach the server at all.
template <class Stream, class Next, class Stopped>
void connect_tcp(tcp::resolver& resolver, Stream& stream, const Url& u, std::chrono::milliseconds timeout, Stopped stopped, Next next) {
    resolver.async_resolve(u.host, u.port, [&stream, timeout, stopped, next](beast::error_code ec, tcp::resolver::results_type r) mutable {
        if (ec) return next("resolve: " + ec.message());
        if (stopped()) return next("closed while connecting");
        beast::get_lowest_layer(stream).expires_after(timeout);
        beast::get_lowest_layer(stream).async_connect(r, [next](beast::error_code ec2, tcp::endpoint) mutable {
            next(ec2 ? "connect: " + ec2.message() : std::string());
        });
    });
}

} // namespace

// ---- time -----------------------------------------------------------------------------------
struct AsioScheduler::Impl {
    asio::io_context& ioc;
    std::map<wps::TimerId, std::shared_ptr<asio::steady_timer>> timers;
    wps::TimerId next = 1;
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

AsioScheduler::AsioScheduler(asio::io_context& ioc) : impl_(new Impl{ioc, {}, 1, std::make_shared<bool>(true)}) {}
AsioScheduler::~AsioScheduler() {
    *impl_->alive = false;
    for (auto& [id, t] : impl_->timers) t->cancel();
}

uint64_t AsioScheduler::now_ms() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

wps::TimerId AsioScheduler::after(uint64_t delay_ms, std::function<void()> fn) {
    const wps::TimerId id = impl_->next++;
    auto t = std::make_shared<asio::steady_timer>(impl_->ioc, std::chrono::milliseconds(delay_ms));
    impl_->timers[id] = t;
    std::weak_ptr<bool> alive = impl_->alive;
    Impl* impl = impl_.get();
    t->async_wait([alive, impl, id, fn = std::move(fn)](beast::error_code ec) {
        if (ec || alive.expired()) return;
        impl->timers.erase(id);
        fn();
    });
    return id;
}

void AsioScheduler::cancel(wps::TimerId id) {
    auto it = impl_->timers.find(id);
    if (it == impl_->timers.end()) return;
    it->second->cancel();
    impl_->timers.erase(it);
}

// ---- WebSocket ------------------------------------------------------------------------------
namespace {

class WsConnection {
public:
    virtual ~WsConnection() = default;
    virtual void send(const std::string& text) = 0;
    virtual void close(int code, const std::string& reason) = 0;
};

// One WebSocket client over NextLayer = beast::tcp_stream (ws://) or TlsStream (wss://). Both
// share every step but the TLS handshake between connect and the WebSocket handshake.
template <class NextLayer>
class WsClient final : public WsConnection, public std::enable_shared_from_this<WsClient<NextLayer>> {
    static constexpr bool kTls = std::is_same_v<NextLayer, TlsStream>;

public:
    WsClient(asio::io_context& ioc, std::shared_ptr<ssl::context> tls, wps::SocketCallbacks cb)
        : tls_(std::move(tls)), resolver_(ioc), ws_(make_stream(ioc, tls_.get())), cb_(std::move(cb)) {}

    void open(const Url& url, const std::string& protocol) {
        url_ = url;
        protocol_ = protocol;
        const auto self_ = this->shared_from_this();
        connect_tcp(resolver_, ws_, url_, std::chrono::seconds(10), [self_] { return self_->closing_; },
                    [self = self_](const std::string& error) {
            if (!error.empty()) return self->closed(1006, error);
            if (self->closing_) return self->closed(1006, "closed while connecting");
            self->secure();
        });
    }
    void send(const std::string& text) override {
        if (done_ || !open_) return;
        queue_.push_back(text);
        if (queue_.size() == 1) write();
    }
    void close(int code, const std::string& reason) override {
        detached_ = true;
        if (done_ || closing_) return;  // one close handshake per socket (Beast allows one close op)
        closing_ = true;
        if (!open_) {  // still connecting: stop whichever step is under way
            resolver_.cancel();
            beast::error_code ignored;
            beast::get_lowest_layer(ws_).socket().close(ignored);
            return;
        }
        ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(code), reason),
                        [self = this->shared_from_this()](beast::error_code) {});
    }
    // Reports a failure before open() could start (bad URL, unusable trust store), never re-entrantly.
    void fail_soon(std::string reason) {
        asio::post(resolver_.get_executor(), [self = this->shared_from_this(), reason = std::move(reason)] { self->closed(1006, reason); });
    }

private:
    static websocket::stream<NextLayer> make_stream(asio::io_context& ioc, ssl::context* tls) {
        if constexpr (kTls) return websocket::stream<NextLayer>(ioc, *tls);
        else return websocket::stream<NextLayer>(ioc);
    }
    void secure() {
        if constexpr (kTls) {
            auto& tls = ws_.next_layer();
            if (!prepare_tls(tls, url_.host, verify_error_)) return closed(1006, verify_error_);
            tls.async_handshake(ssl::stream_base::client, [self = this->shared_from_this()](beast::error_code ec) {
                if (ec) return self->closed(1006, tls_error(ec, self->verify_error_));
                if (self->closing_) return self->closed(1006, "closed while connecting");
                self->handshake();
            });
        } else {
            handshake();
        }
    }
    void handshake() {
        beast::get_lowest_layer(ws_).expires_never();  // the WebSocket's own timeouts from here on
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
        ws_.read_message_max(wps::kMaxServiceFrameBytes);  // service frames may exceed the 1 MB a client may send
        const std::string protocol = protocol_;
        ws_.set_option(websocket::stream_base::decorator([protocol](websocket::request_type& req) {
            if (!protocol.empty()) req.set(http::field::sec_websocket_protocol, protocol);
        }));
        // A close frame from the peer is what counts, even when the TLS teardown after it fails
        // (a peer that drops TCP without close_notify).
        ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
            if (kind == websocket::frame_type::close) peer_closed_ = true;
        });
        ws_.async_handshake(res_, url_.host + ":" + url_.port, url_.target, [self = this->shared_from_this()](beast::error_code ec) {
            if (ec) {
                const int status = static_cast<int>(self->res_.result_int());
                return self->closed(1006, "handshake failed" + (status ? " (HTTP " + std::to_string(status) + ")" : ": " + ec.message()));
            }
            if (self->closing_) return self->closed(1006, "closed while connecting");
            self->open_ = true;
            if (!self->detached_ && self->cb_.on_open) self->cb_.on_open();
            self->read();
        });
    }
    void read() {
        ws_.async_read(buf_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                if (ec == websocket::error::closed || self->peer_closed_) {
                    const auto& r = self->ws_.reason();
                    // 1005 = the close frame had no status code (what browsers report)
                    const int code = r.code == websocket::close_code::none ? 1005 : static_cast<int>(r.code);
                    return self->closed(code, std::string(r.reason.c_str()));
                }
                return self->closed(1006, ec.message());
            }
            std::string text = beast::buffers_to_string(self->buf_.data());
            self->buf_.consume(self->buf_.size());
            if (!self->detached_ && self->cb_.on_message) self->cb_.on_message(std::move(text));
            self->read();
        });
    }
    void write() {
        ws_.text(true);
        ws_.async_write(asio::buffer(queue_.front()), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            self->queue_.pop_front();
            if (!self->queue_.empty()) self->write();
        });
    }
    void closed(int code, const std::string& reason) {
        if (done_) return;
        done_ = true;
        open_ = false;
        if (!detached_ && cb_.on_close) cb_.on_close(code, reason);
    }

    std::shared_ptr<ssl::context> tls_;  // null for ws://
    tcp::resolver resolver_;
    websocket::stream<NextLayer> ws_;
    beast::flat_buffer buf_;
    websocket::response_type res_;
    wps::SocketCallbacks cb_;
    Url url_;
    std::string protocol_, verify_error_;
    std::deque<std::string> queue_;
    bool open_ = false, done_ = false, detached_ = false, closing_ = false, peer_closed_ = false;
};

class AsioSocket final : public wps::Socket {
public:
    explicit AsioSocket(std::shared_ptr<WsConnection> c) : c_(std::move(c)) {}
    ~AsioSocket() override { c_->close(1000, ""); }
    void send(const std::string& text) override { c_->send(text); }
    void close(int code, const std::string& reason) override { c_->close(code, reason); }

private:
    std::shared_ptr<WsConnection> c_;
};

std::shared_ptr<WsConnection> open_socket(asio::io_context& ioc, TlsConfig& tls, const std::string& url, const std::string& protocol,
                                          wps::SocketCallbacks cb) {
    Url u;
    if (!wps::parse_url(url, u) || (u.scheme != "ws" && u.scheme != "wss")) {
        auto c = std::make_shared<WsClient<beast::tcp_stream>>(ioc, nullptr, std::move(cb));
        c->fail_soon("unsupported URL " + url);
        return c;
    }
    if (!u.secure()) {
        auto c = std::make_shared<WsClient<beast::tcp_stream>>(ioc, nullptr, std::move(cb));
        c->open(u, protocol);
        return c;
    }
    std::string error;
    auto ctx = tls.context(error);
    if (!ctx) {
        auto c = std::make_shared<WsClient<beast::tcp_stream>>(ioc, nullptr, std::move(cb));
        c->fail_soon(error);
        return c;
    }
    auto c = std::make_shared<WsClient<TlsStream>>(ioc, ctx, std::move(cb));
    c->open(u, protocol);
    return c;
}

} // namespace

wps::SocketFactory asio_socket_factory(asio::io_context& ioc, TlsOptions options) {
    auto tls = std::make_shared<TlsConfig>(std::move(options));  // shared by the factory's copies and its sockets
    return [&ioc, tls](const std::string& url, const std::string& protocol, wps::SocketCallbacks cb) {
        return std::unique_ptr<wps::Socket>(new AsioSocket(open_socket(ioc, *tls, url, protocol, std::move(cb))));
    };
}

// ---- HTTP -----------------------------------------------------------------------------------
struct AsioHttpClient::Tls : TlsConfig {
    using TlsConfig::TlsConfig;
};

AsioHttpClient::AsioHttpClient(asio::io_context& ioc, TlsOptions tls) : ioc_(ioc), tls_(std::make_shared<Tls>(std::move(tls))) {}
AsioHttpClient::~AsioHttpClient() = default;

namespace {

// One request on its own connection over Stream = beast::tcp_stream (http://) or TlsStream
// (https://); the timeout covers everything from connect to the last byte of the answer.
template <class Stream>
struct HttpOp : std::enable_shared_from_this<HttpOp<Stream>> {
    static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

    HttpOp(asio::io_context& ioc, std::shared_ptr<ssl::context> ctx, std::function<void(wps::HttpResponse)> d)
        : tls(std::move(ctx)), resolver(ioc), stream(make_stream(ioc, tls.get())), done(std::move(d)) {}

    void start(const Url& u, std::chrono::milliseconds timeout) {
        connect_tcp(resolver, stream, u, timeout, [] { return false; }, [self = this->shared_from_this(), host = u.host](const std::string& error) {
            if (!error.empty()) return self->fail(error);
            if constexpr (kTls) {
                if (!prepare_tls(self->stream, host, self->verify_error)) return self->fail(self->verify_error);
                self->stream.async_handshake(ssl::stream_base::client, [self](beast::error_code ec) {
                    if (ec) return self->fail(tls_error(ec, self->verify_error));
                    self->exchange();
                });
            } else {
                self->exchange();
            }
        });
    }
    void fail(const std::string& why) {
        if (!done) return;
        auto d = std::move(done);
        d(wps::HttpResponse{0, {}, why});
    }

    std::shared_ptr<ssl::context> tls;  // null for http://
    tcp::resolver resolver;
    Stream stream;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    std::function<void(wps::HttpResponse)> done;
    std::string verify_error;

private:
    static Stream make_stream(asio::io_context& ioc, ssl::context* tls) {
        if constexpr (kTls) return Stream(ioc, *tls);
        else return Stream(ioc);
    }
    void exchange() {
        http::async_write(stream, req, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->fail("write: " + ec.message());
            http::async_read(self->stream, self->buf, self->res, [self](beast::error_code ec2, std::size_t) {
                if (ec2) return self->fail("read: " + ec2.message());
                // One request per connection: the whole answer is read, so no TLS close_notify
                // exchange is needed before dropping the connection.
                beast::error_code ignored;
                beast::get_lowest_layer(self->stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
                if (self->done) self->done(wps::HttpResponse{static_cast<int>(self->res.result_int()), self->res.body(), {}});
            });
        });
    }
};

template <class Stream>
void start_request(asio::io_context& ioc, std::shared_ptr<ssl::context> tls, const Url& u, wps::HttpRequest& request,
                   std::function<void(wps::HttpResponse)> done) {
    auto op = std::make_shared<HttpOp<Stream>>(ioc, std::move(tls), std::move(done));
    op->req = http::request<http::string_body>(http::string_to_verb(request.method), u.target, 11);
    op->req.set(http::field::host, u.host + ":" + u.port);
    for (auto& [k, v] : request.headers) op->req.set(k, v);
    op->req.body() = std::move(request.body);
    op->req.prepare_payload();
    op->start(u, std::chrono::milliseconds(request.timeout_ms));
}

} // namespace

void AsioHttpClient::send(wps::HttpRequest request, std::function<void(wps::HttpResponse)> done) {
    Url u;
    std::string error;
    std::shared_ptr<ssl::context> ctx;
    if (!wps::parse_url(request.url, u) || (u.scheme != "http" && u.scheme != "https")) error = "unsupported URL " + request.url;
    else if (u.secure()) ctx = tls_->context(error);
    if (!error.empty()) {
        asio::post(ioc_, [done = std::move(done), error] { done(wps::HttpResponse{0, {}, error}); });
        return;
    }
    if (ctx) start_request<TlsStream>(ioc_, std::move(ctx), u, request, std::move(done));
    else start_request<beast::tcp_stream>(ioc_, nullptr, u, request, std::move(done));
}

} // namespace native
