-- SQLite migration 8: presence (issue 18). The service's connected/disconnected events keep one
-- row per connection; a user is online while one of theirs has no DisconnectedAt. An ended
-- connection's row stays an hour (a tombstone): a late, repeated or replayed event about it
-- changes nothing. Presence holds each user's state
-- and its version (one more per change), which orders the chat.presence events clients apply.
CREATE TABLE PresenceConnections (
    ConnectionId TEXT PRIMARY KEY,
    UserId TEXT NOT NULL,
    ConnectedAt INTEGER NOT NULL,
    DisconnectedAt INTEGER
);
CREATE INDEX PresenceConnectionsByUser ON PresenceConnections(UserId);
CREATE INDEX PresenceConnectionsEnded ON PresenceConnections(DisconnectedAt);
CREATE TABLE Presence (
    UserId TEXT PRIMARY KEY,
    Online INTEGER NOT NULL,
    Version INTEGER NOT NULL,
    ChangedAt INTEGER NOT NULL
);
