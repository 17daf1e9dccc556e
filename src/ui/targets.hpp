// targets.hpp - named screen rects of clickable canvas items, published by the page as the
// documented test hook Module.chat.targets so browser tests click where a person would.
// One registry per process (the UI is single-threaded); cleared at the start of every frame.
#pragma once

#include <string>
#include <vector>

namespace ui {

struct Target {
    std::string name;
    float x, y, w, h;  // device px
};

void target(const std::string& name);  // records the last ImGui item under `name`
void target_rect(const std::string& name, float x0, float y0, float x1, float y1);  // any screen rect
std::vector<Target>& targets();

} // namespace ui
