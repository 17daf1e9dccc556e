// Project ImGui configuration (passed with IMGUI_USER_CONFIG; ImGui's own files are never edited).
#pragma once
// WebGL2 has no vertex-offset support in the 1.86 OpenGL3 backend: long chat histories can exceed
// 64k vertices in one window, so indices are 32-bit.
#define ImDrawIdx unsigned int
// Full Unicode (emoji and CJK live above U+FFFF).
#define IMGUI_USE_WCHAR32
#define IMGUI_DISABLE_OBSOLETE_FUNCTIONS
