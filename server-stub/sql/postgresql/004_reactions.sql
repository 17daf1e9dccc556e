-- PostgreSQL migration 4: reactions, as SQLite's migration 6 (sql/sqlite/006_reactions.sql).
CREATE TABLE MessageReactions(
    ConversationId TEXT COLLATE "C" NOT NULL,
    Seq BIGINT NOT NULL,
    MessageId TEXT COLLATE "C" NOT NULL,
    UserId TEXT COLLATE "C" NOT NULL,
    Emoji TEXT COLLATE "C" NOT NULL,
    CreatedAt BIGINT NOT NULL,
    PRIMARY KEY(MessageId, UserId, Emoji));
CREATE INDEX MessageReactionsSeq ON MessageReactions(ConversationId, Seq);
