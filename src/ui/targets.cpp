// targets.cpp - see targets.hpp.
#include "targets.hpp"

#include <imgui.h>

namespace ui {

std::vector<Target>& targets() {
    static std::vector<Target> all;
    return all;
}

void target(const std::string& name) {
    const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    targets().push_back(Target{name, a.x, a.y, b.x - a.x, b.y - a.y});
}

void target_rect(const std::string& name, float x0, float y0, float x1, float y1) {
    targets().push_back(Target{name, x0, y0, x1 - x0, y1 - y0});
}

} // namespace ui
