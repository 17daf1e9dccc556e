-- SQLite migration 8: presence (issue 18). The service's connected/disconnected events keep one
-- row per live connection; a user is online while they have one. Presence holds each user's state
-- and its version (one more per change), which orders the chat.presence events clients apply.
CREATE TABLE PresenceConnections (
    ConnectionId TEXT PRIMARY KEY,
    UserId TEXT NOT NULL,
    ConnectedAt INTEGER NOT NULL
);
CREATE INDEX PresenceConnectionsByUser ON PresenceConnections(UserId);
CREATE TABLE Presence (
    UserId TEXT PRIMARY KEY,
    Online INTEGER NOT NULL,
    Version INTEGER NOT NULL,
    ChangedAt INTEGER NOT NULL
);
