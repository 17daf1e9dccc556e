// asio_platform.cpp - see asio_platform.hpp.
#include "asio_platform.hpp"

#include "core/url.hpp"

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <chrono>
#include <deque>

namespace native {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {
using Url = wps::Url;
Url parse(const std::string& url) {
    Url u;
    if (!wps::parse_url(url, u) || u.secure()) u.host.clear();  // TLS is not supported by these ports
    return u;
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

class WsClient : public std::enable_shared_from_this<WsClient> {
public:
    WsClient(asio::io_context& ioc, wps::SocketCallbacks cb) : resolver_(ioc), ws_(ioc), cb_(std::move(cb)) {}

    void open(const std::string& url, const std::string& protocol) {
        url_ = parse(url);
        if (url_.host.empty()) return post_close(1006, "unsupported URL " + url);
        protocol_ = protocol;
        resolver_.async_resolve(url_.host, url_.port, [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
            if (ec) return self->closed(1006, "resolve: " + ec.message());
            beast::get_lowest_layer(self->ws_).expires_after(std::chrono::seconds(10));
            beast::get_lowest_layer(self->ws_).async_connect(r, [self](beast::error_code ec2, tcp::endpoint) {
                if (ec2) return self->closed(1006, "connect: " + ec2.message());
                self->handshake();
            });
        });
    }
    void send(const std::string& text) {
        if (done_ || !open_) return;
        queue_.push_back(text);
        if (queue_.size() == 1) write();
    }
    void close(int code, const std::string& reason) {
        detached_ = true;
        if (done_ || closing_) return;  // one close handshake per socket (Beast allows one close op)
        closing_ = true;
        if (!open_) {
            beast::error_code ignored;
            beast::get_lowest_layer(ws_).socket().close(ignored);
            return;
        }
        ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(code), reason),
                        [self = shared_from_this()](beast::error_code) {});
    }
    void detach() { detached_ = true; }

private:
    void handshake() {
        beast::get_lowest_layer(ws_).expires_never();
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
        ws_.read_message_max(1024 * 1024);
        const std::string protocol = protocol_;
        ws_.set_option(websocket::stream_base::decorator([protocol](websocket::request_type& req) {
            if (!protocol.empty()) req.set(http::field::sec_websocket_protocol, protocol);
        }));
        ws_.async_handshake(res_, url_.host + ":" + url_.port, url_.target, [self = shared_from_this()](beast::error_code ec) {
            if (ec) {
                const int status = static_cast<int>(self->res_.result_int());
                return self->closed(1006, "handshake failed" + (status ? " (HTTP " + std::to_string(status) + ")" : ": " + ec.message()));
            }
            self->open_ = true;
            if (!self->detached_ && self->cb_.on_open) self->cb_.on_open();
            self->read();
        });
    }
    void read() {
        ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                const auto& r = self->ws_.reason();
                if (ec == websocket::error::closed) return self->closed(r.code, std::string(r.reason.c_str()));
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
        ws_.async_write(asio::buffer(queue_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            self->queue_.pop_front();
            if (!self->queue_.empty()) self->write();
        });
    }
    void post_close(int code, std::string reason) {
        asio::post(resolver_.get_executor(), [self = shared_from_this(), code, reason] { self->closed(code, reason); });
    }
    void closed(int code, const std::string& reason) {
        if (done_) return;
        done_ = true;
        open_ = false;
        if (!detached_ && cb_.on_close) cb_.on_close(code, reason);
    }

    tcp::resolver resolver_;
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buf_;
    websocket::response_type res_;
    wps::SocketCallbacks cb_;
    Url url_;
    std::string protocol_;
    std::deque<std::string> queue_;
    bool open_ = false, done_ = false, detached_ = false, closing_ = false;
};

class AsioSocket final : public wps::Socket {
public:
    explicit AsioSocket(std::shared_ptr<WsClient> c) : c_(std::move(c)) {}
    ~AsioSocket() override { c_->close(1000, ""); }
    void send(const std::string& text) override { c_->send(text); }
    void close(int code, const std::string& reason) override { c_->close(code, reason); }

private:
    std::shared_ptr<WsClient> c_;
};

} // namespace

wps::SocketFactory asio_socket_factory(asio::io_context& ioc) {
    return [&ioc](const std::string& url, const std::string& protocol, wps::SocketCallbacks cb) {
        auto c = std::make_shared<WsClient>(ioc, std::move(cb));
        c->open(url, protocol);
        return std::unique_ptr<wps::Socket>(new AsioSocket(c));
    };
}

// ---- HTTP -----------------------------------------------------------------------------------
namespace {
struct HttpOp : std::enable_shared_from_this<HttpOp> {
    HttpOp(asio::io_context& ioc) : resolver(ioc), stream(ioc) {}
    tcp::resolver resolver;
    beast::tcp_stream stream;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    std::function<void(wps::HttpResponse)> done;
    void fail(const std::string& why) {
        if (!done) return;
        auto d = std::move(done);
        d(wps::HttpResponse{0, {}, why});
    }
};
} // namespace

void AsioHttpClient::send(wps::HttpRequest request, std::function<void(wps::HttpResponse)> done) {
    auto op = std::make_shared<HttpOp>(ioc_);
    op->done = std::move(done);
    const Url u = parse(request.url);
    if (u.host.empty()) {
        asio::post(ioc_, [op, url = request.url] { op->fail("unsupported URL " + url); });
        return;
    }
    op->req = http::request<http::string_body>(http::string_to_verb(request.method), u.target, 11);
    op->req.set(http::field::host, u.host + ":" + u.port);
    for (auto& [k, v] : request.headers) op->req.set(k, v);
    op->req.body() = request.body;
    op->req.prepare_payload();
    const auto timeout = std::chrono::milliseconds(request.timeout_ms);
    op->resolver.async_resolve(u.host, u.port, [op, timeout](beast::error_code ec, tcp::resolver::results_type r) {
        if (ec) return op->fail("resolve: " + ec.message());
        op->stream.expires_after(timeout);
        op->stream.async_connect(r, [op](beast::error_code ec2, tcp::endpoint) {
            if (ec2) return op->fail("connect: " + ec2.message());
            http::async_write(op->stream, op->req, [op](beast::error_code ec3, std::size_t) {
                if (ec3) return op->fail("write: " + ec3.message());
                http::async_read(op->stream, op->buf, op->res, [op](beast::error_code ec4, std::size_t) {
                    if (ec4) return op->fail("read: " + ec4.message());
                    beast::error_code ignored;
                    op->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                    if (op->done) op->done(wps::HttpResponse{static_cast<int>(op->res.result_int()), op->res.body(), {}});
                });
            });
        });
    });
}

} // namespace native
