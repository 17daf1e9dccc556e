// io_poster.hpp - runs work on the thread that owns the embedded hub (the io thread) from another
// one: the outbox worker publishing to the embedded emulator. The Beast server binds it to its io
// loop (net.cpp); the in-browser backend, which has one thread, binds it to "run it now".
#pragma once

#include <functional>
#include <mutex>
#include <utility>

namespace stub {

class IoPoster {
public:
    // false once the owner has stopped (nothing bound): the work is dropped.
    bool post(std::function<void()> work) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!post_) return false;
        post_(std::move(work));
        return true;
    }
    void bind(std::function<void(std::function<void()>)> post) {
        std::lock_guard<std::mutex> lock(mu_);
        post_ = std::move(post);
    }
    void unbind() {
        std::lock_guard<std::mutex> lock(mu_);
        post_ = nullptr;
    }

private:
    std::mutex mu_;
    std::function<void(std::function<void()>)> post_;
};

} // namespace stub
