// groups.hpp - moved: the group names are in chat_wire.hpp (with the attachment and chat.message
// wire formats). Kept only until the stub's includes move there too.
#pragma once

#include "chat_wire.hpp"
