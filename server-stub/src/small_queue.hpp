// small_queue.hpp - a FIFO queue that costs nothing while empty.
//
// std::deque (libstdc++) allocates its map and a 512-byte block on construction, empty or not:
// three per connection (the socket's write queue, a reliable session's unacknowledged messages and
// its remembered ack ids) were about 1.8 KiB of every idle connection's memory. This keeps its
// items in a vector from `head_` on: nothing allocated until the first push, one small block
// while a connection's queue holds a frame or two, given back when a long queue drains.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace stub {

template <typename T>
class SmallQueue {
public:
    bool empty() const { return head_ == items_.size(); }
    std::size_t size() const { return items_.size() - head_; }
    T& front() { return items_[head_]; }
    const T& front() const { return items_[head_]; }
    void push_back(T v) { items_.push_back(std::move(v)); }
    template <typename... Args>
    void emplace_back(Args&&... args) {
        items_.emplace_back(std::forward<Args>(args)...);
    }
    void pop_front() {
        items_[head_] = T();  // what it holds goes now, not when the slot is reused
        if (++head_ == items_.size()) return clear();
        // More popped slots than live items: move the live ones down (amortised O(1) per pop).
        if (head_ >= 16 && head_ * 2 >= items_.size()) {
            items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
    }
    void clear() {
        items_.clear();
        head_ = 0;
        if (items_.capacity() > kKeep) std::vector<T>().swap(items_);  // a drained backlog's memory goes back
    }
    auto begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
    auto end() { return items_.end(); }
    auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
    auto end() const { return items_.end(); }

private:
    static constexpr std::size_t kKeep = 8;  // capacity kept across drains (the common 1-2 in flight)
    std::vector<T> items_;
    std::size_t head_ = 0;
};

} // namespace stub
