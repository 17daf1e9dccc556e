-- SQLite migration 6: reactions (issue 18). One row per user, message and emoji; a reaction
-- changes its message's version like an edit (chat_wire.hpp, chat.message.updated). Seq is kept
-- so that a history page reads its messages' reactions with one range query.
CREATE TABLE MessageReactions(
    ConversationId TEXT NOT NULL, Seq INTEGER NOT NULL, MessageId TEXT NOT NULL,
    UserId TEXT NOT NULL, Emoji TEXT NOT NULL, CreatedAt INTEGER NOT NULL,
    PRIMARY KEY(MessageId, UserId, Emoji));
CREATE INDEX MessageReactionsSeq ON MessageReactions(ConversationId, Seq);
